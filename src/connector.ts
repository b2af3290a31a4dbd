/**
 * The composition root: builds the connector from configuration — the Jira and SCM clients, the
 * profiles, the activities, both workers and the webhook receiver. `startConnector` starts all of it for
 * `node src/worker.ts` and `npm start` (real systems or the sandbox's emulators alike); the receiver on
 * its own and the tests use its parts. Nothing else constructs these.
 */
import { watchFile } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import type { AddressInfo } from 'node:net';
import { Worker, type InjectedSinks, type NativeConnection } from '@temporalio/worker';
import { createCsrActivities } from './activities/csr.ts';
import { createJiraActivities } from './activities/jira.ts';
import { createPollingActivities } from './activities/polling.ts';
import { createProfileActivities } from './activities/profiles.ts';
import { createSectigoActivities } from './activities/sectigo.ts';
import { createSweepActivities } from './activities/sweep.ts';
import { createReissueActivities } from './activities/reissue.ts';
import { createWebhookServer, WEBHOOK_PATH } from './client/webhook.ts';
import {
  ConfigError,
  DEFAULT_CACHED_WORKFLOWS,
  type Config,
  type JiraConfig,
  type SectigoConfig,
  type Systems,
} from './config.ts';
import { Dispatcher } from './events/dispatcher.ts';
import { close, listen } from './http.ts';
import { ConnectorMetrics, fleetReader, type UpstreamObserver } from './metrics.ts';
import { ensureJiraPolling, ensureSweepSchedule } from './schedule.ts';
import { buildIdOf, loadWorkflowBundle } from './workflow-bundle.ts';
import {
  DEFAULT_ACCOUNT,
  searchAttributeRegistrations,
  sectigoQueue,
  TASK_QUEUE,
  type RevokerPolicy,
} from './contract/shared.ts';
import { accountSettings, type ConnectedAccount } from './accounts.ts';
import type { CertificateSinks } from './contract/certificate.ts';
import { JiraClient, JiraError } from './jira/client.ts';
import { log } from './log.ts';
import { createOpsServer, type OpsServerOptions, type ReadinessCheck } from './ops.ts';
import { ProfileError, Profiles } from './profiles.ts';
import { ScmClient, ScmError } from './sectigo/client.ts';
import { namespaceCheck, type TemporalTarget } from './temporal-connection.ts';

/**
 * Dev server settings for the sandbox and the tests. Eager activity execution hands an activity on the
 * workflow's own task queue straight to the worker that scheduled it: enrollment's Jira steps start
 * without a round trip through matching (in the sandbox, "Enroll" → PEM attached drops by a third).
 * SQLite in WAL mode with normal sync: the dev server otherwise opens its file with a rollback journal
 * and a full sync on every commit, which made it, not the connector, the bottleneck under load.
 */
export const DEV_SERVER_ARGS = [
  '--dynamic-config-value',
  'system.enableActivityEagerExecution=true',
  '--sqlite-pragma',
  'journal_mode=wal',
  '--sqlite-pragma',
  'synchronous=normal',
];

/** The outside systems, as the activities and the receiver see them. */
export interface Adapters {
  jira: JiraClient;
  scm: ScmClient;
  profiles: Profiles;
}

/**
 * The Jira client for a configured site. What the operator must fix — credentials Jira refuses, a site
 * that does not answer, custom fields missing — is a ConfigError naming the setting.
 */
export async function connectJira(config: JiraConfig, observer?: UpstreamObserver): Promise<JiraClient> {
  try {
    return await JiraClient.connect({ ...config, ...(observer ? { observer } : {}) });
  } catch (err) {
    if (!(err instanceof JiraError)) throw err;
    const credentials =
      config.credentialSettings ??
      (config.auth.kind === 'basic' ? 'JIRA_EMAIL and JIRA_API_TOKEN' : 'JIRA_BEARER_TOKEN');
    if (err.status === 401 || err.status === 403) {
      throw new ConfigError([
        `Jira at ${config.baseUrl} refused the connector's credentials (HTTP ${err.status}): check ${credentials}`,
      ]);
    }
    if (err.status === 0) {
      throw new ConfigError([`Jira at ${config.baseUrl} did not answer (${err.message}): check JIRA_BASE_URL`]);
    }
    if (err.status === 400) {
      throw new ConfigError([`${err.message}: \`npm run cli -- jira-check --fix\` creates what is missing`]);
    }
    throw err;
  }
}

export function connectScm(
  config: SectigoConfig,
  maxRequestsPerSecond: number | undefined,
  observer?: UpstreamObserver,
): ScmClient {
  return new ScmClient({ ...config, maxRequestsPerSecond, ...(observer ? { observer } : {}) });
}

/**
 * Logs in to SCM with the cheapest authenticated read there is (one entry of the certificate list). What
 * the operator must fix — credentials SCM refuses, an SCM that does not answer — is a ConfigError naming
 * the setting; any other failure is passed on as it is.
 */
export async function checkScm(
  scm: ScmClient,
  config: SectigoConfig,
  attempts = 3,
  /** A named account (the profiles file's `accounts`): the problems name it and its settings. */
  account?: string,
): Promise<void> {
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await scm.list({}, 0, 1);
        return;
      } catch (err) {
        // One lost answer or a 503 is not a misconfiguration: ask again, a second apart.
        if (!(err instanceof ScmError) || !err.retryable || attempt >= attempts) throw err;
        await sleep(1000);
      }
    }
  } catch (err) {
    if (!(err instanceof ScmError)) throw err;
    const { auth, baseUrl } = config;
    const scmAt = account ? `SCM account "${account}" at ${baseUrl}` : `SCM at ${baseUrl}`;
    const setting = (named: string, variables: string) => (account ? `account "${account}"'s ${named}` : variables);
    if (err.status === 401 || err.status === 403) {
      const code = err.code === undefined ? '' : `, code ${err.code}`;
      const credentials = account
        ? `account "${account}"'s auth in the profiles file and the secrets it names`
        : {
            password: 'SECTIGO_LOGIN, SECTIGO_PASSWORD and SECTIGO_CUSTOMER_URI',
            oauth: 'SECTIGO_CLIENT_ID and SECTIGO_CLIENT_SECRET',
            certificate: 'SECTIGO_LOGIN, SECTIGO_CUSTOMER_URI and the client certificate (SECTIGO_CLIENT_CERT)',
          }[auth.kind];
      // SCM takes a client certificate under /private/api only; elsewhere the same headers lack a password.
      const { pathname } = new URL(baseUrl);
      const where =
        auth.kind === 'certificate' && !pathname.startsWith('/private/')
          ? `; SCM takes client certificates under /private/api, not ${pathname}`
          : '';
      throw new ConfigError([
        `${scmAt} refused the connector's credentials (HTTP ${err.status}${code}): check ${credentials}${where}`,
      ]);
    }
    if (err.tlsFailed) {
      const tls =
        auth.kind === 'certificate'
          ? setting('ca and client certificate', 'SECTIGO_CA and the client certificate (SECTIGO_CLIENT_CERT)')
          : setting('ca', 'SECTIGO_CA (certificates trusted for SCM besides the system ones)');
      throw new ConfigError([`${scmAt} failed the TLS handshake (${err.message}): check ${tls}`]);
    }
    if (err.status === 0) {
      throw new ConfigError([
        `${scmAt} did not answer (${err.message}): check ${setting('baseUrl', 'SECTIGO_BASE_URL')}`,
      ]);
    }
    throw err;
  }
}

/**
 * SCM as a readiness check: `checkScm` at most once a minute (probes come every few seconds; SCM's limits
 * are per account), failing with the one line that names what to fix.
 */
export function scmReadiness(
  scm: ScmClient,
  config: SectigoConfig,
  everyMs = 60_000,
  account?: string,
): ReadinessCheck {
  let last: { at: number; result: Promise<void> } | undefined;
  return () => {
    if (!last || Date.now() - last.at >= everyMs) {
      const result = checkScm(scm, config, 3, account).catch((err: unknown) => {
        throw new Error(err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message);
      });
      result.catch(() => undefined); // read by the probe; never an unhandled rejection meanwhile
      last = { at: Date.now(), result };
    }
    return last.result;
  };
}

/** The profiles' named accounts, connected; each client's requests are counted under its account's name. */
export function connectAccounts(
  profiles: Profiles,
  options: {
    env?: Record<string, string | undefined>;
    /** An account's limit when it sets none: SECTIGO_MAX_REQUESTS_PER_SECOND. */
    defaultRequestsPerSecond: number;
    observer?: (account: string) => UpstreamObserver;
  },
): ConnectedAccount[] {
  return accountSettings(profiles.accounts, options.env).map(({ name, config, requestsPerSecond }) => {
    const limit = requestsPerSecond ?? options.defaultRequestsPerSecond;
    return { name, config, requestsPerSecond: limit, scm: connectScm(config, limit, options.observer?.(name)) };
  });
}

/**
 * Logs in to every account. Where some answer, those that do not are logged, each by name with what to
 * fix, and the connector starts (their certificates wait; /readyz says which); where none does, the
 * problems are a ConfigError.
 */
export async function checkAccounts(
  accounts: ReadonlyArray<{ name: string | undefined; scm: ScmClient; config: SectigoConfig }>,
): Promise<string[]> {
  const failed: string[] = [];
  for (const { name, scm, config } of accounts) {
    try {
      await checkScm(scm, config, 3, name);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      failed.push(...err.problems);
    }
  }
  if (failed.length === accounts.length) throw new ConfigError(failed);
  for (const problem of failed) log.error('an SCM account is not usable; its certificates wait', { problem });
  return failed;
}

/**
 * Loads the profiles file and reloads it when it changes; a broken edit is reported and the last good set
 * kept. A file that is missing or invalid at start is a ConfigError, a line per problem.
 */
export function loadProfiles(path: string, watch = true): Profiles {
  let profiles: Profiles;
  try {
    profiles = Profiles.load(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError([
        `PROFILES_FILE: there is no file ${path}; set PROFILES_FILE to your profiles (profiles.example.yaml shows the shape)`,
      ]);
    }
    if (err instanceof ProfileError) throw new ConfigError(err.problems.map((problem) => `${path}: ${problem}`));
    throw err;
  }
  if (watch) {
    // Not persistent: the watch alone never keeps a stopping process alive.
    watchFile(path, { interval: 5000, persistent: false }, () => {
      try {
        profiles.replace(Profiles.load(path));
        log.info('profiles reloaded', { path });
      } catch (err) {
        log.error('profiles not reloaded; keeping the last good ones', { path, error: (err as Error).message });
      }
    });
  }
  return profiles;
}

export interface WorkerDependencies extends Adapters {
  connection: NativeConnection;
  /** For the sweep's visibility queries and signals. */
  client: Client;
  namespace?: string;
  /** Global SCM calls per second, enforced by the server across every worker of the queue. */
  sectigoRequestsPerSecond: number;
  /** The SCM accounts besides the default one (`scm`), each served on a task queue of its own. */
  accounts?: ConnectedAccount[];
  /** How long a retried order looks for the order of a lost request (default: twice the SCM timeout). */
  orderGraceMs?: number;
  /** Who may revoke from Jira (the polling trigger checks it as the receiver does). */
  revokers: RevokerPolicy;
  /** Counts the workflows' outcomes; without it they are not counted. */
  metrics?: ConnectorMetrics;
  /**
   * Workflows kept in the worker's cache (default 250). The cache, not the fleet, sets the worker's
   * memory: a cached certificate workflow costs about half a MiB, and a parked one that is evicted is
   * replayed from its short history when its next timer fires.
   */
  maxCachedWorkflows?: number;
  /** The bundled workflow code: `loadWorkflowBundle` (never bundled in the worker's own heap); tests bundle once. */
  workflowBundle: { code: string };
}

/** Both workers of one process: `certificates` (workflows, Jira, CSR, profile and sweep activities) and `sectigo`. */
export async function createWorkers(deps: WorkerDependencies): Promise<Worker[]> {
  const { connection, namespace = 'default' } = deps;
  // The worker encodes as the client does: one data converter (PAYLOAD_ENCRYPTION_KEYS) per process.
  const { dataConverter } = deps.client.options;
  // One build for every worker of the process (without versioning, the build id only names the code).
  const buildId = buildIdOf(deps.workflowBundle);
  const certificates = await Worker.create({
    connection,
    namespace,
    ...(dataConverter ? { dataConverter } : {}),
    taskQueue: TASK_QUEUE,
    buildId,
    workflowBundle: deps.workflowBundle,
    maxCachedWorkflows: deps.maxCachedWorkflows ?? DEFAULT_CACHED_WORKFLOWS,
    shutdownGraceTime: SHUTDOWN_GRACE,
    shutdownForceTime: SHUTDOWN_FORCE,
    activities: {
      ...createJiraActivities({ jira: deps.jira }),
      ...createCsrActivities({ profiles: deps.profiles, names: deps.jira.names }),
      ...createProfileActivities({ profiles: deps.profiles }),
      ...createSweepActivities({ client: deps.client }),
      ...createReissueActivities({ client: deps.client }),
      ...createPollingActivities({ client: deps.client, jira: deps.jira, revokers: deps.revokers }),
    },
    sinks: metricsSinks(deps.metrics),
  });
  // One worker per SCM account, on the account's own task queue: its limit holds across every worker.
  const accounts = [
    { name: undefined, scm: deps.scm, requestsPerSecond: deps.sectigoRequestsPerSecond },
    ...(deps.accounts ?? []),
  ];
  const sectigo = await Promise.all(
    accounts.map(({ name, scm, requestsPerSecond }) =>
      Worker.create({
        connection,
        namespace,
        ...(dataConverter ? { dataConverter } : {}),
        taskQueue: sectigoQueue(name),
        buildId,
        activities: createSectigoActivities({ scm, profiles: deps.profiles, orderGraceMs: deps.orderGraceMs }),
        maxTaskQueueActivitiesPerSecond: requestsPerSecond,
        shutdownGraceTime: SHUTDOWN_GRACE,
        shutdownForceTime: SHUTDOWN_FORCE,
      }),
    ),
  );
  return [certificates, ...sectigo];
}

/** The workflows' metrics sink, bound to `metrics` (or counting nothing); every worker of workflows registers it. */
export function metricsSinks(metrics?: ConnectorMetrics): InjectedSinks<CertificateSinks> {
  return {
    metrics: {
      completed: { fn: (_info, operation, profile, seconds) => metrics?.completed(operation, profile, seconds) },
      failed: { fn: (_info, operation, type) => metrics?.failed(operation, type) },
    },
  };
}

/**
 * The search attributes the workflows write that the namespace lacks (or holds with another type), each
 * with the command that registers it. A workflow that writes an unregistered one fails every task, so
 * the worker checks before it polls. An account that may not list them (a Cloud API key, say) is told
 * so and not stopped.
 */
export async function missingSearchAttributes(client: Client, namespace: string): Promise<string[]> {
  let registered: Record<string, number>;
  try {
    ({ customAttributes: registered } = await client.connection.operatorService.listSearchAttributes({ namespace }));
  } catch (err) {
    log.warn('could not list the namespace’s search attributes; not checked', { error: (err as Error).message });
    return [];
  }
  return searchAttributeRegistrations.flatMap(({ name, indexedValueType, cliType }) => {
    if (registered[name] === indexedValueType) return [];
    const fix = `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type ${cliType}`;
    return [
      registered[name] === undefined
        ? `search attribute ${name} is not registered in namespace ${namespace}: ${fix}`
        : `search attribute ${name} is registered in namespace ${namespace} with another type than ${cliType}`,
    ];
  });
}

/** What the worker's /readyz checks: Temporal answers, profiles are loaded, both workers poll. */
export function workerReadiness(deps: {
  client: Client;
  /** Where Temporal is configured, to say what to fix when it stops answering. */
  target?: TemporalTarget;
  profiles: Profiles;
  workers: Worker[];
  /** SCM logged in to (`scmReadiness`); absent where no SCM is configured. */
  scm?: ReadinessCheck;
}): Record<string, ReadinessCheck> {
  return {
    ...(deps.scm ? { scm: deps.scm } : {}),
    temporal: namespaceCheck(deps.client, deps.target),
    profiles: () =>
      deps.profiles.all.length > 0 ? Promise.resolve() : Promise.reject(new Error('no certificate profiles loaded')),
    workers: () => {
      const stopped = deps.workers.filter((w) => w.getState() !== 'RUNNING');
      return stopped.length === 0
        ? Promise.resolve()
        : Promise.reject(new Error(`${stopped.length} of ${deps.workers.length} workers are not running`));
    },
  };
}

/** Serves /metrics, /healthz and /readyz until the process ends; answers the address it listens on. */
export async function serveOps(
  options: OpsServerOptions & { host: string; port: number },
): Promise<{ server: Server; url: string }> {
  const server = createOpsServer(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  server.unref();
  const { port } = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  return { server, url: `http://${host}:${port}` };
}

/**
 * How long activities under way get to finish once a stop is asked for; then they are cancelled, and their
 * attempts fail and are retried by another worker. Past the force time the workers stop regardless.
 */
const SHUTDOWN_GRACE = '5 seconds';
const SHUTDOWN_FORCE = '9 seconds';

/**
 * Runs the workers until SIGINT/SIGTERM (the Temporal runtime's handlers shut them down), then closes
 * what the process opened beside them — servers, connections — so that nothing holds it up: one signal,
 * and it exits.
 */
export async function runWorkers(workers: Worker[], opened: Array<() => Promise<unknown>> = []): Promise<void> {
  try {
    await Promise.all(workers.map((worker) => worker.run()));
  } finally {
    for (const close of opened) {
      await close().catch((err: unknown) => log.warn('could not close on the way out', { error: String(err) }));
    }
  }
}

export interface ReceiverDependencies {
  client: Client;
  /** Where Temporal is configured, so that /readyz says which setting to fix. */
  target?: TemporalTarget;
  jira: JiraClient;
  /** HMAC secret of the Jira webhook; unsigned or badly signed requests get 401. */
  secret: string | undefined;
  maxBodyBytes: number;
  /** Who may revoke from Jira. */
  revokers: RevokerPolicy;
}

/** The webhook receiver, not yet listening; its dispatcher learns the connector's own Jira account first. */
export async function createReceiver(deps: ReceiverDependencies): Promise<Server> {
  const { client, jira, revokers } = deps;
  return createWebhookServer({
    client,
    ...(deps.target ? { target: deps.target } : {}),
    dispatcher: await Dispatcher.create({ client, jira, revokers }),
    secret: deps.secret,
    maxBodyBytes: deps.maxBodyBytes,
  });
}

/** Exit code of a process that cannot start as configured (as for a usage error): the operator must fix it. */
export const CONFIGURATION_EXIT_CODE = 2;

/**
 * How a process of the connector ends when it cannot start: a configuration problem as plain lines on
 * stderr, one per problem with its fix, and exit code 2; anything else as its one line on stderr (and in
 * the log) and exit code 1. Never a stack trace.
 */
export function exitOnStartupFailure(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(CONFIGURATION_EXIT_CODE);
  }
  const message = err instanceof Error ? err.message : String(err);
  log.error('could not start', { error: message });
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** A Temporal service the connector runs on: a client for visibility and messages, a connection for workers. */
export interface TemporalService {
  client: Client;
  connection: NativeConnection;
  namespace: string;
  /** The configured service, so that /readyz says which setting to fix; absent for the sandbox's dev server. */
  target?: TemporalTarget;
}

export interface ConnectorOptions {
  temporal: TemporalService;
  /** Jira and SCM: the real ones, or the sandbox's emulators. */
  systems: Systems;
  profiles: Profiles;
  settings: Pick<
    Config,
    | 'metrics'
    | 'attentionLimit'
    | 'trigger'
    | 'sectigoRequestsPerSecond'
    | 'maxCachedWorkflows'
    | 'workflowBundle'
    | 'receiver'
  >;
  /** Where the SDK's Prometheus exporter listens (`installRuntimeLogger`); its series are served with ours. */
  sdkMetricsAddress: string;
  /** Serve the webhook receiver in this process too (with the webhook trigger). */
  withReceiver: boolean;
}

/** The connector, started: its clients, its workers, and where it serves. */
export interface Connector {
  jira: JiraClient;
  scm: ScmClient;
  workers: Worker[];
  metricsUrl: string;
  /** The receiver's webhook URL, when this process serves it. */
  webhookUrl: string | undefined;
  /** Runs the workers until SIGINT/SIGTERM, then closes what the connector opened (not `temporal`). */
  run(): Promise<void>;
}

/**
 * Starts the connector: checks the namespace's search attributes and both systems' credentials (what is
 * wrong is a ConfigError naming the setting), makes sure of the sweep's schedule and the polling trigger,
 * creates both workers, and serves the operations endpoints and, when asked, the webhook receiver.
 */
export async function startConnector(options: ConnectorOptions): Promise<Connector> {
  const { temporal, systems, profiles, settings } = options;
  const { client, namespace } = temporal;
  const missing = await missingSearchAttributes(client, namespace);
  if (missing.length > 0) throw new ConfigError(missing);
  const fleet = fleetReader(client, {
    attentionLimit: settings.attentionLimit,
    profileIds: () => profiles.all.map((p) => p.id),
  });
  const metrics = new ConnectorMetrics({ fleet, sdkMetricsAddress: options.sdkMetricsAddress });
  void metrics.refreshFleet();
  const jira = await connectJira(systems.jira, metrics.observeCall);
  const scm = connectScm(systems.sectigo, settings.sectigoRequestsPerSecond, metrics.scmObserver(DEFAULT_ACCOUNT));
  const accounts = connectAccounts(profiles, {
    defaultRequestsPerSecond: settings.sectigoRequestsPerSecond,
    observer: (name) => metrics.scmObserver(name),
  });
  metrics.clientCertificates(
    [{ name: DEFAULT_ACCOUNT, config: systems.sectigo }, ...accounts].map(({ name, config }) => ({
      account: name,
      auth: config.auth,
    })),
  );
  await checkAccounts([{ name: undefined, scm, config: systems.sectigo }, ...accounts]);
  const pollingMs = settings.trigger.kind === 'polling' ? settings.trigger.intervalMs : undefined;
  await ensureSweepSchedule(client);
  await ensureJiraPolling(client, pollingMs);
  const { revokers } = settings.receiver;
  const workers = await createWorkers({
    ...temporal,
    jira,
    scm,
    profiles,
    revokers,
    sectigoRequestsPerSecond: settings.sectigoRequestsPerSecond,
    accounts,
    maxCachedWorkflows: settings.maxCachedWorkflows,
    workflowBundle: await loadWorkflowBundle(settings.workflowBundle),
    metrics,
  });
  const opened: Array<() => Promise<unknown>> = [];
  let webhookUrl: string | undefined;
  if (options.withReceiver && pollingMs === undefined) {
    const { webhookSecret: secret, maxBodyBytes, port, host } = settings.receiver;
    const receiver = await createReceiver({ client, jira, secret, maxBodyBytes, revokers });
    webhookUrl = `${await listen(receiver, port, host)}${WEBHOOK_PATH}`;
    opened.push(() => close(receiver));
  }
  const ops = await serveOps({
    metrics,
    checks: {
      ...workerReadiness({
        client,
        ...(temporal.target ? { target: temporal.target } : {}),
        profiles,
        workers,
        scm: scmReadiness(scm, systems.sectigo),
      }),
      // Each named account as a check of its own: /readyz says which one fails.
      ...Object.fromEntries(
        accounts.map(({ name, scm: client, config }) => [`scm:${name}`, scmReadiness(client, config, 60_000, name)]),
      ),
    },
    ...settings.metrics,
  });
  opened.push(() => close(ops.server));
  return {
    jira,
    scm,
    workers,
    metricsUrl: `${ops.url}/metrics`,
    webhookUrl,
    run: () => runWorkers(workers, opened),
  };
}
