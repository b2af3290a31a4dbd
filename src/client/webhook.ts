/**
 * The Jira webhook receiver: verifies the signature on the raw body, reads the event, and hands it to the
 * dispatcher, which starts, updates or signals the workflow it concerns. It never calls SCM nor writes to
 * Jira. Duplicate deliveries and double clicks change nothing: the workflow id is the issue, a running
 * workflow is reused, and a finished run remembers its trigger.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Client } from '@temporalio/client';
import { DeliverAgain, type Answer, type Dispatcher } from '../events/dispatcher.ts';
import { jiraEventSchema } from '../events/jira-event.ts';
import { HttpError, readBody, sendJson } from '../http.ts';
import { log } from '../log.ts';
import { ReceiverMetrics } from '../metrics.ts';
import { readiness } from '../ops.ts';
import { namespaceCheck, type TemporalTarget } from '../temporal-connection.ts';

export const WEBHOOK_PATH = '/webhooks/jira';

export interface WebhookOptions {
  /** For readiness: the receiver is ready when Temporal lets it into the namespace. */
  client: Client;
  /** Where Temporal is configured, so that /readyz says which setting to fix. */
  target?: TemporalTarget;
  /** Acts on each event. */
  dispatcher: Dispatcher;
  /** HMAC secret of the Jira webhook; when set, unsigned or badly signed requests get 401. */
  secret: string | undefined;
  maxBodyBytes: number;
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
  const metrics = new ReceiverMetrics();
  return createServer((req, res) => void handle(options, metrics, req, res));
}

async function handle(
  options: WebhookOptions,
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
        temporal: namespaceCheck(options.client, options.target),
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
    metrics.delivered(answer.result);
    sendJson(res, 202, answer);
  } catch (err) {
    if (err instanceof DeliverAgain) {
      if (delivery) metrics.delivered('http_503');
      sendJson(res, 503, { error: err.message });
      return;
    }
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

async function receive(options: WebhookOptions, req: IncomingMessage): Promise<Answer> {
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
  return options.dispatcher.handle(parsed.data, typeof deliveryHeader === 'string' ? deliveryHeader : '');
}
