/**
 * `npm run bench:revoke`: time from the "Revoke Certificate" transition to the connector's comment on the
 * issue, in the sandbox (real dev server, emulators on loopback). Prints the median of RUNS (default 10)
 * and the spread, as JSON and as a row for docs/benchmarks.md.
 */
import { report } from './report.ts';
import { adfToText } from '../src/jira/adf.ts';
import { generateCsr } from '../src/sandbox/requester.ts';
import { armTimeout, startBenchWorld } from './world.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
armTimeout('revoke-latency', 600);
const world = await startBenchWorld({ scm: { issuanceDelayMs: 0 } });
const fields = (key: string) =>
  world.sandbox.jiraEmulator.issue(key).fields as {
    attachment: unknown[];
    comment: { comments: Array<{ body: unknown }> };
  };
const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 2));
};

try {
  const samples: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const { csr } = await generateCsr(`revoke-bench-${i}.example.com`, 'ec');
    const key = await world.alice.createCertificateIssue({ profile: 'OV Server Certificate', csr });
    await world.alice.transition(key, 'Enroll Certificate');
    await until(() => fields(key).attachment.length > 0);
    const started = performance.now();
    await world.alice.revoke(key, 'Superseded');
    await until(() => fields(key).comment.comments.some((c) => adfToText(c.body).includes('revoked on')));
    // The first run warms the worker's caches and connections; it is not counted.
    if (i > 0) samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  const figures = {
    runs: samples.length,
    medianMs: Math.round(at(0.5)),
    minMs: Math.round(samples[0] ?? Number.NaN),
    maxMs: Math.round(samples.at(-1) ?? Number.NaN),
  };
  report('revoke-latency', figures, world.server);
  console.log(
    `| "Revoke Certificate" → comment | ${figures.runs} runs | median ${figures.medianMs} ms, min ${figures.minMs} ms, max ${figures.maxMs} ms |`,
  );
} finally {
  await world.teardown();
}
