/**
 * How the certificate workflow reads a failure: whether the requester can act on it (and what to tell
 * them), its type for the metrics, and its message for the issue and the Web UI.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { ErrorType } from '../../contract/shared.ts';
import type { Remedy } from '../../messages.ts';

/** Activities whose 4xx is SCM refusing the requester's order, not a misconfiguration of ours. */
const ORDERING_ACTIVITIES = new Set(['enrollCertificate', 'renewCertificate']);
const REMEDIES: ReadonlySet<string> = new Set<Remedy>([
  'CsrRejected',
  'RequestIncomplete',
  'CaDeclined',
  'UpstreamRejected',
]);

/** A failure the requester can act on: its reason and remedy; undefined when it is not theirs to fix. */
export function userFacing(err: unknown): { remedy: Remedy; reason: string } | undefined {
  const failed = activityFailure(err);
  if (!failed) return undefined;
  const type = failed.failure.type ?? '';
  if (type === ErrorType.UpstreamRejected && !ORDERING_ACTIVITIES.has(failed.activityType ?? '')) return undefined;
  return REMEDIES.has(type) ? { remedy: type as Remedy, reason: failed.failure.message } : undefined;
}

/**
 * The application failure an activity ended with: wrapped in an ActivityFailure (activities), or bare
 * (local activities surface their last attempt's failure as it is).
 */
function activityFailure(err: unknown): { failure: ApplicationFailure; activityType?: string } | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    return { failure: err.cause, activityType: err.activityType };
  }
  return err instanceof ApplicationFailure ? { failure: err } : undefined;
}

/** A failure's type for the metrics: the application failure's type, or the kind of failure. */
export function failureType(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return cause.type ?? 'Error';
  return cause instanceof Error ? cause.name : 'Error';
}

/** The message of any failure, for the issue and the Web UI (never a stack trace). */
export function reasonOf(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** A failure of an activity (not of the workflow's own code): a renewal reports it and tries again later. */
export function isActivityFailure(err: unknown): boolean {
  return err instanceof ActivityFailure || err instanceof ApplicationFailure;
}

/** A request refused by an update's validator: the message for whoever asked, and what to say on the issue. */
export function refusal(type: ErrorType, message: string, details: unknown[] = []): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details });
}
