/**
 * `npm run cli -- jira-check` against the Jira emulator, in the dialect SANDBOX_JIRA names: the sandbox's own
 * setup passes; a deliberately broken one is reported item by item with how to fix it, and `--fix` repairs
 * the fields (and, on Cloud, the options: Data Center's REST API cannot add them).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { JiraEmulator, SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { registerWebhook, SANDBOX_PROFILES_FILE } from '../../src/sandbox/sandbox.ts';
import { sandboxJira } from '../helpers/environment.ts';
import { Profiles } from '../../src/profiles.ts';

const execFileAsync = promisify(execFile);

describe('jira-check', () => {
  let jira: JiraEmulator;
  const profileNames = Profiles.load(SANDBOX_PROFILES_FILE).all.map((p) => p.name);
  const receiverUrl = 'http://127.0.0.1:8782/webhooks/jira';

  const cloud = sandboxJira() === 'cloud';

  before(async () => {
    jira = await JiraEmulator.start({ profileNames, dialect: sandboxJira() });
    await registerWebhook(jira, receiverUrl, 'a secret');
    // Requests in "Certificate Request" and "Certificate Enrolled": on Data Center, the edit screen and the
    // transitions are seen only through issues.
    const alice = new Requester(jira.url, SANDBOX_USERS.alice);
    const csr = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----';
    await alice.createCertificateIssue({ profile: 'OV Server Certificate', csr });
    await alice.transition(
      await alice.createCertificateIssue({ profile: 'OV Server Certificate', csr }),
      'Enroll Certificate',
    );
  });
  after(async () => {
    await jira?.stop();
  });

  /** The CLI as an administrator runs it; answers its output and exit code. */
  async function check(...args: string[]): Promise<{ out: string; code: number }> {
    return checkWith({}, ...args);
  }
  async function checkWith(env: Record<string, string>, ...args: string[]): Promise<{ out: string; code: number }> {
    const { connector } = SANDBOX_USERS;
    try {
      const { stdout } = await execFileAsync(process.execPath, ['src/client/cli.ts', 'jira-check', ...args], {
        env: {
          ...process.env,
          ...env,
          JIRA_BASE_URL: jira.url,
          ...(cloud
            ? { JIRA_EMAIL: connector.emailAddress, JIRA_API_TOKEN: connector.apiToken }
            : { JIRA_BEARER_TOKEN: connector.apiToken }),
          PROFILES_FILE: SANDBOX_PROFILES_FILE,
        },
      });
      return { out: stdout, code: 0 };
    } catch (err) {
      const failed = err as { stdout: string; stderr: string; code: number };
      return { out: failed.stdout + failed.stderr, code: failed.code };
    }
  }
  const line = (out: string, verdict: string, item: string) =>
    out.split('\n').find((l) => l.startsWith(verdict) && l.includes(item));

  it("passes the sandbox's own setup, item by item", async () => {
    const { out, code } = await check('--receiver-url', receiverUrl);
    assert.equal(code, 0, out);
    for (const item of [
      'project CERT',
      'issue type "Certificate"',
      'issue type "Revoke Certificate"',
      'custom field "Certificate CSR text"',
      'option "OV Server Certificate" of "Certificate profile"',
      'option "Key compromise" of "Revocation reason"',
      'permission "Edit issues"',
      'permission "Transition issues"',
      'permission "Browse users and groups"',
      '"Certificate profile" on the Certificate create screen',
      '"Certificate expiry date" on the Certificate edit screen',
      '"Summary" on the Certificate edit screen',
      'status "Certificate Renewed" (Certificate)',
      'transition to "Certificate Revoked"',
      '"Revocation reason" on the "Revoke Certificate" screen',
      'webhook to the receiver',
      ...(cloud ? [] : ['Jira version']),
    ]) {
      assert.ok(line(out, 'ok', item), `${item} ok in:\n${out}`);
    }
    assert.match(out, /\d+ checks: \d+ ok, 0 fixed, 0 warnings, 0 problems$/m);
  });

  it(
    'warns of a Data Center release older than 10, which the connector does not support',
    { skip: cloud && 'Cloud has no releases to choose' },
    async () => {
      const supported = jira.version;
      jira.version = '9.12.4';
      try {
        const { out, code } = await check('--receiver-url', receiverUrl);
        assert.match(
          out,
          /WARNING {2}Jira version: Jira 9\.12\.4: the connector supports Data Center 10\.0 and later\n\s+fix: upgrade to Jira Data Center 10\.3 LTS or later/,
        );
        assert.equal(code, 0, 'a warning does not fail the check');
      } finally {
        jira.version = supported;
      }
    },
  );

  it('reports a permission the connector lacks, and "Browse users and groups" only where revokers are checked', async () => {
    const granted = jira.permissions.get(SANDBOX_USERS.connector.accountId);
    assert.ok(granted);
    granted.delete('USER_PICKER');
    granted.delete('CREATE_ATTACHMENTS');
    try {
      const plain = await check('--receiver-url', receiverUrl);
      assert.match(
        plain.out,
        /PROBLEM {2}permission "Create attachments": the connector's account lacks it \(needed to attach the certificate\)/,
      );
      assert.ok(line(plain.out, 'ok', 'permission "Browse users and groups": not needed'), plain.out);
      const grouped = await checkWith({ JIRA_REVOKERS_GROUP: 'certificate-revokers' }, '--receiver-url', receiverUrl);
      assert.ok(line(grouped.out, 'PROBLEM', 'permission "Browse users and groups"'), grouped.out);
      assert.equal(grouped.code, 1);
    } finally {
      granted.add('USER_PICKER');
      granted.add('CREATE_ATTACHMENTS');
    }
  });

  it('reports a broken setup item by item with the fix, and --fix repairs what it can', async () => {
    jira.site.change({ removeField: 'Certificate CSR text' });
    jira.site.change({ removeOption: { field: 'Certificate profile', value: 'OV Server Certificate' } });
    jira.site.change({ changeFieldType: { field: 'Certificate ID', type: 'datepicker' } });
    jira.site.change({ removeFromCreateScreen: { issueType: 'Certificate', field: 'Certificate profile' } });
    jira.site.change({ removeFromTransitionScreen: { transition: 'Revoke Certificate', field: 'Revocation reason' } });
    jira.site.change({ removeFromEditScreen: { issueType: 'Certificate', field: 'Certificate expiry date' } });
    jira.site.change({ renameStatus: { from: 'Certificate Renewed', to: 'Renewed' } });

    const broken = await check('--receiver-url', 'https://certs.example.com/webhooks/jira');
    assert.equal(broken.code, 1, 'problems make the check fail');
    const out = broken.out;
    const expected: Array<{ item: string; detail: RegExp }> = [
      {
        item: 'custom field "Certificate CSR text"',
        detail: /missing\n\s+fix: create a Paragraph \(multi-line text\) .* \(--fix does this\)/,
      },
      {
        item: 'option "OV Server Certificate" of "Certificate profile"',
        detail: /the select does not offer it\n\s+fix: add the option/,
      },
      { item: 'custom field "Certificate ID"', detail: /of type datepicker, not Short text/ },
      {
        item: '"Certificate profile" on the Certificate create screen',
        detail: /not on the screen\n\s+fix: add "Certificate profile"/,
      },
      { item: '"Certificate CSR text" on the Certificate create screen', detail: /the field is missing/ },
      {
        item: '"Certificate expiry date" on the Certificate edit screen',
        detail: /not on the screen: Jira refuses to set it\n\s+fix: add "Certificate expiry date" to the edit screen/,
      },
      { item: 'status "Certificate Renewed" (Certificate)', detail: /not in the issue type's workflow/ },
      { item: 'transition to "Certificate Renewed"', detail: /none.*\n\s+fix: add a transition "Renew Certificate"/ },
      { item: '"Revocation reason" on the "Revoke Certificate" screen', detail: /the screen does not show the field/ },
      {
        item: 'webhook to the receiver',
        detail: /none registered\n\s+fix: register an admin webhook to https:\/\/certs\.example\.com/,
      },
    ];
    for (const { item, detail } of expected) {
      const at = out.indexOf(`PROBLEM  ${item}`);
      assert.ok(at >= 0, `${item} reported in:\n${out}`);
      assert.match(out.slice(at), detail, item);
    }
    assert.ok(line(out, 'ok', 'custom field "Certificate profile"'), 'what is right stays ok');
    // The missing option is --fix's to add on Cloud; on Data Center only an administrator adds one, in Jira.
    assert.match(out, cloud ? /10 problems \(2 fixable with --fix\)$/m : /10 problems \(1 fixable with --fix\)$/m);

    const fixed = await check('--fix', '--receiver-url', receiverUrl);
    assert.ok(line(fixed.out, 'FIXED', 'custom field "Certificate CSR text": created (customfield_'), fixed.out);
    assert.equal(jira.site.field('Certificate CSR text')?.type, 'textarea');
    if (cloud) {
      assert.ok(line(fixed.out, 'FIXED', 'option "OV Server Certificate" of "Certificate profile": added'), fixed.out);
    } else {
      assert.match(fixed.out, /PROBLEM {2}option "OV Server Certificate".*\n\s+fix: add the option .*Edit options/);
      jira.site.change({ addOption: { field: 'Certificate profile', value: 'OV Server Certificate' } });
    }
    assert.ok(
      jira.site.optionValues(jira.site.field('Certificate profile')?.id ?? '')?.includes('OV Server Certificate'),
    );

    const after = await check('--receiver-url', receiverUrl);
    assert.ok(line(after.out, 'ok', 'custom field "Certificate CSR text"'), after.out);
    assert.ok(line(after.out, 'ok', 'option "OV Server Certificate" of "Certificate profile"'), after.out);
    // What only an administrator can change is still reported.
    assert.ok(line(after.out, 'PROBLEM', '"Revocation reason" on the "Revoke Certificate" screen'), after.out);
    assert.ok(line(after.out, 'PROBLEM', 'custom field "Certificate ID"'), after.out);
    assert.equal(after.code, 1);
  });
});
