/** The renewal policy, table-driven with fixed UTC instants: no Temporal, no clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backoffFor,
  DAY,
  escalationsDue,
  forcedByProfile,
  jitterFraction,
  JITTER_SHARE,
  manualRenewalAllowed,
  MAX_JITTER,
  renewalBackoff,
  renewalPlan,
  windowLength,
  type RenewalSettings,
  type Validity,
} from '../../../src/workflows/policy/renewal.ts';
import type { ExpiryWindow } from '../../../src/contract/shared.ts';

const T0 = Date.UTC(2026, 0, 1); // a UTC midnight: expected values are exact
const days = (n: number): Validity => ({ notBefore: T0, notAfter: T0 + n * DAY });
const settings = (overrides: Partial<RenewalSettings> = {}): RenewalSettings => ({
  expiryWindow: { days: 30 },
  autoRenew: true,
  allowRenewalOutsideWindow: false,
  forceRenewalRequestedAt: null,
  ...overrides,
});

describe('windowLength', () => {
  const cases: Array<{
    name: string;
    validity: Validity;
    window: ExpiryWindow;
    length: number;
    note: string | undefined;
  }> = [
    { name: 'days before expiry', validity: days(397), window: { days: 30 }, length: 30 * DAY, note: undefined },
    {
      name: 'a share of the lifetime',
      validity: days(90),
      window: { fraction: 1 / 3 },
      length: 30 * DAY,
      note: undefined,
    },
    {
      name: 'a window longer than the lifetime, clamped to half of it',
      validity: days(20),
      window: { days: 30 },
      length: 10 * DAY,
      note: 'WindowClamped',
    },
    {
      name: 'a window exactly the lifetime, clamped',
      validity: days(30),
      window: { days: 30 },
      length: 15 * DAY,
      note: 'WindowClamped',
    },
    {
      name: 'zero days, out of range: a third of the lifetime',
      validity: days(90),
      window: { days: 0 },
      length: 30 * DAY,
      note: 'WindowInvalid',
    },
    {
      name: 'a negative share, out of range',
      validity: days(90),
      window: { fraction: -0.5 },
      length: 30 * DAY,
      note: 'WindowInvalid',
    },
    {
      name: 'a share of 1 or more, out of range',
      validity: days(90),
      window: { fraction: 1.2 },
      length: 30 * DAY,
      note: 'WindowInvalid',
    },
    {
      name: 'not a number, out of range',
      validity: days(90),
      window: { days: Number.NaN },
      length: 30 * DAY,
      note: 'WindowInvalid',
    },
  ];
  for (const { name, validity, window, length, note } of cases) {
    it(name, () => assert.deepEqual(windowLength(validity, window), note ? { length, note } : { length }));
  }
});

describe('renewalPlan', () => {
  it('opens the window 30 days before expiry of a 397-day certificate (day 367), jitter only earlier', () => {
    const plan = renewalPlan(days(397), settings(), 'certificate:CERT-1');
    assert.equal(plan.windowOpensAt, T0 + 367 * DAY);
    assert.ok(plan.renewAt <= plan.windowOpensAt);
    assert.ok(plan.windowOpensAt - plan.renewAt <= Math.min(30 * DAY * JITTER_SHARE, MAX_JITTER));
    assert.equal(plan.note, undefined);
  });

  it('truncates to whole seconds', () => {
    const plan = renewalPlan(
      { notBefore: T0, notAfter: T0 + 3 * DAY + 1500 },
      settings({ expiryWindow: { days: 1 } }),
      'k',
    );
    assert.equal(plan.windowOpensAt % 1000, 0);
    assert.equal(plan.renewAt % 1000, 0);
    assert.equal(plan.windowOpensAt, T0 + 2 * DAY + 1000);
  });

  it('still renews, and says so, when the window cannot be met', () => {
    const plan = renewalPlan(days(10), settings({ expiryWindow: { days: 30 } }), 'k');
    assert.equal(plan.note, 'WindowClamped');
    assert.equal(plan.windowOpensAt, T0 + 5 * DAY);
    assert.ok(plan.renewAt >= T0 && plan.renewAt < T0 + 10 * DAY);
  });

  it('plans an expired certificate in the past, so that it renews at once', () => {
    const plan = renewalPlan(days(30), settings({ expiryWindow: { days: 5 } }), 'k');
    const now = T0 + 40 * DAY;
    assert.ok(plan.renewAt < now);
  });

  it('never plans before issuance', () => {
    const tiny: Validity = { notBefore: T0, notAfter: T0 + 10_000 };
    const plan = renewalPlan(tiny, settings({ expiryWindow: { fraction: 0.99 } }), 'k');
    assert.ok(plan.renewAt >= T0);
  });

  it('is the same for the same certificate', () => {
    assert.deepEqual(
      renewalPlan(days(90), settings(), 'certificate:CERT-7'),
      renewalPlan(days(90), settings(), 'certificate:CERT-7'),
    );
  });
});

describe('jitter', () => {
  it('stays in [0, 1) and spreads 200 certificates over their range', () => {
    const fractions = Array.from({ length: 200 }, (_, i) => jitterFraction(`certificate:CERT-${i + 1}`));
    assert.ok(fractions.every((f) => f >= 0 && f < 1));
    const buckets = new Array<number>(10).fill(0);
    for (const f of fractions) buckets[Math.floor(f * 10)]!++;
    assert.ok(Math.min(...buckets) >= 8 && Math.max(...buckets) <= 35, `uneven: ${buckets.join(',')}`);
  });

  it('is bounded by a share of the window and by twelve hours', () => {
    for (let i = 0; i < 100; i++) {
      const short = renewalPlan(days(10), settings({ expiryWindow: { days: 2 } }), `k${i}`);
      assert.ok(short.windowOpensAt - short.renewAt <= 2 * DAY * JITTER_SHARE);
      const long = renewalPlan(days(397), settings({ expiryWindow: { days: 60 } }), `k${i}`);
      assert.ok(long.windowOpensAt - long.renewAt <= MAX_JITTER);
    }
  });
});

describe('manual renewal and force', () => {
  const plan = renewalPlan(days(90), settings(), 'k');
  const cases: Array<{ name: string; settings: Partial<RenewalSettings>; now: number; allowed: boolean }> = [
    { name: 'outside the window', settings: {}, now: T0 + 10 * DAY, allowed: false },
    { name: 'inside the window', settings: {}, now: T0 + 70 * DAY, allowed: true },
    { name: 'after expiry', settings: {}, now: T0 + 95 * DAY, allowed: true },
    {
      name: 'outside the window when the profile allows it',
      settings: { allowRenewalOutsideWindow: true },
      now: T0 + 10 * DAY,
      allowed: true,
    },
  ];
  for (const { name, settings: changed, now, allowed } of cases) {
    it(`manual renewal ${name}: ${allowed}`, () =>
      assert.equal(manualRenewalAllowed(plan, settings(changed), now), allowed));
  }

  const force: Array<{ name: string; obtainedAt: number; forceAt: number | null; now: number; forced: boolean }> = [
    { name: 'no force moment', obtainedAt: T0, forceAt: null, now: T0 + DAY, forced: false },
    {
      name: 'obtained before the moment, moment reached',
      obtainedAt: T0,
      forceAt: T0 + DAY,
      now: T0 + 2 * DAY,
      forced: true,
    },
    { name: 'moment not reached yet', obtainedAt: T0, forceAt: T0 + 5 * DAY, now: T0 + 2 * DAY, forced: false },
    {
      name: 'obtained after the moment (already renewed)',
      obtainedAt: T0,
      forceAt: T0 - DAY,
      now: T0 + 2 * DAY,
      forced: false,
    },
    {
      name: 'obtained in the same second, just after the moment',
      obtainedAt: T0 + 900,
      forceAt: T0 + 500,
      now: T0 + 2 * DAY,
      forced: false,
    },
  ];
  for (const { name, obtainedAt, forceAt, now, forced } of force) {
    it(`profile force renewal, ${name}: ${forced}`, () =>
      assert.equal(forcedByProfile(obtainedAt, settings({ forceRenewalRequestedAt: forceAt }), now), forced));
  }
});

describe('renewal backoff', () => {
  const options = { floor: 5 * 60_000, cap: DAY };
  const cases: Array<{ failures: number; csrChanged: boolean; pauseMs: number }> = [
    { failures: 0, csrChanged: false, pauseMs: 0 },
    { failures: 1, csrChanged: false, pauseMs: 5 * 60_000 },
    { failures: 2, csrChanged: false, pauseMs: 10 * 60_000 },
    { failures: 5, csrChanged: false, pauseMs: 80 * 60_000 },
    { failures: 20, csrChanged: false, pauseMs: DAY },
    { failures: 1000, csrChanged: false, pauseMs: DAY },
    { failures: 3, csrChanged: true, pauseMs: 0 },
  ];
  for (const { failures, csrChanged, pauseMs } of cases) {
    it(`${failures} failures${csrChanged ? ', new CSR' : ''} → ${pauseMs} ms`, () =>
      assert.equal(renewalBackoff(failures, options, csrChanged), pauseMs));
  }
  it('scales for short-lived certificates', () => {
    assert.deepEqual(backoffFor({ notBefore: 0, notAfter: 20_000 }), { floor: 1000, cap: 1000 });
    assert.deepEqual(backoffFor(days(397)), { floor: 5 * 60_000, cap: DAY });
  });
  it('escalates at fixed points before expiry', () => {
    const notAfter = T0 + 90 * DAY;
    assert.deepEqual(escalationsDue(notAfter, notAfter - 20 * DAY), []);
    assert.deepEqual(escalationsDue(notAfter, notAfter - 10 * DAY), [14 * DAY]);
    assert.deepEqual(escalationsDue(notAfter, notAfter - 12 * 3_600_000), [14 * DAY, 7 * DAY, 3 * DAY, DAY]);
  });
});
