/**
 * Seeded fault schedules: a reproducible random run of what people do in Jira and of what goes wrong
 * around the connector, then the invariants checked against the external systems' own records (SCM's
 * orders, Jira's issues, comments and attachments), never against what the workflows say of themselves.
 *
 * A schedule is a list of steps drawn from the seed; the same seed draws the same steps. What the steps
 * do meets a real dev server, the emulators over loopback and the real worker; time is real, so the
 * faults are short and the lifetimes long (no renewal falls due by itself).
 */
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { certificateWorkflowId, statusQuery, type CertificateStatus } from '../../src/contract.ts';
import { adfToText } from '../../src/jira/adf.ts';
import { runCli } from '../../src/client/cli.ts';
import { opensslCsr, startWorld, type World } from '../helpers/environment.ts';

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

export type Step =
  | { kind: 'request'; profile: 'OV Server Certificate' | 'Manual Server Certificate' }
  | { kind: 'enroll-again'; issue: number }
  | { kind: 'renew'; issue: number }
  | { kind: 'revoke'; issue: number }
  | { kind: 'cli-revoke'; issue: number }
  | { kind: 'scm-errors' }
  | { kind: 'scm-lost-answer' }
  | { kind: 'scm-late-order' }
  | { kind: 'jira-rate-limit' }
  | { kind: 'jira-comment-outage' }
  | { kind: 'duplicate-deliveries' }
  | { kind: 'restart-worker' };

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
      out.push({ kind: 'request', profile: pick(['OV Server Certificate', 'Manual Server Certificate'] as const) });
      requests++;
    } else if (roll < 0.6) {
      out.push({ kind: pick(['enroll-again', 'renew', 'revoke', 'cli-revoke'] as const), issue });
    } else {
      out.push(
        pick([
          { kind: 'scm-errors' },
          { kind: 'scm-lost-answer' },
          { kind: 'scm-late-order' },
          { kind: 'jira-rate-limit' },
          { kind: 'jira-comment-outage' },
          { kind: 'duplicate-deliveries' },
          { kind: 'restart-worker' },
        ] as const),
      );
    }
  }
  return out;
}

export interface Outcome {
  seed: number;
  steps: Step[];
  violations: string[];
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one seed's schedule against a world of its own, then checks the invariants. */
export async function runSchedule(seed: number, steps: number): Promise<Outcome> {
  const plan = schedule(seed, steps);
  const world = await startWorld({ scm: { issuanceDelayMs: 300 } });
  try {
    const violations = await drive(world, seed, plan);
    return { seed, steps: plan, violations };
  } finally {
    await world.teardown();
  }
}

async function drive(world: World, seed: number, plan: Step[]): Promise<string[]> {
  const { scmEmulator: scm, jiraEmulator: jira } = world.sandbox;
  const alice = world.alice;
  const issues: string[] = [];
  const key = (index: number) => issues[index % Math.max(1, issues.length)] ?? '';
  const quietly = (work: Promise<unknown>) => work.catch(() => undefined);
  const workflow = (issueKey: string) => world.env.client.workflow.getHandle(certificateWorkflowId(issueKey));

  for (const [index, step] of plan.entries()) {
    const domain = `chaos-${seed}-${index}.example.com`;
    switch (step.kind) {
      case 'request': {
        const issueKey = await alice.createCertificateIssue({
          profile: step.profile,
          csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
        });
        issues.push(issueKey);
        await quietly(alice.transition(issueKey, 'Enroll Certificate'));
        break;
      }
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
      case 'duplicate-deliveries':
        jira.faults.deliveryCopies = 2;
        break;
      case 'restart-worker':
        await world.stopWorker();
        await world.startWorker();
        break;
    }
    await pause(250);
    // Faults last one step: each clears before the next.
    Object.assign(scm.faults, { serverErrorRate: 0, lateOrders: 0, lateProcessingMs: 0 });
    Object.assign(jira.faults, { rateLimitRate: 0, commentOutage: false, deliveryCopies: 1 });
  }
  await jira.settled();
  await settle(world, issues.map(workflow));
  return invariants(world, issues);
}

/** Waits until no certificate workflow is busy: each idle, ended, or given up after a minute. */
async function settle(world: World, handles: Array<ReturnType<World['env']['client']['workflow']['getHandle']>>) {
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
  for (const handle of handles) {
    for (;;) {
      const description = await handle.describe().catch(() => undefined);
      const running = description?.status.name === 'RUNNING';
      const status = running ? await handle.query<CertificateStatus>(statusQuery).catch(() => undefined) : undefined;
      if (!running || (status && !busy.has(status.phase)) || Date.now() > deadline) break;
      await pause(200);
    }
  }
  await world.sandbox.jiraEmulator.settled();
}

/** The connector's comments on an issue, with the event id each carries, as Jira holds them. */
async function connectorComments(world: World, issueKey: string): Promise<Array<{ eventId?: string; text: string }>> {
  const { connector } = SANDBOX_USERS;
  const res = await fetch(
    `${world.sandbox.jiraEmulator.url}/rest/api/3/issue/${issueKey}/comment?expand=properties&maxResults=5000`,
    {
      headers: {
        authorization: `Basic ${Buffer.from(`${connector.emailAddress}:${connector.apiToken}`).toString('base64')}`,
      },
    },
  );
  const page = (await res.json()) as {
    comments?: Array<{ author?: { accountId?: string }; body: unknown; properties?: Array<{ value?: unknown }> }>;
  };
  return (page.comments ?? [])
    .filter((c) => c.author?.accountId === connector.accountId)
    .map((c) => {
      const eventId = (c.properties?.[0]?.value as { eventId?: unknown } | undefined)?.eventId;
      return { text: adfToText(c.body), ...(typeof eventId === 'string' ? { eventId } : {}) };
    });
}

/** The invariants, from SCM's orders and Jira's issues and comments. Each violation is a sentence. */
async function invariants(world: World, issues: string[]): Promise<string[]> {
  const { scmEmulator: scm, jiraEmulator: jira } = world.sandbox;
  const violations: string[] = [];
  const orders = scm.orders() as Array<{ id: number; status: string; comments?: string; renewed?: boolean }>;

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
    const said = await connectorComments(world, issueKey);
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
    const phase = run ? await workflowPhase(world, issueKey) : undefined;
    // An accepted revocation is carried out: a certificate workflow that ended revoked leaves nothing
    // of its issue issued in SCM, and the issue says so.
    if (phase === 'Revoked') {
      const live = mine.filter((o) => o.status === 'Issued');
      if (live.length > 0)
        violations.push(`${issueKey}: revoked, yet order(s) ${live.map((o) => o.id).join(', ')} issued`);
      if (!said.some((c) => /revoked/i.test(c.text))) violations.push(`${issueKey}: revoked without a word`);
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
      violations.push(`${issueKey}: in "Certificate Enrolled" with nothing issued, no workflow and no comment`);
    }
  }
  return violations;
}

/** The phase a certificate workflow ended or stands in: its result, or its status query while running. */
async function workflowPhase(world: World, issueKey: string): Promise<string | undefined> {
  const handle = world.env.client.workflow.getHandle(certificateWorkflowId(issueKey));
  const description = await handle.describe();
  if (description.status.name === 'RUNNING') {
    return (await handle.query<CertificateStatus>(statusQuery).catch(() => undefined))?.phase;
  }
  if (description.status.name !== 'COMPLETED') return undefined;
  return ((await handle.result()) as CertificateStatus | undefined)?.phase;
}

/** A step as a schedule prints it. */
export const describeStep = (step: Step) => ('issue' in step ? `${step.kind} #${step.issue}` : step.kind);
