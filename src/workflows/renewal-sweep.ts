/**
 * renewalSweep: the daily safety net, started by a Temporal Schedule. Timers renew certificates; the
 * sweep catches what timers cannot see: profile changes (reevaluate, which also applies a profile's
 * force-renewal moment), certificates overdue or expired but not marked, and changes made directly in
 * SCM (revoked, replaced, expired early). It reads indexes, not workflows: Temporal's visibility finds
 * the certificates that need attention, SCM's report and list filters what changed since the last
 * sweep, so its cost follows the changes, not the fleet. Idempotent: a run that finds nothing to do
 * sends nothing.
 */
import { ActivityFailure, deprecatePatch, log, patched } from '@temporalio/workflow';
import { DEFAULT_ACCOUNT } from '../contract/shared.ts';
import type { SweepInput, SweepTotals, TokenedOrder } from '../contract/sweep.ts';
import { comments, said } from '../messages.ts';
import { fleet, jira, scmLists } from './activities.ts';

/** The first sweep (no state yet) looks this far back for changes made in SCM. */
const FIRST_LOOKBACK_MS = 30 * 86_400_000;
/** How often the sweep looks for plans made without a profile fingerprint, profiles unchanged. */
const UNINDEXED_CHECK_MS = 7 * 86_400_000;

const sameFingerprints = (before: Record<string, string> | undefined, now: Record<string, string>): boolean =>
  before !== undefined &&
  Object.keys(before).length === Object.keys(now).length &&
  Object.entries(now).every(([id, fingerprint]) => before[id] === fingerprint);

export async function renewalSweep(input: SweepInput = {}): Promise<SweepTotals> {
  // The only path now; its marker stays until no worker of the patched stage is left (src/workflows/patches.ts).
  deprecatePatch('index-sweep');
  const now = Date.now();
  const fingerprints = await fleet.profileFingerprints();
  // Plans made without a fingerprint take a walk over the fleet to find: looked for when a profile
  // changed (one that was missing may be back), and weekly.
  const unindexed =
    input.unindexedCheckedAt === undefined ||
    now - input.unindexedCheckedAt >= UNINDEXED_CHECK_MS ||
    !sameFingerprints(input.fingerprints, fingerprints);
  const reevaluated = await fleet.reevaluateStale({ fingerprints, now, unindexed });
  const accounts = patched('account-sweep') ? await fleet.scmAccounts() : [DEFAULT_ACCOUNT];
  const totals: SweepTotals = { inspected: reevaluated, reevaluated, reconciled: 0, unownedOrders: [] };
  const saved: SweepInput & Required<Pick<SweepInput, 'accounts'>> = {
    scmCheckedUntil: now,
    accounts: {},
    fingerprints,
    unindexedCheckedAt: unindexed ? now : input.unindexedCheckedAt,
  };
  let scmChanges = 0;
  // Each account's lists, from where its last sweep left them; ids are an account's own.
  for (const account of accounts) {
    const own = account === DEFAULT_ACCOUNT ? input : (input.accounts?.[account] ?? {});
    const named = account === DEFAULT_ACCOUNT ? undefined : account;
    const { changes, replacedSeen } = await scmLists(named).changesInScm({
      since: input.scmCheckedUntil ?? now - FIRST_LOOKBACK_MS,
      replacedSeen: own.replacedSeen,
    });
    scmChanges += changes.length;
    const told = named ? changes.map((change) => ({ ...change, account: named })) : changes;
    const reconciled = told.length > 0 ? await fleet.tellOwners({ changes: told, now }) : 0;
    totals.reconciled += reconciled;
    totals.inspected += reconciled;
    const unowned = await reportUnownedOrders(named, own.orderWatermark ?? 0, input.scmCheckedUntil);
    totals.unownedOrders?.push(...unowned.orders);
    const state = { replacedSeen, orderWatermark: unowned.watermark };
    if (named) saved.accounts[named] = state;
    else Object.assign(saved, state);
  }
  // Where the next sweep takes up, in one update of the schedule.
  await fleet.saveSweepState(saved);
  const unownedOrders = totals.unownedOrders?.length ?? 0;
  log.info('sweep finished', { ...totals, scmChanges, unownedOrders, accounts: accounts.length });
  return totals;
}

/**
 * Orders that carry the connector's token but that no workflow owns — left by a lost answer before
 * retries looked for them long enough, or placed by hand with a copied comment. Each is told on its
 * issue once. Answers them and the new watermark, past every order decided, so that the next sweep reads
 * only what is new.
 */
async function reportUnownedOrders(
  account: string | undefined,
  watermark: number,
  requestedSince?: number,
): Promise<{ orders: TokenedOrder[]; watermark: number }> {
  const lists = scmLists(account);
  const found =
    requestedSince === undefined
      ? await lists.findTokenedOrders(watermark)
      : await lists.findTokenedOrders(watermark, 500, requestedSince);
  const highest = found.highest;
  const orders = account ? found.orders.map((order) => ({ ...order, account })) : found.orders;
  const { unowned, pending } = await fleet.unownedOrders(orders);
  for (const order of unowned) {
    // An issue deleted since is no reason to stop: the order is still reported (`cli unowned`).
    await jira
      .commentOnce(
        order.issueKey,
        `sweep/unowned-order/${order.certificateId}`,
        said(comments.unownedOrder, order.certificateId),
      )
      .catch((err: unknown) => {
        if (!(err instanceof ActivityFailure)) throw err;
        log.warn('could not tell an unowned order on its issue', { issueKey: order.issueKey, error: err.message });
      });
  }
  // Orders still being placed are looked at again next time.
  return { orders: unowned, watermark: pending.length > 0 ? Math.min(...pending) - 1 : highest };
}
