/**
 * Ordering a certificate exactly once. SCM has no idempotency key, so every order carries a token in its
 * comments, and a retried attempt looks for that token, for as long as SCM may still be processing the
 * lost request, before it orders again.
 */
import { activityInfo, heartbeat, log, sleep } from '@temporalio/activity';
import { ErrorType } from '../../contract/shared.ts';
import { orderComments, type Profile, type Profiles } from '../../profiles.ts';
import type { ScmClient } from '../../sectigo/client.ts';
import { translated, userProblem } from '../failures.ts';
import { TOKEN, utcDay } from './scm-words.ts';

interface OrderNames {
  commonName: string | undefined;
  subjectAltNames: string[];
  profileId: string;
  issueKey: string;
  /** Unique per order the workflow means to place; written into the order's comments. */
  token: string;
  /**
   * Ask SCM once, right after ordering, whether it issued the certificate already, and answer it with the
   * order if so. Runs started before this was asked for leave it out and collect by an activity of its own.
   */
  collectIfIssued?: boolean;
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

type Names = ReadonlyArray<Pick<OrderNames, 'commonName' | 'subjectAltNames'>>;

export interface OrderOptions {
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

/** Places orders and renewals, and finds the one an earlier attempt placed. */
export class Orders {
  readonly #scm: ScmClient;
  readonly #profiles: Profiles;
  readonly #graceMs: number;
  readonly #searchLimit: number;

  constructor({ scm, profiles, orderGraceMs, searchLimit = 50 }: OrderOptions) {
    this.#scm = scm;
    this.#profiles = profiles;
    this.#graceMs = orderGraceMs ?? 2 * scm.timeoutMs;
    this.#searchLimit = searchLimit;
  }

  /** Places the order, once: the order carries `input.token`, and a retry adopts the order with it. */
  async enroll(input: EnrollInput): Promise<{ certificateId: number }> {
    const profile = this.#profileOf(input.profileId);
    return translated(async () => {
      const existing = await this.#earlierOrder(() => this.#findByToken(input.token, [input], profile));
      if (existing !== undefined) {
        log.info('adopting the order an earlier attempt placed', { certificateId: existing, token: input.token });
        return { certificateId: existing };
      }
      this.#posting();
      const { sslId } = await this.#scm.enroll({
        orgId: profile.orgId,
        certType: profile.certType,
        term: profile.term,
        csr: input.csr,
        subjAltNames: input.subjectAltNames.length > 0 ? input.subjectAltNames : undefined,
        comments: orderComments(`Requested through Jira issue ${input.issueKey} [${input.token}]`, profile),
        dcv: profile.dcv,
      });
      log.info('order placed', { certificateId: sslId, issueKey: input.issueKey });
      return { certificateId: sslId };
    });
  }

  /**
   * Renews by id: SCM places a new order (a new id) from the old one; renewById takes no comments, so the
   * token goes onto the old order before and onto the new one after. A retry adopts only a newer order
   * carrying the token: another issue's renewal of the same domain is never mistaken for this one. (Were
   * SCM not to copy comments, a lost answer would cost a second order, never a wrong adoption.)
   */
  async renew(input: RenewInput): Promise<{ certificateId: number }> {
    const profile = this.#profileOf(input.profileId);
    return translated(async () => {
      // SCM renews the old order's parameters, so the renewal bears the old order's names, whatever the
      // new CSR says (a CSR for another host pasted before "Renew Certificate"): look under both.
      const earlier = activityInfo().heartbeatDetails as OrderAttempt | undefined;
      const existing = await this.#earlierOrder(async () => {
        const renewed = await this.#scm.getCertificate(input.certificateId);
        if (!renewed.renewed) return undefined;
        const old = { commonName: renewed.commonName, subjectAltNames: renewed.subjectAlternativeNames ?? [] };
        return this.#earlierRenewal(input.token, [old, input], profile, input.certificateId, earlier?.postedAt);
      });
      const comments = orderComments(`Renewal through Jira issue ${input.issueKey} [${input.token}]`, profile);
      if (existing !== undefined) {
        log.info('adopting the renewal an earlier attempt placed', {
          from: input.certificateId,
          certificateId: existing,
        });
        await this.#scm.setComments(existing, comments);
        return { certificateId: existing };
      }
      // SCM copies the old order's parameters into the renewal, perhaps its comments too: with the token on
      // the old order first, the new order may carry it from the moment it exists, even if the answer is
      // lost; where it does not, the retry finds the one untokened renewal of the old order's names.
      await this.#scm.setComments(input.certificateId, comments);
      this.#posting();
      const { sslId } = await this.#scm.renewById(input.certificateId, input.csr, profile.dcv);
      await this.#scm.setComments(sslId, comments);
      log.info('renewal ordered', { from: input.certificateId, certificateId: sslId, issueKey: input.issueKey });
      return { certificateId: sslId };
    });
  }

  #profileOf(profileId: string): Profile {
    const profile = this.#profiles.byId(profileId);
    if (!profile) throw userProblem(ErrorType.RequestIncomplete, `The profile "${profileId}" is no longer configured.`);
    return profile;
  }

  /**
   * The newest orders of the profile's organization and type that bear one of `names` (by CN, or by the
   * first SAN for a name without one), newer than `after`, with their details: at most `searchLimit` reads.
   */
  async *#newerOrdersNamed(names: Names, profile: Profile, after: number) {
    const filters = new Map<string, { commonName: string } | { subjectAlternativeName: string }>();
    for (const name of names) {
      const filter = name.commonName
        ? { commonName: name.commonName }
        : { subjectAlternativeName: name.subjectAltNames[0] ?? '' };
      filters.set(JSON.stringify(filter), filter);
    }
    const ids = new Set<number>();
    for (const byName of filters.values()) {
      for await (const item of this.#scm.search({ orgId: profile.orgId, sslTypeId: profile.certType, ...byName })) {
        if (item.sslId > after) ids.add(item.sslId);
      }
    }
    for (const id of [...ids].sort((a, b) => b - a).slice(0, this.#searchLimit)) {
      heartbeat(activityInfo().heartbeatDetails);
      yield await this.#scm.getCertificate(id);
    }
  }

  /** The order carrying `token` among the newest orders of `names` newer than `after`. */
  async #findByToken(token: string, names: Names, profile: Profile, after = 0): Promise<number | undefined> {
    for await (const details of this.#newerOrdersNamed(names, profile, after)) {
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
  async #earlierRenewal(
    token: string,
    names: Names,
    profile: Profile,
    renewedId: number,
    postedAt: number | undefined,
  ): Promise<number | undefined> {
    const sentDay = postedAt === undefined ? undefined : Date.parse(utcDay(postedAt));
    const wanted = names.map((n) => (n.commonName ?? n.subjectAltNames[0] ?? '').toLowerCase());
    const untokened: number[] = [];
    for await (const details of this.#newerOrdersNamed(names, profile, renewedId)) {
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
  async #earlierOrder(find: () => Promise<number | undefined>): Promise<number | undefined> {
    const info = activityInfo();
    if (info.attempt === 1) return undefined;
    const earlier = info.heartbeatDetails as OrderAttempt | undefined;
    // Without a record of the earlier attempt, assume it posted just now: wait the whole grace.
    const deadline = (earlier?.postedAt ?? Date.now()) + this.#graceMs;
    for (;;) {
      const found = await find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      heartbeat(earlier);
      await sleep(Math.min(left, Math.max(250, this.#graceMs / 10)));
    }
  }

  /** Records when this attempt sends its order; the first heartbeat is sent at once. */
  #posting(): void {
    heartbeat({ postedAt: Date.now() } satisfies OrderAttempt);
  }
}
