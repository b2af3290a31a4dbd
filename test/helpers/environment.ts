/**
 * Test environment: a real Temporal dev server (the project's CLI build, started by the SDK), the sandbox's
 * emulators on loopback, the webhook receiver, and the worker with the real activities.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, type Worker, type WorkflowBundle } from '@temporalio/worker';
import { installRuntimeLogger } from '../../src/log.ts';
import { findTemporalCli, findTestServer } from '../../scripts/temporal-cli.ts';
import { SANDBOX_USERS, type JiraDialect } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { SANDBOX_PROFILES_FILE, startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/sandbox.ts';
import { certificateWorkflowId, statusQuery, type CertificateStatus } from '../../src/contract/certificate.ts';
import { searchAttributeRegistrations, searchAttributes, type CertificatePhase } from '../../src/contract/shared.ts';
import { Connection, type Client } from '@temporalio/client';
import { createWorkers, DEV_SERVER_ARGS, missingSearchAttributes } from '../../src/connector.ts';
import type { ConnectedAccount } from '../../src/accounts.ts';
import type { Profiles } from '../../src/profiles.ts';
import type { TemporalTarget } from '../../src/temporal-connection.ts';
import { workflowsPath } from '../../src/workflow-bundle.ts';
import { freeLoopbackPort, type ConnectorMetrics } from '../../src/metrics.ts';

let runtimeInstalled = false;

/** Installs the SDK runtime once per test process. */
export function startTemporalRuntime(): void {
  if (runtimeInstalled) return;
  // Expected activity failures (bad CSRs, injected faults) log at WARN; keep the test output readable.
  installRuntimeLogger(process.env.TEST_LOG_LEVEL === 'WARN' ? 'warn' : 'error');
  runtimeInstalled = true;
}

/** One dev server per test file; its binary comes from scripts/temporal-cli.ts (never downloaded). */
export async function startTemporal(
  options: { uiPort?: number; dbFilename?: string; port?: number } = {},
): Promise<TestWorkflowEnvironment> {
  startTemporalRuntime();
  const path = findTemporalCli();
  if (!path) throw new Error('no Temporal CLI: run `npm run temporal:install` (npm test does it first)');
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      ...(options.port ? { port: options.port } : {}),
      ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : {}),
      searchAttributes: Object.values(searchAttributes),
      dbFilename: options.dbFilename ?? join(mkdtempSync(join(tmpdir(), 'cert-temporal-')), 'temporal.db'),
      extraArgs: DEV_SERVER_ARGS,
    },
  });
}

/**
 * A dev server in a process of its own, as `npm start` runs one, which a test can kill outright and start
 * again on the same port and SQLite file: the clients and workers connected to it reconnect by themselves.
 */
export interface DevServerProcess {
  address: string;
  /** SIGKILL, as a crash or an OOM kill would, then the same command again; resolves once it listens. */
  crashAndRestart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDevServerProcess(dbFilename: string): Promise<DevServerProcess> {
  const path = findTemporalCli();
  if (!path) throw new Error('no Temporal CLI: run `npm run temporal:install` (npm test does it first)');
  let port = 0;
  let child: ChildProcess;
  const start = async () => {
    const args = [
      ...['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port)],
      ...['--namespace', 'default', '--log-level', 'error', '--db-filename', dbFilename],
      ...searchAttributeRegistrations.flatMap(({ name, cliType }) => ['--search-attribute', `${name}=${cliType}`]),
      ...DEV_SERVER_ARGS,
    ];
    child = spawn(path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      said = (said + chunk.toString()).slice(-2000);
    });
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the dev server exited with ${child.exitCode}: ${said.trim()}`);
      if (await answers(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  };
  // Another process may take the chosen port before the server binds it; a first start may then try another.
  for (let attempt = 1; ; attempt++) {
    port = await freeLoopbackPort();
    try {
      await start();
      break;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
  return {
    address: `127.0.0.1:${port}`,
    async crashAndRestart() {
      await kill('SIGKILL');
      await start();
    },
    stop: () => kill('SIGTERM'),
  };
}

/** Whether a Temporal frontend on the loopback port serves the default namespace (not merely listens). */
async function answers(port: number): Promise<boolean> {
  const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: '1 second' }).catch(
    () => undefined,
  );
  if (!connection) return false;
  try {
    await connection.workflowService.describeNamespace({ namespace: 'default' });
    return true;
  } catch {
    return false;
  } finally {
    await connection.close();
  }
}

/** The repository this test runs in. */
const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The workflow code as it was at `revision`, bundled: its src/ taken out of git into .cache/versions/, where
 * it resolves the same node_modules. Where this checkout has no such revision (a copy without its
 * history), the reason instead.
 */
export async function workflowBundleAt(revision: string): Promise<WorkflowBundle | string> {
  const dir = join(REPOSITORY, '.cache', 'versions', revision);
  const index = join(dir, 'src', 'workflows', 'index.ts');
  if (!existsSync(index)) {
    try {
      execFileSync('git', ['cat-file', '-e', `${revision}^{commit}`], { cwd: REPOSITORY, stdio: 'ignore' });
    } catch {
      return `this checkout has no commit ${revision} (a copy without its git history)`;
    }
    mkdirSync(dir, { recursive: true });
    const archive = execFileSync('git', ['archive', revision, 'src'], { cwd: REPOSITORY, maxBuffer: 64 << 20 });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
  }
  return bundleWorkflowCode({ workflowsPath: index, logger: new DefaultLogger('WARN') });
}

let bundle: Promise<WorkflowBundle> | undefined;
/** The workflow bundle, built once per test process. */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  return bundle;
}

export interface World {
  env: TestWorkflowEnvironment;
  sandbox: Sandbox;
  alice: Requester;
  /** Starts the worker (both task queues), by default on today's workflow code; resolves when it polls. */
  startWorker(options?: WorkerChoice): Promise<void>;
  /** Workflows in the running worker's cache. */
  cachedWorkflows(): number;
  /** Shuts the worker down, as a crash or deploy would; in-flight activities are abandoned after a grace period. */
  stopWorker(): Promise<void>;
  /** Kills the dev server outright and starts it again on its data (`crashableTemporal` worlds only). */
  crashTemporal(): Promise<void>;
  teardown(): Promise<void>;
}

/** Which workflow code a worker runs, and how many workflows it keeps cached. */
export interface WorkerChoice {
  /** Another version of the workflow code (`workflowBundleAt`); today's by default. */
  workflowBundle?: WorkflowBundle;
  maxCachedWorkflows?: number;
  /** Other profiles than the sandbox's (with SCM accounts of their own, say). */
  profiles?: Profiles;
  /** SCM accounts besides the sandbox's emulator, each served on its own task queue. */
  accounts?: ConnectedAccount[];
}

/** Runs the worker (both task queues) with the real activities against the sandbox; `stop` drains it. */
export async function runWorker(
  env: TestWorkflowEnvironment,
  sandbox: Sandbox,
  activitiesPerSecond = 100,
  metrics?: ConnectorMetrics,
  choice: WorkerChoice = {},
): Promise<{ stop(): Promise<void>; workers: Worker[] }> {
  const workers = await createWorkers({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    client: env.client,
    jira: sandbox.jira,
    scm: sandbox.scm,
    profiles: choice.profiles ?? sandbox.profiles,
    revokers: sandbox.revokers,
    sectigoRequestsPerSecond: activitiesPerSecond,
    ...(choice.accounts ? { accounts: choice.accounts } : {}),
    workflowBundle: choice.workflowBundle ?? (await workflowBundle()),
    ...(choice.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: choice.maxCachedWorkflows } : {}),
    ...(metrics ? { metrics } : {}),
  });
  const running = Promise.all(workers.map((w) => w.run()));
  return {
    workers,
    async stop() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

export async function startWorld(
  options: Partial<Omit<SandboxOptions, 'client'>> & {
    sectigoActivitiesPerSecond?: number;
    /** Counts what the worker and its clients do, as the worker process does. */
    metrics?: ConnectorMetrics;
    /** Serves the dev server's Web UI on this port. */
    uiPort?: number;
    /** The dev server's SQLite file (default: a new temporary one). */
    dbFilename?: string;
    /** Runs the dev server as a process of the test's own, so that `crashTemporal` can kill it. */
    crashableTemporal?: boolean;
    /** A Temporal server already running (its namespace has the search attributes), instead of a dev server. */
    temporal?: TemporalTarget;
    /** The dev server's port (default: any free one). */
    temporalPort?: number;
  } = {},
): Promise<World> {
  let server: DevServerProcess | undefined;
  let env: TestWorkflowEnvironment;
  if (options.temporal?.address) {
    startTemporalRuntime();
    const { address, namespace, options: connectionOptions } = options.temporal;
    env = await TestWorkflowEnvironment.createFromExistingServer({ address, namespace, connectionOptions });
    const missing = await missingSearchAttributes(env.client, namespace);
    if (missing.length > 0) {
      await env.teardown();
      throw new Error(`${address} (namespace ${namespace}): ${missing.join('; ')}`);
    }
  } else if (options.crashableTemporal) {
    startTemporalRuntime();
    server = await startDevServerProcess(
      options.dbFilename ?? join(mkdtempSync(join(tmpdir(), 'cert-temporal-')), 'temporal.db'),
    );
    env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address });
  } else {
    env = await startTemporal({ uiPort: options.uiPort, dbFilename: options.dbFilename, port: options.temporalPort });
  }
  const sandbox = await startSandbox({
    client: env.client,
    ...(options.metrics ? { observer: options.metrics.observeCall } : {}),
    ...options,
    jira: { retryDelaysMs: [100, 300, 1000], dialect: sandboxJira(), ...options.jira },
  });
  let worker: { stop(): Promise<void>; workers: Worker[] } | undefined;
  const world: World = {
    env,
    sandbox,
    alice: new Requester(sandbox.jiraEmulator.url, SANDBOX_USERS.alice),
    async startWorker(choice?: WorkerChoice) {
      worker = await runWorker(env, sandbox, options.sectigoActivitiesPerSecond, options.metrics, choice);
    },
    cachedWorkflows: () => worker?.workers.reduce((sum, w) => sum + w.getStatus().numCachedWorkflows, 0) ?? 0,
    async stopWorker() {
      await worker?.stop();
      worker = undefined;
    },
    async crashTemporal() {
      if (!server) throw new Error('startWorld({ crashableTemporal: true }) runs a dev server that can crash');
      await server.crashAndRestart();
    },
    async teardown() {
      await world.stopWorker();
      await sandbox.stop();
      await env.teardown();
      await server?.stop();
    },
  };
  await world.startWorker();
  return world;
}

/**
 * The Jira the tests run against: the Cloud emulator, or the Data Center one with SANDBOX_JIRA=datacenter
 * (`npm test` runs the Jira-facing suites both ways).
 */
export function sandboxJira(): JiraDialect {
  return process.env.SANDBOX_JIRA === 'datacenter' ? 'datacenter' : 'cloud';
}

/** The time-skipping test server's launcher, and the `skip` option of the suites that need it. */
export const testServer = findTestServer();
export const needsTestServer = {
  skip: testServer ? false : 'no time-skipping test server: run `npm run temporal:install` with Maven and a JDK',
};

/** The time-skipping test server, told the project's search attributes (the dev server gets them as flags). */
export async function startTimeSkipping(launcher: string): Promise<TestWorkflowEnvironment> {
  startTemporalRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: launcher } },
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(searchAttributeRegistrations.map((r) => [r.name, r.indexedValueType])),
  });
  return env;
}

/**
 * A sandbox whose SCM emulator issues certificates in the time-skipping server's time: its clock follows
 * the server's, read every few milliseconds. `stop` ends the following and the sandbox.
 */
export async function startSkippingSandbox(
  env: TestWorkflowEnvironment,
  options: Partial<Omit<SandboxOptions, 'client'>> = {},
): Promise<Sandbox> {
  let offset = 0; // server time − system time
  // One reading at a time, and `stop` waits for the last: a call still under way when the environment
  // closes its channel is retried by the client's interceptor from a timer, which then throws outside any
  // promise ("Channel has been shut down", an uncaught exception that failed the herd test).
  let reading: Promise<unknown> | undefined;
  const follow = setInterval(() => {
    reading ??= env
      .currentTimeMs()
      .then((ms) => (offset = ms - Date.now()))
      .catch(() => undefined)
      .finally(() => (reading = undefined));
  }, 20);
  const sandbox = await startSandbox({
    client: env.client,
    ...options,
    scm: { issuanceDelayMs: 0, ...options.scm, clock: () => Date.now() + offset },
  });
  return {
    ...sandbox,
    async stop() {
      clearInterval(follow);
      await reading;
      await sandbox.stop();
    },
  };
}

/** The time-skipping test server, the sandbox on its clock, and a worker: what the suites that skip time run on. */
export interface SkippingWorld {
  env: TestWorkflowEnvironment;
  sandbox: Sandbox;
  /** Stops the worker, the sandbox and the test server, whichever of them started. */
  teardown(): Promise<void>;
}

export async function startSkippingWorld(
  options: Partial<Omit<SandboxOptions, 'client'>> & {
    /** The worker's SCM activities a second (default 100). */
    activitiesPerSecond?: number;
    /** Done to the sandbox before the worker starts (its profiles replaced, say). */
    prepare?: (sandbox: Sandbox) => void;
  } = {},
  launcher = testServer,
): Promise<SkippingWorld> {
  if (!launcher) throw new Error('no time-skipping test server: run `npm run temporal:install` with Maven and a JDK');
  const { activitiesPerSecond, prepare, ...sandboxOptions } = options;
  const env = await startTimeSkipping(launcher);
  let sandbox: Sandbox | undefined;
  let worker: { stop(): Promise<void> } | undefined;
  const teardown = async () => {
    await worker?.stop();
    await sandbox?.stop();
    await env.teardown();
  };
  try {
    sandbox = await startSkippingSandbox(env, sandboxOptions);
    prepare?.(sandbox);
    worker = await runWorker(env, sandbox, activitiesPerSecond);
    return { env, sandbox, teardown };
  } catch (err) {
    await teardown();
    throw err;
  }
}

/** Waits until the certificate workflow of `issueKey` answers its status in `phase`; answers that status. */
export function untilPhase(
  client: Client,
  issueKey: string,
  phase: CertificatePhase,
  timeoutMs = 60_000,
): Promise<CertificateStatus> {
  return eventually(
    async () => {
      const status = await client.workflow
        .getHandle(certificateWorkflowId(issueKey))
        .query(statusQuery)
        .catch(() => undefined); // not started yet, or between runs
      return status?.phase === phase ? status : undefined;
    },
    `${issueKey} ${phase}`,
    timeoutMs,
  );
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A CSR made by OpenSSL, as a requester would make it. */
export function opensslCsr(subject: string, key: `rsa:${number}` | `ec-${string}`, sans: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'csr-'));
  const keyArgs = key.startsWith('ec-')
    ? ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${key.slice(3) === 'p256' ? 'P-256' : key.slice(3)}`]
    : ['-newkey', key];
  const sanArgs = sans.length > 0 ? ['-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`] : [];
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      ...keyArgs,
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-subj',
      subject,
      ...sanArgs,
      '-out',
      join(dir, 'req.csr'),
    ],
    { stdio: 'ignore' },
  );
  return execFileSync('openssl', ['req', '-in', join(dir, 'req.csr')], { encoding: 'utf8' });
}

/** The error a promise rejects with, checked to be an instance of `type`. */
export async function rejectionOf<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  const err = await promise.then(
    () => assert.fail(`expected a ${type.name}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof type, `expected a ${type.name}, got ${String(err)}`);
  return err;
}

/** The real worker entry point in its own process, configured like production through the environment. */
export function spawnWorker(
  world: Pick<World, 'sandbox'> & { env: { address: string } },
  {
    stdout = 'ignore',
    stderr = 'inherit',
    env = {},
  }: { stdout?: 'ignore' | 'pipe'; stderr?: 'inherit' | 'pipe'; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  return spawn(process.execPath, ['src/worker.ts'], {
    stdio: ['ignore', stdout, stderr],
    env: { ...productionEnv(world), ...env },
  });
}

/** The environment of a process of the product run against the world's server and emulators as real systems. */
export function productionEnv(world: Pick<World, 'sandbox'> & { env: { address: string } }): NodeJS.ProcessEnv {
  const { connector } = SANDBOX_USERS;
  const scm = world.sandbox.scmEmulator.credentials;
  return {
    ...process.env,
    TEMPORAL_ADDRESS: world.env.address,
    METRICS_PORT: '0',
    JIRA_BASE_URL: world.sandbox.jiraEmulator.url,
    // Cloud: the API token with its email; Data Center: a personal access token.
    ...(world.sandbox.jiraEmulator.dialect === 'cloud'
      ? { JIRA_EMAIL: connector.emailAddress, JIRA_API_TOKEN: connector.apiToken }
      : { JIRA_BEARER_TOKEN: connector.apiToken }),
    JIRA_WEBHOOK_SECRET: world.sandbox.webhookSecret,
    SECTIGO_BASE_URL: world.sandbox.scmEmulator.apiUrl,
    SECTIGO_LOGIN: scm.login,
    SECTIGO_PASSWORD: scm.password,
    SECTIGO_CUSTOMER_URI: scm.customerUri,
    PROFILES_FILE: SANDBOX_PROFILES_FILE,
  };
}

/** How a process ended: its exit code (null when killed) and what it printed. */
export interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `file` to its end, whatever its exit code, and answers how it ended. */
export function runToEnd(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeout?: number } = {},
): Promise<Ended> {
  return new Promise((resolve) => {
    execFile(file, args, { ...options, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
