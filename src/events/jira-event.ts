/**
 * Jira issue events as the connector reads them — delivered by a webhook, or derived from the changelog by
 * the polling trigger — and what each asks for. Pure: the whole policy of both triggers, testable without
 * HTTP or Temporal.
 */
import { z } from 'zod';
import type { CertificateRequest, RenewRequest } from '../contract/certificate.ts';
import type { JiraNames } from '../contract/shared.ts';
import { adfToText } from '../jira/adf.ts';
import { userIdOf } from '../jira/api.ts';
import { ISSUE_KEY } from '../jira/client.ts';

/**
 * The subset of a Jira issue event the receiver reads. A signed body of another shape is a bad request
 * (400), never a reason to have Jira deliver it again.
 */
export const jiraEventSchema = z.looseObject({
  webhookEvent: z.string().optional(),
  /** Who acted: Cloud names them by `accountId`, Data Center by `key` and `name`. */
  user: z
    .looseObject({
      accountId: z.string().optional(),
      key: z.string().optional(),
      name: z.string().optional(),
      displayName: z.string().optional(),
    })
    .optional(),
  /** The comment a person wrote in a transition's dialog. */
  comment: z.looseObject({ body: z.unknown() }).optional(),
  issue: z
    .looseObject({
      key: z.string().optional(),
      fields: z
        .looseObject({
          issuetype: z.looseObject({ name: z.string().optional() }).nullish(),
          status: z.looseObject({ name: z.string().optional() }).nullish(),
        })
        .optional(),
    })
    .optional(),
  changelog: z
    .looseObject({
      id: z.union([z.string(), z.number()]).optional(),
      items: z
        .array(
          z.looseObject({
            field: z.string().optional(),
            fieldId: z.string().optional(),
            fromString: z.string().nullish(),
            toString: z.string().nullish(),
          }),
        )
        .optional(),
    })
    .optional(),
});
export type JiraEvent = z.infer<typeof jiraEventSchema>;

export type EventDecision =
  | { action: 'enroll'; request: CertificateRequest }
  | { action: 'revoke-external'; issueKey: string; requestedBy: string; requestedByName: string | undefined }
  | { action: 'revoke-external-changed'; issueKey: string }
  | {
      action: 'revoke';
      issueKey: string;
      /** The "Revocation reason" chosen in the dialog, as Jira shows it (undefined: none). */
      reasonName: string | undefined;
      comment: string | undefined;
      requestedBy: string;
      requestedByName: string | undefined;
      requestId: string;
      returnToStatus: string | undefined;
    }
  | { action: 'renew'; issueKey: string; request: RenewRequest }
  | { action: 'reevaluate'; issueKey: string }
  | { action: 'ignore'; reason: string };

/** What an event asks for. Pure: the receiver's whole policy, testable without HTTP or Temporal. */
export function interpretEvent(
  event: JiraEvent,
  deliveryId: string,
  names: JiraNames,
  connectorAccountId: string,
  revocationReasonFieldId?: string,
): EventDecision {
  const updated = event.webhookEvent === 'jira:issue_updated';
  const created = event.webhookEvent === 'jira:issue_created';
  if (!updated && !created) return { action: 'ignore', reason: `event ${event.webhookEvent ?? '(none)'}` };
  const key = event.issue?.key;
  if (!key) return { action: 'ignore', reason: 'no issue key' };
  if (!ISSUE_KEY.test(key)) return { action: 'ignore', reason: 'not a Jira issue key' };
  // A webhook (or its JQL) may cover more than the project: another project's issues are not ours.
  if (!key.startsWith(`${names.projectKey}-`)) return { action: 'ignore', reason: `another project's issue ${key}` };
  if (event.issue?.fields?.issuetype?.name === names.revokeIssueType) {
    const actor = userIdOf(event.user);
    if (!actor || actor === connectorAccountId) return { action: 'ignore', reason: "the connector's own change" };
    if (created) {
      return { action: 'revoke-external', issueKey: key, requestedBy: actor, requestedByName: event.user?.displayName };
    }
    const watched = [
      names.fields.profile,
      names.fields.certificateId,
      names.fields.domain,
      names.fields.revocationReason,
    ];
    if ((event.changelog?.items ?? []).some((item) => watched.includes(item.field ?? ''))) {
      return { action: 'revoke-external-changed', issueKey: key };
    }
    return { action: 'ignore', reason: 'no change the connector acts on' };
  }
  if (!updated) return { action: 'ignore', reason: `event ${event.webhookEvent ?? '(none)'}` };
  if (event.issue?.fields?.issuetype?.name !== names.certificateIssueType) {
    return { action: 'ignore', reason: `issue type ${event.issue?.fields?.issuetype?.name ?? '(none)'}` };
  }
  const actor = userIdOf(event.user);
  if (!actor) return { action: 'ignore', reason: 'no acting user' };
  if (actor === connectorAccountId) return { action: 'ignore', reason: "the connector's own change" };
  const changelogId = event.changelog?.id;
  const triggerId = changelogId === undefined ? deliveryId : `changelog:${changelogId}`;
  const items = event.changelog?.items ?? [];
  const move = items.find((item) => item.field === 'status');
  if (move?.toString === names.statuses.enrolled) {
    return { action: 'enroll', request: { issueKey: key, requestedBy: actor, triggerId } };
  }
  if (move?.toString === names.statuses.renewed) {
    return {
      action: 'renew',
      issueKey: key,
      request: {
        requestedBy: actor,
        requestId: triggerId,
        ...(move.fromString ? { returnToStatus: move.fromString } : {}),
      },
    };
  }
  if (move?.toString === names.statuses.revoked) {
    const reason = revocationReasonFieldId ? event.issue?.fields?.[revocationReasonFieldId] : undefined;
    const reasonName = (reason as { value?: unknown } | null | undefined)?.value;
    const comment = event.comment?.body === undefined ? '' : adfToText(event.comment.body).trim();
    return {
      action: 'revoke',
      issueKey: key,
      reasonName: typeof reasonName === 'string' ? reasonName : undefined,
      comment: comment === '' ? undefined : comment.slice(0, 500),
      requestedBy: actor,
      requestedByName: event.user?.displayName,
      requestId: triggerId,
      returnToStatus: move.fromString ?? undefined,
    };
  }
  if (items.some((item) => item.field === names.fields.csr)) return { action: 'reevaluate', issueKey: key };
  return { action: 'ignore', reason: 'no change the connector acts on' };
}
