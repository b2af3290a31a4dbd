/**
 * Temporal's environment configuration, as every process of the product reads it: the variables and the
 * `temporal.toml` profiles the Temporal CLI and the SDKs share (src/temporal-connection.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { explainConnectionFailure, temporalTarget, TemporalSettingsError } from '../../src/temporal-connection.ts';

describe('Temporal settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'temporal-settings-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'temporal.toml');
  writeFileSync(
    file,
    [
      '[profile.default]',
      'address = "temporal.internal:7233"',
      '',
      '[profile.cloud]',
      'address = "certs.a1b2c.tmprl.cloud:7233"',
      'namespace = "certs.a1b2c"',
      'api_key = "key-from-the-file"',
      '',
      '[profile.mtls]',
      'address = "temporal.internal:7233"',
      '[profile.mtls.tls]',
      'client_cert_data = "-----BEGIN CERTIFICATE-----"',
      'client_key_data = "-----BEGIN PRIVATE KEY-----"',
      'server_name = "temporal.internal"',
    ].join('\n'),
  );

  it('configures nothing when nothing is set: npm start then runs a dev server', () => {
    const target = temporalTarget({});
    assert.equal(target.address, undefined);
    assert.equal(target.namespace, 'default');
    assert.deepEqual(target.options, {});
    assert.equal(temporalTarget({}, '127.0.0.1:7233').address, '127.0.0.1:7233', "the CLI's default");
  });

  it('reads the variables, and an API key turns TLS on', () => {
    const target = temporalTarget({
      TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233',
      TEMPORAL_NAMESPACE: 'certs.a1b2c',
      TEMPORAL_API_KEY: 'the-key',
    });
    assert.deepEqual(
      [target.address, target.namespace, target.options.apiKey, target.options.tls],
      ['eu-west-1.aws.api.temporal.io:7233', 'certs.a1b2c', 'the-key', true],
    );
    assert.equal(target.keyFromEnvironment, true);
  });

  it('reads a profile of the config file, the variables overriding it, as the Temporal CLI does', () => {
    const cloud = temporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' });
    assert.deepEqual(
      [cloud.address, cloud.namespace, cloud.options.apiKey, cloud.configFile, cloud.keyFromEnvironment],
      ['certs.a1b2c.tmprl.cloud:7233', 'certs.a1b2c', 'key-from-the-file', file, false],
    );
    assert.match(cloud.source, /profile "cloud" of .*temporal\.toml/);
    const overridden = temporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_NAMESPACE: 'other' });
    assert.deepEqual([overridden.address, overridden.namespace], ['temporal.internal:7233', 'other']);
    // The user's config directory, as the Temporal CLI looks there too.
    const home = join(dir, 'home');
    writeFileSync(join(dir, 'unused'), '');
    const xdg = temporalTarget({ XDG_CONFIG_HOME: join(home, 'none') });
    assert.equal(xdg.address, undefined, 'no file there: nothing configured');
  });

  it('takes client certificates from the profile or the variables', () => {
    const mtls = temporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'mtls' });
    const tls = mtls.options.tls as {
      serverNameOverride?: string;
      clientCertPair?: { crt: Uint8Array; key: Uint8Array };
    };
    assert.equal(tls.serverNameOverride, 'temporal.internal');
    assert.equal(Buffer.from(tls.clientCertPair?.crt ?? []).toString(), '-----BEGIN CERTIFICATE-----');
    const certificate = join(dir, 'client.pem');
    writeFileSync(certificate, 'CERT');
    const key = join(dir, 'client.key');
    writeFileSync(key, 'KEY');
    const fromVariables = temporalTarget({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: certificate,
      TEMPORAL_TLS_CLIENT_KEY_PATH: key,
    }).options.tls as { clientCertPair?: { crt: Uint8Array; key: Uint8Array } };
    assert.deepEqual(
      [fromVariables.clientCertPair?.crt, fromVariables.clientCertPair?.key].map((pem) =>
        Buffer.from(pem ?? []).toString(),
      ),
      ['CERT', 'KEY'],
    );
  });

  it('names the setting to fix: a missing file, an unknown profile, an unreadable certificate', () => {
    const problem = (env: Record<string, string>) => {
      try {
        temporalTarget(env);
      } catch (err) {
        assert.ok(err instanceof TemporalSettingsError, String(err));
        return err.message;
      }
      return assert.fail('accepted');
    };
    assert.match(
      problem({ TEMPORAL_CONFIG_FILE: join(dir, 'nope.toml') }),
      /TEMPORAL_CONFIG_FILE names .*nope\.toml, which does not exist/,
    );
    assert.match(problem({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' }), /Profile 'staging' not found/);
    assert.match(problem({ TEMPORAL_PROFILE: 'staging', HOME: join(dir, 'nobody') }), /set TEMPORAL_CONFIG_FILE/);
    assert.match(
      problem({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing-ca.pem') }),
      /TLS settings: .*missing-ca\.pem/,
    );
    assert.match(
      problem({ TEMPORAL_ADDRESS: 'x:7233', PAYLOAD_ENCRYPTION_KEYS: 'k:c2hvcnQ=' }),
      /PAYLOAD_ENCRYPTION_KEYS: key "k" is 5 bytes; AES-256 takes 32/,
    );
    // loadConfig reports it with every other problem.
    assert.throws(
      () => loadConfig({ TEMPORAL_CONFIG_FILE: join(dir, 'nope.toml'), JIRA_REVOKERS: 'everyone' }),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 2,
    );
  });

  it('says what a failed connection most likely means, with the setting to check', () => {
    const target = temporalTarget({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_API_KEY: 'k' });
    const cases: Array<[Error & { code?: number }, RegExp]> = [
      [new Error('invalid peer certificate: UnknownIssuer'), /TEMPORAL_TLS_SERVER_CA_CERT_PATH/],
      [new Error('unable to get local issuer certificate'), /TEMPORAL_TLS_SERVER_CA_CERT_PATH/],
      [Object.assign(new Error('16 UNAUTHENTICATED: Request unauthenticated'), { code: 16 }), /check TEMPORAL_API_KEY/],
      [
        Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7 }),
        /refused our API key for namespace "default": check TEMPORAL_API_KEY/,
      ],
      [
        Object.assign(new Error('5 NOT_FOUND: Namespace default is not found.'), { code: 5 }),
        /check TEMPORAL_NAMESPACE/,
      ],
      [new Error('14 UNAVAILABLE: No connection established'), /check TEMPORAL_ADDRESS/],
    ];
    for (const [err, hint] of cases) {
      const explained = explainConnectionFailure(target, err);
      assert.match(explained.message, hint, err.message);
      assert.ok(explained.message.includes(err.message), 'the original kept');
      assert.doesNotMatch(explained.message, /\bk\b.*\bk\b/, 'no key in the message');
    }
  });

  it('tells an expired API key from a refused one, and a certificate without rights', () => {
    const denied = Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7 });
    const jwt = (exp: number) =>
      ['{"alg":"RS256"}', JSON.stringify({ sub: 'c', exp })]
        .map((p) => Buffer.from(p).toString('base64url'))
        .join('.') + '.signature';
    const withKey = (key: string) => temporalTarget({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_API_KEY: key });
    const expired = explainConnectionFailure(withKey(jwt(1_700_000_000)), denied).message;
    assert.match(expired, /the API key expired at 2023-11-14T22:13:20\.000Z: set a new one in TEMPORAL_API_KEY/);
    assert.doesNotMatch(expired, /signature/, 'the key is not repeated');
    const wrapped = new Error('Failed to connect to Temporal server', { cause: denied });
    assert.match(explainConnectionFailure(withKey(jwt(1_700_000_000)), wrapped).message, /the API key expired at/);
    const live = explainConnectionFailure(withKey(jwt(Math.floor(Date.now() / 1000) + 3600)), denied).message;
    assert.match(live, /refused our API key/);
    const certificate = temporalTarget({
      TEMPORAL_ADDRESS: 'x:7233',
      TEMPORAL_TLS_CLIENT_CERT_DATA: 'CERT',
      TEMPORAL_TLS_CLIENT_KEY_DATA: 'KEY',
    });
    assert.match(
      explainConnectionFailure(certificate, denied).message,
      /our client certificate gives no access to namespace "default"/,
    );
    const nothing = temporalTarget({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS: 'true' });
    assert.match(explainConnectionFailure(nothing, denied).message, /it wants credentials: set TEMPORAL_API_KEY/);
  });
});
