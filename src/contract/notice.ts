/**
 * The contract of `issueNotice`: one thing said on an issue for a request no workflow could take (a
 * refusal, or "part of the renewal under way"), and the issue returned to where the request came from.
 * The receiver and the polling trigger start it, so that only workflows write to Jira. Sandbox-safe.
 */
import type { Text } from '../messages.ts';

/** One notice per event: a repeated delivery starts nothing new. */
export const noticeWorkflowId = (eventId: string): string => `notice:${eventId}`;

export interface IssueNoticeInput {
  issueKey: string;
  /** Identifies the comment (its entity property): said once, however often it is asked for. */
  eventId: string;
  text: Text;
  /** Move the issue back to `to`, but only from `from`, where the request put it. */
  returnIssue?: { from: string; to: string };
}
