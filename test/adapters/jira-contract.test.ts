/**
 * The Jira emulator held to Atlassian's own description of Jira Cloud: every answer the connector reads
 * is checked against jira.js's schemas, which are generated from Atlassian's current OpenAPI — through
 * the connector's client (jira.js reports each answer its schema does not describe), and, for the setup
 * check's administration endpoints, which it calls without jira.js, directly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  FieldDetailsSchema,
  PageIssueTypeScreenSchemeItemSchema,
  PageIssueTypeScreenSchemesProjectsSchema,
  PageOfCreateMetaIssueTypeWithFieldSchema,
  PageScreenSchemeSchema,
  PermissionsSchema,
  ScreenableFieldSchema,
  ScreenableTabSchema,
  WorkflowSearchResponseSchema,
} from 'jira.js/cloud';
import { z } from 'zod';
import { JiraClient } from '../../src/jira/client.ts';
import { JiraEmulator, SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { opensslCsr } from '../helpers/environment.ts';

describe('Jira emulator against Atlassian’s schemas', () => {
  let emulator: JiraEmulator;
  let jira: JiraClient;
  let alice: Requester;
  const mismatches: Array<{ endpoint: string; issues: unknown[] }> = [];
  const { connector } = SANDBOX_USERS;
  const authorization = `Basic ${Buffer.from(`${connector.emailAddress}:${connector.apiToken}`).toString('base64')}`;
  before(async () => {
    emulator = await JiraEmulator.start({ profileNames: ['OV Server Certificate'] });
    jira = await JiraClient.connect({
      baseUrl: emulator.url,
      auth: { kind: 'basic', user: connector.emailAddress, secret: connector.apiToken },
      onSchemaMismatch: (report) => void mismatches.push(report),
    });
    alice = new Requester(emulator.url, SANDBOX_USERS.alice);
  });
  after(async () => {
    await emulator?.stop();
  });

  it('answers every call of the connector’s client as the schemas describe', async () => {
    const key = await alice.createCertificateIssue({
      profile: 'OV Server Certificate',
      csr: opensslCsr('/CN=contract.example.com', 'ec-p256'),
    });
    await alice.transition(key, 'Enroll Certificate');
    await jira.myUserId();
    await jira.serverTime();
    await jira.getCertificateIssue(key);
    await jira.latestStatusChange(key);
    await jira.changelog(key);
    await jira.addCommentOnce(key, 'contract/1', 'Certificate requested.');
    await jira.commentEventIds(key);
    await jira.commentNear(key, connector.accountId, Date.now(), 60_000);
    await jira.attachOnce(key, 'contract.pem', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    const { attachments } = await jira.getCertificateIssue(key);
    await jira.downloadAttachment(attachments[0]?.id ?? '');
    await jira.updateIssue(key, { certificateId: '7', expiryDate: '2027-12-01' });
    await jira.isMemberOf(SANDBOX_USERS.alice.accountId, 'certificate-revokers');
    await jira.recentlyUpdated(5);
    await jira.moveTo(key, 'Certificate Revoked', [], jira.revocationFields('Superseded'));
    const revoke = await alice.createRevokeIssue({ profile: 'OV Server Certificate', certificateId: '7' });
    await jira.getRevokeIssue(revoke);
    assert.deepEqual(mismatches, [], JSON.stringify(mismatches, null, 2));
  });

  /** A raw GET as the setup check makes it, parsed with the schema jira.js has for the endpoint. */
  async function answers(path: string, schema: z.ZodType): Promise<void> {
    const res = await fetch(`${emulator.url}${path}`, { headers: { authorization, accept: 'application/json' } });
    assert.equal(res.status, 200, path);
    const parsed = schema.safeParse(await res.json());
    assert.ok(parsed.success, `${path}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues, null, 2)}`);
  }

  it('answers the setup check’s administration reads as the schemas describe', async () => {
    await answers('/rest/api/3/field', z.array(FieldDetailsSchema));
    await answers('/rest/api/3/mypermissions?projectKey=CERT&permissions=EDIT_ISSUES,USER_PICKER', PermissionsSchema);
    await answers(
      '/rest/api/3/workflows/search?queryString=Certificate&expand=values.transitions',
      WorkflowSearchResponseSchema,
    );
    await answers(
      '/rest/api/3/issuetypescreenscheme/project?projectId=10000',
      PageIssueTypeScreenSchemesProjectsSchema,
    );
    await answers(
      '/rest/api/3/issuetypescreenscheme/mapping?issueTypeScreenSchemeId=10000',
      PageIssueTypeScreenSchemeItemSchema,
    );
    await answers('/rest/api/3/screenscheme', PageScreenSchemeSchema);
    await answers('/rest/api/3/screens/10110/tabs', z.array(ScreenableTabSchema));
    await answers('/rest/api/3/screens/10110/tabs/101100/fields', z.array(ScreenableFieldSchema));
    await answers('/rest/api/3/issue/createmeta/CERT/issuetypes/10010', PageOfCreateMetaIssueTypeWithFieldSchema);
  });
});
