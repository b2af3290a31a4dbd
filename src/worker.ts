/**
 * The worker: the composition root that builds the adapters and polls both task queues: `certificates`
 * (workflows, Jira and CSR activities) and `sectigo` (SCM activities, globally rate-limited).
 * `node src/worker.ts` runs it against the configured systems; `npm start` runs it inside the sandbox.
 */
import { watchFile } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createCsrActivities } from './activities/csr.ts';
import { JiraClient } from './jira/client.ts';
import { createJiraActivities } from './activities/jira.ts';
import { createProfileActivities } from './activities/profiles.ts';
import { createSweepActivities } from './activities/sweep.ts';
import { ScmClient } from './sectigo/client.ts';
import { createSectigoActivities } from './activities/sectigo.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { Profiles } from './profiles.ts';
import { ensureSweepSchedule } from './schedule.ts';
import { SECTIGO_TASK_QUEUE, TASK_QUEUE } from './contract.ts';

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

/**
 * Dev server settings for the sandbox and the tests. Eager activity execution hands an activity on the
 * workflow's own task queue straight to the worker that scheduled it: enrollment's Jira steps start
 * without a round trip through matching (in the sandbox, "Enroll" → PEM attached drops by a third).
 */
export const DEV_SERVER_ARGS = ['--dynamic-config-value', 'system.enableActivityEagerExecution=true'];

export interface WorkerDependencies {
  connection: NativeConnection;
  /** For the sweep's visibility queries and signals. */
  client: Client;
  namespace?: string;
  jira: JiraClient;
  scm: ScmClient;
  profiles: Profiles;
  /** Global SCM calls per second, enforced by the server across every worker of the queue. */
  sectigoRequestsPerSecond: number;
  /** A prebuilt bundle (tests bundle once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** Both workers of one process; run them together with `Promise.all(workers.map((w) => w.run()))`. */
export async function createWorkers(deps: WorkerDependencies): Promise<Worker[]> {
  const { connection, namespace = 'default' } = deps;
  const workflows = deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath };
  const certificates = await Worker.create({
    connection,
    namespace,
    taskQueue: TASK_QUEUE,
    ...workflows,
    activities: {
      ...createJiraActivities({ jira: deps.jira }),
      ...createCsrActivities({ profiles: deps.profiles }),
      ...createProfileActivities({ profiles: deps.profiles }),
      ...createSweepActivities({ client: deps.client }),
    },
  });
  const sectigo = await Worker.create({
    connection,
    namespace,
    taskQueue: SECTIGO_TASK_QUEUE,
    activities: createSectigoActivities({ scm: deps.scm, profiles: deps.profiles }),
    maxTaskQueueActivitiesPerSecond: deps.sectigoRequestsPerSecond,
  });
  return [certificates, sectigo];
}

/** Runs until SIGINT/SIGTERM, letting activities under way finish. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((worker) => worker.run()));
}

async function main(config: Config): Promise<void> {
  if (!config.jira || !config.sectigo || !config.temporal.address) {
    throw new ConfigError([
      'the worker on its own needs TEMPORAL_ADDRESS, Jira (JIRA_*) and Sectigo (SECTIGO_*) settings; ' +
        '`npm start` runs everything with the sandbox instead',
    ]);
  }
  const profilesFile = config.profilesFile ?? 'profiles.yaml';
  const profiles = Profiles.load(profilesFile);
  watchProfiles(profilesFile, profiles);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const client = new Client({
    connection: await Connection.connect({ address: config.temporal.address }),
    namespace: config.temporal.namespace,
  });
  await ensureSweepSchedule(client);
  const workers = await createWorkers({
    connection,
    client,
    namespace: config.temporal.namespace,
    jira: await JiraClient.connect(config.jira),
    scm: new ScmClient({ ...config.sectigo, maxRequestsPerSecond: config.sectigoRequestsPerSecond }),
    profiles,
    sectigoRequestsPerSecond: config.sectigoRequestsPerSecond,
  });
  await runWorkers(workers);
  await connection.close();
}

/**
 * Reloads the profiles when their file changes; a broken edit is reported and the last good set kept.
 * Running workflows learn of the change from the next sweep (or at once from `reevaluate`).
 */
export function watchProfiles(path: string, profiles: Profiles): void {
  watchFile(path, { interval: 5000 }, () => {
    try {
      profiles.replace(Profiles.load(path));
      console.error(`profiles reloaded from ${path}`);
    } catch (err) {
      console.error(`profiles in ${path} not reloaded: ${(err as Error).message}`);
    }
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(loadConfig()).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
