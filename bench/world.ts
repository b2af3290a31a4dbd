/**
 * Where a benchmark runs, on which ports and for how long, and what it prints about it.
 *
 * - `TEMPORAL_ADDRESS` (or a `TEMPORAL_PROFILE`, with the rest of Temporal's environment configuration:
 *   TLS, API key, namespace): against that server, whose namespace must have the connector's search
 *   attributes (`scripts/production.ts` registers them). Otherwise a dev server of the benchmark's own.
 * - `BENCH_BASE_PORT=P`: every port the benchmark opens is one of P (the dev server), P+1 (the Jira
 *   emulator), P+2 (the SCM emulator), P+3 (the webhook receiver) and P+4 (a spawned worker's metrics).
 *   Otherwise any free ports.
 * - `BENCH_TIMEOUT_SECONDS`: the run is ended (exit 1, saying so) after that long, default per benchmark.
 */
import type { Client } from '@temporalio/client';
import { temporalTarget, type TemporalTarget } from '../src/temporal-connection.ts';
import { startWorld, type World } from '../test/helpers/environment.ts';

export interface BenchPorts {
  temporal: number;
  jira: number;
  scm: number;
  receiver: number;
  workerMetrics: number;
}

/** The ports of BENCH_BASE_PORT, or undefined (any free port). */
export function benchPorts(): BenchPorts | undefined {
  const base = Number(process.env.BENCH_BASE_PORT);
  if (!process.env.BENCH_BASE_PORT) return undefined;
  if (!Number.isInteger(base) || base < 1 || base > 65_530) {
    throw new Error(`BENCH_BASE_PORT must be a port number up to 65530, not "${process.env.BENCH_BASE_PORT}"`);
  }
  return { temporal: base, jira: base + 1, scm: base + 2, receiver: base + 3, workerMetrics: base + 4 };
}

/** The Temporal server the environment configures, or undefined (the benchmark starts a dev server). */
export function benchTemporal(): TemporalTarget | undefined {
  const target = temporalTarget(process.env);
  return target.address ? target : undefined;
}

/**
 * Ends the process after BENCH_TIMEOUT_SECONDS (default `seconds`), saying which benchmark and how far it
 * got: a benchmark that hangs prints why instead of nothing.
 */
export function armTimeout(name: string, seconds: number, stage: () => string = () => 'running'): void {
  const limit = Number(process.env.BENCH_TIMEOUT_SECONDS ?? seconds);
  setTimeout(() => {
    console.error(`${name}: timed out after ${limit} s (BENCH_TIMEOUT_SECONDS), ${stage()}`);
    process.exit(1);
  }, limit * 1000).unref();
}

/** Which server was measured: its address, namespace and version, and whether it is a dev server. */
export async function describeServer(client: Client, target: TemporalTarget | undefined): Promise<string> {
  const { serverVersion } = await client.workflowService.getSystemInfo({});
  const where = target?.address
    ? `${target.address}, namespace ${target.namespace}`
    : 'dev server of the benchmark (Temporal CLI, SQLite)';
  return `Temporal ${serverVersion ?? '?'} at ${where}`;
}

/**
 * The sandbox world of `test/helpers/environment.ts` where the environment says: the configured server
 * and ports, issue numbers that cannot meet an earlier run's on a server that keeps them. Says on stderr
 * which server it measures.
 */
export async function startBenchWorld(
  options: Parameters<typeof startWorld>[0] = {},
): Promise<World & { server: string }> {
  const temporal = benchTemporal();
  const ports = benchPorts();
  const world = await startWorld({
    ...options,
    ...(temporal ? { temporal } : {}),
    ...(ports
      ? { temporalPort: ports.temporal, jiraPort: ports.jira, scmPort: ports.scm, receiverPort: ports.receiver }
      : {}),
    // On a server of its own, from 1; on an existing one, past any earlier run's keys: milliseconds since
    // 2026, as no run makes an issue a millisecond.
    jira: { ...options.jira, ...(temporal ? { firstIssueNumber: Date.now() - 1_767_225_600_000 } : {}) },
  });
  const server = await describeServer(world.env.client, temporal);
  console.error(`measuring on ${server}`);
  return Object.assign(world, { server });
}
