/** Revocation: every certificate of the issue that is still valid, revoked in SCM, said once; the end. */
import { allHandlersFinished, condition, log, proxySinks, upsertSearchAttributes } from '@temporalio/workflow';
import type { CertificateRecord, CertificateSinks, RevokeRequest } from '../../contract/certificate.ts';
import { revocationReasonName, searchAttributes } from '../../contract/shared.ts';
import { comments, said, scmTexts } from '../../messages.ts';
import { orders } from '../activities.ts';
import type { CertificateState } from './state.ts';
import type { Tracker } from './tracker.ts';

const { metrics } = proxySinks<CertificateSinks>();

/**
 * Revokes the current certificate (when there is one), earlier generations not yet expired, and any issued
 * since the revocation was asked for; says so once, moves the issue, and ends the workflow's life.
 */
export async function revokeAll(
  state: CertificateState,
  tracker: Tracker,
  asked: RevokeRequest,
  certificate: CertificateRecord | undefined,
): Promise<void> {
  const { issueKey, status } = state;
  state.enter('Revoking');
  const now = Date.now();
  const by = asked.requestedByName ?? asked.requestedBy;
  const reasonName = revocationReasonName(asked.reasonCode);
  const candidates = distinct([...(certificate ? [certificate] : []), ...status.history, ...state.unpublished]);
  const targets = candidates.filter((c) => c.notAfter > now);
  const done: Array<{ certificateId: number; serialNumber: string; already: boolean }> = [];
  for (const target of targets) {
    const outcome = await orders(state.account).revokeCertificate.executeWithOptions(
      { summary: `revoke certificate ${target.certificateId} in SCM: ${reasonName}` },
      [
        {
          certificateId: target.certificateId,
          reasonCode: asked.reasonCode,
          reason: scmTexts.revokedThroughIssue(reasonName, issueKey, by, asked.comment),
        },
      ],
    );
    const { certificateId, serialNumber } = target;
    done.push({ certificateId, serialNumber, already: outcome === 'already-revoked' });
  }
  status.lastError = undefined;
  status.renewAt = undefined;
  upsertSearchAttributes([
    { key: searchAttributes.status, value: 'Revoked' },
    { key: searchAttributes.renewAt, value: null },
  ]);
  status.phase = 'Revoked';
  log.info('certificate revoked', { issueKey, certificateIds: done.map((d) => d.certificateId) });
  state.showDetails();
  // Certificates issued but all expired are not "nothing issued": the issue says which expired when.
  await tracker.commentOnce(
    issueKey,
    state.eventId('revoked'),
    done.length > 0
      ? said(
          comments.revoked,
          done,
          reasonName,
          by,
          now,
          asked.comment,
          state.unpublished.map((u) => u.certificateId),
        )
      : candidates.length > 0
        ? said(comments.revokedAllExpired, candidates, by, now)
        : said(comments.revokedNothingIssued, by, now),
  );
  await tracker.moveIssue(issueKey, 'revoked', [], reasonName);
  metrics.completed('revoke', state.profileId, (Date.now() - now) / 1000);
  await condition(allHandlersFinished);
}

/** Each certificate once, in the order first seen. */
function distinct(certificates: CertificateRecord[]): CertificateRecord[] {
  return certificates.filter((c, i) => certificates.findIndex((d) => d.certificateId === c.certificateId) === i);
}
