/**
 * certificateLifecycle: one durable workflow per certificate request (one Jira "Certificate" issue).
 *
 *   Validating → Enrolling → AwaitingIssuance → Publishing → Active ⇄ RenewalDue → Renewing → (next run)
 *
 * Enrollment runs once, in order. After it the workflow is a loop over `decide` (../policy/lifecycle.ts):
 * state and workflow time in, the next action out, each carried out by the step that owns it. One run per
 * certificate generation: a renewal ends the run with continue-as-new, carrying the new certificate.
 */
import {
  allHandlersFinished,
  condition,
  ContinueAsNew,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  proxySinks,
} from '@temporalio/workflow';
import {
  continuedSearchAttributes,
  type CarriedState,
  type CertificateLifecycleInput,
  type CertificateRecord,
  type CertificateSinks,
  type CertificateStatus,
} from '../../contract/certificate.ts';
import { searchAttributes } from '../../contract/shared.ts';
import { comments, said } from '../../messages.ts';
import { decide, type Decision } from '../policy/lifecycle.ts';
import { followedChanges } from './changes.ts';
import { enroll } from './enroll.ts';
import { failureType, reasonOf } from './failures.ts';
import { readForNextRun, replan } from './plan.ts';
import { reconcile } from './reconcile.ts';
import { renewal } from './renew.ts';
import { revokeAll } from './revoke.ts';
import { CertificateState } from './state.ts';
import { trackerFor, type Tracker } from './tracker.ts';
import { escalate, markExpired, openWindow, refuse, wait } from './watch.ts';

const { metrics } = proxySinks<CertificateSinks>();

export async function certificateLifecycle(input: CertificateLifecycleInput): Promise<CertificateStatus> {
  const state = new CertificateState(input, followedChanges());
  const tracker = trackerFor(input, state.changes);
  state.listen();
  try {
    let current = state.current;
    if (!current) {
      const issued = await enroll(state, tracker);
      if (issued === 'withdrawn' && state.revocation) await revokeAll(state, tracker, state.revocation, undefined);
      if (!issued || issued === 'withdrawn') return state.status;
      current = state.enrolled(issued);
    }
    adopt(state, current);
    for (;;) {
      const next = await act(state, tracker, decide(state.view(current), Date.now()), current);
      if (next === 'done') return state.status;
      if (next) {
        await readForNextRun(state);
        await condition(allHandlersFinished);
        const carried = state.carriedWith(next);
        // The next run starts indexed as the renewed certificate's (older runs let it inherit this run's).
        const indexed = state.changes.oneIndexWrite
          ? { typedSearchAttributes: continuedSearchAttributes(input.issueKey, carried) }
          : {};
        return await makeContinueAsNewFunc<typeof certificateLifecycle>(indexed)({ ...input, carried });
      }
    }
  } catch (err) {
    if (!(err instanceof ContinueAsNew) && !isCancellation(err)) await reportFailure(state, tracker, err);
    throw err;
  }
}

/** Carries out one decision; a renewal answers the next run's state, the end of the life 'done'. */
async function act(
  state: CertificateState,
  tracker: Tracker,
  decision: Decision,
  certificate: CertificateRecord,
): Promise<CarriedState | 'done' | undefined> {
  switch (decision.action) {
    case 'revoke':
      await revokeAll(state, tracker, decision.revocation, certificate);
      return 'done';
    case 'plan':
      return void (await replan(state, tracker, certificate));
    case 'reconcile':
      state.observation = undefined;
      return (await reconcile(state, tracker, decision.observation, certificate)) ? 'done' : undefined;
    case 'refuse':
      return void (await refuse(state, tracker, decision.request));
    case 'renew':
      return renewal(state, tracker, decision, certificate);
    case 'markExpired':
      return void (await markExpired(state, tracker, certificate));
    case 'openWindow':
      return void (await openWindow(state, tracker, certificate));
    case 'escalate':
      return void (await escalate(state, tracker, decision.points, certificate));
    case 'wait':
      return void (await wait(state, decision, certificate));
  }
}

/** Makes `certificate` the one this run watches over (a continued run also indexes what it carries). */
function adopt(state: CertificateState, certificate: CertificateRecord): void {
  const { status } = state;
  status.certificateId = certificate.certificateId;
  status.serialNumber = certificate.serialNumber;
  status.notBefore = certificate.notBefore;
  status.notAfter = certificate.notAfter;
  // A run that writes once per step writes these with the plan, which comes next (or with a revocation's
  // first phase): the profile read between them is a local activity, answered within the workflow task.
  state.index([
    { key: searchAttributes.certificateId, value: String(certificate.certificateId) },
    { key: searchAttributes.notAfter, value: new Date(certificate.notAfter) },
    // A continued run inherits its predecessor's attributes: an issuer not known is unset, not left standing.
    ...(certificate.issuer || state.input.carried
      ? [{ key: searchAttributes.issuer, value: certificate.issuer ?? null }]
      : []),
    ...(state.input.carried
      ? [
          { key: searchAttributes.issueKey, value: state.issueKey },
          { key: searchAttributes.domain, value: state.domain },
          { key: searchAttributes.profile, value: state.profileId },
        ]
      : []),
  ]);
  state.showDetails();
}

/** Nothing fails silently: what happened is said on the issue, left where the user can act; then it fails. */
async function reportFailure(state: CertificateState, tracker: Tracker, err: unknown): Promise<void> {
  const { status, issueKey } = state;
  const enrolled = state.current !== undefined;
  state.writeIndex();
  status.lastError = reasonOf(err);
  state.showDetails();
  metrics.failed(enrolled ? 'renew' : 'enroll', failureType(err));
  await tracker
    .commentOnce(issueKey, state.eventId('failed'), said(comments.failed, status.lastError, state.workflowId, enrolled))
    .then(() => (enrolled ? undefined : tracker.moveIssue(issueKey, 'request')))
    .catch((reportErr: unknown) =>
      log.error('could not report the failure on the issue', { error: reasonOf(reportErr) }),
    );
}
