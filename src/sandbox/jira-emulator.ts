/**
 * Jira emulator: the REST subset the connector uses, preconfigured with the "Certificate Management"
 * project of the user guide (issue types, custom fields, statuses, transitions), comments with entity
 * properties, attachments, and admin webhooks delivered signed and retried like Jira's. It speaks one of
 * two dialects, chosen at start: Jira Cloud (REST v3, Atlassian Document Format, users by `accountId`) or
 * Jira Data Center (REST v2, wiki-markup strings, users by `key` and `name`, its own search, changelog,
 * groups, attachment and webhook resources). Product code: `npm start` runs it as the sandbox Jira
 * (`SANDBOX_JIRA`), and the tests run against it. docs/compatibility.md names the source of each behaviour.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { adfProblem, adfToText, textToAdf } from '../jira/adf.ts';
import { wikiToText } from '../jira/wiki.ts';
import { renderWiki } from './wiki-render.ts';
import { close, HttpError, listen, readBody, sendJson } from '../http.ts';
import { Router, type RouteContext } from './router.ts';
import {
  ISSUE_TYPES,
  jiraError,
  JiraSite,
  readJsonBody,
  REVOKE_TRANSITIONS,
  STATUSES,
  TRANSITIONS,
  type FieldDef,
} from './jira-site.ts';

export { SANDBOX_FIELDS } from './jira-site.ts';

export interface JiraUser {
  /** Cloud's id; the emulator's own id of the user in either dialect. */
  accountId: string;
  /** Data Center's stable id, and its username. */
  key: string;
  name: string;
  displayName: string;
  emailAddress: string;
  /** Cloud: the API token (with the email address); Data Center: the personal access token, or the password. */
  apiToken: string;
}

/** Which Jira the emulator is. */
export type JiraDialect = 'cloud' | 'datacenter';
export const JIRA_DIALECTS: readonly JiraDialect[] = ['cloud', 'datacenter'];

/** The sandbox's people: the connector's service account and a requester. */
export const SANDBOX_USERS = {
  connector: {
    accountId: '557058:connector',
    key: 'JIRAUSER10000',
    name: 'connector',
    displayName: 'Certificate Connector',
    emailAddress: 'connector@sandbox.test',
    apiToken: 'sandbox-connector-token',
  },
  alice: {
    accountId: '557058:alice',
    key: 'JIRAUSER10001',
    name: 'alice',
    displayName: 'Alice Requester',
    emailAddress: 'alice@sandbox.test',
    apiToken: 'sandbox-alice-token',
  },
  /** A colleague who may work on the project's issues but is no revoker: his revocations are refused. */
  bob: {
    accountId: '557058:bob',
    key: 'JIRAUSER10002',
    name: 'bob',
    displayName: 'Bob Colleague',
    emailAddress: 'bob@sandbox.test',
    apiToken: 'sandbox-bob-token',
  },
} satisfies Record<string, JiraUser>;

/** Group memberships of the sandbox's users. */
const SANDBOX_GROUPS: Record<string, string[]> = {
  [SANDBOX_USERS.connector.accountId]: ['jira-software-users'],
  [SANDBOX_USERS.alice.accountId]: ['jira-software-users', 'certificate-revokers'],
  [SANDBOX_USERS.bob.accountId]: ['jira-software-users'],
};

/**
 * What each sandbox account may do, by Jira permission key. Neither administers the project, so quiet
 * edits (notifyUsers=false) are refused to both; `permissions` can take one away to show the setup check.
 */
const PROJECT_USER = [
  'BROWSE_PROJECTS',
  'CREATE_ISSUES',
  'ADD_COMMENTS',
  'CREATE_ATTACHMENTS',
  'EDIT_ISSUES',
  'TRANSITION_ISSUES',
];
const SANDBOX_PERMISSIONS: Record<string, string[]> = {
  [SANDBOX_USERS.connector.accountId]: [...PROJECT_USER, 'USER_PICKER'],
  [SANDBOX_USERS.alice.accountId]: PROJECT_USER,
  [SANDBOX_USERS.bob.accountId]: PROJECT_USER.filter((key) => key !== 'CREATE_ATTACHMENTS' && key !== 'EDIT_ISSUES'),
};

interface Comment {
  id: string;
  author: string;
  body: unknown;
  created: string;
  properties: Array<{ key: string; value: unknown }>;
}

interface Attachment {
  id: string;
  filename: string;
  author: string;
  created: string;
  mimeType: string;
  content: string; // base64
}

interface Issue {
  id: string;
  key: string;
  issueType: string;
  status: string;
  summary: string;
  reporter: string;
  created: string;
  updated: string;
  custom: Record<string, unknown>;
  comments: Comment[];
  attachments: Attachment[];
  properties: Record<string, unknown>;
  /** What changed, oldest first, as `GET /issue/{key}/changelog` serves it (absent in older data files). */
  changelog?: ChangelogEntry[];
}

interface ChangelogItem {
  field: string;
  fieldtype: string;
  fieldId: string;
  from?: string | null;
  fromString?: string | null;
  to?: string | null;
  toString?: string | null;
}

interface ChangelogEntry {
  id: string;
  author: string;
  created: string;
  items: ChangelogItem[];
}

interface Webhook {
  id: number;
  name: string;
  url: string;
  events: string[];
  secret?: string;
}

export interface Delivery {
  id: string;
  webhookId: number;
  event: string;
  issueKey: string;
  attempts: number;
  statuses: number[];
  delivered: boolean;
  /** The JSON body as sent, so that a delivery can be replayed. */
  body: string;
}

/** A search as Data Center's `/search` takes it. */
interface SearchQuery {
  jql: string;
  startAt?: string | number | undefined;
  maxResults?: string | number | undefined;
  fields?: string[] | undefined;
}

export interface JiraFaults {
  /** Share of REST requests answered 429 with Retry-After. */
  rateLimitRate: number;
  retryAfterSeconds: number;
  /**
   * How far Jira's clock is from the machine's: every timestamp it writes (created, updated, changelog),
   * the relative dates of JQL and its server time follow it. A connector must not compare them with its own.
   */
  clockSkewMs: number;
  /** Share of REST requests answered 503 before anything is done: Jira overloaded or restarting. */
  serverErrorRate: number;
  /** Each webhook delivery is sent this many times (same identifier), as Jira may. */
  deliveryCopies: number;
  /**
   * Each webhook delivery waits a random time up to this before its first attempt: deliveries arrive late
   * and out of order, which Jira does not rule out (docs/compatibility.md, "webhook delivery").
   */
  deliveryDelayMs: number;
  /** While set, adding a comment answers 503: Jira down just when the connector reports something. */
  commentOutage: boolean;
  /** When set, this many more comments are added, then the comment outage begins. */
  commentOutageAfter: number | null;
  /**
   * A comment is kept at once and answered this much later: the connector may die before it hears that
   * its comment was posted.
   */
  commentAnswerDelayMs: number;
}

export interface JiraEmulatorOptions {
  /** Cloud (the default) or Data Center. */
  dialect?: JiraDialect;
  /** The release serverInfo names (Data Center; default 10.3.12, a 10.3 LTS release). */
  version?: string;
  port?: number;
  host?: string;
  dataDir?: string;
  projectKey?: string;
  /**
   * The number of the first issue (default 1): a new emulator on a Temporal server that keeps an earlier
   * one's certificates (a benchmark against an existing server) must not reuse their issue keys.
   */
  firstIssueNumber?: number;
  /** Options of the "Certificate profile" select. */
  profileNames?: string[];
  /** Delays between webhook delivery attempts; one attempt more than entries. */
  retryDelaysMs?: number[];
  faults?: Partial<JiraFaults>;
}

const BODY_LIMIT = 10 * 1024 * 1024;

/** Every permission key `mypermissions` answers on Data Center, asked or not. */
const ALL_PERMISSIONS = new Set([...PROJECT_USER, 'USER_PICKER', 'ADMINISTER_PROJECTS', 'DELETE_ISSUES']);

export class JiraEmulator {
  readonly projectKey: string;
  readonly dialect: JiraDialect;
  /** The release serverInfo names: Cloud's build, or the Data Center release (a test may set an older one). */
  version: string;
  /** The REST API's root: `/rest/api/3` on Cloud, `/rest/api/2` on Data Center. */
  readonly api: string;
  /** The project's administration: fields, options, screens, workflows; `site.change` misconfigures it. */
  readonly site: JiraSite;
  /** Permission keys by account id (project and global alike). */
  readonly permissions = new Map(Object.entries(SANDBOX_PERMISSIONS).map(([id, keys]) => [id, new Set(keys)]));
  readonly faults: JiraFaults;
  readonly deliveries: Delivery[] = [];
  readonly #options: JiraEmulatorOptions;
  readonly #server: Server;
  readonly #router = new Router();
  #issues = new Map<string, Issue>();
  #webhooks: Webhook[] = [];
  #counter = { issue: 0, comment: 10000, attachment: 20000, changelog: 30000, webhook: 0 };
  readonly #pending = new Set<Promise<void>>();
  url = '';

  private constructor(options: JiraEmulatorOptions) {
    this.#options = options;
    this.dialect = options.dialect ?? 'cloud';
    this.version = this.dialect === 'cloud' ? '1001.0.0-SNAPSHOT' : (options.version ?? '10.3.12');
    this.api = this.dialect === 'cloud' ? '/rest/api/3' : '/rest/api/2';
    this.projectKey = options.projectKey ?? 'CERT';
    this.#counter.issue = (options.firstIssueNumber ?? 1) - 1;
    this.site = new JiraSite(options.profileNames ?? []);
    this.faults = {
      rateLimitRate: 0,
      retryAfterSeconds: 1,
      serverErrorRate: 0,
      deliveryCopies: 1,
      deliveryDelayMs: 0,
      commentOutage: false,
      commentOutageAfter: null,
      commentAnswerDelayMs: 0,
      clockSkewMs: 0,
      ...options.faults,
    };
    this.#load();
    this.#routes();
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(options: JiraEmulatorOptions = {}): Promise<JiraEmulator> {
    const emulator = new JiraEmulator(options);
    emulator.url = await listen(emulator.#server, options.port ?? 0, options.host);
    return emulator;
  }

  async stop(): Promise<void> {
    await this.settled();
    await close(this.#server);
  }

  /** Resolves once every webhook delivery under way has finished (delivered or given up). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** An issue as GET /issue shows it, for tests and the sandbox's own checks. */
  issue(key: string): Record<string, unknown> {
    return this.#issueJson(this.#issue(key), undefined);
  }

  #routes(): void {
    const r = this.#router;
    const v3 = this.api;
    const cloud = this.dialect === 'cloud';
    r.on('GET', `${v3}/myself`, ({ req, res }) => sendJson(res, 200, this.#userJson(this.#user(req))));
    // Both deployments serve v2's serverInfo; its `deploymentType` says which Jira this is.
    const serverInfo = ({ res }: RouteContext) =>
      sendJson(res, 200, {
        baseUrl: this.url,
        deploymentType: cloud ? 'Cloud' : 'DataCenter',
        serverTime: this.#nowJira(),
        serverTimeZone: 'Etc/UTC',
        version: this.version,
        versionNumbers: this.version.split(/[.-]/).slice(0, 3).map(Number),
      });
    r.on('GET', '/rest/api/2/serverInfo', serverInfo);
    if (cloud) r.on('GET', `${v3}/serverInfo`, serverInfo);
    r.on('GET', `${v3}/field`, ({ res }) => sendJson(res, 200, this.#fields()));
    this.site.routes(r, v3, this.projectKey, ({ req }) => this.#user(req), this.dialect);
    r.on('GET', `${v3}/mypermissions`, ({ req, res, url }) => {
      const mine = this.permissions.get(this.#user(req).accountId) ?? new Set();
      const asked = (url.searchParams.get('permissions') ?? '').split(',').filter((k) => k !== '');
      // Cloud requires the list it is asked about; Data Center takes no such parameter and answers them all.
      if (cloud && asked.length === 0) throw jiraError(400, 'The permissions query parameter is required.');
      const keys = cloud ? asked : [...ALL_PERMISSIONS];
      sendJson(res, 200, {
        permissions: Object.fromEntries(keys.map((key) => [key, { key, havePermission: mine.has(key) }])),
      });
    });
    // Another user's groups are shown only to holders of the global "Browse users and groups"
    // (docs/compatibility.md, "permissions"). Cloud: /user/groups; Data Center: /user?key=|username=&expand=groups.
    const browseUsers = (req: IncomingMessage) => {
      if (!this.permissions.get(this.#user(req).accountId)?.has('USER_PICKER')) {
        throw jiraError(403, 'Browse users and groups permission is required to view the groups of a user.');
      }
    };
    if (cloud) {
      r.on('GET', `${v3}/user/groups`, ({ req, res, url }) => {
        browseUsers(req);
        const user = this.#userById(url.searchParams.get('accountId') ?? '');
        sendJson(
          res,
          200,
          (SANDBOX_GROUPS[user.accountId] ?? []).map((name) => ({ name, groupId: `group-${name}` })),
        );
      });
    } else {
      r.on('GET', `${v3}/user`, ({ req, res, url }) => {
        const { key, username } = Object.fromEntries(url.searchParams);
        const user = Object.values(SANDBOX_USERS).find((u) => (key ? u.key === key : u.name === username));
        if (!user) throw jiraError(404, `The user named '${key ?? username ?? ''}' does not exist`);
        const groups = (url.searchParams.get('expand') ?? '').split(',').includes('groups');
        if (groups) browseUsers(req);
        const items = (SANDBOX_GROUPS[user.accountId] ?? []).map((name) => ({
          name,
          self: `${this.url}${v3}/group?groupname=${name}`,
        }));
        sendJson(res, 200, { ...this.#userJson(user), ...(groups ? { groups: { size: items.length, items } } : {}) });
      });
    }
    r.on('POST', `${v3}/issue`, (ctx) => this.#createIssue(ctx));
    r.on('GET', `${v3}/issue/:key`, ({ res, url, params }) => {
      const issue = this.#issue(params.key);
      const json = this.#issueJson(issue, listParam(url, 'fields'));
      // Data Center has no changelog resource: an issue's history comes with it, `expand=changelog`.
      const changelog = !cloud && (listParam(url, 'expand') ?? []).includes('changelog');
      if (changelog) this.#changelogReads++;
      sendJson(res, 200, changelog ? { ...json, changelog: this.#historiesJson(issue) } : json);
    });
    r.on('PUT', `${v3}/issue/:key`, (ctx) => this.#editIssue(ctx));
    // The fields of the issue's edit screen: what an edit may set.
    r.on('GET', `${v3}/issue/:key/editmeta`, ({ req, res, params }) => {
      this.#user(req);
      const issue = this.#issue(params.key);
      const editable = ['summary', ...this.site.editableFields(issue.issueType)];
      sendJson(res, 200, {
        fields: Object.fromEntries(
          editable.map((id) => [id, { required: id === 'summary', name: this.site.field(id)?.name ?? 'Summary' }]),
        ),
      });
    });
    // Deleting an issue (its comments and attachments with it); Jira answers 204.
    r.on('DELETE', `${v3}/issue/:key`, ({ req, res, params }) => {
      this.#user(req);
      this.#issues.delete(this.#issue(params.key).key);
      this.#save();
      sendJson(res, 204, undefined);
    });
    r.on('GET', `${v3}/issue/:key/transitions`, ({ res, url, params }) => {
      const issue = this.#issue(params.key);
      const withFields = (url.searchParams.get('expand') ?? '').split(',').includes('transitions.fields');
      sendJson(res, 200, {
        transitions: this.#available(issue).map((t) => transitionJson(this.site, t, withFields)),
      });
    });
    r.on('POST', `${v3}/issue/:key/transitions`, (ctx) => this.#transition(ctx));
    if (cloud)
      r.on('GET', `${v3}/issue/:key/changelog`, ({ req, res, url, params }) => {
        this.#user(req);
        this.#changelogReads++;
        const values = this.#issue(params.key).changelog ?? [];
        const startAt = Math.max(0, Number(url.searchParams.get('startAt') ?? 0));
        const maxResults = Math.min(Math.max(1, Number(url.searchParams.get('maxResults') ?? 100)), 100);
        const page = values.slice(startAt, startAt + maxResults);
        sendJson(res, 200, {
          self: `${this.url}${v3}/issue/${params.key ?? ''}/changelog?startAt=${startAt}&maxResults=${maxResults}`,
          startAt,
          maxResults,
          total: values.length,
          isLast: startAt + page.length >= values.length,
          values: page.map((entry) => this.#historyJson(entry)),
        });
      });
    r.on('GET', `${v3}/issue/:key/comment`, (ctx) => this.#listComments(ctx));
    if (cloud) r.on('POST', `${v3}/issue/:key/comment`, (ctx) => this.#addComment(ctx, 3));
    r.on('POST', '/rest/api/2/issue/:key/comment', (ctx) => this.#addComment(ctx, 2));
    // A comment's entity property, by key: on Data Center the way to read one (a listing need not carry them).
    r.on('GET', `${v3}/comment/:id/properties/:prop`, ({ res, params }) => {
      const comment = [...this.#issues.values()].flatMap((i) => i.comments).find((c) => c.id === params.id);
      if (!comment) throw jiraError(404, 'Can not find a comment for the id.');
      const property = comment.properties.find((p) => p.key === params.prop);
      if (!property) throw jiraError(404, `The property with key '${params.prop ?? ''}' does not exist.`);
      sendJson(res, 200, { key: property.key, value: property.value });
    });
    r.on('GET', `${v3}/issue/:key/comment/:id`, ({ res, url, params }) => {
      const comment = this.#issue(params.key).comments.find((c) => c.id === params.id);
      if (!comment) throw jiraError(404, 'Can not find a comment for the id.');
      sendJson(res, 200, this.#commentJson(params.key ?? '', comment, url.searchParams.get('expand')));
    });
    r.on('POST', `${v3}/issue/:key/attachments`, (ctx) => this.#attach(ctx));
    // Data Center serves an attachment's bytes at its `content` URL, under /secure; Cloud at /attachment/content.
    r.on('GET', '/secure/attachment/:id/:filename', ({ req, res, params }) => {
      this.#user(req);
      sendBytes(res, this.#attachment(params.id).attachment);
    });
    if (cloud)
      r.on('GET', `${v3}/attachment/content/:id`, ({ res, url, params }) => {
        const { attachment } = this.#attachment(params.id);
        if (url.searchParams.get('redirect') !== 'false') {
          res.writeHead(303, { location: `${this.url}/__emulator/media/${attachment.id}` });
          res.end();
          return;
        }
        sendBytes(res, attachment);
      });
    r.on('GET', '/__emulator/media/:id', ({ res, params }) => sendBytes(res, this.#attachment(params.id).attachment));
    r.on('GET', `${v3}/attachment/:id`, ({ res, params }) => {
      const { issue, attachment } = this.#attachment(params.id);
      sendJson(res, 200, this.#attachmentJson(issue, attachment));
    });
    r.on('GET', `${v3}/issue/:key/properties`, ({ res, params }) => {
      const issue = this.#issue(params.key);
      sendJson(res, 200, {
        keys: Object.keys(issue.properties).map((key) => ({
          key,
          self: `${this.url}${v3}/issue/${issue.key}/properties/${key}`,
        })),
      });
    });
    r.on('GET', `${v3}/issue/:key/properties/:prop`, ({ res, params }) => {
      const issue = this.#issue(params.key);
      const prop = params.prop ?? '';
      if (!(prop in issue.properties)) throw jiraError(404, `The property with key '${prop}' does not exist.`);
      sendJson(res, 200, { key: prop, value: issue.properties[prop] });
    });
    r.on('PUT', `${v3}/issue/:key/properties/:prop`, async ({ req, res, params }) => {
      const issue = this.#issue(params.key);
      const value = await readJsonBody(req);
      const prop = params.prop ?? '';
      const existed = prop in issue.properties;
      issue.properties[prop] = value;
      this.#save();
      sendJson(res, existed ? 200 : 201, undefined);
    });
    r.on('DELETE', `${v3}/issue/:key/properties/:prop`, ({ res, params }) => {
      delete this.#issue(params.key).properties[params.prop ?? ''];
      this.#save();
      sendJson(res, 204, undefined);
    });
    if (!cloud) {
      const search = (req: IncomingMessage, res: ServerResponse, query: SearchQuery) => {
        this.#user(req);
        sendJson(res, 200, this.#searchPaged(query));
      };
      r.on('GET', `${v3}/search`, ({ req, res, url }) =>
        search(req, res, {
          jql: url.searchParams.get('jql') ?? '',
          startAt: url.searchParams.get('startAt') ?? undefined,
          maxResults: url.searchParams.get('maxResults') ?? undefined,
          fields: listParam(url, 'fields'),
        }),
      );
      r.on('POST', `${v3}/search`, async ({ req, res }) => {
        const body = (await readJsonBody(req)) as Partial<SearchQuery>;
        search(req, res, { ...body, jql: body.jql ?? '' });
      });
    }
    if (cloud)
      r.on('GET', `${v3}/search/jql`, ({ req, res, url }) => {
        this.#user(req);
        const query = {
          jql: url.searchParams.get('jql') ?? '',
          nextPageToken: url.searchParams.get('nextPageToken') ?? undefined,
          maxResults: url.searchParams.get('maxResults') ?? undefined,
          fields: listParam(url, 'fields'),
        };
        sendJson(res, 200, this.#search(query));
      });
    if (cloud)
      r.on('POST', `${v3}/search/jql`, async ({ req, res }) => {
        this.#user(req);
        const body = (await readJsonBody(req)) as {
          jql?: string;
          nextPageToken?: string;
          maxResults?: number;
          fields?: string[];
        };
        sendJson(res, 200, this.#search({ ...body, jql: body.jql ?? '' }));
      });
    if (cloud) {
      r.on('GET', `${v3}/search`, () => {
        throw jiraError(410, 'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.');
      });
    }
    // Admin webhooks: /rest/webhooks/1.0 on Cloud; /rest/jira-webhook/1.0 on Data Center 10 and later.
    const hooks = cloud ? '/rest/webhooks/1.0/webhook' : '/rest/jira-webhook/1.0/webhooks';
    r.on('POST', hooks, (ctx) => this.#registerWebhook(ctx));
    r.on('GET', hooks, ({ res }) =>
      sendJson(
        res,
        200,
        this.#webhooks.map(({ secret: _secret, ...hook }) => ({ ...hook, self: `${this.url}${hooks}/${hook.id}` })),
      ),
    );
    r.on('DELETE', `${hooks}/:id`, ({ res, params }) => {
      this.#webhooks = this.#webhooks.filter((hook) => hook.id !== Number(params.id));
      this.#save();
      sendJson(res, 204, undefined);
    });
    r.on('GET', '/__emulator/deliveries', ({ res }) => sendJson(res, 200, this.deliveries));
    r.on('POST', '/__emulator/faults', async ({ req, res }) => {
      Object.assign(this.faults, (await readJsonBody(req)) as Partial<JiraFaults>);
      sendJson(res, 200, this.faults);
    });
  }

  /** Jira's "now": the machine's clock moved by `faults.clockSkewMs`. */
  #now(): number {
    return Date.now() + this.faults.clockSkewMs;
  }

  /** A timestamp as Jira Cloud writes it (`2026-12-01T10:00:00.000+0000`). */
  #nowJira(): string {
    return new Date(this.#now()).toISOString().replace('Z', '+0000');
  }

  /** REST requests by account and route: what the connector asks of Jira, apart from the requester's. */
  readonly requestsBy = new Map<string, Map<string, number>>();

  /** How many requests each route has answered (`GET /rest/api/3/issue/:key/changelog`: n). */
  served(route: string): number {
    return this.#router.served.get(route) ?? 0;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://jira');
    try {
      const route = this.#router.match(req.method ?? 'GET', url.pathname);
      if (url.pathname.startsWith('/rest/')) {
        // serverInfo answers anyone, as Jira's does: a client asks it which Jira this is before it signs in.
        const anonymous = /^\/rest\/api\/[23]\/serverInfo$/.test(url.pathname) && !req.headers.authorization;
        const { accountId } = anonymous ? { accountId: 'anonymous' } : this.#user(req);
        const byRoute = this.requestsBy.get(accountId) ?? new Map<string, number>();
        const name = route?.name ?? `${req.method ?? 'GET'} ${url.pathname}`;
        this.requestsBy.set(accountId, byRoute.set(name, (byRoute.get(name) ?? 0) + 1));
        if (this.faults.serverErrorRate > 0 && Math.random() < this.faults.serverErrorRate) {
          throw new HttpError(503, { errorMessages: ['Service Unavailable'], errors: {} });
        }
        if (this.faults.rateLimitRate > 0 && Math.random() < this.faults.rateLimitRate) {
          throw new HttpError(
            429,
            { errorMessages: ['Rate limit exceeded.'], errors: {} },
            {
              'retry-after': String(this.faults.retryAfterSeconds),
              'x-ratelimit-reset': new Date(Date.now() + this.faults.retryAfterSeconds * 1000).toISOString(),
              'ratelimit-reason': 'jira-burst-based',
            },
          );
        }
      }
      if (!route) throw jiraError(404, `No route for ${req.method} ${url.pathname}`);
      await route.handler({ req, res, url, params: route.params });
    } catch (err) {
      if (err instanceof HttpError) sendJson(res, err.status, err.body, err.headers);
      else sendJson(res, 500, { errorMessages: [(err as Error).message], errors: {} });
    }
  }

  /** Basic (email:API token) or Bearer (the token alone); Jira answers 401 in plain text. */
  #userById(accountId: string): JiraUser {
    const user = Object.values(SANDBOX_USERS).find((u) => u.accountId === accountId);
    if (!user) throw jiraError(500, `unknown account ${accountId}`);
    return user;
  }

  /**
   * Basic (Cloud: email and API token; Data Center: username and password) or Bearer (Cloud: an OAuth token;
   * Data Center: a personal access token); Jira answers 401 in plain text.
   */
  #user(req: IncomingMessage): JiraUser {
    const header = req.headers.authorization ?? '';
    const users = Object.values(SANDBOX_USERS);
    let found: JiraUser | undefined;
    const basic = /^Basic (.+)$/.exec(header)?.[1];
    if (basic) {
      const [login, ...rest] = Buffer.from(basic, 'base64').toString().split(':');
      const name = (u: JiraUser) => (this.dialect === 'cloud' ? u.emailAddress : u.name);
      found = users.find((u) => name(u) === login && same(rest.join(':'), u.apiToken));
    }
    const bearer = /^Bearer (.+)$/.exec(header)?.[1];
    if (bearer) found = users.find((u) => same(bearer, u.apiToken));
    if (!found) throw new HttpError(401, 'Client must be authenticated to access this resource.');
    return found;
  }

  #fields() {
    const system = [
      { id: 'summary', name: 'Summary', custom: false, schema: { type: 'string', system: 'summary' } },
      { id: 'status', name: 'Status', custom: false, schema: { type: 'status', system: 'status' } },
      { id: 'issuetype', name: 'Issue Type', custom: false, schema: { type: 'issuetype', system: 'issuetype' } },
      { id: 'reporter', name: 'Reporter', custom: false, schema: { type: 'user', system: 'reporter' } },
      {
        id: 'attachment',
        name: 'Attachment',
        custom: false,
        schema: { type: 'array', items: 'attachment', system: 'attachment' },
      },
    ];
    const custom = this.site.fields.map((f) => {
      const customId = Number(f.id.split('_')[1]);
      return {
        id: f.id,
        key: f.id,
        name: f.name,
        custom: true,
        orderable: true,
        navigable: true,
        searchable: true,
        clauseNames: [`cf[${customId}]`, f.name],
        schema: {
          type: f.type === 'select' ? 'option' : f.type === 'datepicker' ? 'date' : 'string',
          custom: `com.atlassian.jira.plugin.system.customfieldtypes:${f.type}`,
          customId,
        },
      };
    });
    return [...system, ...custom].map((f) => ({
      key: f.id,
      orderable: true,
      navigable: true,
      searchable: true,
      clauseNames: [],
      ...f,
    }));
  }

  async #createIssue({ req, res }: RouteContext): Promise<void> {
    const user = this.#user(req);
    const body = (await readJsonBody(req)) as { fields?: Record<string, unknown> };
    const fields = body.fields ?? {};
    const project = fields.project as { key?: string; id?: string } | undefined;
    if (project?.key !== this.projectKey) {
      throw jiraError(400, undefined, { project: 'Specify a valid project ID or key' });
    }
    const typeRef = fields.issuetype as { id?: string; name?: string } | undefined;
    const issueType = ISSUE_TYPES.find((t) => t.id === typeRef?.id || t.name === typeRef?.name);
    if (!issueType) throw jiraError(400, undefined, { issuetype: 'Specify an issue type' });
    if (typeof fields.summary !== 'string' || fields.summary.trim() === '') {
      throw jiraError(400, undefined, { summary: 'You must specify a summary of the issue.' });
    }
    const number = ++this.#counter.issue;
    const issue: Issue = {
      id: String(10000 + number),
      key: `${this.projectKey}-${number}`,
      issueType: issueType.name,
      status: issueType.name === 'Revoke Certificate' ? 'Revocation Request' : 'Certificate Request',
      summary: fields.summary,
      reporter: user.accountId,
      created: this.#nowJira(),
      updated: this.#nowJira(),
      custom: {},
      comments: [],
      attachments: [],
      properties: {},
    };
    this.#setCustomFields(issue, fields);
    this.#issues.set(issue.key, issue);
    this.#save();
    sendJson(res, 201, { id: issue.id, key: issue.key, self: `${this.url}${this.api}/issue/${issue.id}` });
    this.#emit('jira:issue_created', issue, user, undefined);
  }

  async #editIssue({ req, res, params, url }: RouteContext): Promise<void> {
    const user = this.#user(req);
    const issue = this.#issue(params.key);
    // Quiet edits are for administrators only: Jira answers 403 to anyone else, whatever its API doc says
    // (docs/compatibility.md, "notifyUsers"). No sandbox account administers the project.
    if (url.searchParams.get('notifyUsers') === 'false') {
      throw jiraError(403, 'To discard the user notification either admin or project admin permissions are required.');
    }
    const body = (await readJsonBody(req)) as { fields?: Record<string, unknown> };
    const fields = body.fields ?? {};
    if ('status' in fields) throw jiraError(400, undefined, { status: 'Field cannot be set; use a transition.' });
    offScreen(fields, this.site.editableFields(issue.issueType));
    const before = { summary: issue.summary, custom: { ...issue.custom } };
    if (typeof fields.summary === 'string') issue.summary = fields.summary;
    this.#setCustomFields(issue, fields);
    issue.updated = this.#nowJira();
    const items: ChangelogItem[] = [];
    if (before.summary !== issue.summary) {
      items.push({
        field: 'summary',
        fieldtype: 'jira',
        fieldId: 'summary',
        fromString: before.summary,
        toString: issue.summary,
      });
    }
    for (const def of this.site.fields) {
      const [was, now] = [before.custom[def.id], issue.custom[def.id]];
      if (JSON.stringify(was) === JSON.stringify(now)) continue;
      items.push({
        field: def.name,
        fieldtype: 'custom',
        fieldId: def.id,
        fromString: changeText(was),
        toString: changeText(now),
      });
    }
    const changelog = items.length > 0 ? this.#record(issue, user, items) : undefined;
    this.#save();
    // `returnIssue=true` answers the edited issue, as Jira Cloud does (jira.js editIssue.returnIssue).
    // Data Center's edit has no `returnIssue`: it always answers 204.
    if (this.dialect === 'cloud' && url.searchParams.get('returnIssue') === 'true') {
      sendJson(res, 200, this.#issueJson(issue, undefined));
    } else sendJson(res, 204, undefined);
    this.#emit('jira:issue_updated', issue, user, changelog, 'issue_updated');
  }

  #setCustomFields(issue: Issue, fields: Record<string, unknown>): void {
    const errors: Record<string, string> = {};
    for (const [id, value] of Object.entries(fields)) {
      if (['project', 'issuetype', 'summary', 'description', 'reporter'].includes(id)) continue;
      const def = this.site.field(id);
      if (!def) {
        errors[id] = `Field '${id}' cannot be set. It is not on the appropriate screen, or unknown.`;
        continue;
      }
      if (value === null) {
        delete issue.custom[id];
        continue;
      }
      const problem = this.#fieldProblem(def, value);
      if (problem) errors[id] = problem;
      else
        issue.custom[id] =
          def.type === 'select'
            ? { value: (value as { value: string }).value, id: optionId(String((value as { value: string }).value)) }
            : value;
    }
    if (Object.keys(errors).length > 0) throw jiraError(400, undefined, errors);
  }

  #fieldProblem(def: FieldDef, value: unknown): string | undefined {
    switch (def.type) {
      case 'select': {
        const option = (value as { value?: unknown }).value;
        const options = this.site.optionValues(def.id);
        return typeof option === 'string' && (options === undefined || options.includes(option))
          ? undefined
          : `Option value '${String(option)}' is not valid`;
      }
      case 'textarea':
        return this.#richTextProblem(value);
      case 'datepicker':
        return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? undefined : 'Date must be yyyy-MM-dd';
      case 'textfield':
        return typeof value === 'string' && value.length <= 255
          ? undefined
          : 'Text fields take a string of up to 255 characters';
    }
  }

  /** What is wrong with a rich-text value: Cloud takes ADF, Data Center a wiki-markup string. */
  #richTextProblem(value: unknown): string | undefined {
    if (this.dialect === 'cloud') return adfProblem(value);
    return typeof value === 'string' ? undefined : 'Data Center takes wiki markup: a string';
  }

  /** A user as this Jira names them: Cloud by `accountId`, Data Center by `key` and `name`. */
  #userJson(user: JiraUser): Record<string, unknown> {
    if (this.dialect === 'cloud') {
      return {
        accountId: user.accountId,
        displayName: user.displayName,
        active: true,
        accountType: 'atlassian',
        emailAddress: user.emailAddress,
      };
    }
    return {
      self: `${this.url}${this.api}/user?username=${user.name}`,
      key: user.key,
      name: user.name,
      emailAddress: user.emailAddress,
      displayName: user.displayName,
      active: true,
      timeZone: 'Etc/UTC',
    };
  }

  #historyJson(entry: ChangelogEntry): Record<string, unknown> {
    return {
      id: entry.id,
      author: this.#userJson(this.#userById(entry.author)),
      created: entry.created,
      items: entry.items,
    };
  }

  /** Data Center's changelog, as `expand=changelog` adds it to an issue: every history. */
  #historiesJson(issue: Issue): Record<string, unknown> {
    const histories = (issue.changelog ?? []).map((entry) => this.#historyJson(entry));
    return { startAt: 0, maxResults: histories.length, total: histories.length, histories };
  }

  /**
   * The issue's comments as a person reads them on the page: plain text, whatever the dialect stored; with
   * `by`, only that user's.
   */
  commentTexts(key: string, by?: JiraUser): string[] {
    return this.#issue(key)
      .comments.filter((c) => by === undefined || c.author === by.accountId)
      .map((c) => (typeof c.body === 'string' ? wikiToText(c.body) : adfToText(c.body)));
  }

  /** The comments `by` wrote, each with the event id its entity property carries (the connector's, say). */
  commentEvents(key: string, by: JiraUser): Array<{ text: string; eventId?: string }> {
    return this.#issue(key)
      .comments.filter((c) => c.author === by.accountId)
      .map((c) => {
        const eventId = (c.properties[0]?.value as { eventId?: unknown } | undefined)?.eventId;
        const text = typeof c.body === 'string' ? wikiToText(c.body) : adfToText(c.body);
        return { text, ...(typeof eventId === 'string' ? { eventId } : {}) };
      });
  }

  /**
   * What in `by`'s comments would render as anything but their characters: on Data Center, the markup a
   * strict reading of the wiki notation finds; on Cloud, any document node but paragraphs, text and breaks,
   * and any mark (a link, a mention, a format).
   */
  commentMarkup(key: string, by: JiraUser): string[] {
    const plain = new Set(['doc', 'paragraph', 'text', 'hardBreak']);
    const inAdf = (node: unknown): string[] => {
      const n = (node ?? {}) as { type?: string; marks?: unknown[]; content?: unknown[] };
      const own = [
        ...(n.type && !plain.has(n.type) ? [`a ${n.type} node`] : []),
        ...(n.marks?.length ? [`marks on "${JSON.stringify(n).slice(0, 40)}"`] : []),
      ];
      return [...own, ...(n.content ?? []).flatMap(inAdf)];
    };
    return this.#issue(key)
      .comments.filter((c) => c.author === by.accountId)
      .flatMap((c) => (typeof c.body === 'string' ? renderWiki(c.body).markup : inAdf(c.body)));
  }

  /** How often an issue's changelog has been read: by its own resource (Cloud), or `expand=changelog` (Data Center). */
  get changelogReads(): number {
    return this.#changelogReads;
  }
  #changelogReads = 0;

  /** A user as this Jira's JSON has them (in events, fields, comments). */
  userJson(user: JiraUser): Record<string, unknown> {
    return this.#userJson(user);
  }

  /** The `Authorization` header `user` signs in with here: email and API token on Cloud, a token on Data Center. */
  authorization(user: JiraUser): string {
    return this.dialect === 'cloud'
      ? `Basic ${Buffer.from(`${user.emailAddress}:${user.apiToken}`).toString('base64')}`
      : `Bearer ${user.apiToken}`;
  }

  /** How the connector knows a user on this Jira: Cloud's `accountId`, Data Center's `key`. */
  userId(user: JiraUser): string {
    return this.dialect === 'cloud' ? user.accountId : user.key;
  }

  /** The issue's comments as stored: ADF documents on Cloud, wiki-markup strings on Data Center. */
  commentBodies(key: string): unknown[] {
    return this.#issue(key).comments.map((c) => c.body);
  }

  /** How many issues the project holds. */
  get issueCount(): number {
    return this.#issues.size;
  }

  /** Adds a changelog entry to the issue; answers it as webhooks carry it. */
  #record(issue: Issue, user: JiraUser, items: ChangelogItem[]): { id: string; items: ChangelogItem[] } {
    const entry = { id: String(++this.#counter.changelog), author: user.accountId, created: this.#nowJira(), items };
    (issue.changelog ??= []).push(entry);
    return { id: entry.id, items };
  }

  #available(issue: Issue) {
    const workflow = issue.issueType === 'Certificate' ? TRANSITIONS : REVOKE_TRANSITIONS;
    return workflow.filter((t) => t.from.includes(issue.status));
  }

  async #transition({ req, res, params }: RouteContext): Promise<void> {
    const user = this.#user(req);
    const issue = this.#issue(params.key);
    const body = (await readJsonBody(req)) as {
      transition?: { id?: string };
      fields?: Record<string, unknown>;
      update?: { comment?: Array<{ add?: { body?: unknown } }> };
    };
    const transition = this.#available(issue).find((t) => t.id === body.transition?.id);
    if (!transition) {
      throw jiraError(400, `Transition id '${body.transition?.id ?? ''}' is not valid for this issue.`);
    }
    // The transition's screen: "Revoke Certificate" asks for a reason (required) and takes a comment.
    const screen = this.site.transitionScreen(transition.name);
    for (const field of screen.filter((f) => f.required)) {
      if (body.fields?.[field.id] === undefined || body.fields[field.id] === null) {
        throw jiraError(400, undefined, { [field.id]: `${field.name} is required.` });
      }
    }
    if (body.fields) {
      offScreen(body.fields, new Set(screen.map((f) => f.id)));
      this.#setCustomFields(issue, body.fields);
    }
    const added = body.update?.comment?.[0]?.add?.body;
    let comment: Comment | undefined;
    if (added !== undefined) {
      const problem = this.#richTextProblem(added);
      if (problem) throw jiraError(400, undefined, { comment: problem });
      comment = {
        id: String(++this.#counter.comment),
        author: user.accountId,
        body: added,
        created: this.#nowJira(),
        properties: [],
      };
      issue.comments.push(comment);
    }
    const from = STATUSES.find((s) => s.name === issue.status);
    const to = STATUSES.find((s) => s.name === transition.to);
    issue.status = transition.to;
    issue.updated = this.#nowJira();
    const changelog = this.#record(issue, user, [
      {
        field: 'status',
        fieldtype: 'jira',
        fieldId: 'status',
        from: from?.id,
        fromString: from?.name,
        to: to?.id,
        toString: to?.name,
      },
    ]);
    this.#save();
    sendJson(res, 204, undefined);
    this.#emit('jira:issue_updated', issue, user, changelog, 'issue_generic', comment);
  }

  #listComments({ res, url, params }: RouteContext): void {
    const issue = this.#issue(params.key);
    const startAt = Number(url.searchParams.get('startAt') ?? 0);
    const maxResults = Math.min(Number(url.searchParams.get('maxResults') ?? 100), 5000);
    const ordered = url.searchParams.get('orderBy') === '-created' ? [...issue.comments].reverse() : issue.comments;
    const expand = url.searchParams.get('expand');
    sendJson(res, 200, {
      startAt,
      maxResults,
      total: issue.comments.length,
      comments: ordered.slice(startAt, startAt + maxResults).map((c) => this.#commentJson(issue.key, c, expand)),
    });
  }

  async #addComment({ req, res, params, url }: RouteContext, version: 2 | 3): Promise<void> {
    const user = this.#user(req);
    const issue = this.#issue(params.key);
    if (this.faults.commentOutageAfter !== null && this.faults.commentOutageAfter-- <= 0) {
      this.faults.commentOutageAfter = null;
      this.faults.commentOutage = true;
    }
    if (this.faults.commentOutage) throw jiraError(503, 'Service Unavailable');
    const body = (await readJsonBody(req)) as { body?: unknown; properties?: Array<{ key: string; value: unknown }> };
    // On Cloud, v2 takes a string and keeps it as a document; on Data Center a string is all there is.
    const content =
      this.dialect === 'cloud' && version === 2 && typeof body.body === 'string' ? textToAdf(body.body) : body.body;
    const problem = this.#richTextProblem(content);
    if (problem) throw jiraError(400, undefined, { comment: problem });
    if (JSON.stringify(content).length > 32_768)
      throw jiraError(400, undefined, { comment: 'The entered text is too long.' });
    const comment: Comment = {
      id: String(++this.#counter.comment),
      author: user.accountId,
      body: content,
      created: this.#nowJira(),
      properties: (body.properties ?? []).map(({ key, value }) => ({ key, value })),
    };
    issue.comments.push(comment);
    issue.updated = this.#nowJira();
    this.#save();
    if (this.faults.commentAnswerDelayMs > 0) await sleep(this.faults.commentAnswerDelayMs);
    sendJson(res, 201, this.#commentJson(issue.key, comment, url.searchParams.get('expand')));
  }

  async #attach({ req, res, params }: RouteContext): Promise<void> {
    const user = this.#user(req);
    const issue = this.#issue(params.key);
    if (req.headers['x-atlassian-token'] !== 'no-check') throw new HttpError(403, 'XSRF check failed');
    const raw = await readBody(req, BODY_LIMIT);
    const form = await new Request('http://jira/upload', {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'] ?? '' },
      body: raw,
    })
      .formData()
      .catch(() => {
        throw jiraError(400, 'Expected a multipart/form-data body.');
      });
    const files = form.getAll('file').filter((part): part is File => typeof part !== 'string');
    if (files.length === 0) throw jiraError(400, 'No file part named "file" in the request.');
    const created: Attachment[] = [];
    for (const file of files) {
      const attachment: Attachment = {
        id: String(++this.#counter.attachment),
        filename: file.name,
        author: user.accountId,
        created: this.#nowJira(),
        mimeType: file.type || 'application/octet-stream',
        content: Buffer.from(await file.arrayBuffer()).toString('base64'),
      };
      issue.attachments.push(attachment);
      created.push(attachment);
    }
    issue.updated = this.#nowJira();
    this.#save();
    sendJson(
      res,
      200,
      created.map((a) => this.#attachmentJson(issue, a)),
    );
  }

  async #registerWebhook({ req, res }: RouteContext): Promise<void> {
    const body = (await readJsonBody(req)) as Partial<Webhook>;
    if (typeof body.url !== 'string' || !Array.isArray(body.events) || body.events.length === 0) {
      throw jiraError(400, 'A webhook needs a url and at least one event.');
    }
    const existing = this.#webhooks.find((hook) => hook.url === body.url);
    const hook: Webhook = {
      id: existing?.id ?? ++this.#counter.webhook,
      name: body.name ?? body.url,
      url: body.url,
      events: body.events,
      secret: body.secret,
    };
    this.#webhooks = [...this.#webhooks.filter((h) => h.id !== hook.id), hook];
    this.#save();
    sendJson(res, 201, {
      id: hook.id,
      name: hook.name,
      url: hook.url,
      events: hook.events,
      self: `${this.url}${this.dialect === 'cloud' ? '/rest/webhooks/1.0/webhook' : '/rest/jira-webhook/1.0/webhooks'}/${hook.id}`,
    });
  }

  /** Queues a delivery of the event to every matching webhook. */
  #emit(event: string, issue: Issue, user: JiraUser, changelog: unknown, eventType?: string, comment?: Comment): void {
    for (const hook of this.#webhooks.filter((h) => h.events.includes(event))) {
      const payload = {
        timestamp: Date.now(),
        webhookEvent: event,
        ...(eventType ? { issue_event_type_name: eventType } : {}),
        user: this.#userJson(user),
        issue: { ...this.#issueJson(issue, undefined), self: `${this.url}/rest/api/2/issue/${issue.id}` },
        ...(changelog ? { changelog } : {}),
        ...(comment ? { comment: this.#commentJson(issue.key, comment, null) } : {}),
      };
      const delivery: Delivery = {
        id: randomUUID(),
        webhookId: hook.id,
        event,
        issueKey: issue.key,
        attempts: 0,
        statuses: [],
        delivered: false,
        body: JSON.stringify(payload),
      };
      this.deliveries.push(delivery);
      for (let copy = 0; copy < Math.max(1, this.faults.deliveryCopies); copy++) {
        const sending = this.#deliver(hook, delivery, delivery.body);
        this.#pending.add(sending);
        void sending.finally(() => this.#pending.delete(sending));
      }
    }
  }

  /** Posts like Jira: signed when the hook has a secret; retried on 408/409/425/429/5xx and network errors. */
  async #deliver(hook: Webhook, delivery: Delivery, body: string): Promise<void> {
    const delays = this.#options.retryDelaysMs ?? [200, 1000, 3000, 10_000];
    if (this.faults.deliveryDelayMs > 0) await sleep(Math.random() * this.faults.deliveryDelayMs);
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      if (attempt > 0) await sleep(delays[attempt - 1] ?? 0);
      // Cloud identifies each delivery (the same on every retry); whether Data Center does is not documented,
      // so its deliveries here carry no identifier and the connector must deduplicate without one.
      const headers: Record<string, string> = {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Atlassian Webhook HTTP Client',
        ...(this.dialect === 'cloud'
          ? { 'x-atlassian-webhook-identifier': delivery.id, 'x-atlassian-webhook-flow': 'Primary' }
          : {}),
      };
      if (attempt > 0 && this.dialect === 'cloud') headers['x-atlassian-webhook-retry'] = String(attempt);
      if (hook.secret)
        headers['x-hub-signature'] = `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`;
      delivery.attempts++;
      let status: number;
      try {
        const res = await fetch(hook.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = 0; // connection refused, reset or timed out: retried like a 5xx
      }
      delivery.statuses.push(status);
      if (status >= 200 && status < 300) {
        delivery.delivered = true;
        return;
      }
      const retryable = status === 0 || [408, 409, 425, 429].includes(status) || status >= 500;
      if (!retryable) return;
    }
  }

  #issue(key: string | undefined): Issue {
    const issue = this.#issues.get(key ?? '') ?? [...this.#issues.values()].find((i) => i.id === key);
    if (!issue) throw jiraError(404, 'Issue does not exist or you do not have permission to see it.');
    return issue;
  }

  #attachment(id: string | undefined): { issue: Issue; attachment: Attachment } {
    for (const issue of this.#issues.values()) {
      const attachment = issue.attachments.find((a) => a.id === id);
      if (attachment) return { issue, attachment };
    }
    throw jiraError(404, 'The attachment with id does not exist.');
  }

  /**
   * Enhanced JQL search, for the JQL the connector sends: `project = KEY`, optionally `AND updated >= X`
   * (X relative like "-15m", "-2h", "-1d", or "yyyy-MM-dd HH:mm" in UTC), optionally `ORDER BY updated
   * ASC|DESC`. Unbounded or other JQL is refused, as Cloud refuses what it cannot run. Token-paged; without
   * `fields`, only ids.
   */
  #search(query: {
    jql: string;
    nextPageToken?: string | undefined;
    maxResults?: string | number | undefined;
    fields?: string[] | undefined;
  }): Record<string, unknown> {
    const matching = this.#matching(query.jql);
    const idsOnly = !query.fields || query.fields.length === 0 || query.fields.every((f) => f === 'id');
    const limit = Math.min(Math.max(1, Number(query.maxResults ?? 50) || 50), idsOnly ? 5000 : 100);
    const offset = query.nextPageToken ? Number(Buffer.from(query.nextPageToken, 'base64url').toString()) || 0 : 0;
    const page = matching.slice(offset, offset + limit);
    const more = offset + page.length < matching.length;
    return {
      issues: page.map((issue) => (idsOnly ? { id: issue.id } : this.#issueJson(issue, query.fields))),
      ...(more ? { nextPageToken: Buffer.from(String(offset + limit)).toString('base64url') } : {}),
      isLast: !more,
    };
  }

  /** Data Center's search: offset-paged, with the total; every navigable field unless `fields` says. */
  #searchPaged(query: SearchQuery): Record<string, unknown> {
    const matching = this.#matching(query.jql);
    const startAt = Math.max(0, Number(query.startAt ?? 0) || 0);
    const maxResults = Math.min(Math.max(1, Number(query.maxResults ?? 50) || 50), 1000);
    return {
      startAt,
      maxResults,
      total: matching.length,
      issues: matching.slice(startAt, startAt + maxResults).map((issue) => this.#issueJson(issue, query.fields)),
    };
  }

  /** The issues the connector's JQL finds, in its order. */
  #matching(jql: string): Issue[] {
    // `AND issuetype = "…"` and `AND status = "…"` narrow it (the setup check looks for a sample issue).
    const narrowing = /\s+AND\s+(issuetype|status)\s*=\s*"([^"]*)"/gi;
    const wanted = Object.fromEntries([...jql.matchAll(narrowing)].map((m) => [(m[1] ?? '').toLowerCase(), m[2]]));
    jql = jql.replace(narrowing, '');
    const grammar =
      /^\s*project\s*=\s*"?([A-Za-z][A-Za-z0-9_]*)"?(?:\s+AND\s+updated\s*>=\s*(?:"([^"]*)"|'([^']*)'|(-\d+[mhd])))?(?:\s+ORDER\s+BY\s+updated(?:\s+(ASC|DESC))?)?\s*$/i;
    const match = grammar.exec(jql);
    if (!match) {
      throw jiraError(
        400,
        jql.trim() === '' || !/project/i.test(jql)
          ? 'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.'
          : `The emulator's JQL takes: project = KEY [AND updated >= "-15m" | "yyyy-MM-dd HH:mm"] [ORDER BY updated ASC|DESC]; got: ${jql}`,
      );
    }
    const [, project = '', quoted, singleQuoted, bare, direction] = match;
    const since = jqlInstant(quoted ?? singleQuoted ?? bare, this.#now());
    if (since === null)
      throw jiraError(400, `Date value '${quoted ?? singleQuoted ?? bare ?? ''}' for field 'updated' is invalid.`);
    const matching = [...this.#issues.values()]
      .filter(
        (issue) =>
          project.toUpperCase() === this.projectKey &&
          (since === undefined || Date.parse(issue.updated) >= since) &&
          (wanted.issuetype === undefined || issue.issueType === wanted.issuetype) &&
          (wanted.status === undefined || issue.status === wanted.status),
      )
      .sort((a, b) => Date.parse(a.updated) - Date.parse(b.updated) || Number(a.id) - Number(b.id));
    if (direction?.toUpperCase() === 'DESC') matching.reverse();
    return matching;
  }

  #issueJson(issue: Issue, fields: string[] | undefined): Record<string, unknown> {
    const status = STATUSES.find((s) => s.name === issue.status);
    const type = ISSUE_TYPES.find((t) => t.name === issue.issueType);
    const all: Record<string, unknown> = {
      summary: issue.summary,
      status: status && {
        id: status.id,
        name: status.name,
        statusCategory: { id: 1, key: status.category, name: status.category, colorName: 'blue-gray' },
      },
      issuetype: type && { id: type.id, name: type.name, subtask: false, hierarchyLevel: 0 },
      project: { id: '10000', key: this.projectKey, name: 'Certificate Management' },
      reporter: this.#userJson(
        Object.values(SANDBOX_USERS).find((u) => u.accountId === issue.reporter) ?? SANDBOX_USERS.alice,
      ),
      created: issue.created,
      updated: issue.updated,
      attachment: issue.attachments.map((a) => this.#attachmentJson(issue, a)),
      comment: {
        comments: issue.comments.map((c) => this.#commentJson(issue.key, c, null)),
        startAt: 0,
        maxResults: issue.comments.length,
        total: issue.comments.length,
      },
      ...Object.fromEntries(this.site.fields.map((f) => [f.id, issue.custom[f.id] ?? null])),
    };
    const wanted = fields?.filter((f) => f !== '*all' && f !== '*navigable');
    const selected =
      wanted && wanted.length > 0 ? Object.fromEntries(wanted.filter((f) => f in all).map((f) => [f, all[f]])) : all;
    return { id: issue.id, key: issue.key, self: `${this.url}${this.api}/issue/${issue.id}`, fields: selected };
  }

  #commentJson(issueKey: string, comment: Comment, expand: string | null): Record<string, unknown> {
    const author = this.#userJson(
      Object.values(SANDBOX_USERS).find((u) => u.accountId === comment.author) ?? SANDBOX_USERS.alice,
    );
    // Data Center answers a listing without comment properties, `expand=properties` or not: whether it
    // honours it is not documented, and the stricter answer is the one the connector must survive.
    const properties = this.dialect === 'cloud' && expand?.split(',').includes('properties');
    return {
      self: `${this.url}${this.api}/issue/${issueKey}/comment/${comment.id}`,
      id: comment.id,
      author,
      updateAuthor: author,
      body: comment.body,
      created: comment.created,
      updated: comment.created,
      ...(this.dialect === 'cloud' ? { jsdPublic: true } : {}),
      ...(properties ? { properties: comment.properties } : {}),
    };
  }

  #attachmentJson(_issue: Issue, a: Attachment): Record<string, unknown> {
    const author = this.#userJson(
      Object.values(SANDBOX_USERS).find((u) => u.accountId === a.author) ?? SANDBOX_USERS.alice,
    );
    return {
      self: `${this.url}${this.api}/attachment/${a.id}`,
      id: a.id,
      filename: a.filename,
      author,
      created: a.created,
      size: Buffer.from(a.content, 'base64').length,
      mimeType: a.mimeType,
      content:
        this.dialect === 'cloud'
          ? `${this.url}${this.api}/attachment/content/${a.id}`
          : `${this.url}/secure/attachment/${a.id}/${encodeURIComponent(a.filename)}`,
    };
  }

  #file(): string | undefined {
    return this.#options.dataDir ? join(this.#options.dataDir, 'jira.json') : undefined;
  }

  #load(): void {
    const file = this.#file();
    if (!file || !existsSync(file)) return;
    const saved = JSON.parse(readFileSync(file, 'utf8')) as {
      dialect?: JiraDialect;
      issues: Issue[];
      webhooks: Webhook[];
      counter: JiraEmulator['counter'];
    };
    // The issues keep their rich text in the dialect they were written in: one data file, one Jira.
    if ((saved.dialect ?? 'cloud') !== this.dialect) {
      throw new Error(
        `${file} holds a Jira ${saved.dialect ?? 'cloud'} sandbox, not ${this.dialect}: give SANDBOX_JIRA=${saved.dialect ?? 'cloud'}, or another DATA_DIR`,
      );
    }
    this.#issues = new Map(saved.issues.map((issue) => [issue.key, issue]));
    this.#webhooks = saved.webhooks;
    this.#counter = saved.counter;
  }

  get counter() {
    return this.#counter;
  }

  #save(): void {
    const file = this.#file();
    if (!file || !this.#options.dataDir) return;
    mkdirSync(this.#options.dataDir, { recursive: true });
    const temp = `${file}.${randomUUID()}.tmp`;
    writeFileSync(
      temp,
      JSON.stringify({
        dialect: this.dialect,
        issues: [...this.#issues.values()],
        webhooks: this.#webhooks,
        counter: this.#counter,
      }),
    );
    renameSync(temp, file);
  }
}

/** A transition as Jira describes it; with `transitions.fields` expanded, its screen's fields too. */
function transitionJson(site: JiraSite, t: { id: string; name: string; to: string }, withFields = false) {
  const to = STATUSES.find((s) => s.name === t.to);
  const toName = site.statusName(t.to);
  const screen = site.transitionScreen(t.name);
  const fields = Object.fromEntries(
    screen.map((f) => [
      f.id,
      {
        required: f.required,
        name: f.name,
        key: f.id,
        schema: { type: 'option', custom: 'com.atlassian.jira.plugin.system.customfieldtypes:select' },
        operations: ['set'],
        allowedValues: (site.optionValues(f.id) ?? []).map((value) => ({ value })),
      },
    ]),
  );
  return {
    id: t.id,
    name: t.name,
    to: { id: to?.id, name: toName, statusCategory: { id: 1, key: to?.category, name: to?.category } },
    hasScreen: screen.length > 0,
    ...(withFields ? { fields } : {}),
    isGlobal: false,
    isInitial: false,
    isAvailable: true,
    isConditional: false,
    isLooped: false,
  };
}

/** Jira accepts list parameters comma-joined (jira.js 5) and repeated (jira.js 6). */
/** A JQL date for `updated`: undefined when absent, null when unreadable, else epoch ms (UTC). */
function jqlInstant(value: string | undefined, now: number): number | undefined | null {
  if (value === undefined) return undefined;
  const relative = /^-(\d+)([mhd])$/.exec(value.trim());
  if (relative) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd'];
    return now - Number(relative[1]) * unit;
  }
  const absolute = /^(\d{4})[-/](\d\d)[-/](\d\d)(?: (\d\d):(\d\d))?$/.exec(value.trim());
  if (!absolute) return null;
  const [, y, mo, d, h = '00', mi = '00'] = absolute;
  return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:00Z`);
}

function listParam(url: URL, name: string): string[] | undefined {
  const values = url.searchParams.getAll(name).flatMap((v) => v.split(','));
  return values.length > 0 ? values.map((v) => v.trim()).filter((v) => v !== '') : undefined;
}

function optionId(value: string): string {
  let hash = 0;
  for (const ch of value) hash = (hash * 31 + ch.charCodeAt(0)) % 90_000;
  return String(10_000 + hash);
}

function sendBytes(res: ServerResponse, attachment: Attachment): void {
  const bytes = Buffer.from(attachment.content, 'base64');
  res.writeHead(200, { 'content-type': attachment.mimeType, 'content-length': bytes.length });
  res.end(bytes);
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A field value as changelog `fromString`/`toString` show it. */
function changeText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && 'value' in value) return String(value.value);
  return JSON.stringify(value);
}

/**
 * Jira sets only the fields on the screen of the edit or transition: any other is refused, each with this
 * message (docs/compatibility.md, "fields off the screen").
 */
function offScreen(fields: Record<string, unknown>, onScreen: ReadonlySet<string>): void {
  const refused = Object.keys(fields).filter((id) => !onScreen.has(id));
  if (refused.length === 0) return;
  throw jiraError(
    400,
    undefined,
    Object.fromEntries(
      refused.map((id) => [id, `Field '${id}' cannot be set. It is not on the appropriate screen, or unknown.`]),
    ),
  );
}
