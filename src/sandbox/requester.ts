/**
 * What a Jira user does, scripted: create a "Certificate" issue with a CSR and run a transition. Used by
 * the sandbox's "try it" and by the tests.
 */
import { webcrypto } from 'node:crypto';
import { adfToText, codeBlockAdf, textToAdf } from '../jira/adf.ts';
import { wikiToText } from '../jira/wiki.ts';
import { DEFAULT_JIRA_NAMES } from '../contract/shared.ts';
import * as x509 from '../csr/x509.ts';
import { SANDBOX_FIELDS, type JiraUser } from './jira-emulator.ts';

const fieldId = (name: string) => SANDBOX_FIELDS.find((f) => f.name === name)?.id ?? name;

/**
 * A person at their Jira, scripted through its REST API as their browser would use it: Cloud (v3, rich text
 * as ADF, signed in with email and API token) or Data Center (v2, wiki markup, a personal access token) —
 * whichever the site's serverInfo says it is.
 */
export class Requester {
  readonly #url: string;
  readonly #user: JiraUser;
  #dialect: Promise<'cloud' | 'datacenter'> | undefined;

  constructor(jiraUrl: string, user: JiraUser) {
    this.#url = jiraUrl.replace(/\/+$/, '');
    this.#user = user;
  }

  #which(): Promise<'cloud' | 'datacenter'> {
    this.#dialect ??= fetch(`${this.#url}/rest/api/2/serverInfo`)
      .then((res) => res.json() as Promise<{ deploymentType?: string }>)
      .then((info) => (info.deploymentType === 'Cloud' ? 'cloud' : 'datacenter'));
    return this.#dialect;
  }

  /** Email and API token on Cloud, a personal access token on Data Center. */
  #authorization(cloud: boolean): string {
    const { emailAddress, apiToken } = this.#user;
    return cloud ? `Basic ${Buffer.from(`${emailAddress}:${apiToken}`).toString('base64')}` : `Bearer ${apiToken}`;
  }

  /** A request of the person's, to the site's REST API (`path` under /rest/api/3 or /rest/api/2). */
  async #send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const cloud = (await this.#which()) === 'cloud';
    const res = await fetch(`${this.#url}/rest/api/${cloud ? 3 : 2}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        authorization: this.#authorization(cloud),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Jira: ${method} ${path}: HTTP ${res.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** Plain text of a rich-text value the site returned (a document on Cloud, wiki markup on Data Center). */
  async #plain(value: unknown): Promise<string> {
    if ((await this.#which()) === 'datacenter') return typeof value === 'string' ? wikiToText(value) : '';
    return adfToText(value);
  }

  /** The issue as the person sees it: summary, status, certificate ID, attachments and comments as text. */
  async readIssue(issueKey: string): Promise<SeenIssue> {
    const { fields } = await this.#send<{ fields: IssueJson }>('GET', `/issue/${encodeURIComponent(issueKey)}`);
    const certificateId = fields[fieldId(DEFAULT_JIRA_NAMES.fields.certificateId)];
    return {
      summary: fields.summary,
      status: fields.status.name,
      certificateId: typeof certificateId === 'string' ? certificateId : null,
      attachments: fields.attachment.map(({ id, filename, content }) => ({ id, filename, content })),
      comments: await Promise.all(fields.comment.comments.map((c) => this.#plain(c.body))),
    };
  }

  /** The bytes of an attachment, from the link the issue gives for it. */
  async download(attachment: SeenIssue['attachments'][number]): Promise<Buffer> {
    const cloud = (await this.#which()) === 'cloud';
    const res = await fetch(attachment.content, { headers: { authorization: this.#authorization(cloud) } });
    if (!res.ok) throw new Error(`Jira: downloading ${attachment.filename}: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** Rich text as the site takes it: a document on Cloud (`code` a code block), wiki markup on Data Center. */
  async #rich(text: string, code = false): Promise<unknown> {
    if ((await this.#which()) === 'datacenter') return code ? `{noformat}\n${text}\n{noformat}` : text;
    return code ? codeBlockAdf(text) : textToAdf(text);
  }

  /** Creates a "Certificate" issue; returns its key. */
  async createCertificateIssue(request: { summary?: string; profile: string; csr: string }): Promise<string> {
    const names = DEFAULT_JIRA_NAMES;
    const created = await this.#send<{ key?: string }>('POST', '/issue', {
      fields: {
        project: { key: names.projectKey },
        issuetype: { name: names.certificateIssueType },
        summary: request.summary ?? 'Certificate request',
        [fieldId(names.fields.profile)]: { value: request.profile },
        [fieldId(names.fields.csr)]: await this.#rich(request.csr.trim(), true),
      },
    });
    if (!created.key) throw new Error('Jira returned no issue key');
    return created.key;
  }

  /** Creates a "Revoke Certificate" issue for a certificate not enrolled through Jira; returns its key. */
  async createRevokeIssue(request: {
    profile: string;
    certificateId?: string;
    domain?: string;
    reason?: string;
  }): Promise<string> {
    const names = DEFAULT_JIRA_NAMES;
    const created = await this.#send<{ key?: string }>('POST', '/issue', {
      fields: {
        project: { key: names.projectKey },
        issuetype: { name: names.revokeIssueType },
        summary: 'revoke SSL certificate',
        [fieldId(names.fields.profile)]: { value: request.profile },
        ...(request.certificateId ? { [fieldId(names.fields.certificateId)]: request.certificateId } : {}),
        ...(request.domain ? { [fieldId(names.fields.domain)]: request.domain } : {}),
        ...(request.reason ? { [fieldId(names.fields.revocationReason)]: { value: request.reason } } : {}),
      },
    });
    if (!created.key) throw new Error('Jira returned no issue key');
    return created.key;
  }

  /** Edits plain fields of an issue, by field name, as a person in the issue view would. */
  async setFields(issueKey: string, values: Record<string, string>): Promise<void> {
    await this.#edit(
      issueKey,
      Object.fromEntries(Object.entries(values).map(([name, value]) => [fieldId(name), value])),
    );
  }

  /** Pastes a new CSR into the issue, as a requester rotating the key would. */
  async setCsr(issueKey: string, csr: string): Promise<void> {
    await this.#edit(issueKey, { [fieldId(DEFAULT_JIRA_NAMES.fields.csr)]: await this.#rich(csr.trim(), true) });
  }

  /** Chooses another profile in the issue's select. */
  async setProfile(issueKey: string, profile: string): Promise<void> {
    await this.#edit(issueKey, { [fieldId(DEFAULT_JIRA_NAMES.fields.profile)]: { value: profile } });
  }

  #edit(issueKey: string, fields: Record<string, unknown>): Promise<void> {
    return this.#send('PUT', `/issue/${encodeURIComponent(issueKey)}`, { fields });
  }

  /** Runs "Revoke Certificate", filling its dialog: the reason (as the select shows it) and a comment. */
  async revoke(issueKey: string, reason: string | undefined, comment?: string): Promise<void> {
    const id = await this.#transitionId(issueKey, 'Revoke Certificate');
    await this.#send('POST', `/issue/${encodeURIComponent(issueKey)}/transitions`, {
      transition: { id },
      ...(reason ? { fields: { [fieldId(DEFAULT_JIRA_NAMES.fields.revocationReason)]: { value: reason } } } : {}),
      ...(comment ? { update: { comment: [{ add: { body: await this.#rich(comment) } }] } } : {}),
    });
  }

  /** Runs the transition named `name`, as a click on its button would. */
  async transition(issueKey: string, name: string): Promise<void> {
    const id = await this.#transitionId(issueKey, name);
    await this.#send('POST', `/issue/${encodeURIComponent(issueKey)}/transitions`, { transition: { id } });
  }

  async #transitionId(issueKey: string, name: string): Promise<string> {
    const { transitions = [] } = await this.#send<{ transitions?: Array<{ id?: string; name?: string }> }>(
      'GET',
      `/issue/${encodeURIComponent(issueKey)}/transitions`,
    );
    const found = transitions.find((t) => t.name === name);
    if (!found?.id) throw new Error(`${issueKey} has no transition "${name}" now`);
    return found.id;
  }
}

interface IssueJson {
  summary: string;
  status: { name: string };
  attachment: Array<{ id: string; filename: string; content: string }>;
  comment: { comments: Array<{ body: unknown }> };
  [field: string]: unknown;
}

/** An issue as a person sees it in Jira. */
export interface SeenIssue {
  summary: string;
  status: string;
  certificateId: string | null;
  attachments: Array<{ id: string; filename: string; content: string }>;
  comments: string[];
}

/** A fresh key pair and CSR for `domain` (the key stays with the caller, as it would with a requester). */
export async function generateCsr(
  domain: string,
  kind: 'rsa' | 'ec' = 'ec',
): Promise<{ csr: string; privateKeyPem: string }> {
  const algorithm =
    kind === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
      : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${domain}`,
    keys,
    signingAlgorithm: algorithm,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: domain }])],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { csr: csr.toString('pem'), privateKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}
