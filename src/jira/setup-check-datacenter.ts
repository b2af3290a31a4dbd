/**
 * The setup check's items that Jira Data Center's REST API answers otherwise than Cloud's: a select's
 * options (no field contexts: `/customFields/{id}/options`, which only lists them), and the edit screen
 * and the workflow's transitions: no Data Center resource says which screen an issue type edits with, and
 * `/workflow` lists workflows without their transitions, but an issue shows both — its `editmeta` and its
 * available transitions. So those are read from a sample issue of the project in each
 * status that matters; where there is none, the check says what it could not see.
 */
import {
  noTransition,
  optionsNoProfileHas,
  reasonOnRevokeScreen,
  type Api,
  type CheckItem,
  type FieldKey,
  type SetupCheckOptions,
} from './setup-check.ts';

/**
 * The release: Data Center 10.0 and later is what the connector is built and tested for (its webhook
 * resource, among others, is new in 10); Jira 9 reached its end of life on 2026-06-26.
 */
export async function checkDataCenterVersion(api: Api): Promise<CheckItem> {
  const info = (await api('GET', '/serverInfo')) as { version?: string; versionNumbers?: number[] };
  const major = info.versionNumbers?.[0] ?? Number.parseInt(info.version ?? '', 10);
  const item = 'Jira version';
  return major >= 10
    ? { item, verdict: 'ok', detail: `Jira Data Center ${info.version ?? major}` }
    : {
        item,
        verdict: 'warning',
        detail: `Jira ${info.version ?? '(no version given)'}: the connector supports Data Center 10.0 and later`,
        fix: 'upgrade to Jira Data Center 10.3 LTS or later (Jira 9 reached its end of life on 2026-06-26)',
      };
}

/** The options a select offers (Data Center); adding one is left to the administrator, in Jira. */
export async function checkOptionsWithoutContexts(
  api: Api,
  fieldName: string,
  fieldId: string,
  wanted: readonly string[],
  isProfile: boolean,
): Promise<CheckItem[]> {
  const answer = (await api('GET', `/customFields/${encodeURIComponent(fieldId)}/options?maxResults=1000`)) as {
    options?: Array<{ value?: string; disabled?: boolean }>;
  };
  const values = new Set((answer.options ?? []).filter((o) => !o.disabled).flatMap((o) => (o.value ? [o.value] : [])));
  const configure = `in Jira administration → Issues → Custom fields → "${fieldName}" → Configure → Edit options`;
  const items = wanted.map((value): CheckItem => {
    const item = `option "${value}" of "${fieldName}"`;
    return values.has(value)
      ? { item, verdict: 'ok', detail: isProfile ? 'matches a profile' : 'offered' }
      : {
          item,
          verdict: 'problem',
          detail: isProfile ? 'a profile has this name, but the select does not offer it' : 'not offered',
          fix: `add the option "${value}" ${configure} (Data Center's REST API cannot)`,
        };
  });
  if (isProfile) items.push(...optionsNoProfileHas(fieldName, values, wanted));
  return items;
}

/** An issue of the project of `issueType`, in `status` if given: the sample the next checks read. */
async function sampleIssue(api: Api, options: SetupCheckOptions, status?: string): Promise<string | undefined> {
  const { names } = options;
  const jql =
    `project = "${names.projectKey}" AND issuetype = "${names.certificateIssueType}"` +
    (status ? ` AND status = "${status}"` : '');
  const found = (await api('POST', '/search', { jql, fields: ['status'], maxResults: 1 })) as {
    issues?: Array<{ key?: string }>;
  };
  return found.issues?.[0]?.key;
}

/** The fields the connector writes must be on the edit screen: read from an issue's `editmeta`. */
export async function checkEditScreenThroughAnIssue(
  api: Api,
  options: SetupCheckOptions,
  fieldIds: Map<FieldKey, string>,
): Promise<CheckItem[]> {
  const { names } = options;
  const where = `the ${names.certificateIssueType} edit screen`;
  const key = await sampleIssue(api, options);
  if (!key) {
    return [
      {
        item: where,
        verdict: 'warning',
        detail: `not checked: Data Center shows a screen's fields only through an issue, and ${names.projectKey} has no ${names.certificateIssueType} issue yet`,
        fix: `make sure "${names.fields.certificateId}" and "${names.fields.expiryDate}" are on the edit screen, or run the check again once there is an issue`,
      },
    ];
  }
  const meta = (await api('GET', `/issue/${encodeURIComponent(key)}/editmeta`)) as { fields?: Record<string, unknown> };
  const editable = new Set(Object.keys(meta.fields ?? {}));
  const written: Array<[string, string | undefined]> = [
    ['Summary', 'summary'],
    [names.fields.certificateId, fieldIds.get('certificateId')],
    [names.fields.expiryDate, fieldIds.get('expiryDate')],
  ];
  return written.map(([name, id]): CheckItem => {
    const item = `"${name}" on ${where}`;
    return id && editable.has(id)
      ? { item, verdict: 'ok', detail: 'the connector can write it' }
      : {
          item,
          verdict: 'problem',
          detail: id ? 'not on the screen: Jira refuses to set it' : 'the field is missing (see above)',
          fix: `add "${name}" to the edit screen of "${names.certificateIssueType}" (the connector writes it when it publishes)`,
        };
  });
}

/**
 * The transitions the requesters run, and the reason on the revoke screen: read from the transitions an
 * issue in "request" and one in "enrolled" offer (`expand=transitions.fields`).
 */
export async function checkTransitionsThroughIssues(
  api: Api,
  options: SetupCheckOptions,
  fieldIds: Map<FieldKey, string>,
): Promise<CheckItem[]> {
  const { names } = options;
  const wanted: Array<[from: string, name: string, to: string, purpose: string]> = [
    [names.statuses.request, names.transitions.enroll, names.statuses.enrolled, 'requesters enroll with it'],
    [names.statuses.enrolled, names.transitions.renew, names.statuses.renewed, 'requesters renew with it'],
    [names.statuses.enrolled, names.transitions.revoke, names.statuses.revoked, 'requesters revoke with it'],
  ];
  const items: CheckItem[] = [];
  for (const [from, name, to, purpose] of wanted) {
    const item = `transition to "${to}" from "${from}"`;
    const key = await sampleIssue(api, options, from);
    if (!key) {
      items.push({
        item,
        verdict: 'warning',
        detail: `not checked: Data Center shows a workflow's transitions only through an issue, and none is in "${from}"`,
        fix: `make sure a transition "${name}" leads from "${from}" to "${to}" (${purpose})`,
      });
      continue;
    }
    const { transitions = [] } = (await api(
      'GET',
      `/issue/${encodeURIComponent(key)}/transitions?expand=transitions.fields`,
    )) as { transitions?: Array<{ name?: string; to?: { name?: string }; fields?: Record<string, unknown> }> };
    const found = transitions.find((t) => t.to?.name === to);
    if (!found) {
      items.push(noTransition(item, name, to, purpose));
      continue;
    }
    items.push({ item, verdict: 'ok', detail: `"${found.name ?? ''}"` });
    if (to !== names.statuses.revoked) continue;
    const reasonId = fieldIds.get('revocationReason');
    const onScreen = reasonId !== undefined && found.fields !== undefined && reasonId in found.fields;
    items.push(reasonOnRevokeScreen(names, found.name ?? '', onScreen ? 'ok' : 'not on it'));
  }
  return items;
}
