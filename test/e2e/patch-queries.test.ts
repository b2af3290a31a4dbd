/**
 * The register's queries on a real dev server: the query that holds a patched change finds a run that did
 * not record its marker (started by older code) and not one that did; the query that holds a deprecated
 * change does not find a run of today's code.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { PATCHES, runsHolding, type Patch } from '../../src/workflows/patches.ts';
import { eventually, startTemporal } from '../helpers/environment.ts';

const patch = (id: string): Patch => PATCHES.find((p) => p.id === id) as Patch;

describe("the patch register's queries", () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  before(async () => {
    env = await startTemporal();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'today',
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: fileURLToPath(new URL('./fixtures/patch-markers.ts', import.meta.url)),
        logger: new DefaultLogger('WARN'),
      }),
    });
    running = worker.run();
  });
  after(async () => {
    worker.shutdown();
    await running;
    await env.teardown();
  });

  const count = async (query: string) => (await env.client.workflow.count(query)).count;

  it('finds the certificate runs that did not record a patched change, and none that did', async () => {
    // Started by "older code": no worker of this queue ever runs it, so it records nothing.
    await env.client.workflow.start('certificateLifecycle', { workflowId: 'older', taskQueue: 'nobody' });
    const today = await env.client.workflow.start('certificateLifecycle', { workflowId: 'today', taskQueue: 'today' });
    await eventually(async () => ((await today.describe()).historyLength >= 4 ? true : undefined), 'a marker recorded');
    for (const id of ['local-requests', 'changes-1-to-5', 'changes-1-to-8']) {
      const query = runsHolding(patch(id));
      await eventually(async () => ((await count(query)) === 1 ? true : undefined), `${id}: the older run only`);
      const found = [];
      for await (const run of env.client.workflow.list({ query })) found.push(run.workflowId);
      assert.deepEqual(found, ['older'], id);
    }
  });

  it('finds no run of today’s code for a deprecated change', async () => {
    await env.client.workflow.start('renewalSweep', { workflowId: 'sweep-today', taskQueue: 'today' });
    const query = runsHolding(patch('index-sweep'));
    assert.match(query, /StartTime < '2026-12-05T00:00:00Z'/);
    assert.equal(await count(query), 0);
  });
});
