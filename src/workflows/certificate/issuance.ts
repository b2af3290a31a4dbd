/**
 * The steps enrollment and renewal share: checking the request's CSR, waiting for SCM to take the order,
 * and collecting what SCM issued.
 */
import { condition, isCancellation, log, sleep } from '@temporalio/workflow';
import type { IssuedCertificate } from '../../contract/certificate.ts';
import { comments, said } from '../../messages.ts';
import { COLLECT_RETRY_INTERVAL, issuance, localRequests, requests } from '../activities.ts';
import type { Changes } from './changes.ts';
import { reasonOf } from './failures.ts';
import type { CertificateState } from './state.ts';
import type { Tracker } from './tracker.ts';

/**
 * How long SCM may leave an order unanswered before the requester is told: an order takes seconds, and
 * its activity retries every failure but a refusal of the order itself (SCM down, or refusing the
 * connector's account: the operator's to fix, and readiness and the metrics say so).
 */
export const ORDER_WAITING_NOTICE_AFTER = '3 minutes';

/** Checks the request's CSR against its profile. */
export function validate(changes: Changes, request: { profileName: string | undefined; csr: string }) {
  const options = { summary: `check the CSR against profile "${request.profileName ?? '(none)'}"` };
  return changes.localRequests
    ? localRequests.validateRequest.executeWithOptions(options, [request])
    : requests.validateRequest.executeWithOptions(options, [request]);
}

/**
 * What an order asks of its activity beyond the order: to bring the certificate along when SCM issued it at
 * once, in runs that follow that change.
 */
export function withOrder(changes: Changes): { collectIfIssued?: true } {
  return changes.collectWithOrder ? { collectIfIssued: true } : {};
}

/**
 * The certificate SCM issued for the order: the one the order brought along, or else collected once SCM
 * has issued it. An order that asked already, a moment ago, waits the collecting activity's first retry
 * interval before asking again, so that SCM is asked no more often than before.
 */
export async function collect(
  state: CertificateState,
  ordered: { certificateId: number; certificate?: IssuedCertificate },
  csr: string,
): Promise<IssuedCertificate> {
  if (ordered.certificate) return ordered.certificate;
  const { certificateId } = ordered;
  if (state.changes.collectWithOrder) await sleep(COLLECT_RETRY_INTERVAL);
  return issuance(state.account).collectCertificate.executeWithOptions(
    { summary: `collect certificate ${certificateId} once SCM has issued it` },
    [certificateId, { csr }],
  );
}

/**
 * Awaits an order; when SCM has not taken it within ORDER_WAITING_NOTICE_AFTER, says once on the issue
 * that the connector is waiting for SCM and that nothing is the requester's to do. The comment never holds
 * the order up, and a comment Jira refuses is logged, not the order's failure.
 */
export async function awaitOrder<T>(state: CertificateState, tracker: Tracker, order: Promise<T>): Promise<T> {
  if (!state.changes.orderWaitingNotice) return order;
  let answered = false;
  order.then(
    () => (answered = true),
    () => (answered = true),
  );
  if (await condition(() => answered, ORDER_WAITING_NOTICE_AFTER)) return order;
  const { issueKey } = state;
  log.warn('SCM has not taken the order; the requester is told', { issueKey });
  const notice = tracker
    .commentOnce(issueKey, state.eventId('order-waiting'), said(comments.orderWaiting))
    .catch((err: unknown) => {
      if (isCancellation(err)) throw err;
      log.warn('could not say that the order waits for SCM', { issueKey, error: reasonOf(err) });
    });
  const [ordered] = await Promise.all([order, notice]);
  return ordered;
}
