/**
 * Jira Data Center's dialect: REST v2 on jira.js's transport (`jira.js/core`: authentication, typed errors),
 * rich text as wiki markup, users by `key` (their `name` where a site has no key). jira.js 6.2 has no Data
 * Center client; the requests here follow Atlassian's Data Center REST reference as jira.js's `release/v6.3.0`
 * branch generates it (docs/compatibility.md names each).
 */
import { BufferSchema, createClient, type Client } from 'jira.js/core';
import { changelogEntryOf, epochMs, transitionOf, userIdOf, userRef, type JiraApi, type RawComment } from './api.ts';
import type { ApiOptions } from './cloud-api.ts';
import { textToWiki } from './wiki.ts';

const V2 = '/rest/api/2';
const path = (issueKey: string) => `${V2}/issue/${encodeURIComponent(issueKey)}`;

interface V2Comment {
  id?: string | number;
  author?: unknown;
  created?: string;
  body?: unknown;
  properties?: Array<{ key?: string; value?: unknown }>;
}

interface V2History {
  id?: string | number;
  author?: unknown;
  created?: string;
  items?: Array<{ field?: string; fieldId?: string; fromString?: string | null; toString?: string | null }>;
}

export class DataCenterApi implements JiraApi {
  readonly deployment = 'datacenter';
  readonly #jira: Client;
  readonly #baseUrl: string;

  constructor(options: ApiOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    // A personal access token is a bearer token (Jira 8.14 and later). Basic takes a username, which jira.js's
    // basic strategy refuses (it wants an email address): the header is given as it is.
    const { auth } = options;
    this.#jira = createClient(
      auth.kind === 'basic'
        ? {
            host: options.baseUrl,
            headers: { Authorization: `Basic ${Buffer.from(`${auth.user}:${auth.secret}`).toString('base64')}` },
          }
        : { host: options.baseUrl, auth: { type: 'bearer', token: auth.token } },
    );
  }

  #send<T>(url: string, options: { method?: 'GET' | 'POST' | 'PUT'; body?: unknown; searchParams?: object } = {}) {
    return this.#jira.sendRequest<T>({
      url,
      method: options.method ?? 'GET',
      ...(options.body !== undefined ? { body: options.body } : {}),
      ...(options.searchParams ? { searchParams: options.searchParams as Record<string, unknown> } : {}),
    });
  }

  fields() {
    return this.#send<Array<{ id?: string; name?: string; custom?: boolean }>>(`${V2}/field`);
  }

  async myself() {
    return userRef(await this.#send(`${V2}/myself`));
  }

  async issue(issueKey: string, fields: string[]) {
    const issue = await this.#send<{ key?: string; fields?: Record<string, unknown> }>(path(issueKey), {
      searchParams: { fields: fields.join(',') },
    });
    return { key: issue.key, fields: issue.fields ?? {} };
  }

  async comments(issueKey: string, page: { startAt: number; maxResults: number; newestFirst?: boolean }) {
    // `expand=properties` is asked for; whether Data Center honours it on a listing is not documented, so a
    // comment that comes without `properties` says nothing of them (`commentProperty` asks).
    const answer = await this.#send<{ total?: number; comments?: V2Comment[] }>(`${path(issueKey)}/comment`, {
      searchParams: {
        startAt: page.startAt,
        maxResults: page.maxResults,
        expand: 'properties',
        ...(page.newestFirst ? { orderBy: '-created' } : {}),
      },
    });
    const comments: RawComment[] = (answer.comments ?? []).map((c) => ({
      id: String(c.id),
      author: userRef(c.author),
      created: epochMs(c.created),
      body: c.body,
      ...(c.properties ? { properties: c.properties } : {}),
    }));
    return { total: answer.total ?? comments.length, comments };
  }

  async commentProperty(commentId: string, key: string) {
    try {
      const property = await this.#send<{ value?: unknown }>(
        `${V2}/comment/${encodeURIComponent(commentId)}/properties/${encodeURIComponent(key)}`,
      );
      return property.value;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined;
      throw err;
    }
  }

  async addComment(issueKey: string, text: string, property: { key: string; value: unknown }) {
    await this.#send(`${path(issueKey)}/comment`, {
      method: 'POST',
      body: { body: textToWiki(text), properties: [property] },
    });
  }

  async attach(issueKey: string, filename: string, content: Blob) {
    const form = new FormData();
    form.append('file', content, filename);
    await this.#jira.sendRequest({
      url: `${path(issueKey)}/attachments`,
      method: 'POST',
      headers: { 'X-Atlassian-Token': 'no-check' },
      body: form,
    });
  }

  /** An attachment's bytes, from the `content` URL its metadata gives (Data Center serves no content endpoint). */
  async download(attachmentId: string) {
    const meta = await this.#send<{ content?: string }>(`${V2}/attachment/${encodeURIComponent(attachmentId)}`);
    const content = meta.content ?? '';
    const url = content.startsWith(this.#baseUrl) ? content.slice(this.#baseUrl.length) : content;
    const bytes = await this.#jira.sendRequest({ url, method: 'GET', schema: BufferSchema });
    return Buffer.from(
      ArrayBuffer.isView(bytes)
        ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        : new Uint8Array(bytes),
    );
  }

  async edit(issueKey: string, fields: Record<string, unknown>) {
    // Data Center's edit answers 204, never the issue (no `returnIssue`): the caller reads the status itself.
    await this.#send(path(issueKey), { method: 'PUT', body: { fields } });
    return undefined;
  }

  async groupsOf(userId: string) {
    const user = await this.#send<{ groups?: { items?: Array<{ name?: string }> } }>(`${V2}/user`, {
      searchParams: { key: userId, expand: 'groups' },
    });
    return (user.groups?.items ?? []).flatMap((g) => (g.name ? [g.name] : []));
  }

  async search(jql: string, fields: string[]) {
    const issues: Array<{ key: string; fields: Record<string, unknown> }> = [];
    for (let startAt = 0; ;) {
      const page = await this.#send<{ total?: number; issues?: Array<{ key?: string; fields?: object }> }>(
        `${V2}/search`,
        { method: 'POST', body: { jql, fields, startAt, maxResults: 100 } },
      );
      const found = page.issues ?? [];
      for (const issue of found) {
        if (issue.key) issues.push({ key: issue.key, fields: (issue.fields ?? {}) as Record<string, unknown> });
      }
      startAt += found.length;
      if (found.length === 0 || startAt >= (page.total ?? 0)) return issues;
    }
  }

  /** Which Jira this is (`deploymentType`: `Cloud`, `Server`, `DataCenter`), its version and its clock. */
  serverInfo() {
    return this.#send<{ deploymentType?: string; version?: string; serverTime?: string }>(`${V2}/serverInfo`);
  }

  async serverTime() {
    return epochMs((await this.serverInfo()).serverTime);
  }

  /** The changelog comes with the issue (`expand=changelog`): Data Center has no changelog resource. */
  async changelog(issueKey: string) {
    const issue = await this.#send<{ changelog?: { histories?: V2History[] } }>(path(issueKey), {
      searchParams: { fields: 'status', expand: 'changelog' },
    });
    return (issue.changelog?.histories ?? []).map(changelogEntryOf);
  }

  async transitions(issueKey: string, withFields: boolean) {
    const { transitions = [] } = await this.#send<{
      transitions?: Array<{ id?: string; name?: string; to?: { name?: string }; fields?: object }>;
    }>(`${path(issueKey)}/transitions`, withFields ? { searchParams: { expand: 'transitions.fields' } } : {});
    return transitions.flatMap(transitionOf);
  }

  async transition(issueKey: string, transitionId: string, fields: Record<string, unknown>) {
    await this.#send(`${path(issueKey)}/transitions`, {
      method: 'POST',
      body: { transition: { id: transitionId }, ...(Object.keys(fields).length > 0 ? { fields } : {}) },
    });
  }

  userId(user: unknown) {
    return userIdOf(user);
  }

  /** A wiki-markup string as it was typed: a pasted CSR is taken as it is, markup and all. */
  text(value: unknown) {
    return typeof value === 'string' ? value : '';
  }
}
