/**
 * The Jira setup check (`npm run cli -- jira-check [--fix]`): reads a Jira site's configuration and says,
 * item by item, whether it is what the connector needs — the project, issue types, custom fields with
 * their types and select options (matching the profiles), create screens, statuses, the transitions and
 * the revoke screen, and the webhook — each with how to fix it. `--fix` creates the custom fields,
 * contexts and options it can; screens, workflows and webhooks stay with the Jira administrator.
 */
import { REVOCATION_REASONS } from '../contract/shared.ts';
import {
  checkDataCenterVersion,
  checkEditScreenThroughAnIssue,
  checkOptionsWithoutContexts,
  checkTransitionsThroughIssues,
} from './setup-check-datacenter.ts';
import type { Deployment, JiraAuth } from './client.ts';
import type { JiraNames } from '../contract/shared.ts';

export type Verdict = 'ok' | 'warning' | 'problem' | 'fixed';

export interface CheckItem {
  /** What was checked, e.g. `custom field "Certificate CSR text"`. */
  item: string;
  verdict: Verdict;
  detail: string;
  /** How to fix it (problems and warnings). */
  fix?: string;
  /** Whether `--fix` can repair it. */
  fixable?: boolean;
}

export interface SetupCheckOptions {
  baseUrl: string;
  auth: JiraAuth;
  names: JiraNames;
  /** The profiles' names: the "Certificate profile" select must offer each. */
  profileNames: readonly string[];
  /** The receiver's public URL; without it, any webhook to a path ending in /webhooks/jira counts. */
  receiverUrl?: string;
  /** JIRA_TRIGGER=polling: no webhook is needed. */
  polling?: boolean;
  /** Create the missing custom fields, contexts and options. */
  fix?: boolean;
  /** JIRA_REVOKERS_GROUP: reading a revoker's groups needs the "Browse users and groups" permission. */
  revokersGroup?: string;
  /** Cloud or Data Center; unset, the site's serverInfo says. */
  deployment?: Deployment;
}

/**
 * What the connector's account must be allowed to do, by Jira permission key (GET /mypermissions): read
 * issues, comment, attach, edit its fields, run transitions; and, to check a revoker's groups, see users'
 * groups, which is the global "Browse users and groups" (docs/compatibility.md, "permissions").
 */
const PERMISSIONS: Array<[key: string, name: string, purpose: string]> = [
  ['BROWSE_PROJECTS', 'Browse projects', 'read the requests'],
  ['ADD_COMMENTS', 'Add comments', 'tell requesters what happened'],
  ['CREATE_ATTACHMENTS', 'Create attachments', 'attach the certificate'],
  ['EDIT_ISSUES', 'Edit issues', 'write the Certificate ID and expiry date'],
  ['TRANSITION_ISSUES', 'Transition issues', 'move the issues'],
  ['USER_PICKER', 'Browse users and groups', 'check that a revoker is in JIRA_REVOKERS_GROUP'],
];

const TYPE_KEY = 'com.atlassian.jira.plugin.system.customfieldtypes:';
export type FieldKey = keyof JiraNames['fields'];
const FIELD_TYPES: Record<FieldKey, { type: string; searcher: string; shown: string }> = {
  profile: { type: 'select', searcher: 'multiselectsearcher', shown: 'Select List (single choice)' },
  csr: { type: 'textarea', searcher: 'textsearcher', shown: 'Paragraph (multi-line text)' },
  certificateId: { type: 'textfield', searcher: 'textsearcher', shown: 'Short text (plain text only)' },
  domain: { type: 'textfield', searcher: 'textsearcher', shown: 'Short text (plain text only)' },
  expiryDate: { type: 'datepicker', searcher: 'daterange', shown: 'Date Picker' },
  revocationReason: { type: 'select', searcher: 'multiselectsearcher', shown: 'Select List (single choice)' },
};

class JiraAdminError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

interface Field {
  id: string;
  name: string;
  custom?: boolean;
  schema?: { custom?: string };
}

export async function checkJiraSetup(options: SetupCheckOptions): Promise<CheckItem[]> {
  const { names } = options;
  const api = jiraApi(options, options.deployment ?? (await deploymentOf(options.baseUrl)));
  const dc = api.deployment === 'datacenter';
  const signIn = await checkSignIn(api);
  if (signIn.verdict === 'problem') return [signIn];
  const signedIn = dc ? [signIn, await checkDataCenterVersion(api)] : [signIn];
  const project = await checkProject(api, names.projectKey);
  if (!project.found) return [...signedIn, project.item];
  const types = new Map((project.found.issueTypes ?? []).map((t) => [t.name, t.id]));
  const fields = await checkFields(api, options);
  const statuses = await checkStatuses(api, names, types);
  const certificateType = types.get(names.certificateIssueType);
  return [
    ...signedIn,
    project.item,
    ...(await checkPermissions(api, options)),
    ...checkIssueTypes(names, types),
    ...fields.items,
    ...(await checkCreateScreens(api, names, types, fields.ids)),
    ...statuses.items,
    ...(dc
      ? await checkEditScreenThroughAnIssue(api, options, fields.ids)
      : await checkEditScreen(api, options, project.found.id, certificateType, fields.ids)),
    ...(dc
      ? await checkTransitionsThroughIssues(api, options, fields.ids)
      : await checkTransitions(api, options, project.found.id, certificateType, statuses.ids, fields.ids)),
    await checkWebhook(api, options),
  ];
}

/** The select's options no profile has: a warning each, since requests choosing one are refused. */
export function optionsNoProfileHas(fieldName: string, offered: Set<string>, wanted: readonly string[]): CheckItem[] {
  return [...offered]
    .filter((value) => !wanted.includes(value))
    .map((value) => ({
      item: `option "${value}" of "${fieldName}"`,
      verdict: 'warning',
      detail: 'no profile has this name: requests choosing it are refused',
      fix: 'disable the option, or add a profile of that name to the profiles file',
    }));
}

/** A transition the requesters need that the workflow lacks, as an item of the report. */
export function noTransition(item: string, name: string, to: string, purpose: string): CheckItem {
  return { item, verdict: 'problem', detail: 'none', fix: `add a transition "${name}" to "${to}" (${purpose})` };
}

/** Whether the revoke transition's screen asks for the reason, as an item of the report. */
export function reasonOnRevokeScreen(
  names: JiraNames,
  transition: string,
  seen: 'ok' | 'not on it' | 'no screen',
): CheckItem {
  const item = `"${names.fields.revocationReason}" on the "${transition}" screen`;
  if (seen === 'ok') return { item, verdict: 'ok', detail: 'asked for when revoking' };
  return {
    item,
    verdict: 'problem',
    detail: seen === 'no screen' ? 'the transition has no screen' : 'the screen does not show the field',
    fix: `give "${transition}" a screen with "${names.fields.revocationReason}" (required) so that revokers choose a reason`,
  };
}

/** Which Jira the site is: its serverInfo, which either deployment serves to anyone, says. */
async function deploymentOf(baseUrl: string): Promise<Deployment> {
  try {
    const res = await fetch(`${baseUrl.replace(/\/+$/, '')}/rest/api/2/serverInfo`, {
      signal: AbortSignal.timeout(30_000),
    });
    const info = (await res.json()) as { deploymentType?: string };
    return info.deploymentType === 'Cloud' ? 'cloud' : 'datacenter';
  } catch {
    return 'cloud'; // the sign-in check says what is wrong with the site
  }
}

async function checkSignIn(api: Api): Promise<CheckItem> {
  try {
    const me = (await api('GET', '/myself')) as { displayName?: string };
    return { item: 'credentials', verdict: 'ok', detail: `signed in as ${me.displayName ?? 'the connector'}` };
  } catch (err) {
    return {
      item: 'credentials',
      verdict: 'problem',
      detail: describe(err),
      fix:
        api.deployment === 'cloud'
          ? 'check JIRA_BASE_URL, and JIRA_EMAIL with JIRA_API_TOKEN (or JIRA_BEARER_TOKEN)'
          : 'check JIRA_BASE_URL, and JIRA_BEARER_TOKEN (a personal access token) or JIRA_USERNAME with JIRA_PASSWORD',
    };
  }
}

interface Project {
  id: string;
  issueTypes?: Array<{ id: string; name: string }>;
}

async function checkProject(api: Api, projectKey: string): Promise<{ item: CheckItem; found?: Project }> {
  const item = `project ${projectKey}`;
  try {
    const found = (await api('GET', `/project/${encodeURIComponent(projectKey)}`)) as Project;
    return { item: { item, verdict: 'ok', detail: 'found' }, found };
  } catch (err) {
    return {
      item: {
        item,
        verdict: 'problem',
        detail: describe(err),
        fix: `create the project "${projectKey}" (user guide §2), or set JIRA_PROJECT_KEY to the project's key`,
      },
    };
  }
}

function checkIssueTypes(names: JiraNames, types: Map<string, string>): CheckItem[] {
  return (
    [
      [names.certificateIssueType, 'certificate requests'],
      [names.revokeIssueType, 'revoking certificates not enrolled through Jira'],
    ] as const
  ).map(([name, purpose]) =>
    types.has(name)
      ? { item: `issue type "${name}"`, verdict: 'ok', detail: `in ${names.projectKey}` }
      : {
          item: `issue type "${name}"`,
          verdict: 'problem',
          detail: `not in the project's issue type scheme (needed for ${purpose})`,
          fix: `add the issue type "${name}" to ${names.projectKey}'s issue type scheme`,
        },
  );
}

/** The custom fields, their types, and the select fields' contexts and options; `--fix` creates what is missing. */
async function checkFields(
  api: Api,
  options: SetupCheckOptions,
): Promise<{ items: CheckItem[]; ids: Map<FieldKey, string> }> {
  const { names } = options;
  const items: CheckItem[] = [];
  const fields = (await api('GET', '/field')) as Field[];
  const ids = new Map<FieldKey, string>();
  for (const [key, name] of Object.entries(names.fields) as Array<[FieldKey, string]>) {
    const field = await checkField(api, fields, key, name, options.fix);
    items.push(field.item);
    if (field.id) ids.set(key, field.id);
  }
  for (const [key, wanted] of [
    ['profile', options.profileNames],
    ['revocationReason', Object.keys(REVOCATION_REASONS)],
  ] as const) {
    const id = ids.get(key);
    if (!id) continue;
    const isProfile = key === 'profile';
    items.push(
      ...(api.deployment === 'datacenter'
        ? await checkOptionsWithoutContexts(api, names.fields[key], id, wanted, isProfile)
        : await checkOptions(api, names.fields[key], id, wanted, isProfile, options.fix)),
    );
  }
  return { items, ids };
}

async function checkField(
  api: Api,
  fields: Field[],
  key: FieldKey,
  name: string,
  fix: boolean | undefined,
): Promise<{ item: CheckItem; id?: string }> {
  const want = FIELD_TYPES[key];
  const item = `custom field "${name}"`;
  const matches = fields.filter((f) => f.custom && f.name === name);
  if (matches.length > 1) {
    return {
      item: {
        item,
        verdict: 'problem',
        detail: `${matches.length} custom fields have this name (${matches.map((m) => m.id).join(', ')})`,
        fix: 'rename or delete all but one',
      },
    };
  }
  const found = matches[0];
  if (!found && fix) {
    const created = (await api('POST', '/field', {
      name,
      description: 'Used by the certificate lifecycle connector',
      type: TYPE_KEY + want.type,
      searcherKey: TYPE_KEY + want.searcher,
    })) as Field;
    return { item: { item, verdict: 'fixed', detail: `created (${created.id}, ${want.shown})` }, id: created.id };
  }
  if (!found) {
    const fixIt = `create a ${want.shown} custom field named "${name}"`;
    return { item: { item, verdict: 'problem', detail: 'missing', fix: fixIt, fixable: true } };
  }
  const type = found.schema?.custom?.replace(TYPE_KEY, '');
  if (type === want.type) return { item: { item, verdict: 'ok', detail: `${found.id}, ${want.shown}` }, id: found.id };
  return {
    item: {
      item,
      verdict: 'problem',
      detail: `${found.id} is of type ${type ?? found.schema?.custom ?? 'unknown'}, not ${want.shown}`,
      fix: `replace it with a ${want.shown} field of the same name (Jira cannot change a field's type)`,
    },
    id: found.id,
  };
}

/** Create screens: what a requester fills in when creating each issue type. */
async function checkCreateScreens(
  api: Api,
  names: JiraNames,
  types: Map<string, string>,
  fieldIds: Map<FieldKey, string>,
): Promise<CheckItem[]> {
  const items: CheckItem[] = [];
  const onCreate: Record<string, FieldKey[]> = {
    [names.certificateIssueType]: ['profile', 'csr'],
    [names.revokeIssueType]: ['profile', 'certificateId', 'domain'],
  };
  for (const [typeName, keys] of Object.entries(onCreate)) {
    const typeId = types.get(typeName);
    if (!typeId) continue;
    const meta = (await api(
      'GET',
      `/issue/createmeta/${encodeURIComponent(names.projectKey)}/issuetypes/${typeId}?maxResults=200`,
    )) as { fields?: Array<{ fieldId?: string; key?: string }>; values?: Array<{ fieldId?: string; key?: string }> };
    // Cloud answers the fields as `fields`; Data Center as `values` (sooperset/mcp-atlassian PR 958).
    const present = new Set((meta.fields ?? meta.values ?? []).map((f) => f.fieldId ?? f.key));
    for (const key of keys) {
      const id = fieldIds.get(key);
      const item = `"${names.fields[key]}" on the ${typeName} create screen`;
      items.push(
        id && present.has(id)
          ? { item, verdict: 'ok', detail: 'present' }
          : {
              item,
              verdict: 'problem',
              detail: id ? 'not on the screen' : 'the field is missing (see above)',
              fix: `add "${names.fields[key]}" to the create screen of the "${typeName}" issue type`,
            },
      );
    }
  }
  return items;
}

/** The statuses of each issue type's workflow; answers their ids by name for the transitions' check. */
async function checkStatuses(
  api: Api,
  names: JiraNames,
  types: Map<string, string>,
): Promise<{ items: CheckItem[]; ids: Map<string, string> }> {
  const statuses = (await api('GET', `/project/${encodeURIComponent(names.projectKey)}/statuses`)) as Array<{
    name: string;
    statuses?: Array<{ id: string; name: string }>;
  }>;
  const wantedStatuses: Record<string, string[]> = {
    [names.certificateIssueType]: Object.values(names.statuses),
    [names.revokeIssueType]: [names.statuses.revoked],
  };
  const items: CheckItem[] = [];
  const ids = new Map<string, string>();
  for (const [typeName, wanted] of Object.entries(wantedStatuses)) {
    const have = statuses.find((t) => t.name === typeName)?.statuses ?? [];
    for (const s of have) ids.set(s.name, s.id);
    for (const name of wanted) {
      const item = `status "${name}" (${typeName})`;
      items.push(
        have.some((s) => s.name === name)
          ? { item, verdict: 'ok', detail: 'in the workflow' }
          : {
              item,
              verdict: 'problem',
              detail: types.has(typeName) ? "not in the issue type's workflow" : 'the issue type is missing',
              fix: `add the status "${name}" to the workflow of "${typeName}" (names must match exactly)`,
            },
      );
    }
  }
  return { items, ids };
}

/**
 * A request to the site: `path` under its REST API's root (/rest/api/3 on Cloud, /rest/api/2 on Data Center,
 * which serves the same resources there), or absolute where it starts with /rest/.
 */
export type Api = ((method: string, path: string, body?: unknown) => Promise<unknown>) & { deployment: Deployment };

async function checkPermissions(api: Api, options: SetupCheckOptions): Promise<CheckItem[]> {
  const keys = PERMISSIONS.map(([key]) => key).join(',');
  const mine = (await api(
    'GET',
    `/mypermissions?projectKey=${encodeURIComponent(options.names.projectKey)}&permissions=${keys}`,
  )) as { permissions?: Record<string, { havePermission?: boolean }> };
  return PERMISSIONS.map(([key, name, purpose]): CheckItem => {
    const item = `permission "${name}"`;
    if (mine.permissions?.[key]?.havePermission) return { item, verdict: 'ok', detail: `to ${purpose}` };
    if (key === 'USER_PICKER' && !options.revokersGroup) {
      return { item, verdict: 'ok', detail: 'not needed: JIRA_REVOKERS_GROUP is not set' };
    }
    return {
      item,
      verdict: 'problem',
      detail: `the connector's account lacks it (needed to ${purpose})`,
      fix:
        key === 'USER_PICKER'
          ? `grant the global permission "${name}" to a group of the connector's account`
          : `grant "${name}" to the connector's account in ${options.names.projectKey}'s permission scheme`,
    };
  });
}

async function checkOptions(
  api: Api,
  fieldName: string,
  fieldId: string,
  wanted: readonly string[],
  isProfile: boolean,
  fix: boolean | undefined,
): Promise<CheckItem[]> {
  const items: CheckItem[] = [];
  const base = `/field/${encodeURIComponent(fieldId)}/context`;
  let contexts = ((await api('GET', base)) as { values?: Array<{ id: string }> }).values ?? [];
  if (contexts.length === 0) {
    if (!fix) {
      return [
        {
          item: `options of "${fieldName}"`,
          verdict: 'problem',
          detail: 'the field has no context, so it offers no options',
          fix: `add a context to "${fieldName}" with the options ${wanted.map((w) => `"${w}"`).join(', ')}`,
          fixable: true,
        },
      ];
    }
    const created = (await api('POST', base, { name: `${fieldName} options`, issueTypeIds: [], projectIds: [] })) as {
      id: string;
    };
    contexts = [created];
    items.push({ item: `context of "${fieldName}"`, verdict: 'fixed', detail: `created (${created.id})` });
  }
  const context = contexts[0]?.id ?? '';
  const optionsPath = `${base}/${encodeURIComponent(context)}/option`;
  const offered =
    ((await api('GET', optionsPath)) as { values?: Array<{ value: string; disabled?: boolean }> }).values ?? [];
  const values = new Set(offered.filter((o) => !o.disabled).map((o) => o.value));
  const missing = wanted.filter((w) => !values.has(w));
  for (const value of wanted) {
    const item = `option "${value}" of "${fieldName}"`;
    if (values.has(value)) {
      items.push({ item, verdict: 'ok', detail: isProfile ? 'matches a profile' : 'offered' });
    } else if (!fix) {
      items.push({
        item,
        verdict: 'problem',
        detail: isProfile ? 'a profile has this name, but the select does not offer it' : 'not offered',
        fix: `add the option "${value}" to "${fieldName}"`,
        fixable: true,
      });
    }
  }
  if (fix && missing.length > 0) {
    await api('POST', optionsPath, { options: missing.map((value) => ({ value, disabled: false })) });
    for (const value of missing)
      items.push({ item: `option "${value}" of "${fieldName}"`, verdict: 'fixed', detail: 'added' });
  }
  if (isProfile) items.push(...optionsNoProfileHas(fieldName, values, wanted));
  return items;
}

/**
 * The fields the connector writes when it publishes a certificate must be on the issue type's edit screen:
 * Jira refuses to set any other field (400, "It is not on the appropriate screen"). The edit screen is
 * found through the project's issue type screen scheme and the issue type's screen scheme.
 */
async function checkEditScreen(
  api: Api,
  options: SetupCheckOptions,
  projectId: string,
  certificateTypeId: string | undefined,
  fieldIds: Map<FieldKey, string>,
): Promise<CheckItem[]> {
  const { names } = options;
  if (!certificateTypeId) return [];
  const typeScheme = (await api(
    'GET',
    `/issuetypescreenscheme/project?projectId=${encodeURIComponent(projectId)}`,
  )) as { values?: Array<{ issueTypeScreenScheme?: { id?: string } }> };
  const typeSchemeId = typeScheme.values?.[0]?.issueTypeScreenScheme?.id;
  const mappings = typeSchemeId
    ? ((await api(
        'GET',
        `/issuetypescreenscheme/mapping?issueTypeScreenSchemeId=${encodeURIComponent(typeSchemeId)}`,
      )) as { values?: Array<{ issueTypeId?: string; screenSchemeId?: string }> })
    : { values: [] };
  const mapping =
    mappings.values?.find((m) => m.issueTypeId === certificateTypeId) ??
    mappings.values?.find((m) => m.issueTypeId === 'default');
  const schemes = mapping?.screenSchemeId
    ? ((await api('GET', `/screenscheme?id=${encodeURIComponent(mapping.screenSchemeId)}`)) as {
        values?: Array<{ screens?: { default?: number; edit?: number } }>;
      })
    : { values: [] };
  const screens = schemes.values?.[0]?.screens;
  const editScreen = screens?.edit ?? screens?.default;
  const where = `the ${names.certificateIssueType} edit screen`;
  if (editScreen === undefined) {
    return [
      {
        item: where,
        verdict: 'problem',
        detail: 'no screen scheme gives the issue type an edit screen',
        fix: `give "${names.certificateIssueType}" a screen scheme whose edit screen holds the connector's fields`,
      },
    ];
  }
  const written: Array<[string, string | undefined]> = [
    ['Summary', 'summary'],
    [names.fields.certificateId, fieldIds.get('certificateId')],
    [names.fields.expiryDate, fieldIds.get('expiryDate')],
  ];
  const items: CheckItem[] = [];
  for (const [name, id] of written) {
    const item = `"${name}" on ${where}`;
    items.push(
      id && (await screenHasField(api, String(editScreen), id))
        ? { item, verdict: 'ok', detail: 'the connector can write it' }
        : {
            item,
            verdict: 'problem',
            detail: id ? 'not on the screen: Jira refuses to set it' : 'the field is missing (see above)',
            fix: `add "${name}" to the edit screen of "${names.certificateIssueType}" (the connector writes it when it publishes)`,
          },
    );
  }
  return items;
}

async function checkTransitions(
  api: Api,
  options: SetupCheckOptions,
  projectId: string,
  certificateTypeId: string | undefined,
  statusIds: Map<string, string>,
  fieldIds: Map<FieldKey, string>,
): Promise<CheckItem[]> {
  const { names } = options;
  if (!certificateTypeId) return [];
  const schemes = (await api('GET', `/workflowscheme/project?projectId=${encodeURIComponent(projectId)}`)) as {
    values?: Array<{ workflowScheme?: { defaultWorkflow?: string; issueTypeMappings?: Record<string, string> } }>;
  };
  const scheme = schemes.values?.[0]?.workflowScheme;
  const workflowName = scheme?.issueTypeMappings?.[certificateTypeId] ?? scheme?.defaultWorkflow;
  if (!workflowName) {
    return [
      {
        item: `workflow of "${names.certificateIssueType}"`,
        verdict: 'problem',
        detail: 'no workflow scheme maps the issue type',
        fix: "give the project a workflow scheme with the user guide's workflow for the issue type",
      },
    ];
  }
  // GET /rest/api/3/workflow/search was removed on 2026-06-01 (CHANGE-2569); this is its replacement.
  const search = (await api(
    'GET',
    `/workflows/search?queryString=${encodeURIComponent(workflowName)}&expand=values.transitions`,
  )) as {
    values?: Array<{
      name?: string;
      transitions?: Array<{
        name: string;
        toStatusReference?: string;
        to?: { statusReference?: string };
        transitionScreen?: { parameters?: Record<string, unknown> };
      }>;
    }>;
    statuses?: Array<{ id?: string; statusReference?: string }>;
  };
  const workflow = search.values?.find((w) => w.name === workflowName);
  const statusOf = new Map((search.statuses ?? []).map((st) => [st.statusReference, st.id]));
  const transitions = (workflow?.transitions ?? []).map((t) => {
    const screenId = t.transitionScreen?.parameters?.screenId ?? t.transitionScreen?.parameters?.id;
    return {
      name: t.name,
      to: statusOf.get(t.toStatusReference ?? t.to?.statusReference),
      screen: typeof screenId === 'string' || typeof screenId === 'number' ? { id: String(screenId) } : undefined,
    };
  });
  const items: CheckItem[] = [];
  const wanted: Array<[string, string, string]> = [
    [names.transitions.enroll, names.statuses.enrolled, 'requesters enroll with it'],
    [names.transitions.renew, names.statuses.renewed, 'requesters renew with it'],
    [names.transitions.revoke, names.statuses.revoked, 'requesters revoke with it'],
  ];
  for (const [name, status, purpose] of wanted) {
    const item = `transition to "${status}" in workflow "${workflowName}"`;
    const to = statusIds.get(status);
    const found = transitions.find((t) => t.to === to);
    if (!found) {
      items.push(noTransition(item, name, status, purpose));
      continue;
    }
    items.push({ item, verdict: 'ok', detail: `"${found.name}"` });
    if (status !== names.statuses.revoked) continue;
    const reasonId = fieldIds.get('revocationReason');
    const onScreen = found.screen && reasonId ? await screenHasField(api, found.screen.id, reasonId) : false;
    items.push(reasonOnRevokeScreen(names, found.name, onScreen ? 'ok' : found.screen ? 'not on it' : 'no screen'));
  }
  return items;
}

async function screenHasField(api: Api, screenId: string, fieldId: string): Promise<boolean> {
  const tabs = (await api('GET', `/screens/${encodeURIComponent(screenId)}/tabs`)) as Array<{ id: number }>;
  for (const tab of tabs) {
    const fields = (await api('GET', `/screens/${encodeURIComponent(screenId)}/tabs/${tab.id}/fields`)) as Array<{
      id: string;
    }>;
    if (fields.some((f) => f.id === fieldId)) return true;
  }
  return false;
}

async function checkWebhook(api: Api, options: SetupCheckOptions): Promise<CheckItem> {
  const item = 'webhook to the receiver';
  if (options.polling) return { item, verdict: 'ok', detail: 'not needed: JIRA_TRIGGER=polling' };
  let hooks: Array<{ url: string; events?: string[]; enabled?: boolean; active?: boolean }>;
  try {
    // Cloud's admin webhooks, or Data Center's (10 and later).
    const path = api.deployment === 'cloud' ? '/rest/webhooks/1.0/webhook' : '/rest/jira-webhook/1.0/webhooks';
    hooks = (await api('GET', path)) as typeof hooks;
  } catch (err) {
    return {
      item,
      verdict: 'warning',
      detail: `could not list webhooks: ${describe(err)}`,
      fix: 'run the check as a Jira administrator to verify the webhook',
    };
  }
  const hook = hooks.find((h) =>
    options.receiverUrl ? h.url === options.receiverUrl : new URL(h.url).pathname.endsWith('/webhooks/jira'),
  );
  const register = `register an admin webhook to ${options.receiverUrl ?? 'https://<receiver>/webhooks/jira'} for "issue created" and "issue updated" in project ${options.names.projectKey}, with the secret in JIRA_WEBHOOK_SECRET — or use JIRA_TRIGGER=polling`;
  if (!hook) return { item, verdict: 'problem', detail: 'none registered', fix: register };
  const missing = ['jira:issue_created', 'jira:issue_updated'].filter((e) => !(hook.events ?? []).includes(e));
  const disabled = hook.enabled === false || hook.active === false;
  if (disabled || missing.length > 0) {
    return {
      item,
      verdict: 'problem',
      detail: disabled ? `${hook.url} is disabled` : `${hook.url} lacks ${missing.join(', ')}`,
      fix: register,
    };
  }
  return { item, verdict: 'ok', detail: hook.url };
}

function jiraApi(options: SetupCheckOptions, deployment: Deployment): Api {
  const base = options.baseUrl.replace(/\/+$/, '');
  const authorization =
    options.auth.kind === 'basic'
      ? `Basic ${Buffer.from(`${options.auth.user}:${options.auth.secret}`).toString('base64')}`
      : `Bearer ${options.auth.token}`;
  const root = deployment === 'cloud' ? '/rest/api/3' : '/rest/api/2';
  const api = async (method: string, path: string, body?: unknown) => {
    let res: Response;
    try {
      res = await fetch(`${base}${path.startsWith('/rest/') ? path : root + path}`, {
        method,
        headers: {
          authorization,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new JiraAdminError(`${method} ${path.split('?')[0] ?? path}: ${(err as Error).message}`, 0);
    }
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 200);
      try {
        const parsed = JSON.parse(text) as { errorMessages?: string[]; errors?: Record<string, string> };
        message = [...(parsed.errorMessages ?? []), ...Object.values(parsed.errors ?? {})].join('; ') || message;
      } catch {
        // not JSON: the text itself
      }
      throw new JiraAdminError(`HTTP ${res.status}: ${message || res.statusText}`, res.status);
    }
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };
  return Object.assign(api, { deployment });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The report as the CLI prints it; `problems` counts what is still wrong. */
export function formatReport(items: CheckItem[], siteUrl: string): { text: string; problems: number } {
  const mark: Record<Verdict, string> = { ok: 'ok     ', warning: 'WARNING', problem: 'PROBLEM', fixed: 'FIXED  ' };
  const lines = [`Jira setup check of ${siteUrl}`, ''];
  for (const i of items) {
    lines.push(`${mark[i.verdict]}  ${i.item}: ${i.detail}`);
    if (i.fix && i.verdict !== 'ok' && i.verdict !== 'fixed') {
      lines.push(`         fix: ${i.fix}${i.fixable ? ' (--fix does this)' : ''}`);
    }
  }
  const count = (v: Verdict) => items.filter((i) => i.verdict === v).length;
  const problems = count('problem');
  const fixable = items.filter((i) => i.verdict === 'problem' && i.fixable).length;
  lines.push(
    '',
    `${items.length} checks: ${count('ok')} ok, ${count('fixed')} fixed, ${count('warning')} warnings, ${problems} problems` +
      (fixable > 0 ? ` (${fixable} fixable with --fix)` : ''),
  );
  return { text: lines.join('\n'), problems };
}
