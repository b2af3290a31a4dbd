/**
 * The contract of `revokeExternalCertificate`: revoking a certificate not enrolled through Jira, from a
 * "Revoke Certificate" issue or the CLI. Sandbox-safe.
 */
import { defineSignal } from '@temporalio/workflow';
import type { RevocationReasonCode } from './shared.ts';

/** One workflow per "Revoke Certificate" issue. */
export const revokeWorkflowId = (issueKey: string): string => `revoke:${issueKey}`;

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

/** The fields of a "Revoke Certificate" issue changed: look again. */
export const revokeIssueChangedSignal = defineSignal('revokeIssueChanged');
