/**
 * Sectigo Certificate Manager REST client (the `/api/ssl/v1` admin API) on undici. The only code that
 * knows SCM's HTTP: paths, authentication headers, error bodies, date formats and paging.
 */
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import type { UpstreamObserver } from '../metrics.ts';

export type ScmAuth =
  | { kind: 'password'; login: string; password: string; customerUri: string }
  | { kind: 'oauth'; tokenUrl: string; clientId: string; clientSecret: string }
  | ({ kind: 'certificate'; login: string; customerUri: string } & ClientCertificate);

/**
 * An SCM admin's client certificate (mTLS), sent in the TLS handshake under `/private/api`, where SCM
 * then takes `login` and `customerUri` without a password (research/sectigo-api.md §1.1).
 */
export interface ClientCertificate {
  /** PEM: the certificate, and any intermediates after it. */
  certificate: string;
  /** PEM private key of the certificate, encrypted with `passphrase` when that is given. */
  key: string;
  passphrase?: string;
}

export interface ScmClientOptions {
  /**
   * e.g. https://cert-manager.com/api, https://cert-manager.com/private/api with a client certificate, or
   * https://admin.enterprise.sectigo.com/api for OAuth.
   */
  baseUrl: string;
  auth: ScmAuth;
  /** PEM certificates trusted for SCM's TLS besides the system's (a private SCM, a TLS-inspecting proxy). */
  ca?: string;
  /** Per request, from sending to the last body byte. */
  timeoutMs?: number;
  /**
   * At most this many requests in any one-second window from this client. The worker's task-queue limit
   * bounds SCM activities across all workers; this bounds the requests of this process exactly.
   */
  maxRequestsPerSecond?: number;
  dispatcher?: Dispatcher;
  /** Told of every request: its route, HTTP status (0 without an answer) and duration. */
  observer?: UpstreamObserver;
}

export interface EnrollRequest {
  orgId: number;
  csr: string;
  certType: number;
  term: number;
  subjAltNames?: string[];
  comments?: string;
  externalRequester?: string;
  /** How SCM validates the domains; required by accounts without DCV pre-validation. Sent only when set. */
  dcv?: DcvSettings;
}

/** SCM's domain control validation mode (Sectigo's OpenAPI, EnrollRequest.dcvMode, RenewInfo.dcvMode). */
export const DCV_MODES = ['EMAIL', 'CNAME', 'HTTP', 'HTTPS', 'AUTO', 'TXT'] as const;
export interface DcvSettings {
  mode: (typeof DCV_MODES)[number];
  /** The approver's address, with mode EMAIL. */
  email?: string;
}

/** SCM order statuses; `SA Approved` is normalised to `SAApproved`. */
export type ScmStatus =
  | 'Init'
  | 'Requested'
  | 'Approved'
  | 'SAApproved'
  | 'Applied'
  | 'Issued'
  | 'Declined'
  | 'Rejected'
  | 'Invalid'
  | 'Revoked'
  | 'Expired'
  | 'Replaced'
  | 'Unmanaged';

export interface ScmCertificate {
  id: number;
  status: ScmStatus;
  commonName: string;
  subjectAlternativeNames: string[];
  orgId?: number;
  certTypeId?: number;
  term?: number;
  comments?: string;
  serialNumber?: string;
  requester?: string;
  renewed: boolean;
  /** Epoch ms; SCM sends dates as MM/dd/yyyy unless told otherwise. */
  requested?: number;
  issued?: number;
  expires?: number;
  revoked?: number;
}

export interface ScmListItem {
  sslId: number;
  commonName: string;
  subjectAlternativeNames: string[];
  serialNumber?: string;
}

export interface ScmListFilter {
  commonName?: string;
  subjectAlternativeName?: string;
  orgId?: number;
  sslTypeId?: number;
  status?: ScmStatus;
  serialNumber?: string;
  externalRequester?: string;
}

/** What the SSL report filters on: certificates in a status whose date of one kind falls in [from, to]. */
export interface ScmReportFilter {
  /** Days, inclusive (yyyy-MM-dd). */
  from: string;
  to: string;
  /** 0 any, 1 requested, 2 issued, 3 revoked, 4 expired. */
  certificateStatus: 0 | 1 | 2 | 3 | 4;
  /** The date the window applies to: 2 revocation, 3 expiration, 4 request, 5 issuance. */
  certificateDateAttribute: 2 | 3 | 4 | 5;
  organizationIds?: number[];
}

/** One certificate of a report, as much of it as the connector reads. */
export interface ScmReportEntry {
  sslId: number;
  commonName: string | undefined;
  status: string | undefined;
}

/** RFC 5280 reasons SCM accepts for revocation. */
export type RevocationReasonCode = 0 | 1 | 3 | 4 | 5;

/** Any SCM answer with status >= 400, or a transport failure (status 0). */
export class ScmError extends Error {
  override name = 'ScmError';
  readonly status: number;
  readonly code: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, status: number, code?: number, retryAfterMs?: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
  /** A transport failure in TLS: SCM's certificate not trusted, or the client certificate refused. */
  get tlsFailed(): boolean {
    const code = (this.cause as { code?: unknown } | undefined)?.code;
    return this.status === 0 && typeof code === 'string' && /^ERR_(SSL|TLS)_|CERT|SELF_SIGNED|UNABLE_TO_/.test(code);
  }
  /** 408, 429, 5xx and transport failures are worth retrying; other answers are final. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** Collect before issuance: SCM answers 400 with one of several "not yet" codes. */
export class ScmPendingError extends ScmError {
  override name = 'ScmPendingError';
}

/** Codes meaning "being processed, try later" (see research/sectigo-api.md §2.5). */
const PENDING_CODES = new Set([0, -183, -1400, -109, -103]);
/** Transient server-side codes that come with a 4xx status. */
const TRANSIENT_CODES = new Set([-195, -140, -2, -65]);

const PAGE_SIZE = 200;

export class ScmClient {
  readonly #baseUrl: string;
  readonly #auth: ScmAuth;
  readonly #timeoutMs: number;
  readonly #dispatcher: Dispatcher;
  readonly #limiter: SlidingWindowLimiter | undefined;
  #token: { value: string; expiresAt: number } | undefined;
  readonly #observer: UpstreamObserver | undefined;
  readonly #sent = { requests: 0, peakPerSecond: 0, second: 0, inSecond: 0 };

  constructor(options: ScmClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#auth = options.auth;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#dispatcher = options.dispatcher ?? new Agent({ connections: 16, connect: tlsOptions(options) });
    this.#observer = options.observer;
    // A window a little longer than a second: SCM counts by arrival, and arrivals lag sending by the network.
    this.#limiter = options.maxRequestsPerSecond
      ? new SlidingWindowLimiter(options.maxRequestsPerSecond, 1100)
      : undefined;
  }

  /** Requests this client sent, and the most it sent in any one calendar second (by its own clock). */
  get sent(): { requests: number; peakPerSecond: number } {
    return { requests: this.#sent.requests, peakPerSecond: this.#sent.peakPerSecond };
  }

  #countSent(): void {
    const sent = this.#sent;
    const second = Math.floor(Date.now() / 1000);
    if (second !== sent.second) Object.assign(sent, { second, inSecond: 0 });
    sent.requests++;
    sent.inSecond++;
    sent.peakPerSecond = Math.max(sent.peakPerSecond, sent.inSecond);
  }

  /** POST /ssl/v1/enroll: records the order and returns its id; issuance is asynchronous. */
  async enroll(req: EnrollRequest): Promise<{ sslId: number; renewId: string }> {
    const body = {
      orgId: req.orgId,
      csr: req.csr,
      certType: req.certType,
      term: req.term,
      subjAltNames: req.subjAltNames?.join(','),
      comments: req.comments,
      externalRequester: req.externalRequester,
      ...dcvFields(req.dcv),
    };
    const res = await this.#call<{ sslId: number; renewId: string }>('POST', '/ssl/v1/enroll', body);
    return { sslId: Number(res.sslId), renewId: String(res.renewId ?? '') };
  }

  /** GET /ssl/v1/{sslId}: details and status. */
  async getCertificate(sslId: number): Promise<ScmCertificate> {
    return toCertificate(await this.#call<RawCertificate>('GET', `/ssl/v1/${sslId}`));
  }

  /**
   * GET /ssl/v1/collect/{sslId}?format=x509: certificate and chain, PEM. Throws ScmPendingError while
   * SCM is still processing the order.
   */
  async collect(sslId: number, format = 'x509'): Promise<string> {
    return this.#call<string>(
      'GET',
      `/ssl/v1/collect/${sslId}?format=${encodeURIComponent(format)}`,
      undefined,
      'text',
    );
  }

  /** GET /ssl/v1 with filters: one page, and the total from X-Total-Count. */
  async list(filter: ScmListFilter, position = 0, size = PAGE_SIZE): Promise<{ items: ScmListItem[]; total: number }> {
    const query = new URLSearchParams({ position: String(position), size: String(size) });
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
    const { body, headers } = await this.#send('GET', `/ssl/v1?${query.toString()}`);
    const raw = JSON.parse(body) as Array<Partial<ScmListItem> & { sslId: number }>;
    const items = raw.map((item) => ({
      sslId: Number(item.sslId),
      commonName: item.commonName ?? '',
      subjectAlternativeNames: item.subjectAlternativeNames ?? [],
      serialNumber: item.serialNumber,
    }));
    const total = Number(headers['x-total-count'] ?? Number.NaN);
    return { items, total: Number.isFinite(total) ? total : position + items.length };
  }

  /** Every match of the filter, page by page until a short page or the total is reached. */
  async *search(filter: ScmListFilter): AsyncGenerator<ScmListItem> {
    for (let position = 0; ; position += PAGE_SIZE) {
      const { items, total } = await this.list(filter, position, PAGE_SIZE);
      yield* items;
      if (items.length < PAGE_SIZE || position + items.length >= total) return;
    }
  }

  /** HEAD /ssl/v1 with filters: how many certificates match (X-Total-Count), without listing them. */
  async count(filter: ScmListFilter): Promise<number> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
    const { headers } = await this.#send('HEAD', `/ssl/v1?${query.toString()}`);
    const total = Number(headers['x-total-count']);
    if (!Number.isFinite(total)) throw new ScmError('SCM HEAD /ssl/v1: no X-Total-Count in the answer', 502);
    return total;
  }

  /**
   * POST /report/v1/ssl-certificates: the certificates whose revocation (or expiry, request, issuance)
   * date falls in a window — what changed, without a request per certificate. Entries name their id
   * `sslId` or `id`, depending on the SCM release; both are read.
   */
  async report(filter: ScmReportFilter): Promise<ScmReportEntry[]> {
    const answer = await this.#call<{
      statusCode?: number;
      message?: string;
      reports?: Array<Record<string, unknown>>;
    }>('POST', '/report/v1/ssl-certificates', filter);
    if (answer.statusCode !== undefined && answer.statusCode !== 0) {
      throw new ScmError(`SCM report: ${answer.message ?? `status ${answer.statusCode}`}`, 502);
    }
    return (answer.reports ?? [])
      .map((entry) => ({
        sslId: Number(entry.sslId ?? entry.id ?? entry.certificateId),
        commonName: typeof entry.commonName === 'string' ? entry.commonName : undefined,
        status: typeof entry.status === 'string' ? entry.status : undefined,
      }))
      .filter((entry) => Number.isInteger(entry.sslId));
  }

  /** PUT /ssl/v1: changes an order's comments (allowed in every status). */
  async setComments(sslId: number, comments: string): Promise<void> {
    await this.#call('PUT', '/ssl/v1', { sslId, comments });
  }

  /** The request timeout, from which callers derive how long SCM may still be processing a lost request. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** POST /ssl/v1/renewById/{sslId}: a new order, with a new id, from the old one's parameters. */
  async renewById(sslId: number, csr?: string, dcv?: DcvSettings): Promise<{ sslId: number }> {
    const body = { ...(csr ? { csr } : {}), ...dcvFields(dcv) };
    const res = await this.#call<{ sslId: number }>('POST', `/ssl/v1/renewById/${sslId}`, body);
    return { sslId: Number(res.sslId) };
  }

  /** POST /ssl/v1/revoke/{sslId}. */
  async revoke(sslId: number, reasonCode: RevocationReasonCode, reason: string): Promise<void> {
    await this.#call('POST', `/ssl/v1/revoke/${sslId}`, { reasonCode, reason });
  }

  async #call<T>(method: string, path: string, body?: unknown, as: 'json' | 'text' = 'json'): Promise<T> {
    const res = await this.#send(method, path, body);
    if (as === 'text') return res.body as T;
    return (res.body === '' ? undefined : JSON.parse(res.body)) as T;
  }

  async #send(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ body: string; headers: Record<string, unknown> }> {
    const headers: Record<string, string> = { accept: 'application/json', ...(await this.#authHeaders()) };
    if (body !== undefined) headers['content-type'] = 'application/json;charset=UTF-8';
    await this.#limiter?.take();
    this.#countSent();
    let res: Dispatcher.ResponseData;
    const started = performance.now();
    const observe = (status: number) =>
      this.#observer?.({
        system: 'scm',
        operation: `${method} ${route(path)}`,
        status,
        seconds: (performance.now() - started) / 1000,
      });
    try {
      res = await request(`${this.#baseUrl}${path}`, {
        method: method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.#dispatcher,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      observe(0);
      throw new ScmError(
        `SCM ${method} ${pathOnly(path)} failed: ${describeTransportError(err)}`,
        0,
        undefined,
        undefined,
        {
          cause: err,
        },
      );
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      observe(0);
      throw new ScmError(
        `SCM ${method} ${pathOnly(path)}: response lost: ${describeTransportError(err)}`,
        0,
        undefined,
        undefined,
        {
          cause: err,
        },
      );
    }
    observe(res.statusCode);
    if (res.statusCode < 400) return { body: text, headers: res.headers };

    if (res.statusCode === 401 && this.#auth.kind === 'oauth') this.#token = undefined;
    const { code, description } = parseErrorBody(text);
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    const message = `SCM ${method} ${pathOnly(path)}: HTTP ${res.statusCode}${code === undefined ? '' : ` (code ${code})`}: ${
      description ?? (text.slice(0, 200) || 'no details')
    }`;
    if (res.statusCode === 400 && code !== undefined && PENDING_CODES.has(code) && path.includes('/collect/')) {
      throw new ScmPendingError(message, res.statusCode, code, retryAfterMs);
    }
    const status = code !== undefined && TRANSIENT_CODES.has(code) ? 503 : res.statusCode;
    throw new ScmError(message, status, code, retryAfterMs);
  }

  async #authHeaders(): Promise<Record<string, string>> {
    const auth = this.#auth;
    if (auth.kind === 'password') {
      return { login: auth.login, password: auth.password, customerUri: auth.customerUri };
    }
    if (auth.kind === 'certificate') return { login: auth.login, customerUri: auth.customerUri };
    if (!this.#token || this.#token.expiresAt <= Date.now()) this.#token = await this.#fetchToken(auth);
    return { authorization: `Bearer ${this.#token.value}` };
  }

  /** OAuth 2.0 client credentials; the token is renewed a minute before it expires. */
  async #fetchToken(auth: Extract<ScmAuth, { kind: 'oauth' }>): Promise<{ value: string; expiresAt: number }> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: auth.clientId,
      client_secret: auth.clientSecret,
    });
    let res: Dispatcher.ResponseData;
    try {
      res = await request(auth.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        dispatcher: this.#dispatcher,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw new ScmError(`SCM token request failed: ${describeTransportError(err)}`, 0, undefined, undefined, {
        cause: err,
      });
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) {
      // The token endpoint's error body may echo the request; never include it in the message.
      throw new ScmError(
        `SCM token request refused: HTTP ${res.statusCode}`,
        res.statusCode,
        undefined,
        parseRetryAfter(res.headers['retry-after']),
      );
    }
    const token = JSON.parse(text) as { access_token?: string; expires_in?: number };
    if (!token.access_token) throw new ScmError('SCM token response has no access_token', 502);
    const lifetimeMs = (token.expires_in ?? 300) * 1000;
    return { value: token.access_token, expiresAt: Date.now() + Math.max(lifetimeMs - 60_000, lifetimeMs / 2) };
  }
}

/** Admits at most `limit` calls in any window of `windowMs`; callers wait their turn in order. */
export class SlidingWindowLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #admitted: number[] = [];
  #queue: Promise<void> = Promise.resolve();

  constructor(limit: number, windowMs: number) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  take(): Promise<void> {
    const turn = this.#queue.then(async () => {
      for (;;) {
        const now = Date.now();
        while (this.#admitted.length > 0 && (this.#admitted[0] ?? 0) <= now - this.#windowMs) this.#admitted.shift();
        if (this.#admitted.length < this.#limit) {
          this.#admitted.push(now);
          return;
        }
        // A few ms of margin: the server counts by its own clock reading.
        await new Promise((resolve) => setTimeout(resolve, (this.#admitted[0] ?? now) + this.#windowMs - now + 2));
      }
    });
    this.#queue = turn;
    return turn;
  }
}

interface RawCertificate {
  id?: number;
  sslId?: number;
  status: string;
  commonName?: string;
  subjectAlternativeNames?: string[] | string;
  orgId?: number;
  certType?: { id?: number } | number;
  term?: number;
  comments?: string;
  serialNumber?: string;
  requester?: string;
  renewed?: boolean;
  requested?: string;
  issued?: string;
  expires?: string;
  revoked?: string;
}

function toCertificate(raw: RawCertificate): ScmCertificate {
  const sans = raw.subjectAlternativeNames;
  return {
    id: Number(raw.id ?? raw.sslId),
    status: raw.status.replace(/\s+/g, '') as ScmStatus,
    commonName: raw.commonName ?? '',
    subjectAlternativeNames: Array.isArray(sans) ? sans : sans ? sans.split(',').map((s) => s.trim()) : [],
    orgId: raw.orgId,
    certTypeId: typeof raw.certType === 'object' ? raw.certType.id : raw.certType,
    term: raw.term,
    comments: raw.comments,
    serialNumber: raw.serialNumber,
    requester: raw.requester,
    renewed: raw.renewed ?? false,
    requested: parseScmDate(raw.requested),
    issued: parseScmDate(raw.issued),
    expires: parseScmDate(raw.expires),
    revoked: parseScmDate(raw.revoked),
  };
}

function dcvFields(dcv: DcvSettings | undefined): { dcvMode?: string; dcvEmail?: string } {
  if (!dcv) return {};
  return { dcvMode: dcv.mode, ...(dcv.email ? { dcvEmail: dcv.email } : {}) };
}

/** SCM dates: MM/dd/yyyy by default, ISO when `dateFormat` asks for it; both are accepted. Epoch ms, UTC. */
export function parseScmDate(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const us = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(value);
  if (us) return Date.UTC(Number(us[3]), Number(us[1]) - 1, Number(us[2]));
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function parseErrorBody(text: string): { code?: number; description?: string } {
  try {
    const body = JSON.parse(text) as { code?: unknown; description?: unknown };
    return {
      code: typeof body.code === 'number' ? body.code : body.code === undefined ? undefined : Number(body.code),
      description: typeof body.description === 'string' ? body.description : undefined,
    };
  } catch {
    return {};
  }
}

/** Retry-After as delta-seconds or an HTTP date, in milliseconds. */
export function parseRetryAfter(header: unknown, now = Date.now()): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function pathOnly(path: string): string {
  return path.split('?')[0] ?? path;
}

/** The path with its ids left out, for metrics: `/ssl/v1/collect/{id}`. */
function route(path: string): string {
  return pathOnly(path).replace(/\/\d+(?=\/|$)/g, '/{id}');
}

/** The client certificate, and the certificates trusted for SCM's TLS, as the connection options want them. */
function tlsOptions({ auth, ca }: ScmClientOptions): ConnectionOptions {
  return {
    ...(ca ? { ca: [...rootCertificates, ca] } : {}),
    ...(auth.kind === 'certificate'
      ? { cert: auth.certificate, key: auth.key, ...(auth.passphrase ? { passphrase: auth.passphrase } : {}) }
      : {}),
  };
}

function describeTransportError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: string }).code;
    return err.name === 'TimeoutError' ? 'timed out' : code ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}
