/**
 * The sandbox Jira's administration: the "Certificate Management" project's custom fields with their
 * contexts and select options, the issue types' create screens, the statuses and workflows with their
 * transition screens — and the admin REST endpoints that describe them as Jira Cloud serves them (and
 * create fields, contexts and options). `change` misconfigures the site on purpose, so that the setup
 * check (`npm run cli -- jira-check`) can be shown, and tested, finding each problem.
 */
import type { IncomingMessage } from 'node:http';
import { REVOCATION_REASONS } from '../contract/shared.ts';
import { HttpError, readBody, sendJson } from '../http.ts';
import type { Router } from './router.ts';

const BODY_LIMIT = 10 * 1024 * 1024;

/** An error as Jira answers it: `errorMessages` and per-field `errors`. */
export function jiraError(status: number, message?: string, errors: Record<string, string> = {}): HttpError {
  return new HttpError(status, { errorMessages: message ? [message] : [], errors });
}

export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const raw = (await readBody(req, BODY_LIMIT)).toString();
  try {
    return raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    throw jiraError(400, 'Unexpected character in the JSON request body.');
  }
}

export interface FieldDef {
  id: string;
  name: string;
  type: 'select' | 'textarea' | 'textfield' | 'datepicker';
}

export const SANDBOX_FIELDS: FieldDef[] = [
  { id: 'customfield_10050', name: 'Certificate profile', type: 'select' },
  { id: 'customfield_10051', name: 'Certificate CSR text', type: 'textarea' },
  { id: 'customfield_10052', name: 'Certificate ID', type: 'textfield' },
  { id: 'customfield_10053', name: 'Certificate domain', type: 'textfield' },
  { id: 'customfield_10054', name: 'Certificate expiry date', type: 'datepicker' },
  { id: 'customfield_10055', name: 'Revocation reason', type: 'select' },
];

/** Fields on each transition's screen; posted with the transition, required ones checked. */
export const SCREENS: Record<string, Array<{ id: string; name: string; required: boolean }>> = {
  'Revoke Certificate': [{ id: 'customfield_10055', name: 'Revocation reason', required: true }],
};

export const STATUSES = [
  { id: '10000', name: 'Certificate Request', category: 'new' },
  { id: '10001', name: 'Certificate Enrolled', category: 'indeterminate' },
  { id: '10002', name: 'Certificate Renewed', category: 'indeterminate' },
  { id: '10003', name: 'Certificate Revoked', category: 'done' },
  { id: '10004', name: 'Revocation Request', category: 'new' },
] as const;

export const TRANSITIONS = [
  { id: '11', name: 'Enroll Certificate', from: ['Certificate Request'], to: 'Certificate Enrolled' },
  {
    id: '21',
    name: 'Renew Certificate',
    from: ['Certificate Enrolled', 'Certificate Renewed'],
    to: 'Certificate Renewed',
  },
  {
    id: '31',
    name: 'Revoke Certificate',
    from: ['Certificate Request', 'Certificate Enrolled', 'Certificate Renewed'],
    to: 'Certificate Revoked',
  },
  {
    id: '41',
    name: 'Return to Request',
    from: ['Certificate Enrolled', 'Certificate Renewed'],
    to: 'Certificate Request',
  },
  {
    id: '51',
    name: 'Back to Enrolled',
    from: ['Certificate Renewed', 'Certificate Revoked'],
    to: 'Certificate Enrolled',
  },
  // Where a refused revocation returns the issue to (the connector's own moves).
  { id: '61', name: 'Back to Request', from: ['Certificate Revoked'], to: 'Certificate Request' },
  { id: '71', name: 'Back to Renewed', from: ['Certificate Revoked'], to: 'Certificate Renewed' },
];

/** The "Revoke Certificate" issue type's workflow: a request, done once the connector has revoked. */
export const REVOKE_TRANSITIONS = [
  { id: '81', name: 'Complete Revocation', from: ['Revocation Request'], to: 'Certificate Revoked' },
];

export const ISSUE_TYPES = [
  { id: '10010', name: 'Certificate' },
  { id: '10011', name: 'Revoke Certificate' },
];

/** The workflow each issue type uses (by issue type id). */
const WORKFLOWS: Record<string, { name: string; transitions: typeof TRANSITIONS }> = {
  '10010': { name: 'Certificate Lifecycle', transitions: TRANSITIONS },
  '10011': { name: 'Certificate Revocation', transitions: REVOKE_TRANSITIONS },
};

const CUSTOM_TYPES: Record<FieldDef['type'], { schemaType: string; searcher: string }> = {
  select: { schemaType: 'option', searcher: 'multiselectsearcher' },
  textarea: { schemaType: 'string', searcher: 'textsearcher' },
  textfield: { schemaType: 'string', searcher: 'textsearcher' },
  datepicker: { schemaType: 'date', searcher: 'daterange' },
};
const TYPE_KEY = 'com.atlassian.jira.plugin.system.customfieldtypes:';

interface Screen {
  id: string;
  name: string;
  fields: Array<{ id: string; name: string; required: boolean }>;
}

/** A deliberate misconfiguration of the site. */
export type SiteChange =
  | { removeField: string }
  | { changeFieldType: { field: string; type: FieldDef['type'] } }
  | { removeOption: { field: string; value: string } }
  /** What an administrator does in Jira's UI (Data Center has no REST for it). */
  | { addOption: { field: string; value: string } }
  | { removeFromCreateScreen: { issueType: string; field: string } }
  | { removeFromEditScreen: { issueType: string; field: string } }
  | { removeFromTransitionScreen: { transition: string; field: string } }
  | { renameStatus: { from: string; to: string } };

type Json = Record<string, unknown>;

export class JiraSite {
  readonly fields: FieldDef[] = SANDBOX_FIELDS.map((f) => ({ ...f }));
  readonly statuses: Array<{ id: string; name: string; category: string }> = STATUSES.map((s) => ({ ...s }));

  /** A status of the workflows by its name there, as the site now calls it (an administrator may rename it). */
  statusName(workflowName: string): string {
    const id = STATUSES.find((s) => s.name === workflowName)?.id;
    return this.statuses.find((s) => s.id === id)?.name ?? workflowName;
  }
  /** Each select field's contexts, and each context's options. */
  readonly #contexts = new Map<
    string,
    Array<{ id: string; name: string; options: Array<{ id: string; value: string }> }>
  >();
  /** Create and edit screens by issue type id; transition screens by transition name. */
  readonly #createScreens: Record<string, Screen>;
  readonly #editScreens: Record<string, Screen>;
  readonly #transitionScreens: Record<string, Screen>;
  /** When true, the profile select takes any value (a sandbox started without profile names). */
  readonly #anyProfile: boolean;
  #next = 10_500;

  constructor(profileNames: readonly string[]) {
    this.#anyProfile = profileNames.length === 0;
    const field = (name: string, required = false) => {
      const def = this.fields.find((f) => f.name === name);
      return { id: def?.id ?? '', name, required };
    };
    for (const def of this.fields.filter((f) => f.type === 'select')) {
      const values = def.name === 'Certificate profile' ? profileNames : Object.keys(REVOCATION_REASONS);
      this.#contexts.set(def.id, [
        {
          id: String(this.#next++),
          name: `Default Configuration Scheme for ${def.name}`,
          options: values.map((value) => ({ id: String(this.#next++), value })),
        },
      ]);
    }
    this.#createScreens = {
      '10010': {
        id: '10100',
        name: 'CERT: Certificate Create Issue Screen',
        fields: [field('Certificate profile', true), field('Certificate CSR text', true)],
      },
      '10011': {
        id: '10101',
        name: 'CERT: Revoke Certificate Create Issue Screen',
        fields: [field('Certificate profile'), field('Certificate ID'), field('Certificate domain')],
      },
    };
    // What can be set by editing an issue: Jira refuses any other field with 400 (docs/compatibility.md).
    const summary = { id: 'summary', name: 'Summary', required: true };
    this.#editScreens = {
      '10010': {
        id: '10110',
        name: 'CERT: Certificate Edit Issue Screen',
        fields: [
          summary,
          field('Certificate profile'),
          field('Certificate CSR text'),
          field('Certificate ID'),
          field('Certificate domain'),
          field('Certificate expiry date'),
        ],
      },
      '10011': {
        id: '10111',
        name: 'CERT: Revoke Certificate Edit Issue Screen',
        fields: [
          summary,
          field('Certificate profile'),
          field('Certificate ID'),
          field('Certificate domain'),
          field('Revocation reason'),
        ],
      },
    };
    this.#transitionScreens = Object.fromEntries(
      Object.entries(SCREENS).map(([transition, fields], i) => [
        transition,
        { id: String(10_102 + i), name: `${transition} Screen`, fields: fields.map((f) => ({ ...f })) },
      ]),
    );
  }

  field(idOrName: string): FieldDef | undefined {
    return this.fields.find((f) => f.id === idOrName || f.name === idOrName);
  }

  /** The values a select field accepts; undefined when it takes any. */
  optionValues(fieldId: string): string[] | undefined {
    if (this.#anyProfile && this.field(fieldId)?.name === 'Certificate profile') return undefined;
    return (this.#contexts.get(fieldId) ?? []).flatMap((c) => c.options.map((o) => o.value));
  }

  /** The ids of the fields an edit of an issue of this type may set (its edit screen's). */
  editableFields(issueTypeName: string): Set<string> {
    const type = ISSUE_TYPES.find((t) => t.name === issueTypeName);
    return new Set((this.#editScreens[type?.id ?? '']?.fields ?? []).map((f) => f.id));
  }

  /** The fields on a transition's screen (empty: the transition has no screen). */
  transitionScreen(transition: string): Screen['fields'] {
    return this.#transitionScreens[transition]?.fields ?? [];
  }

  change(change: SiteChange): void {
    if ('removeField' in change) {
      const index = this.fields.findIndex((f) => f.name === change.removeField);
      if (index >= 0) this.fields.splice(index, 1);
    } else if ('changeFieldType' in change) {
      const def = this.field(change.changeFieldType.field);
      if (def) def.type = change.changeFieldType.type;
    } else if ('removeOption' in change) {
      const def = this.field(change.removeOption.field);
      for (const context of this.#contexts.get(def?.id ?? '') ?? []) {
        context.options = context.options.filter((o) => o.value !== change.removeOption.value);
      }
    } else if ('addOption' in change) {
      const def = this.field(change.addOption.field);
      const [context] = this.#contexts.get(def?.id ?? '') ?? [];
      if (context && !context.options.some((o) => o.value === change.addOption.value)) {
        context.options.push({ id: String(this.#next++), value: change.addOption.value });
      }
    } else if ('removeFromCreateScreen' in change) {
      const type = ISSUE_TYPES.find((t) => t.name === change.removeFromCreateScreen.issueType);
      const screen = this.#createScreens[type?.id ?? ''];
      if (screen) screen.fields = screen.fields.filter((f) => f.name !== change.removeFromCreateScreen.field);
    } else if ('removeFromEditScreen' in change) {
      const type = ISSUE_TYPES.find((t) => t.name === change.removeFromEditScreen.issueType);
      const screen = this.#editScreens[type?.id ?? ''];
      if (screen) screen.fields = screen.fields.filter((f) => f.name !== change.removeFromEditScreen.field);
    } else if ('removeFromTransitionScreen' in change) {
      const screen = this.#transitionScreens[change.removeFromTransitionScreen.transition];
      if (screen) screen.fields = screen.fields.filter((f) => f.name !== change.removeFromTransitionScreen.field);
    } else {
      const status = this.statuses.find((s) => s.name === change.renameStatus.from);
      if (status) status.name = change.renameStatus.to;
    }
  }

  /**
   * The admin endpoints, under the API's root `v3` (/rest/api/3 on Cloud, /rest/api/2 on Data Center);
   * `authenticate` throws for a request without a user.
   */
  routes(
    r: Router,
    v3: string,
    projectKey: string,
    authenticate: (ctx: { req: IncomingMessage }) => void,
    dialect: 'cloud' | 'datacenter' = 'cloud',
  ): void {
    const cloud = dialect === 'cloud';
    const project = { id: '10000', key: projectKey, name: 'Certificate Management' };
    const knownProject = (key: string | undefined) => {
      if (key !== projectKey && key !== project.id) {
        throw jiraError(404, `No project could be found with key '${key ?? ''}'.`);
      }
    };
    const issueTypes = ISSUE_TYPES.map((t) => ({ id: t.id, name: t.name, subtask: false, hierarchyLevel: 0 }));
    const statusJson = (name: string) => {
      const s = this.statuses.find((x) => x.name === name || STATUSES.find((o) => o.name === name)?.id === x.id);
      return s && { id: s.id, name: s.name, statusCategory: { id: 1, key: s.category, name: s.category } };
    };
    const page = (values: unknown[]) => ({ values, startAt: 0, maxResults: 50, total: values.length, isLast: true });

    r.on('GET', `${v3}/project/:key`, ({ req, res, params }) => {
      authenticate({ req });
      knownProject(params.key);
      sendJson(res, 200, { ...project, self: '', projectTypeKey: 'software', issueTypes });
    });
    r.on('GET', `${v3}/project/:key/statuses`, ({ req, res, params }) => {
      authenticate({ req });
      knownProject(params.key);
      sendJson(
        res,
        200,
        issueTypes.map((type) => {
          const transitions = WORKFLOWS[type.id]?.transitions ?? [];
          const names = [...new Set(transitions.flatMap((t) => [...t.from, t.to]))];
          return { ...type, statuses: names.map(statusJson).filter(Boolean) };
        }),
      );
    });
    r.on('GET', `${v3}/issue/createmeta/:key/issuetypes`, ({ req, res, params }) => {
      authenticate({ req });
      knownProject(params.key);
      sendJson(res, 200, { issueTypes, startAt: 0, maxResults: 50, total: issueTypes.length });
    });
    r.on('GET', `${v3}/issue/createmeta/:key/issuetypes/:type`, ({ req, res, params }) => {
      authenticate({ req });
      knownProject(params.key);
      const screen = this.#createScreens[params.type ?? ''];
      if (!screen) throw jiraError(404, 'Issue type not found.');
      const fields = [
        {
          fieldId: 'summary',
          key: 'summary',
          name: 'Summary',
          required: true,
          operations: ['set'],
          schema: { type: 'string', system: 'summary' },
        },
        ...screen.fields
          .map((f) => ({ f, def: this.field(f.id) }))
          .filter(({ def }) => def !== undefined)
          .map(({ f, def }) => ({
            fieldId: def?.id,
            key: def?.id,
            name: def?.name,
            required: f.required,
            // Required by Atlassian's schema (FieldCreateMetadata.operations).
            operations: ['set'],
            schema: this.#schema(def as FieldDef),
            ...(def?.type === 'select'
              ? { allowedValues: (this.optionValues(def.id) ?? []).map((value) => ({ value })) }
              : {}),
          })),
      ];
      // Data Center answers the fields as `values` (sooperset/mcp-atlassian PR 958, seen on 10.3).
      const meta = { startAt: 0, maxResults: 50, total: fields.length };
      sendJson(res, 200, cloud ? { fields, ...meta } : { values: fields, ...meta, isLast: true });
    });
    // Data Center has no field contexts: a select's options are listed here, and only listed (no REST creates them).
    if (!cloud) {
      r.on('GET', `${v3}/customFields/:id/options`, ({ req, res, params }) => {
        authenticate({ req });
        const def = this.field(params.id ?? '');
        if (def?.type !== 'select') throw jiraError(404, `No custom field with id ${params.id ?? ''}.`);
        const options = (this.optionValues(def.id) ?? []).map((value, i) => ({
          id: 10_100 + i,
          value,
          disabled: false,
          childrenIds: [],
        }));
        sendJson(res, 200, { options, total: options.length });
      });
    }
    r.on('POST', `${v3}/field`, async ({ req, res }) => {
      authenticate({ req });
      const { name, type } = (await readJsonBody(req)) as { name?: string; type?: string };
      const kind = type?.startsWith(TYPE_KEY) ? (type.slice(TYPE_KEY.length) as FieldDef['type']) : undefined;
      if (!name || !kind || !(kind in CUSTOM_TYPES)) {
        throw jiraError(400, 'A field needs a name and a supported type.');
      }
      const def: FieldDef = { id: `customfield_${this.#next++}`, name, type: kind };
      this.fields.push(def);
      if (kind === 'select') this.#contexts.set(def.id, []);
      sendJson(res, 201, { id: def.id, key: def.id, name, custom: true, schema: this.#schema(def) });
    });
    if (cloud)
      r.on('GET', `${v3}/field/:id/context`, ({ req, res, params }) => {
        authenticate({ req });
        const contexts = this.#contextsOf(params.id);
        sendJson(
          res,
          200,
          page(contexts.map(({ id, name }) => ({ id, name, isGlobalContext: true, isAnyIssueType: true }))),
        );
      });
    if (cloud)
      r.on('POST', `${v3}/field/:id/context`, async ({ req, res, params }) => {
        authenticate({ req });
        const contexts = this.#contextsOf(params.id);
        const { name } = (await readJsonBody(req)) as { name?: string };
        const context = { id: String(this.#next++), name: name ?? 'Default context', options: [] };
        contexts.push(context);
        sendJson(res, 201, { id: context.id, name: context.name, isGlobalContext: true, isAnyIssueType: true });
      });
    if (cloud)
      r.on('GET', `${v3}/field/:id/context/:context/option`, ({ req, res, params }) => {
        authenticate({ req });
        const context = this.#context(params.id, params.context);
        sendJson(res, 200, page(context.options.map((o) => ({ ...o, disabled: false }))));
      });
    if (cloud)
      r.on('POST', `${v3}/field/:id/context/:context/option`, async ({ req, res, params }) => {
        authenticate({ req });
        const context = this.#context(params.id, params.context);
        const { options = [] } = (await readJsonBody(req)) as { options?: Array<{ value?: string }> };
        const added = options
          .filter((o): o is { value: string } => typeof o.value === 'string' && o.value.trim() !== '')
          .map((o) => {
            if (context.options.some((x) => x.value === o.value)) {
              throw jiraError(400, `The option '${o.value}' already exists.`);
            }
            return { id: String(this.#next++), value: o.value };
          });
        context.options.push(...added);
        sendJson(res, 200, { options: added.map((o) => ({ ...o, disabled: false })) });
      });
    if (cloud)
      r.on('GET', `${v3}/workflowscheme/project`, ({ req, res, url }) => {
        authenticate({ req });
        const ids = url.searchParams.getAll('projectId');
        if (!ids.includes(project.id)) return sendJson(res, 200, { values: [] });
        sendJson(res, 200, {
          values: [
            {
              projectIds: [project.id],
              workflowScheme: {
                id: 10_000,
                name: 'CERT: Certificate Management Workflow Scheme',
                defaultWorkflow: 'jira',
                issueTypeMappings: Object.fromEntries(Object.entries(WORKFLOWS).map(([type, w]) => [type, w.name])),
              },
            },
          ],
        });
      });
    // Removed on 2026-06-01 (Atlassian CHANGE-2569): Jira answers it as it answers any unknown resource.
    if (cloud)
      r.on('GET', `${v3}/workflow/search`, ({ req }) => {
        authenticate({ req });
        throw jiraError(404, 'The requested resource was removed: use GET /rest/api/3/workflows/search.');
      });
    // Its replacement: statuses by reference, transitions only with expand=values.transitions, the
    // transition screen as a rule whose parameters name the screen.
    if (cloud)
      r.on('GET', `${v3}/workflows/search`, ({ req, res, url }) => {
        authenticate({ req });
        const query = (url.searchParams.get('queryString') ?? '').toLowerCase();
        const expand = (url.searchParams.get('expand') ?? '').split(',');
        const reference = (name: string) => `ref-${statusJson(name)?.id ?? name}`;
        const workflows = Object.values(WORKFLOWS).filter((w) => w.name.toLowerCase().includes(query));
        const names = [...new Set(workflows.flatMap((w) => w.transitions.flatMap((t) => [...t.from, t.to])))];
        const values = workflows.map((w) => ({
          id: `wf-${w.name.replace(/\W/g, '-').toLowerCase()}`,
          name: w.name,
          description: '',
          scope: { type: 'GLOBAL' },
          statuses: [...new Set(w.transitions.flatMap((t) => [...t.from, t.to]))].map((n) => ({
            statusReference: reference(n),
            deprecated: false,
          })),
          ...(expand.includes('values.transitions')
            ? {
                transitions: w.transitions.map((t) => {
                  const screen = this.#transitionScreens[t.name];
                  return {
                    id: t.id,
                    name: t.name,
                    description: '',
                    type: 'DIRECTED',
                    toStatusReference: reference(t.to),
                    links: t.from.map((n) => ({ fromStatusReference: reference(n) })),
                    ...(screen
                      ? {
                          transitionScreen: {
                            ruleKey: 'system:transition-screen',
                            parameters: { screenId: screen.id },
                          },
                        }
                      : {}),
                  };
                }),
              }
            : {}),
        }));
        const statuses = names.map((n) => {
          const status = statusJson(n);
          return {
            id: status?.id,
            name: status?.name ?? n,
            statusReference: reference(n),
            statusCategory: { new: 'TODO', indeterminate: 'IN_PROGRESS', done: 'DONE' }[
              (status?.statusCategory as { key?: string } | undefined)?.key ?? ''
            ],
          };
        });
        sendJson(res, 200, { ...page(values), maxResults: 50, statuses });
      });
    // Which screens an issue type uses: issue type screen scheme → screen scheme → create, edit, view.
    const typeSchemeId = '10000';
    const screenSchemeOf = (typeId: string) => `2${typeId}`;
    if (cloud)
      r.on('GET', `${v3}/issuetypescreenscheme/project`, ({ req, res, url }) => {
        authenticate({ req });
        if (!url.searchParams.getAll('projectId').includes(project.id)) return sendJson(res, 200, page([]));
        sendJson(
          res,
          200,
          page([
            {
              issueTypeScreenScheme: {
                id: typeSchemeId,
                name: 'CERT: Certificate Management Issue Type Screen Scheme',
              },
              projectIds: [project.id],
            },
          ]),
        );
      });
    if (cloud)
      r.on('GET', `${v3}/issuetypescreenscheme/mapping`, ({ req, res, url }) => {
        authenticate({ req });
        const wanted = url.searchParams.getAll('issueTypeScreenSchemeId');
        const mappings = ISSUE_TYPES.map((t) => ({
          issueTypeScreenSchemeId: typeSchemeId,
          issueTypeId: t.id,
          screenSchemeId: screenSchemeOf(t.id),
        }));
        sendJson(res, 200, page(wanted.length === 0 || wanted.includes(typeSchemeId) ? mappings : []));
      });
    if (cloud)
      r.on('GET', `${v3}/screenscheme`, ({ req, res, url }) => {
        authenticate({ req });
        const wanted = url.searchParams.getAll('id');
        const schemes = ISSUE_TYPES.map((t) => {
          const create = Number(this.#createScreens[t.id]?.id);
          const edit = Number(this.#editScreens[t.id]?.id);
          return {
            id: Number(screenSchemeOf(t.id)),
            name: `CERT: ${t.name} Screen Scheme`,
            screens: { default: edit, create, edit, view: edit },
          };
        }).filter((scheme) => wanted.length === 0 || wanted.includes(String(scheme.id)));
        sendJson(res, 200, page(schemes));
      });
    r.on('GET', `${v3}/screens/:id/tabs`, ({ req, res, params }) => {
      authenticate({ req });
      const screen = this.#screen(params.id);
      sendJson(res, 200, [{ id: Number(screen.id) * 10, name: 'Field Tab' }]);
    });
    r.on('GET', `${v3}/screens/:id/tabs/:tab/fields`, ({ req, res, params }) => {
      authenticate({ req });
      const screen = this.#screen(params.id);
      if (params.tab !== String(Number(screen.id) * 10)) {
        throw jiraError(404, 'The screen tab was not found.');
      }
      sendJson(
        res,
        200,
        screen.fields.filter((f) => f.id === 'summary' || this.field(f.id)).map((f) => ({ id: f.id, name: f.name })),
      );
    });
  }

  #schema(def: FieldDef): Json {
    return {
      type: CUSTOM_TYPES[def.type].schemaType,
      custom: `${TYPE_KEY}${def.type}`,
      customId: Number(def.id.split('_')[1]),
    };
  }

  #contextsOf(fieldId: string | undefined) {
    const def = this.field(fieldId ?? '');
    if (!def) throw jiraError(404, `The custom field was not found.`);
    let contexts = this.#contexts.get(def.id);
    if (!contexts) this.#contexts.set(def.id, (contexts = []));
    return contexts;
  }

  #context(fieldId: string | undefined, contextId: string | undefined) {
    const context = this.#contextsOf(fieldId).find((c) => c.id === contextId);
    if (!context) throw jiraError(404, 'The context was not found.');
    return context;
  }

  #screen(id: string | undefined): Screen {
    const screen = [
      ...Object.values(this.#createScreens),
      ...Object.values(this.#editScreens),
      ...Object.values(this.#transitionScreens),
    ].find((s) => s.id === id);
    if (!screen) throw jiraError(404, 'The screen was not found.');
    return screen;
  }
}
