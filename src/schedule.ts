/**
 * What a worker makes sure of when it starts: the daily sweep's Temporal Schedule, and the Jira polling
 * trigger running exactly when JIRA_TRIGGER=polling. Both idempotent.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { JIRA_POLLING_WORKFLOW_ID } from './contract/polling.ts';
import { SWEEP_SCHEDULE_ID } from './contract/sweep.ts';
import { TASK_QUEUE } from './contract/shared.ts';
import { log } from './log.ts';
import type { jiraPolling } from './workflows/jira-polling.ts';

/** Creates the sweep schedule unless it exists; answers whether it created it. */
export async function ensureSweepSchedule(client: Client, every = '24h'): Promise<boolean> {
  try {
    await client.schedule.create({
      scheduleId: SWEEP_SCHEDULE_ID,
      spec: { intervals: [{ every }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'renewalSweep',
        taskQueue: TASK_QUEUE,
        args: [{}],
        staticSummary: 'Daily certificate sweep: profile changes, overdue renewals, changes made in SCM',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
    });
    return true;
  } catch (err) {
    if (err instanceof ScheduleAlreadyRunning) return false;
    throw err;
  }
}

/**
 * Starts the polling trigger (when `intervalMs` is given) unless it runs already; with webhooks instead
 * (`intervalMs` undefined) stops one left running, so that one trigger serves the project.
 */
export async function ensureJiraPolling(client: Client, intervalMs: number | undefined): Promise<void> {
  if (intervalMs === undefined) {
    const handle = client.workflow.getHandle(JIRA_POLLING_WORKFLOW_ID);
    try {
      if ((await handle.describe()).status.name !== 'RUNNING') return;
      await handle.terminate('JIRA_TRIGGER is webhook: the receiver takes Jira events now');
      log.info('Jira polling stopped; webhooks trigger the workflows', { workflowId: JIRA_POLLING_WORKFLOW_ID });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    return;
  }
  await client.workflow.start<typeof jiraPolling>('jiraPolling', {
    workflowId: JIRA_POLLING_WORKFLOW_ID,
    taskQueue: TASK_QUEUE,
    args: [{ intervalMs }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `Polls Jira for certificate requests every ${Math.round(intervalMs / 1000)} s`,
  });
}
