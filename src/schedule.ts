/** The daily sweep's Temporal Schedule, created idempotently when a worker starts. */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { SWEEP_SCHEDULE_ID, TASK_QUEUE } from './contract.ts';
import { renewalSweep } from './workflows/renewal-sweep.ts';

/** Creates the sweep schedule unless it exists; answers whether it created it. */
export async function ensureSweepSchedule(client: Client, every = '24h'): Promise<boolean> {
  try {
    await client.schedule.create({
      scheduleId: SWEEP_SCHEDULE_ID,
      spec: { intervals: [{ every }] },
      action: {
        type: 'startWorkflow',
        workflowType: renewalSweep,
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
