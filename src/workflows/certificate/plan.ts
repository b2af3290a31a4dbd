/** Planning renewal: the profile read, the plan made and indexed, and a missing profile said once. */
import { log } from '@temporalio/workflow';
import type { CertificateRecord } from '../../contract/certificate.ts';
import { DEFAULT_ACCOUNT, searchAttributes } from '../../contract/shared.ts';
import { comments, lastErrors, said } from '../../messages.ts';
import { localRequests, requests } from '../activities.ts';
import { backoffFor, renewalBackoff, renewalPlan } from '../policy/renewal.ts';
import type { CertificateState } from './state.ts';
import type { Tracker } from './tracker.ts';

/**
 * Reads the profile and plans renewal; a missing profile is said once and waited out. A continued run's
 * first plan uses the settings it carried instead, unless a change was signalled since.
 */
export async function replan(state: CertificateState, tracker: Tracker, certificate: CertificateRecord): Promise<void> {
  const { issueKey, status } = state;
  const carried = state.takeCarriedSettings();
  const changed = state.stale;
  state.stale = false;
  if (state.csrChanged) {
    // A new CSR may be the fix: the next attempt need not wait out the backoff.
    state.csrChanged = false;
    state.nextAttemptAt = renewalBackoff(status.renewalFailures, backoffFor(certificate), true);
  }
  const read =
    carried && !changed
      ? carried
      : await (state.changes.localRequests
          ? localRequests.getProfileSettings(state.profileId)
          : requests.getProfileSettings(state.profileId));
  if (!read) {
    if (!state.profileMissing) {
      state.profileMissing = true;
      status.lastError = lastErrors.profileNotConfigured(state.profileId);
      status.profileFingerprint = undefined;
      indexFingerprint(state, null);
      state.writeIndex();
      state.showDetails();
      await tracker.commentOnce(
        issueKey,
        state.eventId(`profile-missing-${Date.now()}`),
        said(comments.profileMissing, state.profileId),
      );
    }
    return;
  }
  if (state.profileMissing) {
    state.profileMissing = false;
    status.lastError = undefined;
    await tracker.commentOnce(
      issueKey,
      state.eventId(`profile-restored-${Date.now()}`),
      said(comments.profileRestored, read.profileName),
    );
  }
  const settings = read;
  const [profileAccount, ownAccount] = [settings.account ?? DEFAULT_ACCOUNT, state.account ?? DEFAULT_ACCOUNT];
  if (profileAccount !== ownAccount) {
    // Said once per account the profile moves to; the certificate stays where it was issued. What the
    // run has indexed is written first: a comment may wait for Jira.
    state.writeIndex();
    await tracker.commentOnce(
      issueKey,
      state.eventId(`account-kept-${profileAccount}`),
      said(comments.accountKept, settings.profileName, profileAccount, ownAccount),
    );
  }
  const plan = renewalPlan(certificate, settings, state.workflowId);
  state.settings = settings;
  state.plan = plan;
  if (status.profileFingerprint !== settings.fingerprint) indexFingerprint(state, settings.fingerprint);
  status.profileFingerprint = settings.fingerprint;
  status.windowOpensAt = plan.windowOpensAt;
  status.renewAt = settings.autoRenew ? plan.renewAt : undefined;
  state.index([{ key: searchAttributes.renewAt, value: settings.autoRenew ? new Date(plan.renewAt) : null }]);
  // Runs that write the plan's attributes in one upsert show the plan before saying anything about it.
  if (state.changes.oneIndexWrite) showPlan(state, certificate);
  if (plan.note) {
    log.warn('expiry window adjusted', { issueKey, note: plan.note });
    // Said where people look: the certificate still renews, just not where the profile says.
    await tracker.commentOnce(
      issueKey,
      state.eventId(`window-${plan.note}-${settings.fingerprint}`),
      said(
        comments.windowAdjusted,
        settings.profileName,
        plan.note === 'WindowClamped',
        certificate.certificateId,
        plan.windowOpensAt,
      ),
    );
  }
  if (!state.changes.oneIndexWrite) showPlan(state, certificate);
}

/** Shows the plan made: requests are validated against it, so the certificate is Active only once there is one. */
function showPlan(state: CertificateState, certificate: CertificateRecord): void {
  if (!state.live) return state.enter(Date.now() >= certificate.notAfter ? 'Expired' : 'Active');
  state.writeIndex();
  state.showDetails();
}

/** Makes the plan's profile fingerprint searchable: the sweep asks visibility for stale ones. */
function indexFingerprint(state: CertificateState, fingerprint: string | null): void {
  if (state.changes.fingerprintAttribute) {
    state.index([{ key: searchAttributes.profileFingerprint, value: fingerprint }]);
  }
}

/**
 * Reads the profile once more as a renewed run hands over (runs that carry settings), for the next run to
 * plan with: it then starts without reading the profile, and a profile that is gone is found as before,
 * by the next run. The read takes in every change signalled so far; one signalled after it leaves the
 * settings behind (`carriedWith`).
 */
export async function readForNextRun(state: CertificateState): Promise<void> {
  if (!state.changes.carriedSettings) return;
  state.stale = false;
  state.settingsForNextRun = (await localRequests.getProfileSettings(state.profileId)) ?? undefined;
}
