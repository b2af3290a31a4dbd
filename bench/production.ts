/**
 * `npm run bench:production -- [N]` (default 200): the enrollment figures on the production stack
 * (`scripts/production.ts`: the Temporal server on PostgreSQL, as users deploy it) beside the dev server,
 * measured in the same run: BENCH_RUNS pairs (default 3), each pair running `bench/throughput.ts N` and
 * `bench/enroll-latency.ts` on both servers, which one goes first alternating from pair to pair. Prints
 * each figure as the median of the pairs with its range, and the production stack's throughput as a
 * share of the dev server's (the median of the pairs' ratios: the machine's load moves both alike).
 * The stack listens from PRODUCTION_BASE_PORT (default 19000) and keeps its data in a temporary directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installProductionStack, startProductionStack } from '../scripts/production.ts';
import { TEMPORAL_VARIABLES } from '../src/temporal-connection.ts';
import { medianOf, report, runBench, type BenchRun } from './report.ts';
import { armTimeout } from './world.ts';

const count = process.argv[2] ?? '200';
const PAIRS = Number(process.env.BENCH_RUNS ?? 3);
const LATENCY_RUNS = '20';
let stage = 'installing the production stack';
armTimeout('production', 900 * PAIRS, () => stage);

installProductionStack();
const dir = mkdtempSync(join(tmpdir(), 'bench-production-'));
stage = 'starting the production stack';
const stack = await startProductionStack({ dir, basePort: Number(process.env.PRODUCTION_BASE_PORT ?? 19_000) });
// The dev server runs: no Temporal settings at all, so that each benchmark starts its own.
const devServer = Object.fromEntries(TEMPORAL_VARIABLES.map((name) => [name, undefined]));
const production = { ...devServer, ...stack.clientEnv };

const enrolledPerSecond = (run: BenchRun) => Number(run.figures.enrolledPerSecond);
try {
  const pairs = [];
  let productionServer = '';
  for (let pair = 0; pair < PAIRS; pair++) {
    const measure = async (env: Record<string, string | undefined>, name: string) => {
      stage = `pair ${pair + 1} of ${PAIRS}: ${name}, throughput`;
      const throughput = await runBench('bench/throughput.ts', [count], env);
      stage = `pair ${pair + 1} of ${PAIRS}: ${name}, enroll latency`;
      const latency = await runBench('bench/enroll-latency.ts', [], { ...env, BENCH_RUNS: LATENCY_RUNS });
      return { throughput, latency };
    };
    const order = pair % 2 === 0 ? (['production', 'devServer'] as const) : (['devServer', 'production'] as const);
    const runs: Record<string, { throughput: BenchRun; latency: BenchRun }> = {};
    for (const name of order) runs[name] = await measure(name === 'production' ? production : devServer, name);
    const [prod, dev] = [runs.production, runs.devServer];
    if (!prod || !dev) throw new Error('a pair without both servers');
    productionServer = prod.throughput.server ?? '';
    pairs.push({
      production: {
        enrolledPerSecond: enrolledPerSecond(prod.throughput),
        enrollMedianMs: Number(prod.latency.figures.medianMs),
      },
      devServer: {
        enrolledPerSecond: enrolledPerSecond(dev.throughput),
        enrollMedianMs: Number(dev.latency.figures.medianMs),
      },
      productionShareOfDevServer: Number(
        (enrolledPerSecond(prod.throughput) / enrolledPerSecond(dev.throughput)).toFixed(2),
      ),
      loadAverage1m: prod.throughput.loadAverage[0] ?? Number.NaN,
    });
  }
  const { figures, ranges } = medianOf(pairs);
  report(
    'production',
    { certificates: Number(count), pairs: PAIRS, ...figures },
    `${productionServer} (PostgreSQL), beside the dev server`,
    ranges,
  );
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}
