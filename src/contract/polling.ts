/** The contract of `jiraPolling`: the trigger for Jira sites that cannot reach the receiver. Sandbox-safe. */
import { defineQuery } from '@temporalio/workflow';

/** The one polling trigger of a namespace. */
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

export interface PollOutcome {
  cursor: PollCursor;
  handled: PolledEvent[];
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
