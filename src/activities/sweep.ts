/** Activities of the daily sweep: find running certificate workflows and read their state. */
import { heartbeat } from '@temporalio/activity';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import {
  certificateWorkflowId,
  RUNNING_CERTIFICATES,
  searchAttributes,
  statusQuery,
  revokeUpdate,
  SWEEP_SCHEDULE_ID,
  type CertificatePhase,
  type RevokeRequest,
} from '../contract.ts';
import type { TokenedOrder } from './sectigo.ts';

/** Phases in which a workflow may have placed an order it has not recorded yet. */
const ORDERING = new Set(['Validating', 'Enrolling', 'AwaitingIssuance', 'Publishing', 'Renewing']);

export interface CertificateSnapshot {
  workflowId: string;
  phase: CertificatePhase;
  certificateId?: number;
  profileId?: string;
  profileFingerprint?: string;
  renewAt?: number;
  notAfter?: number;
}

export function createSweepActivities({ client, pageSize = 100 }: { client: Client; pageSize?: number }) {
  return {
    /**
     * Revokes a certificate through the certificate workflow that manages it, if one does (so that it
     * stops renewing, and its own issue says so). Answers that workflow's id, or undefined.
     */
    async revokeThroughLifecycle(certificateId: number, request: RevokeRequest): Promise<string | undefined> {
      const query = `${RUNNING_CERTIFICATES} AND ` + `${searchAttributes.certificateId.name} = '${certificateId}'`;
      for await (const run of client.workflow.list({ query })) {
        await client.workflow.getHandle(run.workflowId).executeUpdate(revokeUpdate, {
          args: [request],
          ...(request.requestId ? { updateId: request.requestId } : {}),
        });
        return run.workflowId;
      }
      return undefined;
    },

    /**
     * Of orders carrying the connector's token, those no certificate workflow owns: no run of any
     * workflow has it as its certificate, and the workflow named in the token is not ordering right now
     * (such orders are `pending`, to be checked again by the next sweep).
     */
    async unownedOrders(orders: TokenedOrder[]): Promise<{ unowned: TokenedOrder[]; pending: number[] }> {
      const unowned: TokenedOrder[] = [];
      const pending: number[] = [];
      for (const order of orders) {
        heartbeat();
        const query = `${searchAttributes.certificateId.name} = '${order.certificateId}'`;
        if ((await client.workflow.count(query)).count > 0) continue;
        const owner = await client.workflow
          .getHandle(certificateWorkflowId(order.issueKey))
          .describe()
          .catch(() => undefined);
        const phase = owner?.typedSearchAttributes.get(searchAttributes.status) ?? '';
        if (owner?.status.name === 'RUNNING' && ORDERING.has(phase)) pending.push(order.certificateId);
        else unowned.push(order);
      }
      return { unowned, pending };
    },

    /** Stores where the next sweep goes on looking for unowned orders: in the schedule's own arguments. */
    async saveOrderWatermark(orderWatermark: number): Promise<void> {
      try {
        await client.schedule.getHandle(SWEEP_SCHEDULE_ID).update((schedule) => {
          const action = schedule.action as typeof schedule.action & { args?: unknown[] };
          const [first] = (action.args ?? [{}]) as Array<Record<string, unknown>>;
          return { ...schedule, action: { ...action, args: [{ ...first, orderWatermark }] } };
        });
      } catch (err) {
        // Without the schedule (a sweep started by hand), the next scheduled run starts over: harmless.
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
    },

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
