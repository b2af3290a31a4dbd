/**
 * The certificate workflow's contract (`certificateLifecycle`, one per Jira "Certificate" issue): its id,
 * input and carried state, its messages and what its `status` query answers. Sandbox-safe.
 */
import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate, type Sinks } from '@temporalio/workflow';
import {
  keywordIs,
  literal,
  searchAttributes,
  type CertificatePhase,
  type ExpiryWindow,
  type RevocationReasonCode,
} from './shared.ts';

/** One workflow per certificate request, addressed by its Jira issue. */
export const certificateWorkflowId = (issueKey: string): string => `certificate:${issueKey}`;

/** Visibility's query for every certificate workflow that is still running. */
export const RUNNING_CERTIFICATES = "WorkflowType = 'certificateLifecycle' AND ExecutionStatus = 'Running'";

/**
 * The running certificate workflows whose certificate has one of these ids (one per account that has
 * it), in queries the CertificateId index answers: on SQLite an equality or an IN list goes through the
 * ExecutionStatus index instead, reading every running workflow, so the ids are also given as the range
 * they span — which holds them in any collation, being digits. A hundred ids a query, the ids in order
 * so that each query's range spans few others: visibility requests are rate-limited per namespace (10 a
 * second by default, 100 on the dev server).
 */
export function runningWith(certificateIds: number[]): string[] {
  const name = searchAttributes.certificateId.name;
  const ids = [...new Set(certificateIds.map(String))].sort();
  const queries = [];
  for (let i = 0; i < ids.length; i += 100) {
    const batch = ids.slice(i, i + 100);
    const [first, last] = [batch[0] ?? '', batch.at(-1) ?? ''];
    const span = `${name} >= ${literal(first)} AND ${name} <= ${literal(last)}`;
    queries.push(
      first === last
        ? `${RUNNING_CERTIFICATES} AND ${keywordIs(name, first)}`
        : `${RUNNING_CERTIFICATES} AND ${span} AND ${name} IN (${batch.map(literal).join(', ')})`,
    );
  }
  return queries;
}

/** Names of certificates enrolled without a Jira issue: issue-key shaped, so every command takes them. */
export const STANDALONE_PROJECT = 'CLI';

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
  /** The SHA-256 fingerprint (hex) of the CA certificate that issued it, where SCM's answer holds that one. */
  issuer?: string;
}

/** A certificate generation without its PEM: what the workflow carries from run to run. */
export interface CertificateRecord {
  certificateId: number;
  serialNumber: string;
  notBefore: number;
  notAfter: number;
  /** When the workflow obtained it (workflow time). CAs backdate notBefore, so "issued before" uses this. */
  obtainedAt: number;
  /** The issuing CA certificate's SHA-256 fingerprint, where known (the `CertificateIssuer` attribute). */
  issuer?: string;
}

/** Why a generation was issued: enrolled, or renewed by a person, by force, by its profile or on time. */
export type IssueReason = 'enrolled' | 'manual' | 'forced' | 'profile-forced' | 'automatic';

export interface HistoryEntry extends CertificateRecord {
  reason: IssueReason;
}

/** Renewal settings of the certificate's profile, as last read; `fingerprint` changes when any of them does. */
export interface ProfileSettings {
  profileId: string;
  profileName: string;
  expiryWindow: ExpiryWindow;
  autoRenew: boolean;
  allowRenewalOutsideWindow: boolean;
  forceRenewalRequestedAt: number | null;
  /** The SCM account new certificates of the profile are ordered from; absent: the default one. */
  account?: string;
  fingerprint: string;
}

/** State carried into the next run by continue-as-new: one run per certificate generation. */
export interface CarriedState {
  generation: number;
  profileId: string;
  /** The SCM account that issued the certificate, which renews and revokes it; absent: the default one. */
  account?: string;
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
  /**
   * The profile's settings, read by the previous run as it handed over (absent: the profile was gone, a
   * change was signalled after the read, or older code ran it): the next run plans with them instead of
   * reading the profile. A later change reaches it as any other (the signal, or the daily sweep's check).
   */
  settings?: ProfileSettings;
}

export interface CertificateLifecycleInput extends CertificateRequest {
  carried?: CarriedState;
}

/**
 * The search attributes a continued run starts with, which the renewing run passes with continue-as-new:
 * the renewed certificate's, its issue's and the fingerprint of the settings it carries, in phase
 * `Renewing` until it has planned. The new run then writes only what its plan changes: the renewal time
 * and the phase.
 */
export function continuedSearchAttributes(issueKey: string, carried: CarriedState): SearchAttributePair[] {
  const { current, settings } = carried;
  const pairs: SearchAttributePair[] = [
    { key: searchAttributes.issueKey, value: issueKey },
    { key: searchAttributes.domain, value: carried.domain },
    { key: searchAttributes.profile, value: carried.profileId },
    { key: searchAttributes.certificateId, value: String(current.certificateId) },
    { key: searchAttributes.notAfter, value: new Date(current.notAfter) },
    { key: searchAttributes.status, value: 'Renewing' },
  ];
  if (current.issuer) pairs.push({ key: searchAttributes.issuer, value: current.issuer });
  if (settings) pairs.push({ key: searchAttributes.profileFingerprint, value: settings.fingerprint });
  return pairs;
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
  /**
   * Only if the workflow still holds this certificate, obtained before `issuedBefore` (a fleet reissue):
   * otherwise the request is answered `superseded` and does nothing.
   */
  onlyIf?: { certificateId: number; issuedBefore?: number };
  /** The workflow (a fleet reissue) told how the renewal ended (`reissueOutcome`). */
  notify?: string;
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
  /**
   * The SCM account of the certificate the request found by its id (`default` for SECTIGO_*): a workflow
   * of another account refuses it (OtherAccount), as its certificate of the same id is another one.
   */
  inAccount?: string;
}

/**
 * How a renewal or revocation request was taken: `accepted` (acted on as soon as the workflow is free),
 * `duplicate` (the same request again), `joined` (one under way already serves this request too), or
 * `superseded` (the certificate it names is no longer the current one, or was obtained too late).
 */
export interface RequestAccepted {
  result: 'accepted' | 'duplicate' | 'joined' | 'superseded';
  phase: CertificatePhase;
}

/** What the daily sweep saw in SCM that differs from the workflow's view. */
export interface ScmObservation {
  certificateId: number;
  /** The SCM account that shows it, where it is not the default one: ids are an account's own. */
  account?: string;
  /** The SCM status that differs: revoked, replaced, or expired before its time. */
  status: 'Revoked' | 'Replaced' | 'Expired';
}

/** What `status` answers: everything an operator or a test wants to know without reading history. */
export interface CertificateStatus {
  issueKey: string;
  phase: CertificatePhase;
  profileId?: string;
  /** The SCM account that issued the certificate, where it is not the default one. */
  account?: string;
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
export const renewUpdate = defineUpdate<RequestAccepted, [RenewRequest]>('renew');

/**
 * Revoke every still-valid certificate of the issue and end the workflow. Taken in any phase: an order
 * in flight is revoked once issued and never published. Jira sends its changelog id as the update id.
 */
export const revokeUpdate = defineUpdate<RequestAccepted, [RevokeRequest]>('revoke');

/** Profile settings may have changed, or the CSR on the issue did: plan again. */
export const reevaluateSignal = defineSignal('reevaluate');

/** The CSR on the issue changed: a failed renewal is retried without waiting out its backoff. */
export const csrChangedSignal = defineSignal('csrChanged');

/** The sweep found the certificate revoked, replaced or expired in SCM. */
export const scmObservationSignal = defineSignal<[ScmObservation]>('scmObservation');
