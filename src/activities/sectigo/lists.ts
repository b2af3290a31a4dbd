/** The sweep's reads of SCM: the connector's orders since the last sweep, and what changed in SCM. */
import { heartbeat } from '@temporalio/activity';
import type { ScmObservation } from '../../contract/certificate.ts';
import type { TokenedOrder } from '../../contract/sweep.ts';
import type { Profiles } from '../../profiles.ts';
import type { ScmClient } from '../../sectigo/client.ts';
import { translated } from '../failures.ts';
import { DAY_MS, IN_PROGRESS, TOKEN, utcDay } from './scm-words.ts';

/**
 * Orders of the configured profiles, newer than `after`, that carry one of the connector's tokens: the
 * sweep checks that each belongs to a workflow. At most `limit` orders are read per call; `highest` is
 * where the next call goes on.
 */
export async function findTokenedOrders(
  { scm, profiles }: { scm: ScmClient; profiles: Profiles },
  after: number,
  limit = 500,
  requestedSince?: number,
): Promise<{ orders: TokenedOrder[]; highest: number }> {
  return translated(async () => {
    const ids: number[] = [];
    if (requestedSince !== undefined) {
      // Orders requested since the last sweep (a day of overlap), from the report: one request.
      const orgs = [...new Set(profiles.all.map((p) => p.orgId))];
      const window = { from: utcDay(requestedSince - DAY_MS), to: utcDay(Date.now()) };
      for (const entry of await scm.report({
        ...window,
        certificateStatus: 0,
        certificateDateAttribute: 4,
        organizationIds: orgs,
      })) {
        if (entry.sslId > after) ids.push(entry.sslId);
      }
    } else {
      const kinds = new Map(profiles.all.map((p) => [`${p.orgId}/${p.certType}`, p]));
      for (const profile of kinds.values()) {
        for await (const item of scm.search({ orgId: profile.orgId, sslTypeId: profile.certType })) {
          if (item.sslId > after) ids.push(item.sslId);
        }
      }
    }
    const examined = [...new Set(ids)].sort((a, b) => a - b).slice(0, limit);
    const orders: TokenedOrder[] = [];
    for (const id of examined) {
      heartbeat();
      const details = await scm.getCertificate(id);
      // Only an order still issued, or on its way, asks for anything: one revoked already (a revocation
      // revokes what was issued while it was asked for), declined or expired is no duplicate to report.
      if (details.status !== 'Issued' && !IN_PROGRESS.has(details.status)) continue;
      const token = TOKEN.exec(details.comments ?? '');
      if (token?.[1] && token[2]) orders.push({ certificateId: id, issueKey: token[2], token: token[1] });
    }
    return { orders, highest: examined.at(-1) ?? after };
  });
}

/**
 * What changed in SCM since `since`, read as lists of changes rather than one request per
 * certificate: revocations and expiries from the SSL report (by revocation and expiration date, with a
 * day of overlap), replacements from the list filtered by status, read on from where the last sweep
 * stopped (`replacedSeen`, the count it saw).
 */
export async function changesInScm(
  scm: ScmClient,
  input: {
    since: number;
    replacedSeen?: number;
  },
): Promise<{ changes: ScmObservation[]; replacedSeen: number }> {
  return translated(async () => {
    const window = { from: utcDay(input.since - DAY_MS), to: utcDay(Date.now()) };
    const revoked = await scm.report({ ...window, certificateStatus: 3, certificateDateAttribute: 2 });
    const expired = await scm.report({ ...window, certificateStatus: 4, certificateDateAttribute: 3 });
    const total = await scm.count({ status: 'Replaced' });
    // In which order SCM lists them is not documented: the ones added since are either the last `added`
    // (oldest first) or the first (newest first), so both ends are read. One already seen is harmless.
    const seen = Math.min(input.replacedSeen ?? 0, total);
    const added = total - seen;
    const ranges: Array<[from: number, to: number]> =
      added > 0
        ? [
            [seen, total],
            [0, Math.min(added, seen)],
          ]
        : [];
    const replaced = new Set<number>();
    for (const [from, to] of ranges) {
      for (let position = from; position < to;) {
        heartbeat();
        const { items } = await scm.list({ status: 'Replaced' }, position);
        if (items.length === 0) break;
        for (const item of items.slice(0, to - position)) replaced.add(item.sslId);
        position += items.length;
      }
    }
    const changes: ScmObservation[] = [
      ...revoked.map((e) => ({ certificateId: e.sslId, status: 'Revoked' as const })),
      ...expired.map((e) => ({ certificateId: e.sslId, status: 'Expired' as const })),
      ...[...replaced].map((certificateId) => ({ certificateId, status: 'Replaced' as const })),
    ];
    return { changes, replacedSeen: total };
  });
}
