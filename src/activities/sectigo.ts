/**
 * Sectigo SCM activities: ordering a certificate exactly once (sectigo/orders.ts), collecting, revoking
 * and finding certificates (sectigo/certificates.ts), and the sweep's reads of SCM (sectigo/lists.ts).
 */
import type { ScmObservation } from '../contract/certificate.ts';
import type { RevocationReasonCode } from '../contract/shared.ts';
import type { Profiles } from '../profiles.ts';
import type { ScmClient } from '../sectigo/client.ts';
import { collectCertificate, collectIfIssued, lookUpCertificate, revokeCertificate } from './sectigo/certificates.ts';
import { changesInScm, findTokenedOrders } from './sectigo/lists.ts';
import { Orders, type EnrollInput, type OrderOptions, type RenewInput } from './sectigo/orders.ts';

export type { EnrollInput, RenewInput } from './sectigo/orders.ts';

export type SectigoActivityOptions = OrderOptions & { scm: ScmClient; profiles: Profiles };

export function createSectigoActivities(options: SectigoActivityOptions) {
  const { scm } = options;
  const orders = new Orders(options);
  return {
    /**
     * Places the order, once: the order carries `input.token`, and a retry adopts the order with it. With
     * `input.collectIfIssued`, the certificate comes with the order when SCM issued it at once.
     */
    enrollCertificate: async (input: EnrollInput) => collectIfIssued(scm, await orders.enroll(input), input),
    /** Renews by id, once: a retry adopts the newer order carrying the token. As enrolling, for the certificate. */
    renewCertificate: async (input: RenewInput) => collectIfIssued(scm, await orders.renew(input), input),
    /** The issued certificate, or a benign failure while SCM is still processing the order. */
    collectCertificate: (certificateId: number, ordered: { csr?: string } = {}) =>
      collectCertificate(scm, certificateId, ordered),
    /** Revokes one certificate; one SCM shows revoked already is an answer, not an error. */
    revokeCertificate: (input: { certificateId: number; reasonCode: RevocationReasonCode; reason: string }) =>
      revokeCertificate(scm, input),
    /** A certificate to revoke, by id or by domain, among those of a configured profile. */
    lookUpCertificate: (request: Parameters<typeof lookUpCertificate>[1]) => lookUpCertificate(options, request),
    /** Orders newer than `after` that carry one of the connector's tokens. */
    findTokenedOrders: (after: number, limit = 500, requestedSince?: number) =>
      findTokenedOrders(options, after, limit, requestedSince),
    /** What changed in SCM since `input.since`: revoked, expired and replaced certificates. */
    changesInScm: (input: {
      since: number;
      replacedSeen?: number;
    }): Promise<{ changes: ScmObservation[]; replacedSeen: number }> => changesInScm(scm, input),
  };
}
export type SectigoActivities = ReturnType<typeof createSectigoActivities>;
