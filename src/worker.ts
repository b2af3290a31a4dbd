/**
 * The worker as its own process (`node src/worker.ts`): polls both task queues — `certificates`
 * (workflows, Jira and CSR activities) and `sectigo` (SCM activities, globally rate-limited) — against the
 * configured systems, and serves /metrics, /healthz and /readyz on METRICS_PORT (9464). `npm start` runs
 * the same connector with the sandbox, or with the receiver beside it.
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadConfig, type Config, type Systems } from './config.ts';
import { exitOnStartupFailure, loadProfiles, startConnector } from './connector.ts';
import { describeRevokers } from './contract/shared.ts';
import { installRuntimeLogger, log } from './log.ts';
import { freeLoopbackPort } from './metrics.ts';
import type { Profiles } from './profiles.ts';

interface WorkerSetup {
  config: Config;
  systems: Systems;
  address: string;
  profiles: Profiles;
}

/** The environment and the profiles file read together, so that one start names every problem of both. */
function configure(): WorkerSetup {
  const problems: string[] = [];
  const collect = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const config = collect(() => loadConfig());
  const profiles = collect(() => loadProfiles(config?.profilesFile ?? process.env.PROFILES_FILE ?? 'profiles.yaml'));
  const systems = config?.jira && config.sectigo ? { jira: config.jira, sectigo: config.sectigo } : undefined;
  const address = config?.temporal.address;
  if (config && (!systems || !address)) {
    problems.push(
      'the worker on its own needs TEMPORAL_ADDRESS, Jira (JIRA_*) and Sectigo (SECTIGO_*) settings; ' +
        '`npm start` runs everything with the sandbox instead',
    );
  }
  if (!config || !profiles || !systems || !address || problems.length > 0) throw new ConfigError(problems);
  return { config, systems, address, profiles };
}

async function main({ config, systems, address, profiles }: WorkerSetup): Promise<void> {
  const sdkMetricsAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  installRuntimeLogger(undefined, sdkMetricsAddress);
  const { namespace } = config.temporal;
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }), namespace });
  const connector = await startConnector({
    temporal: { client, connection, namespace },
    systems,
    profiles,
    settings: config,
    sdkMetricsAddress,
    withReceiver: false,
  });
  log.info('worker polling', { address, namespace, metrics: connector.metricsUrl });
  log.info(describeRevokers(config.receiver.revokers));
  await connector.run();
  await client.connection.close();
  await connection.close();
  log.info('worker stopped');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  Promise.resolve()
    .then(() => main(configure()))
    .catch(exitOnStartupFailure);
}
