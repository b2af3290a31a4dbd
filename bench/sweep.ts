/**
 * `npm run bench:sweep -- [N]` (default 1000): the daily sweep over N parked certificates, in the
 * sandbox (dev server on SQLite, emulators on loopback). Parks the fleet from carried state, restarts the
 * worker (an empty cache, as after a deploy), then sweeps twice: with nothing changed, and with 1% of
 * the certificates revoked directly in SCM. Prints, for each, the time, the SCM requests and the
 * workflows the worker holds in its cache afterwards; and the memory and database size per
 * certificate. Figures only: nothing here is asserted.
 */
import { statSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNNING_CERTIFICATES, TASK_QUEUE } from '../src/contract.ts';
import { renewalSweep, type SweepInput } from '../src/workflows/renewal-sweep.ts';
import { startWorld } from '../test/helpers/environment.ts';
import { parkCertificates } from './park.ts';
import { report } from './report.ts';

const count = Number(process.argv[2] ?? process.env.BENCH_SWEEP_N ?? 1000);
const dbFilename = join(mkdtempSync(join(tmpdir(), 'bench-sweep-')), 'temporal.db');
const world = await startWorld({ scm: { issuanceDelayMs: 0 }, dbFilename });
const { client } = world.env;
const mib = (bytes: number) => bytes / 1024 / 1024;
const dbBytes = () =>
  ['', '-wal', '-shm'].reduce((sum, suffix) => {
    try {
      return sum + statSync(dbFilename + suffix).size;
    } catch {
      return sum;
    }
  }, 0);

try {
  const parkStarted = performance.now();
  const ids = await parkCertificates({
    client,
    scm: world.sandbox.scmEmulator,
    count,
    progress: (n) => process.stderr.write(`\rparked ${n}/${count}`),
  });
  for (;;) {
    const { count: active } = await client.workflow.count(`${RUNNING_CERTIFICATES} AND CertificateStatus = 'Active'`);
    if (active >= count) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const parkSeconds = (performance.now() - parkStarted) / 1000;
  process.stderr.write(`\rparked ${count} in ${parkSeconds.toFixed(1)} s\n`);

  // A deploy: the new worker's cache is empty, as a sweep at 3 a.m. finds it.
  await world.stopWorker();
  global.gc?.();
  await world.startWorker();
  const rssIdle = process.memoryUsage().rss;

  const scm = world.sandbox.scmEmulator;
  const sweep = async (input: SweepInput) => {
    const requests = scm.stats.requests;
    const started = performance.now();
    const totals = await client.workflow.execute(renewalSweep, {
      taskQueue: TASK_QUEUE,
      workflowId: `bench-sweep-${Date.now()}`,
      args: [input],
    });
    return {
      seconds: (performance.now() - started) / 1000,
      scmRequests: scm.stats.requests - requests,
      cachedWorkflows: world.cachedWorkflows(),
      reevaluated: totals.reevaluated,
      reconciled: totals.reconciled,
    };
  };
  // As the schedule carries it from yesterday's sweep.
  const state = (): SweepInput => ({
    scmCheckedUntil: Date.now() - 60_000,
    replacedSeen: 0,
    orderWatermark: Math.max(...ids),
  });
  const quiet = await sweep(state());
  const rssAfterSweep = process.memoryUsage().rss;
  const changedCount = Math.max(1, Math.round(count / 100));
  for (const id of ids.slice(0, changedCount)) scm.revokeDirectly(id, 4);
  const changed = await sweep(state());

  report('sweep', {
    certificates: count,
    parkPerSecond: Math.round(count / parkSeconds),
    quiet: {
      seconds: Number(quiet.seconds.toFixed(2)),
      scmRequests: quiet.scmRequests,
      cachedWorkflowsAfter: quiet.cachedWorkflows,
      reevaluated: quiet.reevaluated,
    },
    onePercentChanged: {
      changed: changedCount,
      seconds: Number(changed.seconds.toFixed(2)),
      scmRequests: changed.scmRequests,
      reconciled: changed.reconciled,
      cachedWorkflowsAfter: changed.cachedWorkflows,
    },
    processRssMiB: { idle: Math.round(mib(rssIdle)), afterQuietSweep: Math.round(mib(rssAfterSweep)) },
    databaseKiBPerCertificate: Number((dbBytes() / 1024 / count).toFixed(1)),
  });
} finally {
  await world.teardown();
}
