/**
 * What Prometheus scrapes from a worker: the certificates (by phase and profile, seconds until each one
 * expires and until its renewal), how long enrollments, renewals and revocations take, failures by type,
 * and every SCM and Jira request (rate, latency, 429s) — beside the Temporal SDK's own runtime metrics,
 * served on the same endpoint. The certificate figures come from Temporal's visibility index (search
 * attributes), never from loading workflows, and are re-read at most every `fleetTtlMs`.
 */
import { createServer as createNetServer } from 'node:net';
import type { Client } from '@temporalio/client';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { literal, searchAttributes } from './contract/shared.ts';
import { RUNNING_CERTIFICATES, type MeasuredOperation } from './contract/certificate.ts';
import { log } from './log.ts';

/** One request to an outside system, as its client saw it. `status` 0: no answer (timeout, reset). */
export interface UpstreamCall {
  system: 'scm' | 'jira';
  operation: string;
  status: number;
  seconds: number;
}
export type UpstreamObserver = (call: UpstreamCall) => void;

/** A certificate as the visibility index knows it. */
export interface FleetEntry {
  issueKey: string;
  domain: string;
  profile: string;
  certificateId: string;
  phase: string;
  notAfter: Date | undefined;
  renewAt: Date | undefined;
}

const DURATION_BUCKETS = [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86_400];
const REQUEST_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * What one reading of visibility gives. `entries` carry the per-certificate series; when `activeByProfile`
 * is there, `entries` hold only the certificates that need attention, and the Active ones are counted
 * from it instead.
 */
export interface Fleet {
  entries: FleetEntry[];
  activeByProfile?: Map<string, number>;
}

export interface MetricsOptions {
  /** Reads the fleet; without it the certificate gauges are empty (the receiver, some tests). */
  fleet?: () => Promise<Fleet>;
  /** How long one reading of the fleet serves scrapes (default 30 s). */
  fleetTtlMs?: number;
  /** Where the SDK's Prometheus exporter listens; its text is served with ours. */
  sdkMetricsAddress?: string;
}

export class ConnectorMetrics {
  readonly registry = new Registry();
  readonly #options: MetricsOptions;
  #fleet: { at: number; read: Promise<Fleet> } | undefined;
  readonly #durations: Histogram<'operation' | 'profile'>;
  readonly #failures: Counter<'operation' | 'type'>;
  readonly #requests: Counter<'system' | 'operation' | 'code'>;
  readonly #latency: Histogram<'system' | 'operation'>;
  readonly #rateLimited: Counter<'system'>;

  constructor(options: MetricsOptions = {}) {
    this.#options = options;
    const registers = [this.registry];
    collectProcessMetrics(this.registry);
    const readFleet = () => this.#readFleet();

    new Gauge({
      name: 'certificate_workflows',
      help: 'Certificate workflows running, by phase and profile.',
      labelNames: ['phase', 'profile'],
      registers,
      async collect() {
        this.reset();
        const { entries, activeByProfile } = await readFleet();
        for (const [profile, count] of activeByProfile ?? []) this.set({ phase: 'Active', profile }, count);
        for (const entry of entries) {
          if (!activeByProfile || entry.phase !== 'Active') this.inc({ phase: entry.phase, profile: entry.profile });
        }
      },
    });
    // Points in time, as cert-manager's certmanager_certificate_expiration_timestamp_seconds: alerts compare
    // them with time(), and a series keeps its value between scrapes. The Certificate ID, which changes
    // with every renewal, lives on certificate_info alone, so that a renewal does not start new series.
    new Gauge({
      name: 'certificate_expiration_timestamp_seconds',
      help: 'When the certificate expires (its notAfter), in seconds since the epoch; absent once revoked.',
      labelNames: ['issue_key', 'domain', 'profile'],
      registers,
      async collect() {
        this.reset();
        for (const entry of (await readFleet()).entries) {
          if (!entry.notAfter || entry.phase === 'Revoked') continue;
          this.set(labelsOf(entry), Math.round(entry.notAfter.getTime() / 1000));
        }
      },
    });
    new Gauge({
      name: 'certificate_renewal_timestamp_seconds',
      help: 'When the automatic renewal is planned, in seconds since the epoch; absent when none is planned.',
      labelNames: ['issue_key', 'domain', 'profile'],
      registers,
      async collect() {
        this.reset();
        for (const entry of (await readFleet()).entries) {
          if (!entry.renewAt) continue;
          this.set(labelsOf(entry), Math.round(entry.renewAt.getTime() / 1000));
        }
      },
    });
    new Gauge({
      name: 'certificate_info',
      help: 'The certificate an issue holds now (always 1): join on issue_key for its SCM Certificate ID.',
      labelNames: ['issue_key', 'domain', 'profile', 'certificate_id'],
      registers,
      async collect() {
        this.reset();
        for (const entry of (await readFleet()).entries) {
          if (!entry.certificateId || entry.phase === 'Revoked') continue;
          this.set({ ...labelsOf(entry), certificate_id: entry.certificateId }, 1);
        }
      },
    });
    this.#durations = new Histogram({
      name: 'certificate_operation_duration_seconds',
      help: 'From the start of an enrollment, renewal or revocation to its certificate published (or revoked) on the issue.',
      labelNames: ['operation', 'profile'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#failures = new Counter({
      name: 'certificate_failures_total',
      help: 'Enrollments, renewals and revocations that failed, by the failure type.',
      labelNames: ['operation', 'type'],
      registers,
    });
    this.#requests = new Counter({
      name: 'connector_upstream_requests_total',
      help: 'Requests to SCM and Jira by operation and HTTP status (0: no answer).',
      labelNames: ['system', 'operation', 'code'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'connector_upstream_request_duration_seconds',
      help: 'Latency of requests to SCM and Jira.',
      labelNames: ['system', 'operation'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.#rateLimited = new Counter({
      name: 'connector_upstream_rate_limited_total',
      help: 'Requests SCM or Jira answered with 429 Too Many Requests.',
      labelNames: ['system'],
      registers,
    });
  }

  /** For the SCM and Jira clients. */
  readonly observeCall: UpstreamObserver = ({ system, operation, status, seconds }) => {
    this.#requests.inc({ system, operation, code: String(status) });
    this.#latency.observe({ system, operation }, seconds);
    if (status === 429) this.#rateLimited.inc({ system });
  };

  completed(operation: MeasuredOperation, profile: string, seconds: number): void {
    this.#durations.observe({ operation, profile }, seconds);
  }

  failed(operation: MeasuredOperation, type: string): void {
    this.#failures.inc({ operation, type });
  }

  /** The exposition text: ours, then the SDK's (when its exporter answers). */
  async text(): Promise<string> {
    const ours = await this.registry.metrics();
    const address = this.#options.sdkMetricsAddress;
    if (!address) return ours;
    try {
      const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(5000) });
      return `${ours}\n${await res.text()}`;
    } catch (err) {
      log.warn('the SDK metrics exporter did not answer', { address, error: (err as Error).message });
      return ours;
    }
  }

  #readFleet(): Promise<Fleet> {
    const read = this.#options.fleet;
    if (!read) return Promise.resolve({ entries: [] });
    const at = Date.now();
    if (!this.#fleet || at - this.#fleet.at >= (this.#options.fleetTtlMs ?? 30_000)) {
      const fleet = read().catch((err: unknown) => {
        log.warn('could not read the certificates from visibility', { error: (err as Error).message });
        this.#fleet = undefined;
        return { entries: [] };
      });
      this.#fleet = { at, read: fleet };
    }
    return this.#fleet.read;
  }
}

function labelsOf(entry: FleetEntry) {
  return { issue_key: entry.issueKey, domain: entry.domain, profile: entry.profile };
}

/** Which certificates get series of their own: every one, or only those that need attention. */
export type CertificateSeries = 'all' | 'attention';

/** How far ahead an expiry needs attention: the longest escalation before expiry, and then some. */
export const ATTENTION_DAYS = 30;

export interface FleetReaderOptions {
  series?: CertificateSeries;
  /** The configured profiles' ids, for counting the Active certificates of each (with `attention`). */
  profileIds?: () => string[];
}

/**
 * Reads the certificates from their search attributes (one visibility page per 1,000). With `all`, every
 * running certificate; with `attention`, only those not Active, renewing late or expiring within
 * ATTENTION_DAYS — what the alerts look at — and the Active ones counted per profile, so that neither the
 * worker's memory nor the reading grows with a healthy fleet.
 */
export function fleetReader(client: Client, options: FleetReaderOptions = {}): () => Promise<Fleet> {
  return async () => {
    if (options.series !== 'attention') return { entries: await listCertificates(client, RUNNING_CERTIFICATES) };
    const at = Date.now();
    const soon = new Date(at + ATTENTION_DAYS * 86_400_000).toISOString();
    const attention =
      `${RUNNING_CERTIFICATES} AND (${searchAttributes.status.name} != 'Active'` +
      ` OR ${searchAttributes.notAfter.name} < '${soon}'` +
      ` OR ${searchAttributes.renewAt.name} < '${new Date(at).toISOString()}')`;
    const active = `${RUNNING_CERTIFICATES} AND ${searchAttributes.status.name} = 'Active'`;
    const activeByProfile = new Map<string, number>();
    let counted = 0;
    for (const profile of options.profileIds?.() ?? []) {
      const { count } = await client.workflow.count(
        `${active} AND ${searchAttributes.profile.name} = ${literal(profile)}`,
      );
      if (count > 0) activeByProfile.set(profile, count);
      counted += count;
    }
    // Active certificates of a profile no longer configured.
    const rest = (await client.workflow.count(active)).count - counted;
    if (rest > 0) activeByProfile.set('', rest);
    return { entries: await listCertificates(client, attention), activeByProfile };
  };
}

async function listCertificates(client: Client, query: string): Promise<FleetEntry[]> {
  const entries: FleetEntry[] = [];
  for await (const run of client.workflow.list({ query, pageSize: 1000 })) {
    const attrs = run.typedSearchAttributes;
    entries.push({
      issueKey: attrs.get(searchAttributes.issueKey) ?? run.workflowId,
      domain: attrs.get(searchAttributes.domain) ?? '',
      profile: attrs.get(searchAttributes.profile) ?? '',
      certificateId: attrs.get(searchAttributes.certificateId) ?? '',
      phase: attrs.get(searchAttributes.status) ?? 'Validating',
      notAfter: attrs.get(searchAttributes.notAfter),
      renewAt: attrs.get(searchAttributes.renewAt),
    });
  }
  return entries;
}

/**
 * The process's own metrics (memory, CPU, event loop) into `registry`. prom-client names three of its
 * gauges *_total, which Prometheus keeps for counters: they go; the same counts by type
 * (nodejs_active_handles, nodejs_active_requests, nodejs_active_resources) stay.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
    registry.removeSingleMetric(name);
}

/**
 * The receiver's /metrics: every delivery to the webhook path by its outcome — the result it was answered
 * 202 with (`started`, `ignored`, `duplicate_delivery`, …) or why it was refused (`bad_signature` 401,
 * `malformed` 400, `too_large` 413, `unavailable` 503, Jira then delivering again).
 */
export class ReceiverMetrics {
  readonly registry = new Registry();
  readonly #deliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Jira webhook deliveries, by what the receiver made of them.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  constructor() {
    collectProcessMetrics(this.registry);
  }

  delivered(outcome: string): void {
    this.#deliveries.inc({ outcome: outcome.replaceAll('-', '_') });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A loopback port free right now, for the SDK's exporter (which needs a fixed address). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
