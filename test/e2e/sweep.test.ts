/**
 * The daily sweep by index, in a sandbox of its own (no other certificate renews meanwhile, so SCM's
 * request count is the sweep's): with nothing changed it costs a handful of SCM requests whatever the
 * fleet, and what changed in SCM reaches the certificate's workflow.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { certificateWorkflowId, statusQuery } from '../../src/contract/certificate.ts';
import { searchAttributes, TASK_QUEUE } from '../../src/contract/shared.ts';
import { renewalSettings } from '../../src/activities/profiles.ts';
import { Profiles } from '../../src/profiles.ts';
import { SANDBOX_PROFILES_FILE } from '../../src/sandbox/sandbox.ts';
import { renewalSweep } from '../../src/workflows/renewal-sweep.ts';
import type { SweepInput } from '../../src/contract/sweep.ts';
import { eventually, opensslCsr, startWorld, untilPhase, type World } from '../helpers/environment.ts';

describe('sweep by index', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ scm: { issuanceDelayMs: 100 } });
  });
  after(async () => {
    await world?.teardown();
  });

  const comments = (key: string) => world.sandbox.jiraEmulator.commentTexts(key);
  const status = (key: string) => world.env.client.workflow.getHandle(certificateWorkflowId(key)).query(statusQuery);
  const sweep = (input: SweepInput) =>
    world.env.client.workflow.execute(renewalSweep, {
      taskQueue: TASK_QUEUE,
      workflowId: `sweep-${Date.now()}`,
      args: [input],
    });
  async function enroll(domain: string, profile: string): Promise<string> {
    const key = await world.alice.createCertificateIssue({ profile, csr: opensslCsr(`/CN=${domain}`, 'ec-p256') });
    await world.alice.transition(key, 'Enroll Certificate');
    await untilPhase(world.env.client, key, 'Active');
    return key;
  }

  it('sweeps by index: a handful of SCM requests when nothing changed, and notices a certificate replaced in SCM', async () => {
    const key = await enroll('replaced-in-scm.example.com', 'OV Server Certificate');
    await Promise.all(Array.from({ length: 10 }, (_, i) => enroll(`fleet-${i}.example.com`, 'OV Server Certificate')));
    const { certificateId } = await status(key);
    const orders = world.sandbox.scmEmulator.orders();
    // As the schedule carries it from the previous sweep: checked until now, every order seen.
    const state = (): SweepInput => ({
      scmCheckedUntil: Date.now(),
      replacedSeen: 0,
      orderWatermark: Math.max(...orders.map((o) => Number(o.id))),
    });
    const requestsBefore = world.sandbox.scmEmulator.stats.requests;
    const quiet = await sweep(state());
    const requests = world.sandbox.scmEmulator.stats.requests - requestsBefore;
    assert.deepEqual([quiet.reevaluated, quiet.reconciled], [0, 0]);
    assert.ok(orders.length >= 11, `${orders.length} orders in SCM`);
    assert.ok(
      requests <= 5,
      `${requests} SCM requests for a sweep with nothing changed (the fleet has ${orders.length} orders)`,
    );

    world.sandbox.scmEmulator.replaceDirectly(certificateId ?? 0);
    const changed = await sweep(state());
    assert.equal(changed.reconciled, 1);
    await eventually(
      () =>
        comments(key).some((c) => c.includes(`shows certificate ${certificateId} as Replaced, outside Jira`))
          ? true
          : undefined,
      'the comment about the replacement',
    );
    assert.equal((await status(key)).phase, 'Active', 'a replaced certificate is reported, not ended');
  });

  it('finds plans made on other profile settings, either side of the fingerprint, and those made without one when due', async () => {
    const fingerprints = Object.fromEntries(
      Profiles.load(SANDBOX_PROFILES_FILE).all.map((p) => [p.id, renewalSettings(p).fingerprint]),
    );
    const current = fingerprints['ov-server'] ?? '';
    // Certificates as visibility shows them, on a task queue no worker polls: a signal stays in their history.
    const planted = async (name: string, fingerprint?: string) => {
      const handle = await world.env.client.workflow.start('certificateLifecycle', {
        taskQueue: 'sweep-test-unpolled',
        workflowId: `certificate:SWEEP-${name}`,
        typedSearchAttributes: [
          { key: searchAttributes.status, value: 'Active' },
          { key: searchAttributes.profile, value: 'ov-server' },
          ...(fingerprint === undefined ? [] : [{ key: searchAttributes.profileFingerprint, value: fingerprint }]),
        ],
      });
      return { name, handle };
    };
    const certificates = [
      await planted('below', '0'),
      await planted('above', 'z'),
      await planted('current', current),
      await planted('unindexed'),
    ];
    const signalled = async () => {
      const names: string[] = [];
      for (const { name, handle } of certificates) {
        const { events } = await handle.fetchHistory();
        const count = (events ?? []).filter(
          (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'reevaluate',
        ).length;
        if (count > 0) names.push(`${name}×${count}`);
      }
      return names;
    };
    try {
      await eventually(
        async () =>
          (await world.env.client.workflow.count(`WorkflowId STARTS_WITH 'certificate:SWEEP-'`)).count === 4
            ? true
            : undefined,
        'the planted certificates in visibility',
      );
      const day = 86_400_000;
      // Profiles unchanged since the last sweep, which looked for plans without a fingerprint yesterday.
      await sweep({ fingerprints, unindexedCheckedAt: Date.now() - day });
      assert.deepEqual(await signalled(), ['below×1', 'above×1']);
      // A week since that look: it is due.
      await sweep({ fingerprints, unindexedCheckedAt: Date.now() - 8 * day });
      assert.deepEqual(await signalled(), ['below×2', 'above×2', 'unindexed×1']);
      // A profile changed since the last sweep (one that was missing may be back): due too.
      await sweep({ fingerprints: { ...fingerprints, 'ov-server': 'before' }, unindexedCheckedAt: Date.now() - day });
      assert.deepEqual(await signalled(), ['below×3', 'above×3', 'unindexed×2']);
    } finally {
      await Promise.all(certificates.map(({ handle }) => handle.terminate('test over')));
    }
  });
});
