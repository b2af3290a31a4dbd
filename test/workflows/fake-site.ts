/* eslint-disable @typescript-eslint/require-await -- the stand-ins keep the activities' async signatures */
/**
 * A Jira site and an SCM account in memory, as the certificate workflow's activities see them: typed
 * stand-ins that `satisfies` the activities they replace, so a stand-in that drifts from its activity does
 * not compile. Each records what was done to each issue.
 */
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { CsrActivities } from '../../src/activities/csr.ts';
import type { JiraActivities } from '../../src/activities/jira.ts';
import type { ProfileActivities } from '../../src/activities/profiles.ts';
import type { SectigoActivities } from '../../src/activities/sectigo.ts';
import type { StatusChange } from '../../src/jira/client.ts';
import type { ProfileSettings } from '../../src/contract/certificate.ts';
import { DEFAULT_JIRA_NAMES, ErrorType } from '../../src/contract/shared.ts';
import { render } from '../../src/messages.ts';
import { DAY } from '../../src/workflows/policy/renewal.ts';

/** How long a stand-in certificate is valid. */
export const LIFETIME = 90 * DAY;

const { statuses } = DEFAULT_JIRA_NAMES;

/** One issue as the stand-ins see it: what Jira and SCM would hold for it, and what the test sets. */
export class FakeIssue {
  status = statuses.enrolled;
  comments = new Map<string, string>();
  attachments: string[] = [];
  moves: string[] = [];
  orders: number[] = [];
  revoked: number[] = [];
  /** Every Jira activity called for this issue, by name. */
  jiraCalls: string[] = [];
  lastStatusChange: StatusChange | undefined = { id: '1', toStatus: statuses.enrolled, userId: 'alice' };
  settings: ProfileSettings | null = settingsWith({});
  /** How often the workflow read the profile's settings. */
  profileReads = 0;
  /** Set: renewals fail with this SCM reason. */
  renewalRefusal: string | undefined;
  /** Set: attaching fails with a Jira 4xx (a misconfiguration the requester cannot fix). */
  attachRefused = false;
  /** Set: Jira refuses the "requested" comment (a 4xx), the one posted while the order is placed. */
  requestedCommentRefused = false;
  /** Set: SCM answers collecting with a 4xx (not the requester's to fix). */
  collectRefused = false;
  /** What the CSR on the issue names, and the profile chosen on it. */
  domain = 'www.example.com';
  profileName = 'OV Server Certificate';
  /** Resolves when collecting may answer; lets a test act while the workflow is busy. */
  issuance: Promise<void> = Promise.resolve();

  texts(): string[] {
    return [...this.comments.values()];
  }
}

export function settingsWith(overrides: Partial<ProfileSettings>): ProfileSettings {
  return {
    profileId: 'ov-server',
    profileName: 'OV Server Certificate',
    expiryWindow: { days: 30 },
    autoRenew: true,
    allowRenewalOutsideWindow: false,
    forceRenewalRequestedAt: null,
    fingerprint: JSON.stringify(overrides),
    ...overrides,
  };
}

const refused = (message: string) =>
  ApplicationFailure.create({ type: ErrorType.UpstreamRejected, message, nonRetryable: true });

/** The stand-ins' site: issues by key, orders numbered from 5000, and the activities that act on them. */
export class FakeSite {
  readonly #issues = new Map<string, FakeIssue>();
  #nextOrder = 5000;
  /** Answers the current (server) time, for the certificates the stand-in CA issues. */
  readonly #now: () => Promise<number>;

  constructor(now: () => Promise<number>) {
    this.#now = now;
  }

  add(issueKey: string, issue: FakeIssue): void {
    this.#issues.set(issueKey, issue);
  }

  issue(issueKey: string): FakeIssue {
    const issue = this.#issues.get(issueKey);
    if (!issue) throw new Error(`no fake issue ${issueKey}`);
    return issue;
  }

  /** The issue of the workflow that called the running activity. */
  #calling(): FakeIssue {
    return this.issue((activityInfo().workflowExecution?.workflowId ?? '').replace('certificate:', ''));
  }

  /** The issue a Jira activity acts on, its call recorded. */
  #jira(issueKey: string, activity: keyof JiraActivities): FakeIssue {
    const issue = this.issue(issueKey);
    issue.jiraCalls.push(activity);
    return issue;
  }

  readonly jira = {
    readCertificateIssue: async (issueKey) => {
      const issue = this.#jira(issueKey, 'readCertificateIssue');
      return {
        key: issueKey,
        issueType: 'Certificate',
        status: issue.status,
        summary: 'Certificate request',
        profileName: issue.profileName,
        csr: '-----BEGIN CERTIFICATE REQUEST-----',
        certificateId: undefined,
        reporterId: 'alice',
        attachments: [],
        ...(issue.lastStatusChange ? { lastStatusChange: issue.lastStatusChange } : {}),
      };
    },
    commentOnce: async (issueKey, eventId, said) => {
      const issue = this.#jira(issueKey, 'commentOnce');
      if (issue.requestedCommentRefused && eventId.endsWith('requested')) {
        throw refused('Jira: comment: HTTP 400: Comment body can not be empty!');
      }
      issue.comments.set(eventId, render(said));
    },
    attachOnce: async (issueKey, filename, _pem) => {
      const issue = this.#jira(issueKey, 'attachOnce');
      if (issue.attachRefused) {
        throw refused('Jira: attach: HTTP 403: You do not have permission to create attachments for this issue.');
      }
      if (!issue.attachments.includes(filename)) issue.attachments.push(filename);
    },
    updateIssue: async (issueKey) => void this.#jira(issueKey, 'updateIssue'),
    moveIssue: async (issueKey, state, orAlreadyIn = []) => {
      const issue = this.#jira(issueKey, 'moveIssue');
      if (orAlreadyIn.map((s) => statuses[s]).includes(issue.status)) return;
      issue.status = statuses[state];
      issue.moves.push(issue.status);
    },
    publishCertificate: async (issueKey, p) => {
      this.#jira(issueKey, 'publishCertificate');
      await this.jira.commentOnce(issueKey, p.comment.eventId, p.comment.text);
      await this.jira.attachOnce(issueKey, p.filename, p.pem);
      await this.jira.commentOnce(issueKey, p.attached.eventId, p.attached.text);
      await this.jira.moveIssue(issueKey, p.moveTo, p.orAlreadyIn);
    },
    returnIssueTo: async (issueKey, status) => {
      const issue = this.#jira(issueKey, 'returnIssueTo');
      issue.status = status;
      issue.moves.push(status);
    },
  } satisfies Partial<JiraActivities>;

  /** The request's checks: every CSR passes, for the domain the issue names. */
  readonly requests = {
    validateRequest: async () => ({
      profileId: 'ov-server',
      csr: {
        pem: '-----BEGIN CERTIFICATE REQUEST-----',
        commonName: this.#calling().domain,
        subjectAltNames: [],
        domain: this.#calling().domain,
        keyType: 'EC - P-256',
      },
    }),
    getProfileSettings: async () => {
      const issue = this.#calling();
      issue.profileReads++;
      return issue.settings;
    },
    profileFingerprints: async () => ({}),
  } satisfies Partial<CsrActivities & ProfileActivities>;

  readonly scm = {
    enrollCertificate: async ({ issueKey }) => {
      const id = this.#nextOrder++;
      this.issue(issueKey).orders.push(id);
      return { certificateId: id };
    },
    renewCertificate: async ({ issueKey }) => {
      const refusal = this.issue(issueKey).renewalRefusal;
      if (refusal)
        throw ApplicationFailure.create({ type: ErrorType.CaDeclined, message: refusal, nonRetryable: true });
      const id = this.#nextOrder++;
      this.issue(issueKey).orders.push(id);
      return { certificateId: id };
    },
    collectCertificate: async (certificateId) => {
      const issue = this.#calling();
      await issue.issuance;
      if (issue.collectRefused)
        throw refused(`Sectigo: collect: HTTP 400: order ${certificateId} cannot be downloaded`);
      const now = await this.#now();
      return {
        certificateId,
        serialNumber: certificateId.toString(16).toUpperCase(),
        notBefore: now,
        notAfter: now + LIFETIME,
        pem: '-----BEGIN CERTIFICATE-----',
      };
    },
    revokeCertificate: async ({ certificateId }) => {
      const issue = this.#calling();
      if (issue.revoked.includes(certificateId)) return 'already-revoked' as const;
      issue.revoked.push(certificateId);
      return 'revoked' as const;
    },
  } satisfies Partial<SectigoActivities>;
}
