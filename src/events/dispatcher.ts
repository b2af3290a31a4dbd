/**
 * The one place Jira events become workflow operations, for the receiver and the polling trigger alike:
 * an event is interpreted, then starts, updates or signals the workflow it concerns — once per delivery.
 * It never writes to Jira: what a requester must be told about a request no workflow took (a refusal, a
 * renewal joined) is an `issueNotice` workflow's to say.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  certificateWorkflowId,
  csrChangedSignal,
  renewUpdate,
  revokeUpdate,
  type CertificateRequest,
  type RenewRequest,
  type RevokeRequest,
} from '../contract/certificate.ts';
import { noticeWorkflowId, type IssueNoticeInput } from '../contract/notice.ts';
import { revokeIssueChangedSignal, revokeWorkflowId } from '../contract/revoke-external.ts';
import {
  revocationReasonCode,
  searchAttributes,
  TASK_QUEUE,
  type CertificatePhase,
  type RevokerPolicy,
} from '../contract/shared.ts';
import type { JiraClient } from '../jira/client.ts';
import { log } from '../log.ts';
import { comments, render, renewalRefusals, revocationRefusals, said, type Said, type Text } from '../messages.ts';
import type { certificateLifecycle } from '../workflows/certificate/workflow.ts';
import type { issueNotice } from '../workflows/issue-notice.ts';
import type { revokeExternalCertificate } from '../workflows/revoke-external.ts';
import { DeliveryLog } from './deliveries.ts';
import { interpretEvent, type EventDecision, type JiraEvent } from './jira-event.ts';
import { webUiMetadata } from './web-ui.ts';

/** What the dispatcher reads of Jira: names and field ids, who requested a certificate, who is in a group. */
export type JiraReader = Pick<
  JiraClient,
  'names' | 'fieldId' | 'issueUrl' | 'myUserId' | 'getCertificateIssue' | 'isMemberOf'
>;

export interface DispatcherOptions {
  client: Client;
  jira: JiraReader;
  /** Who may revoke from Jira. */
  revokers: RevokerPolicy;
  /** Deliveries already handled (default: a new log with a seven-day retention). */
  deliveries?: DeliveryLog;
}

/** What became of an event: `result` names it (the receiver's 202 body, the polling trigger's record). */
export type Answer = { result: string } & Record<string, unknown>;

/** How long a new Enroll waits for the previous, rejected run to end before asking Jira to retry. */
const REJECTED_RUN_GRACE_MS = 10_000;

/** An Enroll that must be delivered again: the previous request is still deciding. */
export class DeliverAgain extends Error {
  override name = 'DeliverAgain';
}

export class Dispatcher {
  readonly #client: Client;
  readonly #jira: JiraReader;
  readonly #revokers: RevokerPolicy;
  readonly #deliveries: DeliveryLog;
  /** The connector's own Jira user: its changes are the workflows' doing, not requests. */
  readonly #connectorId: string;

  private constructor(options: DispatcherOptions, connectorAccountId: string) {
    this.#client = options.client;
    this.#jira = options.jira;
    this.#revokers = options.revokers;
    this.#deliveries = options.deliveries ?? new DeliveryLog();
    this.#connectorId = connectorAccountId;
  }

  /** A dispatcher that knows the connector's own Jira account. */
  static async create(options: DispatcherOptions): Promise<Dispatcher> {
    return new Dispatcher(options, await options.jira.myUserId());
  }

  /**
   * Acts on one event once per delivery id. One event of an issue at a time: two copies of a delivery at
   * once (Jira sends them) would both find it unhandled and both act; the second now waits, then finds the
   * delivery handled.
   */
  handle(event: JiraEvent, deliveryId: string): Promise<Answer> {
    return this.#deliveries.oneAtATime(event.issue?.key ?? deliveryId, () => this.#handleOnce(event, deliveryId));
  }

  async #handleOnce(event: JiraEvent, deliveryId: string): Promise<Answer> {
    if (deliveryId !== '' && this.#deliveries.seen(deliveryId)) {
      log.info('delivery already handled', { deliveryId });
      return { result: 'duplicate-delivery' };
    }
    const { names } = this.#jira;
    const decision = interpretEvent(
      event,
      deliveryId,
      names,
      this.#connectorId,
      this.#jira.fieldId('revocationReason'),
    );
    const answer = await this.#act(decision, deliveryId, event);
    // Remembered only once handled: a delivery that failed (503) must be taken when Jira sends it again.
    if (deliveryId !== '') this.#deliveries.remember(deliveryId);
    return answer;
  }

  #act(decision: EventDecision, deliveryId: string, event: JiraEvent): Promise<Answer> {
    switch (decision.action) {
      case 'ignore':
        return Promise.resolve({ result: 'ignored', reason: decision.reason });
      case 'enroll':
        return this.#startEnrollment(decision.request, deliveryId, event);
      case 'renew':
        return this.#requestRenewal(decision.issueKey, decision.request);
      case 'reevaluate':
        return this.#csrChanged(decision.issueKey);
      case 'revoke':
        return this.#requestRevocation(decision);
      case 'revoke-external':
        return this.#startExternalRevocation(decision);
      case 'revoke-external-changed':
        return this.#externalRevocationChanged(decision.issueKey);
    }
  }

  async #startEnrollment(request: CertificateRequest, deliveryId: string, event: JiraEvent): Promise<Answer> {
    const workflowId = certificateWorkflowId(request.issueKey);
    const previous = await this.#latestRun(workflowId);
    if (previous?.triggerId === request.triggerId) {
      log.info('duplicate delivery ignored', { workflowId, deliveryId, triggerId: request.triggerId });
      return { result: 'duplicate', workflowId };
    }
    if (previous?.running && undecided(previous.phase)) {
      const outcome = await this.#previousRunSettles(workflowId);
      if (outcome === 'serving') return { result: 'already-running', workflowId };
      if (outcome === 'undecided') throw new DeliverAgain('the previous request is still finishing; deliver again');
    } else if (previous?.running) {
      return { result: 'already-running', workflowId };
    }
    const handle = await this.#client.workflow.start<typeof certificateLifecycle>('certificateLifecycle', {
      workflowId,
      taskQueue: TASK_QUEUE,
      args: [{ ...request, issueUrl: this.#jira.issueUrl(request.issueKey) }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      memo: { triggerId: request.triggerId },
      typedSearchAttributes: [
        { key: searchAttributes.issueKey, value: request.issueKey },
        { key: searchAttributes.status, value: 'Validating' },
      ],
      ...webUiMetadata(this.#jira, event, request),
    });
    log.info('workflow started', {
      workflowId,
      runId: handle.firstExecutionRunId,
      deliveryId,
      requestedBy: request.requestedBy,
    });
    return { result: 'started', workflowId };
  }

  /**
   * Sends the `renew` update, with the changelog id as update id so that a repeated delivery is one request.
   * A refusal (outside the window, no certificate yet) is told on the issue, which goes back where it was.
   */
  async #requestRenewal(issueKey: string, request: RenewRequest): Promise<Answer> {
    const workflowId = certificateWorkflowId(issueKey);
    const eventId = (what: string) => `receiver/${issueKey}/${request.requestId ?? 'renew'}/${what}`;
    let refusal: Text;
    try {
      const accepted = await this.#client.workflow
        .getHandle(workflowId)
        .executeUpdate(renewUpdate, { args: [request], updateId: request.requestId });
      log.info('renewal requested', { workflowId, requestId: request.requestId, result: accepted.result });
      if (accepted.result === 'joined') {
        await this.#notice({ issueKey, eventId: eventId('joined'), text: said(comments.renewalJoined) });
      }
      return { result: accepted.result === 'accepted' ? 'renewal-requested' : accepted.result, workflowId };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) refusal = refusalText(err);
      else if (err instanceof WorkflowNotFoundError) {
        const run = await this.#latestRun(workflowId);
        refusal = said(run?.phase === 'Revoked' ? renewalRefusals.revoked : renewalRefusals.notEnrolled);
      } else throw err;
    }
    const from = this.#jira.names.statuses.renewed;
    await this.#notice({
      issueKey,
      eventId: eventId('refused'),
      text: refusal,
      ...(request.returnToStatus ? { returnIssue: { from, to: request.returnToStatus } } : {}),
    });
    log.info('renewal refused', { workflowId, requestId: request.requestId, refusal: render(refusal) });
    return { result: 'renewal-refused', workflowId, reason: render(refusal, this.#jira.names) };
  }

  /**
   * Turns "Revoke Certificate" into the workflow's `revoke` update, with the changelog id as update id. A
   * refusal the user can act on (no reason, not allowed, nothing enrolled) is told on the issue, which
   * goes back where it was.
   */
  async #requestRevocation(decision: Extract<EventDecision, { action: 'revoke' }>): Promise<Answer> {
    const { issueKey, requestId } = decision;
    const workflowId = certificateWorkflowId(issueKey);
    const refuse = async (reason: Text): Promise<Answer> => {
      const from = this.#jira.names.statuses.revoked;
      const to = decision.returnToStatus;
      await this.#notice({
        issueKey,
        eventId: `receiver/${issueKey}/${requestId}/revocation-refused`,
        text: reason,
        ...(to ? { returnIssue: { from, to } } : {}),
      });
      log.info('revocation refused', { workflowId, requestId, reason: render(reason) });
      return { result: 'revocation-refused', workflowId, reason: render(reason, this.#jira.names) };
    };
    const reasonCode = revocationReasonCode(decision.reasonName);
    if (reasonCode === undefined) return refuse(said(revocationRefusals.noReason));
    const refusal = await this.#mayNotRevoke(decision.requestedBy, issueKey);
    if (refusal) return refuse(refusal);
    const request: RevokeRequest = {
      reasonCode,
      requestedBy: decision.requestedBy,
      requestId,
      ...(decision.comment ? { comment: decision.comment } : {}),
      ...(decision.requestedByName ? { requestedByName: decision.requestedByName } : {}),
    };
    try {
      const accepted = await this.#client.workflow
        .getHandle(workflowId)
        .executeUpdate(revokeUpdate, { args: [request], updateId: requestId });
      log.info('revocation requested', { workflowId, requestId, result: accepted.result });
      return { result: accepted.result === 'accepted' ? 'revocation-requested' : accepted.result, workflowId };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) return refuse(refusalText(err));
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    // No running workflow: revoked already (one comment, the same end state), or nothing was ever enrolled.
    const run = await this.#latestRun(workflowId);
    if (run?.phase !== 'Revoked') return refuse(said(revocationRefusals.notEnrolled));
    await this.#notice({
      issueKey,
      eventId: `receiver/${issueKey}/${requestId}/revoked-already`,
      text: said(revocationRefusals.alreadyRevoked),
    });
    return { result: 'revoked-already', workflowId };
  }

  /** A "Revoke Certificate" issue was created: its workflow finds the certificate and revokes it. */
  async #startExternalRevocation(decision: Extract<EventDecision, { action: 'revoke-external' }>): Promise<Answer> {
    const { issueKey } = decision;
    const workflowId = revokeWorkflowId(issueKey);
    const refusal = await this.#mayNotRevoke(decision.requestedBy, undefined);
    if (refusal) {
      await this.#notice({ issueKey, eventId: `receiver/${issueKey}/revocation-refused`, text: refusal });
      return { result: 'revocation-refused', workflowId, reason: render(refusal, this.#jira.names) };
    }
    await this.#client.workflow.start<typeof revokeExternalCertificate>('revokeExternalCertificate', {
      workflowId,
      taskQueue: TASK_QUEUE,
      args: [
        {
          issueKey,
          requestedBy: decision.requestedBy,
          ...(decision.requestedByName ? { requestedByName: decision.requestedByName } : {}),
        },
      ],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `Revocation asked for in Jira issue ${issueKey}`,
    });
    log.info('revocation started', { workflowId, requestedBy: decision.requestedBy });
    return { result: 'started', workflowId };
  }

  /** A waiting "Revoke Certificate" issue was edited: its workflow looks again. */
  async #externalRevocationChanged(issueKey: string): Promise<Answer> {
    const workflowId = revokeWorkflowId(issueKey);
    try {
      await this.#client.workflow.getHandle(workflowId).signal(revokeIssueChangedSignal);
      return { result: 'revocation-changed', workflowId };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { result: 'ignored', reason: 'no revocation waiting' };
      throw err;
    }
  }

  /** The CSR on the issue changed: a waiting renewal retry should not wait out its backoff. */
  async #csrChanged(issueKey: string): Promise<Answer> {
    const workflowId = certificateWorkflowId(issueKey);
    const run = await this.#latestRun(workflowId);
    if (!run?.running) return { result: 'ignored', reason: 'no running workflow' };
    await this.#client.workflow.getHandle(workflowId).signal(csrChangedSignal);
    return { result: 'csr-changed', workflowId };
  }

  /**
   * Why `userId` may not revoke (undefined: it may). Unless revocation is open to anyone, the requester of
   * the certificate — the reporter of `certificateIssue` — may, and so may the revokers group's members.
   */
  async #mayNotRevoke(userId: string, certificateIssue: string | undefined): Promise<Said | undefined> {
    const { group, anyone } = this.#revokers;
    if (anyone) return undefined;
    if (certificateIssue) {
      const { reporterId } = await this.#jira.getCertificateIssue(certificateIssue);
      if (reporterId === userId) return undefined;
    }
    if (group && (await this.#jira.isMemberOf(userId, group))) return undefined;
    if (group) return said(revocationRefusals.notInGroup, group, certificateIssue !== undefined);
    return said(certificateIssue ? revocationRefusals.notRequester : revocationRefusals.noRevokersGroup);
  }

  /** Says `notice.text` on the issue through an `issueNotice` workflow, once per event id. */
  async #notice(notice: IssueNoticeInput): Promise<void> {
    try {
      await this.#client.workflow.start<typeof issueNotice>('issueNotice', {
        workflowId: noticeWorkflowId(notice.eventId),
        taskQueue: TASK_QUEUE,
        args: [notice],
        // Said once: a notice that ended is not said again; one that failed may be.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: `Notice on Jira issue ${notice.issueKey}`,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  /**
   * Waits for an undecided run to decide: 'ended' (a new run is started for this Enroll), 'serving' (it read
   * the issue after this Enroll and goes on with it), or 'undecided' still after the grace (Jira delivers again).
   */
  async #previousRunSettles(workflowId: string): Promise<'ended' | 'serving' | 'undecided'> {
    // Described, not awaited: a run that goes on serving may run for a year, and a result() call with it.
    for (const deadline = Date.now() + REJECTED_RUN_GRACE_MS; Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const now = await this.#latestRun(workflowId);
      if (!now?.running) return 'ended';
      if (!undecided(now.phase)) return 'serving';
    }
    return 'undecided';
  }

  async #latestRun(
    workflowId: string,
  ): Promise<{ running: boolean; triggerId: unknown; phase: CertificatePhase | undefined } | undefined> {
    try {
      const description = await this.#client.workflow.getHandle(workflowId).describe();
      return {
        running: description.status.name === 'RUNNING',
        triggerId: description.memo?.triggerId,
        phase: description.typedSearchAttributes.get(searchAttributes.status) as CertificatePhase | undefined,
      };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }
}

/**
 * A run that is Rejected (only finishing: it has moved the issue back) or still Validating (it may find its
 * trigger taken back and end without a word) has not decided whether it serves a new Enroll.
 */
function undecided(phase: CertificatePhase | undefined): boolean {
  return phase === 'Rejected' || phase === 'Validating';
}

/** What a refused update says on the issue: the workflow's message as data, else its text. */
function refusalText(err: WorkflowUpdateFailedError): Text {
  const cause = err.cause;
  const said = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
  if (isSaid(said)) return said;
  return cause?.message ?? err.message;
}

function isSaid(value: unknown): value is Said {
  return typeof value === 'object' && value !== null && typeof (value as Said).say === 'string';
}
