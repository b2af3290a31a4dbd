/**
 * How every benchmark reports: its figures as one JSON line, then each figure beside the previous one
 * recorded for the same benchmark and size (bench/results.json). `BENCH_RECORD=1` records this run's
 * figures as the new baseline. Figures are never asserted.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

type Figures = { [name: string]: number | Figures };

const resultsFile = new URL('./results.json', import.meta.url);

export function report(name: string, figures: Figures): void {
  const size = figures.certificates;
  const key = typeof size === 'number' ? `${name}@${size}` : name;
  const all = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Record<string, Figures>) : {};
  const previous = all[key];
  console.log(JSON.stringify({ bench: name, ...figures }));
  for (const [path, value] of flatten(figures)) {
    const before = previous ? flatten(previous).get(path) : undefined;
    console.log(
      `  ${path.padEnd(40)} ${String(value).padStart(10)}${before === undefined ? '' : `   (previous ${before})`}`,
    );
  }
  if (process.env.BENCH_RECORD === '1') {
    all[key] = figures;
    writeFileSync(resultsFile, JSON.stringify(all, null, 2) + '\n');
    console.log(`  recorded as the baseline of ${key} in bench/results.json`);
  }
}

function flatten(figures: Figures, prefix = ''): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of Object.entries(figures)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (typeof value === 'number') out.set(path, value);
    else for (const [p, v] of flatten(value, path)) out.set(p, v);
  }
  return out;
}
