/**
 * `npm run bench:sweep -- [N]` (default 1000): a fleet of N parked certificates, as an operator meets it
 * (each records its issuing CA, as every certificate the connector enrolls does).
 * Parks the fleet from carried state once, then BENCH_ROUNDS times (default 3): starts the worker as its
 * own process (`node src/worker.ts`, an empty cache, as after a deploy), runs the daily sweep with
 * nothing changed, scrapes `/metrics` twice (time, size, series), and sweeps again with another 1% of the
 * certificates revoked directly in SCM. Prints each figure as the median of the rounds with its range:
 * the time and SCM requests of each sweep and the workflows the worker caches after it, the worker's
 * memory, the load average; then the dev server's memory and the database per certificate (after a
 * checkpoint: the SQLite file without its write-ahead log). Against an existing server
 * (`TEMPORAL_ADDRESS`, bench/world.ts) the server's memory and database are not measured. Figures only:
 * nothing here is asserted.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { renewalSettings } from '../src/activities/profiles.ts';
import { RUNNING_CERTIFICATES, runningWith } from '../src/contract/certificate.ts';
import { TASK_QUEUE } from '../src/contract/shared.ts';
import type { Profile } from '../src/profiles.ts';
import { renewalSweep } from '../src/workflows/renewal-sweep.ts';
import type { SweepInput } from '../src/contract/sweep.ts';
import { spawnWorker } from '../test/helpers/environment.ts';
import { emulatorIssuer, parkCertificates } from './park.ts';
import { loadAverage, medianOf, report } from './report.ts';
import { armTimeout, benchPorts, benchTemporal, startBenchWorld } from './world.ts';

const count = Number(process.argv[2] ?? process.env.BENCH_SWEEP_N ?? 1000);
/** Rounds on the one parked fleet, each figure then the median of the rounds with its range. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
let stage = 'starting';
// Parking runs at some 60–100 certificates a second here: 100,000 take about half an hour.
armTimeout('sweep', 600 + count / 20, () => stage);
const existing = benchTemporal() !== undefined;
const dbFilename = existing ? undefined : join(mkdtempSync(join(tmpdir(), 'bench-sweep-')), 'temporal.db');
const world = await startBenchWorld({ scm: { issuanceDelayMs: 0 }, ...(dbFilename ? { dbFilename } : {}) });
const { client } = world.env;
const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
/** Where each spawned worker serves its metrics. */
const metricsUrls = new Map<ChildProcess, string>();
const activeQuery = `${RUNNING_CERTIFICATES} AND CertificateStatus = 'Active'`;

try {
  stage = 'parking';
  const before = existing ? (await client.workflow.count(activeQuery)).count : 0;
  const parkStarted = performance.now();
  const ids = await parkCertificates({
    client,
    scm: world.sandbox.scmEmulator,
    count,
    // Each records its issuer, as every certificate the connector publishes does, and carries the profile's
    // settings, as a renewal's continue-as-new does.
    issuer: await emulatorIssuer(world.sandbox.scmEmulator),
    settings: renewalSettings(sandboxProfile('ov-server')),
    // On a server that keeps earlier runs' certificates, keys of this run's own.
    ...(existing ? { prefix: `PARK${Date.now().toString(36).toUpperCase()}` } : {}),
    progress: (n) => {
      stage = `parking: ${n} of ${count} started`;
      process.stderr.write(`\rparked ${n}/${count}`);
    },
  });
  for (;;) {
    const { count: active } = await client.workflow.count(activeQuery);
    stage = `parking: ${active - before} of ${count} Active`;
    if (active - before >= count) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const parkSeconds = (performance.now() - parkStarted) / 1000;
  process.stderr.write(`\rparked ${count} in ${parkSeconds.toFixed(1)} s\n`);

  const scm = world.sandbox.scmEmulator;
  const ports = benchPorts();
  // As the schedule carries it from yesterday's sweep.
  const state = (): SweepInput => ({
    scmCheckedUntil: Date.now() - 60_000,
    replacedSeen: 0,
    orderWatermark: ids.reduce((a, b) => Math.max(a, b), 0),
  });
  const changedCount = Math.max(1, Math.round(count / 100));

  /**
   * One round on the parked fleet: a deploy (the worker as its own process, an empty cache, as a sweep at
   * 3 a.m. finds it), the quiet sweep, two scrapes, the sweep with another 1% revoked in SCM.
   */
  async function round(r: number) {
    stage = `round ${r + 1}: starting the worker`;
    const worker = spawnWorker(world, {
      stdout: 'pipe',
      env: ports ? { METRICS_PORT: String(ports.workerMetrics) } : {},
    });
    try {
      await waitForPolling(worker);
      const rssIdle = rssOf(worker.pid);
      const sweep = async (input: SweepInput) => {
        const requests = scm.stats.requests;
        const started = performance.now();
        const totals = await client.workflow.execute(renewalSweep, {
          taskQueue: TASK_QUEUE,
          workflowId: `bench-sweep-${Date.now()}`,
          args: [input],
        });
        const seconds = (performance.now() - started) / 1000;
        return { seconds, scmRequests: scm.stats.requests - requests, rss: rssOf(worker.pid), totals };
      };
      stage = `round ${r + 1}: the quiet sweep`;
      const quiet = await sweep(state());
      stage = `round ${r + 1}: scraping /metrics`;
      // The worker's first scrape since it started; it also tells how many workflows the sweep left cached.
      const { cachedWorkflows: quietCached, ...firstScrape } = await scrape(worker);
      const { cachedWorkflows: _, ...secondScrape } = await scrape(worker);
      const rssAfterScrapes = rssOf(worker.pid);
      const changedIds = ids.slice(r * changedCount, (r + 1) * changedCount);
      for (const id of changedIds) scm.revokeDirectly(id, 4);
      stage = `round ${r + 1}: the sweep with 1% changed`;
      const changed = await sweep(state());
      const changedCached = (await scrape(worker)).cachedWorkflows;
      // The sweep has told the changed certificates; they then comment, transition and end. Let them,
      // so that the next round's deploy and quiet sweep do not pay for this one.
      stage = `round ${r + 1}: the changed certificates settling`;
      const settleSeconds = await settled(changedIds);
      return {
        quiet: {
          seconds: Number(quiet.seconds.toFixed(2)),
          scmRequests: quiet.scmRequests,
          cachedWorkflowsAfter: quietCached,
          reevaluated: quiet.totals.reevaluated,
        },
        onePercentChanged: {
          changed: changedCount,
          seconds: Number(changed.seconds.toFixed(2)),
          scmRequests: changed.scmRequests,
          reconciled: changed.totals.reconciled,
          cachedWorkflowsAfter: changedCached,
        },
        firstScrape,
        secondScrape,
        workerRssMiB: { idle: mib(rssIdle), afterQuietSweep: mib(quiet.rss), afterTwoScrapes: mib(rssAfterScrapes) },
        settleSeconds,
        loadAverage1m: loadAverage()[0] ?? Number.NaN,
      };
    } finally {
      // Done with it: a graceful shutdown would wait on polls, and its piped output keeps this process alive.
      worker.kill('SIGKILL');
    }
  }

  await world.stopWorker();
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const figures = await round(r);
    console.error(`round ${r + 1}: ${JSON.stringify(figures)}`);
    rounds.push(figures);
  }
  const { figures, ranges } = medianOf(rounds);

  stage = 'measuring the server';
  const server = dbFilename ? devServerPid(dbFilename) : undefined;
  report(
    'sweep',
    {
      certificates: count,
      parkPerSecond: Math.round(count / parkSeconds),
      rounds: ROUNDS,
      ...figures,
      ...(server ? { devServerRssMiB: mib(rssOf(server)) } : {}),
      ...(dbFilename
        ? { databaseKiBPerCertificate: Number((checkpointedBytes(dbFilename) / 1024 / count).toFixed(1)) }
        : {}),
    },
    world.server,
    ranges,
  );
} finally {
  await world.teardown();
}

/**
 * Waits until none of the certificates changed in SCM is still running (each has been told and has ended
 * revoked), at most two minutes; answers how long it took. Asked a hundred ids a query, as the sweep asks.
 */
async function settled(changedIds: number[]): Promise<number> {
  const started = performance.now();
  const running = async () => {
    let count = 0;
    for (const query of runningWith(changedIds)) count += (await client.workflow.count(query)).count;
    return count;
  };
  while ((await running()) > 0 && performance.now() - started < 120_000) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return Number(((performance.now() - started) / 1000).toFixed(1));
}

/** A process's resident memory, from /proc (Linux). */
function rssOf(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid ?? 0}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/** The dev server serving `dbFilename`, found by its command line. */
function devServerPid(dbFilename: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(dbFilename)) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

/**
 * The database's size once its write-ahead log is checkpointed into it: what the certificates take, not
 * the log's high-water mark.
 */
function checkpointedBytes(file: string): number {
  const db = new DatabaseSync(file);
  try {
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return statSync(file).size;
}

/** A profile of the sandbox's, which the benchmark's fleet belongs to. */
function sandboxProfile(id: string): Profile {
  const profile = world.sandbox.profiles.byId(id);
  if (!profile) throw new Error(`the sandbox has no profile ${id}`);
  return profile;
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

/** One scrape of the worker's /metrics, as Prometheus makes it: its time, size and certificate series. */
async function scrape(worker: ChildProcess) {
  const started = performance.now();
  const text = await (await fetch(`${metricsUrls.get(worker) ?? ''}/metrics`)).text();
  return {
    seconds: Number(((performance.now() - started) / 1000).toFixed(3)),
    kiB: Math.round(text.length / 1024),
    certificateSeries: text.match(/^certificate_expiration_timestamp_seconds\{/gm)?.length ?? 0,
    loadAverage1m: loadAverage()[0] ?? Number.NaN,
    // Workflows in the worker's cache, from the SDK's own gauge.
    cachedWorkflows: Number(/^temporal_sticky_cache_size(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? Number.NaN),
  };
}
