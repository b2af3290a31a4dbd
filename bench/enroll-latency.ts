/**
 * `npm run bench`: time from the "Enroll Certificate" transition to the PEM attached on the issue, in the
 * sandbox (real dev server, emulators on loopback, zero CA delay). Prints median, p90, min and max.
 */
import { startWorld } from '../test/helpers/environment.ts';
import { generateCsr } from '../src/sandbox/requester.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const world = await startWorld({ scm: { issuanceDelayMs: 0 } });
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
  const ms = (n: number) => `${n.toFixed(0)} ms`;
  console.log(`enroll → PEM attached, ${samples.length} runs, CA delay 0:`);
  console.log(
    `  median ${ms(at(0.5))}  p90 ${ms(at(0.9))}  min ${ms(samples[0] ?? Number.NaN)}  max ${ms(samples.at(-1) ?? Number.NaN)}`,
  );
} finally {
  await world.teardown();
}
