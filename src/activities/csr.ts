/** Activities that check a certificate request before anything is ordered. */
import type { CsrSummary } from '../contract/certificate.ts';
import { ErrorType, type JiraNames } from '../contract/shared.ts';
import { CsrProblem, inspectCsr } from '../csr/inspect.ts';
import { isDomainAllowed } from '../csr/names.ts';
import { csrProblems } from '../messages.ts';
import { Profiles } from '../profiles.ts';
import { userProblem } from './failures.ts';

export interface ValidatedRequest {
  profileId: string;
  /** The profile's SCM account, where it is not the default one. */
  account?: string;
  csr: CsrSummary;
}

/** `names`: the site's Jira names, which the refusals speak of. */
export function createCsrActivities({ profiles, names }: { profiles: Profiles; names: JiraNames }) {
  return {
    /** Resolves the profile and validates its CSR against it; rejections explain what to fix. */
    async validateRequest(request: { profileName: string | undefined; csr: string }): Promise<ValidatedRequest> {
      const choices = profiles.all.map((p) => `"${p.name}"`).join(', ');
      if (!request.profileName)
        throw userProblem(ErrorType.RequestIncomplete, csrProblems.noProfile(names.fields.profile, choices));
      const profile = profiles.named(request.profileName);
      if (!profile) {
        throw userProblem(ErrorType.RequestIncomplete, csrProblems.unknownProfile(request.profileName, choices));
      }
      try {
        const csr = await inspectCsr(request.csr, {
          profileName: profile.name,
          field: names.fields.csr,
          ...profile.keyPolicy,
          allowedDomains: profile.allowedDomains,
          maxSubjectAltNames: profile.maxSubjectAltNames,
          isDomainAllowed: (domain) => isDomainAllowed(domain, profile.allowedDomains),
        });
        const account = Profiles.accountOf(profile);
        return { profileId: profile.id, ...(account ? { account } : {}), csr };
      } catch (err) {
        if (err instanceof CsrProblem) throw userProblem(ErrorType.CsrRejected, err.message);
        throw err;
      }
    },
  };
}
export type CsrActivities = ReturnType<typeof createCsrActivities>;
