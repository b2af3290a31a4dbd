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
  const cases: Array<[string, Validity, ExpiryWindow, number, string | undefined]> = [
    ['days before expiry', days(397), { days: 30 }, 30 * DAY, undefined],
    ['a share of the lifetime', days(90), { fraction: 1 / 3 }, 30 * DAY, undefined],
    ['a window longer than the lifetime, clamped to half of it', days(20), { days: 30 }, 10 * DAY, 'WindowClamped'],
    ['a window exactly the lifetime, clamped', days(30), { days: 30 }, 15 * DAY, 'WindowClamped'],
    ['zero days, out of range: a third of the lifetime', days(90), { days: 0 }, 30 * DAY, 'WindowInvalid'],
    ['a negative share, out of range', days(90), { fraction: -0.5 }, 30 * DAY, 'WindowInvalid'],
    ['a share of 1 or more, out of range', days(90), { fraction: 1.2 }, 30 * DAY, 'WindowInvalid'],
    ['not a number, out of range', days(90), { days: Number.NaN }, 30 * DAY, 'WindowInvalid'],
  ];
  for (const [name, validity, window, length, note] of cases) {
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
  const cases: Array<[string, Partial<RenewalSettings>, number, boolean]> = [
    ['outside the window', {}, T0 + 10 * DAY, false],
    ['inside the window', {}, T0 + 70 * DAY, true],
    ['after expiry', {}, T0 + 95 * DAY, true],
    ['outside the window when the profile allows it', { allowRenewalOutsideWindow: true }, T0 + 10 * DAY, true],
  ];
  for (const [name, overrides, now, expected] of cases) {
    it(`manual renewal ${name}: ${expected}`, () =>
      assert.equal(manualRenewalAllowed(plan, settings(overrides), now), expected));
  }

  const force: Array<[string, number, number | null, number, boolean]> = [
    ['no force moment', T0, null, T0 + DAY, false],
    ['obtained before the moment, moment reached', T0, T0 + DAY, T0 + 2 * DAY, true],
    ['moment not reached yet', T0, T0 + 5 * DAY, T0 + 2 * DAY, false],
    ['obtained after the moment (already renewed)', T0, T0 - DAY, T0 + 2 * DAY, false],
    ['obtained in the same second, just after the moment', T0 + 900, T0 + 500, T0 + 2 * DAY, false],
  ];
  for (const [name, obtainedAt, at, now, expected] of force) {
    it(`profile force renewal, ${name}: ${expected}`, () =>
      assert.equal(forcedByProfile(obtainedAt, settings({ forceRenewalRequestedAt: at }), now), expected));
  }
});

describe('renewal backoff', () => {
  const options = { floor: 5 * 60_000, cap: DAY };
  const cases: Array<[number, boolean, number]> = [
    [0, false, 0],
    [1, false, 5 * 60_000],
    [2, false, 10 * 60_000],
    [5, false, 80 * 60_000],
    [20, false, DAY],
    [1000, false, DAY],
    [3, true, 0],
  ];
  for (const [failures, csrChanged, expected] of cases) {
    it(`${failures} failures${csrChanged ? ', new CSR' : ''} → ${expected} ms`, () =>
      assert.equal(renewalBackoff(failures, options, csrChanged), expected));
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
