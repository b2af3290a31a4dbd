/**
 * `node bench/repeat.ts N bench/<name>.ts [args]`: runs one benchmark N times (at least 3 for a figure
 * to record), one process after another, and reports each figure as the median of the runs with its
 * range, the load average of each run beside them. `BENCH_RECORD=1` records the medians as the baseline;
 * the single runs never do.
 */
import { spawn } from 'node:child_process';
import { medianOf, report, type Figures } from './report.ts';

const [runsArg, script, ...args] = process.argv.slice(2);
const runs = Number(runsArg);
if (!Number.isInteger(runs) || runs < 1 || !script) {
  console.error('usage: node bench/repeat.ts N bench/<name>.ts [args]');
  process.exit(2);
}
const benchScript: string = script;

interface Run {
  bench: string;
  server?: string;
  loadAverage: number[];
  figures: Figures;
}

async function runOnce(i: number): Promise<Run> {
  const child = spawn(process.execPath, [benchScript, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_RECORD: '0' },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    process.stdout.write(chunk);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = out.split('\n').find((l) => l.startsWith('{"bench"'));
  if (code !== 0 || !line) throw new Error(`run ${i + 1} of ${benchScript} failed (exit ${String(code)})`);
  const { bench, server, loadAverage, ranges: _, ...figures } = JSON.parse(line) as Run & Figures;
  return { bench, server, loadAverage, figures: figures };
}

const done: Run[] = [];
for (let i = 0; i < runs; i++) done.push(await runOnce(i));

const first = done[0] as Run;
const { figures, ranges } = medianOf(done.map((r) => r.figures));
console.log(
  `\n${first.bench}: median of ${runs} runs [min – max]; load average (1 min) per run: ${done.map((r) => r.loadAverage[0]).join(', ')}`,
);
report(first.bench, { ...figures, runs }, first.server, ranges);
