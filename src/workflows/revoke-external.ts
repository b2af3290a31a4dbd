/**
 * revokeExternalCertificate: revokes a certificate that was not enrolled through Jira (user guide §7),
 * from a "Revoke Certificate" issue (`revoke:<ISSUE-KEY>`) or from the CLI. It finds the certificate in
 * SCM by its id, or by domain when exactly one issued certificate of the profile matches; only
 * certificates of a configured profile are revoked. A certificate a certificateLifecycle workflow manages
 * is revoked through that workflow, so that it stops renewing and its own issue says so. Until the issue
 * says enough (a reason, which certificate) the workflow comments what is missing and waits for an edit.
 */
import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { SweepActivities } from '../activities/sweep.ts';
import {
  REVOCATION_REASONS,
  revocationReasonName,
  revokeIssueChangedSignal,
  type ExternalRevocationInput,
  type ExternalRevocationResult,
  revocationReasonCode,
} from '../contract.ts';
import { externalRevocation as say } from '../messages.ts';
import { jira, orders } from './activities.ts';

const fleet = proxyActivities<SweepActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** How long an incomplete request waits for its issue to be corrected. */
const PATIENCE = '30 days';

export async function revokeExternalCertificate(input: ExternalRevocationInput): Promise<ExternalRevocationResult> {
  const { issueKey } = input;
  const { workflowId } = workflowInfo();
  let changed = false;
  setHandler(revokeIssueChangedSignal, () => void (changed = true));
  const by = input.requestedByName ?? input.requestedBy;
  let lastSaid = '';

  for (let round = 0; ; round++) {
    const issue = issueKey
      ? await jira.readRevokeIssue(issueKey)
      : {
          profileName: input.profileName,
          certificateId: input.certificateId === undefined ? undefined : String(input.certificateId),
          domain: undefined,
          reasonName: input.reasonCode === undefined ? undefined : revocationReasonName(input.reasonCode),
        };
    const ending = await attempt(issue);
    if (ending) return ending;
    if (!issueKey) return { outcome: 'not-revoked', message: lastSaid };
    // Wait for the person to correct the issue; an edit of its fields signals this workflow.
    if (!(await condition(() => changed, PATIENCE))) {
      await tell(`gave-up`, say.gaveUp);
      return { outcome: 'not-revoked', message: say.gaveUp };
    }
    changed = false;

    async function attempt(fields: typeof issue): Promise<ExternalRevocationResult | undefined> {
      const reasonCode = revocationReasonCode(fields.reasonName);
      if (reasonCode === undefined) {
        return void (await tell(
          `ask-reason-${round}`,
          say.askReason('Revocation reason', Object.keys(REVOCATION_REASONS).join(', ')),
        ));
      }
      const certificateId = fields.certificateId === undefined ? undefined : Number(fields.certificateId);
      if ((certificateId === undefined || !Number.isInteger(certificateId)) && !fields.domain) {
        return void (await tell(`ask-what-${round}`, say.askWhat('Certificate ID', 'Certificate domain')));
      }
      const found = await orders.lookUpCertificate({
        profileName: fields.profileName,
        ...(certificateId !== undefined && Number.isInteger(certificateId)
          ? { certificateId }
          : { domain: fields.domain }),
      });
      switch (found.kind) {
        case 'unknown-profile':
          return void (await tell(`profile-${round}`, say.unknownProfile(found.choices)));
        case 'none':
          return void (await tell(
            `none-${round}`,
            say.none(certificateId !== undefined ? `ID ${certificateId}` : String(fields.domain)),
          ));
        case 'foreign':
          return void (await tell(`foreign-${round}`, say.foreign(found.certificateId)));
        case 'ambiguous':
          return void (await tell(`ambiguous-${round}`, say.ambiguous(String(fields.domain), found.candidates)));
        case 'found':
          break;
      }
      const certificate = found.certificate;
      // Both fields filled in must name one certificate: a domain that is not the ID's is a mistake in one.
      const names = [certificate.commonName, ...(certificate.subjectAlternativeNames ?? [])].map((n) =>
        n.toLowerCase(),
      );
      if (certificateId !== undefined && fields.domain && !names.includes(fields.domain)) {
        return void (await tell(`contradictory-${round}`, say.contradictory(certificate, fields.domain)));
      }
      // Declined, still being processed, expired: SCM refuses to revoke what it did not issue (-102).
      if (certificate.status !== 'Issued' && certificate.status !== 'Revoked') {
        return void (await tell(`not-issued-${round}`, say.notIssued(certificate)));
      }
      const reason = revocationReasonName(reasonCode);
      const code = reasonCode;
      if (certificate.status === 'Revoked') {
        await finish(say.revoked(certificate, reason, by, true), reason);
        return { outcome: 'already-revoked', certificateId: certificate.certificateId, message: lastSaid };
      }
      const managing = await fleet.revokeThroughLifecycle(certificate.certificateId, {
        reasonCode: code,
        requestedBy: input.requestedBy,
        ...(input.requestedByName ? { requestedByName: input.requestedByName } : {}),
        comment: issueKey ? `Revoked through Jira issue ${issueKey}.` : 'Revoked by an operator.',
        requestId: workflowId,
      });
      if (managing) {
        await finish(say.revokedThroughIssue(certificate, managing.replace(/^certificate:/, '')), reason);
        return {
          outcome: 'revoked-through-workflow',
          certificateId: certificate.certificateId,
          workflowId: managing,
          message: lastSaid,
        };
      }
      const outcome = await orders.revokeCertificate({
        certificateId: certificate.certificateId,
        reasonCode: code,
        reason: `${reason}: revoked ${issueKey ? `through Jira issue ${issueKey}` : 'by an operator'} for ${by}`,
      });
      await finish(say.revoked(certificate, reason, by, outcome === 'already-revoked'), reason);
      return {
        outcome: outcome === 'already-revoked' ? 'already-revoked' : 'revoked',
        certificateId: certificate.certificateId,
        message: lastSaid,
      };
    }
  }

  /** Says `text` on the issue (once per event), and remembers it for the CLI's answer. */
  async function tell(event: string, text: string): Promise<void> {
    lastSaid = text;
    if (issueKey) await jira.commentOnce(issueKey, `${workflowId}/${event}`, text);
  }

  /**
   * The last word: a comment, and the issue moved to its done status with the requester's reason (set only
   * where the transition's screen has the field; the issue keeps the reason it was filed with).
   */
  async function finish(text: string, reason: string): Promise<void> {
    await tell('done', text);
    if (issueKey) await jira.moveIssue(issueKey, 'revoked', [], reason);
  }
}
