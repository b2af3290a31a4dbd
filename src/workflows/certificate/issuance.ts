/** The steps enrollment and renewal share: checking the request's CSR, and collecting what SCM issued. */
import type { IssuedCertificate } from '../../contract/certificate.ts';
import { issuance, localRequests, requests } from '../activities.ts';
import type { Changes } from './changes.ts';

/** Checks the request's CSR against its profile. */
export function validate(changes: Changes, request: { profileName: string | undefined; csr: string }) {
  const options = { summary: `check the CSR against profile "${request.profileName ?? '(none)'}"` };
  return changes.localRequests
    ? localRequests.validateRequest.executeWithOptions(options, [request])
    : requests.validateRequest.executeWithOptions(options, [request]);
}

/** Waits for SCM to issue the certificate ordered for `csr` and downloads it. */
export function collect(certificateId: number, csr: string): Promise<IssuedCertificate> {
  return issuance.collectCertificate.executeWithOptions(
    { summary: `collect certificate ${certificateId} once SCM has issued it` },
    [certificateId, { csr }],
  );
}
