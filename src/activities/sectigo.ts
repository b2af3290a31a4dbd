/** Sectigo SCM activities: ordering a certificate exactly once, and collecting it when issued. */
import { activityInfo, heartbeat, log } from '@temporalio/activity';
import type { Profile, Profiles } from '../profiles.ts';
import { ErrorType, type IssuedCertificate } from '../contract.ts';
import * as x509 from '../csr/x509.ts';
import { pending, translated, userProblem } from './failures.ts';
import type { ScmClient, ScmListItem } from '../sectigo/client.ts';

export interface RenewInput {
  /** The order being renewed. */
  certificateId: number;
  /** The CSR now on the issue: a new one rotates the key. */
  csr: string;
  commonName: string | undefined;
  profileId: string;
  issueKey: string;
}

export interface EnrollInput {
  profileId: string;
  csr: string;
  commonName: string | undefined;
  subjectAltNames: string[];
  /** Unique per order the workflow means to place; written into the order's comments. */
  token: string;
  issueKey: string;
}

const IN_PROGRESS = new Set(['Init', 'Requested', 'Approved', 'SAApproved', 'Applied']);
const DECLINED = new Set(['Declined', 'Rejected', 'Invalid']);

export function createSectigoActivities({ scm, profiles }: { scm: ScmClient; profiles: Profiles }) {
  function profileOf(profileId: string): Profile {
    const profile = profiles.byId(profileId);
    if (!profile) throw userProblem(ErrorType.RequestIncomplete, `The profile "${profileId}" is no longer configured.`);
    return profile;
  }

  /** SCM's orders for the same name, organization and certificate type, page by page. */
  async function* sameKind(commonName: string | undefined, profile: Profile): AsyncGenerator<ScmListItem> {
    const filter = { orgId: profile.orgId, sslTypeId: profile.certType, ...(commonName ? { commonName } : {}) };
    for await (const item of scm.search(filter)) {
      heartbeat();
      yield item;
    }
  }

  /** An earlier attempt's order carrying `token`, if SCM recorded one before its answer was lost. */
  async function findOrder(input: EnrollInput, profile: Profile): Promise<number | undefined> {
    for await (const item of sameKind(input.commonName, profile)) {
      const details = await scm.getCertificate(item.sslId);
      if (details.comments?.includes(input.token)) return details.id;
    }
    return undefined;
  }

  /** The first order after `input.certificateId` for the same name, organization and profile. */
  async function findNewerOrder(input: RenewInput, profile: Profile): Promise<number | undefined> {
    let newest: number | undefined;
    for await (const item of sameKind(input.commonName, profile)) {
      if (item.sslId > input.certificateId && (newest === undefined || item.sslId < newest)) newest = item.sslId;
    }
    return newest;
  }

  return {
    /**
     * Places the order. SCM has no idempotency key, so the order carries `token` in its comments and any
     * retry first looks for an order with that token: a lost response never becomes a second order.
     */
    async enrollCertificate(input: EnrollInput): Promise<{ certificateId: number }> {
      const profile = profileOf(input.profileId);
      return translated(async () => {
        if (activityInfo().attempt > 1) {
          const existing = await findOrder(input, profile);
          if (existing !== undefined) {
            log.info('adopting the order an earlier attempt placed', { certificateId: existing, token: input.token });
            return { certificateId: existing };
          }
        }
        const { sslId } = await scm.enroll({
          orgId: profile.orgId,
          certType: profile.certType,
          term: profile.term,
          csr: input.csr,
          subjAltNames: input.subjectAltNames.length > 0 ? input.subjectAltNames : undefined,
          comments: `Requested through Jira issue ${input.issueKey} [${input.token}]`,
        });
        log.info('order placed', { certificateId: sslId, issueKey: input.issueKey });
        return { certificateId: sslId };
      });
    },

    /**
     * Renews by id: SCM places a new order (a new id) from the old one. renewById is not idempotent
     * either, so a retry first checks whether the old order is marked renewed and adopts the newer order.
     */
    async renewCertificate(input: RenewInput): Promise<{ certificateId: number }> {
      const profile = profileOf(input.profileId);
      return translated(async () => {
        if (activityInfo().attempt > 1) {
          const old = await scm.getCertificate(input.certificateId);
          if (old.renewed) {
            const newer = await findNewerOrder(input, profile);
            if (newer !== undefined) {
              log.info('adopting the renewal an earlier attempt placed', {
                from: input.certificateId,
                certificateId: newer,
              });
              return { certificateId: newer };
            }
          }
        }
        const { sslId } = await scm.renewById(input.certificateId, input.csr);
        log.info('renewal ordered', { from: input.certificateId, certificateId: sslId, issueKey: input.issueKey });
        return { certificateId: sslId };
      });
    },

    /** The order's status in SCM, for the sweep's reconciliation. */
    async getOrderStatus(certificateId: number): Promise<{ status: string }> {
      return translated(async () => ({ status: (await scm.getCertificate(certificateId)).status }));
    },

    /** Answers the issued certificate, or fails benignly while SCM is still processing the order. */
    async collectCertificate(certificateId: number): Promise<IssuedCertificate> {
      return translated(async () => {
        const details = await scm.getCertificate(certificateId);
        if (IN_PROGRESS.has(details.status)) throw pending(`order ${certificateId} is ${details.status}`);
        if (DECLINED.has(details.status)) {
          throw userProblem(ErrorType.CaDeclined, `Sectigo ${details.status.toLowerCase()} order ${certificateId}.`);
        }
        if (details.status !== 'Issued') {
          throw userProblem(
            ErrorType.CaDeclined,
            `Order ${certificateId} is ${details.status} in Sectigo, not issued.`,
          );
        }
        const pem = await scm.collect(certificateId, 'x509');
        const leaf = new x509.X509Certificate(pem);
        return {
          certificateId,
          serialNumber: leaf.serialNumber.toUpperCase(),
          notBefore: leaf.notBefore.getTime(),
          notAfter: leaf.notAfter.getTime(),
          pem: normalisePem(pem),
        };
      });
    },
  };
}
export type SectigoActivities = ReturnType<typeof createSectigoActivities>;

function normalisePem(pem: string): string {
  return pem.replace(/\r\n/g, '\n').trim() + '\n';
}
