/** Activities of the daily sweep: find running certificate workflows and read their state. */
import { heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { statusQuery, type CertificatePhase } from '../contract.ts';

export interface CertificateSnapshot {
  workflowId: string;
  phase: CertificatePhase;
  certificateId?: number;
  profileId?: string;
  profileFingerprint?: string;
  renewAt?: number;
  notAfter?: number;
}

const RUNNING_CERTIFICATES = "WorkflowType = 'certificateLifecycle' AND ExecutionStatus = 'Running'";

export function createSweepActivities({ client, pageSize = 100 }: { client: Client; pageSize?: number }) {
  return {
    /** One page of running certificate workflows; `nextPageToken` (base64) is absent on the last page. */
    async listRunningCertificates(pageToken?: string): Promise<{ workflowIds: string[]; nextPageToken?: string }> {
      const page = await client.workflowService.listWorkflowExecutions({
        namespace: client.options.namespace,
        query: RUNNING_CERTIFICATES,
        pageSize,
        nextPageToken: pageToken ? Buffer.from(pageToken, 'base64') : undefined,
      });
      const workflowIds = (page.executions ?? []).map((e) => e.execution?.workflowId ?? '').filter((id) => id !== '');
      const next =
        page.nextPageToken && page.nextPageToken.length > 0
          ? Buffer.from(page.nextPageToken).toString('base64')
          : undefined;
      return next ? { workflowIds, nextPageToken: next } : { workflowIds };
    },

    /** Each workflow's own view, by query: queries add nothing to histories. */
    async inspectCertificates(workflowIds: string[]): Promise<CertificateSnapshot[]> {
      const snapshots: CertificateSnapshot[] = [];
      for (const workflowId of workflowIds) {
        heartbeat();
        try {
          const status = await client.workflow.getHandle(workflowId).query(statusQuery);
          snapshots.push({
            workflowId,
            phase: status.phase,
            certificateId: status.certificateId,
            profileId: status.profileId,
            profileFingerprint: status.profileFingerprint,
            renewAt: status.renewAt,
            notAfter: status.notAfter,
          });
        } catch {
          // Finished since it was listed, or its worker is busy: the next sweep sees it again.
        }
      }
      return snapshots;
    },
  };
}
export type SweepActivities = ReturnType<typeof createSweepActivities>;
