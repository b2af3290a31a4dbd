/**
 * Sectigo SCM activities: ordering a certificate exactly once, and collecting it when issued. SCM has no
 * idempotency key, so every order carries a token in its comments, and a retried attempt looks for that
 * token, for as long as SCM may still be processing the lost request, before it orders again.
 */
import { activityInfo, heartbeat, log, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, type FoundCertificate, type RevocationReasonCode } from '../contract/shared.ts';
import type { IssuedCertificate, ScmObservation } from '../contract/certificate.ts';
import type { TokenedOrder } from '../contract/sweep.ts';
import type { Profile, Profiles } from '../profiles.ts';
import { ChainProblem, issuedChain } from '../sectigo/chain.ts';
import { ScmError, type ScmClient } from '../sectigo/client.ts';
import { pending, translated, userProblem } from './failures.ts';

interface OrderNames {
  commonName: string | undefined;
  subjectAltNames: string[];
  profileId: string;
  issueKey: string;
  /** Unique per order the workflow means to place; written into the order's comments. */
  token: string;
}

export interface EnrollInput extends OrderNames {
  csr: string;
}

export interface RenewInput extends OrderNames {
  /** The order being renewed. */
  certificateId: number;
  /** The CSR now on the issue: a new one rotates the key. */
  csr: string;
}

/** What an attempt leaves in its heartbeat: when it sent its order, so that a retry knows how long to look. */
interface OrderAttempt {
  postedAt: number;
}

const DAY_MS = 86_400_000;
/** The UTC day of an instant, as SCM's report takes it. */
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The connector's token in an order's comments: `[certificate:<KEY>/<run>/g<N>/<event>]`. */
const TOKEN = /\[(certificate:([A-Z][A-Z0-9_]*-[1-9][0-9]*)\/[^\]\s]+)\]/;

const IN_PROGRESS = new Set(['Init', 'Requested', 'Approved', 'SAApproved', 'Applied']);
const DECLINED = new Set(['Declined', 'Rejected', 'Invalid']);

export interface SectigoActivityOptions {
  scm: ScmClient;
  profiles: Profiles;
  /**
   * How long after a lost request SCM may still record its order; a retry looks for the order that long
   * before placing another. Longer than the request timeout: SCM goes on after the client gave up.
   */
  orderGraceMs?: number;
  /** At most this many recent orders are read when looking for a token (one request each). */
  searchLimit?: number;
}

export function createSectigoActivities({ scm, profiles, orderGraceMs, searchLimit = 50 }: SectigoActivityOptions) {
  const graceMs = orderGraceMs ?? 2 * scm.timeoutMs;

  function profileOf(profileId: string): Profile {
    const profile = profiles.byId(profileId);
    if (!profile) throw userProblem(ErrorType.RequestIncomplete, `The profile "${profileId}" is no longer configured.`);
    return profile;
  }

  type Names = ReadonlyArray<Pick<OrderNames, 'commonName' | 'subjectAltNames'>>;

  /**
   * The newest orders of the profile's organization and type that bear one of `names` (by CN, or by the
   * first SAN for a name without one), newer than `after`, with their details: at most `searchLimit` reads.
   */
  async function* newerOrdersNamed(names: Names, profile: Profile, after: number) {
    const filters = new Map<string, { commonName: string } | { subjectAlternativeName: string }>();
    for (const name of names) {
      const filter = name.commonName
        ? { commonName: name.commonName }
        : { subjectAlternativeName: name.subjectAltNames[0] ?? '' };
      filters.set(JSON.stringify(filter), filter);
    }
    const ids = new Set<number>();
    for (const byName of filters.values()) {
      for await (const item of scm.search({ orgId: profile.orgId, sslTypeId: profile.certType, ...byName })) {
        if (item.sslId > after) ids.add(item.sslId);
      }
    }
    for (const id of [...ids].sort((a, b) => b - a).slice(0, searchLimit)) {
      heartbeat(activityInfo().heartbeatDetails);
      yield await scm.getCertificate(id);
    }
  }

  /** The order carrying `token` among the newest orders of `names` newer than `after`. */
  async function findByToken(token: string, names: Names, profile: Profile, after = 0): Promise<number | undefined> {
    for await (const details of newerOrdersNamed(names, profile, after)) {
      if (details.comments?.includes(token)) return details.id;
    }
    return undefined;
  }

  /**
   * The renewal of `renewedId` an earlier attempt placed: the newer order of `names` carrying `token`; or,
   * where SCM did not copy the old order's comments into it (whether it does is not documented), the one
   * newer order of those names that carries no connector token and was requested no earlier than the day
   * the lost request was sent. Several such orders, or none: undefined, and the caller orders again — a
   * second order is recoverable, a wrong adoption is not. Each order's details are read once for both.
   */
  async function earlierRenewal(
    token: string,
    names: Names,
    profile: Profile,
    renewedId: number,
    postedAt: number | undefined,
  ): Promise<number | undefined> {
    const sentDay = postedAt === undefined ? undefined : Date.parse(utcDay(postedAt));
    const wanted = names.map((n) => (n.commonName ?? n.subjectAltNames[0] ?? '').toLowerCase());
    const untokened: number[] = [];
    for await (const details of newerOrdersNamed(names, profile, renewedId)) {
      const comments = details.comments ?? '';
      if (comments.includes(token)) return details.id;
      const sameName = [details.commonName, ...details.subjectAlternativeNames]
        .map((n) => n.toLowerCase())
        .some((n) => wanted.includes(n));
      if (sentDay !== undefined && sameName && !TOKEN.test(comments) && (details.requested ?? 0) >= sentDay) {
        untokened.push(details.id);
      }
    }
    return untokened.length === 1 ? untokened[0] : undefined;
  }

  /**
   * On a retried attempt: the order an earlier attempt placed, looked for until SCM can no longer be
   * processing that attempt's request. Undefined on a first attempt, or when there is none.
   */
  async function earlierOrder(find: () => Promise<number | undefined>): Promise<number | undefined> {
    const info = activityInfo();
    if (info.attempt === 1) return undefined;
    const earlier = info.heartbeatDetails as OrderAttempt | undefined;
    // Without a record of the earlier attempt, assume it posted just now: wait the whole grace.
    const deadline = (earlier?.postedAt ?? Date.now()) + graceMs;
    for (;;) {
      const found = await find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      heartbeat(earlier);
      await sleep(Math.min(left, Math.max(250, graceMs / 10)));
    }
  }

  /** Records when this attempt sends its order; the first heartbeat is sent at once. */
  const posting = () => heartbeat({ postedAt: Date.now() } satisfies OrderAttempt);

  return {
    /** Places the order, once: the order carries `input.token`, and a retry adopts the order with it. */
    async enrollCertificate(input: EnrollInput): Promise<{ certificateId: number }> {
      const profile = profileOf(input.profileId);
      return translated(async () => {
        const existing = await earlierOrder(() => findByToken(input.token, [input], profile));
        if (existing !== undefined) {
          log.info('adopting the order an earlier attempt placed', { certificateId: existing, token: input.token });
          return { certificateId: existing };
        }
        posting();
        const { sslId } = await scm.enroll({
          orgId: profile.orgId,
          certType: profile.certType,
          term: profile.term,
          csr: input.csr,
          subjAltNames: input.subjectAltNames.length > 0 ? input.subjectAltNames : undefined,
          comments: `Requested through Jira issue ${input.issueKey} [${input.token}]`,
          dcv: profile.dcv,
        });
        log.info('order placed', { certificateId: sslId, issueKey: input.issueKey });
        return { certificateId: sslId };
      });
    },

    /**
     * Renews by id: SCM places a new order (a new id) from the old one; renewById takes no comments, so the
     * token goes onto the old order before and onto the new one after. A retry adopts only a newer order
     * carrying the token: another issue's renewal of the same domain is never mistaken for this one. (Were
     * SCM not to copy comments, a lost answer would cost a second order, never a wrong adoption.)
     */
    async renewCertificate(input: RenewInput): Promise<{ certificateId: number }> {
      const profile = profileOf(input.profileId);
      return translated(async () => {
        // SCM renews the old order's parameters, so the renewal bears the old order's names, whatever the
        // new CSR says (a CSR for another host pasted before "Renew Certificate"): look under both.
        const earlier = activityInfo().heartbeatDetails as OrderAttempt | undefined;
        const existing = await earlierOrder(async () => {
          const renewed = await scm.getCertificate(input.certificateId);
          if (!renewed.renewed) return undefined;
          const old = { commonName: renewed.commonName, subjectAltNames: renewed.subjectAlternativeNames ?? [] };
          return earlierRenewal(input.token, [old, input], profile, input.certificateId, earlier?.postedAt);
        });
        const comments = `Renewal through Jira issue ${input.issueKey} [${input.token}]`;
        if (existing !== undefined) {
          log.info('adopting the renewal an earlier attempt placed', {
            from: input.certificateId,
            certificateId: existing,
          });
          await scm.setComments(existing, comments);
          return { certificateId: existing };
        }
        // SCM copies the old order's parameters into the renewal, perhaps its comments too: with the token on
        // the old order first, the new order may carry it from the moment it exists, even if the answer is
        // lost; where it does not, the retry finds the one untokened renewal of the old order's names.
        await scm.setComments(input.certificateId, comments);
        posting();
        const { sslId } = await scm.renewById(input.certificateId, input.csr, profile.dcv);
        await scm.setComments(sslId, comments);
        log.info('renewal ordered', { from: input.certificateId, certificateId: sslId, issueKey: input.issueKey });
        return { certificateId: sslId };
      });
    },

    /**
     * Orders of the configured profiles, newer than `after`, that carry one of the connector's tokens: the
     * sweep checks that each belongs to a workflow. At most `limit` orders are read per call; `highest` is
     * where the next call goes on.
     */
    async findTokenedOrders(
      after: number,
      limit = 500,
      requestedSince?: number,
    ): Promise<{ orders: TokenedOrder[]; highest: number }> {
      return translated(async () => {
        const ids: number[] = [];
        if (requestedSince !== undefined) {
          // Orders requested since the last sweep (a day of overlap), from the report: one request.
          const orgs = [...new Set(profiles.all.map((p) => p.orgId))];
          const window = { from: utcDay(requestedSince - DAY_MS), to: utcDay(Date.now()) };
          for (const entry of await scm.report({
            ...window,
            certificateStatus: 0,
            certificateDateAttribute: 4,
            organizationIds: orgs,
          })) {
            if (entry.sslId > after) ids.push(entry.sslId);
          }
        } else {
          const kinds = new Map(profiles.all.map((p) => [`${p.orgId}/${p.certType}`, p]));
          for (const profile of kinds.values()) {
            for await (const item of scm.search({ orgId: profile.orgId, sslTypeId: profile.certType })) {
              if (item.sslId > after) ids.push(item.sslId);
            }
          }
        }
        const examined = [...new Set(ids)].sort((a, b) => a - b).slice(0, limit);
        const orders: TokenedOrder[] = [];
        for (const id of examined) {
          heartbeat();
          const details = await scm.getCertificate(id);
          // Only an order still issued, or on its way, asks for anything: one revoked already (a revocation
          // revokes what was issued while it was asked for), declined or expired is no duplicate to report.
          if (details.status !== 'Issued' && !IN_PROGRESS.has(details.status)) continue;
          const token = TOKEN.exec(details.comments ?? '');
          if (token?.[1] && token[2]) orders.push({ certificateId: id, issueKey: token[2], token: token[1] });
        }
        return { orders, highest: examined.at(-1) ?? after };
      });
    },

    /**
     * What changed in SCM since `since`, read as lists of changes rather than one request per
     * certificate: revocations and expiries from the SSL report (by revocation and expiration date, with a
     * day of overlap), replacements from the list filtered by status, read on from where the last sweep
     * stopped (`replacedSeen`, the count it saw).
     */
    async changesInScm(input: {
      since: number;
      replacedSeen?: number;
    }): Promise<{ changes: ScmObservation[]; replacedSeen: number }> {
      return translated(async () => {
        const window = { from: utcDay(input.since - DAY_MS), to: utcDay(Date.now()) };
        const revoked = await scm.report({ ...window, certificateStatus: 3, certificateDateAttribute: 2 });
        const expired = await scm.report({ ...window, certificateStatus: 4, certificateDateAttribute: 3 });
        const total = await scm.count({ status: 'Replaced' });
        // In which order SCM lists them is not documented: the ones added since are either the last `added`
        // (oldest first) or the first (newest first), so both ends are read. One already seen is harmless.
        const seen = Math.min(input.replacedSeen ?? 0, total);
        const added = total - seen;
        const ranges: Array<[from: number, to: number]> =
          added > 0
            ? [
                [seen, total],
                [0, Math.min(added, seen)],
              ]
            : [];
        const replaced = new Set<number>();
        for (const [from, to] of ranges) {
          for (let position = from; position < to;) {
            heartbeat();
            const { items } = await scm.list({ status: 'Replaced' }, position);
            if (items.length === 0) break;
            for (const item of items.slice(0, to - position)) replaced.add(item.sslId);
            position += items.length;
          }
        }
        const changes: ScmObservation[] = [
          ...revoked.map((e) => ({ certificateId: e.sslId, status: 'Revoked' as const })),
          ...expired.map((e) => ({ certificateId: e.sslId, status: 'Expired' as const })),
          ...[...replaced].map((certificateId) => ({ certificateId, status: 'Replaced' as const })),
        ];
        return { changes, replacedSeen: total };
      });
    },

    /**
     * Revokes one certificate in SCM with its RFC 5280 reason. Revoking what SCM already shows revoked
     * (also what a retry after a lost answer meets) is an answer, not an error: SCM says -159, or -102
     * "Only issued certificates could be revoked", which it also says of one never issued, so -102 counts
     * only when the certificate's details say Revoked.
     */
    async revokeCertificate(input: {
      certificateId: number;
      reasonCode: RevocationReasonCode;
      reason: string;
    }): Promise<'revoked' | 'already-revoked'> {
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
    },

    /**
     * A certificate to revoke, by id or by domain, among those of a configured profile (its SCM type and
     * organization): `found`, `ambiguous` (several issued ones match the domain), `none`, or `foreign`
     * (it exists but belongs to no configured profile, so it is not the connector's to revoke).
     */
    async lookUpCertificate(request: {
      profileName: string | undefined;
      certificateId?: number;
      domain?: string;
    }): Promise<
      | { kind: 'found'; certificate: FoundCertificate }
      | { kind: 'ambiguous'; candidates: FoundCertificate[] }
      | { kind: 'none' }
      | { kind: 'foreign'; certificateId: number }
      | { kind: 'unknown-profile'; choices: string[] }
    > {
      const profile = request.profileName ? profiles.byName(request.profileName) : undefined;
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
    },

    /** The order's status in SCM, for the sweep's reconciliation. */
    /**
     * Answers the issued certificate, or fails benignly while SCM is still processing the order. The issued
     * certificate is the one for `ordered.csr`'s key with SCM's serial, whatever order SCM's answer is in;
     * its PEM is the leaf first, then each issuer.
     */
    async collectCertificate(certificateId: number, ordered: { csr?: string } = {}): Promise<IssuedCertificate> {
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
        };
      });
    },
  };
}
export type SectigoActivities = ReturnType<typeof createSectigoActivities>;
