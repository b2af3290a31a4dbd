/** Activities that check a certificate request before anything is ordered. */
import type { Profiles } from '../profiles.ts';
import { isDomainAllowed } from '../profiles.ts';
import { ErrorType, type CsrSummary } from '../contract.ts';
import { CsrProblem, inspectCsr } from '../csr/inspect.ts';
import { userProblem } from './failures.ts';

export interface ValidatedRequest {
  profileId: string;
  csr: CsrSummary;
}

export function createCsrActivities({ profiles }: { profiles: Profiles }) {
  return {
    /** Resolves the profile and validates its CSR against it; rejections explain what to fix. */
    async validateRequest(request: { profileName: string | undefined; csr: string }): Promise<ValidatedRequest> {
      const choices = profiles.all.map((p) => `"${p.name}"`).join(', ');
      if (!request.profileName) {
        throw userProblem(
          ErrorType.RequestIncomplete,
          `The issue has no "Certificate profile". Choose one of ${choices}.`,
        );
      }
      const profile = profiles.byName(request.profileName);
      if (!profile) {
        throw userProblem(
          ErrorType.RequestIncomplete,
          `The profile "${request.profileName}" is not configured for certificates. Choose one of ${choices}.`,
        );
      }
      try {
        const csr = await inspectCsr(request.csr, {
          profileName: profile.name,
          minRsaBits: profile.keyPolicy.minRsaBits,
          ecCurves: profile.keyPolicy.ecCurves,
          allowedDomains: profile.allowedDomains,
          maxSubjectAltNames: profile.maxSubjectAltNames,
          isDomainAllowed: (domain) => isDomainAllowed(domain, profile.allowedDomains),
        });
        return { profileId: profile.id, csr };
      } catch (err) {
        if (err instanceof CsrProblem) throw userProblem(ErrorType.CsrRejected, err.message);
        throw err;
      }
    },
  };
}
export type CsrActivities = ReturnType<typeof createCsrActivities>;
