/**
 * renewalSweep: the daily safety net, started by a Temporal Schedule. Timers renew certificates; the
 * sweep catches what timers cannot see: profile changes (reevaluate, which also applies a profile's
 * force-renewal moment), certificates overdue or expired but not marked, and changes made directly in
 * SCM (revoked, replaced, expired early). It reads indexes, not workflows: Temporal's visibility finds
 * the certificates that need attention, SCM's report and list filters what changed since the last
 * sweep, so its cost follows the changes, not the fleet. Idempotent: a run that finds nothing to do
 * sends nothing.
 */
import {
  ActivityFailure,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { ProfileActivities } from '../activities/profiles.ts';
import type { SectigoActivities, TokenedOrder } from '../activities/sectigo.ts';
import type { CertificateSnapshot, SweepActivities } from '../activities/sweep.ts';
import { ErrorType, reevaluateSignal, scmObservationSignal, SECTIGO_TASK_QUEUE } from '../contract.ts';
import { comments } from '../messages.ts';
import { jira } from './activities.ts';

const fleet = proxyActivities<SweepActivities & ProfileActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '1 minute', maximumAttempts: 10 },
});
const scm = proxyActivities<SectigoActivities>({
  taskQueue: SECTIGO_TASK_QUEUE,
  startToCloseTimeout: '1 minute',
  retry: { maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: [ErrorType.UpstreamRejected] },
});

export interface SweepTotals {
  inspected: number;
  reevaluated: number;
  reconciled: number;
  /** Orders carrying the connector's token that no workflow owns (told on their issues). */
  unownedOrders?: TokenedOrder[];
}

export interface SweepInput {
  pageToken?: string;
  totals?: SweepTotals;
  /** SCM orders up to this id have been checked for an owner; kept in the schedule's arguments. */
  orderWatermark?: number;
  /** SCM changes up to this instant (epoch ms) have been told; kept in the schedule's arguments. */
  scmCheckedUntil?: number;
  /** How many replaced certificates SCM listed at the last sweep. */
  replacedSeen?: number;
}

/** The first sweep (no state yet) looks this far back for changes made in SCM. */
const FIRST_LOOKBACK_MS = 30 * 86_400_000;

/** Phases in which a certificate is live and its SCM order worth comparing. */
const LIVE = new Set(['Active', 'RenewalDue', 'Expired']);
/** SCM statuses that mean the certificate changed outside the system. */
const CHANGED_IN_SCM = new Set(['Revoked', 'Replaced', 'Expired']);

export async function renewalSweep(input: SweepInput = {}): Promise<SweepTotals> {
  if (patched('index-sweep')) return sweepByIndex(input);
  return sweepEveryWorkflow(input);
}

/** The sweep: what visibility and SCM's change lists show needs attention, and nothing else. */
async function sweepByIndex(input: SweepInput): Promise<SweepTotals> {
  const now = Date.now();
  const fingerprints = await fleet.profileFingerprints();
  const reevaluated = await fleet.reevaluateStale({ fingerprints, now });
  const { changes, replacedSeen } = await scm.changesInScm({
    since: input.scmCheckedUntil ?? now - FIRST_LOOKBACK_MS,
    replacedSeen: input.replacedSeen,
  });
  const reconciled = changes.length > 0 ? await fleet.tellOwners({ changes, now }) : 0;
  const totals: SweepTotals = { inspected: reevaluated + reconciled, reevaluated, reconciled };
  const unowned = await reportUnownedOrders(input.orderWatermark ?? 0, input.scmCheckedUntil);
  totals.unownedOrders = unowned.orders;
  // Where the next sweep takes up, in one update of the schedule.
  await fleet.saveSweepState({ scmCheckedUntil: now, replacedSeen, orderWatermark: unowned.watermark });
  log.info('sweep finished', { ...totals, scmChanges: changes.length, unownedOrders: totals.unownedOrders.length });
  return totals;
}

/** The sweep before visibility held the profile fingerprint: every workflow queried (replays only). */
async function sweepEveryWorkflow(input: SweepInput): Promise<SweepTotals> {
  const totals: SweepTotals = input.totals ?? { inspected: 0, reevaluated: 0, reconciled: 0 };
  const fingerprints = await fleet.profileFingerprints();
  let pageToken = input.pageToken;
  do {
    const page = await fleet.listRunningCertificates(pageToken);
    pageToken = page.nextPageToken;
    for (const snapshot of await fleet.inspectCertificates(page.workflowIds)) {
      totals.inspected++;
      const now = Date.now();
      if (needsReevaluation(snapshot, fingerprints, now)) {
        await getExternalWorkflowHandle(snapshot.workflowId).signal(reevaluateSignal);
        totals.reevaluated++;
      }
      if (snapshot.certificateId !== undefined && LIVE.has(snapshot.phase)) {
        const { status } = await scm.getOrderStatus(snapshot.certificateId);
        const early = status === 'Expired' && snapshot.notAfter !== undefined && snapshot.notAfter > now;
        if (CHANGED_IN_SCM.has(status) && (status !== 'Expired' || early)) {
          await getExternalWorkflowHandle(snapshot.workflowId).signal(scmObservationSignal, {
            certificateId: snapshot.certificateId,
            status,
          });
          totals.reconciled++;
        }
      }
    }
    if (pageToken && workflowInfo().continueAsNewSuggested) {
      return await continueAsNew<typeof renewalSweep>({ ...input, pageToken, totals });
    }
  } while (pageToken);
  if (patched('unowned-orders')) {
    const unowned = await reportUnownedOrders(input.orderWatermark ?? 0);
    totals.unownedOrders = unowned.orders;
    await fleet.saveOrderWatermark(unowned.watermark);
  }
  log.info('sweep finished', { ...totals, unownedOrders: totals.unownedOrders?.length ?? 0 });
  return totals;
}

/**
 * Orders that carry the connector's token but that no workflow owns — left by a lost answer before
 * retries looked for them long enough, or placed by hand with a copied comment. Each is told on its
 * issue once. Answers them and the new watermark, past every order decided, so that the next sweep reads
 * only what is new.
 */
async function reportUnownedOrders(
  watermark: number,
  requestedSince?: number,
): Promise<{ orders: TokenedOrder[]; watermark: number }> {
  const { orders, highest } =
    requestedSince === undefined
      ? await scm.findTokenedOrders(watermark)
      : await scm.findTokenedOrders(watermark, 500, requestedSince);
  const { unowned, pending } = await fleet.unownedOrders(orders);
  for (const order of unowned) {
    // An issue deleted since is no reason to stop: the order is still reported (`cli unowned`).
    await jira
      .commentOnce(
        order.issueKey,
        `sweep/unowned-order/${order.certificateId}`,
        comments.unownedOrder(order.certificateId),
      )
      .catch((err: unknown) => {
        if (!(err instanceof ActivityFailure)) throw err;
        log.warn('could not tell an unowned order on its issue', { issueKey: order.issueKey, error: err.message });
      });
  }
  // Orders still being placed are looked at again next time.
  return { orders: unowned, watermark: pending.length > 0 ? Math.min(...pending) - 1 : highest };
}

/** A profile change, an overdue renewal or an unmarked expiry: the workflow should plan again. */
export function needsReevaluation(
  snapshot: CertificateSnapshot,
  fingerprints: Record<string, string>,
  now: number,
): boolean {
  const current = snapshot.profileId === undefined ? undefined : fingerprints[snapshot.profileId];
  if (!LIVE.has(snapshot.phase)) return false;
  // A changed profile, or one that is back after it was missing (the workflow then has no fingerprint).
  if (current !== undefined && current !== snapshot.profileFingerprint) return true;
  const overdue = snapshot.renewAt !== undefined && snapshot.renewAt <= now && snapshot.phase === 'Active';
  const unmarkedExpiry = snapshot.notAfter !== undefined && snapshot.notAfter <= now && snapshot.phase !== 'Expired';
  return overdue || unmarkedExpiry;
}
