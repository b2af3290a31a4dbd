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
  connectJira,
  connectScm,
  createWorkers,
  loadProfiles,
  missingSearchAttributes,
  runWorkers,
  serveOps,
  workerReadiness,
} from './connector.ts';
import { close } from './http.ts';
import { installRuntimeLogger, log } from './log.ts';
import { ConnectorMetrics, fleetReader, freeLoopbackPort } from './metrics.ts';
import { ensureJiraPolling, ensureSweepSchedule } from './schedule.ts';
import { loadWorkflowBundle } from './workflow-bundle.ts';
import { describeRevokers } from './contract.ts';

async function main(config: Config): Promise<void> {
  if (!config.jira || !config.sectigo || !config.temporal.address) {
    throw new ConfigError([
      'the worker on its own needs TEMPORAL_ADDRESS, Jira (JIRA_*) and Sectigo (SECTIGO_*) settings; ' +
        '`npm start` runs everything with the sandbox instead',
    ]);
  }
  const sdkMetricsAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  installRuntimeLogger(undefined, sdkMetricsAddress);
  const { address, namespace } = config.temporal;
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection: await Connection.connect({ address }), namespace });
  const missing = await missingSearchAttributes(client, namespace);
  if (missing.length > 0) throw new ConfigError(missing);
  await ensureSweepSchedule(client);
  const profiles = loadProfiles(config.profilesFile ?? 'profiles.yaml');
  const fleet = fleetReader(client, {
    series: config.certificateSeries,
    profileIds: () => profiles.all.map((p) => p.id),
  });
  const metrics = new ConnectorMetrics({ fleet, sdkMetricsAddress });
  const workers = await createWorkers({
    connection,
    client,
    namespace,
    jira: await connectJira(config.jira, metrics),
    scm: connectScm(config.sectigo, config.sectigoRequestsPerSecond, metrics),
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
    checks: workerReadiness({ client, profiles, workers }),
    ...config.metrics,
  });
  log.info('worker polling', { address, namespace, metrics: `${ops.url}/metrics` });
  log.info(describeRevokers(config.receiver.revokers));
  await runWorkers(workers, [() => close(ops.server), () => client.connection.close(), () => connection.close()]);
  log.info('worker stopped');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(loadConfig()).catch((err: unknown) => {
    log.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
