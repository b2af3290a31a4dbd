/**
 * What the Jira client asks of a site, in the shapes it works with: the one seam between the connector
 * and the two dialects of Jira's REST API — Cloud (REST v3, Atlassian Document Format, `accountId`) and
 * Data Center (REST v2, wiki markup, users by `key` and `name`). Each dialect answers these the way its
 * API does; nothing above `src/jira/` knows which one it talks to.
 */

/** A person as the connector identifies them: Cloud's `accountId`, Data Center's user `key`. */
export interface UserRef {
  id: string | undefined;
  displayName: string | undefined;
}

/** A comment as read, its body in the dialect's own shape (ADF, or a wiki-markup string). */
export interface RawComment {
  id: string;
  author: UserRef;
  /** Epoch ms. */
  created: number;
  body: unknown;
  /** The comment's entity properties, where the listing carried them; undefined where it did not say. */
  properties?: Array<{ key?: string; value?: unknown }>;
}

/** One entry of an issue's changelog: who changed what, when. */
export interface ChangelogEntry {
  id: string;
  /** Epoch ms. */
  created: number;
  author: UserRef;
  /** The author as Jira's JSON has them, for an event derived from the entry (as a webhook would carry them). */
  authorJson: unknown;
  items: Array<{ field?: string; fieldId?: string; fromString?: string | null; toString?: string | null }>;
}

export interface Transition {
  id: string;
  name: string;
  toStatus: string | undefined;
  /** The fields on the transition's screen (asked for only with `withFields`). */
  fieldIds: string[];
}

export type Deployment = 'cloud' | 'datacenter';

export interface JiraApi {
  readonly deployment: Deployment;
  fields(): Promise<Array<{ id?: string; name?: string; custom?: boolean }>>;
  myself(): Promise<UserRef>;
  issue(issueKey: string, fields: string[]): Promise<{ key: string | undefined; fields: Record<string, unknown> }>;
  /** A page of the issue's comments, oldest first (or newest first), with their entity properties if it can. */
  comments(
    issueKey: string,
    page: { startAt: number; maxResults: number; newestFirst?: boolean },
  ): Promise<{ total: number; comments: RawComment[] }>;
  /** One property of a comment; undefined when it has none by that key. */
  commentProperty(commentId: string, key: string): Promise<unknown>;
  /** Posts `text` (plain) as a comment carrying the entity property, in one request. */
  addComment(issueKey: string, text: string, property: { key: string; value: unknown }): Promise<void>;
  attach(issueKey: string, filename: string, content: Blob): Promise<void>;
  download(attachmentId: string): Promise<Buffer>;
  /** Edits the fields; answers the issue's status where the API answers the edited issue. */
  edit(issueKey: string, fields: Record<string, unknown>): Promise<string | undefined>;
  groupsOf(userId: string): Promise<string[]>;
  /** Every issue the query finds, with the fields asked for, all pages. */
  search(jql: string, fields: string[]): Promise<Array<{ key: string; fields: Record<string, unknown> }>>;
  /** Jira's own clock, epoch ms. */
  serverTime(): Promise<number>;
  /** The issue's changelog, oldest first: every entry, or only the latest page (`latest`). */
  changelog(issueKey: string, latest?: boolean): Promise<ChangelogEntry[]>;
  transitions(issueKey: string, withFields: boolean): Promise<Transition[]>;
  transition(issueKey: string, transitionId: string, fields: Record<string, unknown>): Promise<void>;
  /** The id of a user as an event or a field carries them. */
  userId(user: unknown): string | undefined;
  /** The plain text of a rich-text value (a textarea field, a comment body). */
  text(value: unknown): string;
}

/** A user object's id in either dialect: Cloud's `accountId`, else Data Center's `key`, else its `name`. */
export function userIdOf(user: unknown): string | undefined {
  const u = (user ?? {}) as { accountId?: unknown; key?: unknown; name?: unknown };
  for (const id of [u.accountId, u.key, u.name]) if (typeof id === 'string' && id !== '') return id;
  return undefined;
}

export function userRef(user: unknown): UserRef {
  const displayName = (user as { displayName?: unknown } | null | undefined)?.displayName;
  return { id: userIdOf(user), displayName: typeof displayName === 'string' ? displayName : undefined };
}

/** A Jira timestamp as epoch ms: a string as Jira sends it, or the Date jira.js's schemas make of it; NaN otherwise. */
export function epochMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  return typeof value === 'string' ? new Date(value).getTime() : Number.NaN;
}

/** A changelog entry (a "history") in either dialect's JSON, which agree on its shape. */
export function changelogEntryOf(entry: {
  id?: string | number;
  created?: unknown;
  author?: unknown;
  items?: ChangelogEntry['items'];
}): ChangelogEntry {
  return {
    id: String(entry.id),
    created: epochMs(entry.created),
    author: userRef(entry.author),
    authorJson: entry.author,
    items: (entry.items ?? []).map(({ field, fieldId, fromString, toString }) => ({
      field,
      fieldId,
      fromString,
      toString,
    })),
  };
}

/** A transition as either dialect lists it; none where Jira gave it no id. */
export function transitionOf(t: {
  id?: string;
  name?: string;
  to?: { name?: string };
  fields?: unknown;
}): Transition[] {
  return t.id ? [{ id: t.id, name: t.name ?? '', toStatus: t.to?.name, fieldIds: Object.keys(t.fields ?? {}) }] : [];
}
