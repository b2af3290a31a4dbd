/**
 * What every workflow, activity and client of the connector shares: task queues, failure types, the
 * certificate phases and search attributes, revocation reasons and who may revoke, the Jira names. Each
 * workflow's own contract is in the module named after it. Sandbox-safe: plain data and Temporal's
 * definitions only.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Workflows, Jira and CSR activities. */
export const TASK_QUEUE = 'certificates';
/** Sectigo SCM activities, on their own queue so that one global rate limit covers every worker. */
export const SECTIGO_TASK_QUEUE = 'sectigo';

/** A visibility-query string literal: quotes and backslashes escaped, so a value can never end the literal. */
export const literal = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * `name = value` for a Keyword search attribute, written as a closed range. The dev server's SQLite
 * visibility store answers an equality on a custom attribute through the index of ExecutionStatus (an
 * equality too, and in the order lists come in), reading every running workflow: 0.6 s at 100,000. A
 * range makes it use the attribute's own index. Everywhere else the two are the same query.
 */
export const keywordIs = (name: string, value: string): string =>
  `(${name} >= ${literal(value)} AND ${name} <= ${literal(value)})`;

/**
 * `name != value` for a Keyword search attribute, as the two ranges around the value, each its own query
 * for the reason `keywordIs` gives: SQLite answers an OR of ranges through the ExecutionStatus index too.
 * A workflow without the attribute is in neither.
 */
export const keywordIsNot = (name: string, value: string): [string, string] => [
  `${name} < ${literal(value)}`,
  `${name} > ${literal(value)}`,
];

/** ApplicationFailure `type`s thrown by activities; retry policies and the workflow branch on them. */
export const ErrorType = {
  /** The CSR is unusable; the message says why, for the requester. */
  CsrRejected: 'CsrRejected',
  /** The issue is not a usable request (missing CSR or profile); the message says what to fill in. */
  RequestIncomplete: 'RequestIncomplete',
  /** SCM declined or rejected the order; the message carries SCM's reason. */
  CaDeclined: 'CaDeclined',
  /** SCM has the order and has not issued it yet. Benign: polling. */
  CertificatePending: 'CertificatePending',
  /** A renewal asked for outside the expiry window of a profile that does not allow it. */
  RenewalOutsideWindow: 'RenewalOutsideWindow',
  /** The certificate cannot be renewed now (not issued yet, renewal under way, revoked). */
  RenewalNotPossible: 'RenewalNotPossible',
  /** There is nothing to revoke (the request was never enrolled). */
  RevocationNotPossible: 'RevocationNotPossible',
  /** A request that names a certificate of another SCM account than the workflow's (ids are an account's own). */
  OtherAccount: 'OtherAccount',
  /** A 4xx from SCM or Jira that retrying cannot fix. */
  UpstreamRejected: 'UpstreamRejected',
  /** 408/429/5xx or a network failure: retried, honouring Retry-After. */
  UpstreamUnavailable: 'UpstreamUnavailable',
  /**
   * SCM refused the connector itself (401/403: its credentials, or the account's rights): the operator's
   * to fix, never the requester's. Retried at the retry policy's pace until it is fixed.
   */
  ConnectorMisconfigured: 'ConnectorMisconfigured',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Lifecycle phases, also the `CertificateStatus` search attribute. */
export const CERTIFICATE_PHASES = [
  'Validating',
  'Enrolling',
  'AwaitingIssuance',
  'Publishing',
  'Active',
  'RenewalDue',
  'Renewing',
  'Expired',
  'Revoking',
  'Revoked',
  'Rejected',
] as const;
export type CertificatePhase = (typeof CERTIFICATE_PHASES)[number];

/** The phases of an issued certificate that nothing is being done to: it waits for a timer or a request. */
export const LIVE_PHASES = ['Active', 'RenewalDue', 'Expired'] as const satisfies readonly CertificatePhase[];
export type LivePhase = (typeof LIVE_PHASES)[number];
export const isLive = (phase: string): phase is LivePhase => (LIVE_PHASES as readonly string[]).includes(phase);

/** Phases in which a workflow may have placed an order it has not recorded yet. */
export const ORDERING_PHASES = [
  'Validating',
  'Enrolling',
  'AwaitingIssuance',
  'Publishing',
  'Renewing',
] as const satisfies readonly CertificatePhase[];

/** A list of phases as a visibility query's `IN (…)` list. */
export const phaseList = (phases: readonly CertificatePhase[]): string => phases.map((p) => `'${p}'`).join(', ');

/** The Jira statuses the connector moves an issue to; their display names are configuration. */
export type IssueState = 'request' | 'enrolled' | 'renewed' | 'revoked';

/** Display names of the Jira objects the connector uses; all configurable, defaults from the user guide. */
export interface JiraNames {
  projectKey: string;
  certificateIssueType: string;
  /** For certificates not enrolled through Jira (user guide §7). */
  revokeIssueType: string;
  fields: {
    profile: string;
    csr: string;
    certificateId: string;
    domain: string;
    expiryDate: string;
    /** The "Revoke Certificate" dialog's select; needed only to revoke by transition. */
    revocationReason: string;
  };
  statuses: Record<IssueState, string>;
  /** Named in what the connector says; it finds transitions by their target status, whatever their names. */
  transitions: { enroll: string; renew: string; revoke: string };
}

export const DEFAULT_JIRA_NAMES: JiraNames = {
  projectKey: 'CERT',
  certificateIssueType: 'Certificate',
  revokeIssueType: 'Revoke Certificate',
  fields: {
    profile: 'Certificate profile',
    csr: 'Certificate CSR text',
    certificateId: 'Certificate ID',
    domain: 'Certificate domain',
    expiryDate: 'Certificate expiry date',
    revocationReason: 'Revocation reason',
  },
  statuses: {
    request: 'Certificate Request',
    enrolled: 'Certificate Enrolled',
    renewed: 'Certificate Renewed',
    revoked: 'Certificate Revoked',
  },
  transitions: { enroll: 'Enroll Certificate', renew: 'Renew Certificate', revoke: 'Revoke Certificate' },
};

/** The fields the connector writes on a certificate issue (each optional: an edit sets what it names). */
export interface IssueFields {
  summary?: string;
  certificateId?: string;
  domain?: string;
  /** `YYYY-MM-DD`. */
  expiryDate?: string;
}

/** The SCM account of SECTIGO_*, which a profile without `account` uses. */
export const DEFAULT_ACCOUNT = 'default';

/**
 * The task queue of an SCM account's activities: one per account, so that each account's rate limit holds
 * across every worker (Temporal enforces it per task queue). The default account keeps `sectigo`.
 */
export const sectigoQueue = (account: string | undefined): string =>
  account === undefined || account === DEFAULT_ACCOUNT ? SECTIGO_TASK_QUEUE : `${SECTIGO_TASK_QUEUE}-${account}`;

/** Search attributes: how operators find certificates in the Web UI and the CLI. */
export const searchAttributes = {
  issueKey: defineSearchAttributeKey('CertificateIssueKey', SearchAttributeType.KEYWORD),
  domain: defineSearchAttributeKey('CertificateDomain', SearchAttributeType.KEYWORD),
  profile: defineSearchAttributeKey('CertificateProfile', SearchAttributeType.KEYWORD),
  certificateId: defineSearchAttributeKey('CertificateId', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('CertificateStatus', SearchAttributeType.KEYWORD),
  notAfter: defineSearchAttributeKey('CertificateNotAfter', SearchAttributeType.DATETIME),
  renewAt: defineSearchAttributeKey('CertificateRenewAt', SearchAttributeType.DATETIME),
  /** The fingerprint of the profile settings the renewal plan follows: the sweep finds stale plans by it. */
  profileFingerprint: defineSearchAttributeKey('CertificateProfileFingerprint', SearchAttributeType.KEYWORD),
  /** The SHA-256 fingerprint of the CA certificate that issued the current certificate: a reissue selects by it. */
  issuer: defineSearchAttributeKey('CertificateIssuer', SearchAttributeType.KEYWORD),
} as const;

/**
 * Each search attribute as a namespace registers it: its type as the operator service numbers it
 * (temporal.api.enums.v1.IndexedValueType: KEYWORD 2, DATETIME 6) and as the CLI's `--type` names it.
 */
export const searchAttributeRegistrations: ReadonlyArray<{
  name: string;
  indexedValueType: number;
  cliType: 'Keyword' | 'Datetime';
}> = Object.values(searchAttributes).map((key) =>
  key.type === 'DATETIME'
    ? { name: key.name, indexedValueType: 6, cliType: 'Datetime' as const }
    : { name: key.name, indexedValueType: 2, cliType: 'Keyword' as const },
);

/** How long before expiry a profile's certificates renew: days, or a fraction of the lifetime. */
export type ExpiryWindow = { days: number } | { fraction: number };

/** RFC 5280 reasons SCM accepts for revocation, by the names Jira's "Revocation reason" select shows. */
export const REVOCATION_REASONS = {
  Unspecified: 0,
  'Key compromise': 1,
  'Affiliation changed': 3,
  Superseded: 4,
  'Cessation of operation': 5,
} as const;
export type RevocationReasonName = keyof typeof REVOCATION_REASONS;
export type RevocationReasonCode = (typeof REVOCATION_REASONS)[RevocationReasonName];
export const REVOCATION_REASON_CODES: readonly number[] = Object.values(REVOCATION_REASONS);

/**
 * The code of a reason named in Jira, or undefined for any other text. Looked up as an own property: a
 * select option named "constructor" or "toString" is no reason.
 */
export function revocationReasonCode(name: string | undefined): RevocationReasonCode | undefined {
  return name !== undefined && Object.hasOwn(REVOCATION_REASONS, name)
    ? REVOCATION_REASONS[name as RevocationReasonName]
    : undefined;
}

/** The reason's name for a code, for comments. */
export function revocationReasonName(code: number): string {
  return Object.entries(REVOCATION_REASONS).find(([, c]) => c === code)?.[0] ?? `code ${code}`;
}

/**
 * Who may revoke from Jira. Restricted unless the operator opts out: the person who requested the
 * certificate (its issue's reporter) and the members of `group`; a certificate not enrolled through Jira has
 * no reporter, so only the group's members. Operators revoke from the CLI whatever it says.
 */
export interface RevokerPolicy {
  /** JIRA_REVOKERS_GROUP. */
  group: string | undefined;
  /** JIRA_REVOKERS=anyone: whoever may run the transition or create the issue may revoke. */
  anyone: boolean;
}

/** The policy in words, for the start-up log. */
export function describeRevokers(policy: RevokerPolicy): string {
  if (policy.anyone) return 'anyone who may run "Revoke Certificate" may revoke (JIRA_REVOKERS=anyone)';
  const group = policy.group ? ` and members of the Jira group "${policy.group}"` : '';
  return `revocation is restricted to each certificate's requester${group}`;
}

/** A certificate in SCM, as a revocation request or the sweep finds it. */
export interface FoundCertificate {
  certificateId: number;
  serialNumber: string;
  commonName: string;
  /** SCM's names of the certificate; absent in workflows started before they were kept. */
  subjectAlternativeNames?: string[];
  /** SCM's status word (`Issued`, `Revoked`, `Expired`, `Replaced`, …). */
  status: string;
  expires?: number;
  requester?: string;
}
