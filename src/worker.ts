/**
 * The worker as its own process (`node src/worker.ts`): polls both task queues — `certificates`
 * (workflows, Jira and CSR activities) and `sectigo` (SCM activities, globally rate-limited) — against the
 * configured systems, and serves /metrics, /healthz and /readyz on METRICS_PORT (9464). `npm start` runs
 * the same workers inside the sandbox.
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ConfigError, loadConfig, type Config } from './config.ts';
import {
  checkScm,
  connectJira,
  connectScm,
  createWorkers,
  exitOnStartupFailure,
  loadProfiles,
  missingSearchAttributes,
  runWorkers,
  scmReadiness,
  serveOps,
  workerReadiness,
} from './connector.ts';
import { close } from './http.ts';
import { installRuntimeLogger, log } from './log.ts';
import { ConnectorMetrics, fleetReader, freeLoopbackPort } from './metrics.ts';
import type { Profiles } from './profiles.ts';
import { ensureJiraPolling, ensureSweepSchedule } from './schedule.ts';
import { loadWorkflowBundle } from './workflow-bundle.ts';
import { describeRevokers } from './contract.ts';

/** The environment and the profiles file read together, so that one start names every problem of both. */
function configure(): { config: Config; profiles: Profiles } {
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
  if (config && (!config.jira || !config.sectigo || !config.temporal.address)) {
    problems.push(
      'the worker on its own needs TEMPORAL_ADDRESS, Jira (JIRA_*) and Sectigo (SECTIGO_*) settings; ' +
        '`npm start` runs everything with the sandbox instead',
    );
  }
  if (!config || !profiles || problems.length > 0) throw new ConfigError(problems);
  return { config, profiles };
}

async function main({ config, profiles }: { config: Config; profiles: Profiles }): Promise<void> {
  if (!config.jira || !config.sectigo || !config.temporal.address) throw new Error('configure() checked these');
  const sdkMetricsAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  installRuntimeLogger(undefined, sdkMetricsAddress);
  const { address, namespace } = config.temporal;
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }), namespace });
  const missing = await missingSearchAttributes(client, namespace);
  if (missing.length > 0) throw new ConfigError(missing);
  await ensureSweepSchedule(client);
  const fleet = fleetReader(client, {
    series: config.certificateSeries,
    profileIds: () => profiles.all.map((p) => p.id),
  });
  const metrics = new ConnectorMetrics({ fleet, sdkMetricsAddress });
  const scm = connectScm(config.sectigo, config.sectigoRequestsPerSecond, metrics);
  await checkScm(scm, config.sectigo);
  const workers = await createWorkers({
    connection,
    client,
    namespace,
    jira: await connectJira(config.jira, metrics),
    scm,
    profiles,
    sectigoRequestsPerSecond: config.sectigoRequestsPerSecond,
    maxCachedWorkflows: config.maxCachedWorkflows,
    workflowBundle: await loadWorkflowBundle(config.workflowBundle),
    revokers: config.receiver.revokers,
    metrics,
  });
  await ensureJiraPolling(client, config.trigger.kind === 'polling' ? config.trigger.intervalMs : undefined);
  const ops = await serveOps({
    metrics,
    checks: workerReadiness({ client, profiles, workers, scm: scmReadiness(scm, config.sectigo) }),
    ...config.metrics,
  });
  log.info('worker polling', { address, namespace, metrics: `${ops.url}/metrics` });
  log.info(describeRevokers(config.receiver.revokers));
  await runWorkers(workers, [() => close(ops.server), () => client.connection.close(), () => connection.close()]);
  log.info('worker stopped');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  Promise.resolve()
    .then(() => main(configure()))
    .catch(exitOnStartupFailure);
}
