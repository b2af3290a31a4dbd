/** What the daily sweep saw in SCM about the certificate: revoked there, replaced, or expired early. */
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { CertificateRecord, ScmObservation } from '../../contract/certificate.ts';
import { searchAttributes } from '../../contract/shared.ts';
import { comments, said } from '../../messages.ts';
import type { CertificateState } from './state.ts';
import type { Tracker } from './tracker.ts';

/** Acts on what the sweep saw; true when the certificate's life is over. */
export async function reconcile(
  state: CertificateState,
  tracker: Tracker,
  seen: ScmObservation,
  certificate: CertificateRecord,
): Promise<boolean> {
  const { issueKey } = state;
  if (seen.certificateId !== certificate.certificateId) return false;
  if (seen.status === 'Revoked') {
    state.enter('Revoked');
    await tracker.commentOnce(
      issueKey,
      state.eventId('revoked-outside'),
      said(comments.revokedOutside, certificate.certificateId, state.domain),
    );
    await tracker.moveIssue(issueKey, 'revoked');
    upsertSearchAttributes([{ key: searchAttributes.renewAt, value: null }]);
    return true;
  }
  if (seen.status === 'Replaced' || (seen.status === 'Expired' && Date.now() < certificate.notAfter)) {
    await tracker.commentOnce(
      issueKey,
      state.eventId(`scm-${seen.status.toLowerCase()}`),
      said(comments.changedInScm, certificate.certificateId, seen.status),
    );
  }
  return false;
}
