/**
 * `npm run chaos -- [--seed N] [--seeds K] [--steps S]`: runs seeded fault schedules (test/e2e/chaos/harness.ts)
 * and reports, for each seed, its schedule when an invariant failed. `--seed N` reproduces one seed; by
 * default seeds 1 to K (10) run, S (12) steps each. Exits 1 on any violation.
 */
import { parseArgs } from 'node:util';
import { describeStep, runSchedule, schedule, triggerOf } from './harness.ts';

const { values } = parseArgs({
  options: { seed: { type: 'string' }, seeds: { type: 'string' }, steps: { type: 'string' } },
});
const steps = Number(values.steps ?? 12);
const seeds =
  values.seed !== undefined
    ? [Number(values.seed)]
    : Array.from({ length: Number(values.seeds ?? 10) }, (_, i) => i + 1);
let violations = 0;
let renewals = 0;
for (const seed of seeds) {
  const outcome = await runSchedule(seed, steps).catch((err: unknown) => ({
    steps: schedule(seed, steps),
    violations: [`the schedule could not be run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`],
    automaticRenewals: 0,
  }));
  violations += outcome.violations.length;
  renewals += outcome.automaticRenewals;
  const verdict = outcome.violations.length === 0 ? 'ok' : `${outcome.violations.length} violation(s)`;
  console.log(
    `seed ${seed} (${triggerOf(seed)}): ${steps} steps, ${outcome.automaticRenewals} automatic renewal(s), ${verdict}`,
  );
  if (outcome.violations.length > 0) {
    console.log(`  schedule: ${outcome.steps.map(describeStep).join(', ')}`);
    for (const v of outcome.violations) console.log(`  - ${v}`);
    console.log(`  reproduce: npm run chaos -- --seed ${seed} --steps ${steps}`);
  }
}
console.log(
  `${seeds.length} schedules, ${seeds.length * steps} steps, ${renewals} automatic renewals: ${violations} violations`,
);
process.exitCode = violations > 0 ? 1 : 0;
