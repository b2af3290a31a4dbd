/**
 * The fleet reissue's contract (`reissue`, one workflow per operation): the day a CA or an intermediate is
 * distrusted, every certificate of a profile (or of one issuer) renewed at a pace the CA and the servers
 * can take, each exactly once. Its id, input, progress, summary and messages. Sandbox-safe.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { literal, LIVE_PHASES, phaseList, searchAttributes } from './shared.ts';

/** Which certificates an operation renews: the running ones of a profile, optionally of one issuer. */
export interface ReissueSelection {
  profileId: string;
  /** Only certificates the connector obtained before this instant (epoch ms); by default the operation's start. */
  issuedBefore?: number;
  /** Only certificates issued by this CA certificate (SHA-256 fingerprint, hex): the `CertificateIssuer` attribute. */
  issuer?: string;
}

export interface ReissueInput extends ReissueSelection {
  /** Certificates asked to renew per hour. */
  ratePerHour: number;
  /** Revoke each replaced certificate this long after its replacement was published. */
  revokeReplacedAfterMs?: number;
  /** Who started it (`cli:<user>`), as the renewal comments say. */
  requestedBy: string;
  /** What the previous run of this operation handed over (continue-as-new). */
  carried?: ReissueProgress;
}

/** Why a certificate of the selection was not renewed by the operation. */
export interface ReissueSkip {
  issueKey: string;
  reason: string;
}

/** One certificate the operation renewed, or whose renewal failed, as its workflow reports it. */
export interface ReissueOutcome {
  issueKey: string;
  /** The certificate replaced. */
  replaced: number;
  /** The new certificate, when renewed. */
  certificateId?: number;
  /** Why the renewal failed, when it did. */
  failure?: string;
  /** The certificate's SCM account, where it is not the default one. */
  account?: string;
}

/** Where an operation stands: its `progress` query, its current details and the worker's metrics. */
export interface ReissueProgress {
  /** Certificates the selection matched when the operation started (visibility's count). */
  selected: number;
  /** Certificates asked to renew so far. */
  asked: number;
  renewed: number;
  failed: number;
  skipped: number;
  /** Replaced certificates revoked (with `--revoke-replaced-after`). */
  revoked: number;
  paused: boolean;
  /** The instant the selection is read against (`issuedBefore`, else the operation's start). */
  issuedBefore: number;
  /** Visibility's page token of the selection, where the next page starts (base64); absent once read to the end. */
  nextPage?: string;
  /** Every page of the selection has been read. */
  listed: boolean;
  /** Issue keys asked and not yet reported back. */
  waiting: string[];
  /** The first failures and skips with their reasons (the counts hold every one). */
  failures: ReissueSkip[];
  skips: ReissueSkip[];
  /** Replaced certificates still to revoke, and when. */
  toRevoke: Array<{ issueKey: string; certificateId: number; at: number; account?: string }>;
}

/** What the operation answers at its end. */
export interface ReissueSummary extends ReissueProgress {
  cancelled: boolean;
}

/** How many failures and skips the progress lists by name; the counts hold every one. */
export const REASONS_KEPT = 100;

/**
 * The operation's id: one per profile and selection, so that the same command, repeated, addresses the
 * same operation (a certificate is asked once per operation, and it answers a repeated ask as a duplicate).
 */
export function reissueWorkflowId({ profileId, issuedBefore, issuer }: ReissueSelection): string {
  const before = issuedBefore === undefined ? '' : `:before-${new Date(issuedBefore).toISOString()}`;
  return `reissue:${profileId}${before}${issuer ? `:issuer-${issuer}` : ''}`;
}

/**
 * Visibility's query for the certificates of a selection: the running certificate workflows of the profile
 * that hold a certificate (of the issuer). `issuedBefore` is checked by each certificate workflow itself,
 * against the instant it obtained its certificate.
 */
export function reissueQuery({ profileId, issuer }: ReissueSelection): string {
  return [
    "WorkflowType = 'certificateLifecycle'",
    "ExecutionStatus = 'Running'",
    `${searchAttributes.profile.name} = ${literal(profileId)}`,
    `${searchAttributes.status.name} IN (${phaseList([...LIVE_PHASES, 'Renewing'])})`,
    ...(issuer ? [`${searchAttributes.issuer.name} = ${literal(issuer)}`] : []),
  ].join(' AND ');
}

/** A certificate's issuer as the `CertificateIssuer` attribute and `--issuer-fingerprint` write it. */
export const normalIssuer = (fingerprint: string): string => fingerprint.replace(/[:\s]/g, '').toUpperCase();

export const reissueProgressQuery = defineQuery<ReissueProgress>('progress');
export const pauseReissueSignal = defineSignal('pause');
export const resumeReissueSignal = defineSignal('resume');
/** A certificate workflow reports how the renewal the operation asked for ended. */
export const reissueOutcomeSignal = defineSignal<[ReissueOutcome]>('reissueOutcome');

/** Visibility's query for the operations under way, which the worker's metrics report. */
export const RUNNING_REISSUES = "WorkflowType = 'reissue' AND ExecutionStatus = 'Running'";
