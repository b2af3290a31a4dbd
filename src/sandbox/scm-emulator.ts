/**
 * Sectigo Certificate Manager emulator: the `/api/ssl/v1` subset the connector uses, with SCM's paths,
 * shapes, status codes, error bodies, date format and paging headers, issuing real certificates from a
 * local CA. Issuance is asynchronous, as in SCM: orders sit in `Applied` for `issuanceDelayMs`.
 * Product code: `npm start` runs it as the sandbox CA, and the tests run against it.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { close, HttpError, listen, readBody, sendJson } from '../http.ts';
import { Router, type RouteContext } from './router.ts';
import * as x509 from '../csr/x509.ts';
import { LocalCa } from './ca.ts';
import type { SerialStatus } from './ocsp.ts';

export interface ScmCertType {
  id: number;
  name: string;
  description: string;
  /** Allowed terms, in days. */
  terms: number[];
  /** Emulator only: the length of one day of term for this type (certificates that live for seconds). */
  termUnitMs?: number;
  /** Emulator only: issue every certificate of this type with this validity (a herd expiring together). */
  fixedValidity?: { notBefore: number; notAfter: number };
}

export interface ScmCredentials {
  login: string;
  password: string;
  customerUri: string;
  clientId: string;
  clientSecret: string;
}

export interface ScmFaults {
  /** Added before every API request. */
  latencyMs: number;
  /** Share of API requests answered 503 before anything is done. */
  serverErrorRate: number;
  /** Share of API requests answered 429 (with Retry-After) before anything is done. */
  rateLimitRate: number;
  retryAfterSeconds: number;
  /** The next N mutating requests (enroll, renew, revoke) are carried out, then their connection is cut. */
  dropResponses: number;
  /**
   * How revoking a revoked certificate is answered: -159 "already revoked" (Sectigo's reference), or -102
   * "Only issued certificates could be revoked", as a real client met it (docs/compatibility.md, "revoke").
   */
  alreadyRevokedCode: -159 | -102;
  /**
   * The account validates domains per order, not ahead: an order without `dcvMode` is refused (Sectigo's
   * reference, "Request SSL certificate": required when DCV pre-validation is off).
   */
  dcvRequired: boolean;
  /**
   * Whether renewById copies the old order's comments into the renewal. Sectigo does not say; off, the
   * stricter reading, a client that finds its renewal by the copied comments fails (docs/compatibility.md).
   */
  renewalCopiesComments: boolean;
  /**
   * Lists (`GET /ssl/v1`) newest first. In which order SCM lists is not documented; the connector must
   * find what was added since it last looked either way (docs/compatibility.md).
   */
  listNewestFirst: boolean;
  /** When set, renewById is refused with this SCM error (e.g. -107, domain validation expired). */
  refuseRenewals: { code: number; description: string } | null;
  /**
   * The next N orders (enroll, renewById) are processed after the client gave up: SCM holds the request for
   * `lateProcessingMs`, longer than the client waits, and only then records the order.
   */
  lateOrders: number;
  lateProcessingMs: number;
}

export interface ScmEmulatorOptions {
  port?: number;
  host?: string;
  /** Persists the CA and the orders here; without it both live in memory. */
  dataDir?: string;
  credentials?: Partial<ScmCredentials>;
  /** How long an order stays `Applied` before it is issued (or declined). */
  issuanceDelayMs?: number;
  /** Length of one "day" of term: shorten it to get certificates that live for seconds. */
  dayLengthMs?: number;
  certTypes?: ScmCertType[];
  /** Orders naming a domain under one of these are declined by the CA. */
  declinedDomains?: string[];
  /**
   * The emulator's "now" for orders and certificates (default: the system clock). A test under Temporal's
   * time skipping moves it with the server's clock, so that certificates are issued in workflow time.
   */
  clock?: () => number;
  faults?: Partial<ScmFaults>;
  /**
   * Serves HTTPS, with a certificate of its own CA for the host, and takes client certificates under
   * `/private/api` (see `clientIdentity`), as SCM does (research/sectigo-api.md §1.1).
   */
  https?: boolean;
}

export const DEFAULT_SCM_CREDENTIALS: ScmCredentials = {
  login: 'sandbox-api',
  password: 'sandbox-password',
  customerUri: 'sandbox',
  clientId: 'sandbox-client',
  clientSecret: 'sandbox-client-secret',
};

export const DEFAULT_CERT_TYPES: ScmCertType[] = [
  {
    id: 1001,
    name: 'OV Server Certificate',
    description: 'Organization validated TLS server certificate',
    terms: [365, 730],
  },
  {
    id: 1002,
    name: 'Short-lived Server Certificate',
    description: 'Sandbox certificate for renewal tests',
    terms: [1, 7, 30],
  },
];

type OrderStatus = 'Applied' | 'Issued' | 'Declined' | 'Revoked' | 'Expired' | 'Replaced';

interface Order {
  id: number;
  renewId: string;
  status: OrderStatus;
  orgId: number;
  certTypeId: number;
  term: number;
  csr: string;
  commonName: string;
  subjectAlternativeNames: string[];
  comments: string;
  externalRequester: string;
  keyType: string;
  requested: number;
  /** When the order leaves `Applied`. */
  due: number;
  issued?: number;
  declined?: number;
  expires?: number;
  revoked?: number;
  reasonCode?: number;
  serialNumber?: string;
  certificatePem?: string;
  renewed: boolean;
  renewedDate?: number;
}

interface Stats {
  requests: number;
  byOperation: Record<string, number>;
  /** The most requests in one second of real time. */
  peakRequestsPerSecond: number;
  /** The same by the emulator's clock: under time skipping, the seconds of the server's time. */
  peakRequestsPerClockSecond: number;
}

/** Counts events in the current whole second of some clock; answers the count so far. */
class SecondCounter {
  #at = 0;
  #count = 0;
  count(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.#at) [this.#at, this.#count] = [second, 0];
    return ++this.#count;
  }
}

const API = '/api';
/** The prefix under which SCM authenticates an admin by client certificate, with `login` and `customerUri`. */
const PRIVATE = '/private';
const MAX_PAGE = 200;

/** SCM's error body: `{ code, description }`. */
const scmError = (status: number, code: number, description: string, headers?: Record<string, string>) =>
  new HttpError(status, { code, description }, headers);

export class ScmEmulator {
  readonly ca: LocalCa;
  readonly credentials: ScmCredentials;
  readonly faults: ScmFaults;
  issuanceDelayMs: number;
  readonly #options: ScmEmulatorOptions;
  readonly #server: Server;
  readonly #router = new Router();
  readonly #orders = new Map<number, Order>();
  readonly #tokens = new Map<string, number>();
  readonly #issuing = new Map<number, Promise<void>>();
  readonly #stats: Stats = { requests: 0, byOperation: {}, peakRequestsPerSecond: 0, peakRequestsPerClockSecond: 0 };
  readonly #second = new SecondCounter();
  readonly #clockSecond = new SecondCounter();
  #nextId = 1000;
  url = '';

  private constructor(ca: LocalCa, options: ScmEmulatorOptions, tls?: { certificate: string; key: string }) {
    this.ca = ca;
    this.#options = options;
    this.credentials = { ...DEFAULT_SCM_CREDENTIALS, ...options.credentials };
    this.issuanceDelayMs = options.issuanceDelayMs ?? 0;
    this.faults = {
      latencyMs: 0,
      serverErrorRate: 0,
      rateLimitRate: 0,
      retryAfterSeconds: 1,
      dropResponses: 0,
      alreadyRevokedCode: -159,
      dcvRequired: false,
      renewalCopiesComments: false,
      listNewestFirst: false,
      lateOrders: 0,
      lateProcessingMs: 0,
      ...options.faults,
      refuseRenewals: options.faults?.refuseRenewals ?? null,
    };
    this.#load();
    this.#routes();
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    // The handshake asks for a client certificate and lets a connection without one through: only
    // /private/api needs one, and it answers SCM's 401 rather than a handshake alert.
    this.#server = tls
      ? createHttpsServer(
          {
            cert: tls.certificate,
            key: tls.key,
            ca: ca.root.toString('pem'),
            requestCert: true,
            rejectUnauthorized: false,
          },
          handler,
        )
      : createServer(handler);
  }

  static async start(options: ScmEmulatorOptions = {}): Promise<ScmEmulator> {
    const ca = options.dataDir ? await LocalCa.open(join(options.dataDir, 'ca')) : await LocalCa.create();
    const host = options.host ?? '127.0.0.1';
    const tls = options.https ? await ca.tlsIdentity('server', 'CN=SCM emulator', [host, 'localhost']) : undefined;
    const emulator = new ScmEmulator(ca, options, tls);
    emulator.url = await listen(emulator.#server, options.port ?? 0, host);
    return emulator;
  }

  /** Base URL of the API, as the connector's SECTIGO_BASE_URL. */
  get apiUrl(): string {
    return `${this.url}${API}`;
  }

  /** Base URL of the API for an admin who logs in with a client certificate (an `https` emulator's). */
  get privateApiUrl(): string {
    return `${this.url}${PRIVATE}${API}`;
  }

  /**
   * A client certificate and key for the admin `login` (by default the emulator's own), issued by the
   * emulator's CA: what `/private/api` takes.
   */
  clientIdentity(login = this.credentials.login): Promise<{ certificate: string; key: string }> {
    return this.ca.tlsIdentity('client', `CN=${login}`);
  }

  get tokenUrl(): string {
    return `${this.url}/oauth/token`;
  }

  async stop(): Promise<void> {
    await close(this.#server);
  }

  get stats(): Stats {
    return structuredClone(this.#stats);
  }

  /** Orders as SCM's details endpoint shows them. */
  orders(): Array<Record<string, unknown>> {
    // As of now: an issued certificate past its notAfter shows Expired, as SCM shows it, read or not.
    const now = this.#clock();
    return [...this.#orders.values()].map((order) => {
      this.#expire(order, now);
      return this.#details(order, 'ISO');
    });
  }

  /**
   * Adds issued certificates without signing them (as SCM lists imported or discovered ones): a fleet
   * for benchmarks, thousands at once, requested and issued at `issued` (by default now). They cannot be
   * collected. Answers their ids.
   */
  importIssued(
    certificates: Array<{ commonName: string; orgId: number; certTypeId: number; expires: number; issued?: number }>,
  ): number[] {
    const now = this.#clock();
    const ids = certificates.map(({ commonName, orgId, certTypeId, expires, issued = now }) => {
      const id = this.#nextId++;
      this.#orders.set(id, {
        id,
        renewId: randomBytes(15).toString('base64url').slice(0, 20),
        status: 'Issued',
        orgId,
        certTypeId,
        term: 365,
        csr: '',
        commonName,
        subjectAlternativeNames: [commonName],
        comments: '',
        externalRequester: '',
        keyType: 'EC - P-256',
        requested: issued,
        due: issued,
        issued,
        expires,
        serialNumber: randomBytes(16).toString('hex').toUpperCase(),
        renewed: false,
      });
      return id;
    });
    this.#save();
    return ids;
  }

  /** Marks an order replaced directly in SCM (a reissue made outside the connector). */
  replaceDirectly(id: number): void {
    const order = this.#orders.get(id);
    if (!order) throw new Error(`no order ${id}`);
    order.status = 'Replaced';
  }

  /** Revokes an order directly in SCM, as an administrator would in the web UI. */
  revokeDirectly(id: number, reasonCode = 0): void {
    const order = this.#orders.get(id);
    if (!order) throw new Error(`no order ${id}`);
    order.status = 'Revoked';
    order.revoked = this.#clock();
    order.reasonCode = reasonCode;
    this.#save();
  }

  #clock(): number {
    return this.#options.clock?.() ?? Date.now();
  }

  get #dayLengthMs(): number {
    return this.#options.dayLengthMs ?? 86_400_000;
  }

  get #certTypes(): ScmCertType[] {
    return this.#options.certTypes ?? DEFAULT_CERT_TYPES;
  }

  #routes(): void {
    const r = this.#router;
    r.on('POST', '/oauth/token', (ctx) => this.#token(ctx));
    r.on('GET', `${API}/ssl/v1/types`, ({ res }) => sendJson(res, 200, this.#certTypes.map(typeJson)));
    r.on('GET', `${API}/ssl/v1/customFields`, ({ res }) => sendJson(res, 200, []));
    r.on('POST', `${API}/ssl/v1/enroll`, (ctx) => this.#enroll(ctx));
    r.on('GET', `${API}/ssl/v1/collect/:id/:format`, (ctx) => this.#collect(ctx, ctx.params.format));
    r.on('GET', `${API}/ssl/v1/collect/:id`, (ctx) =>
      this.#collect(ctx, ctx.url.searchParams.get('format') ?? 'base64'),
    );
    r.on('POST', `${API}/ssl/v1/renewById/:id`, (ctx) => this.#renew(ctx));
    r.on('POST', `${API}/ssl/v1/revoke/serial/:serial`, (ctx) =>
      this.#revoke(ctx, this.#bySerial(ctx.params.serial ?? '')),
    );
    r.on('POST', `${API}/ssl/v1/revoke/:id`, (ctx) => this.#revoke(ctx, this.#order(ctx.params.id)));
    r.on('GET', `${API}/ssl/v1/:id`, (ctx) => this.#get(ctx));
    r.on('PUT', `${API}/ssl/v1`, (ctx) => this.#update(ctx));
    r.on('GET', `${API}/ssl/v1`, (ctx) => this.#list(ctx, false));
    r.on('HEAD', `${API}/ssl/v1`, (ctx) => this.#list(ctx, true));
    r.on('POST', `${API}/report/v1/ssl-certificates`, (ctx) => this.#report(ctx));
    r.on('GET', '/crl', async ({ res }) => {
      const revoked = [...this.#orders.values()]
        .filter((o) => o.status === 'Revoked' && o.serialNumber)
        .map((o) => ({
          serialNumber: (o.serialNumber ?? '').replace(/:/g, ''),
          revokedAt: o.revoked ?? this.#clock(),
          reasonCode: o.reasonCode ?? 0,
        }));
      const pem = await this.ca.crl(revoked, this.#clock());
      res.writeHead(200, { 'content-type': 'application/pkix-crl', 'content-length': Buffer.byteLength(pem) });
      res.end(pem);
    });
    r.on('POST', '/ocsp', async ({ req, res }) => {
      const answer = await this.ca.ocsp(
        await readBody(req, 64 * 1024),
        (serial) => this.#serialStatus(serial),
        this.#clock(),
      );
      res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': answer.byteLength });
      res.end(answer);
    });
    r.on('GET', '/ca/intermediate.cer', ({ res }) => {
      const body = Buffer.from(this.ca.intermediate.rawData);
      res.writeHead(200, { 'content-type': 'application/pkix-cert', 'content-length': body.byteLength });
      res.end(body);
    });
    r.on('GET', '/__emulator/stats', ({ res }) => sendJson(res, 200, this.stats));
    r.on('GET', '/__emulator/orders', ({ res }) => sendJson(res, 200, this.orders()));
    r.on('POST', '/__emulator/faults', async ({ req, res }) => {
      Object.assign(this.faults, JSON.parse((await readBody(req, 4096)).toString() || '{}') as Partial<ScmFaults>);
      sendJson(res, 200, this.faults);
    });
    r.on('POST', '/__emulator/orders/:id/revoke', ({ res, params }) => {
      this.revokeDirectly(this.#order(params.id).id);
      sendJson(res, 204, undefined);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://scm');
    try {
      const privateApi = url.pathname.startsWith(`${PRIVATE}${API}/`);
      const path = privateApi ? url.pathname.slice(PRIVATE.length) : url.pathname;
      const route = this.#router.match(req.method ?? 'GET', path);
      if (path.startsWith(`${API}/`)) {
        this.#count(route ? `${req.method} ${url.pathname.replace(/\/\d+(\/|$)/g, '/{id}$1')}` : 'unknown');
        if (privateApi) this.#authenticateByCertificate(req);
        else this.#authenticate(req);
        await this.#injectFaults();
      }
      if (!route) throw scmError(404, -1, `No endpoint ${req.method} ${url.pathname}`);
      await route.handler({ req, res, url, params: route.params });
    } catch (err) {
      if (err instanceof HttpError) sendJson(res, err.status, err.body, err.headers);
      else if (err instanceof DroppedResponse) res.socket?.destroy();
      else sendJson(res, 500, { code: -2, description: `Internal error: ${(err as Error).message}` });
    }
  }

  #count(operation: string): void {
    const stats = this.#stats;
    stats.requests++;
    stats.byOperation[operation] = (stats.byOperation[operation] ?? 0) + 1;
    stats.peakRequestsPerSecond = Math.max(stats.peakRequestsPerSecond, this.#second.count(Date.now()));
    stats.peakRequestsPerClockSecond = Math.max(
      stats.peakRequestsPerClockSecond,
      this.#clockSecond.count(this.#clock()),
    );
  }

  #authenticate(req: IncomingMessage): void {
    const c = this.credentials;
    const h = req.headers;
    if (h.login !== undefined || h.password !== undefined) {
      if (same(h.login, c.login) && same(h.password, c.password) && same(h.customeruri, c.customerUri)) return;
      throw scmError(401, -16, 'Unknown user');
    }
    const bearer = /^Bearer (.+)$/.exec(h.authorization ?? '')?.[1];
    const expiresAt = bearer === undefined ? undefined : this.#tokens.get(bearer);
    if (expiresAt !== undefined && expiresAt > Date.now()) return;
    throw scmError(401, -16, 'Unknown user', {
      'www-authenticate': `Bearer realm="apiclients", error="invalid_token", authorization_uri="${this.tokenUrl}"`,
    });
  }

  /**
   * `/private/api`: the admin named by `login` (with `customerUri`) proves who they are with a client
   * certificate, and no password. SCM checks the certificate registered for that admin; here it must be
   * issued by the emulator's CA to that login (CN). Without one, SCM's "Unknown user".
   */
  #authenticateByCertificate(req: IncomingMessage): void {
    const c = this.credentials;
    const h = req.headers;
    const socket = req.socket as Partial<TLSSocket>;
    const peer = socket.authorized ? socket.getPeerCertificate?.() : undefined;
    const login = peer?.subject?.CN;
    if (
      typeof login === 'string' &&
      same(h.login, login) &&
      same(h.login, c.login) &&
      same(h.customeruri, c.customerUri)
    )
      return;
    throw scmError(401, -16, 'Unknown user');
  }

  async #injectFaults(): Promise<void> {
    const f = this.faults;
    if (f.latencyMs > 0) await sleep(f.latencyMs);
    if (f.rateLimitRate > 0 && Math.random() < f.rateLimitRate) {
      throw scmError(429, -1, 'Too many requests', { 'retry-after': String(f.retryAfterSeconds) });
    }
    if (f.serverErrorRate > 0 && Math.random() < f.serverErrorRate) {
      throw scmError(503, -195, 'CA is not available');
    }
  }

  /** Before an order is recorded: when told to, holds the request until well after the client gave up. */
  async #maybeProcessLate(): Promise<void> {
    if (this.faults.lateOrders > 0) {
      this.faults.lateOrders--;
      await sleep(this.faults.lateProcessingMs);
    }
  }

  /** Called after a mutation is committed: cuts the connection instead of answering, when told to. */
  #maybeDrop(): void {
    if (this.faults.dropResponses > 0) {
      this.faults.dropResponses--;
      throw new DroppedResponse();
    }
  }

  async #token({ req, res }: RouteContext): Promise<void> {
    const form = new URLSearchParams((await readBody(req, 8192)).toString());
    const c = this.credentials;
    if (form.get('grant_type') !== 'client_credentials') {
      throw new HttpError(400, { error: 'unsupported_grant_type' });
    }
    if (
      !same(form.get('client_id') ?? undefined, c.clientId) ||
      !same(form.get('client_secret') ?? undefined, c.clientSecret)
    ) {
      throw new HttpError(401, { error: 'invalid_client', error_description: 'Invalid client credentials' });
    }
    const token = randomBytes(24).toString('base64url');
    const expiresIn = 300;
    this.#tokens.set(token, Date.now() + expiresIn * 1000);
    sendJson(res, 200, { access_token: token, expires_in: expiresIn, token_type: 'Bearer', scope: 'profile' });
  }

  async #enroll({ req, res }: RouteContext): Promise<void> {
    const body = await readJson(req);
    const orgId = Number(body.orgId);
    if (!body.orgId) throw scmError(400, -7, 'orgId is required but missing');
    if (!Number.isInteger(orgId) || orgId < 1) throw scmError(400, -1601, 'Invalid field value: orgId');
    const type = this.#certTypes.find((t) => t.id === Number(body.certType));
    if (!type) throw scmError(400, -111, 'Unknown certificate profile id');
    const term = Number(body.term);
    if (!type.terms.includes(term)) throw scmError(400, -36, `Invalid term for certificate profile "${type.name}"`);
    this.#checkDcv(body);
    const comments = typeof body.comments === 'string' ? body.comments : '';
    if (comments.length > 1024)
      throw scmError(400, -1601, 'Invalid field value: comments is longer than 1024 characters');
    if (typeof body.csr !== 'string' || body.csr.trim() === '') throw scmError(400, -7, 'csr is required but missing');
    const csr = await parseCsr(body.csr);
    const commonName = csr.subjectName.getField('CN')[0] ?? '';
    const requestedSans =
      typeof body.subjAltNames === 'string' && body.subjAltNames.trim() !== ''
        ? body.subjAltNames.split(',').map((s) => s.trim().toLowerCase())
        : csrDnsNames(csr);
    const sans = [...new Set([commonName.toLowerCase(), ...requestedSans].filter((s) => s !== ''))];
    if (sans.length === 0) throw scmError(400, -7, 'commonName is required but missing');

    await this.#maybeProcessLate();
    const now = this.#clock();
    const order: Order = {
      id: this.#nextId++,
      renewId: randomBytes(15).toString('base64url').slice(0, 20),
      status: 'Applied',
      orgId,
      certTypeId: type.id,
      term,
      csr: body.csr,
      commonName,
      subjectAlternativeNames: sans,
      comments,
      externalRequester: typeof body.externalRequester === 'string' ? body.externalRequester : '',
      keyType: keyTypeOf(csr),
      requested: now,
      due: now + this.issuanceDelayMs,
      renewed: false,
    };
    this.#orders.set(order.id, order);
    this.#save();
    this.#maybeDrop();
    sendJson(res, 200, { sslId: order.id, renewId: order.renewId });
  }

  async #get({ res, url, params }: RouteContext): Promise<void> {
    const order = this.#order(params.id);
    await this.#advance(order);
    sendJson(res, 200, this.#details(order, url.searchParams.get('dateFormat')));
  }

  async #collect({ res, params }: RouteContext, format = 'base64'): Promise<void> {
    const order = this.#order(params.id);
    await this.#advance(order);
    if (order.status === 'Applied') throw scmError(400, 0, 'Being processed by Sectigo');
    if (order.status === 'Revoked') throw scmError(400, -110, 'Certificate has been revoked and cannot be downloaded.');
    if (order.status !== 'Issued' && order.status !== 'Expired') throw scmError(400, -130, 'SSL state is not ISSUED');
    const leaf = order.certificatePem ?? '';
    const chain = [this.ca.intermediate.toString('pem'), this.ca.root.toString('pem')];
    const pem = (blocks: string[]) => blocks.map((b) => b.trim()).join('\n') + '\n';
    const pkcs7 = () => new x509.X509Certificates([new x509.X509Certificate(leaf), this.ca.intermediate, this.ca.root]);
    let body: string | Buffer;
    // SCM's orders, not ours (docs/compatibility.md, "collect"): `x509` and `pem` end with the issued
    // certificate, root first; `x509R` and `pemia` ("with issuer after") start with it.
    switch (format) {
      case 'x509':
      case 'pem':
        body = pem([...chain].reverse().concat(leaf));
        break;
      case 'x509R':
        body = pem([leaf, ...chain]);
        break;
      case 'x509CO':
      case 'pemco':
        body = pem([leaf]);
        break;
      case 'pemia':
        body = pem([leaf, this.ca.intermediate.toString('pem')]);
        break;
      case 'x509IO':
        body = pem([this.ca.root.toString('pem'), this.ca.intermediate.toString('pem')]);
        break;
      case 'x509IOR':
        body = pem(chain);
        break;
      case 'base64':
        body = x509.PemConverter.encode(pkcs7().export('raw'), 'PKCS7') + '\n';
        break;
      case 'bin':
        body = Buffer.from(pkcs7().export('raw'));
        break;
      default:
        throw scmError(400, -1450, `Unknown format: ${format}`);
    }
    const filename = `${order.commonName.replace(/[^a-zA-Z0-9.-]/g, '_')}.${format === 'bin' ? 'p7b' : 'pem'}`;
    res.writeHead(200, {
      'content-type': 'application/octet-stream;charset=UTF-8',
      'content-disposition': `attachment; filename="${filename}"`,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  /**
   * The SSL certificates report: certificates in a status (0 any, 1 requested, 2 issued, 3 revoked,
   * 4 expired) whose date of a kind (2 revocation, 3 expiration, 4 request, 5 issuance) falls within
   * [from, to], days inclusive, in the emulator's UTC.
   */
  async #report({ req, res }: RouteContext): Promise<void> {
    const body = JSON.parse((await readBody(req, 64 * 1024)).toString() || '{}') as {
      from?: string;
      to?: string;
      certificateStatus?: number;
      certificateDateAttribute?: number;
      organizationIds?: number[];
    };
    const day = (value: string | undefined, end: boolean) => {
      const match = /^(\d{4}-\d\d-\d\d)/.exec(value ?? '');
      if (!match) throw scmError(400, -1601, `Invalid field value: ${end ? 'to' : 'from'}`);
      return Date.parse(`${match[1]}T00:00:00Z`) + (end ? 86_400_000 - 1 : 0);
    };
    const [from, to] = [day(body.from, false), day(body.to, true)];
    for (const order of this.#orders.values()) await this.#advance(order);
    const statuses: Record<number, OrderStatus[] | undefined> = {
      0: undefined,
      1: ['Applied'],
      2: ['Issued'],
      3: ['Revoked'],
      4: ['Expired'],
    };
    const dates: Record<number, (o: Order) => number | undefined> = {
      2: (o) => o.revoked,
      3: (o) => o.expires,
      4: (o) => o.requested,
      5: (o) => o.issued,
    };
    const wanted = statuses[body.certificateStatus ?? 0];
    const dateOf = dates[body.certificateDateAttribute ?? 4];
    if (!dateOf) throw scmError(400, -1601, 'Invalid field value: certificateDateAttribute');
    const reports = [...this.#orders.values()]
      .filter((o) => !wanted || wanted.includes(o.status))
      .filter((o) => !body.organizationIds?.length || body.organizationIds.includes(o.orgId))
      .filter((o) => {
        const at = dateOf(o);
        return at !== undefined && at >= from && at <= to;
      })
      .map((o) => ({
        id: o.id,
        commonName: o.commonName,
        serialNumber: o.serialNumber ?? '',
        status: o.status,
        orgId: o.orgId,
      }));
    sendJson(res, 200, { statusCode: 0, message: 'OK', reports });
  }

  async #list({ res, url }: RouteContext, headOnly: boolean): Promise<void> {
    const q = url.searchParams;
    const position = Number(q.get('position') ?? 0);
    const size = Number(q.get('size') ?? MAX_PAGE);
    if (!Number.isInteger(position) || position < 0) throw scmError(400, -1601, 'Invalid field value: position');
    if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) throw scmError(400, -1601, 'Invalid field value: size');
    for (const order of this.#orders.values()) await this.#advance(order);
    const matches = [...this.#orders.values()].filter((order) => {
      const checks: Array<[string, (o: Order) => unknown]> = [
        ['commonName', (o) => o.commonName],
        [
          'subjectAlternativeName',
          (o) => o.subjectAlternativeNames.find((n) => n === q.get('subjectAlternativeName')?.toLowerCase()),
        ],
        ['orgId', (o) => o.orgId],
        ['sslTypeId', (o) => o.certTypeId],
        ['status', (o) => o.status],
        ['serialNumber', (o) => o.serialNumber],
        ['externalRequester', (o) => o.externalRequester],
      ];
      // Whether SCM's commonName filter is exact or a pattern is not documented (the report API calls its
      // field a pattern): the emulator answers the wider reading, every CN that contains the value, so that a
      // client that trusts the filter to be exact fails a test (docs/compatibility.md, "list filters").
      const wanted = q.get('commonName')?.toLowerCase();
      if (wanted !== undefined && !order.commonName.toLowerCase().includes(wanted)) return false;
      return checks.every(
        ([name, read]) =>
          name === 'commonName' || !q.has(name) || String(read(order)).toLowerCase() === q.get(name)?.toLowerCase(),
      );
    });
    if (this.faults.listNewestFirst) matches.reverse();
    const headers = { 'x-total-count': String(matches.length) };
    if (headOnly) {
      res.writeHead(200, headers);
      res.end();
      return;
    }
    const page = matches.slice(position, position + size).map((o) => ({
      sslId: o.id,
      commonName: o.commonName,
      subjectAlternativeNames: o.subjectAlternativeNames,
      serialNumber: o.serialNumber ?? '',
    }));
    sendJson(res, 200, page, headers);
  }

  /** PUT /ssl/v1: comments and the requester can change at any time; the rest only before issuance. */
  async #update({ req, res, url }: RouteContext): Promise<void> {
    const body = await readJson(req);
    if (typeof body.sslId !== 'number' && typeof body.sslId !== 'string') {
      throw scmError(400, -7, 'sslId is required but missing');
    }
    const order = this.#order(String(body.sslId));
    if (body.comments !== undefined) {
      if (typeof body.comments !== 'string' || body.comments.length > 1024) {
        throw scmError(400, -1601, 'Invalid field value: comments');
      }
      order.comments = body.comments;
    }
    if (typeof body.externalRequester === 'string') order.externalRequester = body.externalRequester;
    this.#save();
    sendJson(res, 200, this.#details(order, url.searchParams.get('dateFormat')));
  }

  async #renew({ req, res, params }: RouteContext): Promise<void> {
    const original = this.#order(params.id);
    await this.#advance(original);
    const refusal = this.faults.refuseRenewals;
    if (refusal) throw scmError(400, refusal.code, refusal.description);
    if (original.status !== 'Issued' && original.status !== 'Expired') {
      throw scmError(400, -123, 'Invalid certificate to renew');
    }
    const raw = (await readBody(req, 64 * 1024)).toString().trim();
    let csrText = original.csr;
    const body = (raw !== '' && raw !== '""' ? JSON.parse(raw) : {}) as Record<string, unknown>;
    if (typeof body.csr === 'string' && body.csr.trim() !== '') csrText = body.csr;
    this.#checkDcv(body);
    const csr = await parseCsr(csrText);
    await this.#maybeProcessLate();
    const now = this.#clock();
    const order: Order = {
      ...structuredClone(original),
      id: this.#nextId++,
      renewId: randomBytes(15).toString('base64url').slice(0, 20),
      status: 'Applied',
      csr: csrText,
      keyType: keyTypeOf(csr),
      requested: now,
      due: now + this.issuanceDelayMs,
      issued: undefined,
      expires: undefined,
      serialNumber: undefined,
      certificatePem: undefined,
      renewed: false,
      renewedDate: undefined,
      comments: this.faults.renewalCopiesComments ? original.comments : '',
    };
    original.renewed = true;
    original.renewedDate = now;
    this.#orders.set(order.id, order);
    this.#save();
    this.#maybeDrop();
    sendJson(res, 200, { sslId: order.id });
  }

  async #revoke({ req, res }: RouteContext, order: Order): Promise<void> {
    const body = await readJson(req);
    await this.#advance(order);
    const reasonCode = body.reasonCode === undefined ? 0 : Number(body.reasonCode);
    if (![0, 1, 3, 4, 5].includes(reasonCode)) throw scmError(400, -1601, 'Invalid field value: reasonCode');
    if (typeof body.reason !== 'string' || body.reason.trim() === '')
      throw scmError(400, -7, 'reason is required but missing');
    if (body.reason.length > 512) throw scmError(400, -1601, 'Invalid field value: reason');
    if (order.status === 'Revoked') {
      if (this.faults.alreadyRevokedCode === -102) {
        throw scmError(400, -102, 'Only issued certificates could be revoked.');
      }
      throw scmError(400, -159, 'Your certificate already revoked');
    }
    if (order.status !== 'Issued') throw scmError(400, -102, 'Only issued certificates could be revoked.');
    order.status = 'Revoked';
    order.revoked = this.#clock();
    order.reasonCode = reasonCode;
    this.#save();
    this.#maybeDrop();
    sendJson(res, 204, undefined);
  }

  /** What the CA's OCSP responder says of a serial: issued by it, revoked by it, or not its own. */
  #serialStatus(serialHex: string): SerialStatus {
    const order = [...this.#orders.values()].find(
      (o) => o.serialNumber !== undefined && normaliseSerial(o.serialNumber) === serialHex,
    );
    if (!order) return { kind: 'unknown' };
    if (order.status !== 'Revoked') return { kind: 'good' };
    return { kind: 'revoked', revokedAt: order.revoked ?? this.#clock(), reasonCode: order.reasonCode ?? 0 };
  }

  #checkDcv(body: Record<string, unknown>): void {
    const mode = body.dcvMode;
    if (mode === undefined) {
      if (this.faults.dcvRequired) throw scmError(400, -7, 'dcvMode is required but missing');
      return;
    }
    if (typeof mode !== 'string' || !['EMAIL', 'CNAME', 'HTTP', 'HTTPS', 'AUTO', 'TXT'].includes(mode)) {
      throw scmError(400, -1601, 'Invalid field value: dcvMode');
    }
    if (mode === 'EMAIL' && typeof body.dcvEmail !== 'string') {
      throw scmError(400, -7, 'dcvEmail is required but missing');
    }
  }

  #order(id: string | undefined): Order {
    const order = this.#orders.get(Number(id));
    if (!order) throw scmError(404, -124, 'Wrong SSL certificate id');
    return order;
  }

  #bySerial(serial: string): Order {
    const wanted = normaliseSerial(serial);
    const order = [...this.#orders.values()].find((o) => o.serialNumber && normaliseSerial(o.serialNumber) === wanted);
    if (!order) throw scmError(404, -5101, 'Certificate not found');
    return order;
  }

  /** Moves an order along with time: issues (or declines) it when due, expires it after notAfter. */
  async #advance(order: Order): Promise<void> {
    const now = this.#clock();
    if (order.status === 'Applied' && now >= order.due) {
      let pending = this.#issuing.get(order.id);
      if (!pending) {
        pending = this.#complete(order).finally(() => this.#issuing.delete(order.id));
        this.#issuing.set(order.id, pending);
      }
      await pending;
    }
    this.#expire(order, now);
  }

  #expire(order: Order, now: number): void {
    if (order.status === 'Issued' && order.expires !== undefined && now >= order.expires) {
      order.status = 'Expired';
      this.#save();
    }
  }

  async #complete(order: Order): Promise<void> {
    if (order.status !== 'Applied') return;
    const declined = this.#options.declinedDomains ?? ['declined.example'];
    if (order.subjectAlternativeNames.some((name) => declined.some((d) => name === d || name.endsWith(`.${d}`)))) {
      order.status = 'Declined';
      order.declined = this.#clock();
      this.#save();
      return;
    }
    const type = this.#certTypes.find((t) => t.id === order.certTypeId);
    const issuedAt = Math.floor(this.#clock() / 1000) * 1000;
    const validity = type?.fixedValidity ?? {
      notBefore: issuedAt,
      notAfter: issuedAt + order.term * (type?.termUnitMs ?? this.#dayLengthMs),
    };
    const notBefore = new Date(validity.notBefore);
    const notAfter = new Date(validity.notAfter);
    const certificate = await this.ca.issue({
      csr: await parseCsr(order.csr),
      subjectAltNames: order.subjectAlternativeNames,
      notBefore,
      notAfter,
      urls: { crl: `${this.url}/crl`, ocsp: `${this.url}/ocsp`, caIssuers: `${this.url}/ca/intermediate.cer` },
    });
    order.certificatePem = certificate.toString('pem');
    order.serialNumber = colonHex(certificate.serialNumber);
    order.issued = notBefore.getTime();
    order.expires = notAfter.getTime();
    order.status = 'Issued';
    this.#save();
  }

  #details(order: Order, dateFormat: string | null): Record<string, unknown> {
    const date = (ms: number | undefined) => (ms === undefined ? undefined : formatDate(ms, dateFormat));
    const type = this.#certTypes.find((t) => t.id === order.certTypeId);
    return {
      id: order.id,
      sslId: order.id,
      commonName: order.commonName,
      subjectAlternativeNames: order.subjectAlternativeNames,
      orgId: order.orgId,
      status: order.status,
      certType: type ? typeJson(type) : { id: order.certTypeId },
      term: order.term,
      comments: order.comments,
      externalRequester: order.externalRequester,
      requester: this.credentials.login,
      requestedVia: 'REST API',
      keyType: order.keyType,
      serialNumber: order.serialNumber,
      renewed: order.renewed,
      renewedDate: date(order.renewedDate),
      requested: date(order.requested),
      issued: date(order.issued),
      declined: date(order.declined),
      expires: date(order.expires),
      revoked: date(order.revoked),
      // A string enum in the details ("0" … "10"; Sectigo's OpenAPI, CertDetailsResponse).
      reasonCode: order.reasonCode === undefined ? undefined : String(order.reasonCode),
      backendCertId: String(order.id * 7),
    };
  }

  #file(): string | undefined {
    return this.#options.dataDir ? join(this.#options.dataDir, 'scm-orders.json') : undefined;
  }

  #load(): void {
    const file = this.#file();
    if (!file || !existsSync(file)) return;
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { nextId: number; orders: Order[] };
    this.#nextId = saved.nextId;
    for (const order of saved.orders) this.#orders.set(order.id, order);
  }

  #save(): void {
    const file = this.#file();
    if (!file || !this.#options.dataDir) return;
    mkdirSync(this.#options.dataDir, { recursive: true });
    const temp = `${file}.${randomUUID()}.tmp`;
    writeFileSync(temp, JSON.stringify({ nextId: this.#nextId, orders: [...this.#orders.values()] }));
    renameSync(temp, file);
  }
}

class DroppedResponse extends Error {}

function typeJson(type: ScmCertType) {
  // The emulator's own knobs stay out of SCM's shape.
  return {
    id: type.id,
    name: type.name,
    description: type.description,
    terms: type.terms,
    keyTypes: { RSA: ['2048', '3072', '4096'], EC: ['P-256', 'P-384'] },
    useSecondaryOrgName: false,
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = (await readBody(req, 64 * 1024)).toString();
  if (raw.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch {
    // fall through to SCM's answer for a malformed body
  }
  throw scmError(400, -1601, 'Malformed JSON request body');
}

/** Accepts a PEM CSR or bare base64, as SCM does; answers SCM's CSR errors otherwise. */
async function parseCsr(text: string): Promise<x509.Pkcs10CertificateRequest> {
  const body = text.replace(/-----(BEGIN|END) (NEW )?CERTIFICATE REQUEST-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/=]+$/.test(body)) throw scmError(400, -9, 'CSR is not valid base64');
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(Buffer.from(body, 'base64'));
  } catch {
    throw scmError(400, -10, 'Error decoding CSR');
  }
  if (!(await csr.verify().catch(() => false))) throw scmError(400, -138, 'Invalid CSR');
  const algorithm = csr.publicKey.algorithm as { name: string; modulusLength?: number };
  if (algorithm.modulusLength !== undefined && algorithm.modulusLength < 2048)
    throw scmError(400, -141, 'Key size is too small');
  return csr;
}

function csrDnsNames(csr: x509.Pkcs10CertificateRequest): string[] {
  const san = csr.extensions.find((ext) => ext instanceof x509.SubjectAlternativeNameExtension);
  return san instanceof x509.SubjectAlternativeNameExtension
    ? san.names.items.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase())
    : [];
}

function keyTypeOf(csr: x509.Pkcs10CertificateRequest): string {
  const a = csr.publicKey.algorithm as { name: string; modulusLength?: number; namedCurve?: string };
  return a.modulusLength !== undefined ? `RSA - ${a.modulusLength}` : `EC - ${a.namedCurve ?? 'unknown'}`;
}

/** SCM writes serials as upper-case colon-separated hex. */
function colonHex(hex: string): string {
  return (hex.length % 2 ? `0${hex}` : hex).toUpperCase().match(/../g)?.join(':') ?? hex;
}

function normaliseSerial(serial: string): string {
  return serial.replace(/:/g, '').toUpperCase().replace(/^0+/, '');
}

/**
 * MM/dd/yyyy by default; `dateFormat=ISO` gives yyyy-MM-dd and `ISO_HMS` yyyy-MM-dd'T'HH:mm:ss.SSS'Z'
 * (Sectigo's reference, "Date formatting").
 */
function formatDate(ms: number, dateFormat: string | null): string {
  const d = new Date(ms);
  if (dateFormat?.toUpperCase() === 'ISO_HMS') return d.toISOString();
  if (dateFormat?.toUpperCase() === 'ISO') return d.toISOString().slice(0, 10);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${d.getUTCFullYear()}`;
}

function same(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
