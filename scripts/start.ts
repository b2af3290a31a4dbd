/**
 * `npm start`: the whole product in one process. With nothing configured it runs the sandbox: a Temporal
 * dev server with its Web UI (SQLite under DATA_DIR), the SCM and Jira emulators, the webhook receiver
 * registered with that Jira, and the worker. With Jira and Sectigo settings it runs the worker and the
 * receiver against them; with TEMPORAL_ADDRESS it uses that Temporal service instead of the dev server.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { JiraClient } from '../src/jira/client.ts';
import { ScmClient } from '../src/sectigo/client.ts';
import { createWebhookServer, WEBHOOK_PATH } from '../src/client/webhook.ts';
import { ConfigError, loadConfig, type Config } from '../src/config.ts';
import { listen } from '../src/http.ts';
import { Profiles } from '../src/profiles.ts';
import { SANDBOX_USERS } from '../src/sandbox/jira-emulator.ts';
import { startSandbox } from '../src/sandbox/sandbox.ts';
import { searchAttributes } from '../src/contract.ts';
import { ensureSweepSchedule } from '../src/schedule.ts';
import { createWorkers, DEV_SERVER_ARGS, runWorkers, watchProfiles } from '../src/worker.ts';
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
  const { address, namespace, port, uiPort } = config.temporal;
  if (address) {
    const client = new Client({ connection: await Connection.connect({ address }), namespace });
    const connection = await NativeConnection.connect({ address });
    return { client, connection, address, webUi: undefined, stop: () => connection.close() };
  }
  const path = installTemporalCli(); // built once from the Go module proxy when Go is here
  mkdirSync(config.sandbox.dataDir, { recursive: true });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      // The project's own build when there is one (npm run temporal:install); otherwise the SDK downloads it.
      executable: path ? { type: 'existing-path', path } : { type: 'cached-download' },
      ip: '127.0.0.1',
      port,
      uiPort,
      namespace,
      dbFilename: resolve(config.sandbox.dataDir, 'temporal.db'),
      searchAttributes: Object.values(searchAttributes),
      extraArgs: DEV_SERVER_ARGS,
    },
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
  if (Boolean(config.jira) !== Boolean(config.sectigo)) {
    throw new ConfigError([
      'configure both Jira (JIRA_*) and Sectigo (SECTIGO_*) to run against real systems, or neither to run the sandbox',
    ]);
  }
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const t = await temporal(config);

  if (config.jira && config.sectigo) {
    const jira = await JiraClient.connect(config.jira);
    const receiver = createWebhookServer({
      client: t.client,
      secret: config.receiver.webhookSecret,
      maxBodyBytes: config.receiver.maxBodyBytes,
      connectorAccountId: await jira.myAccountId(),
      names: jira.names,
      jira,
    });
    const receiverUrl = await listen(receiver, config.receiver.port, config.receiver.host);
    const profilesFile = config.profilesFile ?? 'profiles.yaml';
    const profiles = Profiles.load(profilesFile);
    watchProfiles(profilesFile, profiles);
    await ensureSweepSchedule(t.client);
    const workers = await createWorkers({
      connection: t.connection,
      client: t.client,
      namespace: config.temporal.namespace,
      jira,
      scm: new ScmClient({ ...config.sectigo, maxRequestsPerSecond: config.sectigoRequestsPerSecond }),
      profiles,
      sectigoRequestsPerSecond: config.sectigoRequestsPerSecond,
    });
    print([
      ['Temporal', t.address],
      ['Temporal Web UI', t.webUi ?? '(the configured cluster’s UI)'],
      ['Jira', config.jira.baseUrl],
      ['Sectigo SCM', config.sectigo.baseUrl],
      ['Webhook receiver', `${receiverUrl}${WEBHOOK_PATH}`],
    ]);
    await runWorkers(workers);
    return;
  }

  const sandbox = await startSandbox({
    client: t.client,
    dataDir: config.sandbox.dataDir,
    jiraPort: config.sandbox.jiraPort,
    scmPort: config.sandbox.scmPort,
    receiverPort: config.receiver.port,
    maxBodyBytes: config.receiver.maxBodyBytes,
    scm: { issuanceDelayMs: config.sandbox.issuanceDelayMs },
    scmRequestsPerSecond: config.sectigoRequestsPerSecond,
  });
  await ensureSweepSchedule(t.client);
  const workers = await createWorkers({
    connection: t.connection,
    client: t.client,
    namespace: config.temporal.namespace,
    jira: sandbox.jira,
    scm: sandbox.scm,
    profiles: sandbox.profiles,
    sectigoRequestsPerSecond: config.sectigoRequestsPerSecond,
  });
  const { alice } = SANDBOX_USERS;
  print([
    ['Temporal Web UI', t.webUi ?? ''],
    ['Temporal (gRPC)', t.address],
    ['Jira (emulated)', `${sandbox.jiraEmulator.url}/rest/api/3  (${alice.emailAddress} / ${alice.apiToken})`],
    ['Sectigo SCM (emulated)', sandbox.scmEmulator.apiUrl],
    ['Webhook receiver', `${sandbox.receiverUrl}${WEBHOOK_PATH}`],
    ['Data', resolve(config.sandbox.dataDir)],
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
  await runWorkers(workers);
  await sandbox.stop();
  await t.stop();
}

function print(rows: Array<[string, string]>): void {
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(
    ['', 'Certificate lifecycle is running:', ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`)].join(
      '\n',
    ),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
