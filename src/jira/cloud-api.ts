/** Jira Cloud's dialect: REST v3 through jira.js's Cloud client, rich text as ADF, users by `accountId`. */
import { createCloudClient } from 'jira.js';
import { adfToText, textToAdf } from './adf.ts';
import {
  changelogEntryOf,
  epochMs,
  transitionOf,
  userIdOf,
  userRef,
  type ChangelogEntry,
  type JiraApi,
  type RawComment,
} from './api.ts';

type Cloud = ReturnType<typeof createCloudClient>;

export interface ApiOptions {
  baseUrl: string;
  auth: { kind: 'basic'; user: string; secret: string } | { kind: 'bearer'; token: string };
  onSchemaMismatch?: (report: { endpoint: string; issues: unknown[] }) => void;
}

export class CloudApi implements JiraApi {
  readonly deployment = 'cloud';
  readonly #jira: Cloud;

  constructor(options: ApiOptions) {
    this.#jira = createCloudClient({
      host: options.baseUrl,
      auth:
        options.auth.kind === 'basic'
          ? { type: 'basic', email: options.auth.user, apiToken: options.auth.secret }
          : { type: 'bearer', token: options.auth.token },
      onSchemaMismatch: options.onSchemaMismatch ?? 'silent',
    });
  }

  fields() {
    return this.#jira.issueFields.getFields();
  }

  async myself() {
    return userRef(await this.#jira.myself.getCurrentUser());
  }

  async issue(issueKey: string, fields: string[]) {
    const issue = await this.#jira.issues.getIssue({ issueIdOrKey: issueKey, fields });
    return { key: issue.key, fields: (issue.fields ?? {}) as Record<string, unknown> };
  }

  async comments(issueKey: string, page: { startAt: number; maxResults: number; newestFirst?: boolean }) {
    const answer = await this.#jira.issueComments.getComments({
      issueIdOrKey: issueKey,
      startAt: page.startAt,
      maxResults: page.maxResults,
      expand: 'properties',
      ...(page.newestFirst ? { orderBy: '-created' as const } : {}),
    });
    const comments: RawComment[] = (answer.comments ?? []).map((c) => ({
      id: String(c.id),
      author: userRef(c.author),
      created: epochMs(c.created),
      body: c.body,
      properties: c.properties ?? [],
    }));
    return { total: answer.total ?? comments.length, comments };
  }

  async commentProperty(commentId: string, key: string) {
    return (await this.#jira.issueCommentProperties.getCommentProperty({ commentId, propertyKey: key })).value;
  }

  async addComment(issueKey: string, text: string, property: { key: string; value: unknown }) {
    await this.#jira.issueComments.addComment({
      issueIdOrKey: issueKey,
      body: { ...textToAdf(text) },
      properties: [property],
    });
  }

  async attach(issueKey: string, filename: string, content: Blob) {
    await this.#jira.issueAttachments.addAttachment({ issueIdOrKey: issueKey, attachments: { filename, content } });
  }

  async download(attachmentId: string) {
    const bytes = await this.#jira.issueAttachments.getAttachmentContent({ id: attachmentId, redirect: false });
    return Buffer.from(
      ArrayBuffer.isView(bytes) ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) : bytes,
    );
  }

  async edit(issueKey: string, fields: Record<string, unknown>) {
    // Not notifyUsers=false: Jira refuses it (403) to any account that is not an administrator.
    const edited = (await this.#jira.issues.editIssue({ issueIdOrKey: issueKey, fields, returnIssue: true })) as
      { fields?: { status?: { name?: unknown } } } | undefined;
    const status = edited?.fields?.status?.name;
    return typeof status === 'string' ? status : undefined;
  }

  async groupsOf(userId: string) {
    const groups = await this.#jira.users.getUserGroups({ accountId: userId });
    return groups.flatMap((g) => (g.name ? [g.name] : []));
  }

  async search(jql: string, fields: string[]) {
    const issues: Array<{ key: string; fields: Record<string, unknown> }> = [];
    let nextPageToken: string | undefined;
    do {
      const page = await this.#jira.issueSearch.searchAndReconsileIssuesUsingJqlPost({
        jql,
        fields,
        maxResults: 100,
        ...(nextPageToken ? { nextPageToken } : {}),
      });
      for (const issue of page.issues ?? []) {
        if (issue.key) issues.push({ key: issue.key, fields: (issue.fields ?? {}) as Record<string, unknown> });
      }
      nextPageToken = page.nextPageToken ?? undefined;
    } while (nextPageToken);
    return issues;
  }

  async serverTime() {
    return epochMs((await this.#jira.serverInfo.getServerInfo()).serverTime);
  }

  async changelog(issueKey: string, latest = false) {
    const read = (startAt: number) =>
      this.#jira.issues.getChangeLogs({ issueIdOrKey: issueKey, startAt, maxResults: 100 });
    const entries: ChangelogEntry[] = [];
    let page = await read(0);
    const total = page.total ?? 0;
    // The newest entries only: the last page, where there are several.
    if (latest && !page.isLast && total > 100) page = await read(total - 100);
    for (let startAt = 0; ;) {
      const values = page.values ?? [];
      entries.push(...values.map(changelogEntryOf));
      startAt += values.length;
      if (latest || page.isLast || values.length === 0 || startAt >= total) return entries;
      page = await read(startAt);
    }
  }

  async transitions(issueKey: string, withFields: boolean) {
    const { transitions = [] } = await this.#jira.issues.getTransitions({
      issueIdOrKey: issueKey,
      ...(withFields ? { expand: 'transitions.fields' } : {}),
    });
    return transitions.flatMap(transitionOf);
  }

  async transition(issueKey: string, transitionId: string, fields: Record<string, unknown>) {
    await this.#jira.issues.doTransition({
      issueIdOrKey: issueKey,
      transition: { id: transitionId },
      ...(Object.keys(fields).length > 0 ? { fields } : {}),
    });
  }

  userId(user: unknown) {
    return userIdOf(user);
  }

  text(value: unknown) {
    return adfToText(value);
  }
}
