/**
 * The Jira webhook receiver: verifies the signature on the raw body, maps the event and starts the
 * certificate's workflow. It never calls SCM. Duplicate deliveries and double clicks change nothing:
 * the workflow id is the issue, a running workflow is reused, and a finished run remembers its trigger.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { JiraClient, JiraNames } from '../jira/client.ts';
import { HttpError, readBody, sendJson } from '../http.ts';
import { log } from '../log.ts';
import type { certificateLifecycle } from '../workflows/certificate.ts';
import {
  certificateWorkflowId,
  csrChangedSignal,
  renewUpdate,
  searchAttributes,
  TASK_QUEUE,
  type CertificateRequest,
  type RenewRequest,
} from '../contract.ts';

export const WEBHOOK_PATH = '/webhooks/jira';

export interface WebhookOptions {
  client: Client;
  /** HMAC secret of the Jira webhook; when set, unsigned or badly signed requests get 401. */
  secret: string | undefined;
  maxBodyBytes: number;
  /** The connector's own Jira account: its transitions are the workflow's doing, not requests. */
  connectorAccountId: string;
  names: JiraNames;
  /** To tell a requester, on the issue, why a renewal request was refused. */
  jira: JiraClient;
}

/** The subset of a Jira issue event the receiver reads. */
interface JiraEvent {
  webhookEvent?: string;
  user?: { accountId?: string };
  issue?: { key?: string; fields?: { issuetype?: { name?: string }; status?: { name?: string } } };
  changelog?: {
    id?: string | number;
    items?: Array<{ field?: string; fieldId?: string; fromString?: string | null; toString?: string | null }>;
  };
}

export type EventDecision =
  | { action: 'enroll'; request: CertificateRequest }
  | { action: 'renew'; issueKey: string; request: RenewRequest }
  | { action: 'reevaluate'; issueKey: string }
  | { action: 'ignore'; reason: string };

/** What an event asks for. Pure: the receiver's whole policy, testable without HTTP or Temporal. */
export function interpretEvent(
  event: JiraEvent,
  deliveryId: string,
  names: JiraNames,
  connectorAccountId: string,
): EventDecision {
  if (event.webhookEvent !== 'jira:issue_updated')
    return { action: 'ignore', reason: `event ${event.webhookEvent ?? '(none)'}` };
  const key = event.issue?.key;
  if (!key) return { action: 'ignore', reason: 'no issue key' };
  if (event.issue?.fields?.issuetype?.name !== names.certificateIssueType) {
    return { action: 'ignore', reason: `issue type ${event.issue?.fields?.issuetype?.name ?? '(none)'}` };
  }
  const actor = event.user?.accountId;
  if (!actor) return { action: 'ignore', reason: 'no acting user' };
  if (actor === connectorAccountId) return { action: 'ignore', reason: "the connector's own change" };
  const changelogId = event.changelog?.id;
  const triggerId = changelogId === undefined ? deliveryId : `changelog:${changelogId}`;
  const items = event.changelog?.items ?? [];
  const move = items.find((item) => item.field === 'status');
  if (move?.toString === names.statuses.enrolled) {
    return { action: 'enroll', request: { issueKey: key, requestedBy: actor, triggerId } };
  }
  if (move?.toString === names.statuses.renewed) {
    return {
      action: 'renew',
      issueKey: key,
      request: {
        requestedBy: actor,
        requestId: triggerId,
        ...(move.fromString ? { returnToStatus: move.fromString } : {}),
      },
    };
  }
  if (items.some((item) => item.field === names.fields.csr)) return { action: 'reevaluate', issueKey: key };
  return { action: 'ignore', reason: 'no change the connector acts on' };
}

/** `sha256=<hex>` over the raw body, compared in constant time. */
export function verifySignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function createWebhookServer(options: WebhookOptions): Server {
  return createServer((req, res) => void handle(options, req, res));
}

async function handle(options: WebhookOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://receiver').pathname;
  try {
    if (req.method === 'GET' && path === '/healthz') {
      await options.client.workflowService.getSystemInfo({});
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (req.method !== 'POST' || path !== WEBHOOK_PATH) throw new HttpError(404, { error: 'not found' });
    sendJson(res, 202, await receive(options, req));
  } catch (err) {
    if (err instanceof HttpError) {
      sendJson(res, err.status, typeof err.body === 'string' ? { error: err.body } : err.body);
      return;
    }
    // Temporal unreachable or similar: 503 makes Jira deliver again later.
    log.error('webhook handling failed', { error: (err as Error).message });
    sendJson(res, 503, { error: 'temporarily unable to process the event' });
  }
}

async function receive(options: WebhookOptions, req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req, options.maxBodyBytes);
  const signature = req.headers['x-hub-signature'];
  if (
    options.secret !== undefined &&
    !verifySignature(raw, typeof signature === 'string' ? signature : undefined, options.secret)
  ) {
    log.warn('webhook refused: bad or missing signature', { remote: req.socket.remoteAddress });
    throw new HttpError(401, 'invalid or missing X-Hub-Signature');
  }
  let event: JiraEvent;
  try {
    event = JSON.parse(raw.toString('utf8')) as JiraEvent;
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
  const deliveryHeader = req.headers['x-atlassian-webhook-identifier'];
  const deliveryId = typeof deliveryHeader === 'string' ? deliveryHeader : '';
  const decision = interpretEvent(event, deliveryId, options.names, options.connectorAccountId);
  switch (decision.action) {
    case 'ignore':
      return { result: 'ignored', reason: decision.reason };
    case 'enroll':
      return startEnrollment(options, decision.request, deliveryId);
    case 'renew':
      return requestRenewal(options, decision.issueKey, decision.request);
    case 'reevaluate':
      return nudge(options, decision.issueKey);
  }
}

async function startEnrollment(
  options: WebhookOptions,
  request: CertificateRequest,
  deliveryId: string,
): Promise<Record<string, unknown>> {
  const workflowId = certificateWorkflowId(request.issueKey);
  const previous = await latestRun(options.client, workflowId);
  if (previous?.triggerId === request.triggerId) {
    log.info('duplicate delivery ignored', { workflowId, deliveryId, triggerId: request.triggerId });
    return { result: 'duplicate', workflowId };
  }
  if (previous?.running) {
    if (previous.phase !== 'Rejected') return { result: 'already-running', workflowId };
    // The rejected run is only finishing (it has moved the issue back): let it end, then start afresh.
    const finished = await Promise.race([
      options.client.workflow
        .getHandle(workflowId)
        .result()
        .then(
          () => true,
          () => true,
        ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), REJECTED_RUN_GRACE_MS)),
    ]);
    if (!finished) throw new HttpError(503, 'the previous request is still finishing; deliver again');
  }

  const handle = await options.client.workflow.start<typeof certificateLifecycle>('certificateLifecycle', {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [request],
    workflowIdConflictPolicy: 'USE_EXISTING',
    memo: { triggerId: request.triggerId },
    typedSearchAttributes: [
      { key: searchAttributes.issueKey, value: request.issueKey },
      { key: searchAttributes.status, value: 'Validating' },
    ],
    staticSummary: `Certificate for Jira issue ${request.issueKey}`,
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
async function requestRenewal(
  options: WebhookOptions,
  issueKey: string,
  request: RenewRequest,
): Promise<Record<string, unknown>> {
  const workflowId = certificateWorkflowId(issueKey);
  let refusal: string;
  try {
    const accepted = await options.client.workflow
      .getHandle(workflowId)
      .executeUpdate(renewUpdate, { args: [request], updateId: request.requestId });
    log.info('renewal requested', { workflowId, requestId: request.requestId, result: accepted.result });
    return { result: accepted.result === 'duplicate' ? 'duplicate' : 'renewal-requested', workflowId };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) refusal = err.cause?.message ?? err.message;
    else if (err instanceof WorkflowNotFoundError)
      refusal = 'This issue has no enrolled certificate to renew; run "Enroll Certificate" first.';
    else throw err;
  }
  const eventId = `receiver/${issueKey}/${request.requestId ?? 'renew'}/refused`;
  await options.jira.addCommentOnce(issueKey, eventId, refusal);
  if (request.returnToStatus) await options.jira.moveTo(issueKey, request.returnToStatus);
  log.info('renewal refused', { workflowId, requestId: request.requestId, refusal });
  return { result: 'renewal-refused', workflowId, reason: refusal };
}

/** The CSR on the issue changed: a waiting renewal retry should not wait out its backoff. */
async function nudge(options: WebhookOptions, issueKey: string): Promise<Record<string, unknown>> {
  const workflowId = certificateWorkflowId(issueKey);
  const run = await latestRun(options.client, workflowId);
  if (!run?.running) return { result: 'ignored', reason: 'no running workflow' };
  await options.client.workflow.getHandle(workflowId).signal(csrChangedSignal);
  return { result: 'csr-changed', workflowId };
}

/** How long a new Enroll waits for the previous, rejected run to end before asking Jira to retry. */
const REJECTED_RUN_GRACE_MS = 10_000;

async function latestRun(
  client: Client,
  workflowId: string,
): Promise<{ running: boolean; triggerId: unknown; phase: string | undefined } | undefined> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    return {
      running: description.status.name === 'RUNNING',
      triggerId: description.memo?.triggerId,
      phase: description.typedSearchAttributes.get(searchAttributes.status),
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
