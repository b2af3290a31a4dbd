/**
 * What Prometheus scrapes from a worker: the certificates (by phase and profile, seconds until each one
 * expires and until its renewal), how long enrollments, renewals and revocations take, failures by type,
 * and every SCM and Jira request (rate, latency, 429s) — beside the Temporal SDK's own runtime metrics,
 * served on the same endpoint. The certificate figures come from Temporal's visibility index (search
 * attributes), never from loading workflows: counts for the fleet, series for the certificates that need
 * attention. They are read off the scrape path, a scrape serving the last reading.
 */
import { connect, createServer as createNetServer } from 'node:net';
import type { Client } from '@temporalio/client';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  CERTIFICATE_PHASES,
  DEFAULT_ACCOUNT,
  keywordIs,
  keywordIsNot,
  literal,
  searchAttributes,
} from './contract/shared.ts';
import { RUNNING_CERTIFICATES, type MeasuredOperation } from './contract/certificate.ts';
import { reissueProgressQuery, RUNNING_REISSUES, type ReissueProgress } from './contract/reissue.ts';
import { log } from './log.ts';
import type { ScmAuth } from './sectigo/client.ts';
import { clientCertificateExpiry } from './sectigo/client-certificate.ts';

/** One request to an outside system, as its client saw it. `status` 0: no answer (timeout, reset). */
export interface UpstreamCall {
  system: 'scm' | 'jira';
  /** The SCM account asked (`default`: SECTIGO_*); none for Jira. */
  account?: string;
  operation: string;
  status: number;
  seconds: number;
}
export type UpstreamObserver = (call: UpstreamCall) => void;

/** A certificate that needs attention, as the visibility index knows it. */
export interface FleetEntry {
  issueKey: string;
  domain: string;
  profile: string;
  certificateId: string;
  phase: string;
  notAfter: Date | undefined;
  renewAt: Date | undefined;
}

/** How many running certificates are in one phase of one profile. */
export interface PhaseCount {
  phase: string;
  profile: string;
  count: number;
}

const DURATION_BUCKETS = [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86_400];
const REQUEST_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * What one reading of visibility gives: the running certificates counted by phase and profile, and the
 * certificates that need attention, up to a limit — `omitted` says how many more there were.
 */
export interface Fleet {
  counts: PhaseCount[];
  attention: FleetEntry[];
  omitted: number;
  /** The fleet reissues under way, and where each stands. */
  reissues?: ReissueReading[];
}

/** A fleet reissue under way, by its workflow id. */
export interface ReissueReading {
  operation: string;
  progress: ReissueProgress;
}

const NO_FLEET: Fleet = { counts: [], attention: [], omitted: 0 };

/** The figures of a reissue that `certificate_reissue_certificates` reports, by its `state` label. */
const REISSUE_STATES = ['selected', 'asked', 'renewed', 'failed', 'skipped', 'revoked'] as const;

export interface MetricsOptions {
  /** Reads the fleet; without it the certificate gauges are empty (the receiver, some tests). */
  fleet?: () => Promise<Fleet>;
  /** How old a reading of the fleet may be before a scrape has the next one read (default 30 s). */
  fleetTtlMs?: number;
  /** Where the SDK's Prometheus exporter listens; its text is served with ours. */
  sdkMetricsAddress?: string;
}

export class ConnectorMetrics {
  readonly registry = new Registry();
  readonly #options: MetricsOptions;
  /** The last reading that came back, and when it was asked for. */
  #fleet: { at: number; fleet: Fleet } | undefined;
  /** The reading under way, if any. */
  #reading: Promise<Fleet> | undefined;
  readonly #durations: Histogram<'operation' | 'profile'>;
  readonly #failures: Counter<'operation' | 'type'>;
  readonly #requests: Counter<'system' | 'account' | 'operation' | 'code'>;
  readonly #latency: Histogram<'system' | 'account' | 'operation'>;
  readonly #rateLimited: Counter<'system' | 'account'>;
  readonly #clientCertificateExpiry: Gauge<'account'>;

  constructor(options: MetricsOptions = {}) {
    this.#options = options;
    const registers = [this.registry];
    collectProcessMetrics(this.registry);
    const readFleet = () => this.#currentFleet();

    new Gauge({
      name: 'certificate_workflows',
      help: 'Certificate workflows running, by phase and profile.',
      labelNames: ['phase', 'profile'],
      registers,
      async collect() {
        this.reset();
        for (const { phase, profile, count } of (await readFleet()).counts) this.set({ phase, profile }, count);
      },
    });
    new Gauge({
      name: 'certificate_attention_omitted',
      help: 'Certificates that need attention but have no series of their own, past METRICS_ATTENTION_LIMIT.',
      registers,
      async collect() {
        this.set((await readFleet()).omitted);
      },
    });
    reissueGauges(registers, readFleet);
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
        for (const entry of (await readFleet()).attention) {
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
        for (const entry of (await readFleet()).attention) {
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
        for (const entry of (await readFleet()).attention) {
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
      help: 'Requests to SCM (by account) and Jira by operation and HTTP status (0: no answer).',
      labelNames: ['system', 'account', 'operation', 'code'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'connector_upstream_request_duration_seconds',
      help: 'Latency of requests to SCM (by account) and Jira.',
      labelNames: ['system', 'account', 'operation'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.#rateLimited = new Counter({
      name: 'connector_upstream_rate_limited_total',
      help: 'Requests SCM (by account) or Jira answered with 429 Too Many Requests.',
      labelNames: ['system', 'account'],
      registers,
    });
    this.#clientCertificateExpiry = new Gauge({
      name: 'connector_scm_client_certificate_expiration_timestamp_seconds',
      help: 'When the client certificate an SCM account logs in with expires (Unix time); only accounts with one.',
      labelNames: ['account'],
      registers,
    });
  }

  /** For the SCM and Jira clients. */
  readonly observeCall: UpstreamObserver = ({
    system,
    account = system === 'scm' ? DEFAULT_ACCOUNT : '',
    operation,
    status,
    seconds,
  }) => {
    this.#requests.inc({ system, account, operation, code: String(status) });
    this.#latency.observe({ system, account, operation }, seconds);
    if (status === 429) this.#rateLimited.inc({ system, account });
  };

  /**
   * When each SCM account's client certificate expires, for those that log in with one: an account whose
   * certificate lapses stops, so the alert comes weeks ahead.
   */
  clientCertificates(accounts: ReadonlyArray<{ account: string; auth: ScmAuth }>): void {
    this.#clientCertificateExpiry.reset();
    for (const { account, auth } of accounts) {
      const notAfter = clientCertificateExpiry(auth);
      if (notAfter !== undefined) this.#clientCertificateExpiry.set({ account }, notAfter / 1000);
    }
  }

  /** The observer of one SCM account's client: its requests carry the account's name. */
  scmObserver(account: string): UpstreamObserver {
    return (call) => this.observeCall({ ...call, account });
  }

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

  /**
   * Starts a reading of the fleet unless one is under way; the connector calls it at start, so that the
   * first scrape finds the figures read.
   */
  refreshFleet(): Promise<Fleet> {
    const read = this.#options.fleet;
    if (!read) return Promise.resolve(NO_FLEET);
    if (this.#reading) return this.#reading;
    const at = Date.now();
    const reading = read()
      .then((fleet) => {
        this.#fleet = { at, fleet };
        return fleet;
      })
      .catch((err: unknown) => {
        log.warn('could not read the certificates from visibility', { error: (err as Error).message });
        return this.#fleet?.fleet ?? NO_FLEET;
      })
      .finally(() => {
        this.#reading = undefined;
      });
    this.#reading = reading;
    return reading;
  }

  /**
   * The figures a scrape serves: the last reading, never waited for once there is one. A reading older
   * than `fleetTtlMs` has the next one started, which a later scrape serves — Prometheus's scrape timeout
   * does not follow the fleet.
   */
  #currentFleet(): Promise<Fleet> {
    const last = this.#fleet;
    if (!last) return this.refreshFleet();
    if (Date.now() - last.at >= (this.#options.fleetTtlMs ?? 30_000)) void this.refreshFleet();
    return Promise.resolve(last.fleet);
  }
}

/** Where each fleet reissue under way stands, from the fleet's reading. */
function reissueGauges(registers: Registry[], readFleet: () => Promise<Fleet>): void {
  new Gauge({
    name: 'certificate_reissue_certificates',
    help: 'Fleet reissues under way: certificates selected, asked to renew, renewed, failed, skipped, revoked.',
    labelNames: ['operation', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const { operation, progress } of (await readFleet()).reissues ?? []) {
        for (const state of REISSUE_STATES) this.set({ operation, state }, progress[state]);
        this.set({ operation, state: 'waiting' }, progress.waiting.length);
      }
    },
  });
  new Gauge({
    name: 'certificate_reissue_paused',
    help: 'Fleet reissues under way: 1 while paused.',
    labelNames: ['operation'],
    registers,
    async collect() {
      this.reset();
      for (const { operation, progress } of (await readFleet()).reissues ?? []) {
        this.set({ operation }, progress.paused ? 1 : 0);
      }
    },
  });
}

function labelsOf(entry: FleetEntry) {
  return { issue_key: entry.issueKey, domain: entry.domain, profile: entry.profile };
}

/** How far ahead an expiry needs attention: the longest escalation before expiry, and then some. */
export const ATTENTION_DAYS = 30;

/** How many certificates that need attention get series of their own, by default. */
export const DEFAULT_ATTENTION_LIMIT = 1000;

export interface FleetReaderOptions {
  /** The configured profiles' ids, for counting each one's certificates. */
  profileIds?: () => string[];
  /** How many certificates that need attention get series of their own (default 1,000). */
  attentionLimit?: number;
}

/**
 * Reads the fleet from the search attributes without listing it. The certificates that need attention —
 * not Active, renewal overdue, or expiring within ATTENTION_DAYS: what the alerts look at — are listed,
 * at most `attentionLimit` of them. The rest are counted: the Active ones per profile, one visibility
 * count each. Only when more need attention than the limit lists are the other phases counted too (one
 * count per phase and profile). What a reading costs and holds follows the certificates that need
 * attention, capped, never the fleet; the visibility store counts the rest from its indexes. Each query
 * is one an index answers (see `keywordIs`): on the dev server an OR or a `!=` walks every workflow.
 */
export function fleetReader(client: Client, options: FleetReaderOptions = {}): () => Promise<Fleet> {
  const limit = options.attentionLimit ?? DEFAULT_ATTENTION_LIMIT;
  const count = async (query: string) => (await client.workflow.count(query)).count;
  const { status, profile, notAfter, renewAt } = {
    status: searchAttributes.status.name,
    profile: searchAttributes.profile.name,
    notAfter: searchAttributes.notAfter.name,
    renewAt: searchAttributes.renewAt.name,
  };
  const inPhase = (phase: string) => `${RUNNING_CERTIFICATES} AND ${keywordIs(status, phase)}`;
  // The range (the index read) on the narrower of the two: the profile for Active, the phase otherwise.
  const inPhaseOfProfile = (phase: string, id: string) =>
    phase === 'Active'
      ? `${RUNNING_CERTIFICATES} AND ${status} = ${literal(phase)} AND ${keywordIs(profile, id)}`
      : `${inPhase(phase)} AND ${profile} = ${literal(id)}`;

  /** One phase's running certificates per configured profile, the rest under profile "". */
  async function countPhase(phase: string, profiles: string[]): Promise<PhaseCount[]> {
    const counts: PhaseCount[] = [];
    let counted = 0;
    for (const id of profiles) {
      const n = await count(inPhaseOfProfile(phase, id));
      if (n > 0) counts.push({ phase, profile: id, count: n });
      counted += n;
    }
    const rest = (await count(inPhase(phase))) - counted;
    if (rest > 0) counts.push({ phase, profile: '', count: rest });
    return counts;
  }

  return async () => {
    const now = new Date().toISOString();
    const soon = new Date(Date.now() + ATTENTION_DAYS * 86_400_000).toISOString();
    const active = `${RUNNING_CERTIFICATES} AND ${status} = 'Active'`;
    const expiring = `${active} AND ${notAfter} < '${soon}'`;
    const overdue = `${active} AND ${renewAt} < '${now}'`;
    const attentionQueries = [
      ...keywordIsNot(status, 'Active').map((notActive) => `${RUNNING_CERTIFICATES} AND ${notActive}`),
      expiring,
      overdue,
    ];
    const profiles = options.profileIds?.() ?? [];
    const attention = limit > 0 ? await listCertificates(client, attentionQueries, limit) : [];
    let omitted = 0;
    if (attention.length >= limit) {
      // The queries are disjoint but for certificates both expiring and overdue, counted twice.
      let needAttention = -(await count(`${expiring} AND ${renewAt} < '${now}'`));
      for (const query of attentionQueries) needAttention += await count(query);
      omitted = Math.max(0, needAttention - attention.length);
    }
    const counts = await countPhase('Active', profiles);
    if (omitted === 0) {
      // Every certificate not Active is in the list: count them from it.
      const others = new Map<string, PhaseCount>();
      for (const entry of attention) {
        if (entry.phase === 'Active') continue;
        const known = profiles.includes(entry.profile) ? entry.profile : '';
        const key = `${entry.phase}\u0000${known}`;
        const phaseCount = others.get(key) ?? { phase: entry.phase, profile: known, count: 0 };
        phaseCount.count += 1;
        others.set(key, phaseCount);
      }
      counts.push(...others.values());
    } else {
      for (const phase of CERTIFICATE_PHASES) {
        if (phase !== 'Active') counts.push(...(await countPhase(phase, profiles)));
      }
    }
    return { counts, attention, omitted, reissues: await readReissues(client) };
  };
}

/** How many reissues under way the metrics report; there are one or two on a bad day. */
const REISSUES_READ = 20;

/** The reissues under way and their progress, each asked by its query; one that does not answer is left out. */
async function readReissues(client: Client): Promise<ReissueReading[]> {
  const readings: ReissueReading[] = [];
  for await (const run of client.workflow.list({ query: RUNNING_REISSUES, pageSize: REISSUES_READ })) {
    const progress = await client.workflow
      .getHandle(run.workflowId)
      .query(reissueProgressQuery)
      .catch(() => undefined);
    if (progress) readings.push({ operation: run.workflowId, progress });
    if (readings.length >= REISSUES_READ) break;
  }
  return readings;
}

/** The first `limit` certificates the queries find, in their order, each once, read from their search attributes. */
async function listCertificates(client: Client, queries: string[], limit: number): Promise<FleetEntry[]> {
  const entries = new Map<string, FleetEntry>();
  for (const query of queries) {
    for await (const run of client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
      const attrs = run.typedSearchAttributes;
      entries.set(run.workflowId, {
        issueKey: attrs.get(searchAttributes.issueKey) ?? run.workflowId,
        domain: attrs.get(searchAttributes.domain) ?? '',
        profile: attrs.get(searchAttributes.profile) ?? '',
        certificateId: attrs.get(searchAttributes.certificateId) ?? '',
        phase: attrs.get(searchAttributes.status) ?? 'Validating',
        notAfter: attrs.get(searchAttributes.notAfter),
        renewAt: attrs.get(searchAttributes.renewAt),
      });
      if (entries.size >= limit) return [...entries.values()];
    }
  }
  return [...entries.values()];
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

/**
 * A loopback port free right now, for a listener that needs a fixed address (the SDK's exporter, a server
 * started by port). Linux hands out ephemeral ports at random, so one just closed can go to the next
 * `listen(0)` of any process before its taker binds it; as the Temporal CLI does, the port is left with a
 * connection in TIME_WAIT, closed from the listening side, which keeps it from `listen(0)` for a minute
 * while a bind by number (with SO_REUSEADDR, as Node, Go and Rust set it) still succeeds.
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer((accepted) => accepted.destroy());
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      // The client ends once the server's end has closed, and the server side then waits in TIME_WAIT.
      const client = connect(port, '127.0.0.1');
      client.once('error', reject);
      client.once('close', () => server.close(() => resolve(port)));
    });
  });
}
