/**
 * The sandbox: the SCM and Jira emulators, and how the connector reaches them. `npm start` runs the
 * connector against them; the tests run their own workers beside the receiver `startSandbox` registers.
 */
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import type { Client } from '@temporalio/client';
import { WEBHOOK_PATH } from '../client/webhook.ts';
import type { Systems } from '../config.ts';
import { connectJira, connectScm, createReceiver } from '../connector.ts';
import { DEFAULT_JIRA_NAMES, type RevokerPolicy } from '../contract/shared.ts';
import { close, listen } from '../http.ts';
import type { JiraClient } from '../jira/client.ts';
import type { UpstreamObserver } from '../metrics.ts';
import { Profiles } from '../profiles.ts';
import type { ScmClient } from '../sectigo/client.ts';
import { JiraEmulator, SANDBOX_USERS, type JiraEmulatorOptions } from './jira-emulator.ts';
import { ScmEmulator, type ScmEmulatorOptions } from './scm-emulator.ts';

export const SANDBOX_PROFILES_FILE = fileURLToPath(new URL('./profiles.yaml', import.meta.url));
export const SANDBOX_WEBHOOK_SECRET = 'sandbox-webhook-secret';

export interface SandboxOptions {
  client: Client;
  host?: string;
  dataDir?: string;
  jiraPort?: number;
  scmPort?: number;
  receiverPort?: number;
  webhookSecret?: string;
  maxBodyBytes?: number;
  /** The connector's own limit on SCM requests per second. */
  scmRequestsPerSecond?: number;
  /**
   * Who may revoke: by default each certificate's requester and the group "certificate-revokers", which
   * the sandbox's alice is in.
   */
  revokers?: Partial<RevokerPolicy>;
  /** The connector's SCM request timeout (default 10 s). */
  scmTimeoutMs?: number;
  /**
   * How Jira events reach the connector: `webhook` (default) runs the receiver and registers it with the
   * Jira emulator; `polling` runs neither (the worker's polling trigger reads Jira instead).
   */
  trigger?: 'webhook' | 'polling';
  /** Hears of every SCM and Jira request the connector's clients make (the worker's metrics). */
  observer?: UpstreamObserver;
  scm?: Omit<ScmEmulatorOptions, 'port' | 'host' | 'dataDir'>;
  jira?: Omit<JiraEmulatorOptions, 'port' | 'host' | 'dataDir' | 'profileNames'>;
}

/** The emulated systems, and how the connector reaches them. */
export interface Emulators {
  scmEmulator: ScmEmulator;
  jiraEmulator: JiraEmulator;
  /** The connector's settings for the emulators, as a real site's would be configured. */
  systems: Systems;
  /** The sandbox's profiles, which match the emulated SCM's certificate types. */
  profiles: Profiles;
  /** Who may revoke in this sandbox. */
  revokers: RevokerPolicy;
  webhookSecret: string;
  stop(): Promise<void>;
}

export interface Sandbox extends Emulators {
  /** The connector's adapters, as the worker uses them. */
  scm: ScmClient;
  jira: JiraClient;
  /** Undefined when the sandbox polls instead of receiving webhooks. */
  receiverUrl: string | undefined;
}

/** The sandbox's group of revokers: alice is in it. */
export const SANDBOX_REVOKERS_GROUP = 'certificate-revokers';

/** Starts the SCM and Jira emulators, and says how the connector reaches them. */
export async function startEmulators(options: Omit<SandboxOptions, 'client'>): Promise<Emulators> {
  const revokers: RevokerPolicy = {
    group: options.revokers?.group ?? SANDBOX_REVOKERS_GROUP,
    anyone: options.revokers?.anyone ?? false,
  };
  const profiles = Profiles.load(SANDBOX_PROFILES_FILE);
  const host = options.host ?? '127.0.0.1';
  const scmEmulator = await ScmEmulator.start({
    ...options.scm,
    host,
    port: options.scmPort ?? 0,
    dataDir: options.dataDir,
  });
  const jiraEmulator = await JiraEmulator.start({
    ...options.jira,
    host,
    port: options.jiraPort ?? 0,
    dataDir: options.dataDir,
    profileNames: profiles.all.map((p) => p.name),
  });
  const { connector } = SANDBOX_USERS;
  const { login, password, customerUri } = scmEmulator.credentials;
  return {
    scmEmulator,
    jiraEmulator,
    systems: {
      jira: {
        baseUrl: jiraEmulator.url,
        // An API token with its email on Cloud; a personal access token (bearer) on Data Center.
        auth:
          jiraEmulator.dialect === 'cloud'
            ? { kind: 'basic', user: connector.emailAddress, secret: connector.apiToken }
            : { kind: 'bearer', token: connector.apiToken },
        names: DEFAULT_JIRA_NAMES,
      },
      sectigo: {
        baseUrl: scmEmulator.apiUrl,
        auth: { kind: 'password', login, password, customerUri },
        timeoutMs: options.scmTimeoutMs ?? 10_000,
      },
    },
    profiles,
    revokers,
    webhookSecret: options.webhookSecret ?? SANDBOX_WEBHOOK_SECRET,
    async stop() {
      await jiraEmulator.stop();
      await scmEmulator.stop();
    },
  };
}

/**
 * The emulators with the connector's clients pointed at them and, unless the sandbox polls, the webhook
 * receiver registered with the emulated Jira: what the tests run their workers against.
 */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const emulators = await startEmulators(options);
  const { systems, revokers, webhookSecret } = emulators;
  const jira = await connectJira(systems.jira, options.observer);
  const scm = connectScm(systems.sectigo, options.scmRequestsPerSecond, options.observer);
  let receiver: Server | undefined;
  let receiverUrl: string | undefined;
  if (options.trigger !== 'polling') {
    receiver = await createReceiver({
      client: options.client,
      jira,
      secret: webhookSecret,
      maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
      revokers,
    });
    receiverUrl = await listen(receiver, options.receiverPort ?? 0, options.host ?? '127.0.0.1');
    await registerWebhook(emulators.jiraEmulator, `${receiverUrl}${WEBHOOK_PATH}`, webhookSecret);
  }
  return {
    ...emulators,
    scm,
    jira,
    receiverUrl,
    async stop() {
      await emulators.jiraEmulator.stop();
      if (receiver) await close(receiver);
      await emulators.scmEmulator.stop();
    },
  };
}

/**
 * Registers (or re-registers) the receiver as an admin webhook, as a Jira administrator would: through
 * /rest/webhooks/1.0 on Cloud, /rest/jira-webhook/1.0 on Data Center 10 and later.
 */
export async function registerWebhook(jira: JiraEmulator, url: string, secret: string): Promise<void> {
  const admin = SANDBOX_USERS.connector;
  const cloud = jira.dialect === 'cloud';
  const res = await fetch(`${jira.url}${cloud ? '/rest/webhooks/1.0/webhook' : '/rest/jira-webhook/1.0/webhooks'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: cloud
        ? `Basic ${Buffer.from(`${admin.emailAddress}:${admin.apiToken}`).toString('base64')}`
        : `Bearer ${admin.apiToken}`,
    },
    body: JSON.stringify({
      name: 'Certificate lifecycle connector',
      url,
      events: ['jira:issue_created', 'jira:issue_updated'],
      filters: { 'issue-related-events-section': `project = ${jira.projectKey}` },
      excludeBody: false,
      secret,
    }),
  });
  if (!res.ok) throw new Error(`registering the webhook failed: HTTP ${res.status} ${await res.text()}`);
}
