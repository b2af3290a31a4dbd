/**
 * Jira activities: each one idempotent, so that a retry never duplicates a comment, file or transition.
 * What the workflows say arrives as `Text` and is rendered here, with the site's names.
 */
import { activityInfo, log } from '@temporalio/activity';
import type { IssueFields, IssueState } from '../contract/shared.ts';
import { render, type Text } from '../messages.ts';
import { withoutPrivateKeys } from '../csr/inspect.ts';
import { translated } from './failures.ts';
import type { CertificateIssue, JiraClient, RevokeIssue, StatusChange } from '../jira/client.ts';

/** What publishing a certificate puts on its issue. */
export interface Publication {
  comment: { eventId: string; text: Text };
  filename: string;
  pem: string;
  fields: IssueFields;
  attached: { eventId: string; text: Text };
  moveTo: IssueState;
  orAlreadyIn: IssueState[];
}

export function createJiraActivities({ jira }: { jira: JiraClient }) {
  return {
    /**
     * The issue's request fields; with `statusChange`, also its latest status change (to confirm a trigger).
     * A private key pasted into the CSR field is removed here, before the answer reaches workflow history.
     */
    async readCertificateIssue(
      issueKey: string,
      options: { statusChange?: boolean } = {},
    ): Promise<CertificateIssue & { lastStatusChange?: StatusChange }> {
      return translated(async () => {
        const read = await jira.getCertificateIssue(issueKey);
        const issue = { ...read, csr: withoutPrivateKeys(read.csr) };
        const lastStatusChange = options.statusChange ? await jira.latestStatusChange(issueKey) : undefined;
        return lastStatusChange ? { ...issue, lastStatusChange } : issue;
      });
    },

    /** The fields of a "Revoke Certificate" issue. */
    async readRevokeIssue(issueKey: string): Promise<RevokeIssue> {
      return translated(() => jira.getRevokeIssue(issueKey));
    },

    /**
     * Comments once per `eventId`, however often it runs. With `unique`, the caller says that no other
     * activity ever posts this event id: a first attempt then has nothing to look for, and posts at once.
     * A local activity's attempts start again at 1 when its workflow task is tried again, so for one the
     * workflow also says whether the task is tried for the first time (`firstTask`).
     */
    async commentOnce(
      issueKey: string,
      eventId: string,
      text: Text,
      options: { unique?: boolean; firstTask?: boolean } = {},
    ): Promise<void> {
      const words = render(text, jira.names);
      if (options.unique && firstAttempt(options.firstTask))
        return void (await translated(() => jira.addComment(issueKey, eventId, words)));
      const posted = await translated(() => jira.addCommentOnce(issueKey, eventId, words));
      if (!posted) log.info('comment already on the issue', { issueKey, eventId });
    },

    /** Attaches the PEM once per file name (the name carries the certificate id). */
    async attachOnce(issueKey: string, filename: string, content: string): Promise<void> {
      const uploaded = await translated(() => jira.attachOnce(issueKey, filename, content));
      if (!uploaded) log.info('attachment already on the issue', { issueKey, filename });
    },

    async updateIssue(issueKey: string, update: IssueFields): Promise<void> {
      await translated(() => jira.updateIssue(issueKey, update));
    },

    /**
     * Puts an issued certificate on its issue in one go — the comment, the PEM, the fields, the
     * "attached" comment, the status. Its comments and file belong to this certificate alone, so a first
     * attempt writes them without looking; a retry reads the comments and the issue once, and finishes
     * what an earlier attempt left, repeating nothing. The status comes back with the edit.
     */
    async publishCertificate(issueKey: string, publication: Publication): Promise<void> {
      await translated(() => publish(jira, issueKey, publication));
    },

    /**
     * Returns a refused request's issue to where it came from, but only from where the request put it: a
     * late or redelivered event must not move an issue that has moved on since (a revoked issue back to
     * Enrolled).
     */
    async returnIssue(issueKey: string, move: { from: string; to: string }): Promise<void> {
      await translated(() => returnIssue(jira, issueKey, move));
    },

    /** Moves the issue back to a status it came from (a failed manual renewal); a no-op when it is there. */
    async returnIssueTo(issueKey: string, statusName: string): Promise<void> {
      await translated(() => jira.moveTo(issueKey, statusName));
    },

    /** Moves the issue to the configured status for `state`; nothing happens when it is there, or in `orAlreadyIn`. */
    async moveIssue(
      issueKey: string,
      state: IssueState,
      orAlreadyIn: IssueState[] = [],
      revocationReason = 'Unspecified',
    ): Promise<void> {
      const { statuses } = jira.names;
      // Moving to the revoked status fills in its dialog's required reason.
      const fields = state === 'revoked' ? jira.revocationFields(revocationReason) : {};
      await translated(() =>
        jira.moveTo(
          issueKey,
          statuses[state],
          orAlreadyIn.map((s) => statuses[s]),
          fields,
        ),
      );
    },
  };
}
export type JiraActivities = ReturnType<typeof createJiraActivities>;

/**
 * Whether this is an activity's first attempt: nothing it writes can be there from an earlier one. Outside
 * an activity (or where the SDK cannot say) it answers false, and the caller looks before it writes. A
 * local activity's first attempt is one only in a workflow task tried for the first time (`firstTask`).
 */
function firstAttempt(firstTask = false): boolean {
  try {
    const { attempt, isLocal } = activityInfo();
    return attempt === 1 && (!isLocal || firstTask);
  } catch {
    return false;
  }
}

/**
 * Puts an issued certificate on its issue in one go. Its comments and file belong to this certificate
 * alone, so a first attempt writes them without looking; a retry reads the comments and the issue once,
 * and finishes what an earlier attempt left, repeating nothing. The status comes back with the edit.
 */
async function publish(jira: JiraClient, issueKey: string, publication: Publication): Promise<void> {
  const { statuses } = jira.names;
  const retry = !firstAttempt();
  const posted = retry ? await jira.commentEventIds(issueKey) : new Set<string>();
  const attached = retry ? (await jira.getCertificateIssue(issueKey)).attachments : [];
  const { comment } = publication;
  if (!posted.has(comment.eventId)) {
    await jira.addComment(issueKey, comment.eventId, render(comment.text, jira.names));
  }
  if (!attached.some((a) => a.filename === publication.filename)) {
    await jira.attach(issueKey, publication.filename, publication.pem);
  }
  const status = await jira.updateIssue(issueKey, publication.fields);
  if (!posted.has(publication.attached.eventId)) {
    await jira.addComment(issueKey, publication.attached.eventId, render(publication.attached.text, jira.names));
  }
  await jira.moveTo(
    issueKey,
    statuses[publication.moveTo],
    publication.orAlreadyIn.map((s) => statuses[s]),
    {},
    status,
  );
}

/** Moves the issue from `from` to `to`; an issue that has moved on since stays where it is. */
async function returnIssue(jira: JiraClient, issueKey: string, { from, to }: { from: string; to: string }) {
  const { status } = await jira.getCertificateIssue(issueKey);
  if (status !== from) {
    log.info('issue not returned: it has moved on', { issueKey, status, returnTo: to });
    return;
  }
  await jira.moveTo(issueKey, to, [], {}, status);
}
