/**
 * Renewal on a real dev server with the emulators: automatic at the expiry window (certificates that live
 * for seconds), manual from Jira, forced per certificate and per profile, auto-renewal off, and the sweep
 * noticing what happened directly in SCM.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Profiles } from '../../src/profiles.ts';
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { DEFAULT_CERT_TYPES } from '../../src/sandbox/scm-emulator.ts';
import { SANDBOX_PROFILES_FILE } from '../../src/sandbox/sandbox.ts';
import type { certificateLifecycle } from '../../src/workflows/certificate/workflow.ts';
import {
  certificateWorkflowId,
  renewUpdate,
  statusQuery,
  type CertificateStatus,
} from '../../src/contract/certificate.ts';
import { RENEWAL_OUTSIDE_WINDOW } from '../../src/messages.ts';
import { renewalSweep } from '../../src/workflows/renewal-sweep.ts';
import type { SweepInput } from '../../src/contract/sweep.ts';
import { runCli } from '../../src/client/cli.ts';
import { TASK_QUEUE } from '../../src/contract/shared.ts';
import * as x509 from '../../src/csr/x509.ts';
import { eventually, opensslCsr, startWorld, type World } from '../helpers/environment.ts';

/** Certificates of type 1002 live this long in these tests ("1 day" of term). */
const SHORT_LIFETIME_MS = 8000;

interface IssueView {
  fields: {
    status: { name: string };
    customfield_10052: string | null;
    customfield_10054: string | null;
    attachment: Array<{ id: string; filename: string }>;
    comment: { comments: Array<{ body: unknown }> };
  };
}

let world: World;
before(async () => {
  world = await startWorld({
    scm: {
      issuanceDelayMs: 100,
      certTypes: DEFAULT_CERT_TYPES.map((t) => (t.id === 1002 ? { ...t, termUnitMs: SHORT_LIFETIME_MS } : t)),
    },
  });
});
after(async () => {
  await world?.teardown();
});

const issue = (key: string) => world.sandbox.jiraEmulator.issue(key) as unknown as IssueView;
const comments = (key: string) => world.sandbox.jiraEmulator.commentTexts(key);
const ordersFor = (domain: string) => world.sandbox.scmEmulator.orders().filter((o) => o.commonName === domain);
const handle = (key: string) =>
  world.env.client.workflow.getHandle<typeof certificateLifecycle>(certificateWorkflowId(key));
const status = (key: string) => handle(key).query(statusQuery);
const until = (key: string, what: string, check: (s: CertificateStatus) => boolean, timeoutMs = 30_000) =>
  eventually(
    async () => {
      try {
        const s = await status(key);
        return check(s) ? s : undefined;
      } catch {
        return undefined; // not started yet, or between runs
      }
    },
    `${key}: ${what}`,
    timeoutMs,
  );
/** Waits until the workflow has nothing in flight: no workflow task and no activity pending. */
const idle = (key: string) =>
  eventually(async () => {
    const { raw } = await handle(key).describe();
    return !raw.pendingWorkflowTask && (raw.pendingActivities ?? []).length === 0 ? true : undefined;
  }, `${key}: nothing in flight`);
async function enroll(domain: string, profile: string, key = opensslCsr(`/CN=${domain}`, 'ec-p256')): Promise<string> {
  const issueKey = await world.alice.createCertificateIssue({ profile, csr: key });
  await world.alice.transition(issueKey, 'Enroll Certificate');
  await until(issueKey, 'enrolled', (s) => s.phase === 'Active' || s.phase === 'RenewalDue' || s.generation > 0);
  return issueKey;
}
/** Profiles as the sandbox file has them, with `change` applied to the profile `id`. */
function profilesWith(id: string, change: Record<string, unknown>): Profiles {
  const base = Profiles.load(SANDBOX_PROFILES_FILE);
  return new Profiles(base.all.map((p) => (p.id === id ? { ...p, ...change } : p)));
}
const sweep = (input: SweepInput = {}) =>
  world.env.client.workflow.execute(renewalSweep, {
    taskQueue: TASK_QUEUE,
    workflowId: `sweep-${Date.now()}`,
    args: [input],
  });

describe('automatic renewal', () => {
  it('renews a short-lived certificate automatically, three times in a row', async () => {
    const domain = 'auto.example.com';
    const key = await enroll(domain, 'Short-lived Server Certificate');
    const third = await until(key, 'generation 3', (s) => s.generation >= 3 && s.phase === 'Active', 60_000);
    // Stop the renewals to count exactly: auto-renewal off for the profile, then the workflow re-plans.
    world.sandbox.profiles.replace(profilesWith('short-lived', { autoRenew: false }));
    try {
      await handle(key).signal('reevaluate');
      const settled = await until(
        key,
        'auto-renewal off',
        (s) => s.generation >= third.generation && s.renewAt === undefined && s.phase !== 'Renewing',
      );
      const generations = settled.generation + 1;
      const ids = settled.history.map((h) => h.certificateId);
      assert.equal(new Set(ids).size, generations, 'a new Certificate ID per generation');
      assert.deepEqual(
        settled.history.map((h) => h.reason),
        ['enrolled', ...new Array<string>(generations - 1).fill('automatic')],
      );
      assert.equal(ordersFor(domain).length, generations, 'one SCM order per renewal');
      const view = issue(key).fields;
      assert.equal(view.attachment.length, generations, 'one attachment per certificate');
      assert.deepEqual(
        view.attachment.map((a) => a.filename),
        ids.map((id) => `${domain}_${id}.pem`),
      );
      assert.equal(view.status.name, 'Certificate Renewed');
      assert.equal(view.customfield_10052, String(settled.certificateId));
      assert.equal(view.customfield_10054, new Date(settled.notAfter ?? 0).toISOString().slice(0, 10));
      assert.equal(
        comments(key).filter((c) => c.startsWith('Certificate renewed automatically')).length,
        generations - 1,
      );
    } finally {
      world.sandbox.profiles.replace(Profiles.load(SANDBOX_PROFILES_FILE));
    }
  });

  it("says on the issue when the profile's window cannot be met, and still plans a renewal", async () => {
    world.sandbox.profiles.replace(profilesWith('short-lived-manual', { expiryWindow: { days: 30 } }));
    try {
      const key = await enroll('clamped.example.com', 'Short-lived Manual Certificate');
      const planned = await until(key, 'planned', (s) => s.windowOpensAt !== undefined);
      assert.equal(
        planned.windowOpensAt,
        (planned.notBefore ?? 0) + SHORT_LIFETIME_MS / 2,
        'halfway through the lifetime',
      );
      await eventually(
        () =>
          comments(key).some((c) => /expiry window of profile "Short-lived Manual Certificate" is as long as/.test(c))
            ? true
            : undefined,
        'the note on the issue',
      );
    } finally {
      world.sandbox.profiles.replace(Profiles.load(SANDBOX_PROFILES_FILE));
    }
  });

  it('with auto-renewal off: one window comment, no renewal, then Expired; a manual renewal still works', async () => {
    const domain = 'no-auto.example.com';
    const key = await enroll(domain, 'Short-lived Manual Certificate');
    const expired = await until(key, 'Expired', (s) => s.phase === 'Expired', 20_000);
    // The phase changes first, then the comment is posted.
    await eventually(() => (comments(key).some((c) => c.includes('expired on')) ? true : undefined), 'said');
    const texts = comments(key);
    assert.equal(
      texts.filter((c) => c.includes('auto-renewal is off for profile "Short-lived Manual Certificate"')).length,
      1,
    );
    assert.equal(texts.filter((c) => c.includes(`expired on`)).length, 1);
    assert.equal(ordersFor(domain).length, 1, 'no renewal');
    const search = await world.env.client.workflow.count(
      `CertificateStatus = 'Expired' AND WorkflowId = '${certificateWorkflowId(key)}'`,
    );
    assert.equal(search.count, 1, 'the search attribute says Expired');

    await world.alice.transition(key, 'Renew Certificate');
    const renewed = await until(key, 'renewed after expiry', (s) => s.generation === 1);
    assert.notEqual(renewed.certificateId, expired.certificateId);
    assert.equal(ordersFor(domain).length, 2);
  });

  it('reports a renewal the CA refuses, once, keeps retrying, and renews once the cause is fixed', async () => {
    const domain = 'refused.example.com';
    world.sandbox.scmEmulator.faults.refuseRenewals = { code: -107, description: 'DCV is incomplete or expired' };
    try {
      const key = await enroll(domain, 'Short-lived Server Certificate');
      const failing = await until(key, 'failed renewals', (s) => s.renewalFailures >= 3);
      assert.equal(failing.generation, 0);
      const reports = comments(key).filter((c) => c.startsWith('Renewal failed:'));
      assert.equal(reports.length, 1, 'the same reason is reported once');
      assert.match(reports[0] ?? '', /HTTP 400 \(code -107\): DCV is incomplete or expired/);
      assert.match(reports[0] ?? '', /retries by itself/);
      assert.equal(ordersFor(domain).length, 1, 'a refused renewal places no order');
    } finally {
      world.sandbox.scmEmulator.faults.refuseRenewals = null;
    }
    const key = `CERT-${String(world.sandbox.jiraEmulator.counter.issue)}`;
    const renewed = await until(key, 'renewed after the fix', (s) => s.generation >= 1);
    assert.equal(renewed.history.at(-1)?.reason, 'automatic');
    assert.ok(ordersFor(domain).length >= 2);
  });
});

describe('renewal on request', () => {
  it("writes each profile's comments on its orders beside the connector's token, renewals included", async () => {
    const base = Profiles.load(SANDBOX_PROFILES_FILE);
    const comments = { 'ov-server': 'Cost centre 4711, web team', manual: 'EU tenant; owner: platform' };
    world.sandbox.profiles.replace(
      new Profiles(
        base.all.map((p) => (p.id in comments ? { ...p, comments: comments[p.id as keyof typeof comments] } : p)),
      ),
    );
    try {
      const ov = await enroll('comments-ov.example.com', 'OV Server Certificate');
      const manual = await enroll('comments-manual.example.com', 'Manual Server Certificate');
      const [ovOrder] = ordersFor('comments-ov.example.com');
      const [manualOrder] = ordersFor('comments-manual.example.com');
      const token = (key: string) => `\\[certificate:${key}/[^\\]\\s]+/enroll\\]`;
      assert.match(
        String(ovOrder?.comments),
        new RegExp(`^Requested through Jira issue ${ov} ${token(ov)} Cost centre 4711, web team$`),
      );
      assert.match(
        String(manualOrder?.comments),
        new RegExp(`^Requested through Jira issue ${manual} ${token(manual)} EU tenant; owner: platform$`),
      );

      await world.alice.transition(manual, 'Renew Certificate');
      const renewed = await until(manual, 'renewed', (s) => s.generation === 1 && s.phase === 'Active');
      const renewal = world.sandbox.scmEmulator.orders().find((o) => o.sslId === renewed.certificateId);
      assert.match(
        String(renewal?.comments),
        new RegExp(
          `^Renewal through Jira issue ${manual} \\[certificate:${manual}/\\S+/renew\\] EU tenant; owner: platform$`,
        ),
      );
    } finally {
      world.sandbox.profiles.replace(base);
    }
  });

  it('refuses a manual renewal outside the window with the exact message, and changes nothing in SCM', async () => {
    const domain = 'too-early.example.com';
    const key = await enroll(domain, 'OV Server Certificate');
    await world.alice.transition(key, 'Renew Certificate');
    await eventually(() => (comments(key).includes(RENEWAL_OUTSIDE_WINDOW) ? true : undefined), 'the refusal');
    await eventually(
      () => (issue(key).fields.status.name === 'Certificate Enrolled' ? true : undefined),
      'back to Certificate Enrolled',
    );
    assert.equal(ordersFor(domain).length, 1);
    assert.equal((await status(key)).generation, 0);
  });

  it('takes "Renew Certificate" run while the certificate is still being enrolled, and renews once it is out', async () => {
    const domain = 'eager.example.com';
    const emulator = world.sandbox.scmEmulator;
    emulator.issuanceDelayMs = 3000;
    try {
      const key = await world.alice.createCertificateIssue({
        profile: 'Manual Server Certificate',
        csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
      });
      await world.alice.transition(key, 'Enroll Certificate');
      await until(key, 'awaiting issuance', (s) => s.phase === 'AwaitingIssuance');
      await world.alice.transition(key, 'Renew Certificate'); // the issue is "Certificate Enrolled" already
      const renewed = await until(key, 'renewed', (s) => s.generation === 1 && s.phase === 'Active');
      assert.equal(renewed.history.at(-1)?.reason, 'manual');
      assert.equal(issue(key).fields.status.name, 'Certificate Renewed');
      assert.equal(issue(key).fields.attachment.length, 2);
      assert.equal(ordersFor(domain).length, 2);
      const said = comments(key).join('\n');
      assert.doesNotMatch(said, /cannot be renewed|Validating|Enrolling|AwaitingIssuance|Publishing|Renewing/);
    } finally {
      emulator.issuanceDelayMs = 100;
    }
  });

  it('renews on request where the profile allows it, any number of times, with a new key from a new CSR', async () => {
    const domain = 'manual.example.com';
    const key = await enroll(domain, 'Manual Server Certificate');
    const csr = opensslCsr(`/CN=${domain}`, 'rsa:2048');
    await world.alice.setCsr(key, csr);
    await world.alice.transition(key, 'Renew Certificate');
    const renewed = await until(key, 'first renewal', (s) => s.generation === 1);
    assert.equal(issue(key).fields.status.name, 'Certificate Renewed');
    const latest = issue(key).fields.attachment.at(-1);
    assert.equal(latest?.filename, `${domain}_${renewed.certificateId}.pem`);
    const pem = (await world.sandbox.jira.downloadAttachment(latest?.id ?? '')).toString();
    const leaf = new x509.X509Certificate(x509.PemConverter.decode(pem)[0] ?? new ArrayBuffer(0));
    const requested = new x509.Pkcs10CertificateRequest(csr);
    assert.equal(
      Buffer.from(leaf.publicKey.rawData).toString('hex'),
      Buffer.from(requested.publicKey.rawData).toString('hex'),
      'the new key',
    );
    assert.match(
      comments(key).join('\n'),
      new RegExp(
        `Certificate renewed: Certificate ID ${renewed.certificateId} replaces ${renewed.history[0]?.certificateId}`,
      ),
    );

    await world.alice.transition(key, 'Renew Certificate'); // again, from "Certificate Renewed"
    const again = await until(key, 'second renewal', (s) => s.generation === 2);
    assert.equal(new Set(again.history.map((h) => h.certificateId)).size, 3);
    assert.equal(ordersFor(domain).length, 3);
    assert.equal(issue(key).fields.attachment.length, 3);
  });

  it('force-renews one certificate at once through the renew update', async () => {
    const domain = 'forced.example.com';
    const key = await enroll(domain, 'OV Server Certificate');
    const accepted = await handle(key).executeUpdate(renewUpdate, {
      args: [{ requestedBy: 'cli:operator', force: true }],
    });
    assert.equal(accepted.result, 'accepted');
    const renewed = await until(key, 'forced renewal', (s) => s.generation === 1);
    assert.equal(renewed.history.at(-1)?.reason, 'forced');
    assert.equal(ordersFor(domain).length, 2);
  });

  it('renews with one order when SCM commits the renewal but the response is lost', async () => {
    const domain = 'lost-renewal.example.com';
    const key = await enroll(domain, 'Manual Server Certificate');
    world.sandbox.scmEmulator.faults.dropResponses = 1;
    await handle(key).executeUpdate(renewUpdate, { args: [{ requestedBy: 'cli:operator', force: true }] });
    const renewed = await until(key, 'renewed', (s) => s.generation === 1 && s.phase === 'Active');
    assert.equal(world.sandbox.scmEmulator.faults.dropResponses, 0, 'the response was dropped');
    assert.equal(ordersFor(domain).length, 2, 'the retry adopted the renewal instead of ordering again');
    assert.equal(renewed.certificateId, Math.max(...ordersFor(domain).map((o) => Number(o.id))));
    assert.equal(issue(key).fields.attachment.length, 2);
  });
});

describe('the sweep: forced renewals, and what changed in SCM', () => {
  it("renews each of a profile's certificates exactly once for its force-renewal moment, across two sweeps", async () => {
    const keys = [
      await enroll('force-a.example.com', 'Manual Server Certificate'),
      await enroll('force-b.example.com', 'Manual Server Certificate'),
    ];
    const before = await Promise.all(keys.map((k) => status(k)));
    world.sandbox.profiles.replace(profilesWith('manual', { forceRenewalRequestedAt: new Date().toISOString() }));
    try {
      const first = await sweep();
      assert.ok(first.reevaluated >= 2);
      for (const [i, key] of keys.entries()) {
        const renewed = await until(
          key,
          'profile-forced renewal',
          (s) => s.generation === (before[i]?.generation ?? 0) + 1 && s.phase === 'Active',
        );
        assert.equal(renewed.history.at(-1)?.reason, 'profile-forced');
      }
      await sweep();
      // Whatever the second sweep sent them is in their histories; once neither has anything in flight,
      // all it could make them do is done (an order is placed before anything waits on a timer).
      for (const key of keys) await idle(key);
      assert.equal(ordersFor('force-a.example.com').length, 2);
      assert.equal(ordersFor('force-b.example.com').length, 2);
      for (const key of keys) assert.equal((await status(key)).generation, 1);
    } finally {
      world.sandbox.profiles.replace(Profiles.load(SANDBOX_PROFILES_FILE));
    }
  });

  it('notices in the next sweep the certificates revoked directly in SCM, and only those', async () => {
    const keys = [];
    for (const name of ['a', 'b', 'c'])
      keys.push(await enroll(`revoked-in-scm-${name}.example.com`, 'OV Server Certificate'));
    const [first, middle, last] = keys as [string, string, string];
    // The first and the last: the sweep's query spans the middle one's id too, and must not tell it.
    for (const key of [first, last])
      world.sandbox.scmEmulator.revokeDirectly((await status(key)).certificateId ?? 0, 1);
    const totals = await sweep();
    assert.ok(totals.reconciled >= 2);
    for (const key of [first, last]) {
      const final = await handle(key).result();
      assert.equal(final.phase, 'Revoked');
      assert.match(comments(key).join('\n'), /was revoked in Sectigo Certificate Manager, outside Jira/);
      assert.equal(issue(key).fields.status.name, 'Certificate Revoked');
    }
    const { events } = await handle(middle).fetchHistory();
    const told = (events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'scmObservation',
    );
    assert.deepEqual([told.length, (await status(middle)).phase], [0, 'Active']);
    const quiet = await sweep();
    assert.equal(quiet.reconciled, 0, 'a sweep with nothing to do changes nothing');
  });

  it("reports, once, an order that carries the connector's token but that no workflow owns", async () => {
    const domain = 'unowned.example.com';
    const key = await enroll(domain, 'OV Server Certificate');
    // What a lost answer left behind before retries waited for SCM: a second order with this issue's token.
    const { certificateId } = await status(key);
    const duplicate = await world.sandbox.scm.enroll({
      orgId: 1,
      certType: 1001,
      term: 365,
      csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
      comments: `Requested through Jira issue ${key} [certificate:${key}/lost-run/g0/enroll]`,
    });
    const totals = await sweep();
    const reported = (totals.unownedOrders ?? []).map((o) => o.certificateId);
    assert.ok(reported.includes(duplicate.sslId), `reported ${reported.join(', ')}`);
    assert.ok(!reported.includes(certificateId ?? 0), 'the certificate the issue tracks is owned');
    await sweep();
    const said = comments(key).filter((c) => c.includes(`order ${duplicate.sslId}`));
    assert.equal(said.length, 1, 'said once on the issue');
    assert.match(await runCli(['unowned'], world.env.client), new RegExp(`${duplicate.sslId}\\s+${key}`));
  });

  it('reports the certificate of an issue deleted while SCM issued it, and says how to revoke it', async () => {
    const domain = 'deleted-issue.example.com';
    const scm = world.sandbox.scmEmulator;
    const delay = scm.issuanceDelayMs;
    scm.issuanceDelayMs = 1500;
    let key: string;
    try {
      key = await world.alice.createCertificateIssue({
        profile: 'OV Server Certificate',
        csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
      });
      await world.alice.transition(key, 'Enroll Certificate');
      await eventually(() => (scm.orders().some((o) => o.commonName === domain) ? true : undefined), 'ordered');
      const { alice } = SANDBOX_USERS;
      const jira = world.sandbox.jiraEmulator;
      const deleted = await fetch(`${jira.url}${jira.api}/issue/${key}`, {
        method: 'DELETE',
        headers: { authorization: jira.authorization(alice) },
      });
      assert.equal(deleted.status, 204);
    } finally {
      scm.issuanceDelayMs = delay;
    }
    const handle = world.env.client.workflow.getHandle(certificateWorkflowId(key));
    await handle.result().then(
      () => assert.fail('the workflow of a deleted issue completed'),
      () => undefined,
    );
    const order = scm.orders().find((o) => o.commonName === domain);
    await eventually(
      async () => ((await world.sandbox.scm.getCertificate(Number(order?.id))).status === 'Issued' ? true : undefined),
      'issued',
    );
    const reported = ((await sweep()).unownedOrders ?? []).map((o) => o.certificateId);
    assert.ok(reported.includes(Number(order?.id)), `reported ${reported.join(', ')}`);
    const listed = await runCli(['unowned'], world.env.client);
    assert.match(listed, new RegExp(`${Number(order?.id)}\\s+${key}`));
    assert.match(listed, /revoke --certificate-id ORDER --profile P/);
  });

  it('reports no order that is revoked already, such as one the revocation revoked with the rest', async () => {
    const domain = 'unowned-revoked.example.com';
    const key = await enroll(domain, 'OV Server Certificate');
    const duplicate = await world.sandbox.scm.enroll({
      orgId: 1,
      certType: 1001,
      term: 365,
      csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
      comments: `Requested through Jira issue ${key} [certificate:${key}/other-run/g0/enroll]`,
    });
    await eventually(
      async () => ((await world.sandbox.scm.getCertificate(duplicate.sslId)).status === 'Issued' ? true : undefined),
      'the duplicate issued',
    );
    world.sandbox.scmEmulator.revokeDirectly(duplicate.sslId, 4);
    const reported = ((await sweep()).unownedOrders ?? []).map((o) => o.certificateId);
    assert.ok(!reported.includes(duplicate.sslId), `reported ${reported.join(', ')}`);
    assert.equal(comments(key).filter((c) => c.includes(`order ${duplicate.sslId}`)).length, 0, 'no false alarm');
  });
});
