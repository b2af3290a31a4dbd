/**
 * Configuration from the environment, validated once at start with every problem reported together.
 * Jira, SCM and Temporal are each either configured (the real system) or left unset (`npm start` then
 * runs the sandbox's emulator, or the embedded dev server, in its place). Secrets come only from here.
 */
import { readFileSync } from 'node:fs';
import type { Deployment, JiraAuth } from './jira/client.ts';
import { DEFAULT_JIRA_NAMES, type JiraNames, type RevokerPolicy } from './contract/shared.ts';
import { DEFAULT_ATTENTION_LIMIT } from './metrics.ts';
import type { ScmAuth } from './sectigo/client.ts';
import { clientCertificateProblem } from './sectigo/client-certificate.ts';
import { temporalTarget, TemporalSettingsError, type TemporalTarget } from './temporal-connection.ts';

/** Workflows a worker keeps cached unless WORKER_MAX_CACHED_WORKFLOWS says otherwise. */
export const DEFAULT_CACHED_WORKFLOWS = 250;

export interface JiraConfig {
  baseUrl: string;
  auth: JiraAuth;
  names: JiraNames;
  /** Cloud or Data Center (JIRA_DEPLOYMENT); unset, the site's serverInfo says. */
  deployment?: Deployment;
  /** The settings the credentials came from, for a message that says which to check. */
  credentialSettings?: string;
}

export interface SectigoConfig {
  baseUrl: string;
  auth: ScmAuth;
  timeoutMs: number;
  /** PEM certificates trusted for SCM's TLS besides the system's. */
  ca?: string;
}

/** Jira and SCM, both configured: what a process that talks to them needs. */
export interface Systems {
  jira: JiraConfig;
  sectigo: SectigoConfig;
}

/** Jira and SCM when both are configured (real systems); undefined when neither is (the sandbox). */
export function configuredSystems(config: Config): Systems | undefined {
  if (config.jira && config.sectigo) return { jira: config.jira, sectigo: config.sectigo };
  if (config.jira || config.sectigo) {
    throw new ConfigError([
      'configure both Jira (JIRA_*) and Sectigo (SECTIGO_*) to run against real systems, or neither to run the sandbox',
    ]);
  }
  return undefined;
}

export interface Config {
  /**
   * The Temporal service from Temporal's environment configuration (its address undefined when none is
   * configured: `npm start` runs a dev server on `port`, its Web UI on `uiPort`).
   */
  temporal: { target: TemporalTarget; port: number; uiPort: number };
  /** Certificate workflows the worker keeps cached (its memory follows this, not the fleet). */
  maxCachedWorkflows: number;
  /** The worker's /metrics, /healthz and /readyz (port 0: any free port). */
  metrics: { host: string; port: number };
  /** How many certificates that need attention get series of their own in /metrics. */
  attentionLimit: number;
  /** How Jira events arrive: its webhooks reach the receiver, or the worker polls Jira (JIRA_TRIGGER=polling). */
  trigger: { kind: 'webhook' } | { kind: 'polling'; intervalMs: number };
  jira: JiraConfig | undefined;
  sectigo: SectigoConfig | undefined;
  /** Global limit on SCM calls per second, across every worker (Temporal enforces it per task queue). */
  sectigoRequestsPerSecond: number;
  receiver: {
    host: string;
    port: number;
    maxBodyBytes: number;
    webhookSecret: string | undefined;
    /** Who may revoke from Jira: JIRA_REVOKERS_GROUP, and JIRA_REVOKERS=anyone to lift the restriction. */
    revokers: RevokerPolicy;
  };
  profilesFile: string | undefined;
  /** A workflow bundle built ahead of time (`node src/workflow-bundle.ts OUT`); otherwise built at start. */
  workflowBundle: string | undefined;
  sandbox: {
    dataDir: string;
    jiraPort: number;
    scmPort: number;
    issuanceDelayMs: number;
    /** Which Jira the sandbox emulates (SANDBOX_JIRA): Cloud, or Data Center. */
    jira: Deployment;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** Settings the connector no longer offers: read only to say so, never passed to a process. */
export const RETIRED_VARIABLES = ['METRICS_CERTIFICATE_SERIES'] as const;

/**
 * The secrets, each of which may instead be read from a file that `<NAME>_FILE` names (a mounted Kubernetes
 * or Docker secret): the file's text, less its final line break.
 */
export const SECRET_VARIABLES = [
  'JIRA_API_TOKEN',
  'JIRA_BEARER_TOKEN',
  'JIRA_PASSWORD',
  'JIRA_WEBHOOK_SECRET',
  'SECTIGO_PASSWORD',
  'SECTIGO_CLIENT_SECRET',
  'SECTIGO_CLIENT_KEY',
  'SECTIGO_CLIENT_KEY_PASSPHRASE',
  'TEMPORAL_API_KEY',
  'PAYLOAD_ENCRYPTION_KEYS',
  'CODEC_AUTH_TOKEN',
] as const;

/** Every variable `<NAME>_FILE` may give from a file: the secrets, and the PEM certificates beside them. */
export const FILE_VARIABLES = [...SECRET_VARIABLES, 'SECTIGO_CLIENT_CERT', 'SECTIGO_CA'] as const;

/**
 * Sets each secret that `<NAME>_FILE` names from its file, in `env` itself (so that every reader of the
 * environment, the SDK's among them, sees it); answers the problems: a file that cannot be read, or a
 * secret given both ways.
 */
export function applySecretFiles(env: Record<string, string | undefined> = process.env): string[] {
  const problems: string[] = [];
  for (const name of FILE_VARIABLES) {
    const file = env[`${name}_FILE`]?.trim();
    if (!file) continue;
    if (env[name]?.trim()) {
      problems.push(`${name} and ${name}_FILE are both set: keep one`);
      continue;
    }
    try {
      env[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return problems;
}

export const DEFAULT_SECTIGO_TOKEN_URL =
  'https://auth.sso.sectigo.com/auth/realms/apiclients/protocol/openid-connect/token';

/** Temporal's environment configuration; a problem with it joins the others. */
function temporalSettings(env: Readonly<Record<string, string | undefined>>, problems: string[]): TemporalTarget {
  try {
    return temporalTarget(env);
  } catch (err) {
    if (!(err instanceof TemporalSettingsError)) throw err;
    problems.push(err.message);
    return {
      address: undefined,
      namespace: 'default',
      options: {},
      source: '',
      configFile: undefined,
      profile: 'default',
      keyFromEnvironment: false,
    };
  }
}

/** Reads variables of the environment, collecting every problem rather than stopping at the first. */
class Environment {
  readonly problems: string[] = [];
  readonly #env: Readonly<Record<string, string | undefined>>;

  constructor(env: Readonly<Record<string, string | undefined>>) {
    this.#env = env;
  }

  text(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value === '' ? undefined : value;
  }

  required(name: string, why: string): string {
    const value = this.text(name);
    if (value === undefined) this.problems.push(`${name} is required ${why}`);
    return value ?? '';
  }

  int(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return n;
  }

  url(name: string, why: string): string {
    const raw = this.required(name, why);
    if (raw !== '') {
      try {
        const parsed = new URL(raw);
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
          this.problems.push(`${name} must be an http(s) URL`);
        }
      } catch {
        this.problems.push(`${name} must be an absolute URL, got "${raw}"`);
      }
    }
    return raw.replace(/\/+$/, '');
  }

  /** One of `choices` (the first is the default), or a problem naming them. */
  choice<T extends string>(name: string, choices: readonly T[], words: string): T {
    const value = this.text(name);
    if (value === undefined) return choices[0] as T;
    if ((choices as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name} must be ${words}, not "${value}"`);
    return choices[0] as T;
  }
}

/** Jira's settings, when any is given (the sandbox's emulator otherwise). */
function jiraConfig(e: Environment): JiraConfig | undefined {
  const jiraSet = [
    'JIRA_BASE_URL',
    'JIRA_EMAIL',
    'JIRA_API_TOKEN',
    'JIRA_BEARER_TOKEN',
    'JIRA_USERNAME',
    'JIRA_PASSWORD',
  ].some((n) => e.text(n) !== undefined);
  if (!jiraSet) return undefined;
  const why = 'when Jira is configured';
  const baseUrl = e.url('JIRA_BASE_URL', why);
  const bearer = e.text('JIRA_BEARER_TOKEN');
  const dataCenterLogin = e.text('JIRA_USERNAME') !== undefined || e.text('JIRA_PASSWORD') !== undefined;
  // Cloud: email and API token, or an OAuth token; Data Center: a personal access token (bearer), or a
  // username and password where the site still takes basic authentication.
  const auth: JiraAuth =
    bearer !== undefined
      ? { kind: 'bearer', token: bearer }
      : dataCenterLogin
        ? { kind: 'basic', user: e.required('JIRA_USERNAME', why), secret: e.required('JIRA_PASSWORD', why) }
        : { kind: 'basic', user: e.required('JIRA_EMAIL', why), secret: e.required('JIRA_API_TOKEN', why) };
  const deployment = e.text('JIRA_DEPLOYMENT');
  if (deployment !== undefined && deployment !== 'cloud' && deployment !== 'datacenter') {
    e.problems.push(`JIRA_DEPLOYMENT must be "cloud" or "datacenter" (unset: the site says), not "${deployment}"`);
  }
  const d = DEFAULT_JIRA_NAMES;
  const name = (key: string, fallback: string) => e.text(key) ?? fallback;
  return {
    baseUrl,
    auth,
    ...(deployment === 'cloud' || deployment === 'datacenter' ? { deployment } : {}),
    credentialSettings:
      bearer !== undefined
        ? 'JIRA_BEARER_TOKEN'
        : dataCenterLogin
          ? 'JIRA_USERNAME and JIRA_PASSWORD'
          : 'JIRA_EMAIL and JIRA_API_TOKEN',
    names: {
      projectKey: name('JIRA_PROJECT_KEY', d.projectKey),
      certificateIssueType: name('JIRA_ISSUE_TYPE', d.certificateIssueType),
      revokeIssueType: name('JIRA_REVOKE_ISSUE_TYPE', d.revokeIssueType),
      fields: {
        profile: name('JIRA_FIELD_PROFILE', d.fields.profile),
        csr: name('JIRA_FIELD_CSR', d.fields.csr),
        certificateId: name('JIRA_FIELD_CERTIFICATE_ID', d.fields.certificateId),
        domain: name('JIRA_FIELD_DOMAIN', d.fields.domain),
        expiryDate: name('JIRA_FIELD_EXPIRY_DATE', d.fields.expiryDate),
        revocationReason: name('JIRA_FIELD_REVOCATION_REASON', d.fields.revocationReason),
      },
      statuses: {
        request: name('JIRA_STATUS_REQUEST', d.statuses.request),
        enrolled: name('JIRA_STATUS_ENROLLED', d.statuses.enrolled),
        renewed: name('JIRA_STATUS_RENEWED', d.statuses.renewed),
        revoked: name('JIRA_STATUS_REVOKED', d.statuses.revoked),
      },
      transitions: {
        enroll: name('JIRA_TRANSITION_ENROLL', d.transitions.enroll),
        renew: name('JIRA_TRANSITION_RENEW', d.transitions.renew),
        revoke: name('JIRA_TRANSITION_REVOKE', d.transitions.revoke),
      },
    },
  };
}

/** SCM's settings, when any is given (the sandbox's emulator otherwise). */
function sectigoConfig(e: Environment): SectigoConfig | undefined {
  const scmVars = [
    'SECTIGO_BASE_URL',
    'SECTIGO_LOGIN',
    'SECTIGO_PASSWORD',
    'SECTIGO_CLIENT_ID',
    'SECTIGO_CLIENT_SECRET',
    'SECTIGO_CLIENT_CERT',
    'SECTIGO_CLIENT_KEY',
  ];
  if (!scmVars.some((n) => e.text(n) !== undefined)) return undefined;
  const why = 'when Sectigo is configured';
  const baseUrl = e.url('SECTIGO_BASE_URL', why);
  const set = (...names: string[]) => names.filter((n) => e.text(n) !== undefined);
  const oauth = set('SECTIGO_CLIENT_ID', 'SECTIGO_CLIENT_SECRET');
  const certificate = set('SECTIGO_CLIENT_CERT', 'SECTIGO_CLIENT_KEY');
  const others = set('SECTIGO_CLIENT_ID', 'SECTIGO_CLIENT_SECRET', 'SECTIGO_PASSWORD');
  if (certificate.length > 0 && others.length > 0) {
    e.problems.push(`SECTIGO_CLIENT_CERT logs in with a client certificate: unset ${others.join(' and ')}`);
  }
  let auth: ScmAuth;
  if (certificate.length > 0) {
    const why = 'for client-certificate authentication';
    auth = {
      kind: 'certificate',
      login: e.required('SECTIGO_LOGIN', why),
      customerUri: e.required('SECTIGO_CUSTOMER_URI', why),
      certificate: e.required('SECTIGO_CLIENT_CERT', why),
      key: e.required('SECTIGO_CLIENT_KEY', why),
      passphrase: e.text('SECTIGO_CLIENT_KEY_PASSPHRASE'),
    };
    if (auth.certificate && auth.key) {
      const problem = clientCertificateProblem(auth);
      if (problem) e.problems.push(`SECTIGO_CLIENT_CERT and SECTIGO_CLIENT_KEY: ${problem}`);
    }
    if (baseUrl.startsWith('http:')) e.problems.push('SECTIGO_BASE_URL must be https:// with a client certificate');
  } else if (oauth.length > 0) {
    const why = 'for OAuth client credentials';
    auth = {
      kind: 'oauth',
      clientId: e.required('SECTIGO_CLIENT_ID', why),
      clientSecret: e.required('SECTIGO_CLIENT_SECRET', why),
      tokenUrl: e.text('SECTIGO_TOKEN_URL') ?? DEFAULT_SECTIGO_TOKEN_URL,
    };
  } else {
    const why =
      'for password authentication (or set SECTIGO_CLIENT_ID and SECTIGO_CLIENT_SECRET for OAuth, or SECTIGO_CLIENT_CERT and SECTIGO_CLIENT_KEY for a client certificate)';
    auth = {
      kind: 'password',
      login: e.required('SECTIGO_LOGIN', why),
      password: e.required('SECTIGO_PASSWORD', why),
      customerUri: e.required('SECTIGO_CUSTOMER_URI', why),
    };
  }
  const ca = e.text('SECTIGO_CA');
  return { baseUrl, auth, timeoutMs: e.int('SECTIGO_TIMEOUT_MS', 30_000, 1000, 600_000), ...(ca ? { ca } : {}) };
}

/** Reads and validates the environment; throws one ConfigError listing every problem. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  { forReceiving = true }: { forReceiving?: boolean } = {},
): Config {
  const fromFiles = applySecretFiles(env);
  const e = new Environment(env);
  const { problems } = e;
  problems.push(...fromFiles);
  const [text, int] = [e.text.bind(e), e.int.bind(e)];
  const jira = jiraConfig(e);
  const sectigo = sectigoConfig(e);
  const receiverPort = int('RECEIVER_PORT', 8782, 0, 65535);
  const trigger = e.choice('JIRA_TRIGGER', ['webhook', 'polling'], '"webhook" (the default) or "polling"');
  const config: Config = {
    temporal: {
      target: temporalSettings(env, problems),
      port: int('TEMPORAL_PORT', 7233, 1, 65535),
      uiPort: int('TEMPORAL_UI_PORT', 8233, 1, 65535),
    },
    maxCachedWorkflows: int('WORKER_MAX_CACHED_WORKFLOWS', DEFAULT_CACHED_WORKFLOWS, 0, 100_000),
    trigger:
      trigger === 'polling'
        ? { kind: 'polling', intervalMs: 1000 * int('JIRA_POLL_INTERVAL_SECONDS', 30, 1, 3600) }
        : { kind: 'webhook' },
    metrics: {
      // Loopback unless told otherwise: /metrics names issue keys and domains, and has no authentication.
      host: text('METRICS_HOST') ?? '127.0.0.1',
      port: int('METRICS_PORT', 9464, 0, 65535),
    },
    attentionLimit: int('METRICS_ATTENTION_LIMIT', DEFAULT_ATTENTION_LIMIT, 0, 100_000),
    jira,
    sectigo,
    sectigoRequestsPerSecond: int('SECTIGO_MAX_REQUESTS_PER_SECOND', 10, 1, 10_000),
    receiver: {
      host: text('RECEIVER_HOST') ?? '127.0.0.1',
      port: receiverPort,
      maxBodyBytes: int('RECEIVER_MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
      webhookSecret: text('JIRA_WEBHOOK_SECRET'),
      revokers: {
        group: text('JIRA_REVOKERS_GROUP'),
        anyone:
          e.choice('JIRA_REVOKERS', ['restricted', 'anyone'], '"restricted" (the default) or "anyone"') === 'anyone',
      },
    },
    profilesFile: text('PROFILES_FILE'),
    workflowBundle: text('WORKFLOW_BUNDLE'),
    sandbox: {
      dataDir: text('DATA_DIR') ?? 'data',
      jiraPort: int('JIRA_EMULATOR_PORT', 8780, 0, 65535),
      scmPort: int('SCM_EMULATOR_PORT', 8781, 0, 65535),
      issuanceDelayMs: int('SANDBOX_ISSUANCE_DELAY_MS', 2000, 0, 3_600_000),
      jira: e.choice('SANDBOX_JIRA', ['cloud', 'datacenter'], '"cloud" (the default) or "datacenter"'),
    },
  };
  // Retired: `attention`, which is now what every worker does, is still accepted.
  const series = text(RETIRED_VARIABLES[0]);
  if (series !== undefined && series !== 'attention') {
    problems.push(
      `${RETIRED_VARIABLES[0]}=${series} is no longer offered (a scrape never lists every certificate):` +
        ' unset it; METRICS_ATTENTION_LIMIT caps the certificates that need attention given series of their own',
    );
  }
  const logLevel = text('LOG_LEVEL');
  if (logLevel !== undefined && !['debug', 'info', 'warn', 'error'].includes(logLevel.toLowerCase())) {
    problems.push(`LOG_LEVEL must be debug, info (the default), warn or error, not "${logLevel}"`);
  }
  if (jira && forReceiving && !config.receiver.webhookSecret && config.trigger.kind === 'webhook') {
    problems.push(
      'JIRA_WEBHOOK_SECRET is required when Jira is configured: unsigned webhooks must not start workflows',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
