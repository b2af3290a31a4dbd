/**
 * certificateLifecycle: one durable workflow per certificate request (one Jira "Certificate" issue).
 *
 *   Validating → Enrolling → AwaitingIssuance → Publishing → Active ⇄ RenewalDue → Renewing → (next run)
 *
 * One run per certificate generation: a renewal ends the run with continue-as-new, carrying the new
 * certificate. The phase is mirrored in the `CertificateStatus` search attribute and answered by the
 * `status` query. Deterministic: all I/O is in activities, time is workflow time, policy is pure.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CsrActivities } from '../activities/csr.ts';
import type { JiraActivities } from '../activities/jira.ts';
import type { ProfileActivities } from '../activities/profiles.ts';
import type { SectigoActivities } from '../activities/sectigo.ts';
import {
  ErrorType,
  RENEWAL_OUTSIDE_WINDOW_MESSAGE,
  SECTIGO_TASK_QUEUE,
  csrChangedSignal,
  reevaluateSignal,
  renewUpdate,
  scmObservationSignal,
  searchAttributes,
  statusQuery,
  type CarriedState,
  type CertificateLifecycleInput,
  type CertificatePhase,
  type CertificateRecord,
  type CertificateStatus,
  type IssueReason,
  type IssuedCertificate,
  type ProfileSettings,
  type RenewRequest,
  type ScmObservation,
} from '../contract.ts';
import {
  backoffFor,
  escalationsDue,
  forcedByProfile,
  manualRenewalAllowed,
  renewalBackoff,
  renewalPlan,
  type RenewalPlan,
} from './policy/renewal.ts';

// One proxy per retry profile, so each call's failure behaviour is visible here.
const jira = proxyActivities<JiraActivities>({
  startToCloseTimeout: '1 minute',
  // Jira outages are waited out; a 4xx means a misconfiguration that retrying cannot fix.
  retry: {
    initialInterval: '1 second',
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: [ErrorType.UpstreamRejected],
  },
});
const requests = proxyActivities<CsrActivities & ProfileActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [ErrorType.CsrRejected, ErrorType.RequestIncomplete] },
});
const orders = proxyActivities<SectigoActivities>({
  taskQueue: SECTIGO_TASK_QUEUE,
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '1 minute',
  // Safe to retry: a retry looks for the order an earlier attempt may have placed before posting again.
  retry: {
    initialInterval: '2 seconds',
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: [ErrorType.UpstreamRejected, ErrorType.CaDeclined, ErrorType.RequestIncomplete],
  },
});
const issuance = proxyActivities<SectigoActivities>({
  taskQueue: SECTIGO_TASK_QUEUE,
  // Short: an attempt lost with its worker is retried after this long.
  startToCloseTimeout: '30 seconds',
  // Validation and approval can take days; poll quickly at first, then every ten minutes.
  scheduleToCloseTimeout: '30 days',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 1.5,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: [ErrorType.UpstreamRejected, ErrorType.CaDeclined],
  },
});

/** What to do about a failure the requester can act on. */
const WHAT_TO_DO: Partial<Record<string, string>> = {
  [ErrorType.CsrRejected]:
    'Paste a corrected CSR into "Certificate CSR text" (for example from ' +
    '`openssl req -new -newkey rsa:2048 -nodes -keyout <domain>.key -out <domain>.csr -subj "/CN=<domain>"`) ' +
    'and run the transition again. Keep the private key; it never leaves you.',
  [ErrorType.RequestIncomplete]: 'Complete the issue and run the transition again.',
  [ErrorType.CaDeclined]:
    'Check the order and the domain validation in Sectigo Certificate Manager, or ask your SCM administrator; ' +
    'then run the transition again.',
  [ErrorType.UpstreamRejected]:
    'Sectigo refused the order. Fix what it names (often the profile or the domain) and run the transition again.',
};

/** Activities whose 4xx is SCM refusing the requester's order, not a misconfiguration of ours. */
const ORDERING_ACTIVITIES = new Set(['enrollCertificate', 'renewCertificate']);

/** A failure to report in Jira: the reason and what to do, or undefined when it is not the user's to fix. */
function userFacing(err: unknown): { type: string; reason: string; whatToDo: string } | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return undefined;
  const type = err.cause.type ?? '';
  if (type === ErrorType.UpstreamRejected && !ORDERING_ACTIVITIES.has(err.activityType)) return undefined;
  const whatToDo = WHAT_TO_DO[type];
  return whatToDo === undefined ? undefined : { type, reason: err.cause.message, whatToDo };
}

export async function certificateLifecycle(input: CertificateLifecycleInput): Promise<CertificateStatus> {
  const { issueKey, carried } = input;
  const info = workflowInfo();
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
  let pendingRenewal: RenewRequest | undefined;
  let reevaluate = false;
  let observation: ScmObservation | undefined;
  let csrChanged = false;
  let lastReportedFailure: string | undefined;

  /** Identifies one effect of this request and generation: comments and orders are made once per id. */
  const eventId = (event: string) => `${info.workflowId}/${info.firstExecutionRunId}/g${status.generation}/${event}`;
  const enter = (phase: CertificatePhase) => {
    status.phase = phase;
    upsertSearchAttributes([{ key: searchAttributes.status, value: phase }]);
    setCurrentDetails(describe(status));
  };

  setHandler(statusQuery, () => status);
  setHandler(reevaluateSignal, () => void (reevaluate = true));
  setHandler(csrChangedSignal, () => {
    csrChanged = true;
    reevaluate = true;
  });
  setHandler(scmObservationSignal, (seen) => void (observation = seen));
  setHandler(
    renewUpdate,
    (request) => {
      if (request.requestId !== undefined && handledRequests.includes(request.requestId)) {
        return { result: 'duplicate', phase: status.phase };
      }
      if (request.requestId !== undefined) handledRequests.push(request.requestId);
      handledRequests.splice(0, Math.max(0, handledRequests.length - 50));
      pendingRenewal = request;
      return { result: 'accepted', phase: status.phase };
    },
    {
      validator: (request: RenewRequest) => {
        if (request.requestId !== undefined && handledRequests.includes(request.requestId)) return;
        if (!current || !plan || !settings || !['Active', 'RenewalDue', 'Expired'].includes(status.phase)) {
          throw ApplicationFailure.create({
            type: ErrorType.RenewalNotPossible,
            message: `The certificate cannot be renewed now: it is ${status.phase}${pendingRenewal ? ' and a renewal is already requested' : ''}.`,
          });
        }
        if (pendingRenewal) {
          throw ApplicationFailure.create({
            type: ErrorType.RenewalNotPossible,
            message: 'A renewal is already requested.',
          });
        }
        if (!request.force && !manualRenewalAllowed(plan, { ...settings }, Date.now())) {
          throw ApplicationFailure.create({
            type: ErrorType.RenewalOutsideWindow,
            message: RENEWAL_OUTSIDE_WINDOW_MESSAGE,
          });
        }
      },
    },
  );

  if (!current) {
    const issued = await enroll();
    if (!issued) return status;
    current = record(issued);
    status.history.push({ ...current, reason: 'enrolled' });
  }
  adopt(current);

  // Active: wait for the renewal moment, a request, a profile change or news from SCM.
  let nextAttemptAt = 0;
  for (;;) {
    if (reevaluate || !settings || !plan) {
      reevaluate = false;
      if (csrChanged) {
        // A new CSR may be the fix: the next attempt need not wait out the backoff.
        csrChanged = false;
        nextAttemptAt = renewalBackoff(status.renewalFailures, backoffFor(current), true);
      }
      settings = await requests.getProfileSettings(status.profileId ?? '');
      plan = renewalPlan(current, settings, info.workflowId);
      status.profileFingerprint = settings.fingerprint;
      status.windowOpensAt = plan.windowOpensAt;
      status.renewAt = settings.autoRenew ? plan.renewAt : undefined;
      upsertSearchAttributes([
        { key: searchAttributes.renewAt, value: settings.autoRenew ? new Date(plan.renewAt) : null },
      ]);
      if (plan.note) {
        log.warn('expiry window adjusted', { issueKey, note: plan.note });
        // Said where people look: the certificate still renews, just not where the profile says.
        await jira.commentOnce(
          issueKey,
          eventId(`window-${plan.note}-${settings.fingerprint}`),
          `The expiry window of profile "${settings.profileName}" ${
            plan.note === 'WindowClamped'
              ? "is as long as this certificate's lifetime or longer"
              : 'is not a usable value'
          }; certificate ${current.certificateId} renews from ${new Date(plan.windowOpensAt).toISOString()} instead.`,
        );
      }
      // Requests are validated against the plan, so the certificate is Active only once there is one.
      if (!['Active', 'RenewalDue', 'Expired'].includes(status.phase)) {
        enter(Date.now() >= current.notAfter ? 'Expired' : 'Active');
      }
    }
    const now = Date.now();

    if (observation) {
      const seen = observation;
      observation = undefined;
      if (await reconcile(seen)) return status;
      continue;
    }

    let reason: IssueReason | undefined;
    let request: RenewRequest | undefined;
    if (pendingRenewal) {
      request = pendingRenewal;
      reason = request.force ? 'forced' : 'manual';
    } else if (forcedByProfile(current.obtainedAt, settings, now) && now >= nextAttemptAt) {
      reason = 'profile-forced';
    } else if (settings.autoRenew && now >= Math.max(plan.renewAt, nextAttemptAt)) {
      reason = 'automatic';
    }

    if (reason) {
      const renewed = await renew(reason, request);
      pendingRenewal = undefined;
      if (renewed) {
        await condition(allHandlersFinished);
        const next: CarriedState = {
          generation: status.generation + 1,
          profileId: status.profileId ?? '',
          domain: status.domain ?? '',
          current: renewed,
          history: [...status.history, { ...renewed, reason }].slice(-20),
          handledRequests,
        };
        return await continueAsNew<typeof certificateLifecycle>({ ...input, carried: next });
      }
      nextAttemptAt = Date.now() + renewalBackoff(status.renewalFailures, backoffFor(current), false);
      continue;
    }

    // Nothing to do now: note what time has brought, then sleep until the next moment that matters.
    if (now >= current.notAfter) {
      if (status.phase !== 'Expired') {
        enter('Expired');
        await jira.commentOnce(
          issueKey,
          eventId('expired'),
          `Certificate ${current.certificateId} for ${status.domain} expired on ${isoDate(current.notAfter)}. ` +
            'Run "Renew Certificate" to renew it.',
        );
      }
    } else if (now >= plan.windowOpensAt) {
      if (status.phase !== 'RenewalDue') {
        enter('RenewalDue');
        if (!settings.autoRenew) {
          await jira.commentOnce(
            issueKey,
            eventId('window-open'),
            `Certificate ${current.certificateId} for ${status.domain} expires on ${isoDate(current.notAfter)}; ` +
              `auto-renewal is off for profile "${settings.profileName}". Run "Renew Certificate" to renew it.`,
          );
        }
      }
      if (status.renewalFailures > 0) await escalate(current);
    }
    const wake = nextWake(now, current, plan, settings, nextAttemptAt);
    await condition(
      () => pendingRenewal !== undefined || reevaluate || observation !== undefined,
      wake === undefined ? undefined : Math.max(1, wake - now),
      { summary: wake === undefined ? 'waiting for a renewal request' : `until ${new Date(wake).toISOString()}` },
    );
  }

  /** Validate → order → await issuance → publish. Undefined when the request was rejected. */
  async function enroll(): Promise<IssuedCertificate | undefined> {
    enter('Validating');
    try {
      const issue = await jira.readCertificateIssue(issueKey);
      const { profileId, csr } = await requests.validateRequest({ profileName: issue.profileName, csr: issue.csr });
      status.profileId = profileId;
      status.domain = csr.domain;
      upsertSearchAttributes([
        { key: searchAttributes.domain, value: csr.domain },
        { key: searchAttributes.profile, value: profileId },
      ]);
      const also = csr.subjectAltNames.filter((n) => n !== csr.domain);
      await jira.commentOnce(
        issueKey,
        eventId('requested'),
        `Certificate requested for ${csr.domain}${also.length > 0 ? ` (also ${also.join(', ')})` : ''}, ` +
          `profile "${issue.profileName}", ${csr.keyType} key. Ordering it from Sectigo Certificate Manager.`,
      );

      enter('Enrolling');
      const { certificateId } = await orders.enrollCertificate({
        profileId,
        csr: issue.csr,
        commonName: csr.commonName,
        subjectAltNames: csr.subjectAltNames,
        token: eventId('enroll'),
        issueKey,
      });
      status.certificateId = certificateId;
      upsertSearchAttributes([{ key: searchAttributes.certificateId, value: String(certificateId) }]);

      enter('AwaitingIssuance');
      const certificate = await issuance.collectCertificate(certificateId);

      enter('Publishing');
      await publish(certificate, 'enrolled');
      return certificate;
    } catch (err) {
      const problem = userFacing(err);
      if (!problem) throw err;
      status.lastError = problem.reason;
      enter('Rejected');
      log.info('request rejected', { issueKey, type: problem.type, reason: problem.reason });
      await jira.commentOnce(
        issueKey,
        eventId('rejected'),
        `Enrollment failed: ${problem.reason}\n\n${problem.whatToDo.replace('the transition', '"Enroll Certificate"')}`,
      );
      await jira.moveIssue(issueKey, 'request');
      return undefined;
    }
  }

  /** Renews the current certificate; answers the new one, or undefined after reporting the failure. */
  async function renew(reason: IssueReason, request: RenewRequest | undefined): Promise<CertificateRecord | undefined> {
    const from = current as CertificateRecord;
    enter('Renewing');
    log.info('renewing', { issueKey, reason, certificateId: from.certificateId });
    try {
      const issue = await jira.readCertificateIssue(issueKey);
      const { csr } = await requests.validateRequest({ profileName: settings?.profileName, csr: issue.csr });
      const { certificateId } = await orders.renewCertificate({
        certificateId: from.certificateId,
        csr: issue.csr,
        commonName: csr.commonName,
        profileId: status.profileId ?? '',
        issueKey,
      });
      const certificate = await issuance.collectCertificate(certificateId);
      await publish(certificate, reason, from);
      status.renewalFailures = 0;
      return record(certificate);
    } catch (err) {
      const problem = userFacing(err);
      if (!problem) throw err;
      status.renewalFailures++;
      status.lastError = problem.reason;
      enter(Date.now() >= from.notAfter ? 'Expired' : 'RenewalDue');
      const retry = reason === 'automatic' || reason === 'profile-forced';
      // Automatic retries report a reason once, not at every attempt; escalations remind before expiry.
      if (!retry || problem.reason !== lastReportedFailure) {
        lastReportedFailure = problem.reason;
        await jira.commentOnce(
          issueKey,
          eventId(`renewal-failed-${status.renewalFailures}`),
          `Renewal failed: ${problem.reason}\n\n${problem.whatToDo.replace('the transition', '"Renew Certificate"')}` +
            (retry ? ' The connector also retries by itself, with growing pauses, until the certificate expires.' : ''),
        );
      }
      if (request?.returnToStatus) await jira.returnIssueTo(issueKey, request.returnToStatus);
      return undefined;
    }
  }

  /** Puts a certificate on the issue: comment, attachment, fields, status. Each step is idempotent. */
  async function publish(
    certificate: IssuedCertificate,
    reason: IssueReason,
    replaces?: CertificateRecord,
  ): Promise<void> {
    const domain = status.domain ?? String(certificate.certificateId);
    const filename = `${domain.replace(/^\*\./, 'wildcard.').replace(/[^a-zA-Z0-9.-]/g, '_')}_${certificate.certificateId}.pem`;
    const validity = `valid until ${new Date(certificate.notAfter).toISOString()}`;
    if (replaces) {
      const why = {
        manual: '',
        forced: ' (forced)',
        'profile-forced': ' (forced by the profile)',
        automatic: ' automatically',
        enrolled: '',
      }[reason];
      await jira.commentOnce(
        issueKey,
        eventId('renewed'),
        `Certificate renewed${why}: Certificate ID ${certificate.certificateId} replaces ${replaces.certificateId}, ` +
          `serial ${certificate.serialNumber}, ${validity}.`,
      );
    } else {
      await jira.commentOnce(
        issueKey,
        eventId('enrolled'),
        `Certificate enrolled: Certificate ID ${certificate.certificateId}, serial ${certificate.serialNumber}, ${validity}.`,
      );
    }
    await jira.attachOnce(issueKey, filename, certificate.pem);
    await jira.updateIssue(issueKey, {
      ...(replaces ? {} : { summary: `Certificate enrolled:${domain}` }),
      certificateId: String(certificate.certificateId),
      expiryDate: isoDate(certificate.notAfter),
    });
    await jira.commentOnce(
      issueKey,
      eventId('attached'),
      `Certificate attached: ${filename} (certificate and chain, PEM).`,
    );
    await jira.moveIssue(issueKey, replaces ? 'renewed' : 'enrolled');
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
    setCurrentDetails(describe(status));
  }

  /** Acts on what the sweep saw in SCM; true when the certificate's life is over. */
  async function reconcile(seen: ScmObservation): Promise<boolean> {
    if (!current || seen.certificateId !== current.certificateId) return false;
    if (seen.status === 'Revoked') {
      enter('Revoked');
      await jira.commentOnce(
        issueKey,
        eventId('revoked-outside'),
        `Certificate ${current.certificateId} for ${status.domain} was revoked in Sectigo Certificate Manager, outside Jira. ` +
          'It is no longer renewed. Create a new Certificate request if the domain still needs one.',
      );
      await jira.moveIssue(issueKey, 'revoked');
      upsertSearchAttributes([{ key: searchAttributes.renewAt, value: null }]);
      return true;
    }
    if (seen.status === 'Replaced' || (seen.status === 'Expired' && Date.now() < current.notAfter)) {
      await jira.commentOnce(
        issueKey,
        eventId(`scm-${seen.status.toLowerCase()}`),
        `Sectigo Certificate Manager shows certificate ${current.certificateId} as ${seen.status}, outside Jira. ` +
          'Run "Renew Certificate" to issue a replacement through Jira.',
      );
    }
    return false;
  }

  /** Comments once at each fixed point before expiry while renewal keeps failing. */
  async function escalate(certificate: CertificateRecord): Promise<void> {
    for (const before of escalationsDue(certificate.notAfter, Date.now())) {
      const days = Math.round(before / 86_400_000);
      await jira.commentOnce(
        issueKey,
        eventId(`escalation-${days}d`),
        `Certificate ${certificate.certificateId} for ${status.domain} expires on ${isoDate(certificate.notAfter)}, ` +
          `in ${days} day${days === 1 ? '' : 's'} or less, and renewal keeps failing: ${status.lastError ?? 'unknown error'}. ` +
          'Fix the cause and run "Renew Certificate".',
      );
    }
  }
}

/** The next instant at which time alone changes something, or undefined when only a request can. */
function nextWake(
  now: number,
  current: CertificateRecord,
  plan: RenewalPlan,
  settings: ProfileSettings,
  nextAttemptAt: number,
): number | undefined {
  const moments = [plan.windowOpensAt, current.notAfter];
  if (settings.autoRenew) moments.push(Math.max(plan.renewAt, nextAttemptAt));
  if (settings.forceRenewalRequestedAt !== null && current.obtainedAt < settings.forceRenewalRequestedAt) {
    moments.push(settings.forceRenewalRequestedAt);
  }
  for (const before of [14, 7, 3, 1]) moments.push(current.notAfter - before * 86_400_000);
  const future = moments.filter((at) => at > now);
  return future.length > 0 ? Math.min(...future) : undefined;
}

/** The certificate without its PEM, stamped with the (workflow) time it was obtained. */
function record({ certificateId, serialNumber, notBefore, notAfter }: IssuedCertificate): CertificateRecord {
  return { certificateId, serialNumber, notBefore, notAfter, obtainedAt: Date.now() };
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Markdown for the Web UI's "current details". */
function describe(status: CertificateStatus): string {
  const lines = [`**${status.phase}** — ${status.issueKey}, generation ${status.generation}`];
  if (status.domain) lines.push(`Domain: ${status.domain} (profile ${status.profileId ?? '?'})`);
  if (status.certificateId) lines.push(`Certificate ID: ${status.certificateId}`);
  if (status.notAfter) lines.push(`Valid until: ${new Date(status.notAfter).toISOString()}`);
  if (status.renewAt) lines.push(`Renews at: ${new Date(status.renewAt).toISOString()}`);
  if (status.lastError) lines.push(`Last error: ${status.lastError}`);
  return lines.join('\n\n');
}
