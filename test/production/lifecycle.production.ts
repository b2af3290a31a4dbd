/**
 * The production lane (`npm run test:production`): the Temporal server on PostgreSQL, built and set up by
 * scripts/production.ts as users deploy it, with two worker processes (`node src/worker.ts`) and the
 * emulated Jira and SCM. Certificates are enrolled, renewed and revoked through Jira while one worker is
 * killed mid-enrollment; every external effect still happens once.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { startProductionStack, type ProductionStack } from '../../scripts/production.ts';
import { certificateWorkflowId, statusQuery, type CertificateStatus } from '../../src/contract/certificate.ts';
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { eventually, opensslCsr, spawnWorker } from '../helpers/environment.ts';

interface IssueView {
  fields: {
    status: { name: string };
    attachment: Array<{ filename: string }>;
    comment: { comments: Array<{ body: unknown }> };
  };
}

describe('on the production stack (Temporal on PostgreSQL, two workers)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cert-production-'));
  let stack: ProductionStack;
  let client: Client;
  let sandbox: Sandbox;
  let alice: Requester;
  const workers: ChildProcess[] = [];

  before(async () => {
    stack = await startProductionStack({ dir, basePort: 18_000 });
    client = new Client({ connection: await Connection.connect({ address: stack.address }) });
    sandbox = await startSandbox({ client, scm: { issuanceDelayMs: 1500 } });
    alice = new Requester(sandbox.jiraEmulator.url, SANDBOX_USERS.alice);
    const world = { sandbox, env: { address: stack.address } };
    workers.push(spawnWorker(world), spawnWorker(world));
  });
  after(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await sandbox?.stop();
    await client?.connection.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const issue = (key: string) => sandbox.jiraEmulator.issue(key) as unknown as IssueView;
  const comments = (key: string) => sandbox.jiraEmulator.commentTexts(key);
  const ordersFor = (domain: string) => sandbox.scmEmulator.orders().filter((o) => o.commonName === domain);
  const status = (key: string) =>
    client.workflow
      .getHandle(certificateWorkflowId(key))
      .query(statusQuery)
      .catch(() => undefined);
  // A task lost with the killed worker is retried once its timeout has passed: up to a minute for a Jira
  // write, a minute of missed heartbeats for an order. The wait allows several such losses in a row.
  const until = (key: string, what: string, check: (s: CertificateStatus) => boolean) =>
    eventually(
      async () => {
        const s = await status(key);
        return s && check(s) ? s : undefined;
      },
      `${key}: ${what}`,
      300_000,
    ).catch(async (err: unknown) => {
      // What the workflow was waiting for, to tell a slow machine from a stuck workflow.
      const { raw } = await client.workflow.getHandle(certificateWorkflowId(key)).describe();
      const pending = (raw.pendingActivities ?? []).map(
        (a) => `${a.activityType?.name} attempt ${a.attempt} (${a.lastFailure?.message ?? 'no failure'})`,
      );
      throw new Error(`${String(err)}; phase ${(await status(key))?.phase}; pending: ${pending.join(', ') || 'none'}`);
    });

  const domains = ['prod-a.example.com', 'prod-b.example.com', 'prod-c.example.com'];
  const keys: string[] = [];

  it('enrolls every certificate once although a worker is killed mid-enrollment', async () => {
    for (const [i, domain] of domains.entries()) {
      const key = await alice.createCertificateIssue({
        summary: `TLS for ${domain}`,
        profile: i === 0 ? 'Short-lived Server Certificate' : 'OV Server Certificate',
        csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
      });
      await alice.transition(key, 'Enroll Certificate');
      keys.push(key);
    }
    // Orders are placed and waiting for issuance (1.5 s): now one of the two workers dies.
    await eventually(
      async () =>
        (await Promise.all(keys.map(status))).some((s) => s?.phase === 'AwaitingIssuance') ? true : undefined,
      'an enrollment awaiting issuance',
      120_000,
    );
    workers[0]?.kill('SIGKILL');

    for (const [i, key] of keys.entries()) {
      const domain = domains[i] ?? '';
      const done = await until(key, 'enrolled', (s) => s.phase === 'Active');
      assert.equal(done.domain, domain);
      assert.equal(ordersFor(domain).length, 1, `${domain}: one SCM order`);
      assert.equal(issue(key).fields.status.name, 'Certificate Enrolled');
      assert.equal(issue(key).fields.attachment.length, 1, `${key}: one attachment`);
      assert.equal(comments(key).filter((c) => c.startsWith('Certificate enrolled')).length, 1, `${key}: one comment`);
    }
  });

  it('renews a certificate on request through Jira, with the remaining worker', async () => {
    const key = keys[0] ?? '';
    await alice.transition(key, 'Renew Certificate');
    const renewed = await until(key, 'renewed', (s) => s.generation === 1 && s.phase === 'Active');
    assert.equal(renewed.history.at(-1)?.reason, 'manual');
    assert.equal(ordersFor(domains[0] ?? '').length, 2);
    await eventually(
      () => (issue(key).fields.attachment.length === 2 ? true : undefined),
      'the renewed certificate attached',
    );
  });

  it('revokes a certificate through Jira, in SCM and on the issue, and the workflow ends', async () => {
    const key = keys[1] ?? '';
    await alice.revoke(key, 'Superseded');
    const handle = client.workflow.getHandle(certificateWorkflowId(key));
    const final = (await handle.result()) as CertificateStatus;
    assert.equal(final.phase, 'Revoked');
    const [order] = ordersFor(domains[1] ?? '');
    assert.equal(order?.status, 'Revoked');
    await eventually(
      () => (issue(key).fields.status.name === 'Certificate Revoked' ? true : undefined),
      'the issue in Certificate Revoked',
    );
    assert.equal(comments(key).filter((c) => /revoked/i.test(c) && c.includes('Superseded')).length, 1);
    // What operators see: PostgreSQL visibility with the custom search attributes.
    const revoked: string[] = [];
    for await (const run of client.workflow.list({ query: `CertificateStatus = 'Revoked'` }))
      revoked.push(run.workflowId);
    assert.deepEqual(revoked, [certificateWorkflowId(key)]);
  });
});
