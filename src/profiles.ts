/**
 * Certificate profiles: configuration, not workflow state. A profile ties the Jira "Certificate profile"
 * select value to an SCM certificate type, term and organization, and says which CSRs it accepts.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
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

const fileSchema = z
  .object({ profiles: z.array(profileSchema).min(1) })
  .strict()
  .superRefine(({ profiles }, ctx) => {
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
  constructor(profiles: readonly Profile[]) {
    this.#all = profiles;
  }

  get all(): readonly Profile[] {
    return this.#all;
  }

  /** Takes a newly loaded set of profiles; running workflows learn of it through the sweep's reevaluate. */
  replace(next: Profiles): void {
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
    return new Profiles(result.data.profiles);
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

  /** A profile named by its name (as Jira shows it) or its id (as the CLI and the metrics show it). */
  named(nameOrId: string): Profile | undefined {
    return this.byName(nameOrId) ?? this.byId(nameOrId);
  }
}
