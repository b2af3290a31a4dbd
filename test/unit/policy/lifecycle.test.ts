/** The certificate workflow's decision, table-driven: state and a fixed instant in, one named action out. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RenewRequest, RevokeRequest, ScmObservation } from '../../../src/contract/certificate.ts';
import { decide, type Decision, type LifecycleState } from '../../../src/workflows/policy/lifecycle.ts';
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
const asked: RenewRequest = { requestedBy: 'alice', requestId: 'changelog:7' };
const forced: RenewRequest = { ...asked, force: true };
const revocation: RevokeRequest = { reasonCode: 1, requestedBy: 'alice' };
const replaced: ScmObservation = { certificateId: 5000, status: 'Replaced' };
const base: LifecycleState = {
  phase: 'Active',
  current,
  settings,
  plan,
  stale: false,
  profileMissing: false,
  request: undefined,
  observation: undefined,
  revocation: undefined,
  nextAttemptAt: 0,
  renewalFailures: 0,
  escalated: [],
};

describe('the lifecycle decision', () => {
  /** Each row: the state (changed from `base`), the instant, and the action and reason decided. */
  const cases: Array<{
    name: string;
    state: Partial<LifecycleState>;
    at: number;
    expect: Pick<Decision, 'action' | 'reason'>;
  }> = [
    {
      name: 'a revocation, before all else',
      state: { revocation, request: asked, stale: true },
      at: plan.renewAt,
      expect: { action: 'revoke', reason: 'RevocationRequested' },
    },
    {
      name: 'no plan yet',
      state: { settings: undefined, plan: undefined },
      at: T0,
      expect: { action: 'plan', reason: 'NoPlanYet' },
    },
    { name: 'a profile change', state: { stale: true }, at: T0, expect: { action: 'plan', reason: 'ProfileChanged' } },
    {
      name: 'a missing profile',
      state: { profileMissing: true },
      at: T0,
      expect: { action: 'wait', reason: 'ProfileMissing' },
    },
    {
      name: 'a missing profile, changed since',
      state: { profileMissing: true, stale: true },
      at: T0,
      expect: { action: 'plan', reason: 'ProfileChanged' },
    },
    {
      name: 'news from SCM',
      state: { observation: replaced },
      at: T0,
      expect: { action: 'reconcile', reason: 'ChangedInScm' },
    },
    {
      name: 'a request outside the window',
      state: { request: asked },
      at: T0 + DAY,
      expect: { action: 'refuse', reason: 'OutsideWindow' },
    },
    {
      name: 'a request inside the window',
      state: { request: asked },
      at: plan.windowOpensAt,
      expect: { action: 'renew', reason: 'Requested' },
    },
    {
      name: 'a forced request outside the window',
      state: { request: forced },
      at: T0 + DAY,
      expect: { action: 'renew', reason: 'Forced' },
    },
    {
      name: 'a request where the profile allows renewal anywhere',
      state: { request: asked, settings: { ...settings, allowRenewalOutsideWindow: true } },
      at: T0 + DAY,
      expect: { action: 'renew', reason: 'Requested' },
    },
    {
      name: "the profile's force moment reached",
      state: { settings: { ...settings, forceRenewalRequestedAt: T0 + 5 * DAY } },
      at: T0 + 5 * DAY,
      expect: { action: 'renew', reason: 'ForcedByProfile' },
    },
    { name: 'the renewal moment', state: {}, at: plan.renewAt, expect: { action: 'renew', reason: 'RenewalDue' } },
    {
      name: 'the renewal moment, backing off',
      state: { nextAttemptAt: plan.renewAt + DAY, phase: 'RenewalDue' },
      at: plan.renewAt + 1,
      expect: { action: 'wait', reason: 'Waiting' },
    },
    {
      name: 'the window, auto-renewal off',
      state: { settings: { ...settings, autoRenew: false } },
      at: plan.windowOpensAt,
      expect: { action: 'openWindow', reason: 'WindowOpened' },
    },
    {
      name: 'expiry, auto-renewal off',
      state: { settings: { ...settings, autoRenew: false }, phase: 'RenewalDue' },
      at: current.notAfter,
      expect: { action: 'markExpired', reason: 'Expired' },
    },
    {
      name: 'failing renewal 14 days before expiry',
      state: { phase: 'RenewalDue', renewalFailures: 2, nextAttemptAt: current.notAfter },
      at: current.notAfter - 14 * DAY,
      expect: { action: 'escalate', reason: 'RenewalFailing' },
    },
    {
      name: 'failing renewal, already escalated',
      state: { phase: 'RenewalDue', renewalFailures: 2, nextAttemptAt: current.notAfter, escalated: [14 * DAY] },
      at: current.notAfter - 14 * DAY,
      expect: { action: 'wait', reason: 'Waiting' },
    },
    { name: 'nothing to do', state: {}, at: T0 + DAY, expect: { action: 'wait', reason: 'Waiting' } },
  ];
  for (const { name, state, at, expect } of cases) {
    it(`${name} → ${expect.action} (${expect.reason})`, () => {
      const decision = decide({ ...base, ...state }, at);
      assert.equal(decision.action, expect.action);
      assert.equal(decision.reason, expect.reason);
    });
  }

  it('hands over what it acts on: the revocation, the request, the news from SCM', () => {
    assert.deepEqual(decide({ ...base, revocation, request: asked }, T0), {
      action: 'revoke',
      reason: 'RevocationRequested',
      revocation,
    });
    assert.deepEqual(decide({ ...base, request: forced }, T0 + DAY), {
      action: 'renew',
      reason: 'Forced',
      request: forced,
    });
    assert.deepEqual(decide({ ...base, request: asked }, T0 + DAY), {
      action: 'refuse',
      reason: 'OutsideWindow',
      request: asked,
    });
    assert.deepEqual(decide({ ...base, observation: replaced }, T0), {
      action: 'reconcile',
      reason: 'ChangedInScm',
      observation: replaced,
    });
  });

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
