/**
 * What a Jira user does, scripted: create a "Certificate" issue with a CSR and run a transition. Used by
 * the sandbox's "try it" and by the tests, through the same REST API a person's browser uses.
 */
import { webcrypto } from 'node:crypto';
import { createCloudClient } from 'jira.js';
import { codeBlockAdf, textToAdf } from '../jira/adf.ts';
import { DEFAULT_JIRA_NAMES } from '../contract/shared.ts';
import * as x509 from '../csr/x509.ts';
import { SANDBOX_FIELDS, type JiraUser } from './jira-emulator.ts';

const fieldId = (name: string) => SANDBOX_FIELDS.find((f) => f.name === name)?.id ?? name;

export class Requester {
  readonly #jira: ReturnType<typeof createCloudClient>;
  constructor(jiraUrl: string, user: JiraUser) {
    this.#jira = createCloudClient({
      host: jiraUrl,
      auth: { type: 'basic', email: user.emailAddress, apiToken: user.apiToken },
      onSchemaMismatch: 'silent',
    });
  }

  /** Creates a "Certificate" issue; returns its key. */
  async createCertificateIssue(request: { summary?: string; profile: string; csr: string }): Promise<string> {
    const names = DEFAULT_JIRA_NAMES;
    const created = await this.#jira.issues.createIssue({
      fields: {
        project: { key: names.projectKey },
        issuetype: { name: names.certificateIssueType },
        summary: request.summary ?? 'Certificate request',
        [fieldId(names.fields.profile)]: { value: request.profile },
        [fieldId(names.fields.csr)]: codeBlockAdf(request.csr.trim()),
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
    const created = await this.#jira.issues.createIssue({
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
    await this.#jira.issues.editIssue({
      issueIdOrKey: issueKey,
      fields: Object.fromEntries(Object.entries(values).map(([name, value]) => [fieldId(name), value])),
    });
  }

  /** Pastes a new CSR into the issue, as a requester rotating the key would. */
  async setCsr(issueKey: string, csr: string): Promise<void> {
    await this.#jira.issues.editIssue({
      issueIdOrKey: issueKey,
      fields: { [fieldId(DEFAULT_JIRA_NAMES.fields.csr)]: codeBlockAdf(csr.trim()) },
    });
  }

  /** Chooses another profile in the issue's select. */
  async setProfile(issueKey: string, profile: string): Promise<void> {
    await this.#jira.issues.editIssue({
      issueIdOrKey: issueKey,
      fields: { [fieldId(DEFAULT_JIRA_NAMES.fields.profile)]: { value: profile } },
    });
  }

  /** Runs "Revoke Certificate", filling its dialog: the reason (as the select shows it) and a comment. */
  async revoke(issueKey: string, reason: string | undefined, comment?: string): Promise<void> {
    const { transitions = [] } = await this.#jira.issues.getTransitions({ issueIdOrKey: issueKey });
    const transition = transitions.find((t) => t.name === 'Revoke Certificate');
    if (!transition?.id) throw new Error(`${issueKey} has no transition "Revoke Certificate" now`);
    await this.#jira.issues.doTransition({
      issueIdOrKey: issueKey,
      transition: { id: transition.id },
      ...(reason ? { fields: { [fieldId(DEFAULT_JIRA_NAMES.fields.revocationReason)]: { value: reason } } } : {}),
      ...(comment ? { update: { comment: [{ add: { body: textToAdf(comment) } }] } } : {}),
    });
  }

  /** Runs the transition named `name`, as a click on its button would. */
  async transition(issueKey: string, name: string): Promise<void> {
    const { transitions = [] } = await this.#jira.issues.getTransitions({ issueIdOrKey: issueKey });
    const transition = transitions.find((t) => t.name === name);
    if (!transition?.id) throw new Error(`${issueKey} has no transition "${name}" now`);
    await this.#jira.issues.doTransition({ issueIdOrKey: issueKey, transition: { id: transition.id } });
  }
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
