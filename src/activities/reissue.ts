/**
 * Activities of a fleet reissue: the selection read from visibility a page at a time (no workflow is
 * loaded), and the renewal asked of each certificate workflow, exactly once per operation.
 */
import { cancellationSignal, heartbeat } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { certificateWorkflowId, renewUpdate } from '../contract/certificate.ts';
import { searchAttributes } from '../contract/shared.ts';

/** A certificate of the selection: its issue and the certificate it holds. */
export interface SelectedCertificate {
  issueKey: string;
  certificateId: number;
}

/** What a certificate workflow answered the operation: asked (its outcome follows), or skipped, and why. */
export type AskAnswer = { issueKey: string; asked: true } | { issueKey: string; asked: false; reason: string };

export function createReissueActivities({ client }: { client: Client }) {
  return {
    /** How many certificates the selection's query matches now. */
    countSelection: async (query: string): Promise<number> => Number((await client.workflow.count(query)).count),
    /**
     * One page of the selection. Visibility's page token is a cursor over the runs as they started: a
     * certificate renewed meanwhile is a new run, which the cursor does not come back to.
     */
    selectionPage: async (input: {
      query: string;
      nextPage?: string;
      pageSize: number;
    }): Promise<{ certificates: SelectedCertificate[]; nextPage?: string }> => {
      const page = await client.workflowService.listWorkflowExecutions({
        namespace: client.options.namespace,
        query: input.query,
        pageSize: input.pageSize,
        nextPageToken: input.nextPage ? Buffer.from(input.nextPage, 'base64') : undefined,
      });
      const certificates: SelectedCertificate[] = [];
      for (const run of page.executions) {
        const fields = run.searchAttributes?.indexedFields ?? {};
        const text = (name: string): string | undefined => {
          const payload = fields[name];
          return payload ? defaultPayloadConverter.fromPayload<string>(payload) : undefined;
        };
        const issueKey = text(searchAttributes.issueKey.name);
        const certificateId = Number(text(searchAttributes.certificateId.name));
        if (issueKey && Number.isSafeInteger(certificateId)) certificates.push({ issueKey, certificateId });
      }
      const token = page.nextPageToken;
      return {
        certificates,
        ...(token && token.length > 0 ? { nextPage: Buffer.from(token).toString('base64') } : {}),
      };
    },
    /**
     * Asks each certificate workflow to renew its certificate now, if it still holds the one selected and
     * obtained it before `issuedBefore`. The request id is the operation's: asked again (a retry, the
     * command repeated), a workflow answers it as a duplicate and renews nothing more.
     */
    askToRenew: async (input: {
      operation: string;
      requestedBy: string;
      issuedBefore: number;
      certificates: SelectedCertificate[];
    }): Promise<AskAnswer[]> =>
      // An update waits for a workflow task, which a stopping worker no longer takes (see revokeThroughLifecycle).
      client.withAbortSignal(cancellationSignal(), async () => {
        const answers: AskAnswer[] = [];
        for (const { issueKey, certificateId } of input.certificates) {
          heartbeat(answers.length);
          answers.push(await ask(client, input, issueKey, certificateId));
        }
        return answers;
      }),
  };
}

async function ask(
  client: Client,
  { operation, requestedBy, issuedBefore }: { operation: string; requestedBy: string; issuedBefore: number },
  issueKey: string,
  certificateId: number,
): Promise<AskAnswer> {
  try {
    const { result } = await client.workflow.getHandle(certificateWorkflowId(issueKey)).executeUpdate(renewUpdate, {
      args: [
        {
          requestedBy,
          force: true,
          requestId: operation,
          onlyIf: { certificateId, issuedBefore },
          notify: operation,
        },
      ],
    });
    switch (result) {
      case 'accepted':
      case 'duplicate':
        return { issueKey, asked: true };
      case 'joined':
        return { issueKey, asked: false, reason: 'a renewal was under way already' };
      case 'superseded':
        return { issueKey, asked: false, reason: 'renewed since it was selected' };
    }
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { issueKey, asked: false, reason: 'its workflow has ended' };
    if (err instanceof WorkflowUpdateFailedError) {
      return { issueKey, asked: false, reason: err.cause?.message ?? err.message };
    }
    throw err;
  }
}

export type ReissueActivities = ReturnType<typeof createReissueActivities>;
