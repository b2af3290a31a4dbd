/**
 * Every patch of the workflows, and where it stands in its life cycle (Temporal's patching: `patched` →
 * `deprecatePatch` → removed). A patch keeps a run started by older code on its old path; that path is
 * needed only while such a run can exist. A sweep runs for minutes, once a day; a certificate run ends at
 * its next renewal, so within a certificate's lifetime (a run waiting for a manual renewal can last longer:
 * the query decides). So every patch has a date, and a query that proves on a live namespace that no run
 * needing the old path is left. `test/unit/patches.test.ts` fails once a patch outlives its date.
 *
 * Sandbox-safe: plain data, read by the workflows and by the test.
 */

export type PatchedWorkflow = 'certificateLifecycle' | 'renewalSweep' | 'revokeExternalCertificate';

export interface Patch {
  id: string;
  workflow: PatchedWorkflow;
  /** What the change did, for whoever retires it. */
  change: string;
  /** The day the change reached main (UTC). */
  introduced: string;
  /** The day `patched` became `deprecatePatch` (UTC), for a patch past that stage. */
  deprecated?: string;
  /**
   * `patched`: old and new paths both in the code. `deprecated`: only the new path, the marker still
   * written (`deprecatePatch`), so that workers of the previous stage may run beside it. `removed`: no call
   * is left; the id is kept here so that it is never used again.
   */
  stage: 'patched' | 'deprecated' | 'removed';
  /**
   * The day after which the patch should move on (patched → deprecated, deprecated → removed): by then no
   * run that needs the current stage can exist, if the workflow's runs are as long as they are meant to be.
   * `runsWithout(patch)` says whether they were. For a removed patch, the day it went.
   */
  due: string;
  /** Other markers that stand for this one (a run that recorded one of them took the new path too). */
  alsoMarkedBy?: string[];
}

/** A certificate run lasts at most a certificate's lifetime: 13 months covers the longest term SCM sells. */
const CERTIFICATE_RUN = '13 months';

export const PATCHES: readonly Patch[] = [
  {
    id: 'local-requests',
    workflow: 'certificateLifecycle',
    change: 'the CSR check and profile read as local activities',
    introduced: '2026-11-28',
    stage: 'patched',
    due: '2027-12-28',
    alsoMarkedBy: ['changes-1-to-5', 'changes-1-to-8', 'changes-1-to-9'],
  },
  {
    id: 'batched-publish',
    workflow: 'certificateLifecycle',
    change: 'publishing a certificate in one activity instead of five',
    introduced: '2026-11-28',
    stage: 'patched',
    due: '2027-12-28',
    alsoMarkedBy: ['changes-1-to-5', 'changes-1-to-8', 'changes-1-to-9'],
  },
  {
    id: 'fingerprint-search-attribute',
    workflow: 'certificateLifecycle',
    change: 'the profile fingerprint as the CertificateProfileFingerprint search attribute',
    introduced: '2026-11-28',
    stage: 'patched',
    due: '2027-12-28',
    alsoMarkedBy: ['changes-1-to-5', 'changes-1-to-8', 'changes-1-to-9'],
  },
  {
    id: 'local-issue-read',
    workflow: 'certificateLifecycle',
    change: 'the issue read by a local activity',
    introduced: '2026-11-28',
    stage: 'patched',
    due: '2027-12-28',
    alsoMarkedBy: ['changes-1-to-5', 'changes-1-to-8', 'changes-1-to-9'],
  },
  {
    id: 'order-beside-request-comment',
    workflow: 'certificateLifecycle',
    change: 'the order placed while the "requested" comment is posted',
    introduced: '2026-11-28',
    stage: 'patched',
    due: '2027-12-28',
    alsoMarkedBy: ['changes-1-to-5', 'changes-1-to-8', 'changes-1-to-9'],
  },
  {
    id: 'changes-1-to-5',
    workflow: 'certificateLifecycle',
    change:
      'one marker for the five changes above in runs that start with all of them (a marker costs two events); ' +
      'it retires with them',
    introduced: '2026-11-28',
    stage: 'patched',
    due: '2027-12-28',
    alsoMarkedBy: ['changes-1-to-8', 'changes-1-to-9'],
  },
  {
    id: 'order-waiting-notice',
    workflow: 'certificateLifecycle',
    change: 'the requester told once, after a timer, that SCM leaves the order unanswered',
    introduced: '2026-12-05',
    stage: 'patched',
    due: '2028-01-05',
    alsoMarkedBy: ['changes-1-to-8', 'changes-1-to-9'],
  },
  {
    id: 'changes-1-to-8',
    workflow: 'certificateLifecycle',
    change:
      'the certificate brought along with its order when SCM issued it at once, and the "requested" comment ' +
      'posted by a local activity just before the order; one marker for these and the six changes above',
    introduced: '2026-12-06',
    stage: 'patched',
    due: '2028-01-06',
    alsoMarkedBy: ['changes-1-to-9'],
  },
  {
    id: 'changes-1-to-9',
    workflow: 'certificateLifecycle',
    change:
      "a step's search attributes written in one upsert, only those that changed; a renewal's next run started " +
      'indexed as its certificate, and planned with the settings the renewal carries instead of reading the ' +
      'profile; one marker for these and the eight changes above',
    introduced: '2026-12-07',
    stage: 'patched',
    due: '2028-01-07',
  },
  {
    id: 'account-sweep',
    workflow: 'renewalSweep',
    change: "the sweep reads each SCM account's lists (the accounts read by an activity)",
    introduced: '2026-12-06',
    stage: 'patched',
    due: '2027-01-06',
  },
  {
    id: 'account-routing',
    workflow: 'revokeExternalCertificate',
    change: 'the certificate looked up and revoked in the SCM account of the profile named (read by a local activity)',
    introduced: '2026-12-06',
    stage: 'patched',
    due: '2027-01-06',
  },
  {
    id: 'index-sweep',
    workflow: 'renewalSweep',
    change: 'the sweep reads visibility and SCM change lists instead of querying every workflow',
    introduced: '2026-11-28',
    deprecated: '2026-12-05',
    stage: 'deprecated',
    due: '2027-01-05',
  },
  {
    id: 'unowned-orders',
    workflow: 'renewalSweep',
    change:
      'the sweep reports orders carrying the connector token that no workflow owns (called only on the path ' +
      'index-sweep replaced, so it went with that path)',
    introduced: '2026-11-28',
    stage: 'removed',
    due: '2026-12-05',
  },
];

/** How long a run of each patched workflow is meant to last, for the register's reader. */
export const LONGEST_RUN: Record<PatchedWorkflow, string> = {
  certificateLifecycle: CERTIFICATE_RUN,
  renewalSweep: 'minutes (a run a day)',
  revokeExternalCertificate: 'up to 30 days (an incomplete request waits that long for its issue to be corrected)',
};

/**
 * The visibility query for the running runs that keep `patch` at its stage: none must be left before it
 * moves on (`temporal workflow count --query "…"` answers 0). A patched change waits for the runs that
 * did not take its new path (no marker: TemporalChangeVersion is the patch ids a run recorded); a
 * deprecated one for the runs started before it was deprecated, which older workers may have run.
 */
export function runsHolding(patch: Patch): string {
  const running = `WorkflowType = '${patch.workflow}' AND ExecutionStatus = 'Running'`;
  if (patch.stage === 'deprecated') return `${running} AND StartTime < '${patch.deprecated ?? patch.due}T00:00:00Z'`;
  const markers = [patch.id, ...(patch.alsoMarkedBy ?? [])].map((m) => `'${m}'`).join(', ');
  return `${running} AND (TemporalChangeVersion IS NULL OR TemporalChangeVersion NOT IN (${markers}))`;
}
