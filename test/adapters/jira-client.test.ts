/**
 * The Jira client against the Jira emulator over real HTTP: every call the connector makes, in the dialect
 * the emulator speaks (SANDBOX_JIRA: Cloud by default, or Data Center).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JiraClient, JiraError } from '../../src/jira/client.ts';
import { DEFAULT_JIRA_NAMES } from '../../src/contract/shared.ts';
import { JiraEmulator, SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { rejectionOf, sandboxJira } from '../helpers/environment.ts';

interface IssueView {
  fields: {
    summary: string;
    status: { name: string };
    customfield_10052: string | null;
    customfield_10053: string | null;
    customfield_10054: string | null;
    attachment: Array<{ id: string; filename: string }>;
  };
}

describe('Jira client', () => {
  let emulator: JiraEmulator;
  let jira: JiraClient;
  let alice: Requester;
  const { connector } = SANDBOX_USERS;
  const cloud = sandboxJira() === 'cloud';
  /** The connector's credentials as the site takes them (`token` instead of its own). */
  const auth = (token = connector.apiToken) =>
    cloud
      ? { kind: 'basic' as const, user: connector.emailAddress, secret: token }
      : { kind: 'bearer' as const, token };
  before(async () => {
    emulator = await JiraEmulator.start({ profileNames: ['OV Server Certificate'], dialect: sandboxJira() });
    jira = await JiraClient.connect({ baseUrl: emulator.url, auth: auth() });
    alice = new Requester(emulator.url, SANDBOX_USERS.alice);
  });
  after(async () => {
    await emulator?.stop();
  });

  const view = (key: string) => emulator.issue(key) as unknown as IssueView;
  const newIssue = () =>
    alice.createCertificateIssue({
      profile: 'OV Server Certificate',
      csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----',
    });
  const rejection = (promise: Promise<unknown>) => rejectionOf(promise, JiraError);

  it('discovers custom field ids by name, and names every field it cannot find', async () => {
    assert.equal(jira.fieldId('csr'), 'customfield_10051');
    assert.equal(jira.fieldId('certificateId'), 'customfield_10052');
    const names = {
      ...DEFAULT_JIRA_NAMES,
      fields: { ...DEFAULT_JIRA_NAMES.fields, csr: 'CSR', domain: 'Domain name' },
    };
    const err = await rejection(JiraClient.connect({ baseUrl: emulator.url, auth: auth(), names }));
    assert.match(err.message, /no custom field named "CSR"; no custom field named "Domain name"/);
  });

  it('reads the request: profile, the CSR out of its rich-text field, reporter, status', async () => {
    const key = await newIssue();
    const issue = await jira.getCertificateIssue(key);
    assert.equal(jira.deployment, sandboxJira(), 'the dialect the site says it speaks');
    assert.equal(issue.issueType, 'Certificate');
    assert.equal(issue.status, 'Certificate Request');
    assert.equal(issue.profileName, 'OV Server Certificate');
    // A code block on Cloud; on Data Center, the text as pasted, {noformat} and all (the CSR check takes the PEM).
    assert.ok(issue.csr.includes('-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----'));
    assert.equal(issue.reporterId, emulator.userId(SANDBOX_USERS.alice));
    assert.equal(await jira.myUserId(), emulator.userId(connector));
  });

  it('comments once per event id', async () => {
    const key = await newIssue();
    assert.equal(await jira.addCommentOnce(key, 'event-1', 'First line\nsecond line\n\nNew paragraph'), true);
    assert.equal(await jira.addCommentOnce(key, 'event-1', 'First line again'), false);
    assert.equal(await jira.addCommentOnce(key, 'event-2', 'Another event'), true);
    // A paragraph break is a new paragraph in ADF, and kept as it is in wiki markup.
    const first = cloud ? 'First line\nsecond line\nNew paragraph' : 'First line\nsecond line\n\nNew paragraph';
    assert.deepEqual(emulator.commentTexts(key), [first, 'Another event']);
  });

  it('cuts a comment Jira would refuse as too long, instead of failing', async () => {
    const key = await newIssue();
    assert.equal(await jira.addCommentOnce(key, 'long', `Renewal failed: ${'a very long reason '.repeat(3000)}`), true);
    const [text] = emulator.commentTexts(key);
    assert.ok(text?.startsWith('Renewal failed: a very long reason'));
    assert.ok(text?.endsWith('(cut short)'));
  });

  it('refuses an issue key that is not one before it reaches a URL', async () => {
    await assert.rejects(jira.getCertificateIssue('CERT-1/../../myself'), /not a Jira issue key/);
    await assert.rejects(jira.addCommentOnce('../x', 'e', 't'), /not a Jira issue key/);
  });

  it('attaches a file once per name and downloads it back', async () => {
    const key = await newIssue();
    const pem = '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n';
    assert.equal(await jira.attachOnce(key, 'www.example.com_1000.pem', pem), true);
    assert.equal(await jira.attachOnce(key, 'www.example.com_1000.pem', pem), false);
    const attachments = view(key).fields.attachment;
    assert.deepEqual(
      attachments.map((a) => a.filename),
      ['www.example.com_1000.pem'],
    );
    assert.equal((await jira.downloadAttachment(attachments[0]?.id ?? '')).toString(), pem);
  });

  it('updates the summary and fields, and reports a field Jira refuses', async () => {
    const key = await newIssue();
    await jira.updateIssue(key, {
      summary: 'Certificate enrolled:www.example.com',
      certificateId: '1234',
      domain: 'www.example.com',
      expiryDate: '2027-11-28',
    });
    const fields = view(key).fields;
    assert.deepEqual(
      [fields.summary, fields.customfield_10052, fields.customfield_10053, fields.customfield_10054],
      ['Certificate enrolled:www.example.com', '1234', 'www.example.com', '2027-11-28'],
    );
    const bad = await rejection(jira.updateIssue(key, { expiryDate: 'next year' }));
    assert.deepEqual([bad.status, bad.retryable], [400, false]);
    assert.match(bad.message, /customfield_10054: Date must be yyyy-MM-dd/);
  });

  it('edits without notifyUsers=false, which Jira refuses to anyone but an administrator', async () => {
    const key = await newIssue();
    const quiet = await fetch(`${emulator.url}${emulator.api}/issue/${key}?notifyUsers=false`, {
      method: 'PUT',
      headers: { authorization: emulator.authorization(connector), 'content-type': 'application/json' },
      body: JSON.stringify({ fields: { summary: 'quiet' } }),
    });
    assert.equal(quiet.status, 403);
    assert.match(await quiet.text(), /admin or project admin permissions are required/);
    await jira.updateIssue(key, { summary: 'Certificate enrolled:loud.example.com' });
    assert.equal(view(key).fields.summary, 'Certificate enrolled:loud.example.com');
  });

  it("reports a field that is not on the issue type's edit screen as Jira does", async () => {
    const key = await newIssue();
    emulator.site.change({ removeFromEditScreen: { issueType: 'Certificate', field: 'Certificate ID' } });
    const bad = await rejection(jira.updateIssue(key, { certificateId: '99' }));
    assert.deepEqual([bad.status, bad.retryable], [400, false]);
    assert.match(bad.message, /Field 'customfield_10052' cannot be set\. It is not on the appropriate screen/);
  });

  it('moves an issue by target status, once, and says when no transition leads there', async () => {
    const key = await newIssue();
    assert.equal(await jira.moveTo(key, 'Certificate Enrolled'), true);
    assert.equal(await jira.moveTo(key, 'Certificate Enrolled'), false);
    assert.equal(view(key).fields.status.name, 'Certificate Enrolled');
    assert.equal(await jira.moveTo(key, 'Certificate Request'), true);
    const err = await rejection(jira.moveTo(key, 'Certificate Renewed'));
    assert.match(err.message, /cannot move from "Certificate Request" to "Certificate Renewed".*"Enroll Certificate"/);
  });

  it('reports unknown issues, bad credentials and rate limits as typed errors', async () => {
    const missing = await rejection(jira.getCertificateIssue('CERT-99999'));
    assert.deepEqual([missing.status, missing.retryable], [404, false]);
    assert.match(missing.message, /Issue does not exist/);

    const impostor = await rejection(JiraClient.connect({ baseUrl: emulator.url, auth: auth('stolen-token-x') }));
    assert.deepEqual([impostor.status, impostor.retryable], [401, false]);
    assert.doesNotMatch(impostor.message, /stolen-token-x/);

    const key = await newIssue();
    Object.assign(emulator.faults, { rateLimitRate: 1, retryAfterSeconds: 4 });
    try {
      const limited = await rejection(jira.getCertificateIssue(key));
      assert.deepEqual([limited.status, limited.retryable, limited.retryAfterMs], [429, true, 4000]);
    } finally {
      emulator.faults.rateLimitRate = 0;
    }
  });

  it('signs in on Data Center with a username and password as well as a personal access token', async (t) => {
    if (cloud) return t.skip('Data Center only: Cloud signs in with an email address');
    // A username is no email address: jira.js's basic strategy would refuse it before any request.
    const basic = { kind: 'basic' as const, user: connector.name, secret: connector.apiToken };
    const signedIn = await JiraClient.connect({ baseUrl: emulator.url, auth: basic });
    assert.equal(await signedIn.myUserId(), connector.key);
    const wrong = await rejection(
      JiraClient.connect({ baseUrl: emulator.url, auth: { ...basic, secret: 'not-the-password' } }),
    );
    assert.deepEqual([wrong.status, wrong.retryable], [401, false]);
  });

  it('answers the legacy search with 410 and attachment content with a redirect by default (Cloud)', async (t) => {
    if (!cloud) return t.skip('Cloud only: Data Center keeps /search and serves attachments at their content URL');
    const auth = emulator.authorization(connector);
    const search = await fetch(`${emulator.url}/rest/api/3/search?jql=project%3DCERT`, {
      headers: { authorization: auth },
    });
    assert.equal(search.status, 410);
    const key = await newIssue();
    await jira.attachOnce(key, 'a.pem', 'x');
    const id = view(key).fields.attachment[0]?.id ?? '';
    const redirect = await fetch(`${emulator.url}/rest/api/3/attachment/content/${id}`, {
      headers: { authorization: auth },
      redirect: 'manual',
    });
    assert.equal(redirect.status, 303);
    const upload = await fetch(`${emulator.url}/rest/api/3/issue/${key}/attachments`, {
      method: 'POST',
      headers: { authorization: auth },
      body: new FormData(),
    });
    assert.equal(upload.status, 403, 'uploads without X-Atlassian-Token are refused');
  });

  it('searches, reads changelogs and groups, and downloads attachments the Data Center way (Data Center)', async (t) => {
    if (cloud) return t.skip('Data Center only: Cloud has /search/jql, /changelog and /user/groups');
    const key = await newIssue();
    await alice.transition(key, 'Enroll Certificate');
    assert.ok((await jira.recentlyUpdated(10)).some((issue) => issue.key === key));
    assert.equal((await jira.latestStatusChange(key))?.toStatus, 'Certificate Enrolled');
    assert.equal((await jira.changelog(key)).at(-1)?.author.id, emulator.userId(SANDBOX_USERS.alice));
    assert.equal(await jira.isMemberOf(emulator.userId(SANDBOX_USERS.alice), 'certificate-revokers'), true);
    assert.equal(await jira.isMemberOf(emulator.userId(SANDBOX_USERS.bob), 'certificate-revokers'), false);
    const v3 = await fetch(`${emulator.url}/rest/api/3/myself`, {
      headers: { authorization: emulator.authorization(connector) },
    });
    assert.equal(v3.status, 404, 'no REST v3 on Data Center');
  });
});
