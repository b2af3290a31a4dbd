/**
 * The operator's CLI: `npm run cli -- <command>`. Talks to Temporal only (TEMPORAL_ADDRESS, default the
 * sandbox's 127.0.0.1:7233); the workflows do the rest.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import {
  CERTIFICATE_PHASES,
  isLive,
  literal,
  REVOCATION_REASONS,
  searchAttributes,
  TASK_QUEUE,
  type RevocationReasonCode,
} from '../contract/shared.ts';
import {
  certificateWorkflowId,
  renewUpdate,
  revokeUpdate,
  statusQuery,
  STANDALONE_PROJECT,
  type CertificateStatus,
} from '../contract/certificate.ts';
import { SWEEP_SCHEDULE_ID } from '../contract/sweep.ts';
import type { certificateLifecycle } from '../workflows/certificate/workflow.ts';
import type { renewalSweep } from '../workflows/renewal-sweep.ts';
import type { revokeExternalCertificate } from '../workflows/revoke-external.ts';
import { loadConfig } from '../config.ts';
import { connectTemporal, temporalTarget, TemporalSettingsError } from '../temporal-connection.ts';
import { ISSUE_KEY } from '../jira/client.ts';
import { checkJiraSetup, formatReport } from '../jira/setup-check.ts';
import { Profiles } from '../profiles.ts';

const HELP = `Usage: npm run cli -- <command> [options]

Commands:
  enroll --csr FILE --profile P enroll a certificate without a Jira issue (P: the profile's name);
                                it is named CLI-<n> and then renews and revokes like the others
  status <ISSUE-KEY>            phase, certificate, validity, renewal plan and last error
  history <ISSUE-KEY>           the certificate generations issued for the issue
  list [--status S] [--profile P] [--domain D]
                                certificates, newest first (search attributes)
  renew <ISSUE-KEY> [--force]   renew now; without --force only inside the expiry window
                                (or where the profile allows renewal outside it)
  revoke <ISSUE-KEY> --reason R [--comment C]
                                revoke every valid certificate of the issue and stop renewing;
                                R: unspecified, key-compromise, affiliation-changed, superseded,
                                cessation-of-operation
  revoke --certificate-id N --profile P --reason R
                                revoke a certificate of profile P (its Jira name) by its SCM id,
                                whether or not it was enrolled through Jira
  sweep                         run the daily sweep now
  unowned                       orders in SCM that carry the connector's token but that no
                                certificate workflow owns, as the last sweep found them
  jira-check [--fix] [--receiver-url URL]
                                check the Jira site's setup item by item (project, issue types,
                                fields and options, screens, statuses, transitions, webhook);
                                --fix creates missing custom fields, contexts and options

Options: --json prints status, history, list, unowned, renew, revoke and sweep as JSON.

Exit codes: 0 done; 1 refused (a renewal outside the window, a revocation SCM declined, a CSR the
profile does not take) or failed; 2 usage (an unknown command, option, value or issue); 3 Temporal
unreachable.

Environment: Temporal's own configuration, as the Temporal CLI reads it: TEMPORAL_ADDRESS (default
127.0.0.1:7233), TEMPORAL_NAMESPACE (default "default"), TEMPORAL_API_KEY, TEMPORAL_TLS and
TEMPORAL_TLS_* (client certificate, key, server CA, server name), or a profile of temporal.toml
(TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE); PAYLOAD_ENCRYPTION_KEYS, as the worker's. jira-check
reads the worker's JIRA_* settings and PROFILES_FILE, and needs no Temporal.`;

/** A command or its options used wrongly, or naming something that is not there: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An operation the connector or SCM refused (the reason is the message): exit code 1. */
export class Refused extends Error {
  override name = 'Refused';
}

/** Temporal does not answer: exit code 3. */
export class Unreachable extends Error {
  override name = 'Unreachable';
}

/** The exit code for what a command ended with. */
export const exitCodeOf = (err: unknown): number =>
  err instanceof UsageError ? 2 : err instanceof Unreachable ? 3 : 1;

/** The words of a command; a word the CLI does not know is a usage error like any other (exit 2). */
function parsed(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        force: { type: 'boolean', default: false },
        status: { type: 'string' },
        profile: { type: 'string' },
        domain: { type: 'string' },
        reason: { type: 'string' },
        'certificate-id': { type: 'string' },
        csr: { type: 'string' },
        comment: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    if (err instanceof TypeError && 'code' in err) throw new UsageError(err.message);
    throw err;
  }
}

type Values = ReturnType<typeof parsed>['values'];

/** What a command is run with. */
interface Invocation {
  client: Client;
  command: string;
  /** The issue key the command names, if any (checked by `handle()`). */
  issueKey: string | undefined;
  values: Values;
}

/** Runs one command; resolves with the text to print. */
export async function runCli(argv: string[], client: Client): Promise<string> {
  const { values, positionals } = parsed(argv);
  const [command, issueKey] = positionals;
  if (values.help || command === undefined || command === 'help') return HELP;
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) throw new UsageError(`unknown command "${command}"\n\n${HELP}`);
  return run({ client, command, issueKey, values });
}

const COMMANDS: Record<string, (invocation: Invocation) => Promise<string>> = {
  enroll: ({ client, values }) => enrollWithoutIssue(client, values),
  status: showStatus,
  history: showHistory,
  list: listCertificates,
  renew,
  revoke,
  unowned: showUnowned,
  sweep: runSweep,
};

const json = (data: unknown) => JSON.stringify(data, null, 2);

/** The certificate workflow the command names. */
function handle({ client, command, issueKey }: Invocation) {
  if (!issueKey || !ISSUE_KEY.test(issueKey)) throw new UsageError(`${command} needs an issue key such as CERT-45`);
  return client.workflow.getHandle(certificateWorkflowId(issueKey));
}

async function statusOf(invocation: Invocation): Promise<CertificateStatus> {
  try {
    return await handle(invocation).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new UsageError(`no certificate workflow for ${invocation.issueKey}`);
    throw err;
  }
}

async function showStatus(invocation: Invocation): Promise<string> {
  const status = await statusOf(invocation);
  return invocation.values.json ? json(status) : formatStatus(status);
}

async function showHistory(invocation: Invocation): Promise<string> {
  const { history } = await statusOf(invocation);
  if (invocation.values.json) return json(history);
  return history
    .map((h, i) => `${i}  ${h.certificateId}  ${h.serialNumber}  ${iso(h.notBefore)} → ${iso(h.notAfter)}  ${h.reason}`)
    .join('\n');
}

/**
 * Certificates by search attribute, newest first. One row per certificate: a renewed certificate's earlier
 * runs ended in continue-as-new, and only the newest run of a workflow id (listed first) speaks for it.
 */
async function listCertificates({ client, values }: Invocation): Promise<string> {
  const conditions = ["WorkflowType = 'certificateLifecycle'", "ExecutionStatus != 'ContinuedAsNew'"];
  if (values.status !== undefined) {
    if (!(CERTIFICATE_PHASES as readonly string[]).includes(values.status)) {
      throw new UsageError(`unknown status "${values.status}": use one of ${CERTIFICATE_PHASES.join(', ')}`);
    }
    conditions.push(`CertificateStatus = ${literal(values.status)}`);
  }
  if (values.profile) conditions.push(`CertificateProfile = ${literal(values.profile)}`);
  if (values.domain) conditions.push(`CertificateDomain = ${literal(values.domain)}`);
  const certificates: Array<{
    issueKey: string;
    status: string;
    certificateId?: string;
    notAfter?: string;
    domain?: string;
  }> = [];
  const listed = new Set<string>();
  for await (const run of client.workflow.list({ query: conditions.join(' AND ') })) {
    if (listed.has(run.workflowId)) continue;
    listed.add(run.workflowId);
    const sa = run.typedSearchAttributes;
    const [certificateId, notAfter, domain] = [
      sa.get(searchAttributes.certificateId),
      sa.get(searchAttributes.notAfter),
      sa.get(searchAttributes.domain),
    ];
    certificates.push({
      issueKey: sa.get(searchAttributes.issueKey) ?? run.workflowId,
      status: sa.get(searchAttributes.status) ?? run.status.name,
      ...(certificateId ? { certificateId } : {}),
      ...(notAfter ? { notAfter: notAfter.toISOString() } : {}),
      ...(domain ? { domain } : {}),
    });
    if (certificates.length >= 500) break;
  }
  if (values.json) return json(certificates);
  const rows = certificates.map((c) =>
    [
      c.issueKey.padEnd(10),
      c.status.padEnd(16),
      (c.certificateId ?? '-').padEnd(8),
      (c.notAfter ?? '-').padEnd(24),
      c.domain ?? '-',
    ].join(' '),
  );
  return rows.length === 0
    ? 'no certificates'
    : ['ISSUE      STATUS           ID       EXPIRES                  DOMAIN', ...rows].join('\n');
}

async function renew(invocation: Invocation): Promise<string> {
  const { issueKey, values } = invocation;
  try {
    const accepted = await handle(invocation).executeUpdate(renewUpdate, {
      args: [{ requestedBy: operator(), force: values.force }],
    });
    if (values.json) return json({ issueKey, renewal: accepted.result, forced: values.force });
    return `${issueKey}: renewal ${accepted.result}${values.force ? ' (forced)' : ''}; follow it with \`status ${issueKey}\``;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new Refused(`${issueKey}: ${err.cause?.message ?? err.message}`);
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no certificate workflow for ${issueKey}`);
    throw err;
  }
}

async function revoke(invocation: Invocation): Promise<string> {
  const { client, issueKey, values } = invocation;
  if (values['certificate-id'] !== undefined) return revokeById(client, values);
  const certificate = handle(invocation);
  const reasonCode = reasonFromCli(values.reason);
  try {
    const accepted = await certificate.executeUpdate(revokeUpdate, {
      args: [{ reasonCode, requestedBy: operator(), ...(values.comment ? { comment: values.comment } : {}) }],
    });
    if (values.json) return json({ issueKey, revocation: accepted.result });
    return `${issueKey}: revocation ${accepted.result}; follow it with \`status ${issueKey}\``;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new Refused(`${issueKey}: ${err.cause?.message ?? err.message}`);
    if (err instanceof WorkflowNotFoundError) {
      throw new UsageError(`no running certificate workflow for ${issueKey} (revoked already, or never enrolled)`);
    }
    throw err;
  }
}

/** The orders with the connector's token that no workflow owns, as the last finished sweep found them. */
async function showUnowned({ client, values }: Invocation): Promise<string> {
  const query = "WorkflowType = 'renewalSweep' AND ExecutionStatus = 'Completed'";
  for await (const run of client.workflow.list({ query })) {
    const totals = await client.workflow.getHandle<typeof renewalSweep>(run.workflowId, run.runId).result();
    if (values.json) return json({ sweptAt: run.closeTime?.toISOString(), orders: totals.unownedOrders ?? [] });
    const rows = (totals.unownedOrders ?? []).map(
      (o) => `${String(o.certificateId).padEnd(10)} ${o.issueKey.padEnd(12)} ${o.token}`,
    );
    const when = run.closeTime?.toISOString() ?? '';
    return rows.length === 0
      ? `no unowned orders (sweep of ${when})`
      : [
          `ORDER      ISSUE        TOKEN   (sweep of ${when})`,
          ...rows,
          '',
          'Each is issued (or being issued) and nothing renews or tracks it. Revoke one with',
          '  npm run cli -- revoke --certificate-id ORDER --profile P --reason superseded',
        ].join('\n');
  }
  if (values.json) return json({ sweptAt: null, orders: [] });
  return 'no sweep has finished yet: run `sweep` first';
}

async function runSweep({ client, values }: Invocation): Promise<string> {
  await client.schedule.getHandle(SWEEP_SCHEDULE_ID).trigger();
  if (values.json) return json({ started: true, schedule: SWEEP_SCHEDULE_ID });
  return `sweep started (schedule ${SWEEP_SCHEDULE_ID})`;
}

/** Who an operation from the CLI is asked for by. */
const operator = () => `cli:${process.env.USER ?? 'operator'}`;

/**
 * Starts a certificate workflow for a CSR file, with no Jira issue (the workflow talks to SCM only), and
 * waits a minute at most for it to be issued or refused.
 */
async function enrollWithoutIssue(client: Client, values: { csr?: string; profile?: string }): Promise<string> {
  if (!values.csr || !values.profile) throw new UsageError('enroll needs --csr FILE and --profile P');
  let csr: string;
  try {
    csr = readFileSync(values.csr, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${values.csr}: ${(err as Error).message}`);
  }
  const issueKey = `${STANDALONE_PROJECT}-${Date.now()}`;
  const handle = await client.workflow.start<typeof certificateLifecycle>('certificateLifecycle', {
    workflowId: certificateWorkflowId(issueKey),
    taskQueue: TASK_QUEUE,
    args: [
      {
        issueKey,
        requestedBy: operator(),
        triggerId: `cli:${issueKey}`,
        standalone: { csr, profileName: values.profile },
      },
    ],
    typedSearchAttributes: [
      { key: searchAttributes.issueKey, value: issueKey },
      { key: searchAttributes.status, value: 'Validating' },
    ],
    staticSummary: `Certificate ${issueKey}, enrolled from the CLI`,
  });
  for (let waited = 0; waited < 60_000; waited += 500) {
    const status = await handle.query(statusQuery).catch(() => undefined);
    if (status?.phase === 'Rejected') throw new Refused(`${issueKey}: not enrolled: ${status.lastError ?? ''}`);
    if (status && isLive(status.phase)) return formatStatus(status);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return `${issueKey}: still being enrolled; follow it with \`status ${issueKey}\``;
}

/** Revokes a certificate by its SCM id through revokeExternalCertificate, and says how it went. */
async function revokeById(
  client: Client,
  values: { 'certificate-id'?: string; profile?: string; reason?: string },
): Promise<string> {
  // Decimal digits only: Number() also reads 0x443 (1091) and 1e3, and a revocation is irreversible.
  const text = values['certificate-id'] ?? '';
  const certificateId = /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(certificateId)) {
    throw new UsageError(`--certificate-id takes the certificate's SCM id in decimal digits, not "${text}"`);
  }
  if (!values.profile) throw new UsageError("revoke --certificate-id needs --profile, the profile's name in Jira");
  const reasonCode = reasonFromCli(values.reason);
  const result = await client.workflow.execute<typeof revokeExternalCertificate>('revokeExternalCertificate', {
    workflowId: `revoke:certificate-${certificateId}`,
    taskQueue: TASK_QUEUE,
    args: [
      {
        certificateId,
        profileName: values.profile,
        reasonCode,
        requestedBy: operator(),
      },
    ],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  if (result.outcome === 'not-revoked') throw new Refused(result.message);
  return `${result.outcome}: ${result.message}`;
}

/** `key-compromise` or `Key compromise` (or the RFC 5280 code) to the code SCM takes. */
function reasonFromCli(given: string | undefined): RevocationReasonCode {
  const choices = Object.keys(REVOCATION_REASONS).map((name) => name.toLowerCase().replace(/ /g, '-'));
  if (!given) throw new UsageError(`revoke needs --reason, one of ${choices.join(', ')}`);
  const wanted = given.toLowerCase().replace(/[ _]/g, '-');
  const found = Object.entries(REVOCATION_REASONS).find(
    ([name, code]) => name.toLowerCase().replace(/ /g, '-') === wanted || String(code) === wanted,
  );
  if (!found) throw new UsageError(`unknown reason "${given}": use one of ${choices.join(', ')}`);
  return found[1];
}

function formatStatus(s: CertificateStatus): string {
  const rows: Array<[string, string | number | undefined]> = [
    ['issue', s.issueKey],
    ['phase', s.phase],
    ['profile', s.profileId],
    ['domain', s.domain],
    ['certificate id', s.certificateId],
    ['serial', s.serialNumber],
    ['valid', s.notBefore && s.notAfter ? `${iso(s.notBefore)} → ${iso(s.notAfter)}` : undefined],
    ['window opens', s.windowOpensAt ? iso(s.windowOpensAt) : undefined],
    ['renews at', s.renewAt ? iso(s.renewAt) : s.certificateId ? 'on request (auto-renewal off)' : undefined],
    ['generation', s.generation],
    ['last error', s.lastError],
  ];
  return rows
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name.padEnd(15)}${String(value)}`)
    .join('\n');
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `jira-check`: the setup check against the configured Jira; resolves with the report and whether it passed. */
export async function runJiraCheck(argv: string[], env = process.env): Promise<{ text: string; ok: boolean }> {
  const { values } = parseArgs({
    args: argv,
    options: { fix: { type: 'boolean', default: false }, 'receiver-url': { type: 'string' } },
  });
  let config;
  try {
    config = loadConfig(env, { forReceiving: false });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!config.jira)
    throw new UsageError(
      'jira-check needs JIRA_BASE_URL and credentials (JIRA_EMAIL and JIRA_API_TOKEN on Cloud, JIRA_BEARER_TOKEN on Data Center)',
    );
  const profiles = Profiles.load(config.profilesFile ?? 'profiles.yaml');
  const items = await checkJiraSetup({
    baseUrl: config.jira.baseUrl,
    auth: config.jira.auth,
    names: config.jira.names,
    profileNames: profiles.all.map((p) => p.name),
    polling: config.trigger.kind === 'polling',
    fix: values.fix,
    ...(config.receiver.revokers.group ? { revokersGroup: config.receiver.revokers.group } : {}),
    ...(values['receiver-url'] ? { receiverUrl: values['receiver-url'] } : {}),
    ...(config.jira.deployment ? { deployment: config.jira.deployment } : {}),
  });
  const { text, problems } = formatReport(items, config.jira.baseUrl);
  return { text, ok: problems === 0 };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'jira-check') {
  runJiraCheck(process.argv.slice(3)).then(
    ({ text, ok }) => {
      console.log(text);
      process.exitCode = ok ? 0 : 1;
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const main = async () => {
    let target;
    try {
      target = temporalTarget(process.env, '127.0.0.1:7233');
    } catch (err) {
      throw err instanceof TemporalSettingsError ? new UsageError(err.message) : err;
    }
    const connected = await connectTemporal(target).catch((err: unknown) => {
      throw new Unreachable((err as Error).message);
    });
    try {
      console.log(await runCli(process.argv.slice(2), connected.client));
    } finally {
      await connected.close();
    }
  };
  main().catch((err: unknown) => {
    const known = err instanceof UsageError || err instanceof Refused || err instanceof Unreachable;
    console.error(known ? err.message : err);
    process.exit(exitCodeOf(err));
  });
}
