/**
 * certificateLifecycle: one durable workflow per certificate request (one Jira "Certificate" issue).
 * Validate → enroll → await issuance → publish to Jira → Active, with the phase mirrored in the
 * `CertificateStatus` search attribute and a `status` query. Deterministic: all I/O is in activities.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { setCurrentDetails } from '@temporalio/workflow';
import type { CsrActivities } from '../activities/csr-activities.ts';
import type { JiraActivities } from '../activities/jira.ts';
import type { SectigoActivities } from '../activities/sectigo.ts';
import {
  ErrorType,
  SECTIGO_TASK_QUEUE,
  searchAttributes,
  statusQuery,
  type CertificatePhase,
  type CertificateRequest,
  type CertificateStatus,
  type IssuedCertificate,
} from './definitions.ts';

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
const requests = proxyActivities<CsrActivities>({
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

/** Failures the requester can act on: they end the run as Rejected, with the reason on the issue. */
const REJECTIONS: Partial<Record<string, string>> = {
  [ErrorType.CsrRejected]:
    'Paste a corrected CSR into "Certificate CSR text" (for example from ' +
    '`openssl req -new -newkey rsa:2048 -nodes -keyout <domain>.key -out <domain>.csr -subj "/CN=<domain>"`) ' +
    'and run "Enroll Certificate" again. Keep the private key; it never leaves you.',
  [ErrorType.RequestIncomplete]: 'Complete the issue and run "Enroll Certificate" again.',
  [ErrorType.CaDeclined]:
    'Check the order and the domain validation in Sectigo Certificate Manager, or ask your SCM administrator; ' +
    'then run "Enroll Certificate" again.',
  [ErrorType.UpstreamRejected]:
    'Sectigo refused the order. Fix what it names (often the profile or the domain) and run "Enroll Certificate" again.',
};

export async function certificateLifecycle(request: CertificateRequest): Promise<CertificateStatus> {
  const { issueKey } = request;
  const info = workflowInfo();
  const status: CertificateStatus = { issueKey, phase: 'Validating', generation: 0, history: [] };
  setHandler(statusQuery, () => status);

  /** Identifies one effect of this request and generation: comments and orders are made once per id. */
  const eventId = (event: string) => `${info.workflowId}/${info.firstExecutionRunId}/g${status.generation}/${event}`;

  const enter = (phase: CertificatePhase) => {
    status.phase = phase;
    upsertSearchAttributes([{ key: searchAttributes.status, value: phase }]);
    setCurrentDetails(describe(status));
  };
  enter('Validating');

  let certificate: IssuedCertificate;
  try {
    const issue = await jira.readCertificateIssue(issueKey);
    const { profileId, csr } = await requests.validateRequest({ profileName: issue.profileName, csr: issue.csr });
    status.profileId = profileId;
    status.domain = csr.domain;
    upsertSearchAttributes([
      { key: searchAttributes.domain, value: csr.domain },
      { key: searchAttributes.profile, value: profileId },
    ]);
    await jira.commentOnce(
      issueKey,
      eventId('requested'),
      `Certificate requested for ${csr.domain}` +
        (csr.subjectAltNames.length > 1
          ? ` (also ${csr.subjectAltNames.filter((n) => n !== csr.domain).join(', ')})`
          : '') +
        `, profile "${issue.profileName}", ${csr.keyType} key. Ordering it from Sectigo Certificate Manager.`,
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
    certificate = await issuance.collectCertificate(certificateId);

    enter('Publishing');
    await publish(status, certificate, eventId);
  } catch (err) {
    const type = failureType(err);
    // Only the order itself is refused by SCM on the requester's account; other 4xx are misconfigurations.
    const fromScm = err instanceof ActivityFailure && err.activityType === 'enrollCertificate';
    const whatToDo =
      type === undefined || (type === ErrorType.UpstreamRejected && !fromScm) ? undefined : REJECTIONS[type];
    if (whatToDo === undefined) throw err;
    const reason = failureMessage(err);
    status.lastError = reason;
    enter('Rejected');
    log.info('request rejected', { issueKey, type, reason });
    await jira.commentOnce(issueKey, eventId('rejected'), `Enrollment failed: ${reason}\n\n${whatToDo}`);
    await jira.moveIssue(issueKey, 'request');
    return status;
  }

  status.serialNumber = certificate.serialNumber;
  status.notAfter = certificate.notAfter;
  status.history.push({
    certificateId: certificate.certificateId,
    serialNumber: certificate.serialNumber,
    notAfter: certificate.notAfter,
    issuedAt: certificate.notBefore,
  });
  upsertSearchAttributes([{ key: searchAttributes.notAfter, value: new Date(certificate.notAfter) }]);
  enter('Active');

  // Renewal is not scheduled yet: the certificate stays Active until it expires, then waits as Expired.
  const untilExpiry = certificate.notAfter - Date.now();
  if (untilExpiry > 0) await sleep(untilExpiry, { summary: 'until the certificate expires' });
  enter('Expired');
  await condition(() => false);
  return status;
}

/** Puts the certificate on the issue: comment, attachment, fields, summary, status. Each step is idempotent. */
async function publish(
  status: CertificateStatus,
  certificate: IssuedCertificate,
  eventId: (event: string) => string,
): Promise<void> {
  const { issueKey } = status;
  const domain = status.domain ?? String(certificate.certificateId);
  const expires = isoDate(certificate.notAfter);
  const filename = `${domain.replace(/^\*\./, 'wildcard.').replace(/[^a-zA-Z0-9.-]/g, '_')}_${certificate.certificateId}.pem`;
  await jira.commentOnce(
    issueKey,
    eventId('enrolled'),
    `Certificate enrolled: Certificate ID ${certificate.certificateId}, serial ${certificate.serialNumber}, ` +
      `valid until ${new Date(certificate.notAfter).toISOString()}.`,
  );
  await jira.attachOnce(issueKey, filename, certificate.pem);
  await jira.updateIssue(issueKey, {
    summary: `Certificate enrolled:${domain}`,
    certificateId: String(certificate.certificateId),
    expiryDate: expires,
  });
  await jira.commentOnce(
    issueKey,
    eventId('attached'),
    `Certificate attached: ${filename} (certificate and chain, PEM).`,
  );
  await jira.moveIssue(issueKey, 'enrolled');
}

/** The `type` of an activity's ApplicationFailure, if that is what failed. */
function failureType(err: unknown): string | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) return err.cause.type ?? undefined;
  return undefined;
}

function failureMessage(err: unknown): string {
  return err instanceof ActivityFailure && err.cause ? err.cause.message : String(err);
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Markdown for the Web UI's "current details". */
function describe(status: CertificateStatus): string {
  const lines = [`**${status.phase}** — ${status.issueKey}`];
  if (status.domain) lines.push(`Domain: ${status.domain} (profile ${status.profileId ?? '?'})`);
  if (status.certificateId) lines.push(`Certificate ID: ${status.certificateId}`);
  if (status.notAfter) lines.push(`Valid until: ${new Date(status.notAfter).toISOString()}`);
  if (status.lastError) lines.push(`Last error: ${status.lastError}`);
  return lines.join('\n\n');
}
