/**
 * The polling trigger's one activity: reads what changed in the Jira project since the cursor and hands
 * each change, as the webhook would have delivered it, to the dispatcher the receiver hands its events to.
 */
import { activityInfo, heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { Dispatcher } from '../events/dispatcher.ts';
import type { JiraEvent } from '../events/jira-event.ts';
import type { PollCursor, PolledEvent, PollOutcome } from '../contract/polling.ts';
import type { RevokerPolicy } from '../contract/shared.ts';
import type { JiraClient } from '../jira/client.ts';
import { log } from '../log.ts';

/**
 * How far back each poll reads before its cursor. Jira's search may lag recent writes by seconds; a
 * change found late is still inside the overlap, and the handled ids keep it from being handled twice.
 */
export const POLL_OVERLAP_MS = 5 * 60_000;

/** How close a comment's time must be to a revocation's changelog entry to be its dialog's comment. */
const DIALOG_COMMENT_MS = 2000;

interface Derived {
  id: string;
  at: number;
  issueKey: string;
  event: JiraEvent;
}

export function createPollingActivities({
  client,
  jira,
  revokers,
}: {
  client: Client;
  jira: JiraClient;
  revokers: RevokerPolicy;
}) {
  let dispatcher: Promise<Dispatcher> | undefined;
  return {
    async pollJira(cursor: PollCursor): Promise<PollOutcome> {
      dispatcher ??= Dispatcher.create({ client, jira, revokers }).catch((err: unknown) => {
        dispatcher = undefined; // the next attempt asks Jira again
        throw err;
      });
      // A retried attempt skips what the lost one handled (kept in its heartbeats).
      const progress = activityInfo().heartbeatDetails as { handled?: string[] } | undefined;
      const done = new Set([...cursor.handled, ...(progress?.handled ?? [])]);
      // Jira's timestamps are compared only with times on Jira's clock: a cursor made on Temporal's (the
      // workflow's) is moved by the difference of the two clocks, once. Three minutes of skew otherwise
      // hid every change made in the first three minutes.
      const jiraNow = await jira.serverTime();
      const shift = cursor.jiraClock ? 0 : jiraNow - Date.now();
      const startedAt = cursor.startedAt + shift;
      const cursorSince = cursor.since + shift;
      const from = Math.max(startedAt, cursorSince - POLL_OVERLAP_MS);
      const { changes, read } = await changesSince(jira, from, jiraNow, cursor.read ?? {});
      const handled: PolledEvent[] = [];
      for (const change of changes) {
        if (done.has(change.id)) continue;
        const answer = await (await dispatcher).handle(change.event, `poll:${change.id}`);
        done.add(change.id);
        handled.push({
          id: change.id,
          issueKey: change.issueKey,
          result: answer.result,
        });
        log.info('polled change handled', { id: change.id, issueKey: change.issueKey, result: answer.result });
        heartbeat({ handled: [...done] });
      }
      const since = Math.max(cursorSince, ...changes.map((c) => c.at));
      const keep = new Set(changes.filter((c) => c.at >= since - POLL_OVERLAP_MS).map((c) => c.id));
      return {
        cursor: {
          ...cursor,
          since,
          startedAt,
          jiraClock: true,
          handled: [...done].filter((id) => keep.has(id)),
          read,
        },
        handled,
      };
    },
  };
}

export type PollingActivities = ReturnType<typeof createPollingActivities>;

/**
 * Every creation and changelog entry in the project from `from` on, oldest first, as webhook events; and
 * the `updated` of each issue found, for the next poll. The changelog of an issue whose `updated` is the
 * one `read` last time is not read again: every new entry changes it.
 */
async function changesSince(
  jira: JiraClient,
  from: number,
  jiraNow: number,
  lastRead: Record<string, string>,
): Promise<{ changes: Derived[]; read: Record<string, string> }> {
  const issues = await jira.recentlyUpdated((jiraNow - from) / 60_000);
  const changes: Derived[] = [];
  const read: Record<string, string> = {};
  for (const { key, fields } of issues) {
    const updated = typeof fields.updated === 'string' ? fields.updated : undefined;
    if (updated !== undefined) read[key] = updated;
    const created = typeof fields.created === 'string' ? Date.parse(fields.created) : NaN;
    if (created >= from) {
      const creator = (fields.creator ?? fields.reporter) as JiraEvent['user'];
      changes.push({
        id: `created:${key}`,
        at: created,
        issueKey: key,
        event: { webhookEvent: 'jira:issue_created', user: creator, issue: { key, fields } },
      });
    }
    if (updated !== undefined && lastRead[key] === updated) continue;
    for (const entry of await jira.changelog(key)) {
      if (!(entry.created >= from)) continue;
      // The comment typed in the "Revoke Certificate" dialog is no part of the changelog: the comment its
      // author wrote at the same moment is.
      const revoked = entry.items.some((i) => i.field === 'status' && i.toString === jira.names.statuses.revoked);
      const comment =
        revoked && entry.author.id
          ? await jira.commentNear(key, entry.author.id, entry.created, DIALOG_COMMENT_MS)
          : undefined;
      changes.push({
        id: `changelog:${entry.id}`,
        at: entry.created,
        issueKey: key,
        event: {
          webhookEvent: 'jira:issue_updated',
          user: entry.authorJson as JiraEvent['user'],
          issue: { key, fields },
          changelog: { id: entry.id, items: entry.items },
          ...(comment !== undefined ? { comment: { body: comment } } : {}),
        },
      });
    }
  }
  changes.sort((a, b) => a.at - b.at || a.id.localeCompare(b.id, 'en', { numeric: true }));
  return { changes, read };
}
