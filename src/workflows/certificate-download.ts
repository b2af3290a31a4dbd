/**
 * The PEM of an issued certificate, from SCM, for `cli certificate`: the certificate workflows keep each
 * generation's facts, not its PEM (published to the issue and otherwise only in a history that retention
 * deletes), so SCM, which keeps every certificate it issued, is asked.
 */
import type { IssuedCertificate } from '../contract/certificate.ts';
import { downloads } from './activities.ts';

/** `account`: the SCM account that issued it (the certificate's status says), absent for the default one. */
export async function certificateDownload(certificateId: number, account?: string): Promise<IssuedCertificate> {
  return downloads(account).collectCertificate.executeWithOptions(
    { summary: `download certificate ${certificateId} from SCM` },
    [certificateId, {}],
  );
}
