/**
 * The Jira client: what the connector does on a Jira site, Cloud or Data Center alike (the dialect is
 * `JiraApi`'s: cloud-api.ts, datacenter-api.ts). The only code that knows Jira's ways: custom field ids
 * (discovered by name, never hard-coded), transitions by target status, comments carrying an entity
 * property that makes them idempotent, and attachments.
 */
import { isApiError, isNetworkError, isRateLimitError } from 'jira.js/core';
import { DEFAULT_JIRA_NAMES, type IssueFields, type JiraNames } from '../contract/shared.ts';
import type { UpstreamObserver } from '../metrics.ts';
import type { ChangelogEntry, Deployment, JiraApi } from './api.ts';
import { CloudApi } from './cloud-api.ts';
import { DataCenterApi } from './datacenter-api.ts';

export type { ChangelogEntry, Deployment } from './api.ts';
/**
 * How the connector signs in: basic with a user and a secret (Cloud: email and API token; Data Center: username
 * and password), or a bearer token (Cloud: an OAuth 2.0 access token; Data Center: a personal access token).
 */
export type JiraAuth = { kind: 'basic'; user: string; secret: string } | { kind: 'bearer'; token: string };

export interface JiraClientOptions {
  baseUrl: string;
  auth: JiraAuth;
  names?: JiraNames;
  /** Which Jira the site is; unset, its `serverInfo` says (`deploymentType`). */
  deployment?: Deployment;
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
  /** The person who requested the certificate: the issue's reporter (Cloud `accountId`, Data Center `key`). */
  reporterId: string | undefined;
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

/** The latest change of an issue's status: which changelog entry, to what, and by whom. */
export interface StatusChange {
  id: string;
  toStatus: string;
  /** Who made it (Cloud `accountId`, Data Center `key`). */
  userId: string | undefined;
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

export class JiraClient {
  readonly names: JiraNames;
  readonly deployment: Deployment;
  readonly #api: JiraApi;
  readonly #fieldIds: Record<FieldKey, string>;
  readonly #observer: UpstreamObserver | undefined;
  readonly #baseUrl: string;

  private constructor(api: JiraApi, names: JiraNames, fieldIds: Record<FieldKey, string>, options: JiraClientOptions) {
    this.#observer = options.observer;
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#api = api;
    this.deployment = api.deployment;
    this.names = names;
    this.#fieldIds = fieldIds;
  }

  /**
   * Connects (to the dialect `deployment` names, or the one the site's `serverInfo` says) and discovers the
   * custom field ids by name; fails with every missing or ambiguous field named.
   */
  static async connect(options: JiraClientOptions): Promise<JiraClient> {
    const names = options.names ?? DEFAULT_JIRA_NAMES;
    const deployment = options.deployment ?? (await deploymentOf(options));
    const api = deployment === 'datacenter' ? new DataCenterApi(options) : new CloudApi(options);
    const fields = await call(options.observer, 'getFields', 'list fields', () => api.fields());
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
    return new JiraClient(api, names, ids, options);
  }

  #call<T>(operation: string, what: string, fn: (api: JiraApi) => Promise<T>): Promise<T> {
    return call(this.#observer, operation, what, () => fn(this.#api));
  }

  /** Where a person opens the issue in a browser. */
  issueUrl(issueKey: string): string {
    return `${this.#baseUrl}/browse/${encodeURIComponent(assertIssueKey(issueKey))}`;
  }

  /** The custom field's id on this site; undefined for an optional field the site lacks. */
  fieldId(key: FieldKey): string | undefined {
    return this.#fieldIds[key];
  }

  /** The account the connector acts as (Cloud `accountId`, Data Center `key`); its own changes are no requests. */
  async myUserId(): Promise<string> {
    const me = await this.#call('getCurrentUser', 'read the current user', (api) => api.myself());
    if (!me.id) throw new JiraError('Jira did not say who the connector is (no accountId, key or name)', 502);
    return me.id;
  }

  /** The plain text of a rich-text value as this site writes it (a comment body, a textarea field). */
  text(value: unknown): string {
    return this.#api.text(value);
  }

  async getCertificateIssue(issueKey: string): Promise<CertificateIssue> {
    assertIssueKey(issueKey);
    const ids = this.#fieldIds;
    const wanted = [
      'summary',
      'status',
      'issuetype',
      'reporter',
      'attachment',
      ids.profile,
      ids.csr,
      ids.certificateId,
    ];
    const issue = await this.#call('getIssue', `read ${issueKey}`, (api) => api.issue(issueKey, wanted));
    const { fields } = issue;
    const status = fields.status as { name?: string } | undefined;
    const issueType = fields.issuetype as { name?: string } | undefined;
    const profile = fields[ids.profile] as { value?: string } | string | null | undefined;
    const attachments = (fields.attachment as Array<{ id?: string; filename?: string }> | undefined) ?? [];
    const certificateId = fields[ids.certificateId];
    return {
      key: issue.key ?? issueKey,
      issueType: issueType?.name ?? '',
      status: status?.name ?? '',
      summary: typeof fields.summary === 'string' ? fields.summary : '',
      profileName: typeof profile === 'string' ? profile : (profile?.value ?? undefined),
      csr: this.#api.text(fields[ids.csr]).trim(),
      certificateId: typeof certificateId === 'string' && certificateId !== '' ? certificateId : undefined,
      reporterId: this.#api.userId(fields.reporter),
      attachments: attachments.map((a) => ({ id: String(a.id), filename: String(a.filename) })),
    };
  }

  /** The fields of a "Revoke Certificate" issue. */
  async getRevokeIssue(issueKey: string): Promise<RevokeIssue> {
    assertIssueKey(issueKey);
    const ids = this.#fieldIds;
    const wanted = [
      'status',
      ids.profile,
      ids.certificateId,
      ids.domain,
      ...(ids.revocationReason ? [ids.revocationReason] : []),
    ];
    const { key, fields } = await this.#call('getIssue', `read ${issueKey}`, (api) => api.issue(issueKey, wanted));
    const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);
    const option = (value: unknown) => text((value as { value?: unknown } | null | undefined)?.value) ?? text(value);
    return {
      key: key ?? issueKey,
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
   * carries it yet. The dialect writes it literally (ADF text, or wiki markup with every special escaped).
   */
  async addComment(issueKey: string, eventId: string, text: string): Promise<void> {
    assertIssueKey(issueKey);
    const body = text.length > MAX_COMMENT_LENGTH ? `${text.slice(0, MAX_COMMENT_LENGTH)}\n\n(cut short)` : text;
    await this.#call('addComment', `comment on ${issueKey}`, (api) =>
      api.addComment(issueKey, body, { key: COMMENT_PROPERTY, value: { eventId } }),
    );
  }

  /**
   * The body of the comment `userId` wrote within `withinMs` of `at` (epoch ms): a transition's dialog
   * comment, which the changelog does not carry. Only the latest page is read.
   */
  async commentNear(issueKey: string, userId: string, at: number, withinMs: number): Promise<unknown> {
    assertIssueKey(issueKey);
    const { comments } = await this.#call('getComments', `read comments of ${issueKey}`, (api) =>
      api.comments(issueKey, { startAt: 0, maxResults: 50, newestFirst: true }),
    );
    return comments.find((c) => c.author.id === userId && Math.abs(c.created - at) <= withinMs)?.body;
  }

  /**
   * The event ids of the connector's comments on the issue, read once, all pages. A listing that does not
   * carry a comment's properties (Data Center need not) is asked per comment, for the connector's own.
   */
  async commentEventIds(issueKey: string): Promise<Set<string>> {
    assertIssueKey(issueKey);
    const ids = new Set<string>();
    let me: string | undefined;
    for (let startAt = 0; ;) {
      const { comments, total } = await this.#call('getComments', `read comments of ${issueKey}`, (api) =>
        api.comments(issueKey, { startAt, maxResults: 100 }),
      );
      for (const comment of comments) {
        let values = (comment.properties ?? []).filter((p) => p.key === COMMENT_PROPERTY).map((p) => p.value);
        if (!comment.properties) {
          me ??= await this.myUserId();
          if (comment.author.id !== me) continue;
          values = [
            await this.#call('getCommentProperty', `read a comment of ${issueKey}`, (api) =>
              api.commentProperty(comment.id, COMMENT_PROPERTY),
            ),
          ];
        }
        for (const value of values) {
          const eventId = (value as { eventId?: unknown } | undefined)?.eventId;
          if (typeof eventId === 'string') ids.add(eventId);
        }
      }
      startAt += comments.length;
      if (comments.length === 0 || startAt >= total) return ids;
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
    await this.#call('addAttachment', `attach ${filename} to ${issueKey}`, (api) =>
      api.attach(issueKey, filename, new Blob([content], { type: mimeType })),
    );
  }

  async downloadAttachment(id: string): Promise<Buffer> {
    return this.#call('getAttachment', `download attachment ${id}`, (api) => api.download(id));
  }

  /**
   * Sets the summary and the connector's fields; undefined values are left alone. Editing is idempotent.
   * Answers the issue's status where Jira returns it with the edit (Cloud's `returnIssue`): no read for it after.
   */
  async updateIssue(issueKey: string, update: IssueFields): Promise<string | undefined> {
    const ids = this.#fieldIds;
    const fields: Record<string, unknown> = {};
    if (update.summary !== undefined) fields.summary = update.summary;
    if (update.certificateId !== undefined) fields[ids.certificateId] = update.certificateId;
    if (update.domain !== undefined) fields[ids.domain] = update.domain;
    if (update.expiryDate !== undefined) fields[ids.expiryDate] = update.expiryDate;
    return this.#call('editIssue', `update ${issueKey}`, (api) => api.edit(issueKey, fields));
  }

  /** The "Revocation reason" a transition to the revoked status carries (its screen requires one). */
  revocationFields(reasonName: string): Record<string, unknown> {
    const id = this.fieldId('revocationReason');
    return id ? { [id]: { value: reasonName } } : {};
  }

  /** Whether the user (Cloud `accountId`, Data Center `key`) is a member of the Jira group. */
  async isMemberOf(userId: string, group: string): Promise<boolean> {
    const groups = await this.#call('getUserGroups', 'read the groups of a user', (api) => api.groupsOf(userId));
    return groups.includes(group);
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
    return this.#call('searchIssues', `search ${this.names.projectKey} for updated issues`, (api) =>
      api.search(jql, fields),
    );
  }

  /** Jira's own clock (`GET /serverInfo`), epoch ms: the clock its timestamps and JQL dates follow. */
  async serverTime(): Promise<number> {
    const at = await this.#call('getServerInfo', 'read the server time', (api) => api.serverTime());
    if (Number.isNaN(at)) throw new JiraError('Jira answered no server time', 502);
    return at;
  }

  /** Every changelog entry of the issue, oldest first. */
  async changelog(issueKey: string): Promise<ChangelogEntry[]> {
    assertIssueKey(issueKey);
    return this.#call('getChangelogs', `read the changelog of ${issueKey}`, (api) => api.changelog(issueKey));
  }

  /** The issue's latest status change, from its changelog (newest page); undefined when it never moved. */
  async latestStatusChange(issueKey: string): Promise<StatusChange | undefined> {
    assertIssueKey(issueKey);
    const entries = await this.#call('getChangelogs', `read the changelog of ${issueKey}`, (api) =>
      api.changelog(issueKey, true),
    );
    for (const entry of [...entries].reverse()) {
      const move = entry.items.find((item) => item.field === 'status');
      if (!move) continue;
      const toStatus = move.toString ?? '';
      return { id: entry.id, toStatus, userId: entry.author.id, enrolls: toStatus === this.names.statuses.enrolled };
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
    const transitions = await this.#call('getTransitions', `list transitions of ${issueKey}`, (api) =>
      api.transitions(issueKey, withFields),
    );
    const transition = transitions.find((t) => t.toStatus === statusName);
    if (!transition) {
      throw new JiraError(
        `${issueKey} cannot move from "${status}" to "${statusName}": no transition leads there ` +
          `(available: ${transitions.map((t) => `"${t.name}"`).join(', ') || 'none'})`,
        400,
      );
    }
    // Jira sets only the fields on the transition's screen and refuses the whole transition for any other
    // (400, "not on the appropriate screen"): a field the screen lacks is left as the issue has it.
    const onScreen = new Set(transition.fieldIds);
    const settable = Object.fromEntries(Object.entries(fields).filter(([fieldId]) => onScreen.has(fieldId)));
    await this.#call('doTransition', `transition ${issueKey}`, (api) =>
      api.transition(issueKey, transition.id, settable),
    );
    return true;
  }
}

/** Which Jira the site is, by `GET /rest/api/2/serverInfo` (both deployments serve it): `deploymentType`. */
async function deploymentOf(options: JiraClientOptions): Promise<Deployment> {
  const info = await call(options.observer, 'getServerInfo', 'ask which Jira this is', async () => {
    const api = new DataCenterApi(options);
    return api.serverInfo();
  });
  return info.deploymentType === 'Cloud' ? 'cloud' : 'datacenter';
}

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
