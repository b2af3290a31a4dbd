/**
 * certificateLifecycle: one durable workflow per certificate request (one Jira "Certificate" issue).
 *
 *   Validating → Enrolling → AwaitingIssuance → Publishing → Active ⇄ RenewalDue → Renewing → (next run)
 *
 * Enrollment runs once, in order. After it the workflow is a loop over `decide` (policy/lifecycle.ts):
 * state and workflow time in, the next action out. One run per certificate generation: a renewal ends
 * the run with continue-as-new, carrying the new certificate. Every text users read is in messages.ts.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ContinueAsNew,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxySinks,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  ErrorType,
  csrChangedSignal,
  reevaluateSignal,
  renewUpdate,
  revocationReasonName,
  revokeUpdate,
  scmObservationSignal,
  searchAttributes,
  statusQuery,
  type CarriedState,
  type CertificateSinks,
  type CertificateLifecycleInput,
  type CertificatePhase,
  type CertificateRecord,
  type CertificateStatus,
  type IssueReason,
  type IssuedCertificate,
  type IssueState,
  type ProfileSettings,
  type RenewAccepted,
  type RenewRequest,
  type RevokeAccepted,
  type RevokeRequest,
  type ScmObservation,
} from '../contract.ts';
import { comments, renewalRefusals, revocationRefusals, type Remedy } from '../messages.ts';
import type { JiraActivities } from '../activities/jira.ts';
import { jira, localJira, localRequests, requests, orders, issuance } from './activities.ts';
import { decide, type Decision } from './policy/lifecycle.ts';
import { backoffFor, manualRenewalAllowed, renewalBackoff, renewalPlan, type RenewalPlan } from './policy/renewal.ts';

/** Activities whose 4xx is SCM refusing the requester's order, not a misconfiguration of ours. */
const ORDERING_ACTIVITIES = new Set(['enrollCertificate', 'renewCertificate']);
const REMEDIES: ReadonlySet<string> = new Set<Remedy>([
  'CsrRejected',
  'RequestIncomplete',
  'CaDeclined',
  'UpstreamRejected',
]);

/** A failure the requester can act on: its reason and remedy; undefined when it is not theirs to fix. */
function userFacing(err: unknown): { remedy: Remedy; reason: string } | undefined {
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
function failureType(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return cause.type ?? 'Error';
  return cause instanceof Error ? cause.name : 'Error';
}

/** The message of any failure, for the issue and the Web UI (never a stack trace). */
function reasonOf(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** What the workflow does on its Jira issue; without one (a CLI enrollment) nothing is said anywhere. */
type Tracker = Pick<
  JiraActivities,
  | 'readCertificateIssue'
  | 'commentOnce'
  | 'attachOnce'
  | 'updateIssue'
  | 'moveIssue'
  | 'returnIssueTo'
  | 'publishCertificate'
>;

/** The issue's tracker, with the issue read by a local activity. (A proxy of activities cannot be spread.) */
function readingLocally(remote: Tracker): Tracker {
  return {
    readCertificateIssue: localJira.readCertificateIssue,
    commentOnce: remote.commentOnce,
    attachOnce: remote.attachOnce,
    updateIssue: remote.updateIssue,
    moveIssue: remote.moveIssue,
    returnIssueTo: remote.returnIssueTo,
    publishCertificate: remote.publishCertificate,
  };
}

function withoutIssue(issueKey: string, request: { csr: string; profileName: string }): Tracker {
  const nothing = () => Promise.resolve();
  return {
    readCertificateIssue: () =>
      Promise.resolve({
        key: issueKey,
        issueType: '',
        status: '',
        summary: '',
        profileName: request.profileName,
        csr: request.csr,
        certificateId: undefined,
        reporterAccountId: undefined,
        attachments: [],
      }),
    commentOnce: nothing,
    attachOnce: nothing,
    updateIssue: nothing,
    moveIssue: nothing,
    returnIssueTo: nothing,
    publishCertificate: nothing,
  };
}

const { metrics } = proxySinks<CertificateSinks>();
const secondsSince = (start: number) => (Date.now() - start) / 1000;

export async function certificateLifecycle(input: CertificateLifecycleInput): Promise<CertificateStatus> {
  const { issueKey, carried } = input;
  const info = workflowInfo();
  // Which changes this run follows, decided once before anything else: a run started by older code keeps
  // its old shape to the end (its history has none of these markers), and a patch asked for only after a
  // local activity is sensitive to how that activity's result is replayed. A run started today records one
  // marker for all five (each marker costs two events, the SDK's TemporalChangeVersion upsert with it);
  // runs from before recorded each one.
  const today = patched('changes-1-to-5');
  const changes = {
    localRequests: today || patched('local-requests'),
    batchedPublish: today || patched('batched-publish'),
    fingerprintAttribute: today || patched('fingerprint-search-attribute'),
    localIssueRead: today || patched('local-issue-read'),
    orderBesideRequestComment: today || patched('order-beside-request-comment'),
  };
  const tracker: Tracker = input.standalone
    ? withoutIssue(issueKey, input.standalone)
    : changes.localIssueRead
      ? readingLocally(jira)
      : jira;
  const status: CertificateStatus = {
    issueKey,
    // A continued run is still finishing its renewal until it has planned the next one.
    phase: carried ? 'Renewing' : 'Validating',
    generation: carried?.generation ?? 0,
    history: carried?.history ?? [],
    renewalFailures: 0,
    profileId: carried?.profileId,
    domain: carried?.domain,
  };
  const handledRequests = carried?.handledRequests ?? [];
  let current: CertificateRecord | undefined = carried?.current;
  let settings: ProfileSettings | undefined;
  let plan: RenewalPlan | undefined;
  let request: RenewRequest | undefined;
  let stale = false;
  let profileMissing = false;
  let observation: ScmObservation | undefined;
  let revocation: RevokeRequest | undefined = carried?.revocation;
  /** Certificates issued after a revocation was asked for: revoked with the rest, never published. */
  const unpublished: CertificateRecord[] = [];
  let csrChanged = false;
  /** Edits of the CSR field signalled so far: one after the issue was read changed the request under it. */
  let csrEdits = 0;
  let nextAttemptAt = 0;
  const escalated: number[] = [];
  let lastReportedFailure: string | undefined;

  /** Identifies one effect of this request: comments and orders are made once per id. */
  const eventId = (event: string) => `${info.workflowId}/${info.firstExecutionRunId}/g${status.generation}/${event}`;
  /** The same, for an effect that belongs to one certificate (its comments survive renewals unmixed). */
  const certificateEventId = (certificateId: number, event: string) =>
    `${info.workflowId}/${info.firstExecutionRunId}/c${certificateId}/${event}`;
  const enter = (phase: CertificatePhase) => {
    status.phase = phase;
    upsertSearchAttributes([{ key: searchAttributes.status, value: phase }]);
    setCurrentDetails(describe(status, input.issueUrl));
  };
  const live = () => ['Active', 'RenewalDue', 'Expired'].includes(status.phase);
  /** Whether a request with this id was handled already (Jira redelivers; people click twice). */
  const seen = (requestId: string | undefined) => requestId !== undefined && handledRequests.includes(requestId);
  /** Records a request id, keeping the last 50; false when it was handled already. */
  const firstTime = (requestId: string | undefined): boolean => {
    if (seen(requestId)) return false;
    if (requestId !== undefined) handledRequests.push(requestId);
    handledRequests.splice(0, Math.max(0, handledRequests.length - 50));
    return true;
  };

  setHandler(statusQuery, () => status);
  setHandler(reevaluateSignal, () => void (stale = true));
  setHandler(csrChangedSignal, () => {
    csrChanged = true;
    csrEdits++;
    stale = true;
  });
  setHandler(scmObservationSignal, (seen) => void (observation = seen));
  setHandler(
    revokeUpdate,
    (asked): RevokeAccepted => {
      if (!firstTime(asked.requestId)) return { result: 'duplicate', phase: status.phase };
      if (revocation !== undefined) return { result: 'joined', phase: status.phase };
      revocation = asked;
      return { result: 'accepted', phase: status.phase };
    },
    {
      // Taken in every phase but one: a request that was never enrolled has nothing to revoke.
      validator: (asked: RevokeRequest) => {
        if (seen(asked.requestId)) return;
        if (status.phase === 'Rejected') throw refusal(ErrorType.RevocationNotPossible, revocationRefusals.notEnrolled);
        if (![0, 1, 3, 4, 5].includes(asked.reasonCode)) {
          throw refusal(ErrorType.RevocationNotPossible, `reason code ${asked.reasonCode} is not one SCM accepts`);
        }
      },
    },
  );
  setHandler(
    renewUpdate,
    (renewal): RenewAccepted => {
      if (!firstTime(renewal.requestId)) return { result: 'duplicate', phase: status.phase };
      // One renewal serves every request made while it is waiting or under way.
      if (request !== undefined || status.phase === 'Renewing') return { result: 'joined', phase: status.phase };
      request = renewal;
      return { result: 'accepted', phase: status.phase };
    },
    {
      // Refuse only what can be decided now; a request that arrives while the workflow is busy waits.
      validator: (renewal: RenewRequest) => {
        if (seen(renewal.requestId)) return;
        if (status.phase === 'Rejected') throw refusal(ErrorType.RenewalNotPossible, renewalRefusals.rejected);
        if (status.phase === 'Revoked' || status.phase === 'Revoking') {
          throw refusal(ErrorType.RenewalNotPossible, renewalRefusals.revoked);
        }
        if (renewal.force || !live() || !plan || !settings) return;
        if (request === undefined && !manualRenewalAllowed(plan, settings, Date.now())) {
          throw refusal(ErrorType.RenewalOutsideWindow, renewalRefusals.outsideWindow);
        }
      },
    },
  );

  try {
    if (!current) {
      const issued = await enroll();
      if (issued === 'withdrawn') return await revokeAll(undefined);
      if (!issued) return status;
      current = record(issued);
      status.history.push({ ...current, reason: 'enrolled' });
      log.info('certificate enrolled', { issueKey, certificateId: current.certificateId, domain: status.domain });
    }
    adopt(current);

    for (;;) {
      const decision = decide(
        {
          phase: status.phase,
          current,
          settings,
          plan,
          stale,
          profileMissing,
          request,
          observation: observation !== undefined,
          revocation: revocation !== undefined,
          nextAttemptAt,
          renewalFailures: status.renewalFailures,
          escalated,
        },
        Date.now(),
      );
      const next = await act(decision, current);
      if (next === 'done') return status;
      if (next) {
        await condition(allHandlersFinished);
        // Read only now: a revocation accepted at any point of the renewal, up to this instant, goes along.
        const carriedOn: CarriedState = revocation ? { ...next, revocation } : next;
        return await continueAsNew<typeof certificateLifecycle>({ ...input, carried: carriedOn });
      }
    }
  } catch (err) {
    if (err instanceof ContinueAsNew || isCancellation(err)) throw err;
    // Nothing fails silently: say what happened on the issue, leave it where the user can act, then fail.
    status.lastError = reasonOf(err);
    setCurrentDetails(describe(status, input.issueUrl));
    metrics.failed(current ? 'renew' : 'enroll', failureType(err));
    await jira
      .commentOnce(
        issueKey,
        eventId('failed'),
        comments.failed(status.lastError, info.workflowId, current !== undefined),
      )
      .then(() => (current ? undefined : tracker.moveIssue(issueKey, 'request')))
      .catch((reportErr: unknown) =>
        log.error('could not report the failure on the issue', { error: reasonOf(reportErr) }),
      );
    throw err;
  }

  /** Carries out one decision; a renewal answers the next run's state, the end of the life 'done'. */
  async function act(decision: Decision, certificate: CertificateRecord): Promise<CarriedState | 'done' | undefined> {
    switch (decision.action) {
      case 'revoke':
        await revokeAll(certificate);
        return 'done';
      case 'plan':
        await replan(certificate);
        return undefined;
      case 'reconcile': {
        const seen = observation as ScmObservation;
        observation = undefined;
        return (await reconcile(seen, certificate)) ? 'done' : undefined;
      }
      case 'refuse': {
        const refused = request as RenewRequest;
        request = undefined;
        await tracker.commentOnce(
          issueKey,
          eventId(`refused-${refused.requestId ?? 'request'}`),
          renewalRefusals.outsideWindow,
        );
        if (refused.returnToStatus) await tracker.returnIssueTo(issueKey, refused.returnToStatus);
        return undefined;
      }
      case 'renew': {
        const reason: IssueReason = {
          Requested: 'manual',
          Forced: 'forced',
          ForcedByProfile: 'profile-forced',
          RenewalDue: 'automatic',
        }[decision.reason] as IssueReason;
        const asked = request;
        const renewed = await renew(reason, asked, certificate);
        request = undefined;
        if (renewed === 'revoking') return undefined;
        if (!renewed) {
          nextAttemptAt = Date.now() + renewalBackoff(status.renewalFailures, backoffFor(certificate), false);
          return undefined;
        }
        log.info('certificate renewed', {
          issueKey,
          certificateId: renewed.certificateId,
          replaces: certificate.certificateId,
          reason,
        });
        return {
          generation: status.generation + 1,
          profileId: status.profileId ?? '',
          domain: status.domain ?? '',
          current: renewed,
          history: [...status.history, { ...renewed, reason }].slice(-20),
          handledRequests,
        };
      }
      case 'markExpired':
        enter('Expired');
        await tracker.commentOnce(
          issueKey,
          eventId('expired'),
          comments.expired(certificate.certificateId, status.domain ?? '', certificate.notAfter),
        );
        return undefined;
      case 'openWindow':
        enter('RenewalDue');
        if (settings && !settings.autoRenew) {
          await tracker.commentOnce(
            issueKey,
            eventId('window-open'),
            comments.windowOpen(
              certificate.certificateId,
              status.domain ?? '',
              certificate.notAfter,
              settings.profileName,
            ),
          );
        }
        return undefined;
      case 'escalate':
        for (const before of decision.points) {
          escalated.push(before);
          const days = Math.round(before / 86_400_000);
          await tracker.commentOnce(
            issueKey,
            eventId(`escalation-${days}d`),
            comments.escalation(
              certificate.certificateId,
              status.domain ?? '',
              certificate.notAfter,
              days,
              status.lastError ?? 'unknown error',
            ),
          );
        }
        return undefined;
      case 'wait': {
        const now = Date.now();
        const { until } = decision;
        await condition(
          () => request !== undefined || stale || observation !== undefined || revocation !== undefined,
          until === undefined ? undefined : Math.max(1, until - now),
          {
            summary:
              decision.reason === 'ProfileMissing'
                ? 'waiting for the profile to be configured again'
                : until === undefined
                  ? 'waiting for a renewal or revocation request'
                  : `${nextEvent(until, certificate)} at ${instant(until)}`,
          },
        );
        return undefined;
      }
    }
  }

  /** Makes the plan's profile fingerprint searchable: the sweep asks visibility for stale ones. */
  function indexFingerprint(fingerprint: string | null): void {
    if (changes.fingerprintAttribute) {
      upsertSearchAttributes([{ key: searchAttributes.profileFingerprint, value: fingerprint }]);
    }
  }

  /** What happens at `until`, the instant the workflow waits for, in the Web UI's words. */
  function nextEvent(until: number, certificate: CertificateRecord): string {
    if (until === nextAttemptAt) return 'next renewal attempt';
    if (until === status.renewAt) return 'automatic renewal';
    if (until === status.windowOpensAt) return 'renewal window opens';
    if (until === certificate.notAfter) return 'certificate expires';
    return 'next check';
  }

  /** Reads the profile and plans renewal; a missing profile is said once and waited out. */
  async function replan(certificate: CertificateRecord): Promise<void> {
    stale = false;
    if (csrChanged) {
      // A new CSR may be the fix: the next attempt need not wait out the backoff.
      csrChanged = false;
      nextAttemptAt = renewalBackoff(status.renewalFailures, backoffFor(certificate), true);
    }
    const profileId = status.profileId ?? '';
    const read = await (changes.localRequests
      ? localRequests.getProfileSettings(profileId)
      : requests.getProfileSettings(profileId));
    if (!read) {
      if (!profileMissing) {
        profileMissing = true;
        status.lastError = `profile "${status.profileId ?? ''}" is not configured`;
        status.profileFingerprint = undefined;
        indexFingerprint(null);
        setCurrentDetails(describe(status, input.issueUrl));
        await tracker.commentOnce(
          issueKey,
          eventId(`profile-missing-${Date.now()}`),
          comments.profileMissing(status.profileId ?? ''),
        );
      }
      return;
    }
    if (profileMissing) {
      profileMissing = false;
      status.lastError = undefined;
      await tracker.commentOnce(
        issueKey,
        eventId(`profile-restored-${Date.now()}`),
        comments.profileRestored(read.profileName),
      );
    }
    settings = read;
    plan = renewalPlan(certificate, settings, info.workflowId);
    if (status.profileFingerprint !== settings.fingerprint) indexFingerprint(settings.fingerprint);
    status.profileFingerprint = settings.fingerprint;
    status.windowOpensAt = plan.windowOpensAt;
    status.renewAt = settings.autoRenew ? plan.renewAt : undefined;
    upsertSearchAttributes([
      { key: searchAttributes.renewAt, value: settings.autoRenew ? new Date(plan.renewAt) : null },
    ]);
    if (plan.note) {
      log.warn('expiry window adjusted', { issueKey, note: plan.note });
      // Said where people look: the certificate still renews, just not where the profile says.
      await tracker.commentOnce(
        issueKey,
        eventId(`window-${plan.note}-${settings.fingerprint}`),
        comments.windowAdjusted(
          settings.profileName,
          plan.note === 'WindowClamped',
          certificate.certificateId,
          plan.windowOpensAt,
        ),
      );
    }
    // Requests are validated against the plan, so the certificate is Active only once there is one.
    if (!live()) enter(Date.now() >= certificate.notAfter ? 'Expired' : 'Active');
    else setCurrentDetails(describe(status, input.issueUrl));
  }

  /**
   * Validate → order → await issuance → publish. Undefined when the request was rejected or is stale;
   * 'withdrawn' when a revocation came before anything was ordered. A certificate issued after a
   * revocation was asked for is answered unpublished, to be revoked.
   */
  async function enroll(): Promise<IssuedCertificate | 'withdrawn' | undefined> {
    const startedAt = Date.now();
    enter('Validating');
    try {
      const editsWhenRead = csrEdits;
      const issue = await tracker.readCertificateIssue(issueKey, { statusChange: true });
      const latest = issue.lastStatusChange;
      if (!triggerIsCurrent(latest)) {
        if (!latest?.enrolls) {
          // The request was taken back since (or this is a replayed delivery): nothing is ordered or said.
          // An Enroll after this finds the run ended, or waits for it to end, and starts afresh.
          status.lastError = 'the triggering transition is no longer the issue’s latest status change';
          log.warn('stale trigger ignored', { issueKey, triggerId: input.triggerId });
          enter('Rejected');
          return undefined;
        }
        // Enroll, back to request, Enroll again before this run read the issue: the later Enroll finds this
        // run still going, so this run serves it, with the issue as it is now.
        log.info('following the latest Enroll', { issueKey, triggerId: input.triggerId, latest: latest.id });
      }
      const { profileId, csr } = await validate({ profileName: issue.profileName, csr: issue.csr });
      status.profileId = profileId;
      status.domain = csr.domain;
      upsertSearchAttributes([
        { key: searchAttributes.domain, value: csr.domain },
        { key: searchAttributes.profile, value: profileId },
      ]);
      // Posted by this one activity alone, once per run: a first attempt need not look for it.
      const requested = () =>
        tracker.commentOnce(
          issueKey,
          eventId('requested'),
          comments.requested(
            csr.domain,
            csr.subjectAltNames.filter((n) => n !== csr.domain),
            issue.profileName ?? profileId,
            csr.keyType,
          ),
          { unique: true },
        );
      if (!changes.orderBesideRequestComment) await requested();

      if (revocation) return 'withdrawn';
      enter('Enrolling');
      const ordered = orders.enrollCertificate.executeWithOptions(
        { summary: `order a certificate for ${csr.domain} from SCM (profile ${profileId})` },
        [
          {
            profileId,
            csr: csr.pem,
            commonName: csr.commonName,
            subjectAltNames: csr.subjectAltNames,
            token: eventId('enroll'),
            issueKey,
          },
        ],
      );
      const { certificateId } = changes.orderBesideRequestComment
        ? await besideComment(ordered, requested())
        : await ordered;
      status.certificateId = certificateId;
      upsertSearchAttributes([{ key: searchAttributes.certificateId, value: String(certificateId) }]);

      enter('AwaitingIssuance');
      const certificate = await collect(certificateId, csr.pem);
      if (revocation) {
        unpublished.push(record(certificate));
        return certificate;
      }

      enter('Publishing');
      // Said in the "enrolled" comment (no step of its own): the certificate is for the CSR of the request.
      const edited = csrEdits > editsWhenRead;
      await publish(certificate, 'enrolled', undefined, edited ? [comments.csrChangedWhileIssued] : []);
      metrics.completed('enroll', profileId, secondsSince(startedAt));
      return certificate;
    } catch (err) {
      const problem = userFacing(err);
      if (!problem) throw err;
      status.lastError = problem.reason;
      enter('Rejected');
      metrics.failed('enroll', problem.remedy);
      log.info('request rejected', { issueKey, remedy: problem.remedy, reason: problem.reason });
      await tracker.commentOnce(
        issueKey,
        eventId('rejected'),
        comments.enrollmentFailed(problem.reason, problem.remedy),
      );
      await tracker.moveIssue(issueKey, 'request');
      return undefined;
    }
  }

  /** Checks the request's CSR against its profile. */
  function validate(request: { profileName: string | undefined; csr: string }) {
    const options = { summary: `check the CSR against profile "${request.profileName ?? '(none)'}"` };
    return changes.localRequests
      ? localRequests.validateRequest.executeWithOptions(options, [request])
      : requests.validateRequest.executeWithOptions(options, [request]);
  }

  /**
   * The order, placed while the "requested" comment is posted: the order's failure is the enrollment's;
   * the comment's, once the order is placed, is not (the certificate is published to the same issue next,
   * and its steps report what Jira refuses).
   */
  async function besideComment<T>(order: Promise<T>, comment: Promise<void>): Promise<T> {
    const [ordered, commented] = await Promise.allSettled([order, comment]);
    if (ordered.status === 'rejected') throw ordered.reason;
    if (commented.status === 'rejected') {
      if (isCancellation(commented.reason)) throw commented.reason;
      log.warn('could not post the "requested" comment', { issueKey, error: reasonOf(commented.reason) });
    }
    return ordered.value;
  }

  /** Waits for SCM to issue the certificate ordered for `csr` and downloads it. */
  function collect(certificateId: number, csr: string): Promise<IssuedCertificate> {
    return issuance.collectCertificate.executeWithOptions(
      { summary: `collect certificate ${certificateId} once SCM has issued it` },
      [certificateId, { csr }],
    );
  }

  /** Whether the issue's latest status change is the transition that started this run. */
  function triggerIsCurrent(latest: { id: string; toStatus: string } | undefined): boolean {
    if (!input.triggerId.startsWith('changelog:') || latest === undefined) return true;
    return `changelog:${latest.id}` === input.triggerId;
  }

  /** Renews `from`; answers the new certificate, or undefined after reporting the failure. */
  async function renew(
    reason: IssueReason,
    asked: RenewRequest | undefined,
    from: CertificateRecord,
  ): Promise<CertificateRecord | 'revoking' | undefined> {
    const startedAt = Date.now();
    enter('Renewing');
    log.info('renewing', { issueKey, reason, certificateId: from.certificateId });
    try {
      const editsWhenRead = csrEdits;
      const issue = await tracker.readCertificateIssue(issueKey);
      const { csr } = await validate({ profileName: settings?.profileName, csr: issue.csr });
      if (revocation) return 'revoking';
      // What changed on the issue since the certificate renewed was issued is said with the renewal.
      const notes: string[] = [];
      if (status.domain !== undefined && csr.domain !== status.domain) {
        notes.push(comments.namesChanged(status.domain, csr.domain));
      }
      if (issue.profileName && settings && issue.profileName !== settings.profileName) {
        notes.push(comments.profileKept(issue.profileName, settings.profileName));
      }
      const { certificateId } = await orders.renewCertificate.executeWithOptions(
        { summary: `renew certificate ${from.certificateId} (${reason}) in SCM` },
        [
          {
            certificateId: from.certificateId,
            csr: csr.pem,
            commonName: csr.commonName,
            subjectAltNames: csr.subjectAltNames,
            profileId: status.profileId ?? '',
            issueKey,
            token: eventId('renew'),
          },
        ],
      );
      const certificate = await collect(certificateId, csr.pem);
      if (revocation) {
        unpublished.push(record(certificate));
        return 'revoking';
      }
      if (csrEdits > editsWhenRead) notes.push(comments.csrChangedWhileIssued);
      await publish(certificate, reason, from, notes);
      metrics.completed('renew', status.profileId ?? '', secondsSince(startedAt));
      status.renewalFailures = 0;
      // The next generation is known by the names it was issued for.
      status.domain = csr.domain;
      return record(certificate);
    } catch (err) {
      if (isCancellation(err) || !(err instanceof ActivityFailure || err instanceof ApplicationFailure)) throw err;
      // A renewal never ends the certificate's life: the current one stays valid, and renewal is retried.
      const problem = userFacing(err) ?? { remedy: 'Internal' as const, reason: reasonOf(err) };
      status.renewalFailures++;
      status.lastError = problem.reason;
      metrics.failed('renew', userFacing(err) ? problem.remedy : failureType(err));
      enter(Date.now() >= from.notAfter ? 'Expired' : 'RenewalDue');
      const retry = reason === 'automatic' || reason === 'profile-forced';
      // Automatic retries report a reason once, not at every attempt; escalations remind before expiry.
      if (!retry || problem.reason !== lastReportedFailure) {
        lastReportedFailure = problem.reason;
        await tracker.commentOnce(
          issueKey,
          eventId(`renewal-failed-${status.renewalFailures}`),
          comments.renewalFailed(problem.reason, problem.remedy, retry),
        );
      }
      if (asked?.returnToStatus) await tracker.returnIssueTo(issueKey, asked.returnToStatus);
      return undefined;
    }
  }

  /** Puts a certificate on the issue: comment, attachment, fields, status. Each step is idempotent. */
  async function publish(
    certificate: IssuedCertificate,
    reason: IssueReason,
    replaces?: CertificateRecord,
    notes: string[] = [],
  ): Promise<void> {
    const domain = status.domain ?? String(certificate.certificateId);
    const filename = `${domain.replace(/^\*\./, 'wildcard.').replace(/[^a-zA-Z0-9.-]/g, '_')}_${certificate.certificateId}.pem`;
    const { certificateId, serialNumber, notAfter } = certificate;
    const said = replaces
      ? comments.renewed(reason, certificateId, replaces.certificateId, serialNumber, notAfter)
      : comments.enrolled(certificateId, serialNumber, notAfter);
    const comment = {
      eventId: eventId(replaces ? 'renewed' : 'enrolled'),
      text: [said, ...notes].join('\n\n'),
    };
    const fields = {
      ...(replaces ? {} : { summary: `Certificate enrolled:${domain}` }),
      certificateId: String(certificateId),
      expiryDate: new Date(notAfter).toISOString().slice(0, 10),
    };
    const attached = { eventId: certificateEventId(certificateId, 'attached'), text: comments.attached(filename) };
    // A person may already have asked for the next renewal: the issue then stays in "Certificate Renewed".
    const moveTo: IssueState = replaces ? 'renewed' : 'enrolled';
    const orAlreadyIn: IssueState[] = replaces ? [] : ['renewed'];
    if (changes.batchedPublish) {
      await tracker.publishCertificate(issueKey, {
        comment,
        filename,
        pem: certificate.pem,
        fields,
        attached,
        moveTo,
        orAlreadyIn,
      });
      return;
    }
    await tracker.commentOnce(issueKey, comment.eventId, comment.text);
    await tracker.attachOnce(issueKey, filename, certificate.pem);
    await tracker.updateIssue(issueKey, fields);
    await tracker.commentOnce(issueKey, attached.eventId, attached.text);
    await tracker.moveIssue(issueKey, moveTo, orAlreadyIn);
  }

  /** Makes `certificate` the one this run watches over. */
  function adopt(certificate: CertificateRecord): void {
    status.certificateId = certificate.certificateId;
    status.serialNumber = certificate.serialNumber;
    status.notBefore = certificate.notBefore;
    status.notAfter = certificate.notAfter;
    upsertSearchAttributes([
      { key: searchAttributes.certificateId, value: String(certificate.certificateId) },
      { key: searchAttributes.notAfter, value: new Date(certificate.notAfter) },
      ...(carried
        ? [
            { key: searchAttributes.issueKey, value: issueKey },
            { key: searchAttributes.domain, value: status.domain ?? '' },
            { key: searchAttributes.profile, value: status.profileId ?? '' },
          ]
        : []),
    ]);
    setCurrentDetails(describe(status, input.issueUrl));
  }

  /**
   * Revokes every certificate of the issue that is still valid — the current one, earlier generations
   * not yet expired, and any issued since the revocation was asked for — says so once, and ends.
   */
  async function revokeAll(certificate: CertificateRecord | undefined): Promise<CertificateStatus> {
    const asked = revocation as RevokeRequest;
    enter('Revoking');
    const now = Date.now();
    const by = asked.requestedByName ?? asked.requestedBy;
    const reasonName = revocationReasonName(asked.reasonCode);
    const candidates = [...(certificate ? [certificate] : []), ...status.history, ...unpublished];
    const targets = candidates.filter(
      (c, i) => c.notAfter > now && candidates.findIndex((d) => d.certificateId === c.certificateId) === i,
    );
    const done: Array<{ certificateId: number; serialNumber: string; already: boolean }> = [];
    for (const target of targets) {
      const outcome = await orders.revokeCertificate.executeWithOptions(
        { summary: `revoke certificate ${target.certificateId} in SCM: ${reasonName}` },
        [
          {
            certificateId: target.certificateId,
            reasonCode: asked.reasonCode,
            reason: `${reasonName}: revoked through Jira issue ${issueKey} by ${by}${asked.comment ? ` (${asked.comment})` : ''}`,
          },
        ],
      );
      done.push({
        certificateId: target.certificateId,
        serialNumber: target.serialNumber,
        already: outcome === 'already-revoked',
      });
    }
    status.lastError = undefined;
    status.renewAt = undefined;
    upsertSearchAttributes([
      { key: searchAttributes.status, value: 'Revoked' },
      { key: searchAttributes.renewAt, value: null },
    ]);
    status.phase = 'Revoked';
    log.info('certificate revoked', { issueKey, certificateIds: done.map((d) => d.certificateId) });
    setCurrentDetails(describe(status, input.issueUrl));
    // Certificates issued but all expired are not "nothing issued": the issue says which expired when.
    const expired = candidates.filter((c, i) => candidates.findIndex((d) => d.certificateId === c.certificateId) === i);
    await tracker.commentOnce(
      issueKey,
      eventId('revoked'),
      done.length > 0
        ? comments.revoked(
            done,
            reasonName,
            by,
            now,
            asked.comment,
            unpublished.map((u) => u.certificateId),
          )
        : expired.length > 0
          ? comments.revokedAllExpired(expired, by, now)
          : comments.revokedNothingIssued(by, now),
    );
    await tracker.moveIssue(issueKey, 'revoked', [], reasonName);
    metrics.completed('revoke', status.profileId ?? '', secondsSince(now));
    await condition(allHandlersFinished);
    return status;
  }

  /** Acts on what the sweep saw in SCM; true when the certificate's life is over. */
  async function reconcile(seen: ScmObservation, certificate: CertificateRecord): Promise<boolean> {
    if (seen.certificateId !== certificate.certificateId) return false;
    if (seen.status === 'Revoked') {
      enter('Revoked');
      await tracker.commentOnce(
        issueKey,
        eventId('revoked-outside'),
        comments.revokedOutside(certificate.certificateId, status.domain ?? ''),
      );
      await tracker.moveIssue(issueKey, 'revoked');
      upsertSearchAttributes([{ key: searchAttributes.renewAt, value: null }]);
      return true;
    }
    if (seen.status === 'Replaced' || (seen.status === 'Expired' && Date.now() < certificate.notAfter)) {
      await tracker.commentOnce(
        issueKey,
        eventId(`scm-${seen.status.toLowerCase()}`),
        comments.changedInScm(certificate.certificateId, seen.status),
      );
    }
    return false;
  }
}

function refusal(type: ErrorType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}

/** The certificate without its PEM, stamped with the (workflow) time it was obtained. */
function record({ certificateId, serialNumber, notBefore, notAfter }: IssuedCertificate): CertificateRecord {
  return { certificateId, serialNumber, notBefore, notAfter, obtainedAt: Date.now() };
}

/** Markdown for the Web UI's "current details": where the certificate stands, and what happens next. */
function describe(status: CertificateStatus, issueUrl: string | undefined): string {
  const issue = issueUrl ? `[${status.issueKey}](${issueUrl})` : status.issueKey;
  const lines = [`**${status.phase}** — ${issue}, generation ${status.generation}`];
  if (status.domain) {
    const id = status.certificateId ? ` · certificate ${status.certificateId}` : '';
    lines.push(`${status.domain} · profile ${status.profileId ?? '?'}${id}`);
  }
  const times: string[] = [];
  if (status.notAfter) times.push(`expires ${instant(status.notAfter)}`);
  if (status.renewAt) times.push(`renews ${instant(status.renewAt)}`);
  else if (status.windowOpensAt && status.phase === 'Active')
    times.push(`renewable from ${instant(status.windowOpensAt)}`);
  if (times.length > 0) lines.push(times.join(' · '));
  if (status.lastError) {
    const attempts = status.renewalFailures > 0 ? ` (${status.renewalFailures} failed renewal attempts)` : '';
    lines.push(`**Last error${attempts}:** ${status.lastError}`);
  }
  return lines.join('\n\n');
}

/** An instant as operators read it: UTC to the minute. */
function instant(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}
