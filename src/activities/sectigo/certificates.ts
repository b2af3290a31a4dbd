/** A certificate in SCM: collecting the issued one, revoking one, finding one to revoke. */
import { heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { IssuedCertificate } from '../../contract/certificate.ts';
import { ErrorType, type FoundCertificate, type RevocationReasonCode } from '../../contract/shared.ts';
import type { Profiles } from '../../profiles.ts';
import { ChainProblem, issuedChain } from '../../sectigo/chain.ts';
import { ScmError, type ScmClient } from '../../sectigo/client.ts';
import { pending, translated, userProblem } from '../failures.ts';
import { DECLINED, IN_PROGRESS } from './scm-words.ts';

/**
 * Revokes one certificate in SCM with its RFC 5280 reason. Revoking what SCM already shows revoked
 * (also what a retry after a lost answer meets) is an answer, not an error: SCM says -159, or -102
 * "Only issued certificates could be revoked", which it also says of one never issued, so -102 counts
 * only when the certificate's details say Revoked.
 */
export async function revokeCertificate(
  scm: ScmClient,
  input: {
    certificateId: number;
    reasonCode: RevocationReasonCode;
    reason: string;
  },
): Promise<'revoked' | 'already-revoked'> {
  return translated(async () => {
    try {
      await scm.revoke(input.certificateId, input.reasonCode, input.reason.slice(0, 512));
      log.info('certificate revoked', { certificateId: input.certificateId, reasonCode: input.reasonCode });
      return 'revoked';
    } catch (err) {
      if (err instanceof ScmError && err.code === -159) return 'already-revoked';
      if (err instanceof ScmError && err.code === -102) {
        if ((await scm.getCertificate(input.certificateId)).status === 'Revoked') return 'already-revoked';
      }
      throw err;
    }
  });
}

/**
 * A certificate to revoke, by id or by domain, among those of a configured profile (its SCM type and
 * organization): `found`, `ambiguous` (several issued ones match the domain), `none`, or `foreign`
 * (it exists but belongs to no configured profile, so it is not the connector's to revoke).
 */
export async function lookUpCertificate(
  { scm, profiles, searchLimit = 50 }: { scm: ScmClient; profiles: Profiles; searchLimit?: number },
  request: {
    profileName: string | undefined;
    certificateId?: number;
    domain?: string;
  },
): Promise<
  | { kind: 'found'; certificate: FoundCertificate }
  | { kind: 'ambiguous'; candidates: FoundCertificate[] }
  | { kind: 'none' }
  | { kind: 'foreign'; certificateId: number }
  | { kind: 'unknown-profile'; choices: string[] }
> {
  const profile = request.profileName ? profiles.named(request.profileName) : undefined;
  if (!profile) return { kind: 'unknown-profile', choices: profiles.all.map((p) => p.name) };
  return translated(async () => {
    const found = (d: Awaited<ReturnType<ScmClient['getCertificate']>>): FoundCertificate => ({
      certificateId: d.id,
      serialNumber: (d.serialNumber ?? '').replace(/:/g, '').toUpperCase(),
      commonName: d.commonName,
      subjectAlternativeNames: d.subjectAlternativeNames,
      status: d.status,
      ...(d.expires !== undefined ? { expires: d.expires } : {}),
      ...(d.requester ? { requester: d.requester } : {}),
    });
    const ours = (d: { orgId?: number; certTypeId?: number }) =>
      d.orgId === profile.orgId && d.certTypeId === profile.certType;
    if (request.certificateId !== undefined) {
      let details;
      try {
        details = await scm.getCertificate(request.certificateId);
      } catch (err) {
        if (err instanceof ScmError && (err.status === 404 || err.code === -124 || err.code === -5101)) {
          return { kind: 'none' as const };
        }
        throw err;
      }
      if (!ours(details)) return { kind: 'foreign' as const, certificateId: details.id };
      return { kind: 'found' as const, certificate: found(details) };
    }
    const ids: number[] = [];
    const filter = { orgId: profile.orgId, sslTypeId: profile.certType, commonName: request.domain ?? '' };
    for await (const item of scm.search({ ...filter, status: 'Issued' })) ids.push(item.sslId);
    // Whether SCM's commonName filter is exact or a pattern is not documented: a certificate counts only
    // when its CN or one of its SANs is the domain itself, never a neighbour that merely contains it.
    const domain = (request.domain ?? '').toLowerCase();
    const names = (d: { commonName: string; subjectAlternativeNames: string[] }) =>
      [d.commonName, ...d.subjectAlternativeNames].map((n) => n.toLowerCase());
    const candidates: FoundCertificate[] = [];
    for (const id of ids.sort((a, b) => b - a).slice(0, searchLimit)) {
      heartbeat();
      const details = await scm.getCertificate(id);
      if (details.status === 'Issued' && ours(details) && names(details).includes(domain)) {
        candidates.push(found(details));
      }
    }
    if (candidates.length === 0) return { kind: 'none' as const };
    if (candidates.length > 1) return { kind: 'ambiguous' as const, candidates };
    return { kind: 'found' as const, certificate: candidates[0] as FoundCertificate };
  });
}

/**
 * The order, with its certificate when SCM issued it at once and the caller asked (`collectIfIssued`): one
 * try, the same requests as the first try of collectCertificate, which the workflow runs otherwise. Nothing
 * that try meets fails the order, which is placed: collectCertificate meets it again and reports it.
 */
export async function collectIfIssued(
  scm: ScmClient,
  order: { certificateId: number },
  input: { csr: string; collectIfIssued?: boolean },
): Promise<{ certificateId: number; certificate?: IssuedCertificate }> {
  if (!input.collectIfIssued) return order;
  try {
    return { ...order, certificate: await collectCertificate(scm, order.certificateId, { csr: input.csr }) };
  } catch (err) {
    const processing = err instanceof ApplicationFailure && err.type === ErrorType.CertificatePending;
    if (!processing)
      log.info('not collected with the order', { certificateId: order.certificateId, error: String(err) });
    return order;
  }
}

/**
 * Answers the issued certificate, or fails benignly while SCM is still processing the order. The issued
 * certificate is the one for `ordered.csr`'s key with SCM's serial, whatever order SCM's answer is in;
 * its PEM is the leaf first, then each issuer.
 */
export async function collectCertificate(
  scm: ScmClient,
  certificateId: number,
  ordered: { csr?: string } = {},
): Promise<IssuedCertificate> {
  return translated(async () => {
    const details = await scm.getCertificate(certificateId);
    if (IN_PROGRESS.has(details.status)) throw pending(`order ${certificateId} is ${details.status}`);
    if (DECLINED.has(details.status)) {
      throw userProblem(ErrorType.CaDeclined, `Sectigo ${details.status.toLowerCase()} order ${certificateId}.`);
    }
    if (details.status !== 'Issued') {
      throw userProblem(ErrorType.CaDeclined, `Order ${certificateId} is ${details.status} in Sectigo, not issued.`);
    }
    const collected = await scm.collect(certificateId, 'x509');
    let issued;
    try {
      issued = issuedChain(collected, { csr: ordered.csr, serialNumber: details.serialNumber });
    } catch (err) {
      if (!(err instanceof ChainProblem)) throw err;
      // Not SCM being slow: what it answers is not the certificate ordered, and asking again will not help.
      throw ApplicationFailure.create({
        type: ErrorType.UpstreamRejected,
        message: `Sectigo's download of order ${certificateId} is not the certificate ordered: ${err.message}.`,
        nonRetryable: true,
      });
    }
    return {
      certificateId,
      serialNumber: issued.leaf.serialNumber.toUpperCase(),
      notBefore: issued.leaf.notBefore.getTime(),
      notAfter: issued.leaf.notAfter.getTime(),
      pem: issued.pem,
      ...(issued.issuer
        ? {
            issuer: Buffer.from(await issued.issuer.getThumbprint('SHA-256'))
              .toString('hex')
              .toUpperCase(),
          }
        : {}),
    };
  });
}
