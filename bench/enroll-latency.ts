/**
 * `npm run bench`: time from the "Enroll Certificate" transition to the PEM attached on the issue, in the
 * sandbox (real dev server, emulators on loopback, zero CA delay): median, p90, min and max.
 */
import { report } from './report.ts';
import { armTimeout, startBenchWorld } from './world.ts';
import { generateCsr } from '../src/sandbox/requester.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
armTimeout('enroll-latency', 600);
const world = await startBenchWorld({ scm: { issuanceDelayMs: 0 } });
const attached = (key: string) =>
  (world.sandbox.jiraEmulator.issue(key).fields as { attachment: unknown[] }).attachment.length > 0;

try {
  const samples: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const domain = `bench-${i}.example.com`;
    const { csr } = await generateCsr(domain, 'ec');
    const key = await world.alice.createCertificateIssue({ profile: 'OV Server Certificate', csr });
    const started = performance.now();
    await world.alice.transition(key, 'Enroll Certificate');
    while (!attached(key)) await new Promise((resolve) => setTimeout(resolve, 2));
    // The first run warms the worker's caches and connections; it is not counted.
    if (i > 0) samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  report(
    'enroll-latency',
    {
      runs: samples.length,
      medianMs: Math.round(at(0.5)),
      p90Ms: Math.round(at(0.9)),
      minMs: Math.round(samples[0] ?? Number.NaN),
      maxMs: Math.round(samples.at(-1) ?? Number.NaN),
    },
    world.server,
  );
} finally {
  await world.teardown();
}
