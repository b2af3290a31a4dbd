/**
 * The Jira webhook receiver: verifies the signature on the raw body, maps the event and starts the
 * certificate's workflow. It never calls SCM. Duplicate deliveries and double clicks change nothing:
 * the workflow id is the issue, a running workflow is reused, and a finished run remembers its trigger.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { JiraClient, JiraNames } from '../jira/client.ts';
import { z } from 'zod';
import { HttpError, readBody, sendJson } from '../http.ts';
import { ISSUE_KEY } from '../jira/client.ts';
import { adfToText } from '../jira/adf.ts';
import { comments, renewalRefusals, revocationRefusals } from '../messages.ts';
import { log } from '../log.ts';
import { ReceiverMetrics } from '../metrics.ts';
import { readiness } from '../ops.ts';
import { requestedDomain } from '../csr/inspect.ts';
import type { certificateLifecycle } from '../workflows/certificate.ts';
import type { revokeExternalCertificate } from '../workflows/revoke-external.ts';
import {
  certificateWorkflowId,
  csrChangedSignal,
  renewUpdate,
  REVOCATION_REASONS,
  revokeIssueChangedSignal,
  revokeUpdate,
  revokeWorkflowId,
  searchAttributes,
  TASK_QUEUE,
  type CertificateRequest,
  type RenewRequest,
  revocationReasonCode,
  type RevokeRequest,
  type RevokerPolicy,
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
  /** Deliveries already handled (default: a new log with a seven-day retention). */
  deliveries?: DeliveryLog;
  /** Who may revoke from Jira. */
  revokers: RevokerPolicy;
}

/** The receiver's dependencies and its log of handled deliveries. */
export type Receiver = Omit<WebhookOptions, 'secret' | 'maxBodyBytes'> & { deliveries: DeliveryLog };

/**
 * The subset of a Jira issue event the receiver reads. A signed body of another shape is a bad request
 * (400), never a reason to have Jira deliver it again.
 */
const jiraEventSchema = z.looseObject({
  webhookEvent: z.string().optional(),
  user: z.looseObject({ accountId: z.string().optional(), displayName: z.string().optional() }).optional(),
  /** The comment a person wrote in a transition's dialog. */
  comment: z.looseObject({ body: z.unknown() }).optional(),
  issue: z
    .looseObject({
      key: z.string().optional(),
      fields: z
        .looseObject({
          issuetype: z.looseObject({ name: z.string().optional() }).nullish(),
          status: z.looseObject({ name: z.string().optional() }).nullish(),
        })
        .optional(),
    })
    .optional(),
  changelog: z
    .looseObject({
      id: z.union([z.string(), z.number()]).optional(),
      items: z
        .array(
          z.looseObject({
            field: z.string().optional(),
            fieldId: z.string().optional(),
            fromString: z.string().nullish(),
            toString: z.string().nullish(),
          }),
        )
        .optional(),
    })
    .optional(),
});
export type JiraEvent = z.infer<typeof jiraEventSchema>;

export type EventDecision =
  | { action: 'enroll'; request: CertificateRequest }
  | { action: 'revoke-external'; issueKey: string; requestedBy: string; requestedByName: string | undefined }
  | { action: 'revoke-external-changed'; issueKey: string }
  | {
      action: 'revoke';
      issueKey: string;
      /** The "Revocation reason" chosen in the dialog, as Jira shows it (undefined: none). */
      reasonName: string | undefined;
      comment: string | undefined;
      requestedBy: string;
      requestedByName: string | undefined;
      requestId: string;
      returnToStatus: string | undefined;
    }
  | { action: 'renew'; issueKey: string; request: RenewRequest }
  | { action: 'reevaluate'; issueKey: string }
  | { action: 'ignore'; reason: string };

/** What an event asks for. Pure: the receiver's whole policy, testable without HTTP or Temporal. */
export function interpretEvent(
  event: JiraEvent,
  deliveryId: string,
  names: JiraNames,
  connectorAccountId: string,
  revocationReasonFieldId?: string,
): EventDecision {
  const updated = event.webhookEvent === 'jira:issue_updated';
  const created = event.webhookEvent === 'jira:issue_created';
  if (!updated && !created) return { action: 'ignore', reason: `event ${event.webhookEvent ?? '(none)'}` };
  const key = event.issue?.key;
  if (!key) return { action: 'ignore', reason: 'no issue key' };
  if (!ISSUE_KEY.test(key)) return { action: 'ignore', reason: 'not a Jira issue key' };
  // A webhook (or its JQL) may cover more than the project: another project's issues are not ours.
  if (!key.startsWith(`${names.projectKey}-`)) return { action: 'ignore', reason: `another project's issue ${key}` };
  if (event.issue?.fields?.issuetype?.name === names.revokeIssueType) {
    const actor = event.user?.accountId;
    if (!actor || actor === connectorAccountId) return { action: 'ignore', reason: "the connector's own change" };
    if (created) {
      return { action: 'revoke-external', issueKey: key, requestedBy: actor, requestedByName: event.user?.displayName };
    }
    const watched = [
      names.fields.profile,
      names.fields.certificateId,
      names.fields.domain,
      names.fields.revocationReason,
    ];
    if ((event.changelog?.items ?? []).some((item) => watched.includes(item.field ?? ''))) {
      return { action: 'revoke-external-changed', issueKey: key };
    }
    return { action: 'ignore', reason: 'no change the connector acts on' };
  }
  if (!updated) return { action: 'ignore', reason: `event ${event.webhookEvent ?? '(none)'}` };
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
  if (move?.toString === names.statuses.revoked) {
    const reason = revocationReasonFieldId ? event.issue?.fields?.[revocationReasonFieldId] : undefined;
    const reasonName = (reason as { value?: unknown } | null | undefined)?.value;
    const comment = event.comment?.body === undefined ? '' : adfToText(event.comment.body).trim();
    return {
      action: 'revoke',
      issueKey: key,
      reasonName: typeof reasonName === 'string' ? reasonName : undefined,
      comment: comment === '' ? undefined : comment.slice(0, 500),
      requestedBy: actor,
      requestedByName: event.user?.displayName,
      requestId: triggerId,
      returnToStatus: move.fromString ?? undefined,
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

/** Why a delivery was refused, by the status it was answered with. */
const REFUSALS: Record<number, string> = { 400: 'malformed', 401: 'bad_signature', 413: 'too_large' };

export function createWebhookServer(options: WebhookOptions): Server {
  const receiver: Receiver & WebhookOptions = { ...options, deliveries: options.deliveries ?? new DeliveryLog() };
  const metrics = new ReceiverMetrics();
  return createServer((req, res) => void handle(receiver, metrics, req, res));
}

async function handle(
  options: Receiver & WebhookOptions,
  metrics: ReceiverMetrics,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://receiver').pathname;
  const delivery = req.method === 'POST' && path === WEBHOOK_PATH;
  try {
    if (req.method === 'GET' && path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      const { ready, results } = await readiness({
        temporal: async () => void (await options.client.workflowService.getSystemInfo({})),
      });
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: results });
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      const text = await metrics.text();
      res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }).end(text);
      return;
    }
    if (!delivery) throw new HttpError(404, { error: 'not found' });
    const answer = await receive(options, req);
    metrics.delivered(typeof answer.result === 'string' ? answer.result : 'accepted');
    sendJson(res, 202, answer);
  } catch (err) {
    if (err instanceof HttpError) {
      if (delivery) metrics.delivered(REFUSALS[err.status] ?? `http_${err.status}`);
      sendJson(res, err.status, typeof err.body === 'string' ? { error: err.body } : err.body);
      return;
    }
    // Temporal unreachable or similar: 503 makes Jira deliver again later.
    if (delivery) metrics.delivered('unavailable');
    log.error('webhook handling failed', { error: (err as Error).message });
    sendJson(res, 503, { error: 'temporarily unable to process the event' });
  }
}

async function receive(options: Receiver & WebhookOptions, req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req, options.maxBodyBytes);
  const signature = req.headers['x-hub-signature'];
  if (
    options.secret !== undefined &&
    !verifySignature(raw, typeof signature === 'string' ? signature : undefined, options.secret)
  ) {
    log.warn('webhook refused: bad or missing signature', { remote: req.socket.remoteAddress });
    throw new HttpError(401, 'invalid or missing X-Hub-Signature');
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
  const parsed = jiraEventSchema.safeParse(body);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new HttpError(
      400,
      `not a Jira issue event: ${first ? `${first.path.join('.') || 'body'}: ${first.message}` : ''}`,
    );
  }
  const deliveryHeader = req.headers['x-atlassian-webhook-identifier'];
  return handleEvent(options, parsed.data, typeof deliveryHeader === 'string' ? deliveryHeader : '');
}

/**
 * Acts on one Jira issue event — delivered by a webhook, or derived from a changelog by the polling
 * trigger — once per delivery id: interprets it, then starts, updates or signals the workflow it concerns.
 */
export async function handleEvent(
  options: Receiver,
  event: JiraEvent,
  deliveryId: string,
): Promise<Record<string, unknown>> {
  // One event of an issue at a time: two copies of a delivery at once (Jira sends them) would both find it
  // unhandled and both act — two refusal comments, two updates racing. The second now waits, then finds
  // the delivery handled.
  return options.deliveries.oneAtATime(event.issue?.key ?? deliveryId, () => handleOnce(options, event, deliveryId));
}

async function handleOnce(options: Receiver, event: JiraEvent, deliveryId: string): Promise<Record<string, unknown>> {
  if (deliveryId !== '' && options.deliveries.seen(deliveryId)) {
    log.info('delivery already handled', { deliveryId });
    return { result: 'duplicate-delivery' };
  }
  const decision = interpretEvent(
    event,
    deliveryId,
    options.names,
    options.connectorAccountId,
    options.jira.fieldId('revocationReason'),
  );
  const answer = await act(options, decision, deliveryId, event);
  // Remembered only once handled: a delivery that failed (503) must be taken when Jira sends it again.
  if (deliveryId !== '') options.deliveries.remember(deliveryId);
  return answer;
}

function act(
  options: Receiver,
  decision: EventDecision,
  deliveryId: string,
  event: JiraEvent,
): Promise<Record<string, unknown>> {
  switch (decision.action) {
    case 'ignore':
      return Promise.resolve({ result: 'ignored', reason: decision.reason });
    case 'enroll':
      return startEnrollment(
        options,
        decision.request,
        deliveryId,
        webUiMetadata(options.jira, event, decision.request),
      );
    case 'renew':
      return requestRenewal(options, decision.issueKey, decision.request);
    case 'reevaluate':
      return nudge(options, decision.issueKey);
    case 'revoke':
      return requestRevocation(options, decision);
    case 'revoke-external':
      return startExternalRevocation(options, decision);
    case 'revoke-external-changed':
      return signalExternalRevocation(options, decision.issueKey);
  }
}

/**
 * Why `accountId` may not revoke (undefined: it may). Unless revocation is open to anyone, the requester of
 * the certificate — the reporter of `certificateIssue` — may, and so may the revokers group's members.
 */
async function revocationRefusal(
  options: Receiver,
  accountId: string,
  certificateIssue: string | undefined,
): Promise<string | undefined> {
  const { group, anyone } = options.revokers;
  if (anyone) return undefined;
  if (certificateIssue) {
    const { reporterAccountId } = await options.jira.getCertificateIssue(certificateIssue);
    if (reporterAccountId === accountId) return undefined;
  }
  if (group && (await options.jira.isMemberOf(accountId, group))) return undefined;
  if (group) return revocationRefusals.notInGroup(group, certificateIssue !== undefined);
  return certificateIssue ? revocationRefusals.notRequester : revocationRefusals.noRevokersGroup;
}

/** A "Revoke Certificate" issue was created: its workflow finds the certificate and revokes it. */
async function startExternalRevocation(
  options: Receiver,
  decision: Extract<EventDecision, { action: 'revoke-external' }>,
): Promise<Record<string, unknown>> {
  const { issueKey } = decision;
  const workflowId = revokeWorkflowId(issueKey);
  const refusal = await revocationRefusal(options, decision.requestedBy, undefined);
  if (refusal) {
    await options.jira.addCommentOnce(issueKey, `receiver/${issueKey}/revocation-refused`, refusal);
    return { result: 'revocation-refused', workflowId, reason: refusal };
  }
  await options.client.workflow.start<typeof revokeExternalCertificate>('revokeExternalCertificate', {
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
async function signalExternalRevocation(options: Receiver, issueKey: string): Promise<Record<string, unknown>> {
  const workflowId = revokeWorkflowId(issueKey);
  try {
    await options.client.workflow.getHandle(workflowId).signal(revokeIssueChangedSignal);
    return { result: 'revocation-changed', workflowId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { result: 'ignored', reason: 'no revocation waiting' };
    throw err;
  }
}

/**
 * Turns "Revoke Certificate" into the workflow's `revoke` update, with the changelog id as update id. A
 * refusal the user can act on (no reason, not allowed, nothing enrolled) is told on the issue, which
 * goes back where it was.
 */
async function requestRevocation(
  options: Receiver,
  decision: Extract<EventDecision, { action: 'revoke' }>,
): Promise<Record<string, unknown>> {
  const { issueKey, requestId } = decision;
  const workflowId = certificateWorkflowId(issueKey);
  const refuse = async (reason: string, returnTo = decision.returnToStatus) => {
    await options.jira.addCommentOnce(issueKey, `receiver/${issueKey}/${requestId}/revocation-refused`, reason);
    if (returnTo) await returnIssue(options, issueKey, options.names.statuses.revoked, returnTo);
    log.info('revocation refused', { workflowId, requestId, reason });
    return { result: 'revocation-refused', workflowId, reason };
  };
  const reasonCode = revocationReasonCode(decision.reasonName);
  if (reasonCode === undefined) {
    return refuse(
      revocationRefusals.noReason(options.names.fields.revocationReason, Object.keys(REVOCATION_REASONS).join(', ')),
    );
  }
  const refusal = await revocationRefusal(options, decision.requestedBy, issueKey);
  if (refusal) return refuse(refusal);
  const request: RevokeRequest = {
    reasonCode,
    requestedBy: decision.requestedBy,
    requestId,
    ...(decision.comment ? { comment: decision.comment } : {}),
    ...(decision.requestedByName ? { requestedByName: decision.requestedByName } : {}),
  };
  try {
    const accepted = await options.client.workflow
      .getHandle(workflowId)
      .executeUpdate(revokeUpdate, { args: [request], updateId: requestId });
    log.info('revocation requested', { workflowId, requestId, result: accepted.result });
    return { result: accepted.result === 'accepted' ? 'revocation-requested' : accepted.result, workflowId };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) return refuse(err.cause?.message ?? err.message);
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  // No running workflow: revoked already (one comment, the same end state), or nothing was ever enrolled.
  const run = await latestRun(options.client, workflowId);
  if (run?.phase === 'Revoked') {
    await options.jira.addCommentOnce(
      issueKey,
      `receiver/${issueKey}/${requestId}/revoked-already`,
      revocationRefusals.alreadyRevoked,
    );
    return { result: 'revoked-already', workflowId };
  }
  return refuse(revocationRefusals.notEnrolled);
}

/**
 * Delivery identifiers handled within the retention period, and the events of each issue being handled.
 * Jira retries a delivery with the same identifier; an old delivery replayed later is dropped here, and the
 * workflow also confirms on the issue that the transition it was started for is still the latest status
 * change.
 */
export class DeliveryLog {
  readonly #retentionMs: number;
  readonly #maxEntries: number;
  readonly #seen = new Map<string, number>();
  /**
   * The events being handled, by issue: this receiver's own (it was one map for the whole process, so a
   * call left hanging by one receiver held every later event of that issue key in any other).
   */
  readonly #pending = new Map<string, Promise<unknown>>();
  constructor({ retentionMs = 7 * 86_400_000, maxEntries = 100_000 } = {}) {
    this.#retentionMs = retentionMs;
    this.#maxEntries = maxEntries;
  }

  seen(id: string, now = Date.now()): boolean {
    const at = this.#seen.get(id);
    return at !== undefined && now - at < this.#retentionMs;
  }

  /** Runs `task` after every earlier task of the same key has finished, whatever their outcome. */
  async oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.#pending.get(key) ?? Promise.resolve();
    const run = before.then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.#pending.get(key) === settled) this.#pending.delete(key);
    }
  }

  remember(id: string, now = Date.now()): void {
    this.#seen.delete(id);
    this.#seen.set(id, now);
    // Oldest first (insertion order): drop what is past retention, and the oldest beyond the bound.
    for (const [key, at] of this.#seen) {
      if (now - at < this.#retentionMs && this.#seen.size <= this.#maxEntries) break;
      this.#seen.delete(key);
    }
  }
}

/**
 * What the Temporal Web UI shows of a certificate workflow from its start (its "static" summary and
 * details): the domain and profile as requested, and a link to the issue. Jira text is escaped.
 */
export function webUiMetadata(
  jira: JiraClient,
  event: JiraEvent,
  request: CertificateRequest,
): { staticSummary: string; staticDetails: string } {
  const fields = event.issue?.fields ?? {};
  const field = (key: 'profile' | 'csr') => {
    const id = jira.fieldId(key);
    return id ? fields[id] : undefined;
  };
  const profile = field('profile');
  const profileName = typeof profile === 'string' ? profile : (profile as { value?: unknown } | null)?.value;
  const domain = requestedDomain(adfToText(field('csr')));
  const summary = typeof fields.summary === 'string' ? fields.summary : undefined;
  const who = event.user?.displayName ?? request.requestedBy;
  const lines = [
    `**[${request.issueKey}](${jira.issueUrl(request.issueKey)})**${summary ? ` ${markdownText(summary)}` : ''}`,
    [
      domain ? markdownText(domain) : 'no domain readable in the CSR',
      typeof profileName === 'string' ? markdownText(profileName) : 'no profile chosen',
      `requested by ${markdownText(who)}`,
    ].join(' · '),
  ];
  return {
    staticSummary: `${domain ? `${markdownText(domain)} — ` : ''}certificate for Jira issue ${request.issueKey}`,
    staticDetails: lines.join('\n\n'),
  };
}

/** Jira text shown as Markdown: characters that would be markup are escaped, lines joined, length bounded. */
function markdownText(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .slice(0, 200)
    .replace(/[\\`*_{}[\]()<>#+!|~]/g, (c) => `\\${c}`);
}

async function startEnrollment(
  options: Receiver,
  request: CertificateRequest,
  deliveryId: string,
  metadata: { staticSummary: string; staticDetails: string },
): Promise<Record<string, unknown>> {
  const workflowId = certificateWorkflowId(request.issueKey);
  const previous = await latestRun(options.client, workflowId);
  if (previous?.triggerId === request.triggerId) {
    log.info('duplicate delivery ignored', { workflowId, deliveryId, triggerId: request.triggerId });
    return { result: 'duplicate', workflowId };
  }
  if (previous?.running && undecided(previous)) {
    const outcome = await previousRunSettles(options.client, workflowId);
    if (outcome === 'serving') return { result: 'already-running', workflowId };
    if (outcome === 'undecided') throw new HttpError(503, 'the previous request is still finishing; deliver again');
  } else if (previous?.running) {
    return { result: 'already-running', workflowId };
  }

  const handle = await options.client.workflow.start<typeof certificateLifecycle>('certificateLifecycle', {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [{ ...request, issueUrl: options.jira.issueUrl(request.issueKey) }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    memo: { triggerId: request.triggerId },
    typedSearchAttributes: [
      { key: searchAttributes.issueKey, value: request.issueKey },
      { key: searchAttributes.status, value: 'Validating' },
    ],
    ...metadata,
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
  options: Receiver,
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
    if (accepted.result === 'joined') {
      const eventId = `receiver/${issueKey}/${request.requestId ?? 'renew'}/joined`;
      await options.jira.addCommentOnce(issueKey, eventId, comments.renewalJoined());
    }
    return { result: accepted.result === 'accepted' ? 'renewal-requested' : accepted.result, workflowId };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) refusal = err.cause?.message ?? err.message;
    else if (err instanceof WorkflowNotFoundError) {
      const run = await latestRun(options.client, workflowId);
      refusal = run?.phase === 'Revoked' ? renewalRefusals.revoked : renewalRefusals.notEnrolled;
    } else throw err;
  }
  const eventId = `receiver/${issueKey}/${request.requestId ?? 'renew'}/refused`;
  await options.jira.addCommentOnce(issueKey, eventId, refusal);
  if (request.returnToStatus) {
    await returnIssue(options, issueKey, options.names.statuses.renewed, request.returnToStatus);
  }
  log.info('renewal refused', { workflowId, requestId: request.requestId, refusal });
  return { result: 'renewal-refused', workflowId, reason: refusal };
}

/**
 * Returns a refused request's issue to where it came from, but only from where the request put it: a late
 * or redelivered event must not move an issue that has moved on since (a revoked issue back to Enrolled).
 */
async function returnIssue(options: Receiver, issueKey: string, requestedStatus: string, returnTo: string) {
  const { status } = await options.jira.getCertificateIssue(issueKey);
  if (status !== requestedStatus) {
    log.info('issue not returned: it has moved on', { issueKey, status, returnTo });
    return;
  }
  await options.jira.moveTo(issueKey, returnTo, [], {}, status);
}

/** The CSR on the issue changed: a waiting renewal retry should not wait out its backoff. */
async function nudge(options: Receiver, issueKey: string): Promise<Record<string, unknown>> {
  const workflowId = certificateWorkflowId(issueKey);
  const run = await latestRun(options.client, workflowId);
  if (!run?.running) return { result: 'ignored', reason: 'no running workflow' };
  await options.client.workflow.getHandle(workflowId).signal(csrChangedSignal);
  return { result: 'csr-changed', workflowId };
}

/** How long a new Enroll waits for the previous, rejected run to end before asking Jira to retry. */
const REJECTED_RUN_GRACE_MS = 10_000;

/**
 * A run that is Rejected (only finishing: it has moved the issue back) or still Validating (it may find its
 * trigger taken back and end without a word) has not decided whether it serves a new Enroll.
 */
function undecided(run: { phase: string | undefined } | undefined): boolean {
  return run?.phase === 'Rejected' || run?.phase === 'Validating';
}

/**
 * Waits for an undecided run to decide: 'ended' (a new run is started for this Enroll), 'serving' (it read
 * the issue after this Enroll and goes on with it), or 'undecided' still after the grace (Jira delivers again).
 */
async function previousRunSettles(client: Client, workflowId: string): Promise<'ended' | 'serving' | 'undecided'> {
  // Described, not awaited: a run that goes on serving may run for a year, and a result() call with it.
  for (const deadline = Date.now() + REJECTED_RUN_GRACE_MS; Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await latestRun(client, workflowId);
    if (!now?.running) return 'ended';
    if (!undecided(now)) return 'serving';
  }
  return 'undecided';
}

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
