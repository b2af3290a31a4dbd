/** Jira activities: each one idempotent, so that a retry never duplicates a comment, file or transition. */
import { log } from '@temporalio/activity';
import type { IssueState } from '../contract.ts';
import { translated } from './failures.ts';
import type { CertificateIssue, JiraClient, RevokeIssue, StatusChange } from '../jira/client.ts';

/** What publishing a certificate puts on its issue. */
export interface Publication {
  comment: { eventId: string; text: string };
  filename: string;
  pem: string;
  fields: { summary?: string; certificateId?: string; domain?: string; expiryDate?: string };
  attached: { eventId: string; text: string };
  moveTo: IssueState;
  orAlreadyIn: IssueState[];
}

export function createJiraActivities({ jira }: { jira: JiraClient }) {
  return {
    /** The issue's request fields; with `statusChange`, also its latest status change (to confirm a trigger). */
    async readCertificateIssue(
      issueKey: string,
      options: { statusChange?: boolean } = {},
    ): Promise<CertificateIssue & { lastStatusChange?: StatusChange }> {
      return translated(async () => {
        const issue = await jira.getCertificateIssue(issueKey);
        const lastStatusChange = options.statusChange ? await jira.latestStatusChange(issueKey) : undefined;
        return lastStatusChange ? { ...issue, lastStatusChange } : issue;
      });
    },

    /** The fields of a "Revoke Certificate" issue. */
    async readRevokeIssue(issueKey: string): Promise<RevokeIssue> {
      return translated(() => jira.getRevokeIssue(issueKey));
    },

    /** Comments once per `eventId`, however often it runs. */
    async commentOnce(issueKey: string, eventId: string, text: string): Promise<void> {
      const posted = await translated(() => jira.addCommentOnce(issueKey, eventId, text));
      if (!posted) log.info('comment already on the issue', { issueKey, eventId });
    },

    /** Attaches the PEM once per file name (the name carries the certificate id). */
    async attachOnce(issueKey: string, filename: string, content: string): Promise<void> {
      const uploaded = await translated(() => jira.attachOnce(issueKey, filename, content));
      if (!uploaded) log.info('attachment already on the issue', { issueKey, filename });
    },

    async updateIssue(
      issueKey: string,
      update: { summary?: string; certificateId?: string; domain?: string; expiryDate?: string },
    ): Promise<void> {
      await translated(() => jira.updateIssue(issueKey, update));
    },

    /**
     * Puts an issued certificate on its issue in one go — the comment, the PEM, the fields, the
     * "attached" comment, the status — each step idempotent, so a retry after any of them finishes the
     * rest and repeats nothing.
     */
    async publishCertificate(issueKey: string, publication: Publication): Promise<void> {
      await translated(async () => {
        const { statuses } = jira.names;
        await jira.addCommentOnce(issueKey, publication.comment.eventId, publication.comment.text);
        await jira.attachOnce(issueKey, publication.filename, publication.pem);
        await jira.updateIssue(issueKey, publication.fields);
        await jira.addCommentOnce(issueKey, publication.attached.eventId, publication.attached.text);
        await jira.moveTo(
          issueKey,
          statuses[publication.moveTo],
          publication.orAlreadyIn.map((s) => statuses[s]),
        );
      });
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
