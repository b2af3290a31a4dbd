/**
 * revokeExternalCertificate: revokes a certificate that was not enrolled through Jira (user guide §7),
 * from a "Revoke Certificate" issue (`revoke:<ISSUE-KEY>`) or from the CLI. It finds the certificate in
 * SCM by its id, or by domain when exactly one issued certificate of the profile matches; only
 * certificates of a configured profile are revoked. A certificate a certificateLifecycle workflow manages
 * is revoked through that workflow, so that it stops renewing and its own issue says so. Until the issue
 * says enough (a reason, which certificate) the workflow comments what is missing and waits for an edit.
 */
import { condition, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RevokeIssue } from '../jira/client.ts';
import {
  revokeIssueChangedSignal,
  type ExternalRevocationInput,
  type ExternalRevocationResult,
} from '../contract/revoke-external.ts';
import { revocationReasonCode, revocationReasonName, type FoundCertificate } from '../contract/shared.ts';
import { externalRevocation as say, issueTexts, render, said, scmTexts, type Said } from '../messages.ts';
import { handOver, jira, localRequests, orders } from './activities.ts';

/** How long an incomplete request waits for its issue to be corrected. */
const PATIENCE = '30 days';

/** What the request says: from its issue's fields, or from the CLI's arguments. */
type Request = Pick<RevokeIssue, 'profileName' | 'certificateId' | 'domain' | 'reasonName'>;

export async function revokeExternalCertificate(input: ExternalRevocationInput): Promise<ExternalRevocationResult> {
  const { issueKey } = input;
  let changed = false;
  setHandler(revokeIssueChangedSignal, () => void (changed = true));
  const revocation = new Revocation(input);
  for (let round = 0; ; round++) {
    const request: Request = issueKey ? await jira.readRevokeIssue(issueKey) : fromCli(input);
    const ending = await revocation.attempt(request, round);
    if (ending) return ending;
    if (!issueKey) return { outcome: 'not-revoked', message: revocation.lastSaid };
    // Wait for the person to correct the issue; an edit of its fields signals this workflow.
    if (!(await condition(() => changed, PATIENCE))) {
      await revocation.tell('gave-up', said(say.gaveUp));
      return { outcome: 'not-revoked', message: revocation.lastSaid };
    }
    changed = false;
  }
}

function fromCli(input: ExternalRevocationInput): Request {
  return {
    profileName: input.profileName,
    certificateId: input.certificateId === undefined ? undefined : String(input.certificateId),
    domain: undefined,
    reasonName: input.reasonCode === undefined ? undefined : revocationReasonName(input.reasonCode),
  };
}

/** One request's attempts: each finds the certificate, or says what is missing on the issue. */
class Revocation {
  readonly #input: ExternalRevocationInput;
  readonly #workflowId = workflowInfo().workflowId;
  readonly #by: string;
  /** What the request was told last, for the CLI's answer. */
  lastSaid = '';

  constructor(input: ExternalRevocationInput) {
    this.#input = input;
    this.#by = input.requestedByName ?? input.requestedBy;
  }

  /** Revokes what the request names; undefined when it must be corrected first (and was told so). */
  async attempt(request: Request, round: number): Promise<ExternalRevocationResult | undefined> {
    const reasonCode = revocationReasonCode(request.reasonName);
    if (reasonCode === undefined) return void (await this.tell(`ask-reason-${round}`, said(say.askReason)));
    const id = request.certificateId === undefined ? undefined : Number(request.certificateId);
    const certificateId = id !== undefined && Number.isInteger(id) ? id : undefined;
    if (certificateId === undefined && !request.domain) {
      return void (await this.tell(`ask-what-${round}`, said(say.askWhat)));
    }
    // The profile's account is searched, and revokes (runs started before accounts: the default one).
    const account = patched('account-routing') ? await localRequests.accountOfProfile(request.profileName) : undefined;
    const found = await orders(account).lookUpCertificate({
      profileName: request.profileName,
      ...(certificateId !== undefined ? { certificateId } : { domain: request.domain }),
    });
    switch (found.kind) {
      case 'unknown-profile':
        return void (await this.tell(`profile-${round}`, said(say.unknownProfile, found.choices)));
      case 'none': {
        const what = id !== undefined ? `ID ${id}` : String(request.domain);
        return void (await this.tell(`none-${round}`, said(say.none, what)));
      }
      case 'foreign':
        return void (await this.tell(`foreign-${round}`, said(say.foreign, found.certificateId)));
      case 'ambiguous':
        return void (await this.tell(
          `ambiguous-${round}`,
          said(say.ambiguous, String(request.domain), found.candidates),
        ));
      case 'found':
        return this.#revoke(found.certificate, request, { certificateId, account }, reasonCode, round);
    }
  }

  async #revoke(
    certificate: FoundCertificate,
    request: Request,
    { certificateId, account }: { certificateId: number | undefined; account: string | undefined },
    reasonCode: NonNullable<ReturnType<typeof revocationReasonCode>>,
    round: number,
  ): Promise<ExternalRevocationResult | undefined> {
    const { issueKey } = this.#input;
    // Both fields filled in must name one certificate: a domain that is not the ID's is a mistake in one.
    const names = [certificate.commonName, ...(certificate.subjectAlternativeNames ?? [])].map((n) => n.toLowerCase());
    if (certificateId !== undefined && request.domain && !names.includes(request.domain)) {
      return void (await this.tell(`contradictory-${round}`, said(say.contradictory, certificate, request.domain)));
    }
    // Declined, still being processed, expired: SCM refuses to revoke what it did not issue (-102).
    if (certificate.status !== 'Issued' && certificate.status !== 'Revoked') {
      return void (await this.tell(`not-issued-${round}`, said(say.notIssued, certificate)));
    }
    const reason = revocationReasonName(reasonCode);
    if (certificate.status === 'Revoked') {
      await this.#finish(said(say.revoked, certificate, reason, this.#by, true), reason);
      return { outcome: 'already-revoked', certificateId: certificate.certificateId, message: this.lastSaid };
    }
    const managing = await handOver.revokeThroughLifecycle(
      certificate.certificateId,
      {
        reasonCode,
        requestedBy: this.#input.requestedBy,
        ...(this.#input.requestedByName ? { requestedByName: this.#input.requestedByName } : {}),
        comment: issueTexts.revokedFrom(issueKey),
        requestId: this.#workflowId,
      },
      account,
    );
    if (managing) {
      await this.#finish(said(say.revokedThroughIssue, certificate, managing.replace(/^certificate:/, '')), reason);
      const { certificateId: revoked } = certificate;
      return {
        outcome: 'revoked-through-workflow',
        certificateId: revoked,
        workflowId: managing,
        message: this.lastSaid,
      };
    }
    const outcome = await orders(account).revokeCertificate({
      certificateId: certificate.certificateId,
      reasonCode,
      reason: scmTexts.revokedExternally(reason, issueKey, this.#by),
    });
    const already = outcome === 'already-revoked';
    await this.#finish(said(say.revoked, certificate, reason, this.#by, already), reason);
    return {
      outcome: already ? 'already-revoked' : 'revoked',
      certificateId: certificate.certificateId,
      message: this.lastSaid,
    };
  }

  /** Says `text` on the issue (once per event), and remembers it for the CLI's answer. */
  async tell(event: string, text: Said): Promise<void> {
    this.lastSaid = render(text);
    const { issueKey } = this.#input;
    if (issueKey) await jira.commentOnce(issueKey, `${this.#workflowId}/${event}`, text);
  }

  /**
   * The last word: a comment, and the issue moved to its done status with the requester's reason (set only
   * where the transition's screen has the field; the issue keeps the reason it was filed with).
   */
  async #finish(text: Said, reason: string): Promise<void> {
    await this.tell('done', text);
    const { issueKey } = this.#input;
    if (issueKey) await jira.moveIssue(issueKey, 'revoked', [], reason);
  }
}
