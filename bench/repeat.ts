/**
 * `node bench/repeat.ts N bench/<name>.ts [args]`: runs one benchmark N times (at least 3 for a figure
 * to record), one process after another, and reports each figure as the median of the runs with its
 * range, the load average of each run beside them. `BENCH_RECORD=1` records the medians as the baseline;
 * the single runs never do.
 */
import { medianOf, report, runBench, type BenchRun } from './report.ts';

const [runsArg, script, ...args] = process.argv.slice(2);
const runs = Number(runsArg);
if (!Number.isInteger(runs) || runs < 1 || !script) {
  console.error('usage: node bench/repeat.ts N bench/<name>.ts [args]');
  process.exit(2);
}
const benchScript: string = script;

const done: BenchRun[] = [];
for (let i = 0; i < runs; i++) done.push(await runBench(benchScript, args));

const first = done[0] as BenchRun;
const { figures, ranges } = medianOf(done.map((r) => r.figures));
console.log(
  `\n${first.bench}: median of ${runs} runs [min – max]; load average (1 min) per run: ${done.map((r) => r.loadAverage[0]).join(', ')}`,
);
report(first.bench, { ...figures, runs }, first.server, ranges);
