/**
 * Jira Cloud adapter on jira.js (REST v3). The only code that knows Jira's shapes: custom field ids
 * (discovered by name, never hard-coded), ADF, transitions by target status, comments carrying an entity
 * property that makes them idempotent, and attachments.
 */
import { createCloudClient } from 'jira.js';
import { isApiError, isNetworkError, isRateLimitError } from 'jira.js/core';
import { adfToText, textToAdf } from './adf.ts';

import type { UpstreamObserver } from '../metrics.ts';
import { DEFAULT_JIRA_NAMES, type IssueFields, type JiraNames } from '../contract/shared.ts';
export type JiraAuth = { kind: 'basic'; email: string; apiToken: string } | { kind: 'bearer'; token: string };

export interface JiraClientOptions {
  baseUrl: string;
  auth: JiraAuth;
  names?: JiraNames;
  /** Told of every request: its operation, HTTP status (0 without an answer) and duration. */
  observer?: UpstreamObserver;
  /**
   * Told of every answer that jira.js's schemas (Atlassian's OpenAPI) do not describe. Unset, such answers
   * are taken as they are: a site that adds a field must not stop the connector. The contract test sets it.
   */
  onSchemaMismatch?: (report: { endpoint: string; issues: unknown[] }) => void;
}

/** A failed Jira call; `status` 0 is a network failure. */
export class JiraError extends Error {
  override name = 'JiraError';
  readonly status: number;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, status: number, retryAfterMs?: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
  get retryable(): boolean {
    return this.status === 0 || [408, 409, 425, 429].includes(this.status) || this.status >= 500;
  }
}

/** What the connector reads from a "Certificate" issue. */
export interface CertificateIssue {
  key: string;
  issueType: string;
  status: string;
  summary: string;
  profileName: string | undefined;
  csr: string;
  certificateId: string | undefined;
  reporterAccountId: string | undefined;
  attachments: Array<{ id: string; filename: string }>;
}

/** What the connector reads from a "Revoke Certificate" issue. */
export interface RevokeIssue {
  key: string;
  status: string;
  profileName: string | undefined;
  certificateId: string | undefined;
  domain: string | undefined;
  reasonName: string | undefined;
}

/** An issue as a search answers it: its key and the fields asked for, as Jira serves them. */
export interface UpdatedIssue {
  key: string;
  fields: Record<string, unknown>;
}

/** One entry of an issue's changelog: who changed what, when. */
export interface ChangelogEntry {
  id: string;
  /** Epoch ms. */
  created: number;
  author: { accountId: string | undefined; displayName: string | undefined };
  items: Array<{ field?: string; fieldId?: string; fromString?: string | null; toString?: string | null }>;
}

/** The latest change of an issue's status: which changelog entry, to what, and by whom. */
export interface StatusChange {
  id: string;
  toStatus: string;
  accountId: string | undefined;
  /** Whether the change moved the issue to the enrolled status: an Enroll of its own. */
  enrolls?: boolean;
}

/** Entity property on the connector's comments; its `eventId` makes posting them idempotent. */
export const COMMENT_PROPERTY = 'certificate-lifecycle';

/** Jira Cloud refuses comment bodies over 32,767 characters (with their markup); longer texts are cut. */
export const MAX_COMMENT_LENGTH = 30_000;

/** Jira issue keys: a project key, a dash, a number. Anything else never reaches a URL path. */
export const ISSUE_KEY = /^[A-Z][A-Z0-9_]{0,254}-[1-9][0-9]{0,17}$/;

export function assertIssueKey(issueKey: string): string {
  if (!ISSUE_KEY.test(issueKey))
    throw new JiraError(`not a Jira issue key: ${JSON.stringify(issueKey.slice(0, 40))}`, 400);
  return issueKey;
}

type FieldKey = keyof JiraNames['fields'];
/** Fields a site may lack: the connector works without them, and says what is missing where they are needed. */
const OPTIONAL_FIELDS: readonly FieldKey[] = ['revocationReason'];
type Cloud = ReturnType<typeof createCloudClient>;

export class JiraClient {
  readonly names: JiraNames;
  readonly #jira: Cloud;
  readonly #fieldIds: Record<FieldKey, string>;

  readonly #observer: UpstreamObserver | undefined;
  readonly #baseUrl: string;

  private constructor(jira: Cloud, names: JiraNames, fieldIds: Record<FieldKey, string>, options: JiraClientOptions) {
    this.#observer = options.observer;
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#jira = jira;
    this.names = names;
    this.#fieldIds = fieldIds;
  }

  /** Connects and discovers the custom field ids by name; fails with every missing or ambiguous field named. */
  static async connect(options: JiraClientOptions): Promise<JiraClient> {
    const names = options.names ?? DEFAULT_JIRA_NAMES;
    const jira = createCloudClient({
      host: options.baseUrl,
      auth:
        options.auth.kind === 'basic'
          ? { type: 'basic', email: options.auth.email, apiToken: options.auth.apiToken }
          : { type: 'bearer', token: options.auth.token },
      onSchemaMismatch: options.onSchemaMismatch ?? 'silent',
    });
    const fields = await call(options.observer, 'getFields', 'list fields', () => jira.issueFields.getFields());
    const problems: string[] = [];
    const ids = {} as Record<FieldKey, string>;
    for (const [key, name] of Object.entries(names.fields) as Array<[FieldKey, string]>) {
      const matches = fields.filter((f) => f.custom && f.name === name);
      if (matches.length === 1 && matches[0]?.id) ids[key] = matches[0].id;
      else if (matches.length === 0 && OPTIONAL_FIELDS.includes(key)) continue;
      else if (matches.length === 0) problems.push(`no custom field named "${name}"`);
      else
        problems.push(`${matches.length} custom fields are named "${name}" (${matches.map((m) => m.id).join(', ')})`);
    }
    if (problems.length > 0) throw new JiraError(`Jira is not set up for the connector: ${problems.join('; ')}`, 400);
    return new JiraClient(jira, names, ids, options);
  }

  #call<T>(operation: string, what: string, fn: () => Promise<T>): Promise<T> {
    return call(this.#observer, operation, what, fn);
  }

  /** Where a person opens the issue in a browser. */
  issueUrl(issueKey: string): string {
    return `${this.#baseUrl}/browse/${encodeURIComponent(assertIssueKey(issueKey))}`;
  }

  /** The custom field's id on this site; undefined for an optional field the site lacks. */
  fieldId(key: FieldKey): string | undefined {
    return this.#fieldIds[key];
  }

  /** The account the connector acts as; its own changes are not user requests. */
  async myAccountId(): Promise<string> {
    const me = await this.#call('getCurrentUser', 'read the current user', () => this.#jira.myself.getCurrentUser());
    if (!me.accountId) throw new JiraError('Jira did not return an accountId for the connector', 502);
    return me.accountId;
  }

  async getCertificateIssue(issueKey: string): Promise<CertificateIssue> {
    assertIssueKey(issueKey);
    const ids = this.#fieldIds;
    const issue = await this.#call('getIssue', `read ${issueKey}`, () =>
      this.#jira.issues.getIssue({
        issueIdOrKey: issueKey,
        fields: ['summary', 'status', 'issuetype', 'reporter', 'attachment', ids.profile, ids.csr, ids.certificateId],
      }),
    );
    const fields = (issue.fields ?? {}) as Record<string, unknown>;
    const status = fields.status as { name?: string } | undefined;
    const issueType = fields.issuetype as { name?: string } | undefined;
    const reporter = fields.reporter as { accountId?: string } | undefined;
    const profile = fields[ids.profile] as { value?: string } | string | null | undefined;
    const attachments = (fields.attachment as Array<{ id?: string; filename?: string }> | undefined) ?? [];
    const certificateId = fields[ids.certificateId];
    return {
      key: issue.key ?? issueKey,
      issueType: issueType?.name ?? '',
      status: status?.name ?? '',
      summary: typeof fields.summary === 'string' ? fields.summary : '',
      profileName: typeof profile === 'string' ? profile : (profile?.value ?? undefined),
      csr: adfToText(fields[ids.csr]).trim(),
      certificateId: typeof certificateId === 'string' && certificateId !== '' ? certificateId : undefined,
      reporterAccountId: reporter?.accountId,
      attachments: attachments.map((a) => ({ id: String(a.id), filename: String(a.filename) })),
    };
  }

  /** The fields of a "Revoke Certificate" issue. */
  async getRevokeIssue(issueKey: string): Promise<RevokeIssue> {
    assertIssueKey(issueKey);
    const ids = this.#fieldIds;
    const wanted = [
      ids.profile,
      ids.certificateId,
      ids.domain,
      ...(ids.revocationReason ? [ids.revocationReason] : []),
    ];
    const issue = await this.#call('getIssue', `read ${issueKey}`, () =>
      this.#jira.issues.getIssue({ issueIdOrKey: issueKey, fields: ['status', ...wanted] }),
    );
    const fields = (issue.fields ?? {}) as Record<string, unknown>;
    const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);
    const option = (value: unknown) => text((value as { value?: unknown } | null | undefined)?.value) ?? text(value);
    return {
      key: issue.key ?? issueKey,
      status: (fields.status as { name?: string } | undefined)?.name ?? '',
      profileName: option(fields[ids.profile]),
      certificateId: text(fields[ids.certificateId]),
      domain: text(fields[ids.domain])?.toLowerCase(),
      reasonName: ids.revocationReason ? option(fields[ids.revocationReason]) : undefined,
    };
  }

  /**
   * Posts `text` as a comment unless a comment carrying `eventId` exists already. Returns whether it posted.
   * The property is written with the comment, in one request, so a retry can always see it.
   */
  async addCommentOnce(issueKey: string, eventId: string, text: string): Promise<boolean> {
    assertIssueKey(issueKey);
    if ((await this.commentEventIds(issueKey)).has(eventId)) return false;
    await this.addComment(issueKey, eventId, text);
    return true;
  }

  /**
   * Posts `text` as a comment carrying `eventId`, without looking first: for a caller that knows no comment
   * carries it yet. The property is written with the comment, in one request, so a retry can always see it.
   */
  async addComment(issueKey: string, eventId: string, text: string): Promise<void> {
    assertIssueKey(issueKey);
    const body = text.length > MAX_COMMENT_LENGTH ? `${text.slice(0, MAX_COMMENT_LENGTH)}\n\n(cut short)` : text;
    await this.#call('addComment', `comment on ${issueKey}`, () =>
      this.#jira.issueComments.addComment({
        issueIdOrKey: issueKey,
        body: { ...textToAdf(body) },
        properties: [{ key: COMMENT_PROPERTY, value: { eventId } }],
      }),
    );
  }

  /**
   * The comment `accountId` wrote within `withinMs` of `at` (epoch ms), newest first: a transition's dialog
   * comment, which the changelog does not carry. Only the latest page is read.
   */
  async commentNear(issueKey: string, accountId: string, at: number, withinMs: number): Promise<unknown> {
    assertIssueKey(issueKey);
    const page = await this.#call('getComments', `read comments of ${issueKey}`, () =>
      this.#jira.issueComments.getComments({ issueIdOrKey: issueKey, orderBy: '-created', maxResults: 50 }),
    );
    const found = (page.comments ?? []).find(
      (c) => c.author?.accountId === accountId && Math.abs(new Date(c.created ?? NaN).getTime() - at) <= withinMs,
    );
    return found?.body;
  }

  /** The event ids of the connector's comments on the issue, read once, all pages. */
  async commentEventIds(issueKey: string): Promise<Set<string>> {
    assertIssueKey(issueKey);
    const ids = new Set<string>();
    for (let startAt = 0; ;) {
      const page = await this.#call('getComments', `read comments of ${issueKey}`, () =>
        this.#jira.issueComments.getComments({
          issueIdOrKey: issueKey,
          startAt,
          maxResults: 100,
          expand: 'properties',
        }),
      );
      const comments = page.comments ?? [];
      for (const property of comments.flatMap((c) => c.properties ?? [])) {
        const eventId = (property.value as { eventId?: unknown } | undefined)?.eventId;
        if (property.key === COMMENT_PROPERTY && typeof eventId === 'string') ids.add(eventId);
      }
      startAt += comments.length;
      if (comments.length === 0 || startAt >= (page.total ?? 0)) return ids;
    }
  }

  /** Attaches a file unless one with the same name is there already. Returns whether it uploaded. */
  async attachOnce(
    issueKey: string,
    filename: string,
    content: string,
    mimeType = 'application/x-pem-file',
  ): Promise<boolean> {
    const issue = await this.getCertificateIssue(issueKey);
    if (issue.attachments.some((a) => a.filename === filename)) return false;
    await this.attach(issueKey, filename, content, mimeType);
    return true;
  }

  /** Attaches a file, without looking for one of the same name first. */
  async attach(
    issueKey: string,
    filename: string,
    content: string,
    mimeType = 'application/x-pem-file',
  ): Promise<void> {
    assertIssueKey(issueKey);
    await this.#call('addAttachment', `attach ${filename} to ${issueKey}`, () =>
      this.#jira.issueAttachments.addAttachment({
        issueIdOrKey: issueKey,
        attachments: { filename, content: new Blob([content], { type: mimeType }) },
      }),
    );
  }

  async downloadAttachment(id: string): Promise<Buffer> {
    const bytes = await this.#call('getAttachment', `download attachment ${id}`, () =>
      this.#jira.issueAttachments.getAttachmentContent({ id, redirect: false }),
    );
    return Buffer.from(
      ArrayBuffer.isView(bytes) ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) : bytes,
    );
  }

  /**
   * Sets the summary and the connector's fields; undefined values are left alone. Editing is idempotent.
   * Answers the issue's status, which Jira returns with the edit (`returnIssue`): no read for it after.
   */
  async updateIssue(issueKey: string, update: IssueFields): Promise<string | undefined> {
    const ids = this.#fieldIds;
    const fields: Record<string, unknown> = {};
    if (update.summary !== undefined) fields.summary = update.summary;
    if (update.certificateId !== undefined) fields[ids.certificateId] = update.certificateId;
    if (update.domain !== undefined) fields[ids.domain] = update.domain;
    if (update.expiryDate !== undefined) fields[ids.expiryDate] = update.expiryDate;
    const edited = (await this.#call('editIssue', `update ${issueKey}`, () =>
      // Not notifyUsers=false: Jira refuses it (403) to any account that is not an administrator.
      this.#jira.issues.editIssue({ issueIdOrKey: issueKey, fields, returnIssue: true }),
    )) as { fields?: { status?: { name?: unknown } } } | undefined;
    const status = edited?.fields?.status?.name;
    return typeof status === 'string' ? status : undefined;
  }

  /** The "Revocation reason" a transition to the revoked status carries (its screen requires one). */
  revocationFields(reasonName: string): Record<string, unknown> {
    const id = this.fieldId('revocationReason');
    return id ? { [id]: { value: reasonName } } : {};
  }

  /** Whether the account is a member of the Jira group. */
  async isMemberOf(accountId: string, group: string): Promise<boolean> {
    const groups = await this.#call('getUserGroups', 'read the groups of a user', () =>
      this.#jira.users.getUserGroups({ accountId }),
    );
    return groups.some((g) => g.name === group);
  }

  /**
   * Issues of the project updated within the last `minutes`, oldest change first, with the fields a
   * webhook event carries (status, type, summary, the connector's fields, creator and creation time).
   * Minutes relative to now keep the query independent of the Jira user's time zone.
   */
  async recentlyUpdated(minutes: number): Promise<UpdatedIssue[]> {
    const ids = this.#fieldIds;
    const jql = `project = "${this.names.projectKey}" AND updated >= "-${Math.max(1, Math.ceil(minutes))}m" ORDER BY updated ASC`;
    const fields = ['summary', 'status', 'issuetype', 'reporter', 'creator', 'created', 'updated'];
    for (const key of ['profile', 'csr', 'certificateId', 'domain', 'revocationReason'] as const) {
      if (ids[key]) fields.push(ids[key]);
    }
    const issues: UpdatedIssue[] = [];
    let nextPageToken: string | undefined;
    do {
      const page = await this.#call('searchIssues', `search ${this.names.projectKey} for updated issues`, () =>
        this.#jira.issueSearch.searchAndReconsileIssuesUsingJqlPost({
          jql,
          fields,
          maxResults: 100,
          ...(nextPageToken ? { nextPageToken } : {}),
        }),
      );
      for (const issue of page.issues ?? []) {
        if (issue.key) issues.push({ key: issue.key, fields: (issue.fields ?? {}) as Record<string, unknown> });
      }
      nextPageToken = page.nextPageToken ?? undefined;
    } while (nextPageToken);
    return issues;
  }

  /** Jira's own clock (`GET /serverInfo`), epoch ms: the clock its timestamps and JQL dates follow. */
  async serverTime(): Promise<number> {
    const info = await this.#call('getServerInfo', 'read the server time', () => this.#jira.serverInfo.getServerInfo());
    const at = info.serverTime === undefined ? Number.NaN : new Date(info.serverTime).getTime();
    if (Number.isNaN(at)) throw new JiraError('Jira answered no server time', 502);
    return at;
  }

  /** Every changelog entry of the issue, oldest first. */
  async changelog(issueKey: string): Promise<ChangelogEntry[]> {
    assertIssueKey(issueKey);
    const entries: ChangelogEntry[] = [];
    for (let startAt = 0; ;) {
      const page = await this.#call('getChangelogs', `read the changelog of ${issueKey}`, () =>
        this.#jira.issues.getChangeLogs({ issueIdOrKey: issueKey, startAt, maxResults: 100 }),
      );
      const values = page.values ?? [];
      for (const entry of values) {
        entries.push({
          id: String(entry.id),
          created: new Date(entry.created ?? NaN).getTime(),
          author: { accountId: entry.author?.accountId, displayName: entry.author?.displayName },
          items: (entry.items ?? []).map((item) => ({
            field: item.field,
            fieldId: item.fieldId,
            fromString: item.fromString,
            toString: item.toString,
          })),
        });
      }
      startAt += values.length;
      if (page.isLast || values.length === 0 || startAt >= (page.total ?? 0)) return entries;
    }
  }

  /** The issue's latest status change, from its changelog (newest page); undefined when it never moved. */
  async latestStatusChange(issueKey: string): Promise<StatusChange | undefined> {
    assertIssueKey(issueKey);
    const read = (startAt: number) =>
      this.#call('getChangelogs', `read the changelog of ${issueKey}`, () =>
        this.#jira.issues.getChangeLogs({ issueIdOrKey: issueKey, startAt, maxResults: 100 }),
      );
    let page = await read(0);
    const total = page.total ?? 0;
    if (!page.isLast && total > 100) page = await read(total - 100);
    for (const entry of [...(page.values ?? [])].reverse()) {
      const move = entry.items?.find((item) => item.field === 'status');
      if (!move) continue;
      const toStatus = move.toString ?? '';
      return {
        id: String(entry.id),
        toStatus,
        accountId: entry.author?.accountId,
        enrolls: toStatus === this.names.statuses.enrolled,
      };
    }
    return undefined;
  }

  /**
   * Moves the issue to the status named `statusName` through whichever available transition leads there.
   * Reads the current status first, so a repeated call changes nothing, nor does one on an issue already in
   * one of `alsoFine`. Returns whether it moved.
   */
  async moveTo(
    issueKey: string,
    statusName: string,
    alsoFine: readonly string[] = [],
    fields: Record<string, unknown> = {},
    /** The issue's status, where the caller has just read it. */
    currentStatus?: string,
  ): Promise<boolean> {
    const status = currentStatus ?? (await this.getCertificateIssue(issueKey)).status;
    if (status === statusName || alsoFine.includes(status)) return false;
    const withFields = Object.keys(fields).length > 0;
    const { transitions = [] } = await this.#call('getTransitions', `list transitions of ${issueKey}`, () =>
      this.#jira.issues.getTransitions({
        issueIdOrKey: issueKey,
        ...(withFields ? { expand: 'transitions.fields' } : {}),
      }),
    );
    const transition = transitions.find((t) => t.to?.name === statusName);
    if (!transition?.id) {
      throw new JiraError(
        `${issueKey} cannot move from "${status}" to "${statusName}": no transition leads there ` +
          `(available: ${transitions.map((t) => `"${t.name}"`).join(', ') || 'none'})`,
        400,
      );
    }
    const id = transition.id;
    // Jira sets only the fields on the transition's screen and refuses the whole transition for any other
    // (400, "not on the appropriate screen"): a field the screen lacks is left as the issue has it.
    const onScreen = new Set(Object.keys((transition.fields ?? {}) as Record<string, unknown>));
    const settable = Object.fromEntries(Object.entries(fields).filter(([fieldId]) => onScreen.has(fieldId)));
    await this.#call('doTransition', `transition ${issueKey}`, () =>
      this.#jira.issues.doTransition({
        issueIdOrKey: issueKey,
        transition: { id },
        ...(Object.keys(settable).length > 0 ? { fields: settable } : {}),
      }),
    );
    return true;
  }
}

/** Runs a jira.js call, turning its errors into JiraError with the status and Retry-After kept. */
/** Runs one Jira request: its failure becomes a JiraError naming `what`, and `observer` hears of it. */
async function call<T>(
  observer: UpstreamObserver | undefined,
  operation: string,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  const observe = (status: number) =>
    observer?.({ system: 'jira', operation, status, seconds: (performance.now() - started) / 1000 });
  try {
    const result = await fn();
    observe(200);
    return result;
  } catch (err) {
    observe(isRateLimitError(err) ? 429 : isApiError(err) ? err.status : 0);
    if (isRateLimitError(err)) {
      throw new JiraError(`Jira: ${what}: rate limited`, 429, err.retryAfterMs, { cause: err });
    }
    if (isApiError(err)) {
      throw new JiraError(`Jira: ${what}: HTTP ${err.status}: ${describeBody(err.body)}`, err.status, undefined, {
        cause: err,
      });
    }
    if (isNetworkError(err)) throw new JiraError(`Jira: ${what}: ${err.message}`, 0, undefined, { cause: err });
    throw err;
  }
}

function describeBody(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 300) || 'no details';
  const { errorMessages = [], errors = {} } = (body ?? {}) as {
    errorMessages?: string[];
    errors?: Record<string, string>;
  };
  const parts = [...errorMessages, ...Object.entries(errors).map(([field, message]) => `${field}: ${message}`)];
  return parts.join('; ') || 'no details';
}
