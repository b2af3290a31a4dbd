/**
 * issueNotice: tells a requester on their issue what became of a request that no certificate workflow
 * took — a refusal, or that a renewal under way serves it — and returns the issue to where the request
 * came from. Started by the receiver and the polling trigger, which never write to Jira themselves.
 */
import type { IssueNoticeInput } from '../contract/notice.ts';
import { jira } from './activities.ts';

export async function issueNotice(input: IssueNoticeInput): Promise<void> {
  await jira.commentOnce(input.issueKey, input.eventId, input.text);
  if (input.returnIssue) await jira.returnIssue(input.issueKey, input.returnIssue);
}
