/**
 * Seeded fault schedules on every change: seven seeds, ten steps each, every invariant checked against
 * SCM's and Jira's own records (test/e2e/chaos/harness.ts). Seed 6 crashes the Temporal server three times,
 * once while a "Revoke Certificate" issue is under way; seed 9 crashes it and kills a worker process;
 * seed 4 polls Jira instead of taking its webhooks.
 * `npm run chaos` runs many more.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeStep, runSchedule, schedule } from './harness.ts';

describe('seeded fault schedules', () => {
  it('draws the same schedule from the same seed, and another from another', () => {
    assert.deepEqual(schedule(7, 20), schedule(7, 20));
    assert.notDeepEqual(schedule(7, 20), schedule(8, 20));
    assert.equal(schedule(7, 20)[0]?.kind, 'request', 'a schedule starts with something to act on');
  });

  for (const seed of [1, 2, 3, 4, 5, 6, 9]) {
    it(`holds every invariant under seed ${seed}`, async () => {
      const outcome = await runSchedule(seed, 10);
      assert.deepEqual(
        outcome.violations,
        [],
        `schedule: ${outcome.steps.map(describeStep).join(', ')}\nreproduce: npm run chaos -- --seed ${seed} --steps 10`,
      );
    });
  }
});
