/**
 * When to renew, as pure functions of a certificate's validity, its profile's settings and `now`.
 * No clock, no randomness, no I/O: the workflow calls them with workflow time, the tests with fixed
 * UTC instants. Instants and durations are epoch milliseconds.
 */
import type { ExpiryWindow } from '../../contract/shared.ts';

export interface Validity {
  notBefore: number;
  notAfter: number;
}

export interface RenewalSettings {
  /** How long before expiry the renewal window opens: whole days, or a share of the lifetime. */
  expiryWindow: ExpiryWindow;
  autoRenew: boolean;
  allowRenewalOutsideWindow: boolean;
  /** Renew, once, every certificate issued before this instant (and not before it is reached). */
  forceRenewalRequestedAt: number | null;
}

export const DAY = 86_400_000;
/** Renewals of certificates expiring together are spread over up to this share of the window… */
export const JITTER_SHARE = 0.2;
/** …and never over more than this. */
export const MAX_JITTER = 12 * 3_600_000;

export type RenewalNote = 'WindowClamped' | 'WindowInvalid';

export interface RenewalPlan {
  /** The renewal window opens here: renewal is allowed from now on, and due. */
  windowOpensAt: number;
  /** When automatic renewal happens: the window's opening, moved earlier by this certificate's jitter. */
  renewAt: number;
  /** Set when the configured window could not be used as is (the plan still renews, and says why). */
  note?: RenewalNote;
}

/**
 * The window's length for this certificate. A window at least as long as the lifetime cannot be met:
 * it is clamped so that renewal happens halfway through the lifetime (and says so). Out-of-range values
 * (zero, negative, not finite) fall back to a third of the lifetime, the way cert-manager does.
 */
export function windowLength(
  { notBefore, notAfter }: Validity,
  window: ExpiryWindow,
): { length: number; note?: RenewalNote } {
  const lifetime = Math.max(0, notAfter - notBefore);
  const requested = 'days' in window ? window.days * DAY : window.fraction * lifetime;
  if (!Number.isFinite(requested) || requested <= 0 || ('fraction' in window && window.fraction >= 1)) {
    return { length: Math.floor(lifetime / 3), note: 'WindowInvalid' };
  }
  if (requested >= lifetime) return { length: Math.floor(lifetime / 2), note: 'WindowClamped' };
  return { length: requested };
}

/**
 * A stable fraction in [0, 1) for a certificate: the same key always gives the same jitter, so a
 * recomputed plan equals the stored one, and certificates expiring together spread out. FNV-1a, then
 * MurmurHash3's finaliser: keys differing only in their last characters still land far apart.
 */
export function jitterFraction(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  hash ^= hash >>> 16;
  return (hash >>> 0) / 0x1_0000_0000;
}

/** Truncated to whole seconds: a stored instant and a recomputed one compare equal. */
const toSecond = (ms: number) => Math.floor(ms / 1000) * 1000;

/** The renewal plan of a certificate; `jitterKey` identifies the certificate (its workflow id). */
export function renewalPlan(
  validity: Validity,
  settings: Pick<RenewalSettings, 'expiryWindow'>,
  jitterKey: string,
): RenewalPlan {
  const { length, note } = windowLength(validity, settings.expiryWindow);
  const windowOpensAt = toSecond(validity.notAfter - length);
  const jitter = Math.min(length * JITTER_SHARE, MAX_JITTER) * jitterFraction(jitterKey);
  const renewAt = Math.max(toSecond(windowOpensAt - jitter), validity.notBefore);
  return note ? { windowOpensAt, renewAt, note } : { windowOpensAt, renewAt };
}

/** Whether a person may renew now: inside the window, past expiry, or anywhere when the profile allows it. */
export function manualRenewalAllowed(plan: RenewalPlan, settings: RenewalSettings, now: number): boolean {
  return settings.allowRenewalOutsideWindow || now >= plan.windowOpensAt;
}

/**
 * Whether the profile's force-renewal moment covers a certificate obtained at `obtainedAt`, now. Compared
 * with when the certificate was obtained, not its notBefore: CAs backdate notBefore (SCM's emulator to
 * the second), and a certificate renewed because of the moment must never count as issued before it.
 */
export function forcedByProfile(
  obtainedAt: number,
  settings: Pick<RenewalSettings, 'forceRenewalRequestedAt'>,
  now: number,
): boolean {
  const at = settings.forceRenewalRequestedAt;
  return at !== null && at <= now && obtainedAt < at;
}

export interface BackoffOptions {
  floor: number;
  cap: number;
}

/**
 * How long to wait after `failures` consecutive failed renewals: floor × 2^(failures − 1), capped, and
 * never past expiry's eve. None when the CSR changed since the last attempt: a fix is tried at once.
 */
export function renewalBackoff(failures: number, options: BackoffOptions, csrChanged: boolean): number {
  if (csrChanged || failures <= 0) return 0;
  return Math.min(options.cap, options.floor * 2 ** Math.min(failures - 1, 30));
}

/** Default backoff for a certificate: scaled down for short-lived ones so that retries fit before expiry. */
export function backoffFor({ notBefore, notAfter }: Validity): BackoffOptions {
  const lifetime = notAfter - notBefore;
  return {
    floor: Math.min(5 * 60_000, Math.max(1000, lifetime / 200)),
    cap: Math.min(DAY, Math.max(1000, lifetime / 20)),
  };
}

/** Points before expiry at which a failing renewal is escalated in Jira, largest first. */
export const ESCALATIONS = [14 * DAY, 7 * DAY, 3 * DAY, DAY] as const;

/** The escalation points already reached at `now` (for a certificate that has not renewed). */
export function escalationsDue(notAfter: number, now: number): number[] {
  return ESCALATIONS.filter((before) => now >= notAfter - before);
}
