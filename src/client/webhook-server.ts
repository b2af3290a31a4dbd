/**
 * The webhook receiver as its own process (`node src/client/webhook-server.ts`): Jira → Temporal.
 * Needs Temporal (TEMPORAL_ADDRESS, or a profile: src/temporal-connection.ts), the Jira settings (to learn
 * the connector's own account) and JIRA_WEBHOOK_SECRET.
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config.ts';
import { connectJira, createReceiver, exitOnStartupFailure } from '../connector.ts';
import { listen } from '../http.ts';
import { log } from '../log.ts';
import { WEBHOOK_PATH } from './webhook.ts';
import { describeRevokers } from '../contract/shared.ts';
import { connectTemporal } from '../temporal-connection.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.jira || !config.temporal.target.address) {
    throw new ConfigError([
      'the receiver on its own needs TEMPORAL_ADDRESS (or a Temporal profile) and the Jira settings (JIRA_*); `npm start` runs the sandbox instead',
    ]);
  }
  const { client } = await connectTemporal(config.temporal.target);
  const server = await createReceiver({
    client,
    target: config.temporal.target,
    jira: await connectJira(config.jira),
    secret: config.receiver.webhookSecret,
    maxBodyBytes: config.receiver.maxBodyBytes,
    revokers: config.receiver.revokers,
  });
  const url = await listen(server, config.receiver.port, config.receiver.host);
  log.info('receiver listening', { url: `${url}${WEBHOOK_PATH}` });
  log.info(describeRevokers(config.receiver.revokers));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch(exitOnStartupFailure);
}
