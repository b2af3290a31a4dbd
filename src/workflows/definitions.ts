/**
 * The contract shared by the workflow, the worker, the webhook receiver and the CLI: names, message
 * definitions, search attributes and the data that crosses the workflow boundary. Sandbox-safe.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';

/** Workflows, Jira and CSR activities. */
export const TASK_QUEUE = 'certificates';
/** Sectigo SCM activities, on their own queue so that one global rate limit covers every worker. */
export const SECTIGO_TASK_QUEUE = 'sectigo';

/** One workflow per certificate request, addressed by its Jira issue. */
export const certificateWorkflowId = (issueKey: string): string => `certificate:${issueKey}`;

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
  /** A 4xx from SCM or Jira that retrying cannot fix. */
  UpstreamRejected: 'UpstreamRejected',
  /** 408/429/5xx or a network failure: retried, honouring Retry-After. */
  UpstreamUnavailable: 'UpstreamUnavailable',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Lifecycle phases, also the `CertificateStatus` search attribute. */
export type CertificatePhase =
  'Validating' | 'Enrolling' | 'AwaitingIssuance' | 'Publishing' | 'Active' | 'Expired' | 'Rejected';

/** The Jira statuses the connector moves an issue to; their display names are configuration. */
export type IssueState = 'request' | 'enrolled';

/** Search attributes: how operators find certificates in the Web UI and the CLI. */
export const searchAttributes = {
  issueKey: defineSearchAttributeKey('CertificateIssueKey', SearchAttributeType.KEYWORD),
  domain: defineSearchAttributeKey('CertificateDomain', SearchAttributeType.KEYWORD),
  profile: defineSearchAttributeKey('CertificateProfile', SearchAttributeType.KEYWORD),
  certificateId: defineSearchAttributeKey('CertificateId', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('CertificateStatus', SearchAttributeType.KEYWORD),
  notAfter: defineSearchAttributeKey('CertificateNotAfter', SearchAttributeType.DATETIME),
  renewAt: defineSearchAttributeKey('CertificateRenewAt', SearchAttributeType.DATETIME),
} as const;

/** How the workflow was started: by whom, from which Jira event. */
export interface CertificateRequest {
  issueKey: string;
  /** Jira account id of the person who ran the transition. */
  requestedBy: string;
  /** The Jira changelog id (or delivery id) of the triggering transition; duplicates carry the same one. */
  triggerId: string;
}

/** What the CSR says, once validated. */
export interface CsrSummary {
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

export interface HistoryEntry {
  certificateId: number;
  serialNumber: string;
  notAfter: number;
  issuedAt: number;
}

/** What `status` answers: everything an operator or a test wants to know without reading history. */
export interface CertificateStatus {
  issueKey: string;
  phase: CertificatePhase;
  profileId?: string;
  domain?: string;
  certificateId?: number;
  serialNumber?: string;
  notAfter?: number;
  generation: number;
  history: HistoryEntry[];
  lastError?: string;
}

/** Phase, current certificate, generations and the last error of this certificate. */
export const statusQuery = defineQuery<CertificateStatus>('status');
