/**
 * `npm run bench:sweep -- [N]` (default 1000): the daily sweep over N parked certificates, in the
 * sandbox (dev server on SQLite, emulators on loopback). Parks the fleet from carried state, restarts the
 * worker (an empty cache, as after a deploy), then sweeps twice: with nothing changed, and with 1% of
 * the certificates revoked directly in SCM. Prints, for each, the time, the SCM requests and the
 * workflows the worker holds in its cache afterwards; the worker process's memory; and the database
 * size per certificate. Figures only: nothing here is asserted.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNNING_CERTIFICATES } from '../src/contract/certificate.ts';
import { TASK_QUEUE } from '../src/contract/shared.ts';
import { renewalSweep } from '../src/workflows/renewal-sweep.ts';
import type { SweepInput } from '../src/contract/sweep.ts';
import { spawnWorker, startWorld } from '../test/helpers/environment.ts';
import { parkCertificates } from './park.ts';
import { report } from './report.ts';

/** Where each spawned worker serves its metrics. */
const metricsUrls = new Map<ChildProcess, string>();
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

  // A deploy: the worker now runs as its own process (`node src/worker.ts`, as in production), with an
  // empty cache, as a sweep at 3 a.m. finds it; its RSS is read from /proc.
  await world.stopWorker();
  const worker = spawnWorker(world, { stdout: 'pipe' });
  await waitForPolling(worker);
  const rssIdle = rssOf(worker);

  const scm = world.sandbox.scmEmulator;
  const sweep = async (input: SweepInput) => {
    const requests = scm.stats.requests;
    const started = performance.now();
    const totals = await client.workflow.execute(renewalSweep, {
      taskQueue: TASK_QUEUE,
      workflowId: `bench-sweep-${Date.now()}`,
      args: [input],
    });
    // Before the scrape below: /metrics reads every certificate from visibility for its gauges.
    const rss = rssOf(worker);
    return {
      rss,
      seconds: (performance.now() - started) / 1000,
      scmRequests: scm.stats.requests - requests,
      cachedWorkflows: await cachedWorkflows(worker),
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
  const rssAfterScrape = rssOf(worker);
  const changedCount = Math.max(1, Math.round(count / 100));
  for (const id of ids.slice(0, changedCount)) scm.revokeDirectly(id, 4);
  const changed = await sweep(state());
  // Done with it: a graceful shutdown would wait on polls, and its piped output keeps this process alive.
  worker.kill('SIGKILL');

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
    workerRssMiB: {
      idle: Math.round(mib(rssIdle)),
      afterQuietSweep: Math.round(mib(quiet.rss)),
      // One scrape of /metrics: the per-certificate gauges, one series per certificate.
      afterMetricsScrape: Math.round(mib(rssAfterScrape)),
    },
    databaseKiBPerCertificate: Number((dbBytes() / 1024 / count).toFixed(1)),
  });
} finally {
  await world.teardown();
}

/** The worker process's resident memory, from /proc (Linux). */
function rssOf(worker: ChildProcess): number {
  const status = readFileSync(`/proc/${worker.pid ?? 0}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/** Waits until the spawned worker serves /readyz (it logs its metrics URL once polling). */
async function waitForPolling(worker: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    worker.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const url = /"metrics":"(http:[^"]+)\/metrics"/.exec(seen)?.[1];
      if (url) {
        metricsUrls.set(worker, url);
        resolve();
      }
    });
    worker.once('exit', (code) => reject(new Error(`the worker exited (${String(code)})`)));
  });
}

/** Workflows in the worker's cache, from the SDK's own gauge on the worker's /metrics. */
async function cachedWorkflows(worker: ChildProcess): Promise<number> {
  const text = await (await fetch(`${metricsUrls.get(worker) ?? ''}/metrics`)).text();
  const sample = /^temporal_sticky_cache_size(?:\{[^}]*\})? (\S+)$/m.exec(text);
  return Number(sample?.[1] ?? Number.NaN);
}
