/** Enrollment: validate → order → await issuance → publish, once, in order. */
import { isCancellation, log, proxySinks, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { CertificateSinks, IssuedCertificate } from '../../contract/certificate.ts';
import { searchAttributes } from '../../contract/shared.ts';
import { comments, lastErrors, said, type Said } from '../../messages.ts';
import { orders } from '../activities.ts';
import { reasonOf, userFacing } from './failures.ts';
import { awaitOrder, collect, validate, withOrder } from './issuance.ts';
import { publish } from './publish.ts';
import { record, type CertificateState } from './state.ts';
import type { Tracker } from './tracker.ts';

const { metrics } = proxySinks<CertificateSinks>();

/**
 * Enrolls the request of the issue. Undefined when the request was rejected or is stale; 'withdrawn' when
 * a revocation came before anything was ordered. A certificate issued after a revocation was asked for is
 * answered unpublished, to be revoked.
 */
export async function enroll(
  state: CertificateState,
  tracker: Tracker,
): Promise<IssuedCertificate | 'withdrawn' | undefined> {
  const startedAt = Date.now();
  const { issueKey } = state;
  state.enter('Validating');
  try {
    const editsWhenRead = state.csrEdits;
    const issue = await tracker.readCertificateIssue(issueKey, { statusChange: true });
    const latest = issue.lastStatusChange;
    if (!triggerIsCurrent(state.input.triggerId, latest)) {
      if (!latest?.enrolls) {
        // The request was taken back since (or this is a replayed delivery): nothing is ordered or said.
        // An Enroll after this finds the run ended, or waits for it to end, and starts afresh.
        state.status.lastError = lastErrors.staleTrigger;
        log.warn('stale trigger ignored', { issueKey, triggerId: state.input.triggerId });
        state.enter('Rejected');
        return undefined;
      }
      // Enroll, back to request, Enroll again before this run read the issue: the later Enroll finds this
      // run still going, so this run serves it, with the issue as it is now.
      log.info('following the latest Enroll', { issueKey, triggerId: state.input.triggerId, latest: latest.id });
    }
    const { profileId, account, csr } = await validate(state.changes, {
      profileName: issue.profileName,
      csr: issue.csr,
    });
    state.status.profileId = profileId;
    if (account) state.status.account = account;
    state.status.domain = csr.domain;
    upsertSearchAttributes([
      { key: searchAttributes.domain, value: csr.domain },
      { key: searchAttributes.profile, value: profileId },
    ]);
    const requested = {
      eventId: state.eventId('requested'),
      text: said(
        comments.requested,
        csr.domain,
        csr.subjectAltNames.filter((n) => n !== csr.domain),
        issue.profileName ?? profileId,
        csr.keyType,
      ),
    };
    // Posted by this one activity alone, once per run: a first attempt need not look for it.
    const requestedComment = () => tracker.commentOnce(issueKey, requested.eventId, requested.text, { unique: true });
    if (state.changes.requestedCommentLocally) await postLocally(tracker, issueKey, requested);
    else if (!state.changes.orderBesideRequestComment) await requestedComment();

    if (state.revocation) return 'withdrawn';
    state.enter('Enrolling');
    const ordered = orders(state.account).enrollCertificate.executeWithOptions(
      { summary: `order a certificate for ${csr.domain} from SCM (profile ${profileId})` },
      [
        {
          profileId,
          csr: csr.pem,
          commonName: csr.commonName,
          subjectAltNames: csr.subjectAltNames,
          token: state.eventId('enroll'),
          issueKey,
          ...withOrder(state.changes),
        },
      ],
    );
    const order = await awaitOrder(
      state,
      tracker,
      state.changes.orderBesideRequestComment ? besideComment(issueKey, ordered, requestedComment()) : ordered,
    );
    const { certificateId } = order;
    state.status.certificateId = certificateId;
    upsertSearchAttributes([{ key: searchAttributes.certificateId, value: String(certificateId) }]);

    if (!order.certificate) state.enter('AwaitingIssuance');
    const certificate = await collect(state, order, csr.pem);
    if (state.revocation) {
      state.unpublished.push(record(certificate));
      return certificate;
    }

    state.enter('Publishing');
    // Said in the "enrolled" comment (no step of its own): the certificate is for the CSR of the request.
    const edited = state.csrEdits > editsWhenRead;
    await publish(state, tracker, certificate, {
      reason: 'enrolled',
      notes: edited ? [said(comments.csrChangedWhileIssued)] : [],
    });
    metrics.completed('enroll', profileId, (Date.now() - startedAt) / 1000);
    return certificate;
  } catch (err) {
    const problem = userFacing(err);
    if (!problem) throw err;
    state.status.lastError = problem.reason;
    state.enter('Rejected');
    metrics.failed('enroll', problem.remedy);
    log.info('request rejected', { issueKey, remedy: problem.remedy, reason: problem.reason });
    await tracker.commentOnce(
      issueKey,
      state.eventId('rejected'),
      said(comments.enrollmentFailed, problem.reason, problem.remedy),
    );
    await tracker.moveIssue(issueKey, 'request');
    return undefined;
  }
}

/** Whether the issue's latest status change is the transition that started this run. */
function triggerIsCurrent(triggerId: string, latest: { id: string } | undefined): boolean {
  if (!triggerId.startsWith('changelog:') || latest === undefined) return true;
  return `changelog:${latest.id}` === triggerId;
}

/**
 * The "requested" comment, posted by a local activity from the workflow task that places the order, just
 * before it: no round trip through the server for it. No other task posts it, so a task tried for the
 * first time has no comment to look for; one tried again after a worker was lost has more in its history
 * than the events that start a run, and looks. A comment Jira refuses is logged, and the order goes ahead.
 */
async function postLocally(tracker: Tracker, issueKey: string, comment: { eventId: string; text: Said }) {
  const firstTask = workflowInfo().historyLength <= EVENTS_BEFORE_FIRST_TASK;
  try {
    await tracker.commentOnceLocally(issueKey, comment.eventId, comment.text, { unique: true, firstTask });
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('could not post the "requested" comment', { issueKey, error: reasonOf(err) });
  }
}

/** Execution started, workflow task scheduled, workflow task started: the history a run's first task sees. */
const EVENTS_BEFORE_FIRST_TASK = 3;

/**
 * The order, placed while the "requested" comment is posted: the order's failure is the enrollment's;
 * the comment's, once the order is placed, is not (the certificate is published to the same issue next,
 * and its steps report what Jira refuses).
 */
async function besideComment<T>(issueKey: string, order: Promise<T>, comment: Promise<void>): Promise<T> {
  const [ordered, commented] = await Promise.allSettled([order, comment]);
  if (ordered.status === 'rejected') throw ordered.reason;
  if (commented.status === 'rejected') {
    if (isCancellation(commented.reason)) throw commented.reason;
    log.warn('could not post the "requested" comment', { issueKey, error: reasonOf(commented.reason) });
  }
  return ordered.value;
}
