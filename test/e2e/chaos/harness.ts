/**
 * Seeded fault schedules: a reproducible random run of what people do in Jira and of what goes wrong
 * around the connector, then the invariants checked against the external systems' own records (SCM's
 * orders, Jira's issues, comments and attachments), never against what the workflows say of themselves.
 *
 * A schedule is a list of steps drawn from the seed; the same seed draws the same steps. What the steps
 * do meets a real dev server, the emulators over loopback and the real worker. Time is real, so the faults
 * are short, and the months a certificate lives are compressed instead of skipped: "Short-lived Server
 * Certificate" orders live for CERTIFICATE_LIFETIME_MS, and their automatic renewals fall due during the
 * schedule and the lifetime that passes after its last step, racing whatever else is in flight. (A dev server that can crash cannot skip time; the renewal
 * policy itself runs under time skipping in test/workflows/renewal-a-year-ahead.test.ts.)
 */
import { SANDBOX_USERS } from '../../../src/sandbox/jira-emulator.ts';
import { DEFAULT_CERT_TYPES } from '../../../src/sandbox/scm-emulator.ts';
import { Profiles } from '../../../src/profiles.ts';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  certificateWorkflowId,
  reevaluateSignal,
  statusQuery,
  type CertificateStatus,
} from '../../../src/contract/certificate.ts';
import { revokeWorkflowId } from '../../../src/contract/revoke-external.ts';
import { TASK_QUEUE } from '../../../src/contract/shared.ts';
import { runCli } from '../../../src/client/cli.ts';
import { ensureJiraPolling } from '../../../src/schedule.ts';
import type { SweepTotals } from '../../../src/contract/sweep.ts';
import { opensslCsr, spawnWorker, startWorld, type World } from '../../helpers/environment.ts';

/** Mulberry32: small, fast and the same everywhere. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How long a "Short-lived Server Certificate" lives here: its automatic renewal falls due at half of it. */
export const CERTIFICATE_LIFETIME_MS = 6_000;

const PROFILES = ['OV Server Certificate', 'Manual Server Certificate', 'Short-lived Server Certificate'] as const;

export type Step =
  | { kind: 'request'; profile: (typeof PROFILES)[number] }
  | { kind: 'enroll-again'; issue: number }
  | { kind: 'renew'; issue: number }
  | { kind: 'revoke'; issue: number }
  | { kind: 'cli-revoke'; issue: number }
  | { kind: 'revoke-issue'; issue: number }
  | { kind: 'edit-csr'; issue: number }
  | { kind: 'edit-profile'; issue: number }
  | { kind: 'scm-errors' }
  | { kind: 'scm-lost-answer' }
  | { kind: 'scm-late-order' }
  | { kind: 'jira-rate-limit' }
  | { kind: 'jira-comment-outage' }
  | { kind: 'jira-errors' }
  | { kind: 'duplicate-deliveries' }
  | { kind: 'late-deliveries' }
  | { kind: 'restart-worker' }
  | { kind: 'kill-worker' }
  | { kind: 'crash-temporal' };

/** The schedule a seed draws: `steps` steps, the first always a request (something to act on). */
export function schedule(seed: number, steps: number): Step[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const out: Step[] = [];
  let requests = 0;
  for (let i = 0; i < steps; i++) {
    const roll = i === 0 ? 0 : next();
    const issue = Math.floor(next() * Math.max(1, requests));
    if (roll < 0.3 || requests === 0) {
      out.push({ kind: 'request', profile: pick(PROFILES) });
      requests++;
    } else if (roll < 0.6) {
      out.push({
        kind: pick([
          'enroll-again',
          'renew',
          'revoke',
          'cli-revoke',
          'revoke-issue',
          'edit-csr',
          'edit-profile',
        ] as const),
        issue,
      });
    } else {
      out.push(
        pick([
          { kind: 'scm-errors' },
          { kind: 'scm-lost-answer' },
          { kind: 'scm-late-order' },
          { kind: 'jira-rate-limit' },
          { kind: 'jira-comment-outage' },
          { kind: 'jira-errors' },
          { kind: 'duplicate-deliveries' },
          { kind: 'late-deliveries' },
          { kind: 'restart-worker' },
          { kind: 'kill-worker' },
          { kind: 'crash-temporal' },
        ] as const),
      );
    }
  }
  return out;
}

/** How Jira's changes reach the connector under a seed: every fourth seed polls Jira instead of webhooks. */
export const triggerOf = (seed: number): 'webhook' | 'polling' => (seed % 4 === 0 ? 'polling' : 'webhook');

export interface Outcome {
  seed: number;
  steps: Step[];
  violations: string[];
  /** Renewals that fell due by themselves during the schedule (short-lived certificates). */
  automaticRenewals: number;
}

/** With CHAOS_TRACE set, what the harness is doing, on stderr: where a schedule hangs. */
const trace = (what: string) => {
  if (process.env.CHAOS_TRACE) console.error(`${new Date().toISOString()} chaos: ${what}`);
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one seed's schedule against a world of its own, then checks the invariants. */
export async function runSchedule(seed: number, steps: number): Promise<Outcome> {
  const plan = schedule(seed, steps);
  // Jira retries a delivery that failed for about a quarter of a minute here (the real one longer): long
  // enough to outlast a dev server that crashed and is starting again.
  const world = await startWorld({
    scm: {
      issuanceDelayMs: 300,
      // The short-lived profile's type: one "day" of term is the whole lifetime.
      certTypes: DEFAULT_CERT_TYPES.map((t) => (t.id === 1002 ? { ...t, termUnitMs: CERTIFICATE_LIFETIME_MS } : t)),
    },
    jira: { retryDelaysMs: [500, 1000, 2000, 4000, 8000] },
    crashableTemporal: true,
    trigger: triggerOf(seed),
  });
  if (triggerOf(seed) === 'polling') await ensureJiraPolling(world.env.client, 200);
  try {
    return { seed, steps: plan, ...(await drive(world, seed, plan)) };
  } finally {
    await world.teardown();
  }
}

async function drive(
  world: World,
  seed: number,
  plan: Step[],
): Promise<Pick<Outcome, 'violations' | 'automaticRenewals'>> {
  const { scmEmulator: scm, jiraEmulator: jira } = world.sandbox;
  const alice = world.alice;
  const issues: string[] = [];
  const domains: string[] = [];
  const revokeIssues: string[] = [];
  const key = (index: number) => issues[index % Math.max(1, issues.length)] ?? '';
  const domainOf = (index: number) => domains[index % Math.max(1, domains.length)] ?? '';
  // A worker process of its own, killed with SIGKILL at the end of the step after the one that started it.
  let doomed: ChildProcess | undefined;
  let killAfter = -1;
  const quietly = (work: Promise<unknown>) => work.catch(() => undefined);
  const workflow = (issueKey: string) => world.env.client.workflow.getHandle(certificateWorkflowId(issueKey));
  const revocation = (issueKey: string) => world.env.client.workflow.getHandle(revokeWorkflowId(issueKey));

  for (const [index, step] of plan.entries()) {
    const domain = `chaos-${seed}-${index}.example.com`;
    trace(`step ${index}: ${describeStep(step)}`);
    switch (step.kind) {
      case 'request': {
        const issueKey = await alice.createCertificateIssue({
          profile: step.profile,
          csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
        });
        issues.push(issueKey);
        domains.push(domain);
        await quietly(alice.transition(issueKey, 'Enroll Certificate'));
        break;
      }
      case 'revoke-issue':
        // "Revoke Certificate" issues name a certificate by domain, as one not enrolled through Jira would be.
        revokeIssues.push(
          await alice.createRevokeIssue({
            profile: 'OV Server Certificate',
            domain: domainOf(step.issue),
            reason: 'Superseded',
          }),
        );
        break;
      case 'edit-csr':
        // A new key for the same name, pasted whatever the issue's state.
        await quietly(alice.setCsr(key(step.issue), opensslCsr(`/CN=${domainOf(step.issue)}`, 'ec-p256')));
        break;
      case 'edit-profile':
        await quietly(alice.setProfile(key(step.issue), 'Manual Server Certificate'));
        break;
      case 'enroll-again':
        // Return to Request and Enroll again at once: a person changing their mind, quickly.
        if (await quietly(alice.transition(key(step.issue), 'Return to Request')).then(() => true)) {
          await quietly(alice.transition(key(step.issue), 'Enroll Certificate'));
        }
        break;
      case 'renew':
        await quietly(alice.transition(key(step.issue), 'Renew Certificate'));
        break;
      case 'revoke':
        await quietly(alice.revoke(key(step.issue), 'Superseded'));
        break;
      case 'cli-revoke':
        await quietly(runCli(['revoke', key(step.issue), '--reason', 'superseded'], world.env.client));
        break;
      case 'scm-errors':
        scm.faults.serverErrorRate = 0.3;
        break;
      case 'scm-lost-answer':
        scm.faults.dropResponses = 1;
        break;
      case 'scm-late-order':
        Object.assign(scm.faults, { lateOrders: 1, lateProcessingMs: 1500 });
        break;
      case 'jira-rate-limit':
        jira.faults.rateLimitRate = 0.3;
        break;
      case 'jira-comment-outage':
        jira.faults.commentOutage = true;
        break;
      case 'jira-errors':
        jira.faults.serverErrorRate = 0.3;
        break;
      case 'duplicate-deliveries':
        jira.faults.deliveryCopies = 2;
        break;
      case 'late-deliveries':
        // Held back up to two seconds each: the deliveries of this step and the next arrive out of order.
        jira.faults.deliveryDelayMs = 2000;
        break;
      case 'restart-worker':
        // While a worker process stands in for it, the in-process worker is not running: nothing to restart.
        if (doomed) break;
        await world.stopWorker();
        await world.startWorker();
        break;
      case 'crash-temporal':
        // kill -9 of the Temporal server, then the same server on the same data: every client reconnects.
        await world.crashTemporal();
        trace('dev server crashed and started again');
        break;
      case 'kill-worker':
        if (doomed) break;
        await world.stopWorker();
        trace('in-process worker stopped; starting a worker process');
        doomed = await workerProcess(world, seed);
        trace(`worker process ${doomed.pid ?? '?'} polling`);
        killAfter = index + 1;
        break;
    }
    await pause(250);
    if (doomed && index >= killAfter) doomed = await kill(world, doomed);
    // Faults last one step: each clears before the next.
    Object.assign(scm.faults, { serverErrorRate: 0, lateOrders: 0, lateProcessingMs: 0 });
    Object.assign(jira.faults, {
      rateLimitRate: 0,
      serverErrorRate: 0,
      commentOutage: false,
      deliveryCopies: 1,
      deliveryDelayMs: 0,
    });
  }
  if (doomed) await kill(world, doomed);
  // A lifetime passes before the clock stops: each short-lived certificate still live falls due once more,
  // among the deliveries, retries and recoveries the schedule left in flight.
  await pause(CERTIFICATE_LIFETIME_MS);
  trace('schedule done; stopping the renewals, then settling');
  await stopRenewals(world, issues.map(workflow));
  await jira.settled();
  await settle(
    world,
    issues.map((issueKey) => [issueKey, workflow(issueKey)]),
    revokeIssues.map(revocation),
  );
  return invariants(world, issues, revokeIssues);
}

/**
 * `node src/worker.ts` against the world's dev server and emulators, with the seed's trigger (a worker
 * started for webhooks would stop the polling); resolves once it polls.
 */
async function workerProcess(world: World, seed: number): Promise<ChildProcess> {
  const polling = { JIRA_TRIGGER: 'polling', JIRA_POLL_INTERVAL_SECONDS: '1' };
  const child = spawnWorker(world, { stdout: 'pipe', env: triggerOf(seed) === 'polling' ? polling : {} });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 120_000;
  while (!output.includes('"worker polling"') && child.exitCode === null && Date.now() < deadline) await pause(100);
  child.stdout?.removeAllListeners('data').resume();
  return child;
}

/** Kills the worker process with SIGKILL and starts the in-process worker in its place. */
async function kill(world: World, child: ChildProcess): Promise<undefined> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
  trace('worker process killed; starting the in-process worker');
  await world.startWorker();
  return undefined;
}

type Handle = ReturnType<World['env']['client']['workflow']['getHandle']>;

/**
 * The end of the schedule stops the clock: automatic renewal off for every profile, and each running
 * certificate workflow told to plan again, so the checks read a fleet at rest rather than one renewing.
 */
async function stopRenewals(world: World, handles: Handle[]) {
  const { profiles } = world.sandbox;
  profiles.replace(new Profiles(profiles.all.map((p) => ({ ...p, autoRenew: false }))));
  for (const handle of handles) await handle.signal(reevaluateSignal).catch(() => undefined);
}

/** The issue's status, as Jira holds it. */
const statusName = (world: World, issueKey: string) =>
  (world.sandbox.jiraEmulator.issue(issueKey) as { fields: { status: { name: string } } }).fields.status.name;

/**
 * Waits until no workflow is busy: each certificate workflow idle or ended, each revocation workflow
 * ended or waiting for its issue to change with nothing in flight; given up on after three minutes.
 */
async function settle(world: World, handles: Array<[string, Handle]>, revocations: Handle[]) {
  const deadline = Date.now() + 180_000; // retries back off: generous on a busy machine
  // A running workflow that shows Revoked is still saying so on the issue: it ends once it has.
  const busy = new Set([
    'Validating',
    'Enrolling',
    'AwaitingIssuance',
    'Publishing',
    'Renewing',
    'Revoking',
    'Revoked',
  ]);
  for (const [issueKey, handle] of handles) {
    for (;;) {
      const description = await handle.describe().catch(() => undefined);
      // No workflow yet for an issue moved on from "Certificate Request": its change is still on the way
      // (a delivery retried, the next poll).
      const unseen = !description && statusName(world, issueKey) !== 'Certificate Request';
      if (unseen && Date.now() < deadline) {
        await pause(200);
        continue;
      }
      const running = description?.status.name === 'RUNNING';
      const status = running ? await handle.query<CertificateStatus>(statusQuery).catch(() => undefined) : undefined;
      if (!running || (status && !busy.has(status.phase)) || Date.now() > deadline) break;
      await pause(200);
    }
  }
  // Ended, or waiting for its issue to change with nothing in flight (it has said what it found) now and
  // a moment later: not between two activities.
  const idle = async (handle: Handle) => {
    const description = await handle.describe().catch(() => undefined);
    // No workflow yet: the issue's creation is still on the way.
    if (!description) return false;
    return (
      description.status.name !== 'RUNNING' ||
      ((description.raw.pendingActivities ?? []).length === 0 && !description.raw.pendingWorkflowTask)
    );
  };
  for (const handle of revocations) {
    while (Date.now() < deadline) {
      if (await idle(handle)) {
        await pause(500);
        if (await idle(handle)) break;
      }
      await pause(200);
    }
  }
  await world.sandbox.jiraEmulator.settled();
}

/** The connector's comments on an issue, with the event id each carries, as Jira holds them. */
function connectorComments(world: World, issueKey: string): Array<{ eventId?: string; text: string }> {
  return world.sandbox.jiraEmulator.commentEvents(issueKey, SANDBOX_USERS.connector);
}

/** The invariants, from SCM's orders and Jira's issues and comments. Each violation is a sentence. */
async function invariants(
  world: World,
  issues: string[],
  revokeIssues: string[],
): Promise<Pick<Outcome, 'violations' | 'automaticRenewals'>> {
  const { scmEmulator: scm, jiraEmulator: jira } = world.sandbox;
  const violations: string[] = [];
  const orders = scm.orders() as Array<{
    id: number;
    status: string;
    comments?: string;
    renewed?: boolean;
    expires?: string;
  }>;

  // Every certificate the connector ordered that SCM shows issued is one a workflow holds, or one the
  // sweep reports as nobody's: none is left valid and forgotten.
  const sweep = (await world.env.client.workflow.execute('renewalSweep', {
    taskQueue: TASK_QUEUE,
    workflowId: `chaos-sweep-${Date.now()}`,
    args: [{}],
  })) as SweepTotals;
  const reported = new Set((sweep.unownedOrders ?? []).map((o) => o.certificateId));
  const statuses = new Map<string, CertificateStatus | undefined>();
  for (const issueKey of issues) statuses.set(issueKey, await currentStatus(world, issueKey));
  const held = new Set<number>();
  for (const status of statuses.values()) {
    for (const entry of status?.history ?? []) held.add(entry.certificateId);
    if (status?.certificateId !== undefined) held.add(status.certificateId);
  }
  for (const order of orders) {
    if (order.status !== 'Issued' || !/\[certificate:/.test(order.comments ?? '')) continue;
    if (!held.has(order.id) && !reported.has(order.id)) {
      violations.push(`order ${order.id} issued, held by no workflow and not reported (${order.comments ?? ''})`);
    }
  }

  // Every "Revoke Certificate" issue is answered: revoked, or told why not.
  for (const issueKey of revokeIssues) {
    if (connectorComments(world, issueKey).length === 0) {
      violations.push(`${issueKey}: a "Revoke Certificate" issue with no answer`);
    }
  }

  // At most one order per request: a token names one request (enrollment or renewal) of one workflow. A
  // renewal's token is also written on the order it renews, before renewById: that one was not placed for it.
  const byToken = new Map<string, number[]>();
  for (const order of orders) {
    const token = /\[(certificate:[^\]\s]+)\]/.exec(order.comments ?? '')?.[1];
    if (!token || (token.endsWith('/renew') && order.renewed)) continue;
    byToken.set(token, [...(byToken.get(token) ?? []), order.id]);
  }
  for (const [token, ids] of byToken) {
    if (ids.length > 1) violations.push(`${ids.length} orders (${ids.join(', ')}) for one request, ${token}`);
  }

  for (const issueKey of issues) {
    const issue = jira.issue(issueKey) as {
      fields: { status: { name: string }; attachment: Array<{ filename: string }> };
    };
    const mine = orders.filter((o) => (o.comments ?? '').includes(`[certificate:${issueKey}/`));
    const said = connectorComments(world, issueKey);
    // One attachment per certificate.
    const files = issue.fields.attachment.map((a) => a.filename);
    if (new Set(files).size !== files.length) violations.push(`${issueKey}: an attachment twice (${files.join(', ')})`);
    // No comment twice for one event.
    const events = said.flatMap((c) => (c.eventId ? [c.eventId] : []));
    for (const id of new Set(events)) {
      const times = events.filter((e) => e === id).length;
      if (times > 1) violations.push(`${issueKey}: ${times} comments for one event, ${id}`);
    }
    const run = await world.env.client.workflow
      .getHandle(certificateWorkflowId(issueKey))
      .describe()
      .catch(() => undefined);
    const phase = statuses.get(issueKey)?.phase;
    // An accepted revocation is carried out: a certificate workflow that ended revoked leaves nothing
    // of its issue issued in SCM, and the issue says so.
    if (phase === 'Revoked') {
      // SCM's list moves an order to Expired when it is next read: one past its expiry is not live.
      const live = mine.filter(
        (o) => o.status === 'Issued' && !(typeof o.expires === 'string' && Date.parse(o.expires) <= Date.now()),
      );
      if (live.length > 0)
        violations.push(`${issueKey}: revoked, yet order(s) ${live.map((o) => o.id).join(', ')} issued`);
      // Revoked, none left valid to revoke, or withdrawn before anything was ordered: each is a word.
      if (!said.some((c) => /revoked|withdrawn/i.test(c.text))) violations.push(`${issueKey}: revoked without a word`);
    }
    // Every failure is told on the issue.
    if (run?.status.name === 'FAILED' && !said.some((c) => c.text.startsWith('The connector could not finish'))) {
      violations.push(`${issueKey}: its workflow failed and nothing says so on the issue`);
    }
    // No issue left where the user cannot act: "Certificate Enrolled" with nothing issued, nothing going on,
    // and no word.
    if (
      issue.fields.status.name === 'Certificate Enrolled' &&
      run?.status.name !== 'RUNNING' &&
      !mine.some((o) => o.status === 'Issued') &&
      said.length === 0
    ) {
      // What Jira's deliveries of the issue met, to tell a lost event from a workflow that ended silently.
      const deliveries = jira.deliveries
        .filter((d) => d.issueKey === issueKey)
        .map((d) => `${d.event} [${d.statuses.join(',')}]${d.delivered ? '' : ' undelivered'}`);
      violations.push(
        `${issueKey}: in "Certificate Enrolled" with nothing issued, no workflow and no comment ` +
          `(workflow ${run?.status.name ?? 'none'}; deliveries: ${deliveries.join('; ') || 'none'})`,
      );
    }
  }
  const automaticRenewals = [...statuses.values()]
    .flatMap((status) => status?.history ?? [])
    .filter((entry) => entry.reason === 'automatic').length;
  return { violations, automaticRenewals };
}

/** What a certificate workflow ended with or stands at: its result, or its status query while running. */
async function currentStatus(world: World, issueKey: string): Promise<CertificateStatus | undefined> {
  const handle = world.env.client.workflow.getHandle(certificateWorkflowId(issueKey));
  const description = await handle.describe().catch(() => undefined);
  if (description?.status.name === 'RUNNING') {
    return handle.query<CertificateStatus>(statusQuery).catch(() => undefined);
  }
  if (description?.status.name !== 'COMPLETED') return undefined;
  return (await handle.result()) as CertificateStatus | undefined;
}

/** A step as a schedule prints it. */
export const describeStep = (step: Step) => ('issue' in step ? `${step.kind} #${step.issue}` : step.kind);
