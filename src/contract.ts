/**
 * The contract shared by workflows, activities, the worker, the webhook receiver and the CLI: names, message
 * definitions, search attributes and the data that crosses the workflow boundary. Sandbox-safe.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate, type Sinks } from '@temporalio/workflow';

/** Workflows, Jira and CSR activities. */
export const TASK_QUEUE = 'certificates';
/** Sectigo SCM activities, on their own queue so that one global rate limit covers every worker. */
export const SECTIGO_TASK_QUEUE = 'sectigo';

/** One workflow per certificate request, addressed by its Jira issue. */
export const certificateWorkflowId = (issueKey: string): string => `certificate:${issueKey}`;

/** Visibility's query for every certificate workflow that is still running. */
export const RUNNING_CERTIFICATES = "WorkflowType = 'certificateLifecycle' AND ExecutionStatus = 'Running'";

/** A visibility-query string literal: quotes and backslashes escaped, so a value can never end the literal. */
export const literal = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** One workflow per "Revoke Certificate" issue (a certificate not enrolled through Jira). */
export const revokeWorkflowId = (issueKey: string): string => `revoke:${issueKey}`;

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
  /** A 4xx from SCM or Jira that retrying cannot fix. */
  UpstreamRejected: 'UpstreamRejected',
  /** 408/429/5xx or a network failure: retried, honouring Retry-After. */
  UpstreamUnavailable: 'UpstreamUnavailable',
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

/** The Jira statuses the connector moves an issue to; their display names are configuration. */
export type IssueState = 'request' | 'enrolled' | 'renewed' | 'revoked';

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

/** How the workflow was started: by whom, from which Jira event. */
export interface CertificateRequest {
  issueKey: string;
  /** Jira account id of the person who ran the transition. */
  requestedBy: string;
  /** The Jira changelog id (or delivery id) of the triggering transition; duplicates carry the same one. */
  triggerId: string;
  /** Where people open the issue; the Web UI's current details link to it. */
  issueUrl?: string;
  /**
   * A certificate enrolled from the CLI, without a Jira issue: the request itself (the CSR is public).
   * The workflow then talks to SCM only; `issueKey` is a `CLI-<n>` name for status, list and revoke.
   */
  standalone?: { csr: string; profileName: string };
}

/** Names of certificates enrolled without a Jira issue: issue-key shaped, so every command takes them. */
export const STANDALONE_PROJECT = 'CLI';

/** What the CSR says, once validated. */
export interface CsrSummary {
  /** The one CSR of the field, re-encoded: exactly what is validated is what SCM receives. */
  pem: string;
  commonName: string | undefined;
  subjectAltNames: string[];
  /** The name the certificate is known by: the CN, else the first SAN. */
  domain: string;
  keyType: string;
}

/** Validity instants are epoch milliseconds: numbers survive the JSON payload converter, Dates do not. */
export interface IssuedCertificate {
  certificateId: number;
  serialNumber: string;
  notBefore: number;
  notAfter: number;
  /** Certificate then chain, PEM. Public data. */
  pem: string;
}

/** A certificate generation without its PEM: what the workflow carries from run to run. */
export interface CertificateRecord {
  certificateId: number;
  serialNumber: string;
  notBefore: number;
  notAfter: number;
  /** When the workflow obtained it (workflow time). CAs backdate notBefore, so "issued before" uses this. */
  obtainedAt: number;
}

/** Why a generation was issued. */
export type IssueReason = 'enrolled' | 'manual' | 'forced' | 'profile-forced' | 'automatic';

export interface HistoryEntry extends CertificateRecord {
  reason: IssueReason;
}

/** Renewal settings of the certificate's profile, as last read; `fingerprint` changes when any of them does. */
export interface ProfileSettings {
  profileId: string;
  profileName: string;
  expiryWindow: { days: number } | { fraction: number };
  autoRenew: boolean;
  allowRenewalOutsideWindow: boolean;
  forceRenewalRequestedAt: number | null;
  fingerprint: string;
}

/** State carried into the next run by continue-as-new: one run per certificate generation. */
export interface CarriedState {
  generation: number;
  profileId: string;
  domain: string;
  current: CertificateRecord;
  history: HistoryEntry[];
  /** Ids of renewal requests already handled, so that a late duplicate does nothing. */
  handledRequests: string[];
  /**
   * A revocation accepted while the previous run was finishing its renewal: accepted means carried out,
   * so it crosses continue-as-new and the next run revokes before anything else.
   */
  revocation?: RevokeRequest;
}

export interface CertificateLifecycleInput extends CertificateRequest {
  carried?: CarriedState;
}

/** A renewal asked for by a person (Jira), an operator (CLI) or the profile. */
export interface RenewRequest {
  requestedBy: string;
  /** Ignore the expiry window. */
  force?: boolean;
  /** Identifies the request (the Jira changelog id, or a CLI-chosen id); duplicates are no-ops. */
  requestId?: string;
  /** The Jira status to return the issue to when the renewal cannot happen. */
  returnToStatus?: string;
}

/**
 * How a renewal request was taken: `accepted` (acted on as soon as the workflow is free), `duplicate` (the
 * same request again), or `joined` (a renewal is already under way and serves this request too).
 */
export interface RenewAccepted {
  result: 'accepted' | 'duplicate' | 'joined';
  phase: CertificatePhase;
}

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

/** A revocation asked for by a person (the "Revoke Certificate" transition) or an operator (CLI). */
export interface RevokeRequest {
  reasonCode: RevocationReasonCode;
  /** The person's own words, from the transition's comment. */
  comment?: string;
  /** Jira account id, or `cli:<user>`. */
  requestedBy: string;
  /** How to name them in the comment (their Jira display name). */
  requestedByName?: string;
  /** Identifies the request (the Jira changelog id); duplicates are no-ops. */
  requestId?: string;
}

export interface RevokeAccepted {
  result: 'accepted' | 'duplicate' | 'joined';
  phase: CertificatePhase;
}

/** A revocation of a certificate not enrolled through Jira: from a "Revoke Certificate" issue, or the CLI. */
export interface ExternalRevocationInput {
  /** The "Revoke Certificate" issue; its fields say what to revoke. Absent for the CLI. */
  issueKey?: string;
  requestedBy: string;
  requestedByName?: string;
  /** Without an issue: what to revoke, and why. */
  certificateId?: number;
  profileName?: string;
  reasonCode?: RevocationReasonCode;
}

export interface ExternalRevocationResult {
  outcome: 'revoked' | 'already-revoked' | 'revoked-through-workflow' | 'not-revoked';
  certificateId?: number;
  /** The certificate workflow that revoked it, when Jira manages the certificate. */
  workflowId?: string;
  message: string;
}

/** A certificate in SCM, as a revocation request finds it. */
export interface FoundCertificate {
  certificateId: number;
  serialNumber: string;
  commonName: string;
  /** SCM's names of the certificate; absent in workflows started before they were kept. */
  subjectAlternativeNames?: string[];
  status: string;
  expires?: number;
  requester?: string;
}

/** The fields of a "Revoke Certificate" issue changed: look again. */
export const revokeIssueChangedSignal = defineSignal('revokeIssueChanged');

/** What the daily sweep saw in SCM that differs from the workflow's view. */
export interface ScmObservation {
  certificateId: number;
  status: string;
}

/** What `status` answers: everything an operator or a test wants to know without reading history. */
export interface CertificateStatus {
  issueKey: string;
  phase: CertificatePhase;
  profileId?: string;
  domain?: string;
  certificateId?: number;
  serialNumber?: string;
  notBefore?: number;
  notAfter?: number;
  /** When automatic renewal is planned (absent when auto-renewal is off). */
  renewAt?: number;
  /** When the expiry window opens. */
  windowOpensAt?: number;
  /** The profile settings fingerprint this plan was made with. */
  profileFingerprint?: string;
  generation: number;
  history: HistoryEntry[];
  /** Consecutive failed renewal attempts of this generation. */
  renewalFailures: number;
  lastError?: string;
}

/** Phase, current certificate, generations and the last error of this certificate. */
export const statusQuery = defineQuery<CertificateStatus>('status');

/** Operations whose duration and failures the worker's metrics count. */
export type MeasuredOperation = 'enroll' | 'renew' | 'revoke';

/**
 * What workflows tell the worker's metrics. Sinks leave no trace in the history and are not called
 * again on replay, so each outcome is counted once per worker that carried it out.
 */
export interface CertificateSinks extends Sinks {
  metrics: {
    completed(operation: MeasuredOperation, profile: string, seconds: number): void;
    failed(operation: MeasuredOperation, type: string): void;
  };
}

/** Renew now: validated against the expiry window unless `force` is set. Jira sends its changelog id as the update id. */
export const renewUpdate = defineUpdate<RenewAccepted, [RenewRequest]>('renew');

/**
 * Revoke every still-valid certificate of the issue and end the workflow. Taken in any phase: an order
 * in flight is revoked once issued and never published. Jira sends its changelog id as the update id.
 */
export const revokeUpdate = defineUpdate<RevokeAccepted, [RevokeRequest]>('revoke');

/** Profile settings may have changed, or the CSR on the issue did: plan again. */
export const reevaluateSignal = defineSignal('reevaluate');

/** The CSR on the issue changed: a failed renewal is retried without waiting out its backoff. */
export const csrChangedSignal = defineSignal('csrChanged');

/** The sweep found the certificate revoked, replaced or expired in SCM. */
export const scmObservationSignal = defineSignal<[ScmObservation]>('scmObservation');

/** Fleet-wide safety net, run daily by a Temporal Schedule. */
export const SWEEP_SCHEDULE_ID = 'certificate-renewal-sweep';

/** The one polling trigger of a namespace (for Jira sites that cannot reach the receiver). */
export const JIRA_POLLING_WORKFLOW_ID = 'jira-polling';

/** Where the polling trigger stands: the instant it has read up to, and the events seen near it. */
export interface PollCursor {
  /** Epoch ms: every change before this (less the overlap) has been handled. */
  since: number;
  /** Events at or after `since − overlap` already handled (`changelog:<id>`, `created:<key>`). */
  handled: string[];
  /** Epoch ms when polling began: changes before it belong to whatever triggered the workflows then. */
  startedAt: number;
  /**
   * Whether `since` and `startedAt` are on Jira's clock, as every timestamp they are compared with is. A
   * cursor the workflow makes is on Temporal's; the first poll moves it over by the clocks' difference.
   */
  jiraClock?: boolean;
  /**
   * Issues whose changelog the last poll read, with their `updated` then: an issue that shows the same
   * `updated` again has no new entry, and its changelog is not read again.
   */
  read?: Record<string, string>;
}

/** One event the polling trigger handled, and what came of it. */
export interface PolledEvent {
  id: string;
  issueKey: string;
  result: string;
}

export interface JiraPollingInput {
  intervalMs: number;
  cursor?: PollCursor;
  /** The latest handled events, carried across continue-as-new for the status query. */
  recent?: PolledEvent[];
  handledTotal?: number;
}

export interface JiraPollingStatus {
  cursor: PollCursor;
  polls: number;
  handledTotal: number;
  /** The last 100 handled events, oldest first. */
  recent: PolledEvent[];
}

export const jiraPollingStatusQuery = defineQuery<JiraPollingStatus>('pollingStatus');
