/**
 * The one place that decides what is worth retrying: adapter errors become ApplicationFailures with an
 * explicit `type`, Retry-After carried as `nextRetryDelay`, and "not yet" marked benign.
 */
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { ErrorType } from '../contract/shared.ts';
import { JiraError } from '../jira/client.ts';
import { ScmError, ScmPendingError } from '../sectigo/client.ts';

export function toFailure(err: unknown): unknown {
  if (err instanceof ScmPendingError) return pending(err.message);
  if (err instanceof ScmError && (err.status === 401 || err.status === 403)) {
    // The connector's account, not the order: retrying waits for the operator's fix (readiness and the
    // upstream request metric say it meanwhile), and the requester is not blamed.
    return ApplicationFailure.create({
      message: `Sectigo Certificate Manager refused the connector's account: ${err.message}`,
      type: ErrorType.ConnectorMisconfigured,
      cause: err,
    });
  }
  if (err instanceof ScmError || err instanceof JiraError) {
    const transient = err.retryable;
    return ApplicationFailure.create({
      message: err.message,
      type: transient ? ErrorType.UpstreamUnavailable : ErrorType.UpstreamRejected,
      nonRetryable: !transient,
      nextRetryDelay: transient && err.retryAfterMs !== undefined ? err.retryAfterMs : undefined,
      cause: err,
    });
  }
  return err;
}

/** Runs an adapter call and rethrows its errors as failures the workflow's retry policies understand. */
export async function translated<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  }
}

/** Expected "not issued yet": retried by the polling policy, and kept out of error logs and metrics. */
export function pending(message: string): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: ErrorType.CertificatePending,
    category: ApplicationFailureCategory.BENIGN,
  });
}

/** A problem the requester must fix; the message is written for them. */
export function userProblem(type: ErrorType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true });
}
