/**
 * Revoking from Jira ("Revoke Certificate" and its dialog) and from the CLI, against the dev server and
 * the emulators: the reason reaches SCM, the CA's CRL lists the serial with that reason, every valid
 * certificate of the issue is revoked exactly once, nothing is published after, and the workflow ends.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSweepActivities } from '../../src/activities/sweep.ts';
import { runCli } from '../../src/client/cli.ts';
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { certificateWorkflowId, statusQuery, type CertificateStatus } from '../../src/contract/certificate.ts';
import { searchAttributes } from '../../src/contract/shared.ts';
import type { certificateLifecycle } from '../../src/workflows/certificate/workflow.ts';
import { DEFAULT_CERT_TYPES } from '../../src/sandbox/scm-emulator.ts';
import { eventually, opensslCsr, spawnWorker, startWorld, type World } from '../helpers/environment.ts';

interface IssueView {
  fields: {
    status: { name: string };
    attachment: Array<{ filename: string }>;
    comment: { comments: Array<{ body: unknown }> };
  };
}

let world: World;
before(async () => {
  world = await startWorld({
    scm: {
      issuanceDelayMs: 100,
      // "Short-lived" profiles' certificates live three seconds here: long enough to publish, soon expired.
      certTypes: DEFAULT_CERT_TYPES.map((t) => (t.id === 1002 ? { ...t, termUnitMs: 3000 } : t)),
    },
  });
});
after(async () => {
  await world?.teardown();
});

const issue = (key: string) => world.sandbox.jiraEmulator.issue(key) as unknown as IssueView;
const comments = (key: string) => world.sandbox.jiraEmulator.commentTexts(key);
const handle = (key: string) =>
  world.env.client.workflow.getHandle<typeof certificateLifecycle>(certificateWorkflowId(key));
const orders = (domain: string) =>
  world.sandbox.scmEmulator.orders().filter((o) => o.commonName === domain) as Array<{
    id: number;
    status: string;
    serialNumber: string;
    reasonCode?: string;
  }>;
const revokeCalls = () => world.sandbox.scmEmulator.stats.byOperation['POST /api/ssl/v1/revoke/{id}'] ?? 0;
const until = (key: string, what: string, check: (s: CertificateStatus) => boolean) =>
  eventually(async () => {
    const s = await handle(key)
      .query(statusQuery)
      .catch(() => undefined);
    return s && check(s) ? s : undefined;
  }, `${key}: ${what}`);
async function enroll(domain: string, profile = 'OV Server Certificate'): Promise<string> {
  const key = await world.alice.createCertificateIssue({ profile, csr: opensslCsr(`/CN=${domain}`, 'ec-p256') });
  await world.alice.transition(key, 'Enroll Certificate');
  await until(key, 'Active', (s) => s.phase === 'Active');
  return key;
}
/** The CRL as `openssl crl` reads it. */
async function crlText(): Promise<string> {
  const pem = await (await fetch(`${world.sandbox.scmEmulator.url}/crl`)).text();
  const file = join(mkdtempSync(join(tmpdir(), 'crl-')), 'crl.pem');
  writeFileSync(file, pem);
  return execFileSync('openssl', ['crl', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
}

describe('revocation by transition', () => {
  it('revokes by transition with the chosen reason, lists it in the CRL, and ends', async () => {
    const domain = 'revoke-me.example.com';
    const key = await enroll(domain);
    const before = revokeCalls();
    await world.alice.revoke(key, 'Key compromise', 'The key was on a laptop that was stolen.');
    const end = await handle(key).result();
    assert.equal(end.phase, 'Revoked');
    assert.equal(end.renewAt, undefined, 'no renewal planned');
    const [order] = orders(domain);
    assert.equal(order?.status, 'Revoked');
    assert.equal(order?.reasonCode, '1', 'the reason code reached SCM');
    assert.equal(revokeCalls() - before, 1, 'one SCM revoke call');
    const crl = await crlText();
    const serial = (order?.serialNumber ?? '').replace(/:/g, '').toUpperCase();
    assert.match(crl, new RegExp(`Serial Number: ${serial}[\\s\\S]*?Key Compromise`));
    const said = comments(key).at(-1) ?? '';
    assert.match(said, /Certificate revoked on .* by Alice Requester, reason: Key compromise/);
    assert.match(said, new RegExp(`Certificate ID ${order?.id}`));
    assert.match(said, /stolen/);
    assert.equal(issue(key).fields.status.name, 'Certificate Revoked');
    const description = await handle(key).describe();
    assert.equal(description.typedSearchAttributes.get(searchAttributes.status), 'Revoked');
    assert.equal(description.status.name, 'COMPLETED');
  });

  it('quotes a revocation comment full of markup as its characters: no link, macro, image or mention', async () => {
    const key = await enroll('hostile-comment.example.com');
    const hostile =
      '[click|https://evil.example/x] {code}rm -rf{code} !https://evil.example/p.png! [~admin] *now* h1. big';
    await world.alice.revoke(key, 'Superseded', hostile);
    assert.equal((await handle(key).result()).phase, 'Revoked');
    const said = comments(key).at(-1) ?? '';
    assert.ok(said.includes(`Comment: ${hostile}`), said);
    assert.deepEqual(world.sandbox.jiraEmulator.commentMarkup(key, SANDBOX_USERS.connector), []);
  });

  it('says which certificates expired, not that nothing was issued, when none is left to revoke', async () => {
    const domain = 'long-gone.example.com';
    const key = await world.alice.createCertificateIssue({
      profile: 'Short-lived Manual Certificate',
      csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
    });
    await world.alice.transition(key, 'Enroll Certificate');
    const expired = await until(key, 'Expired', (s) => s.phase === 'Expired');
    const before = revokeCalls();
    await world.alice.revoke(key, 'Cessation of operation');
    assert.equal((await handle(key).result()).phase, 'Revoked');
    assert.equal(revokeCalls() - before, 0, 'nothing valid to revoke in SCM');
    const said = comments(key).at(-1) ?? '';
    assert.match(
      said,
      /^Revocation asked for by Alice Requester on .*: no certificate of this issue is valid any more/,
    );
    assert.match(said, new RegExp(`Certificate ID ${expired.certificateId}, expired `));
    assert.doesNotMatch(said, /nothing was ordered/);
  });

  it('refuses a revocation by someone who neither requested the certificate nor is a revoker', async () => {
    const domain = 'not-bobs.example.com';
    const key = await enroll(domain);
    const bob = new Requester(world.sandbox.jiraEmulator.url, SANDBOX_USERS.bob);
    await bob.revoke(key, 'Key compromise');
    const said = await eventually(() => comments(key).find((c) => c.includes('nothing was revoked')), 'the refusal');
    assert.match(
      said,
      /Only members of the Jira group "certificate-revokers" and the person who requested the certificate/,
    );
    await eventually(
      () => (issue(key).fields.status.name === 'Certificate Enrolled' ? true : undefined),
      'back in Certificate Enrolled',
    );
    assert.equal(orders(domain)[0]?.status, 'Issued', 'nothing revoked');
    const outside = await bob.createRevokeIssue({ profile: 'OV Server Certificate', domain, reason: 'Superseded' });
    await eventually(
      () =>
        comments(outside).find((c) => c.includes('Only members of the Jira group "certificate-revokers" may revoke')),
      'the refusal of the Revoke Certificate issue',
    );
    assert.equal(orders(domain)[0]?.status, 'Issued', 'still nothing revoked');
  });

  it('revokes every valid generation of the issue, each once', async () => {
    const domain = 'two-generations.example.com';
    const key = await enroll(domain, 'Manual Server Certificate');
    await world.alice.transition(key, 'Renew Certificate');
    await until(key, 'renewed', (s) => s.generation === 1 && s.phase === 'Active');
    const before = revokeCalls();
    await world.alice.revoke(key, 'Superseded');
    await handle(key).result();
    assert.deepEqual(
      orders(domain).map((o) => [o.status, o.reasonCode]),
      [
        ['Revoked', '4'],
        ['Revoked', '4'],
      ],
    );
    assert.equal(revokeCalls() - before, 2);
    const said = comments(key).at(-1) ?? '';
    for (const order of orders(domain)) assert.match(said, new RegExp(`Certificate ID ${order.id}`));
  });
});

describe('revocation while a certificate is being issued or renewed', () => {
  it('keeps a revocation accepted while a renewal is publishing, across continue-as-new', async () => {
    const domain = 'revoked-while-publishing.example.com';
    const key = await enroll(domain, 'Manual Server Certificate');
    const jira = world.sandbox.jiraEmulator;
    const before = revokeCalls();
    jira.faults.commentOutage = true; // the renewal's publishing retries its comment until Jira is back
    try {
      await world.alice.transition(key, 'Renew Certificate');
      // Publishing, not only issued in SCM: a revoke before the workflow collected the renewal is the
      // other case (revoked in the same run, the renewal unpublished), tested below.
      await eventually(async () => {
        const scheduled = ((await handle(key).fetchHistory()).events ?? []).map(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name,
        );
        const renewal = scheduled.indexOf('renewCertificate');
        return renewal >= 0 && scheduled.indexOf('publishCertificate', renewal) > renewal ? true : undefined;
      }, 'the renewal publishing');
      await world.alice.revoke(key, 'Superseded');
      // The receiver's revoke update is accepted by the run that is still publishing.
      await eventually(async () => {
        const events = (await handle(key).fetchHistory()).events ?? [];
        return events.some(
          (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'revoke',
        )
          ? true
          : undefined;
      }, 'revocation accepted');
    } finally {
      jira.faults.commentOutage = false;
    }
    const end = await handle(key).result();
    assert.equal(end.phase, 'Revoked');
    assert.equal(end.generation, 1, 'revoked by the run the renewal continued into');
    assert.deepEqual(
      orders(domain).map((o) => o.status),
      ['Revoked', 'Revoked'],
    );
    assert.equal(revokeCalls() - before, 2, 'each certificate revoked once');
    assert.equal(issue(key).fields.status.name, 'Certificate Revoked');
  });

  it('revokes an order placed during enrollment once it is issued, and publishes nothing', async () => {
    const domain = 'revoked-in-flight.example.com';
    const emulator = world.sandbox.scmEmulator;
    emulator.issuanceDelayMs = 2000;
    try {
      const key = await world.alice.createCertificateIssue({
        profile: 'OV Server Certificate',
        csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
      });
      await world.alice.transition(key, 'Enroll Certificate');
      await until(key, 'awaiting issuance', (s) => s.phase === 'AwaitingIssuance');
      await world.alice.revoke(key, 'Cessation of operation');
      const end = await handle(key).result();
      assert.equal(end.phase, 'Revoked');
      assert.equal(issue(key).fields.attachment.length, 0, 'no PEM published');
      assert.deepEqual(
        orders(domain).map((o) => o.status),
        ['Revoked'],
      );
      assert.match(comments(key).at(-1) ?? '', /never published/);
    } finally {
      emulator.issuanceDelayMs = 100;
    }
  });
});

describe('revocation refused, repeated or asked for again', () => {
  it('says once that a certificate SCM already shows revoked is revoked, and ends the same way', async () => {
    const domain = 'revoked-twice.example.com';
    const key = await enroll(domain);
    world.sandbox.scmEmulator.revokeDirectly(orders(domain)[0]?.id ?? 0, 0);
    await world.alice.revoke(key, 'Unspecified');
    const end = await handle(key).result();
    assert.equal(end.phase, 'Revoked');
    assert.match(comments(key).at(-1) ?? '', /showed it revoked already/);
    assert.equal(issue(key).fields.status.name, 'Certificate Revoked');
  });

  it('refuses, on the issue, to revoke what was never enrolled, and returns the issue', async () => {
    const key = await world.alice.createCertificateIssue({ profile: 'OV Server Certificate', csr: 'not yet' });
    await world.alice.revoke(key, 'Unspecified');
    await eventually(
      () => (issue(key).fields.status.name === 'Certificate Request' ? true : undefined),
      'back in Certificate Request',
    );
    assert.match(comments(key).join('\n'), /no enrolled certificate to revoke; nothing was revoked/);
  });

  it('has Jira refuse the transition without a reason (the dialog requires one)', async () => {
    const key = await enroll('no-reason.example.com');
    // The dialog, as Jira describes it to a client that asks.
    const { alice } = SANDBOX_USERS;
    const jira = world.sandbox.jiraEmulator;
    const res = await fetch(`${jira.url}${jira.api}/issue/${key}/transitions?expand=transitions.fields`, {
      headers: { authorization: jira.authorization(alice) },
    });
    const { transitions } = (await res.json()) as {
      transitions: Array<{
        name: string;
        hasScreen: boolean;
        fields?: Record<string, { required: boolean; allowedValues: Array<{ value: string }> }>;
      }>;
    };
    const dialog = transitions.find((t) => t.name === 'Revoke Certificate');
    assert.equal(dialog?.hasScreen, true);
    const reason = dialog?.fields?.customfield_10055;
    assert.equal(reason?.required, true);
    assert.deepEqual(
      reason?.allowedValues.map((v) => v.value),
      ['Unspecified', 'Key compromise', 'Affiliation changed', 'Superseded', 'Cessation of operation'],
    );
    await assert.rejects(world.alice.revoke(key, undefined), /Revocation reason is required/);
    assert.equal((await handle(key).query(statusQuery)).phase, 'Active');
  });

  it('revokes from the CLI, and says so when asked again', async () => {
    const key = await enroll('cli-revoke.example.com');
    assert.match(
      await runCli(['revoke', key, '--reason', 'affiliation-changed'], world.env.client),
      /revocation accepted/,
    );
    assert.equal((await handle(key).result()).phase, 'Revoked');
    assert.equal(orders('cli-revoke.example.com')[0]?.reasonCode, '3');
    await assert.rejects(runCli(['revoke', key, '--reason', 'superseded'], world.env.client), /revoked already/);
    await assert.rejects(
      runCli(['revoke', key], world.env.client),
      /required option '--reason <reason>' not specified/,
    );
  });
});

describe('revocation when the worker dies', () => {
  it('revokes once and comments once when the worker dies between the SCM revocation and the comment', async () => {
    await world.stopWorker();
    let child = spawnWorker(world);
    const jira = world.sandbox.jiraEmulator;
    try {
      const domain = 'killed-while-revoking.example.com';
      const key = await enroll(domain);
      const before = revokeCalls();
      jira.faults.commentOutage = true; // the comment cannot be posted: the workflow waits there
      await world.alice.revoke(key, 'Key compromise');
      await eventually(() => (orders(domain)[0]?.status === 'Revoked' ? true : undefined), 'revoked in SCM');
      // Killed once the revocation is recorded as done: the run then waits only for the comment. (Killed
      // before that, the retried revocation would meet SCM's "already revoked", another call.)
      await eventually(async () => {
        const events = (await handle(key).fetchHistory()).events ?? [];
        const scheduled = events.find(
          (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'revokeCertificate',
        );
        const done = events.some(
          (e) =>
            scheduled?.eventId != null &&
            String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId),
        );
        return done ? true : undefined;
      }, 'the revocation recorded as done');
      child.kill('SIGKILL');
      await once(child, 'exit');
      assert.ok(!comments(key).some((c) => c.includes('revoked on')), 'not yet said');
      child = spawnWorker(world);
      jira.faults.commentOutage = false;
      const end = await handle(key).result();
      assert.equal(end.phase, 'Revoked');
      assert.equal(revokeCalls() - before, 1, 'one SCM revoke call');
      assert.equal(comments(key).filter((c) => c.includes('revoked on')).length, 1, 'one comment');
      assert.equal(issue(key).fields.status.name, 'Certificate Revoked');
    } finally {
      jira.faults.commentOutage = false;
      child.kill('SIGKILL');
      await world.startWorker();
    }
  });
});

/** An order placed in SCM outside Jira, as a team with its own tooling would, once issued. */
async function issuedOutsideJira(domain: string, orgId = 1): Promise<number> {
  const { sslId } = await world.sandbox.scm.enroll({
    orgId,
    certType: 1001,
    term: 365,
    csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
    comments: 'ordered in the SCM web UI',
  });
  await eventually(
    async () => ((await world.sandbox.scm.getCertificate(sslId)).status === 'Issued' ? true : undefined),
    `order ${sslId} issued`,
  );
  return sslId;
}
const revokeRun = (key: string) => world.env.client.workflow.getHandle(`revoke:${key}`);
const started = (key: string) =>
  eventually(
    async () =>
      (await revokeRun(key)
        .describe()
        .catch(() => undefined))
        ? true
        : undefined,
    'started',
  );

describe('"Revoke Certificate" issues: finding the certificate by ID or by domain', () => {
  it('revokes by ID, and the issue ends in its done status', async () => {
    const id = await issuedOutsideJira('outside.example.com');
    const key = await world.alice.createRevokeIssue({
      profile: 'OV Server Certificate',
      certificateId: String(id),
      reason: 'Superseded',
    });
    await started(key);
    const result = (await revokeRun(key).result()) as { outcome: string };
    assert.equal(result.outcome, 'revoked');
    const order = orders('outside.example.com')[0];
    assert.deepEqual([order?.status, order?.reasonCode], ['Revoked', '4']);
    assert.equal(issue(key).fields.status.name, 'Certificate Revoked');
    const reason = (issue(key).fields as unknown as Record<string, { value?: string } | null>).customfield_10055;
    assert.equal(reason?.value, 'Superseded', "the requester's reason stays on the closed issue");
    assert.match(
      comments(key).at(-1) ?? '',
      new RegExp(`Certificate ${id} \\(outside\\.example\\.com.*has been revoked, reason: Superseded`),
    );
  });

  it('says so, and revokes nothing, when the ID names a certificate SCM declined', async () => {
    const { sslId } = await world.sandbox.scm.enroll({
      orgId: 1,
      certType: 1001,
      term: 365,
      csr: opensslCsr('/CN=www.declined.example', 'ec-p256'),
      comments: 'ordered in the SCM web UI',
    });
    await eventually(
      async () => ((await world.sandbox.scm.getCertificate(sslId)).status === 'Declined' ? true : undefined),
      `order ${sslId} declined`,
    );
    const key = await world.alice.createRevokeIssue({
      profile: 'OV Server Certificate',
      certificateId: String(sslId),
      reason: 'Superseded',
    });
    await started(key);
    const said = await eventually(
      () => comments(key).find((c) => c.includes('not issued: there is nothing to revoke')),
      'the comment',
    );
    assert.match(said, new RegExp(`Certificate ${sslId} \\(www\\.declined\\.example\\) is Declined`));
    assert.equal((await revokeRun(key).describe()).status.name, 'RUNNING', 'waiting for the issue to be corrected');
    assert.equal((await world.sandbox.scm.getCertificate(sslId)).status, 'Declined');
  });

  it('refuses an ID and a domain that name different certificates', async () => {
    const id = await issuedOutsideJira('named-by-id.example.com');
    await issuedOutsideJira('named-by-domain.example.com');
    const key = await world.alice.createRevokeIssue({
      profile: 'OV Server Certificate',
      certificateId: String(id),
      domain: 'named-by-domain.example.com',
      reason: 'Superseded',
    });
    await started(key);
    await eventually(
      () =>
        comments(key).find((c) =>
          c.includes(`"Certificate ID" ${id} is a certificate for named-by-id.example.com, not for named-by-domain`),
        ),
      'the refusal',
    );
    assert.deepEqual(
      [...orders('named-by-id.example.com'), ...orders('named-by-domain.example.com')].map((o) => o.status),
      ['Issued', 'Issued'],
      'nothing revoked',
    );
  });

  it('revokes by domain when exactly one issued certificate matches', async () => {
    const id = await issuedOutsideJira('only-one.example.com');
    const key = await world.alice.createRevokeIssue({
      profile: 'OV Server Certificate',
      domain: 'only-one.example.com',
      reason: 'Unspecified',
    });
    await started(key);
    assert.equal(((await revokeRun(key).result()) as { certificateId: number }).certificateId, id);
  });

  it('lists the candidates when several match, then revokes the one whose ID is filled in', async () => {
    const first = await issuedOutsideJira('twice.example.com');
    const second = await issuedOutsideJira('twice.example.com');
    const key = await world.alice.createRevokeIssue({
      profile: 'OV Server Certificate',
      domain: 'twice.example.com',
      reason: 'Cessation of operation',
    });
    await eventually(
      () => (comments(key).some((c) => c.includes('2 issued certificates match')) ? true : undefined),
      'the list',
    );
    const listed = comments(key).find((c) => c.includes('2 issued certificates match')) ?? '';
    assert.match(listed, new RegExp(`ID ${first}, serial [0-9A-F]+, expires \\d{4}-\\d{2}-\\d{2}, requested by`));
    assert.match(listed, new RegExp(`ID ${second}`));
    await world.alice.setFields(key, { 'Certificate ID': String(second) });
    await revokeRun(key).result();
    if (process.env.RECORD_HISTORIES === '1') {
      const history = historyToJSON(await revokeRun(key).fetchHistory());
      writeFileSync(new URL('../replay/histories/revoke-external-ambiguous-then-by-id.json', import.meta.url), history);
    }
    assert.deepEqual(
      orders('twice.example.com').map((o) => [o.id, o.status]),
      [
        [first, 'Issued'],
        [second, 'Revoked'],
      ],
    );
  });

  it('says so when nothing matches, and refuses a certificate of no configured profile', async () => {
    const unknown = await world.alice.createRevokeIssue({
      profile: 'OV Server Certificate',
      certificateId: '999999',
      reason: 'Unspecified',
    });
    await eventually(
      () => (comments(unknown).some((c) => /No issued certificate .* matches ID 999999/.test(c)) ? true : undefined),
      'none',
    );
    const foreignId = await issuedOutsideJira('foreign.example.com', 2);
    const foreign = await world.alice.createRevokeIssue({
      profile: 'OV Server Certificate',
      certificateId: String(foreignId),
      reason: 'Key compromise',
    });
    await eventually(
      () => (comments(foreign).some((c) => c.includes('not the connector')) ? true : undefined),
      'refused',
    );
    assert.equal(orders('foreign.example.com')[0]?.status, 'Issued', 'nothing revoked');
    for (const key of [unknown, foreign]) await revokeRun(key).terminate('test finished');
  });
});

describe('"Revoke Certificate" issues: certificates a workflow manages, and the CLI', () => {
  it('revokes a certificate enrolled through Jira through its own workflow, which stops renewing', async () => {
    const domain = 'managed.example.com';
    const managed = await enroll(domain);
    const id = orders(domain)[0]?.id ?? 0;
    const key = await world.alice.createRevokeIssue({
      profile: 'OV Server Certificate',
      certificateId: String(id),
      reason: 'Key compromise',
    });
    await started(key);
    const result = (await revokeRun(key).result()) as { outcome: string };
    assert.equal(result.outcome, 'revoked-through-workflow');
    assert.equal((await handle(managed).result()).phase, 'Revoked');
    assert.match(comments(managed).at(-1) ?? '', new RegExp(`Revoked through Jira issue ${key}`));
    assert.match(comments(key).at(-1) ?? '', new RegExp(`enrolled through Jira issue ${managed}`));
    assert.equal(orders(domain)[0]?.reasonCode, '1');
  });

  it('gives up a revocation handed to a certificate workflow when the attempt is cancelled, as a stopping worker does', async () => {
    // The update needs a workflow task that a stopping worker no longer takes: an attempt that waited on
    // it regardless would keep its worker from ever stopping.
    const domain = 'handed-back.example.com';
    const managed = await enroll(domain);
    const id = orders(domain)[0]?.id ?? 0;
    const fleet = createSweepActivities({ client: world.env.client });
    const request = {
      reasonCode: 4 as const,
      requestedBy: world.sandbox.jiraEmulator.userId(SANDBOX_USERS.alice),
      comment: 'Revoked by an operator.',
      requestId: 'revoke:handed-back',
    };
    await world.stopWorker();
    try {
      const attempt = new MockActivityEnvironment();
      const waiting = attempt.run(() => fleet.revokeThroughLifecycle(id, request));
      await eventually(
        async () => ((await handle(managed).describe()).raw.pendingWorkflowTask ? true : undefined),
        'the update waiting for a workflow task',
      );
      attempt.cancel();
      await assert.rejects(waiting);
    } finally {
      await world.startWorker();
    }
    // The next attempt is the same update: one revocation.
    const again = await new MockActivityEnvironment().run(() => fleet.revokeThroughLifecycle(id, request));
    assert.equal(again, certificateWorkflowId(managed));
    assert.equal((await handle(managed).result()).phase, 'Revoked');
    assert.equal(orders(domain)[0]?.status, 'Revoked');
    assert.equal(comments(managed).filter((c) => /Revoked by an operator/.test(c)).length, 1);
  });

  it('revokes by ID from the CLI', async () => {
    const id = await issuedOutsideJira('cli-outside.example.com');
    const out = await runCli(
      ['revoke', '--certificate-id', String(id), '--profile', 'OV Server Certificate', '--reason', 'superseded'],
      world.env.client,
    );
    assert.match(out, /^revoked: Certificate \d+ \(cli-outside\.example\.com/);
    assert.equal(orders('cli-outside.example.com')[0]?.status, 'Revoked');
    await assert.rejects(
      runCli(
        ['revoke', '--certificate-id', '999999', '--profile', 'OV Server Certificate', '--reason', 'superseded'],
        world.env.client,
      ),
      /No issued certificate/,
    );
  });
});
