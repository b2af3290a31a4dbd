/**
 * The changes of the certificate workflow that runs started by older code do not follow (their patches,
 * with the date each may retire, are in src/workflows/patches.ts).
 */
import { patched } from '@temporalio/workflow';

export interface Changes {
  /** The CSR check and the profile read as local activities. */
  localRequests: boolean;
  /** A certificate published by one activity. */
  batchedPublish: boolean;
  /** The profile fingerprint kept as a search attribute. */
  fingerprintAttribute: boolean;
  /** The issue read by a local activity. */
  localIssueRead: boolean;
  /** The order placed while the "requested" comment is posted. */
  orderBesideRequestComment: boolean;
  /** The requester told once when SCM leaves an order unanswered. */
  orderWaitingNotice: boolean;
  /** The certificate brought along with the order when SCM issued it at once. */
  collectWithOrder: boolean;
  /** The "requested" comment posted by a local activity just before the order (instead of beside it). */
  requestedCommentLocally: boolean;
  /**
   * A step's search attributes written in one upsert, only those that changed, and the next run started
   * indexed as the certificate it carries.
   */
  oneIndexWrite: boolean;
  /** A continued run plans with the profile settings it carries (its predecessor's) instead of reading them. */
  carriedSettings: boolean;
}

/**
 * Which changes this run follows, decided once before anything else: a run started by older code keeps its
 * old shape to the end (its history has none of these markers), and a patch asked for only after a local
 * activity is sensitive to how that activity's result is replayed. A run started today records one marker
 * for all nine (each marker costs two events, the SDK's TemporalChangeVersion upsert with it); runs from
 * before recorded one for the first eight, one for the first five and one for the sixth, or one for each.
 */
export function followedChanges(): Changes {
  const today = patched('changes-1-to-9');
  const fromFirstEight = today || patched('changes-1-to-8');
  const fromFirstFive = fromFirstEight || patched('changes-1-to-5');
  return {
    localRequests: fromFirstFive || patched('local-requests'),
    batchedPublish: fromFirstFive || patched('batched-publish'),
    fingerprintAttribute: fromFirstFive || patched('fingerprint-search-attribute'),
    localIssueRead: fromFirstFive || patched('local-issue-read'),
    orderBesideRequestComment: !fromFirstEight && (fromFirstFive || patched('order-beside-request-comment')),
    orderWaitingNotice: fromFirstEight || patched('order-waiting-notice'),
    collectWithOrder: fromFirstEight,
    requestedCommentLocally: fromFirstEight,
    oneIndexWrite: today,
    carriedSettings: today,
  };
}
