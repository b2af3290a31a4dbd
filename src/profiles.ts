/**
 * Certificate profiles: configuration, not workflow state. A profile ties the Jira "Certificate profile"
 * select value to an SCM certificate type, term and organization, and says which CSRs it accepts.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_ACCOUNT } from './contract/shared.ts';
import { DCV_MODES } from './sectigo/client.ts';

const domainPattern = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Room for a profile's comments on an order: SCM's 1,024 characters less 256 for the connector's words. */
export const PROFILE_COMMENTS_MAX = 1024 - 256;

const profileSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes'),
    /** The value of Jira's "Certificate profile" select. */
    name: z.string().min(1),
    certType: z.number().int().positive(),
    term: z.number().int().positive(),
    orgId: z.number().int().positive(),
    expiryWindow: z.union(
      [z.object({ days: z.number().positive() }).strict(), z.object({ fraction: z.number().gt(0).lt(1) }).strict()],
      {
        error:
          'give { days: N } (renew N days before expiry) or { fraction: F } (the last F of the lifetime, 0 < F < 1)',
      },
    ),
    autoRenew: z.boolean().default(true),
    allowRenewalOutsideWindow: z.boolean().default(false),
    forceRenewalRequestedAt: z.iso.datetime({ offset: true }).nullable().default(null),
    allowedDomains: z
      .array(z.string().toLowerCase().regex(domainPattern, 'must be a domain name or *.domain'))
      .min(1, 'list at least one domain'),
    keyPolicy: z
      .object({
        minRsaBits: z.number().int().min(2048).default(2048),
        /** Larger keys only where the CA's profile takes them (SCM lists its key sizes per type). */
        maxRsaBits: z.number().int().min(2048).max(16384).default(4096),
        ecCurves: z.array(z.enum(['P-256', 'P-384', 'P-521'])).default(['P-256', 'P-384']),
      })
      .strict()
      .refine((policy) => policy.maxRsaBits >= policy.minRsaBits, 'maxRsaBits must be at least minRsaBits')
      .default({ minRsaBits: 2048, maxRsaBits: 4096, ecCurves: ['P-256', 'P-384'] }),
    maxSubjectAltNames: z.number().int().positive().default(100),
    /**
     * The connector's "SSL Cert Comments": written on every order of the profile, after the connector's
     * own words (the issue and the idempotency token), within SCM's 1,024 characters per order.
     */
    comments: z
      .string()
      .trim()
      .min(1, 'leave comments out rather than empty')
      .max(
        PROFILE_COMMENTS_MAX,
        `at most ${PROFILE_COMMENTS_MAX} characters: SCM keeps 1,024 per order, and the connector's issue key` +
          ' and idempotency token need the rest',
      )
      .refine((text) => !text.includes('[certificate:'), 'must not contain "[certificate:", the connector\'s token')
      .optional(),
    /** The SCM account (`accounts`) that orders, renews and revokes the profile's certificates; by default SECTIGO_*. */
    account: z.string().optional(),
    /**
     * Domain control validation, sent with every order when set: SCM requires it of accounts whose domains
     * are not pre-validated (Sectigo's reference, "Request SSL certificate").
     */
    dcv: z
      .object({ mode: z.enum(DCV_MODES), email: z.email().optional() })
      .strict()
      .refine((dcv) => dcv.mode === 'EMAIL' || dcv.email === undefined, 'email goes with mode EMAIL only')
      .optional(),
  })
  .strict();

export type Profile = z.output<typeof profileSchema>;

/**
 * An order's comments: the connector's words, which carry its token, then the profile's comments. SCM
 * refuses comments over 1,024 characters; the profile's are capped at load so that both always fit.
 */
export function orderComments(ours: string, profile: Pick<Profile, 'comments'>): string {
  return profile.comments ? `${ours} ${profile.comments}` : ours;
}

/** A secret named, never written: an environment variable, or a file (a mounted Kubernetes Secret, say). */
const secretSchema = z.union(
  [z.object({ env: z.string().min(1) }).strict(), z.object({ file: z.string().min(1) }).strict()],
  {
    error: 'give { env: VARIABLE } or { file: /path }: secrets are never written in this file',
  },
);
export type SecretSource = z.output<typeof secretSchema>;

/**
 * An SCM account besides the default one (SECTIGO_*): its own SCM (base URL), credentials and rate limit,
 * as the connector of the user guide keeps them per profile. Its secret is named, never written here.
 */
const accountSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes')
      .refine((name) => name !== DEFAULT_ACCOUNT, `"${DEFAULT_ACCOUNT}" is the account of SECTIGO_*`),
    baseUrl: z.url({ protocol: /^https?$/ }),
    auth: z.discriminatedUnion('kind', [
      z
        .object({
          kind: z.literal('password'),
          login: z.string().min(1),
          customerUri: z.string().min(1),
          password: secretSchema,
        })
        .strict(),
      z
        .object({
          kind: z.literal('oauth'),
          clientId: z.string().min(1),
          clientSecret: secretSchema,
          tokenUrl: z.url().optional(),
        })
        .strict(),
      z
        .object({
          kind: z.literal('certificate'),
          login: z.string().min(1),
          customerUri: z.string().min(1),
          /** PEM, with any intermediates after it; named like a secret, though only its key is one. */
          certificate: secretSchema,
          key: secretSchema,
          passphrase: secretSchema.optional(),
        })
        .strict(),
    ]),
    /** PEM certificates trusted for this SCM's TLS besides the system's. */
    ca: secretSchema.optional(),
    /** SCM requests a second for this account, across every worker; by default SECTIGO_MAX_REQUESTS_PER_SECOND. */
    requestsPerSecond: z.number().positive().max(10_000).optional(),
    timeoutMs: z.number().int().min(1000).max(600_000).optional(),
  })
  .strict()
  .refine(({ auth, baseUrl }) => auth.kind !== 'certificate' || baseUrl.startsWith('https:'), {
    path: ['baseUrl'],
    message: 'a client certificate needs https://',
  });
export type ScmAccount = z.output<typeof accountSchema>;

const fileSchema = z
  .object({ accounts: z.array(accountSchema).default([]), profiles: z.array(profileSchema).min(1) })
  .strict()
  .superRefine(({ accounts, profiles }, ctx) => {
    const names = new Set<string>();
    accounts.forEach((account, index) => {
      if (names.has(account.name))
        ctx.addIssue({ code: 'custom', path: ['accounts', index, 'name'], message: 'duplicate name' });
      names.add(account.name);
    });
    profiles.forEach((profile, index) => {
      if (profile.account === undefined || profile.account === DEFAULT_ACCOUNT || names.has(profile.account)) return;
      const known = [DEFAULT_ACCOUNT, ...names].join(', ');
      ctx.addIssue({
        code: 'custom',
        path: ['profiles', index, 'account'],
        message: `no account "${profile.account}": use one of ${known}`,
      });
    });
    for (const key of ['id', 'name'] as const) {
      const seen = new Set<string>();
      profiles.forEach((profile, index) => {
        if (seen.has(profile[key]))
          ctx.addIssue({ code: 'custom', path: ['profiles', index, key], message: `duplicate ${key}` });
        seen.add(profile[key]);
      });
    }
  });

export class ProfileError extends Error {
  override name = 'ProfileError';
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid profiles in ${source}:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** Validated profiles, looked up by id or by their Jira name; replaceable when the file changes. */
export class Profiles {
  #all: readonly Profile[];
  #accounts: readonly ScmAccount[];
  constructor(profiles: readonly Profile[], accounts: readonly ScmAccount[] = []) {
    this.#all = profiles;
    this.#accounts = accounts;
  }

  get all(): readonly Profile[] {
    return this.#all;
  }

  /** The SCM accounts besides the default one. */
  get accounts(): readonly ScmAccount[] {
    return this.#accounts;
  }

  /**
   * Takes a newly loaded set of profiles; running workflows learn of it through the sweep's reevaluate.
   * Accounts are the workers' (one task queue each), read once at start: a set whose accounts differ is
   * refused, with the reason.
   */
  replace(next: Profiles): void {
    if (JSON.stringify(next.accounts) !== JSON.stringify(this.#accounts)) {
      throw new ProfileError('the reloaded profiles', ['accounts changed: restart the workers to use them']);
    }
    this.#all = next.all;
  }

  static parse(text: string, source = 'profiles'): Profiles {
    let data: unknown;
    try {
      data = parseYaml(text);
    } catch (err) {
      throw new ProfileError(source, [(err as Error).message]);
    }
    const result = fileSchema.safeParse(data);
    if (!result.success) {
      throw new ProfileError(
        source,
        result.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`),
      );
    }
    return new Profiles(result.data.profiles, result.data.accounts);
  }

  static load(path: string): Profiles {
    return Profiles.parse(readFileSync(path, 'utf8'), path);
  }

  byId(id: string): Profile | undefined {
    return this.all.find((profile) => profile.id === id);
  }

  byName(name: string): Profile | undefined {
    return this.all.find((profile) => profile.name === name);
  }

  /**
   * The named SCM account of a profile, as workflows carry it: its `account`, or undefined for the
   * default one (SECTIGO_*, also when named "default").
   */
  static accountOf(profile: Pick<Profile, 'account'>): string | undefined {
    return profile.account === DEFAULT_ACCOUNT ? undefined : profile.account;
  }

  /** A profile named by its name (as Jira shows it) or its id (as the CLI and the metrics show it). */
  named(nameOrId: string): Profile | undefined {
    return this.byName(nameOrId) ?? this.byId(nameOrId);
  }
}
