/**
 * `npm start`: the whole product in one process. With nothing configured it runs the sandbox: a Temporal
 * dev server with its Web UI (SQLite under DATA_DIR), the SCM and Jira emulators, the webhook receiver
 * registered with that Jira, and the worker. With Jira and Sectigo settings it runs the worker and the
 * receiver against them; with TEMPORAL_ADDRESS (or a Temporal profile: src/temporal-connection.ts) it uses
 * that Temporal service instead of the dev server.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { NativeConnection } from '@temporalio/worker';
import { configuredSystems, ConfigError, loadConfig, type Config } from '../src/config.ts';
import { DEV_SERVER_ARGS, exitOnStartupFailure, loadProfiles, startConnector } from '../src/connector.ts';
import { describeRevokers, searchAttributes } from '../src/contract/shared.ts';
import { installRuntimeLogger, log } from '../src/log.ts';
import { freeLoopbackPort } from '../src/metrics.ts';
import { SANDBOX_USERS } from '../src/sandbox/jira-emulator.ts';
import { connectTemporal } from '../src/temporal-connection.ts';
import { registerWebhook, SANDBOX_PROFILES_FILE, startEmulators } from '../src/sandbox/sandbox.ts';
import { installTemporalCli } from './temporal-cli.ts';

interface Temporal {
  client: Client;
  connection: NativeConnection;
  address: string;
  webUi: string | undefined;
  stop(): Promise<void>;
}

/** The configured Temporal service, or a dev server started here with the project's search attributes. */
async function temporal(config: Config): Promise<Temporal> {
  const { target, port, uiPort } = config.temporal;
  const { address, namespace } = target;
  if (address) {
    const connected = await connectTemporal(target, { worker: true });
    return {
      client: connected.client,
      connection: connected.native,
      address,
      webUi: undefined,
      stop: () => connected.close(),
    };
  }
  const path = installTemporalCli(); // built once from the Go module proxy when Go is here
  mkdirSync(config.sandbox.dataDir, { recursive: true });
  const dbFilename = resolve(config.sandbox.dataDir, 'temporal.db');
  await stopLeftoverDevServer(dbFilename);
  await assertPortFree(port, 'TEMPORAL_PORT');
  await assertPortFree(uiPort, 'TEMPORAL_UI_PORT');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      // The project's own build when there is one (npm run temporal:install); otherwise the SDK downloads it.
      executable: path ? { type: 'existing-path', path } : { type: 'cached-download' },
      ip: '127.0.0.1',
      port,
      uiPort,
      namespace,
      dbFilename,
      searchAttributes: Object.values(searchAttributes),
      extraArgs: DEV_SERVER_ARGS,
    },
    ...(target.dataConverter ? { client: { dataConverter: target.dataConverter } } : {}),
  });
  return {
    client: env.client,
    connection: env.nativeConnection,
    address: `127.0.0.1:${port}`,
    webUi: `http://127.0.0.1:${uiPort}`,
    stop: () => env.teardown(),
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const systems = configuredSystems(config);
  const sdkMetricsAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  // Quiet by default, under the table of URLs it prints; LOG_LEVEL, when set, is honoured.
  installRuntimeLogger(process.env.LOG_LEVEL ? undefined : 'warn', sdkMetricsAddress);
  const t = await temporal(config);
  const temporalService = {
    client: t.client,
    connection: t.connection,
    namespace: config.temporal.target.namespace,
    ...(config.temporal.target.address ? { target: config.temporal.target } : {}),
  };
  const polling = config.trigger.kind === 'polling' ? config.trigger.intervalMs : undefined;
  const trigger = (webhookUrl: string | undefined): [string, string] =>
    webhookUrl
      ? ['Webhook receiver', webhookUrl]
      : ['Jira trigger', `polling every ${(polling ?? 0) / 1000} s (JIRA_TRIGGER=polling)`];

  if (systems) {
    const connector = await startConnector({
      temporal: temporalService,
      systems,
      profiles: loadProfiles(config.profilesFile ?? 'profiles.yaml'),
      settings: config,
      sdkMetricsAddress,
      withReceiver: true,
    });
    print([
      ['Temporal', t.address],
      ['Temporal Web UI', t.webUi ?? '(the configured cluster’s UI)'],
      ['Jira', systems.jira.baseUrl],
      ['Sectigo SCM', systems.sectigo.baseUrl],
      trigger(connector.webhookUrl),
      ['Revocation', describeRevokers(config.receiver.revokers)],
      ['Metrics', connector.metricsUrl],
    ]);
    await connector.run();
    await t.client.connection.close();
    await t.stop();
    log.info('connector stopped');
    return;
  }

  const sandbox = await startEmulators({
    dataDir: config.sandbox.dataDir,
    jiraPort: config.sandbox.jiraPort,
    scmPort: config.sandbox.scmPort,
    scm: { issuanceDelayMs: config.sandbox.issuanceDelayMs },
    jira: { dialect: config.sandbox.jira },
    // Revocation is restricted in the sandbox exactly as with a real Jira: by the receiver and by polling.
    revokers: {
      anyone: config.receiver.revokers.anyone,
      ...(config.receiver.revokers.group ? { group: config.receiver.revokers.group } : {}),
    },
  });
  const settings = {
    ...config,
    receiver: { ...config.receiver, webhookSecret: sandbox.webhookSecret, revokers: sandbox.revokers },
  };
  const connector = await startConnector({
    temporal: temporalService,
    systems: sandbox.systems,
    profiles: sandbox.profiles,
    settings,
    sdkMetricsAddress,
    withReceiver: true,
  });
  if (connector.webhookUrl) {
    await registerWebhook(sandbox.jiraEmulator, connector.webhookUrl, sandbox.webhookSecret);
  }
  const { alice } = SANDBOX_USERS;
  print([
    ['Temporal Web UI', t.webUi ?? ''],
    ['Temporal (gRPC)', t.address],
    [
      config.sandbox.jira === 'cloud' ? 'Jira Cloud (emulated)' : 'Jira Data Center (emulated)',
      config.sandbox.jira === 'cloud'
        ? `${sandbox.jiraEmulator.url}/rest/api/3  (${alice.emailAddress} / ${alice.apiToken})`
        : `${sandbox.jiraEmulator.url}/rest/api/2  (${alice.name}, personal access token ${alice.apiToken})`,
    ],
    ['Sectigo SCM (emulated)', sandbox.scmEmulator.apiUrl],
    trigger(connector.webhookUrl),
    ['Revocation', describeRevokers(sandbox.revokers)],
    ['Metrics', connector.metricsUrl],
    ['Data', resolve(config.sandbox.dataDir)],
    // The sandbox's profiles match its emulated SCM's certificate types: a file of the operator's would not.
    ...(config.profilesFile
      ? [
          [
            'Profiles',
            `${SANDBOX_PROFILES_FILE} (PROFILES_FILE is for real systems; the sandbox ignores it)`,
          ] satisfies [string, string],
        ]
      : []),
  ]);
  console.log(
    [
      '',
      'Try it, in another terminal: create a Certificate issue with a fresh CSR and run "Enroll Certificate":',
      '',
      '  npm run try-it -- www.example.com',
      '',
      'Stop with Ctrl-C; the next start carries on where this one stopped.',
      '',
    ].join('\n'),
  );
  // The Temporal runtime shuts the workers down on SIGINT/SIGTERM; run() returns once they have drained.
  await connector.run();
  await sandbox.stop();
  await t.stop();
}

/**
 * A dev server of an earlier `npm start` that was killed outright (kill -9 cannot take its child along)
 * still holds the ports and this data file. Say what was found, and stop it before starting afresh.
 */
async function stopLeftoverDevServer(dbFilename: string): Promise<void> {
  if (process.platform !== 'linux') return;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const args = commandLine(pid); // empty if it ended meanwhile, or is not ours to read
    if (!args.includes('start-dev') || !args.includes(dbFilename)) continue;
    // Its parent still running this script: not a leftover, but another `npm start` on the same data.
    const parent = parentOf(pid);
    if (parent !== undefined && commandLine(parent).some((arg) => arg.endsWith('scripts/start.ts'))) {
      throw new ConfigError([
        `npm start is already running on ${dirname(dbFilename)} (pid ${parent}): stop it first, or give this one another DATA_DIR and ports`,
      ]);
    }
    console.log(
      `Found a Temporal dev server left running by an earlier start (pid ${pid}, ${dbFilename}); stopping it.`,
    );
    process.kill(Number(pid), 'SIGTERM');
    for (let waited = 0; alive(Number(pid)); waited += 100) {
      if (waited === 10_000) process.kill(Number(pid), 'SIGKILL');
      await sleep(100);
    }
  }
}

/** A process's command line, empty once it has ended or when it is not ours to read. */
function commandLine(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** A process's parent, from /proc/<pid>/stat (the field after the parenthesised command name). */
function parentOf(pid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Refuses to start on a port something else holds, rather than quietly talking to whatever answers there. */
async function assertPortFree(port: number, variable: string): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new ConfigError([`port ${port} is in use by another program: stop it, or set ${variable} to a free port`])
          : err,
      ),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

function print(rows: Array<[string, string]>): void {
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(
    ['', 'Certificate lifecycle is running:', ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`)].join(
      '\n',
    ),
  );
}

main().catch(exitOnStartupFailure);
