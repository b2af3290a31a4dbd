/** Putting an issued certificate on its issue: comment, attachment, fields, status. */
import type { CertificateRecord, IssueReason, IssuedCertificate } from '../../contract/certificate.ts';
import type { IssueState } from '../../contract/shared.ts';
import { comments, issueTexts, said, type Said } from '../../messages.ts';
import type { CertificateState } from './state.ts';
import type { Tracker } from './tracker.ts';

/** What the certificate was issued for, and what to say with it. */
export interface Publishing {
  reason: IssueReason;
  /** The certificate it renews; absent for the enrolled one. */
  replaces?: CertificateRecord;
  /** Said with the enrolled or renewed comment: what changed on the issue meanwhile. */
  notes?: Said[];
}

/** The file a certificate is attached as: `<domain>_<certificateId>.pem`, a wildcard spelled out. */
export function pemFilename(domain: string, certificateId: number): string {
  return `${domain.replace(/^\*\./, 'wildcard.').replace(/[^a-zA-Z0-9.-]/g, '_')}_${certificateId}.pem`;
}

/** Publishes `certificate` on the issue. Each step is idempotent. */
export async function publish(
  state: CertificateState,
  tracker: Tracker,
  certificate: IssuedCertificate,
  { reason, replaces, notes = [] }: Publishing,
): Promise<void> {
  const { issueKey } = state;
  const domain = state.status.domain ?? String(certificate.certificateId);
  const filename = pemFilename(domain, certificate.certificateId);
  const { certificateId, serialNumber, notAfter } = certificate;
  const told = replaces
    ? said(comments.renewed, reason, certificateId, replaces.certificateId, serialNumber, notAfter)
    : said(comments.enrolled, certificateId, serialNumber, notAfter);
  const comment = { eventId: state.eventId(replaces ? 'renewed' : 'enrolled'), text: [told, ...notes] };
  const fields = {
    ...(replaces ? {} : { summary: issueTexts.enrolledSummary(domain) }),
    certificateId: String(certificateId),
    expiryDate: new Date(notAfter).toISOString().slice(0, 10),
  };
  const attached = {
    eventId: state.certificateEventId(certificateId, 'attached'),
    text: said(comments.attached, filename),
  };
  // A person may already have asked for the next renewal: the issue then stays in "Certificate Renewed".
  const moveTo: IssueState = replaces ? 'renewed' : 'enrolled';
  const orAlreadyIn: IssueState[] = replaces ? [] : ['renewed'];
  if (state.changes.batchedPublish) {
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
