/**
 * Runs started on older workflow code finish on today's, in the SDK's manner: a worker on the old code
 * takes a certificate part of the way, then a worker on today's code with no cache (every task a replay of
 * what the old code did) carries it on: published, renewed, revoked. The stored histories prove each
 * prefix replays; this proves the runs go on. The old code is taken from git: main before the reshape of
 * the certificate workflow into src/workflows/certificate/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowBundle } from '@temporalio/worker';
import {
  certificateWorkflowId,
  renewUpdate,
  revokeUpdate,
  statusQuery,
  type CertificateStatus,
} from '../../src/contract/certificate.ts';
import { searchAttributes } from '../../src/contract/shared.ts';
import type { certificateLifecycle } from '../../src/workflows/certificate/workflow.ts';
import { eventually, opensslCsr, startWorld, workflowBundleAt, type World } from '../helpers/environment.ts';

/** main before the reshape: the certificate workflow in one file, the patches it carries the same. */
const BEFORE_RESHAPE = '55596a7';

describe('runs started on older code, finished on today’s', () => {
  let world: World;
  let old: WorkflowBundle | string;
  before(async () => {
    old = await workflowBundleAt(BEFORE_RESHAPE);
    world = await startWorld({ scm: { issuanceDelayMs: 1500 } });
    await world.stopWorker();
  });
  after(async () => {
    await world?.teardown();
  });

  const handle = (key: string) =>
    world.env.client.workflow.getHandle<typeof certificateLifecycle>(certificateWorkflowId(key));
  const until = (key: string, what: string, check: (s: CertificateStatus) => boolean) =>
    eventually(
      async () => {
        const s = await handle(key)
          .query(statusQuery)
          .catch(() => undefined); // not started yet, or between runs
        return s && check(s) ? s : undefined;
      },
      `${key}: ${what}`,
      60_000,
    );
  /** The issue as Jira shows it: its status and attachments. */
  interface IssueView {
    fields: { status: { name: string }; attachment: Array<{ filename: string }> };
  }
  const fields = (key: string) => (world.sandbox.jiraEmulator.issue(key) as unknown as IssueView).fields;

  it('enrolls on the old code, up to Active or to issuance, then publishes, renews and revokes on today’s', async (t) => {
    if (typeof old === 'string') return t.skip(old);
    await world.startWorker({ workflowBundle: old });
    const request = async (domain: string) => {
      const key = await world.alice.createCertificateIssue({
        profile: 'Manual Server Certificate',
        csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
      });
      await world.alice.transition(key, 'Enroll Certificate');
      return key;
    };
    // One parked once Active, one handed over while SCM is issuing it (an activity under way).
    const parked = await request('parked.example.com');
    await until(parked, 'active on the old code', (s) => s.phase === 'Active');
    const inFlight = await request('in-flight.example.com');
    await until(inFlight, 'awaiting issuance on the old code', (s) => s.phase === 'AwaitingIssuance');
    await world.stopWorker();
    const phase = async (key: string) =>
      (await handle(key).describe()).typedSearchAttributes.get(searchAttributes.status);
    assert.equal(await phase(inFlight), 'AwaitingIssuance', 'handed over before its certificate was published');

    await world.startWorker({ maxCachedWorkflows: 0 });
    for (const key of [inFlight, parked]) {
      const enrolled = await until(key, 'active on today’s code', (s) => s.phase === 'Active');
      assert.equal(fields(key).status.name, 'Certificate Enrolled', key);
      await handle(key).executeUpdate(renewUpdate, { args: [{ requestedBy: 'operator', force: true }] });
      const renewed = await until(key, 'renewed', (s) => s.generation === 1 && s.phase === 'Active');
      assert.notEqual(renewed.certificateId, enrolled.certificateId, key);
      assert.equal(fields(key).attachment.length, 2, `${key}: the enrolled and the renewed PEM`);
      await handle(key).executeUpdate(revokeUpdate, { args: [{ reasonCode: 4, requestedBy: 'operator' }] });
      assert.equal((await handle(key).result()).phase, 'Revoked', key);
      const orders = world.sandbox.scmEmulator.orders().filter((o) => o.commonName === renewed.domain);
      assert.deepEqual(
        orders.map((o) => o.status),
        ['Revoked', 'Revoked'],
        `${key}: both of its certificates revoked in SCM`,
      );
    }
  });
});
