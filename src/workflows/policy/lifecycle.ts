/**
 * What an issued certificate's workflow does next, as one pure function of its state and `now`: the
 * next action and, when there is nothing to do, the next instant at which time alone changes that.
 * Each reason to act has a name, the way cert-manager's policy chain names each reason to reissue, so
 * the workflow, its tests and the Web UI speak of the same things.
 */
import type { RenewRequest, RevokeRequest, ScmObservation } from '../../contract/certificate.ts';
import type { CertificatePhase } from '../../contract/shared.ts';
import {
  escalationsDue,
  forcedByProfile,
  manualRenewalAllowed,
  type RenewalPlan,
  type RenewalSettings,
} from './renewal.ts';

export interface CertificateView {
  notBefore: number;
  notAfter: number;
  /** When the workflow obtained it (workflow time). */
  obtainedAt: number;
}

/** What the decision reads; the workflow keeps it up to date. */
export interface LifecycleState {
  phase: CertificatePhase;
  current: CertificateView;
  /** Undefined until the profile has been read (and while it is missing). */
  settings: RenewalSettings | undefined;
  plan: RenewalPlan | undefined;
  /** The profile or the CSR may have changed: read the profile and plan again. */
  stale: boolean;
  /** The profile was not found when last read: nothing is planned until it is back. */
  profileMissing: boolean;
  /** A person's or operator's renewal request, waiting for the workflow to be free. */
  request: RenewRequest | undefined;
  /** News from the daily sweep about the order in SCM. */
  observation: ScmObservation | undefined;
  /** A revocation was asked for: it comes before anything else. */
  revocation: RevokeRequest | undefined;
  /** No automatic or profile-forced attempt before this instant (backoff after a failure). */
  nextAttemptAt: number;
  renewalFailures: number;
  /** Escalation points (ms before expiry) already told on the issue. */
  escalated: readonly number[];
}

/** The named reasons to act, each with what it acts on. */
export type Decision =
  | { action: 'revoke'; reason: 'RevocationRequested'; revocation: RevokeRequest }
  | { action: 'plan'; reason: 'NoPlanYet' | 'ProfileChanged' }
  | { action: 'reconcile'; reason: 'ChangedInScm'; observation: ScmObservation }
  | { action: 'renew'; reason: 'Requested' | 'Forced'; request: RenewRequest }
  | { action: 'renew'; reason: 'ForcedByProfile' | 'RenewalDue' }
  | { action: 'refuse'; reason: 'OutsideWindow'; request: RenewRequest }
  | { action: 'markExpired'; reason: 'Expired' }
  | { action: 'openWindow'; reason: 'WindowOpened' }
  | { action: 'escalate'; reason: 'RenewalFailing'; points: number[] }
  | { action: 'wait'; reason: 'Waiting' | 'ProfileMissing'; until: number | undefined };

/** The next thing to do; `wait` carries the next instant that matters (undefined: only a message can). */
export function decide(state: LifecycleState, now: number): Decision {
  const { current, settings, plan } = state;
  if (state.revocation) return { action: 'revoke', reason: 'RevocationRequested', revocation: state.revocation };
  if (state.stale) return { action: 'plan', reason: 'ProfileChanged' };
  if (state.profileMissing) return { action: 'wait', reason: 'ProfileMissing', until: undefined };
  if (!settings || !plan) return { action: 'plan', reason: 'NoPlanYet' };
  if (state.observation) return { action: 'reconcile', reason: 'ChangedInScm', observation: state.observation };

  const { request } = state;
  if (request) {
    if (request.force) return { action: 'renew', reason: 'Forced', request };
    if (!manualRenewalAllowed(plan, settings, now)) return { action: 'refuse', reason: 'OutsideWindow', request };
    return { action: 'renew', reason: 'Requested', request };
  }
  if (forcedByProfile(current.obtainedAt, settings, now) && now >= state.nextAttemptAt) {
    return { action: 'renew', reason: 'ForcedByProfile' };
  }
  if (settings.autoRenew && now >= Math.max(plan.renewAt, state.nextAttemptAt)) {
    return { action: 'renew', reason: 'RenewalDue' };
  }

  if (now >= current.notAfter) {
    if (state.phase !== 'Expired') return { action: 'markExpired', reason: 'Expired' };
  } else if (now >= plan.windowOpensAt) {
    if (state.phase !== 'RenewalDue') return { action: 'openWindow', reason: 'WindowOpened' };
    if (state.renewalFailures > 0) {
      const points = escalationsDue(current.notAfter, now).filter((p) => !state.escalated.includes(p));
      if (points.length > 0) return { action: 'escalate', reason: 'RenewalFailing', points };
    }
  }
  return { action: 'wait', reason: 'Waiting', until: nextWake(state, plan, settings, now) };
}

/** The next instant at which time alone changes the decision, or undefined when only a message can. */
export function nextWake(
  state: Pick<LifecycleState, 'current' | 'nextAttemptAt'>,
  plan: RenewalPlan,
  settings: RenewalSettings,
  now: number,
): number | undefined {
  const { current } = state;
  const moments = [plan.windowOpensAt, current.notAfter];
  if (settings.autoRenew) moments.push(Math.max(plan.renewAt, state.nextAttemptAt));
  if (settings.forceRenewalRequestedAt !== null && current.obtainedAt < settings.forceRenewalRequestedAt) {
    moments.push(Math.max(settings.forceRenewalRequestedAt, state.nextAttemptAt));
  }
  for (const before of [14, 7, 3, 1]) moments.push(current.notAfter - before * 86_400_000);
  const future = moments.filter((at) => at > now);
  return future.length > 0 ? Math.min(...future) : undefined;
}
