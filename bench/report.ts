/**
 * How every benchmark reports: its figures as one JSON line, with the server it measured and the
 * machine's load average at the end of the run, then each figure beside the previous one recorded for the
 * same benchmark and size (bench/results.json). `BENCH_RECORD=1` records this run's figures as the new
 * baseline. Figures are never asserted.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';

export type Figures = { [name: string]: number | Figures };

const resultsFile = new URL('./results.json', import.meta.url);

/**
 * `ranges`, when the figures are medians of several runs: each figure's lowest and highest, printed
 * beside it and given in the JSON line.
 */
export function report(name: string, figures: Figures, server?: string, ranges?: Map<string, number[]>): void {
  const size = figures.certificates;
  const key = typeof size === 'number' ? `${name}@${size}` : name;
  const all = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, Figures>) : {};
  const previous = all[key];
  const load = loadAverage();
  console.log(
    JSON.stringify({
      bench: name,
      ...(server ? { server } : {}),
      loadAverage: load,
      ...figures,
      ...(ranges ? { ranges: Object.fromEntries(ranges) } : {}),
    }),
  );
  if (server) console.log(`  measured on ${server}`);
  console.log(`  load average ${load.join(' ')} (1, 5, 15 min)`);
  for (const [path, value] of flatten(figures)) {
    const before = previous ? flatten(previous).get(path) : undefined;
    const range = ranges?.get(path);
    console.log(
      `  ${path.padEnd(40)} ${String(value).padStart(10)}` +
        (range ? `  [${range.join(' – ')}]` : '') +
        (before === undefined ? '' : `   (previous ${before})`),
    );
  }
  if (process.env.BENCH_RECORD === '1') {
    all[key] = figures;
    writeFileSync(resultsFile, JSON.stringify(all, null, 2) + '\n');
    console.log(`  recorded as the baseline of ${key} in bench/results.json`);
  }
}

export function flatten(figures: Figures, prefix = ''): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of Object.entries(figures)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (typeof value === 'number') out.set(path, value);
    else for (const [p, v] of flatten(value, path)) out.set(p, v);
  }
  return out;
}

/** The 1-, 5- and 15-minute load averages, to two places. */
export function loadAverage(): number[] {
  return loadavg().map((n) => Number(n.toFixed(2)));
}

/**
 * Several runs' figures as one: each figure the median of the runs, with the lowest and highest beside it
 * (`ranges`, by the figure's dotted path). The load average of each run is one of the figures if the run
 * recorded it.
 */
export function medianOf(runs: Figures[]): { figures: Figures; ranges: Map<string, number[]> } {
  const figures: Figures = {};
  const ranges = new Map<string, number[]>();
  const flat = runs.map((run) => flatten(run));
  for (const path of (flat[0] ?? new Map<string, number>()).keys()) {
    const values = flat.map((run) => run.get(path) ?? Number.NaN).sort((a, b) => a - b);
    const mid = Math.floor(values.length / 2);
    const median = values.length % 2 ? values[mid] : ((values[mid - 1] ?? 0) + (values[mid] ?? 0)) / 2;
    ranges.set(path, [values[0] ?? Number.NaN, values.at(-1) ?? Number.NaN]);
    const parts = path.split('.');
    let at = figures;
    for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Figures;
    at[parts.at(-1) ?? path] = Number((median ?? Number.NaN).toFixed(3));
  }
  return { figures, ranges };
}

/** One run of a benchmark, as its JSON line gave it. */
export interface BenchRun {
  bench: string;
  server?: string;
  loadAverage: number[];
  figures: Figures;
}

/**
 * Runs one benchmark as a process of its own (its output passed through), with `env` over this process's
 * environment (undefined values removed), and answers the figures of its JSON line; never records them.
 */
export async function runBench(
  script: string,
  args: string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<BenchRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, BENCH_RECORD: '0' };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    process.stdout.write(chunk);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const line = out.split('\n').find((l) => l.startsWith('{"bench"'));
  if (code !== 0 || !line) throw new Error(`${script} ${args.join(' ')} failed (exit ${String(code)})`);
  const { bench, server, loadAverage, ranges: _, ...figures } = JSON.parse(line) as BenchRun & Figures;
  return { bench, server, loadAverage, figures: figures };
}

/** SCM requests between two readings of the emulator's stats, per certificate, by operation. */
export function requestsPer(
  certificates: number,
  before: { byOperation: Record<string, number> },
  after: { byOperation: Record<string, number> },
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after.byOperation).map(([operation, n]) => [
      operation,
      Number(((n - (before.byOperation[operation] ?? 0)) / certificates).toFixed(2)),
    ]),
  );
}
