/**
 * The patch register (src/workflows/patches.ts) against the workflow code: every patch the code calls is
 * registered at the stage the code is in, and no patch outlives its date. When one does, this test says
 * what to do: prove with the register's query that no run holds it at its stage, then move it on.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { PATCHES, runsHolding, type Patch } from '../../src/workflows/patches.ts';

const workflows = fileURLToPath(new URL('../../src/workflows/', import.meta.url));

/** Each patch id the workflow code calls, with how: `patched` or `deprecatePatch`. */
function patchCalls(): Map<string, Set<'patched' | 'deprecated'>> {
  const calls = new Map<string, Set<'patched' | 'deprecated'>>();
  const files = readdirSync(workflows, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const code = readFileSync(join(workflows, file), 'utf8');
    for (const [, how, id] of code.matchAll(/\b(patched|deprecatePatch)\('([^']+)'\)/g)) {
      if (!id) continue;
      const ways = calls.get(id) ?? new Set();
      ways.add(how === 'patched' ? 'patched' : 'deprecated');
      calls.set(id, ways);
    }
  }
  return calls;
}

/** What moving `patch` on takes, in words for whoever meets the failure. */
function nextStep(patch: Patch): string {
  const move =
    patch.stage === 'patched'
      ? `replace patched('${patch.id}') and its old branch with deprecatePatch('${patch.id}')`
      : `remove deprecatePatch('${patch.id}')`;
  return `${patch.id} (${patch.workflow}, due ${patch.due}): when \`temporal workflow count --query "${runsHolding(patch)}"\` answers 0 on every namespace, ${move} and move it on in the register; otherwise give it a later date and say why`;
}

describe('the patch register', () => {
  it('registers every patch the workflows call, at the stage the code is in', () => {
    const calls = patchCalls();
    for (const id of calls.keys())
      assert.ok(
        PATCHES.some((p) => p.id === id),
        `${id} is not in the register`,
      );
    for (const patch of PATCHES) {
      const ways = [...(calls.get(patch.id) ?? [])];
      const expected = patch.stage === 'removed' ? [] : [patch.stage];
      assert.deepEqual(ways, expected, `${patch.id} is registered as ${patch.stage}`);
    }
  });

  it('has no patch past its date', () => {
    const today = new Date().toISOString().slice(0, 10);
    const overdue = PATCHES.filter((p) => p.stage !== 'removed' && p.due < today);
    assert.deepEqual(overdue.map(nextStep), []);
  });

  it('dates each patch in order: introduced, deprecated, due', () => {
    for (const patch of PATCHES) {
      assert.ok(patch.introduced <= patch.due, patch.id);
      if (patch.stage === 'deprecated') assert.ok(patch.deprecated && patch.introduced <= patch.deprecated, patch.id);
    }
  });
});
