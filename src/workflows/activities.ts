/**
 * Every activity proxy of the workflows, in one place, one per retry profile, so that each call's failure
 * behaviour is visible together. Activities are imported as types only.
 */
import {
  proxyActivities,
  proxyLocalActivities,
  type ActivityInterfaceFor,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { CsrActivities } from '../activities/csr.ts';
import type { JiraActivities } from '../activities/jira.ts';
import type { PollingActivities } from '../activities/polling.ts';
import type { ProfileActivities } from '../activities/profiles.ts';
import type { ReissueActivities } from '../activities/reissue.ts';
import type { SectigoActivities } from '../activities/sectigo.ts';
import type { SweepActivities } from '../activities/sweep.ts';
import { ErrorType, sectigoQueue } from '../contract/shared.ts';

// Jira outages are waited out; a 4xx means a misconfiguration that retrying cannot fix.
const jiraRetry = {
  initialInterval: '1 second',
  maximumInterval: '5 minutes',
  nonRetryableErrorTypes: [ErrorType.UpstreamRejected],
};

export const jira = proxyActivities<JiraActivities>({ startToCloseTimeout: '1 minute', retry: jiraRetry });

/**
 * Reading the issue as a local activity (workflows with the 'local-issue-read' patch): a read repeats
 * harmlessly, and the enrollment's first workflow task then reads, checks and orders with no round trip
 * through the server in between. The "requested" comment is posted the same way, just before the order.
 */
export const localJira = proxyLocalActivities<Pick<JiraActivities, 'readCertificateIssue' | 'commentOnce'>>({
  startToCloseTimeout: '1 minute',
  retry: jiraRetry,
});

const requestRetry = {
  maximumAttempts: 5,
  nonRetryableErrorTypes: [ErrorType.CsrRejected, ErrorType.RequestIncomplete],
};

/** Certificate runs before the 'local-requests' patch: CSR checks and profile reads as ordinary activities. */
export const requests = proxyActivities<CsrActivities & ProfileActivities>({
  startToCloseTimeout: '30 seconds',
  retry: requestRetry,
});

/**
 * CSR checks and profile reads as local activities: milliseconds of CPU in the worker that runs the
 * workflow, with no task queue, no rate limit and no round trip through the server — one marker in the
 * history instead of three events and a workflow task.
 */
export const localRequests = proxyLocalActivities<CsrActivities & ProfileActivities>({
  startToCloseTimeout: '30 seconds',
  retry: requestRetry,
});

/**
 * SCM's activities run on their account's task queue (`sectigoQueue`), whose rate limit is the account's;
 * each proxy below is asked for with the account (absent: the default one).
 */
const onQueueOf =
  (options: ActivityOptions) =>
  (account?: string): ActivityInterfaceFor<SectigoActivities> =>
    proxyActivities<SectigoActivities>({ ...options, taskQueue: sectigoQueue(account) });

export const orders = onQueueOf({
  // Long enough for a retry to wait out SCM's processing of an earlier attempt (the order grace).
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  // Safe to retry: a retry looks for the order an earlier attempt may have placed before posting again.
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: [ErrorType.UpstreamRejected, ErrorType.CaDeclined, ErrorType.RequestIncomplete],
  },
});

/** How soon SCM is asked again whether it issued a certificate it was still processing. */
export const COLLECT_RETRY_INTERVAL = '1 second';

export const issuance = onQueueOf({
  // Short: an attempt lost with its worker is retried after this long.
  startToCloseTimeout: '30 seconds',
  // Validation and approval can take days; poll quickly at first, then every ten minutes.
  scheduleToCloseTimeout: '30 days',
  retry: {
    initialInterval: COLLECT_RETRY_INTERVAL,
    backoffCoefficient: 1.5,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: [ErrorType.UpstreamRejected, ErrorType.CaDeclined],
  },
});

/** A certificate downloaded for the CLI: someone waits for it, so a few quick tries, then the reason. */
export const downloads = onQueueOf({
  startToCloseTimeout: '30 seconds',
  retry: {
    maximumInterval: '5 seconds',
    maximumAttempts: 3,
    nonRetryableErrorTypes: [ErrorType.UpstreamRejected, ErrorType.CaDeclined, ErrorType.CertificatePending],
  },
});

/** The sweep's reads of visibility and its signals: a sweep gives up after ten tries, the next one starts over. */
export const fleet = proxyActivities<SweepActivities & ProfileActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** The sweep's reads of SCM's lists. */
export const scmLists = onQueueOf({
  startToCloseTimeout: '1 minute',
  retry: { maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: [ErrorType.UpstreamRejected] },
});

/** A revocation handed from a "Revoke Certificate" issue to the certificate workflow that manages it. */
export const handOver = proxyActivities<SweepActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumInterval: '1 minute', maximumAttempts: 10 },
});

export const polling = proxyActivities<PollingActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  // Jira or Temporal unavailable: keep trying; the cursor waits, and nothing is skipped.
  retry: { initialInterval: '5 seconds', maximumInterval: '5 minutes' },
});

/** A fleet reissue's reads of visibility and its asks: a page of asks is retried, and asked twice is answered once. */
export const reissuing = proxyActivities<ReissueActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumInterval: '5 minutes' },
});
