/**
 * Watching over an issued certificate between renewals: telling when its window opens, when it expired,
 * when renewal keeps failing, refusing a renewal asked for too early, and waiting for what comes next.
 */
import { condition } from '@temporalio/workflow';
import type { CertificateRecord, RenewRequest } from '../../contract/certificate.ts';
import { comments, lastErrors, renewalRefusals, said } from '../../messages.ts';
import type { Decision } from '../policy/lifecycle.ts';
import { instant } from './details.ts';
import type { CertificateState } from './state.ts';
import type { Tracker } from './tracker.ts';

export async function markExpired(state: CertificateState, tracker: Tracker, certificate: CertificateRecord) {
  state.enter('Expired');
  await tracker.commentOnce(
    state.issueKey,
    state.eventId('expired'),
    said(comments.expired, certificate.certificateId, state.domain, certificate.notAfter),
  );
}

/** The window opens: with auto-renewal off, the requester is told how to renew. */
export async function openWindow(state: CertificateState, tracker: Tracker, certificate: CertificateRecord) {
  state.enter('RenewalDue');
  const { settings } = state;
  if (settings && !settings.autoRenew) {
    await tracker.commentOnce(
      state.issueKey,
      state.eventId('window-open'),
      said(comments.windowOpen, certificate.certificateId, state.domain, certificate.notAfter, settings.profileName),
    );
  }
}

/** Renewal keeps failing and expiry comes near: a reminder at each point (ms before expiry). */
export async function escalate(
  state: CertificateState,
  tracker: Tracker,
  points: number[],
  certificate: CertificateRecord,
) {
  for (const before of points) {
    state.escalated.push(before);
    const days = Math.round(before / 86_400_000);
    await tracker.commentOnce(
      state.issueKey,
      state.eventId(`escalation-${days}d`),
      said(
        comments.escalation,
        certificate.certificateId,
        state.domain,
        certificate.notAfter,
        days,
        state.status.lastError ?? lastErrors.unknown,
      ),
    );
  }
}

/** A renewal asked for outside the window of a profile that does not allow it: said, and the issue returned. */
export async function refuse(state: CertificateState, tracker: Tracker, refused: RenewRequest) {
  state.request = undefined;
  await tracker.commentOnce(
    state.issueKey,
    state.eventId(`refused-${refused.requestId ?? 'request'}`),
    said(renewalRefusals.outsideWindow),
  );
  if (refused.returnToStatus) await tracker.returnIssueTo(state.issueKey, refused.returnToStatus);
}

/** Waits for a message, or for the instant at which time alone changes the decision. */
export async function wait(
  state: CertificateState,
  decision: Extract<Decision, { action: 'wait' }>,
  certificate: CertificateRecord,
) {
  const now = Date.now();
  const { until } = decision;
  await condition(
    () => state.request !== undefined || state.stale || state.observation !== undefined || !!state.revocation,
    until === undefined ? undefined : Math.max(1, until - now),
    {
      summary:
        decision.reason === 'ProfileMissing'
          ? 'waiting for the profile to be configured again'
          : until === undefined
            ? 'waiting for a renewal or revocation request'
            : `${nextEvent(state, until, certificate)} at ${instant(until)}`,
    },
  );
}

/** What happens at `until`, the instant the workflow waits for, in the Web UI's words. */
function nextEvent(state: CertificateState, until: number, certificate: CertificateRecord): string {
  if (until === state.nextAttemptAt) return 'next renewal attempt';
  if (until === state.status.renewAt) return 'automatic renewal';
  if (until === state.status.windowOpensAt) return 'renewal window opens';
  if (until === certificate.notAfter) return 'certificate expires';
  return 'next check';
}
