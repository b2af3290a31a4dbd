/**
 * The worker as its own process (`node src/worker.ts`): polls both task queues — `certificates`
 * (workflows, Jira and CSR activities) and `sectigo` (SCM activities, globally rate-limited) — against the
 * configured systems, and serves /metrics, /healthz and /readyz on METRICS_PORT (9464). `npm start` runs
 * the same connector with the sandbox, or with the receiver beside it.
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config, type Systems } from './config.ts';
import { exitOnStartupFailure, loadProfiles, startConnector } from './connector.ts';
import { describeRevokers } from './contract/shared.ts';
import { installRuntimeLogger, log } from './log.ts';
import { freeLoopbackPort } from './metrics.ts';
import type { Profiles } from './profiles.ts';
import { connectTemporal, type TemporalTarget } from './temporal-connection.ts';

interface WorkerSetup {
  config: Config;
  systems: Systems;
  temporal: TemporalTarget;
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
  const config = collect(() => loadConfig(process.env, { forReceiving: false }));
  const profiles = collect(() => loadProfiles(config?.profilesFile ?? process.env.PROFILES_FILE ?? 'profiles.yaml'));
  const systems = config?.jira && config.sectigo ? { jira: config.jira, sectigo: config.sectigo } : undefined;
  const temporal = config?.temporal.target;
  if (config && (!systems || !temporal?.address)) {
    problems.push(
      'the worker on its own needs TEMPORAL_ADDRESS (or a Temporal profile), Jira (JIRA_*) and Sectigo (SECTIGO_*) settings; ' +
        '`npm start` runs everything with the sandbox instead',
    );
  }
  if (!config || !profiles || !systems || !temporal || problems.length > 0) throw new ConfigError(problems);
  return { config, systems, temporal, profiles };
}

async function main({ config, systems, temporal, profiles }: WorkerSetup): Promise<void> {
  const sdkMetricsAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  installRuntimeLogger(undefined, sdkMetricsAddress);
  const connected = await connectTemporal(temporal, { worker: true });
  const { client, native: connection } = connected;
  const { address, namespace } = temporal;
  const connector = await startConnector({
    temporal: { client, connection, namespace, target: temporal },
    systems,
    profiles,
    settings: config,
    sdkMetricsAddress,
    withReceiver: false,
  });
  log.info('worker polling', { address, namespace, metrics: connector.metricsUrl });
  log.info(describeRevokers(config.receiver.revokers));
  await connector.run();
  await connected.close();
  log.info('worker stopped');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  Promise.resolve()
    .then(() => main(configure()))
    .catch(exitOnStartupFailure);
}
