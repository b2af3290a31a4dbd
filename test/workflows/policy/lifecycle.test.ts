/** The certificate workflow's decision, table-driven: state and a fixed instant in, one named action out. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, type LifecycleState } from '../../../src/workflows/policy/lifecycle.ts';
import { DAY, renewalPlan, type RenewalSettings } from '../../../src/workflows/policy/renewal.ts';

const T0 = Date.UTC(2026, 0, 1);
const current = { notBefore: T0, notAfter: T0 + 90 * DAY, obtainedAt: T0 };
const settings: RenewalSettings = {
  expiryWindow: { days: 30 },
  autoRenew: true,
  allowRenewalOutsideWindow: false,
  forceRenewalRequestedAt: null,
};
const plan = renewalPlan(current, settings, 'certificate:CERT-1');
const base: LifecycleState = {
  phase: 'Active',
  current,
  settings,
  plan,
  stale: false,
  profileMissing: false,
  request: undefined,
  observation: false,
  revocation: false,
  nextAttemptAt: 0,
  renewalFailures: 0,
  escalated: [],
};

describe('the lifecycle decision', () => {
  const cases: Array<[string, Partial<LifecycleState>, number, string, string]> = [
    [
      'a revocation, before all else',
      { revocation: true, request: {}, stale: true },
      plan.renewAt,
      'revoke',
      'RevocationRequested',
    ],
    ['no plan yet', { settings: undefined, plan: undefined }, T0, 'plan', 'NoPlanYet'],
    ['a profile change', { stale: true }, T0, 'plan', 'ProfileChanged'],
    ['a missing profile', { profileMissing: true }, T0, 'wait', 'ProfileMissing'],
    ['a missing profile, changed since', { profileMissing: true, stale: true }, T0, 'plan', 'ProfileChanged'],
    ['news from SCM', { observation: true }, T0, 'reconcile', 'ChangedInScm'],
    ['a request outside the window', { request: {} }, T0 + DAY, 'refuse', 'OutsideWindow'],
    ['a request inside the window', { request: {} }, plan.windowOpensAt, 'renew', 'Requested'],
    ['a forced request outside the window', { request: { force: true } }, T0 + DAY, 'renew', 'Forced'],
    [
      'a request where the profile allows renewal anywhere',
      { request: {}, settings: { ...settings, allowRenewalOutsideWindow: true } },
      T0 + DAY,
      'renew',
      'Requested',
    ],
    [
      "the profile's force moment reached",
      { settings: { ...settings, forceRenewalRequestedAt: T0 + 5 * DAY } },
      T0 + 5 * DAY,
      'renew',
      'ForcedByProfile',
    ],
    ['the renewal moment', {}, plan.renewAt, 'renew', 'RenewalDue'],
    [
      'the renewal moment, backing off',
      { nextAttemptAt: plan.renewAt + DAY, phase: 'RenewalDue' },
      plan.renewAt + 1,
      'wait',
      'Waiting',
    ],
    [
      'the window, auto-renewal off',
      { settings: { ...settings, autoRenew: false } },
      plan.windowOpensAt,
      'openWindow',
      'WindowOpened',
    ],
    [
      'expiry, auto-renewal off',
      { settings: { ...settings, autoRenew: false }, phase: 'RenewalDue' },
      current.notAfter,
      'markExpired',
      'Expired',
    ],
    [
      'failing renewal 14 days before expiry',
      { phase: 'RenewalDue', renewalFailures: 2, nextAttemptAt: current.notAfter },
      current.notAfter - 14 * DAY,
      'escalate',
      'RenewalFailing',
    ],
    [
      'failing renewal, already escalated',
      { phase: 'RenewalDue', renewalFailures: 2, nextAttemptAt: current.notAfter, escalated: [14 * DAY] },
      current.notAfter - 14 * DAY,
      'wait',
      'Waiting',
    ],
    ['nothing to do', {}, T0 + DAY, 'wait', 'Waiting'],
  ];
  for (const [label, change, now, action, reason] of cases) {
    it(`${label} → ${action} (${reason})`, () => {
      const decision = decide({ ...base, ...change }, now);
      assert.equal(decision.action, action);
      assert.equal(decision.reason, reason);
    });
  }

  it('waits until the next moment that matters, and without a timer when only a message can help', () => {
    const waiting = decide(base, T0 + DAY);
    assert.equal(waiting.action === 'wait' && waiting.until, plan.renewAt);
    const off = decide(
      { ...base, settings: { ...settings, autoRenew: false }, phase: 'Expired' },
      current.notAfter + DAY,
    );
    assert.equal(off.action === 'wait' && off.until, undefined);
  });
});
