/**
 * The operator's CLI: `npm run cli -- <command>`, one subcommand per operation (commander), each with its
 * own `--help` and strict options. Talks to Temporal only (TEMPORAL_ADDRESS, default the sandbox's
 * 127.0.0.1:7233); the workflows do the rest. `jira-check` talks to Jira only.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import {
  Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
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
import {
  normalIssuer,
  pauseReissueSignal,
  reissueProgressQuery,
  reissueQuery,
  reissueWorkflowId,
  resumeReissueSignal,
  type ReissueInput,
  type ReissueProgress,
  type ReissueSelection,
} from '../contract/reissue.ts';
import type { reissue } from '../workflows/reissue.ts';
import type { certificateLifecycle } from '../workflows/certificate/workflow.ts';
import type { renewalSweep } from '../workflows/renewal-sweep.ts';
import type { revokeExternalCertificate } from '../workflows/revoke-external.ts';
import type { certificateDownload } from '../workflows/certificate-download.ts';
import { applySecretFiles, loadConfig } from '../config.ts';
import { connectTemporal, temporalTarget, TemporalSettingsError } from '../temporal-connection.ts';
import { ISSUE_KEY } from '../jira/client.ts';
import { checkJiraSetup, formatReport } from '../jira/setup-check.ts';
import { Profiles, type Profile } from '../profiles.ts';

const EPILOGUE = `
Exit codes: 0 done; 1 refused (a renewal outside the window, a revocation SCM declined, a CSR the
profile does not take) or failed (jira-check found problems); 2 usage (an unknown command, option,
value, profile or issue); 3 Temporal unreachable.

Profiles are named by their id or their name (as in Jira), read from PROFILES_FILE (else
profiles.yaml, else the sandbox's) where the CLI runs.

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
  /** What to print on stdout nonetheless (jira-check's report). */
  readonly output: string | undefined;
  constructor(message: string, output?: string) {
    super(message);
    this.output = output;
  }
}

/** Temporal does not answer: exit code 3. */
export class Unreachable extends Error {
  override name = 'Unreachable';
}

/** The exit code for what a command ended with. */
export const exitCodeOf = (err: unknown): number =>
  err instanceof UsageError ? 2 : err instanceof Unreachable ? 3 : 1;

/** What a command's options may hold (commander's values, by their camelCase names). */
interface Values {
  force?: boolean;
  status?: string;
  profile?: string;
  domain?: string;
  reason?: string;
  certificateId?: string;
  csr?: string;
  comment?: string;
  out?: string;
  leaf?: boolean;
  fix?: boolean;
  receiverUrl?: string;
  json?: boolean;
  issuedBefore?: string;
  issuerFingerprint?: string;
  rate?: string;
  revokeReplacedAfter?: string;
  dryRun?: boolean;
  pause?: boolean;
  resume?: boolean;
  cancel?: boolean;
}

/** What a command is run with. */
interface Invocation {
  client: Client;
  command: string;
  /** The issue key the command names, if any (checked by `handle()`). */
  issueKey: string | undefined;
  values: Values;
  profiles: ProfileNames;
}

/** Where the CLI finds a Temporal client: given (tests), or connected on first use (jira-check needs none). */
export type TemporalClient = Client | (() => Promise<Client>);

/**
 * Runs one command; resolves with the text to print. Usage errors (an unknown command or option, an option
 * of another command, a missing or extra argument) are UsageErrors naming the command's `--help`.
 */
export async function runCli(argv: string[], temporal: TemporalClient, env = process.env): Promise<string> {
  let printed = '';
  let result: string | undefined;
  const clientOf = async () => (typeof temporal === 'function' ? temporal() : temporal);
  const profiles = new ProfileNames(env);
  const program = new Command('npm run cli --')
    .description('Operate the certificate lifecycle connector: certificates, renewals, revocations, the sweep.')
    .exitOverride()
    .configureOutput({ writeOut: (text) => (printed += text), writeErr: () => undefined })
    .showSuggestionAfterError()
    .addHelpText('after', EPILOGUE);
  program.configureHelp({ sortSubcommands: false });

  const json = () => new Option('--json', 'print the result as JSON');
  /** A command that talks to Jira only: it never connects to Temporal. */
  const offlineCommand = (
    name: string,
    summary: string,
    run: (invocation: Omit<Invocation, 'client'>) => Promise<string>,
  ) =>
    program
      .command(name)
      .summary(summary)
      .description(summary)
      .action(async (...args: unknown[]) => {
        const cmd = args.at(-1) as Command;
        result = await run({ command: name, issueKey: cmd.args[0], values: cmd.opts<Values>(), profiles });
      });
  const command = (name: string, summary: string, run: (invocation: Invocation) => Promise<string>) =>
    offlineCommand(name, summary, async (invocation) => run({ ...invocation, client: await clientOf() }));

  command(
    'enroll',
    'enroll a certificate without a Jira issue; it is named CLI-<n>, then renews and revokes like the others',
    enrollWithoutIssue,
  )
    .requiredOption('--csr <file>', 'the PEM certificate signing request')
    .requiredOption('--profile <profile>', "the certificate profile's id or name")
    .addOption(json());
  command(
    'status',
    'phase, certificate, validity, renewal plan and last error (the reason of a rejected request)',
    showStatus,
  )
    .argument('<issue-key>', 'the Jira issue (or CLI-<n>) of the certificate')
    .addOption(json());
  command('history', 'the certificate generations issued for the issue', showHistory)
    .argument('<issue-key>', 'the Jira issue (or CLI-<n>) of the certificate')
    .addOption(json());
  command('list', 'certificates, newest first (by search attributes; at most 500)', listCertificates)
    .addOption(new Option('--status <phase>', 'only certificates in this phase').choices(CERTIFICATE_PHASES))
    .option('--profile <profile>', 'only certificates of this profile (its id or name)')
    .option('--domain <domain>', 'only certificates for this domain')
    .addOption(json());
  command(
    'certificate',
    "write the certificate's PEM (then its chain) to a file or stdout, as SCM issued it",
    downloadCertificate,
  )
    .argument('<issue-key>', 'the Jira issue (or CLI-<n>) of the certificate')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--leaf', 'the certificate alone, without its chain')
    .addOption(json());
  command(
    'renew',
    'renew now; without --force only inside the expiry window (or where the profile allows renewal outside it)',
    renew,
  )
    .argument('<issue-key>', 'the Jira issue (or CLI-<n>) of the certificate')
    .option('--force', 'renew outside the expiry window')
    .addOption(json());
  command(
    'revoke',
    'revoke every valid certificate of the issue and stop renewing; or, with --certificate-id, one certificate by its SCM id',
    revoke,
  )
    .argument('[issue-key]', 'the Jira issue (or CLI-<n>) whose certificates to revoke')
    .requiredOption('--reason <reason>', `why: ${reasonChoices().join(', ')}`)
    .option('--comment <text>', 'said with the revocation on the issue')
    .option('--certificate-id <id>', "a certificate's SCM id (decimal), whether or not it was enrolled through Jira")
    .option('--profile <profile>', 'with --certificate-id: the profile (id or name) whose SCM account holds it')
    .addOption(json());
  command('sweep', 'run the daily sweep now', runSweep).addOption(json());
  defineReissue(command('reissue', REISSUE_SUMMARY, reissueFleet)).addOption(json());
  command(
    'unowned',
    "orders in SCM that carry the connector's token but that no certificate workflow owns (last sweep)",
    showUnowned,
  ).addOption(json());
  offlineCommand(
    'jira-check',
    "check the Jira site's setup item by item (project, issue types, fields, screens, statuses, transitions, webhook)",
    jiraCheck,
  )
    .option('--fix', 'create missing custom fields, contexts and options')
    .option('--receiver-url <url>', "the receiver's public URL, to check the webhook");

  try {
    await program.parseAsync(argv.length === 0 ? ['--help'] : argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') return printed.trimEnd();
    const used = argv.find((word) => program.commands.some((c) => c.name() === word));
    const help = used ? `npm run cli -- ${used} --help` : 'npm run cli -- --help';
    throw new UsageError(`${err.message.replace(/^error: /, '')} (see ${help})`);
  }
  return result ?? printed.trimEnd();
}

/**
 * The profiles the CLI names profiles by: the worker's file where the CLI runs (PROFILES_FILE, else
 * profiles.yaml; the sandbox's when no Temporal is configured, as the CLI then talks to the sandbox).
 * Without one, a profile is taken as given, and the workers read it as an id or a name.
 */
class ProfileNames {
  readonly #env: NodeJS.ProcessEnv;
  #profiles: Profiles | null | undefined;
  constructor(env: NodeJS.ProcessEnv) {
    this.#env = env;
  }

  /** The profile named by its id or its name; a UsageError naming the choices when there is none. */
  find(given: string): Profile | undefined {
    const profiles = this.#load();
    if (!profiles) return undefined;
    const found = profiles.byId(given) ?? profiles.byName(given);
    if (!found) {
      const choices = profiles.all.map((p) => `${p.id} ("${p.name}")`).join(', ');
      throw new UsageError(`unknown profile "${given}": use one of ${choices}`);
    }
    return found;
  }

  #load(): Profiles | null {
    if (this.#profiles !== undefined) return this.#profiles;
    const sandbox = !['TEMPORAL_ADDRESS', 'TEMPORAL_PROFILE', 'TEMPORAL_CONFIG_FILE'].some((v) => this.#env[v]);
    const file = [
      this.#env.PROFILES_FILE,
      'profiles.yaml',
      sandbox ? fileURLToPath(new URL('../sandbox/profiles.yaml', import.meta.url)) : undefined,
    ].find((f) => f && existsSync(f));
    this.#profiles = file ? Profiles.load(file) : null;
    return this.#profiles;
  }
}

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
async function listCertificates({ client, values, profiles }: Invocation): Promise<string> {
  const conditions = ["WorkflowType = 'certificateLifecycle'", "ExecutionStatus != 'ContinuedAsNew'"];
  if (values.status !== undefined) conditions.push(`CertificateStatus = ${literal(values.status)}`);
  if (values.profile) {
    conditions.push(`CertificateProfile = ${literal(profiles.find(values.profile)?.id ?? values.profile)}`);
  }
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
      args: [{ requestedBy: operator(), force: values.force ?? false }],
    });
    if (values.json) return json({ issueKey, renewal: accepted.result, forced: values.force ?? false });
    return `${issueKey}: renewal ${accepted.result}${values.force ? ' (forced)' : ''}; follow it with \`status ${issueKey}\``;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new Refused(`${issueKey}: ${err.cause?.message ?? err.message}`);
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`no certificate workflow for ${issueKey}`);
    throw err;
  }
}

async function revoke(invocation: Invocation): Promise<string> {
  const { issueKey, values } = invocation;
  if (values.certificateId !== undefined) {
    if (issueKey !== undefined) throw new UsageError('revoke takes an issue key or --certificate-id, not both');
    return revokeById(invocation);
  }
  if (values.profile !== undefined) throw new UsageError('revoke takes --profile only with --certificate-id');
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

const REISSUE_SUMMARY =
  'renew every certificate of a profile (or of one issuer) at a set pace, once each: the day a CA is distrusted. ' +
  'The same selection names the same operation: run the command again to see it, or with --pause, --resume, --cancel';

/** The reissue command's options: the selection, the pace, and the controls of an operation under way. */
function defineReissue(reissueCommand: Command): Command {
  const control = (flag: string, what: string) => {
    const option = new Option(`--${flag}`, what);
    return option.conflicts(['pause', 'resume', 'cancel', 'dryRun'].filter((f) => f !== option.attributeName()));
  };
  return reissueCommand
    .requiredOption('--profile <profile>', "the certificates' profile (its id or name)")
    .option(
      '--issued-before <instant>',
      'only certificates obtained before this instant, ISO 8601 (default: when it starts)',
    )
    .option(
      '--issuer-fingerprint <sha256>',
      'only certificates issued by this CA certificate (its SHA-256 fingerprint, hex)',
    )
    .option('--rate <n/h>', 'how many certificates to renew an hour (or n/min)', '60/h')
    .option(
      '--revoke-replaced-after <duration>',
      'revoke each replaced certificate this long after its replacement (e.g. 24h, 30m, 2d)',
    )
    .addOption(control('dry-run', 'list the certificates it would renew; renew none'))
    .addOption(control('pause', 'pause the operation: no more certificates are asked until --resume'))
    .addOption(control('resume', 'resume a paused operation'))
    .addOption(control('cancel', 'cancel the operation: renewals under way finish, no more are asked'));
}

/**
 * A fleet reissue: started (or shown, when this selection's operation exists), listed (`--dry-run`),
 * paused, resumed or cancelled. The selection names the operation, so repeating the command never starts
 * a second one for the same certificates.
 */
async function reissueFleet({ client, values, profiles }: Invocation): Promise<string> {
  const given = values.profile ?? '';
  const selection: ReissueSelection = { profileId: profiles.find(given)?.id ?? given };
  if (values.issuedBefore !== undefined) {
    const at = Date.parse(values.issuedBefore);
    if (Number.isNaN(at)) throw new UsageError(`--issued-before ${values.issuedBefore} is not an ISO 8601 instant`);
    selection.issuedBefore = at;
  }
  if (values.issuerFingerprint !== undefined) {
    const issuer = normalIssuer(values.issuerFingerprint);
    if (!/^[0-9A-F]{64}$/.test(issuer)) {
      throw new UsageError('--issuer-fingerprint is a SHA-256 fingerprint: 64 hex digits, with or without colons');
    }
    selection.issuer = issuer;
  }
  const operation = reissueWorkflowId(selection);
  if (values.dryRun) return listSelection(client, selection, values.json);
  const handle = client.workflow.getHandle<typeof reissue>(operation);
  if (values.pause || values.resume || values.cancel) {
    try {
      if (values.cancel) await handle.cancel();
      else await handle.signal(values.pause ? pauseReissueSignal : resumeReissueSignal);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new UsageError(`no reissue ${operation} is under way`);
      throw err;
    }
    const done = values.cancel ? 'cancelled' : values.pause ? 'paused' : 'resumed';
    return values.json ? json({ operation, [done]: true }) : `reissue ${operation} ${done}`;
  }
  const input: ReissueInput = {
    ...selection,
    ratePerHour: ratePerHour(values.rate ?? '60/h'),
    requestedBy: operator(),
    ...(values.revokeReplacedAfter !== undefined
      ? { revokeReplacedAfterMs: duration(values.revokeReplacedAfter) }
      : {}),
  };
  let started = true;
  try {
    await client.workflow.start<typeof reissue>('reissue', {
      workflowId: operation,
      taskQueue: TASK_QUEUE,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    started = false;
  }
  const description = await handle.describe();
  const progress =
    description.status.name === 'RUNNING' ? await handle.query(reissueProgressQuery) : await handle.result();
  if (values.json) return json({ operation, started, status: description.status.name, ...progress });
  if (started) {
    // The operation counts its selection in its first step; the same count, said at once.
    const { count } = await client.workflow.count(reissueQuery(selection));
    return [
      `reissue ${operation} started: ${count} certificates selected (--dry-run lists them), ` +
        `${input.ratePerHour} an hour; run the command again to see where it stands`,
      ...unknownIssuerNote(await withoutIssuer(client, selection)),
    ].join('\n');
  }
  const head = `reissue ${operation} exists (${description.status.name.toLowerCase()}): the same selection is the same operation`;
  return [head, formatProgress(progress)].join('\n');
}

/** The certificates a reissue would renew, as visibility finds them now. */
async function listSelection(client: Client, selection: ReissueSelection, asJson?: boolean): Promise<string> {
  const found: Array<{ issueKey: string; certificateId?: string; status?: string }> = [];
  for await (const run of client.workflow.list({ query: reissueQuery(selection) })) {
    const sa = run.typedSearchAttributes;
    found.push({
      issueKey: sa.get(searchAttributes.issueKey) ?? run.workflowId,
      certificateId: sa.get(searchAttributes.certificateId),
      status: sa.get(searchAttributes.status),
    });
  }
  const unknownIssuer = await withoutIssuer(client, selection);
  if (asJson) {
    return json({
      operation: reissueWorkflowId(selection),
      selected: found.length,
      certificates: found,
      ...(selection.issuer ? { withoutIssuer: unknownIssuer } : {}),
    });
  }
  const rows = found.map((c) => `${c.issueKey}  ${c.certificateId ?? '-'}  ${c.status ?? '-'}`);
  const before = selection.issuedBefore === undefined ? '' : ' (those obtained before the instant given)';
  return [
    `${found.length} certificates selected${before}; none renewed (dry run)`,
    ...rows,
    ...unknownIssuerNote(unknownIssuer),
  ].join('\n');
}

/**
 * With `--issuer-fingerprint`: how many of the profile's certificates record no issuer — obtained before
 * the connector recorded issuers, until their next renewal — and so cannot be selected by it.
 */
async function withoutIssuer(client: Client, selection: ReissueSelection): Promise<number> {
  if (!selection.issuer) return 0;
  const query = `${reissueQuery({ profileId: selection.profileId })} AND ${searchAttributes.issuer.name} IS NULL`;
  return (await client.workflow.count(query)).count;
}

const unknownIssuerNote = (count: number): string[] =>
  count === 0
    ? []
    : [
        `not selected: ${count} of the profile's certificates with no issuer recorded (obtained before the ` +
          'connector recorded issuers); select them with --profile and --issued-before',
      ];

function formatProgress(p: ReissueProgress & { cancelled?: boolean }): string {
  const lines = [
    `selected ${p.selected} · asked ${p.asked} · renewed ${p.renewed} · failed ${p.failed} · skipped ${p.skipped} · revoked ${p.revoked}` +
      (p.paused ? ' · paused' : '') +
      (p.cancelled ? ' · cancelled' : ''),
  ];
  if (p.waiting.length > 0) lines.push(`waiting for ${p.waiting.length} renewals to end`);
  for (const f of p.failures) lines.push(`failed  ${f.issueKey}: ${f.reason}`);
  for (const s of p.skips) lines.push(`skipped ${s.issueKey}: ${s.reason}`);
  return lines.join('\n');
}

/** `--rate`: certificates an hour, written `n/h`, `n/min` or `n`. */
function ratePerHour(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(?:\/\s*(h|hour|min|minute))?$/.exec(text.trim());
  const per = match ? Number(match[1]) * (match[2]?.startsWith('min') ? 60 : 1) : NaN;
  if (!(per > 0) || per > 3_600_000) throw new UsageError(`--rate ${text} is not a rate such as 600/h or 10/min`);
  return per;
}

/** `--revoke-replaced-after`: a duration such as 24h, 30m, 2d or 90s. */
function duration(text: string): number {
  const match = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (!match) throw new UsageError(`--revoke-replaced-after ${text} is not a duration such as 24h, 30m or 2d`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** Who an operation from the CLI is asked for by. */
const operator = () => `cli:${process.env.USER ?? 'operator'}`;

/**
 * Starts a certificate workflow for a CSR file, with no Jira issue (the workflow talks to SCM only), and
 * waits a minute at most for it to be issued or refused. It is named CLI-<n>: one more than the CLI
 * certificates visibility knows of, and the next number when that one is taken (visibility lags, and two
 * operators may enroll at once; a workflow id is never reused).
 */
async function enrollWithoutIssue({ client, values, profiles }: Invocation): Promise<string> {
  const file = values.csr ?? '';
  const given = values.profile ?? '';
  let csr: string;
  try {
    csr = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const profileName = profiles.find(given)?.name ?? given;
  const query = `WorkflowType = 'certificateLifecycle' AND ExecutionStatus != 'ContinuedAsNew' AND WorkflowId STARTS_WITH 'certificate:${STANDALONE_PROJECT}-'`;
  const { count } = await client.workflow.count(query);
  let handle;
  let issueKey = '';
  for (let n = count + 1; !handle; n++) {
    issueKey = `${STANDALONE_PROJECT}-${n}`;
    try {
      handle = await client.workflow.start<typeof certificateLifecycle>('certificateLifecycle', {
        workflowId: certificateWorkflowId(issueKey),
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        taskQueue: TASK_QUEUE,
        args: [{ issueKey, requestedBy: operator(), triggerId: `cli:${issueKey}`, standalone: { csr, profileName } }],
        typedSearchAttributes: [
          { key: searchAttributes.issueKey, value: issueKey },
          { key: searchAttributes.status, value: 'Validating' },
        ],
        staticSummary: `Certificate ${issueKey}, enrolled from the CLI`,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError) || n > count + 100) throw err;
    }
  }
  for (let waited = 0; waited < 60_000; waited += 500) {
    const status = await handle.query(statusQuery).catch(() => undefined);
    if (status?.phase === 'Rejected') throw new Refused(`${issueKey}: not enrolled: ${status.lastError ?? ''}`);
    if (status && isLive(status.phase)) return values.json ? json(status) : formatStatus(status);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (values.json) return json({ issueKey, phase: 'Enrolling' });
  return `${issueKey}: still being enrolled; follow it with \`status ${issueKey}\``;
}

/** Revokes a certificate by its SCM id through revokeExternalCertificate, and says how it went. */
async function revokeById({ client, values, profiles }: Invocation): Promise<string> {
  // Decimal digits only: Number() also reads 0x443 (1091) and 1e3, and a revocation is irreversible.
  const text = values.certificateId ?? '';
  const certificateId = /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(certificateId)) {
    throw new UsageError(`--certificate-id takes the certificate's SCM id in decimal digits, not "${text}"`);
  }
  if (!values.profile) throw new UsageError('revoke --certificate-id needs --profile, the profile (id or name)');
  const profileName = profiles.find(values.profile)?.name ?? values.profile;
  const reasonCode = reasonFromCli(values.reason);
  const result = await client.workflow.execute<typeof revokeExternalCertificate>('revokeExternalCertificate', {
    workflowId: `revoke:certificate-${certificateId}`,
    taskQueue: TASK_QUEUE,
    args: [{ certificateId, profileName, reasonCode, requestedBy: operator() }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  if (result.outcome === 'not-revoked') throw new Refused(result.message);
  if (values.json) return json({ certificateId, ...result });
  return `${result.outcome}: ${result.message}`;
}

/** The current certificate of an issue, from SCM: to a file, or printed. */
async function downloadCertificate(invocation: Invocation): Promise<string> {
  const { client, issueKey, values } = invocation;
  const status = await statusOf(invocation);
  if (status.certificateId === undefined) throw new Refused(`${issueKey}: no certificate issued yet (${status.phase})`);
  let issued;
  try {
    issued = await client.workflow.execute<typeof certificateDownload>('certificateDownload', {
      workflowId: `download:${status.certificateId}:${randomUUID()}`,
      taskQueue: TASK_QUEUE,
      // From the SCM account that issued it.
      args: status.account ? [status.certificateId, status.account] : [status.certificateId],
      staticSummary: `Certificate ${status.certificateId} of ${issueKey ?? ''}, downloaded from the CLI`,
    });
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new Refused(`${issueKey}: ${reasonOfFailure(err)}`);
    throw err;
  }
  const pem = values.leaf
    ? `${/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(issued.pem)?.[0] ?? ''}\n`
    : issued.pem;
  const facts = {
    issueKey,
    certificateId: issued.certificateId,
    serialNumber: issued.serialNumber,
    notAfter: iso(issued.notAfter),
  };
  if (values.out) {
    writeFileSync(values.out, pem);
    return values.json
      ? json({ ...facts, file: values.out })
      : `${issueKey}: certificate ${issued.certificateId} written to ${values.out}`;
  }
  return values.json ? json({ ...facts, pem }) : pem.trimEnd();
}

/** The innermost message of a failed workflow: the activity's own reason. */
function reasonOfFailure(err: Error): string {
  let inner = err;
  while (inner.cause instanceof Error) inner = inner.cause;
  return inner.message;
}

/** `jira-check`: the setup check against the configured Jira; a report with problems is a refusal (exit 1). */
async function jiraCheck({ values }: Omit<Invocation, 'client'>): Promise<string> {
  const { text, ok } = await runJiraCheck(values);
  if (!ok) throw new Refused('jira-check found problems (above)', text);
  return text;
}

/** The revocation reasons as the CLI spells them. */
const reasonChoices = () => Object.keys(REVOCATION_REASONS).map((name) => name.toLowerCase().replace(/ /g, '-'));

/** `key-compromise` or `Key compromise` (or the RFC 5280 code) to the code SCM takes. */
function reasonFromCli(given: string | undefined): RevocationReasonCode {
  const choices = reasonChoices();
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
    ['SCM account', s.account],
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

/** The setup check against the configured Jira: its report, and whether it passed. */
export async function runJiraCheck(
  values: { fix?: boolean; receiverUrl?: string },
  env = process.env,
): Promise<{ text: string; ok: boolean }> {
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
    fix: values.fix ?? false,
    ...(config.receiver.revokers.group ? { revokersGroup: config.receiver.revokers.group } : {}),
    ...(values.receiverUrl ? { receiverUrl: values.receiverUrl } : {}),
    ...(config.jira.deployment ? { deployment: config.jira.deployment } : {}),
  });
  const { text, problems } = formatReport(items, config.jira.baseUrl);
  return { text, ok: problems === 0 };
}

/** Connects to Temporal as configured; a setting that cannot be used is a usage error, no answer exit 3. */
async function connect(closers: Array<() => Promise<void>>): Promise<Client> {
  const problems = applySecretFiles(process.env);
  if (problems.length > 0) throw new UsageError(problems.join('; '));
  let target;
  try {
    target = temporalTarget(process.env, '127.0.0.1:7233');
  } catch (err) {
    throw err instanceof TemporalSettingsError ? new UsageError(err.message) : err;
  }
  const connected = await connectTemporal(target).catch((err: unknown) => {
    throw new Unreachable((err as Error).message);
  });
  closers.push(() => connected.close());
  return connected.client;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const closers: Array<() => Promise<void>> = [];
  runCli(process.argv.slice(2), () => connect(closers))
    .then(
      (text) => console.log(text),
      (err: unknown) => {
        if (err instanceof Refused && err.output) console.log(err.output);
        const known = err instanceof UsageError || err instanceof Refused || err instanceof Unreachable;
        console.error(known ? err.message : err);
        process.exitCode = exitCodeOf(err);
      },
    )
    .finally(() => Promise.all(closers.map((close) => close())));
}
