/** Renewal: a new certificate for the issue's CSR, published, then the next generation as a new run. */
import { getExternalWorkflowHandle, isCancellation, log, proxySinks } from '@temporalio/workflow';
import { reissueOutcomeSignal, type ReissueOutcome } from '../../contract/reissue.ts';
import type {
  CarriedState,
  CertificateRecord,
  CertificateSinks,
  IssueReason,
  RenewRequest,
} from '../../contract/certificate.ts';
import { comments, said, type Said } from '../../messages.ts';
import { orders } from '../activities.ts';
import type { Decision } from '../policy/lifecycle.ts';
import { backoffFor, renewalBackoff } from '../policy/renewal.ts';
import { failureType, isActivityFailure, reasonOf, userFacing } from './failures.ts';
import { awaitOrder, collect, validate, withOrder } from './issuance.ts';
import { publish } from './publish.ts';
import { record, type CertificateState } from './state.ts';
import type { Tracker } from './tracker.ts';

const { metrics } = proxySinks<CertificateSinks>();

/** Why a decision renews, as the renewal comment and the history say it. */
const REASONS: Record<Extract<Decision, { action: 'renew' }>['reason'], IssueReason> = {
  Requested: 'manual',
  Forced: 'forced',
  ForcedByProfile: 'profile-forced',
  RenewalDue: 'automatic',
};

/**
 * Carries out a renewal decision: the next run's state once renewed; undefined when the renewal failed
 * (retried after a backoff) or a revocation came in the middle of it (acted on next).
 */
export async function renewal(
  state: CertificateState,
  tracker: Tracker,
  decision: Extract<Decision, { action: 'renew' }>,
  certificate: CertificateRecord,
): Promise<CarriedState | undefined> {
  const reason = REASONS[decision.reason];
  const renewed = await renew(
    state,
    tracker,
    reason,
    'request' in decision ? decision.request : undefined,
    certificate,
  );
  state.request = undefined;
  const asked = 'request' in decision ? decision.request : undefined;
  if (renewed === 'revoking') {
    await tellRequester(asked, { issueKey: state.issueKey, replaced: certificate.certificateId, failure: 'revoked' });
    return undefined;
  }
  if (!renewed) {
    state.nextAttemptAt = Date.now() + renewalBackoff(state.status.renewalFailures, backoffFor(certificate), false);
    const failure = state.status.lastError ?? 'the renewal failed';
    await tellRequester(asked, { issueKey: state.issueKey, replaced: certificate.certificateId, failure });
    return undefined;
  }
  await tellRequester(asked, {
    issueKey: state.issueKey,
    replaced: certificate.certificateId,
    certificateId: renewed.certificateId,
    ...(state.account ? { account: state.account } : {}),
  });
  log.info('certificate renewed', {
    issueKey: state.issueKey,
    certificateId: renewed.certificateId,
    replaces: certificate.certificateId,
    reason,
  });
  return state.nextGeneration(renewed, reason);
}

/** Tells the operation that asked for the renewal (a fleet reissue) how it ended; one that has ended hears nothing. */
async function tellRequester(asked: RenewRequest | undefined, outcome: ReissueOutcome): Promise<void> {
  if (!asked?.notify) return;
  await getExternalWorkflowHandle(asked.notify)
    .signal(reissueOutcomeSignal, outcome)
    .catch((err: unknown) =>
      log.warn('could not tell the operation that asked', { to: asked.notify, error: reasonOf(err) }),
    );
}

/** Renews `from`; answers the new certificate, or undefined after reporting the failure. */
async function renew(
  state: CertificateState,
  tracker: Tracker,
  reason: IssueReason,
  asked: RenewRequest | undefined,
  from: CertificateRecord,
): Promise<CertificateRecord | 'revoking' | undefined> {
  const startedAt = Date.now();
  const { issueKey, status, settings } = state;
  state.enter('Renewing');
  log.info('renewing', { issueKey, reason, certificateId: from.certificateId });
  try {
    const editsWhenRead = state.csrEdits;
    const issue = await tracker.readCertificateIssue(issueKey);
    const { csr } = await validate(state.changes, { profileName: settings?.profileName, csr: issue.csr });
    if (state.revocation) return 'revoking';
    // What changed on the issue since the certificate renewed was issued is said with the renewal.
    const notes: Said[] = [];
    if (status.domain !== undefined && csr.domain !== status.domain) {
      notes.push(said(comments.namesChanged, status.domain, csr.domain));
    }
    if (issue.profileName && settings && issue.profileName !== settings.profileName) {
      notes.push(said(comments.profileKept, issue.profileName, settings.profileName));
    }
    const ordered = orders(state.account).renewCertificate.executeWithOptions(
      { summary: `renew certificate ${from.certificateId} (${reason}) in SCM` },
      [
        {
          certificateId: from.certificateId,
          csr: csr.pem,
          commonName: csr.commonName,
          subjectAltNames: csr.subjectAltNames,
          profileId: state.profileId,
          issueKey,
          token: state.eventId('renew'),
          ...withOrder(state.changes),
        },
      ],
    );
    // Someone asked for this renewal and waits for it; an automatic one waits unsaid.
    const order = asked ? await awaitOrder(state, tracker, ordered) : await ordered;
    const certificate = await collect(state, order, csr.pem);
    if (state.revocation) {
      state.unpublished.push(record(certificate));
      return 'revoking';
    }
    if (state.csrEdits > editsWhenRead) notes.push(said(comments.csrChangedWhileIssued));
    await publish(state, tracker, certificate, { reason, replaces: from, notes });
    metrics.completed('renew', state.profileId, (Date.now() - startedAt) / 1000);
    status.renewalFailures = 0;
    // The next generation is known by the names it was issued for.
    status.domain = csr.domain;
    return record(certificate);
  } catch (err) {
    if (isCancellation(err) || !isActivityFailure(err)) throw err;
    await renewalFailed(state, tracker, err, reason, asked, from);
    return undefined;
  }
}

/** A renewal never ends the certificate's life: the current one stays valid, and renewal is retried. */
async function renewalFailed(
  state: CertificateState,
  tracker: Tracker,
  err: unknown,
  reason: IssueReason,
  asked: RenewRequest | undefined,
  from: CertificateRecord,
): Promise<void> {
  const { issueKey, status } = state;
  const problem = userFacing(err) ?? { remedy: 'Internal' as const, reason: reasonOf(err) };
  status.renewalFailures++;
  status.lastError = problem.reason;
  metrics.failed('renew', userFacing(err) ? problem.remedy : failureType(err));
  state.enter(Date.now() >= from.notAfter ? 'Expired' : 'RenewalDue');
  const retry = reason === 'automatic' || reason === 'profile-forced';
  // Automatic retries report a reason once, not at every attempt; escalations remind before expiry.
  if (!retry || problem.reason !== state.lastReportedFailure) {
    state.lastReportedFailure = problem.reason;
    await tracker.commentOnce(
      issueKey,
      state.eventId(`renewal-failed-${status.renewalFailures}`),
      said(comments.renewalFailed, problem.reason, problem.remedy, retry),
    );
  }
  if (asked?.returnToStatus) await tracker.returnIssueTo(issueKey, asked.returnToStatus);
}
