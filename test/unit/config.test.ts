/** Configuration and profiles: validated up front, every problem reported at once. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { accountSettings } from '../../src/accounts.ts';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { LocalCa } from '../../src/sandbox/ca.ts';
import { clientCertificateProblem } from '../../src/sectigo/client-certificate.ts';
import { orderComments, PROFILE_COMMENTS_MAX, ProfileError, Profiles } from '../../src/profiles.ts';

/** One valid profile, as the profiles file writes it. */
const valid = `
profiles:
  - id: ov
    name: OV Server Certificate
    certType: 1001
    term: 365
    orgId: 1
    expiryWindow: { days: 30 }
    allowedDomains: [example.com, '*.example.com']
`;

describe('configuration', () => {
  it('runs the sandbox when nothing is configured', () => {
    const config = loadConfig({});
    assert.equal(config.jira, undefined);
    assert.equal(config.sectigo, undefined);
    assert.equal(config.temporal.target.address, undefined);
    assert.deepEqual(
      [
        config.temporal.port,
        config.temporal.uiPort,
        config.sandbox.jiraPort,
        config.sandbox.scmPort,
        config.receiver.port,
      ],
      [7233, 8233, 8780, 8781, 8782],
    );
  });

  it('reads a secret from the file <NAME>_FILE names, and refuses it given both ways or unreadable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrets-'));
    writeFileSync(join(dir, 'token'), 'from-a-file\n');
    const env: Record<string, string | undefined> = {
      JIRA_BASE_URL: 'https://example.atlassian.net',
      JIRA_EMAIL: 'bot@example.com',
      JIRA_API_TOKEN_FILE: join(dir, 'token'),
      JIRA_WEBHOOK_SECRET_FILE: join(dir, 'token'),
    };
    const config = loadConfig(env);
    assert.deepEqual(config.jira?.auth, { kind: 'basic', user: 'bot@example.com', secret: 'from-a-file' });
    assert.equal(config.receiver.webhookSecret, 'from-a-file');
    assert.equal(env.JIRA_API_TOKEN, 'from-a-file', 'set for every reader of the environment');
    assert.throws(
      () => loadConfig({ SECTIGO_PASSWORD: 'x', SECTIGO_PASSWORD_FILE: join(dir, 'token') }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.includes('SECTIGO_PASSWORD and SECTIGO_PASSWORD_FILE are both set: keep one'),
    );
    assert.throws(
      () => loadConfig({ TEMPORAL_API_KEY_FILE: join(dir, 'missing') }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.includes(`TEMPORAL_API_KEY_FILE: cannot read ${join(dir, 'missing')} (ENOENT)`),
    );
  });

  it('does not ask the worker for the webhook secret, which only the receiver uses', () => {
    const jira = { JIRA_BASE_URL: 'https://example.atlassian.net', JIRA_EMAIL: 'bot@example.com', JIRA_API_TOKEN: 't' };
    assert.equal(loadConfig(jira, { forReceiving: false }).receiver.webhookSecret, undefined);
    assert.throws(() => loadConfig(jira), /JIRA_WEBHOOK_SECRET is required/);
  });

  it('serves metrics and health on loopback unless told otherwise: they name issue keys and domains', () => {
    assert.equal(loadConfig({}).metrics.host, '127.0.0.1');
    assert.equal(loadConfig({ METRICS_HOST: '0.0.0.0' }).metrics.host, '0.0.0.0');
  });

  it('restricts revocation unless told JIRA_REVOKERS=anyone, and refuses other values', () => {
    assert.deepEqual(loadConfig({}).receiver.revokers, { group: undefined, anyone: false });
    assert.deepEqual(loadConfig({ JIRA_REVOKERS_GROUP: 'pki', JIRA_REVOKERS: 'anyone' }).receiver.revokers, {
      group: 'pki',
      anyone: true,
    });
    assert.throws(
      () => loadConfig({ JIRA_REVOKERS: 'everyone' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.includes('JIRA_REVOKERS must be "restricted" (the default) or "anyone", not "everyone"'),
    );
  });

  it('reads real Jira and SCM settings', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'temporal:7233',
      JIRA_BASE_URL: 'https://acme.atlassian.net/',
      JIRA_EMAIL: 'bot@acme.test',
      JIRA_API_TOKEN: 'token',
      JIRA_WEBHOOK_SECRET: 'secret',
      JIRA_STATUS_ENROLLED: 'Issued',
      SECTIGO_BASE_URL: 'https://cert-manager.com/api',
      SECTIGO_CLIENT_ID: 'id',
      SECTIGO_CLIENT_SECRET: 'secret',
    });
    assert.equal(config.jira?.baseUrl, 'https://acme.atlassian.net');
    assert.equal(config.jira?.names.statuses.enrolled, 'Issued');
    assert.equal(config.jira?.names.fields.csr, 'Certificate CSR text');
    assert.equal(config.sectigo?.auth.kind, 'oauth');
  });

  it("reads SCM's client certificate, key and CA from files, and names what does not fit", async () => {
    const ca = await LocalCa.create();
    const [admin, other] = [await ca.tlsIdentity('client', 'CN=api'), await ca.tlsIdentity('client', 'CN=other')];
    const dir = mkdtempSync(join(tmpdir(), 'client-certificate-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const settings = {
      SECTIGO_BASE_URL: 'https://cert-manager.com/private/api',
      SECTIGO_LOGIN: 'api',
      SECTIGO_CUSTOMER_URI: 'acme',
      SECTIGO_CLIENT_CERT_FILE: file('admin.pem', admin.certificate),
      SECTIGO_CLIENT_KEY_FILE: file('admin.key', admin.key),
      SECTIGO_CA_FILE: file('ca.pem', ca.root.toString('pem')),
    };
    const { sectigo } = loadConfig({ ...settings });
    assert.equal(sectigo?.auth.kind, 'certificate');
    assert.equal(sectigo.auth.kind === 'certificate' && sectigo.auth.key, admin.key.trim());
    assert.equal(sectigo.ca, ca.root.toString('pem').trim());

    const problemsWith = (changes: Record<string, string>) => {
      try {
        loadConfig({ ...settings, ...changes });
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
      return [];
    };
    assert.deepEqual(problemsWith({ SECTIGO_CLIENT_KEY_FILE: file('other.key', other.key) }), [
      "SECTIGO_CLIENT_CERT and SECTIGO_CLIENT_KEY: the key is not the certificate's (CN=api)",
    ]);
    assert.deepEqual(
      problemsWith({ SECTIGO_PASSWORD: 'also', SECTIGO_BASE_URL: 'http://cert-manager.com/private/api' }),
      [
        'SECTIGO_CLIENT_CERT logs in with a client certificate: unset SECTIGO_PASSWORD',
        'SECTIGO_BASE_URL must be https:// with a client certificate',
      ],
    );
    assert.equal(
      clientCertificateProblem(admin, Date.now() + 2 * 365 * 86_400_000)?.split(' on ')[0],
      'the certificate expired',
    );
    assert.equal(
      clientCertificateProblem({ ...admin, certificate: 'not a PEM' }),
      'the certificate is not a PEM certificate',
    );
  });

  it('caps the certificates given series of their own in /metrics, and refuses the per-certificate listing that is gone', () => {
    assert.equal(loadConfig({}).attentionLimit, 1000);
    assert.equal(
      loadConfig({ METRICS_ATTENTION_LIMIT: '50', METRICS_CERTIFICATE_SERIES: 'attention' }).attentionLimit,
      50,
    );
    assert.throws(
      () => loadConfig({ METRICS_CERTIFICATE_SERIES: 'all' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.some((p) => p.startsWith('METRICS_CERTIFICATE_SERIES=all is no longer offered')),
    );
  });

  it('reports every problem at once', () => {
    const err = (() => {
      try {
        loadConfig({ JIRA_BASE_URL: 'not a url', SECTIGO_LOGIN: 'me', RECEIVER_PORT: 'eighty' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [
      'JIRA_BASE_URL must be an absolute URL, got "not a url"',
      'JIRA_EMAIL is required when Jira is configured',
      'JIRA_API_TOKEN is required when Jira is configured',
      'SECTIGO_BASE_URL is required when Sectigo is configured',
      'SECTIGO_PASSWORD is required for password authentication (or set SECTIGO_CLIENT_ID and SECTIGO_CLIENT_SECRET for OAuth, or SECTIGO_CLIENT_CERT and SECTIGO_CLIENT_KEY for a client certificate)',
      'SECTIGO_CUSTOMER_URI is required for password authentication (or set SECTIGO_CLIENT_ID and SECTIGO_CLIENT_SECRET for OAuth, or SECTIGO_CLIENT_CERT and SECTIGO_CLIENT_KEY for a client certificate)',
      'RECEIVER_PORT must be a whole number from 0 to 65535, got "eighty"',
      'JIRA_WEBHOOK_SECRET is required when Jira is configured: unsigned webhooks must not start workflows',
    ]);
  });
});

describe('profiles', () => {
  it('fills in defaults', () => {
    const [profile] = Profiles.parse(valid).all;
    assert.equal(profile?.autoRenew, true);
    assert.deepEqual(profile?.keyPolicy, { minRsaBits: 2048, maxRsaBits: 4096, ecCurves: ['P-256', 'P-384'] });
    assert.equal(Profiles.parse(valid).byName('OV Server Certificate')?.id, 'ov');
  });

  it('reports every problem with its place', () => {
    const text = `
profiles:
  - id: Bad Id
    name: A
    certType: -1
    term: 365
    orgId: 1
    expiryWindow: { fraction: 1.5 }
    allowedDomains: ['not a domain']
    keyPolicy: { minRsaBits: 1024 }
  - id: b
    name: A
    certType: 1
    term: 1
    orgId: 1
    expiryWindow: { days: 1 }
    allowedDomains: [example.com]
`;
    const err = (() => {
      try {
        Profiles.parse(text, 'profiles.yaml');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof ProfileError);
    const places = err.problems.map((p) => p.split(':')[0]);
    assert.deepEqual(places, [
      'profiles.0.id',
      'profiles.0.certType',
      'profiles.0.expiryWindow.fraction',
      'profiles.0.allowedDomains.0',
      'profiles.0.keyPolicy.minRsaBits',
      'profiles.1.name',
    ]);
  });

  it('takes a DCV mode, and refuses an unknown one or an email without EMAIL', () => {
    assert.deepEqual(Profiles.parse(`${valid}    dcv: { mode: CNAME }\n`).all[0]?.dcv, { mode: 'CNAME' });
    assert.throws(() => Profiles.parse(`${valid}    dcv: { mode: DNS }\n`), /profiles\.0\.dcv\.mode/);
    assert.throws(
      () => Profiles.parse(`${valid}    dcv: { mode: TXT, email: a@example.com }\n`),
      /email goes with mode EMAIL only/,
    );
  });

  it("takes the profile's SSL Cert Comments for its orders, and refuses comments that leave the connector no room", () => {
    const profile = Profiles.parse(`${valid}    comments: 'Cost centre 4711, web team'\n`).all[0];
    assert.equal(profile?.comments, 'Cost centre 4711, web team');
    const ours = `Requested through Jira issue CERT-1234567 [certificate:CERT-1234567/${'r'.repeat(36)}/g9999/enroll]`;
    assert.equal(orderComments(ours, profile ?? {}), `${ours} Cost centre 4711, web team`);
    assert.equal(orderComments(ours, {}), ours);

    const longest = Profiles.parse(`${valid}    comments: '${'x'.repeat(PROFILE_COMMENTS_MAX)}'\n`).all[0];
    assert.ok(orderComments(ours, longest ?? {}).length <= 1024, 'the longest comments fit beside the token');
    assert.throws(
      () => Profiles.parse(`${valid}    comments: '${'x'.repeat(PROFILE_COMMENTS_MAX + 1)}'\n`, 'profiles.yaml'),
      /profiles\.0\.comments: at most 768 characters: SCM keeps 1,024 per order/,
    );
    assert.throws(
      () => Profiles.parse(`${valid}    comments: 'see [certificate:CERT-1/x]'\n`),
      /profiles\.0\.comments: must not contain "\[certificate:"/,
    );
  });

  it('refuses duplicate names', () => {
    assert.throws(
      () => Profiles.parse(valid + valid.replace('profiles:\n', '').replace('id: ov', 'id: ov2')),
      /profiles\.1\.name: duplicate name/,
    );
  });
});

describe('SCM accounts', () => {
  const withAccounts = (accounts: string, account = 'eu') =>
    `\naccounts:\n${accounts}\n${valid.trim()}\n    account: ${account}\n`;
  const eu = (password: string) => `  - name: eu
    baseUrl: https://eu.example.com/api
    auth: { kind: password, login: api-eu, customerUri: acme-eu, password: ${password} }
    requestsPerSecond: 5`;

  it('reads each secret from the variable or the file named, never from the profiles file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'accounts-')), 'eu-password');
    writeFileSync(file, 'from-the-file\n');
    const fromEnv = accountSettings(Profiles.parse(withAccounts(eu('{ env: EU_PASSWORD }'))).accounts, {
      EU_PASSWORD: 'from-the-environment',
    });
    assert.deepEqual(fromEnv[0]?.config.auth, {
      kind: 'password',
      login: 'api-eu',
      customerUri: 'acme-eu',
      password: 'from-the-environment',
    });
    assert.equal(fromEnv[0]?.requestsPerSecond, 5);
    const fromFile = accountSettings(Profiles.parse(withAccounts(eu(`{ file: ${file} }`))).accounts, {});
    assert.equal(fromFile[0]?.config.auth.kind === 'password' && fromFile[0].config.auth.password, 'from-the-file');
    assert.throws(() => Profiles.parse(withAccounts(eu('written-here'))), /secrets are never written in this file/);
  });

  it('names the account and the secret it cannot read', () => {
    const profiles = Profiles.parse(withAccounts(eu('{ env: EU_PASSWORD }')));
    assert.throws(
      () => accountSettings(profiles.accounts, {}),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.join() === 'account "eu": auth.password: the environment variable EU_PASSWORD is not set',
    );
  });

  it('reads a client-certificate account from the files named, and names its problems', async () => {
    const ca = await LocalCa.create();
    const [admin, other] = [await ca.tlsIdentity('client', 'CN=api-eu'), await ca.tlsIdentity('client', 'CN=x')];
    const dir = mkdtempSync(join(tmpdir(), 'accounts-'));
    for (const [name, text] of Object.entries({ 'eu.pem': admin.certificate, 'eu.key': admin.key })) {
      writeFileSync(join(dir, name), text);
    }
    const certificateAccount = (baseUrl: string) => `  - name: eu
    baseUrl: ${baseUrl}
    auth: { kind: certificate, login: api-eu, customerUri: acme-eu, certificate: { file: ${dir}/eu.pem }, key: { env: EU_KEY } }
    ca: { file: ${dir}/eu.pem }`;
    const { accounts } = Profiles.parse(withAccounts(certificateAccount('https://eu.example.com/private/api')));
    const [settings] = accountSettings(accounts, { EU_KEY: admin.key });
    assert.deepEqual(settings?.config.auth, {
      kind: 'certificate',
      login: 'api-eu',
      customerUri: 'acme-eu',
      certificate: admin.certificate.trim(),
      key: admin.key.trim(),
      passphrase: undefined,
    });
    assert.equal(settings?.config.ca, admin.certificate.trim());
    assert.throws(
      () => accountSettings(accounts, { EU_KEY: other.key }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.join() === 'account "eu": auth: the key is not the certificate\'s (CN=api-eu)',
    );
    assert.throws(
      () => Profiles.parse(withAccounts(certificateAccount('http://eu.example.com/private/api'))),
      /a client certificate needs https:\/\//,
    );
  });

  it('refuses a profile naming an unknown account, "default" as a name, and a reload that changes the accounts', () => {
    assert.throws(
      () => Profiles.parse(withAccounts(eu('{ env: P }'), 'us')),
      /no account "us": use one of default, eu/,
    );
    assert.throws(
      () => Profiles.parse(withAccounts(eu('{ env: P }').replace('name: eu', 'name: default'), 'default')),
      /"default" is the account of SECTIGO_\*/,
    );
    const profiles = Profiles.parse(withAccounts(eu('{ env: P }')));
    assert.throws(
      () =>
        profiles.replace(
          Profiles.parse(withAccounts(eu('{ env: P }').replace('requestsPerSecond: 5', 'requestsPerSecond: 9'))),
        ),
      /accounts changed: restart the workers/,
    );
  });
});
