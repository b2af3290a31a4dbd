/**
 * Activities of the daily sweep and of revocations handed over: visibility queries over the certificate
 * workflows, and the signals and updates they send them. No workflow is loaded to find what needs attention.
 */
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import {
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure, type SignalDefinition } from '@temporalio/common';
import {
  certificateWorkflowId,
  reevaluateSignal,
  revokeUpdate,
  RUNNING_CERTIFICATES,
  runningWith,
  scmObservationSignal,
  type RevokeRequest,
  type ScmObservation,
} from '../contract/certificate.ts';
import {
  DEFAULT_ACCOUNT,
  ErrorType,
  isLive,
  keywordIsNot,
  literal,
  LIVE_PHASES,
  ORDERING_PHASES,
  phaseList,
  searchAttributes,
} from '../contract/shared.ts';
import { SWEEP_SCHEDULE_ID, type SweepInput, type TokenedOrder } from '../contract/sweep.ts';

export function createSweepActivities({ client }: { client: Client }) {
  return {
    revokeThroughLifecycle: (...args: Tail<Parameters<typeof revokeThroughLifecycle>>) =>
      revokeThroughLifecycle(client, ...args),
    unownedOrders: (...args: Tail<Parameters<typeof unownedOrders>>) => unownedOrders(client, ...args),
    saveSweepState: (...args: Tail<Parameters<typeof saveSweepState>>) => saveSweepState(client, ...args),
    reevaluateStale: (...args: Tail<Parameters<typeof reevaluateStale>>) => reevaluateStale(client, ...args),
    tellOwners: (...args: Tail<Parameters<typeof tellOwners>>) => tellOwners(client, ...args),
  };
}

/** The type of an application failure, else undefined. */
const typeOf = (failure: unknown): string | undefined =>
  failure instanceof ApplicationFailure ? (failure.type ?? undefined) : undefined;

/** A function's parameters after the first (the client the factory binds). */
type Tail<T extends unknown[]> = T extends [unknown, ...infer R] ? R : never;

/**
 * Revokes a certificate through the certificate workflow that manages it, if one does (so that it
 * stops renewing, and its own issue says so). Answers that workflow's id, or undefined.
 */
async function revokeThroughLifecycle(
  client: Client,
  certificateId: number,
  request: RevokeRequest,
  /** The SCM account the id is in (last, as attempts scheduled before accounts carry two arguments). */
  account?: string,
): Promise<string | undefined> {
  const [query] = runningWith([certificateId]) as [string]; // one id, one query
  // The update waits for a workflow task, which a stopping worker no longer takes: given up when this
  // attempt is cancelled (shutdown included), or the worker would wait on itself forever. The update
  // id makes the next attempt's update the same one.
  return client.withAbortSignal(cancellationSignal(), async () => {
    for await (const run of client.workflow.list({ query })) {
      try {
        await client.workflow.getHandle(run.workflowId).executeUpdate(revokeUpdate, {
          // Ids are an account's own: the workflow of another account's certificate of this id refuses it.
          args: [{ ...request, inAccount: account ?? DEFAULT_ACCOUNT }],
          ...(request.requestId ? { updateId: request.requestId } : {}),
        });
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError && typeOf(err.cause) === ErrorType.OtherAccount) continue;
        throw err;
      }
      return run.workflowId;
    }
    return undefined;
  });
}

/**
 * Of orders carrying the connector's token, those no certificate workflow owns: no run of any
 * workflow has it as its certificate, and the workflow named in the token is not ordering right now
 * (such orders are `pending`, to be checked again by the next sweep).
 */
async function unownedOrders(
  client: Client,
  orders: TokenedOrder[],
): Promise<{ unowned: TokenedOrder[]; pending: number[] }> {
  const unowned: TokenedOrder[] = [];
  const pending: number[] = [];
  for (const order of orders) {
    heartbeat();
    // Owned by a run of the workflow its token names that is live or ended as it should (renewed on, or
    // revoked). A failed run — its issue deleted while SCM issued, say — owns nothing: its certificate is
    // issued and untracked. Ids are an account's own, so a run of another workflow with this id is
    // another account's certificate, not this order's owner.
    const query =
      `WorkflowId = ${literal(certificateWorkflowId(order.issueKey))} AND ` +
      `${searchAttributes.certificateId.name} = '${order.certificateId}' AND ` +
      `ExecutionStatus IN ('Running', 'ContinuedAsNew', 'Completed')`;
    if ((await client.workflow.count(query)).count > 0) continue;
    const owner = await client.workflow
      .getHandle(certificateWorkflowId(order.issueKey))
      .describe()
      .catch(() => undefined);
    const phase = owner?.typedSearchAttributes.get(searchAttributes.status) ?? '';
    if (owner?.status.name === 'RUNNING' && (ORDERING_PHASES as readonly string[]).includes(phase))
      pending.push(order.certificateId);
    else unowned.push(order);
  }
  return { unowned, pending };
}

/**
 * Signals `reevaluate` to every certificate whose plan is stale, found through visibility alone (no
 * workflow is queried or loaded): renewal overdue, expired but not marked, planned on other profile
 * settings than the current ones, or — when `unindexed` — on none (a profile that was missing, or a plan
 * from before the fingerprint was indexed). Each query is one an index answers, but the last: at 100,000
 * certificates it walks them all, so the sweep asks it only when profiles changed or a week went by.
 * Answers how many it signalled.
 */
async function reevaluateStale(
  client: Client,
  {
    fingerprints,
    now,
    unindexed = true,
  }: {
    fingerprints: Record<string, string>;
    now: number;
    /** Also look for plans made without a fingerprint (absent: yes, as sweeps before this choice asked). */
    unindexed?: boolean;
  },
): Promise<number> {
  const at = `'${new Date(now).toISOString()}'`;
  const { status, renewAt, notAfter, profile, profileFingerprint } = {
    status: searchAttributes.status.name,
    renewAt: searchAttributes.renewAt.name,
    notAfter: searchAttributes.notAfter.name,
    profile: searchAttributes.profile.name,
    profileFingerprint: searchAttributes.profileFingerprint.name,
  };
  const live = `${status} IN (${phaseList(LIVE_PHASES)})`;
  const profiles = Object.keys(fingerprints);
  const queries = [
    `${status} = 'Active' AND ${renewAt} <= ${at}`,
    `${status} IN ('Active', 'RenewalDue') AND ${notAfter} <= ${at}`,
    ...Object.entries(fingerprints).flatMap(([id, fingerprint]) =>
      keywordIsNot(profileFingerprint, fingerprint).map(
        (otherFingerprint) => `${live} AND ${profile} = ${literal(id)} AND ${otherFingerprint}`,
      ),
    ),
    ...(unindexed && profiles.length > 0
      ? [`${live} AND ${profile} IN (${profiles.map(literal).join(', ')}) AND ${profileFingerprint} IS NULL`]
      : []),
  ];
  const signalled = new Set<string>();
  let batch: string[] = [];
  const flush = async () => {
    await signalEach(
      client,
      reevaluateSignal,
      batch.map((workflowId) => ({ workflowId, args: [] })),
    );
    batch = [];
  };
  for (const condition of queries) {
    for await (const run of client.workflow.list({
      query: `${RUNNING_CERTIFICATES} AND ${condition}`,
      pageSize: 1000,
    })) {
      if (signalled.has(run.workflowId)) continue;
      heartbeat();
      signalled.add(run.workflowId);
      batch.push(run.workflowId);
      if (batch.length >= 100) await flush();
    }
  }
  await flush();
  return signalled.size;
}

/**
 * Tells each certificate workflow what SCM shows changed about its current certificate: revoked,
 * replaced, or expired before its time. Finds the owners through visibility (`runningWith`); answers how
 * many it told.
 */
async function tellOwners(
  client: Client,
  { changes, now }: { changes: ScmObservation[]; now: number },
): Promise<number> {
  const byId = new Map(changes.map((c) => [String(c.certificateId), c]));
  let told = 0;
  for (const query of runningWith(changes.map((c) => c.certificateId))) {
    const owners: Array<{ workflowId: string; args: [ScmObservation] }> = [];
    for await (const run of client.workflow.list({ query })) {
      heartbeat();
      const attrs = run.typedSearchAttributes;
      const change = byId.get(attrs.get(searchAttributes.certificateId) ?? '');
      const phase = attrs.get(searchAttributes.status) ?? '';
      const notAfter = attrs.get(searchAttributes.notAfter)?.getTime();
      if (!change || !isLive(phase)) continue;
      if (change.status === 'Expired' && (notAfter === undefined || notAfter <= now)) continue; // on time
      owners.push({ workflowId: run.workflowId, args: [change] });
    }
    await signalEach(client, scmObservationSignal, owners);
    told += owners.length;
  }
  return told;
}

/** Signals in flight at once: enough to overlap their round trips, few enough to leave the server room. */
const SIGNALS_AT_ONCE = 8;

/**
 * Sends each workflow its signal, SIGNALS_AT_ONCE at a time; a workflow that has ended since it was
 * listed is passed over. Every send is settled before a failure is thrown.
 */
async function signalEach<Args extends unknown[]>(
  client: Client,
  signal: SignalDefinition<Args>,
  targets: Array<{ workflowId: string; args: Args }>,
): Promise<void> {
  let next = 0;
  const sender = async () => {
    for (let target = targets[next++]; target; target = targets[next++]) {
      heartbeat();
      await client.workflow
        .getHandle(target.workflowId)
        .signal(signal, ...target.args)
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err; // ended since it was listed
        });
    }
  };
  const sent = await Promise.allSettled(Array.from({ length: SIGNALS_AT_ONCE }, sender));
  const failed = sent.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

export type SweepActivities = ReturnType<typeof createSweepActivities>;

/** Stores where the next sweep takes up: merged into the sweep schedule's arguments, where it reads them. */
async function saveSweepState(client: Client, state: SweepInput): Promise<void> {
  try {
    await client.schedule.getHandle(SWEEP_SCHEDULE_ID).update((schedule) => {
      const action = schedule.action as typeof schedule.action & { args?: unknown[] };
      const [first] = (action.args ?? [{}]) as Array<Record<string, unknown>>;
      return { ...schedule, action: { ...action, args: [{ ...first, ...state }] } };
    });
  } catch (err) {
    // Without the schedule (a sweep started by hand), the next scheduled run starts over: harmless.
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}
