/**
 * jiraPolling: the trigger for Jira sites that cannot reach the webhook receiver. One workflow per
 * namespace (JIRA_POLLING_WORKFLOW_ID) polls the project for changes and derives from them the requests
 * a webhook would have brought. Its cursor lives in the workflow, so a restart of any process resumes
 * where it stopped; one workflow running one activity at a time means at most one poll is in flight.
 */
import { continueAsNew, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import {
  jiraPollingStatusQuery,
  type JiraPollingInput,
  type JiraPollingStatus,
  type PolledEvent,
} from '../contract/polling.ts';
import { polling } from './activities.ts';

/** Polls per run: the history stays small (each poll adds a handful of events). */
const POLLS_PER_RUN = 500;

export async function jiraPolling(input: JiraPollingInput): Promise<void> {
  const startedAt = workflowInfo().startTime.getTime();
  const status: JiraPollingStatus = {
    // From the moment the start was accepted, not from this first task: on a busy worker that runs later,
    // and a change made in between would be older than the cursor.
    cursor: input.cursor ?? { since: startedAt, handled: [], startedAt },
    polls: 0,
    handledTotal: input.handledTotal ?? 0,
    recent: input.recent ?? [],
  };
  setHandler(jiraPollingStatusQuery, () => status);
  for (;;) {
    const { cursor, handled } = await polling.pollJira.executeWithOptions(
      { summary: `changes since ${new Date(status.cursor.since).toISOString()}` },
      [status.cursor],
    );
    status.cursor = cursor;
    status.polls++;
    status.handledTotal += handled.length;
    status.recent = [...status.recent, ...handled].slice(-100) satisfies PolledEvent[];
    if (status.polls >= POLLS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof jiraPolling>({
        ...input,
        cursor: status.cursor,
        recent: status.recent,
        handledTotal: status.handledTotal,
      });
    }
    await sleep(input.intervalMs, { summary: 'until the next poll of Jira' });
  }
}
