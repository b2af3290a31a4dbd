/** The SCM client against the SCM emulator over real HTTP: every endpoint the connector uses, and its errors. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseRetryAfter, parseScmDate, ScmClient, ScmError, ScmPendingError } from '../../src/sectigo/client.ts';
import { ScmEmulator } from '../../src/sandbox/scm-emulator.ts';
import { checkScm } from '../../src/connector.ts';
import { ConfigError } from '../../src/config.ts';
import * as x509 from '../../src/csr/x509.ts';
import { eventually, opensslCsr, rejectionOf } from '../helpers/environment.ts';

const ORDER = { orgId: 1, certType: 1001, term: 365 };

describe('Sectigo SCM client', () => {
  let scm: ScmEmulator;
  let client: ScmClient;
  before(async () => {
    scm = await ScmEmulator.start({ issuanceDelayMs: 300 });
    const c = scm.credentials;
    client = new ScmClient({
      baseUrl: scm.apiUrl,
      auth: { kind: 'password', login: c.login, password: c.password, customerUri: c.customerUri },
      timeoutMs: 2000,
    });
  });
  after(async () => {
    await scm?.stop();
  });

  const rejection = (promise: Promise<unknown>) => rejectionOf(promise, ScmError);

  it('enrolls, reports the order while pending, collects the issued chain', async () => {
    const csr = opensslCsr('/CN=client.example.com', 'rsa:2048', ['client.example.com', 'api.example.com']);
    const { sslId, renewId } = await client.enroll({
      ...ORDER,
      csr,
      subjAltNames: ['client.example.com', 'api.example.com'],
      comments: 'token-1',
    });
    assert.ok(sslId > 0);
    assert.ok(renewId.length > 0 && renewId.length <= 20);

    const pending = await client.getCertificate(sslId);
    assert.equal(pending.status, 'Applied');
    assert.equal(pending.comments, 'token-1');
    assert.deepEqual(pending.subjectAlternativeNames.sort(), ['api.example.com', 'client.example.com']);
    assert.equal(pending.certTypeId, 1001);
    const early = await rejection(client.collect(sslId));
    assert.ok(early instanceof ScmPendingError, 'collect before issuance is pending');
    assert.equal(early.code, 0);

    const issued = await eventually(async () => {
      const details = await client.getCertificate(sslId);
      return details.status === 'Issued' ? details : undefined;
    }, 'issuance');
    assert.match(issued.serialNumber ?? '', /^[0-9A-F]{2}(:[0-9A-F]{2})+$/);
    assert.ok(issued.expires && issued.expires > Date.now(), 'expires parsed from MM/dd/yyyy');

    // SCM's orders: x509 and pem end with the issued certificate; x509R and pemia start with it.
    const subjects = async (format: string) =>
      x509.PemConverter.decode(await client.collect(sslId, format)).map((der) => new x509.X509Certificate(der).subject);
    for (const format of ['x509', 'pem']) {
      const chain = await subjects(format);
      assert.equal(chain.length, 3);
      assert.equal(chain.at(-1), 'CN=client.example.com', `${format}: leaf last`);
    }
    for (const format of ['x509R', 'pemia']) {
      assert.equal((await subjects(format))[0], 'CN=client.example.com', `${format}: leaf first`);
    }
    assert.equal(x509.PemConverter.decode(await client.collect(sslId, 'x509CO')).length, 1);
    assert.match(await client.collect(sslId, 'base64'), /^-----BEGIN PKCS7-----/);
    const unknown = await rejection(client.collect(sslId, 'nonsense'));
    assert.deepEqual([unknown.status, unknown.code, unknown.retryable], [400, -1450, false]);
  });

  it('lists with filters and pages through every match', async () => {
    const csr = opensslCsr('/CN=paged.example.com', 'ec-p256');
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await client.enroll({ ...ORDER, csr })).sslId);
    const page = await client.list({ commonName: 'paged.example.com', orgId: 1 }, 0, 2);
    assert.equal(page.items.length, 2);
    assert.equal(page.total, 5);
    const second = await client.list({ commonName: 'paged.example.com' }, 4, 2);
    assert.deepEqual(
      second.items.map((i) => i.sslId),
      [ids[4]],
    );
    const all = [];
    for await (const item of client.search({ commonName: 'paged.example.com', sslTypeId: 1001 })) all.push(item.sslId);
    assert.deepEqual(all, ids);
    assert.equal((await client.list({ commonName: 'nobody.example.com' })).total, 0);
    const tooBig = await rejection(client.list({}, 0, 500));
    assert.equal(tooBig.code, -1601);
  });

  it('renews by id into a new order and revokes with an RFC 5280 reason', async () => {
    const { sslId } = await client.enroll({ ...ORDER, csr: opensslCsr('/CN=renew.example.com', 'rsa:2048') });
    const notYet = await rejection(client.renewById(sslId));
    assert.equal(notYet.code, -123, 'only issued certificates renew');
    await eventually(
      async () => ((await client.getCertificate(sslId)).status === 'Issued' ? true : undefined),
      'issuance',
    );

    const renewed = await client.renewById(sslId, opensslCsr('/CN=renew.example.com', 'ec-p256'));
    assert.notEqual(renewed.sslId, sslId);
    assert.equal((await client.getCertificate(sslId)).renewed, true);
    assert.equal((await client.getCertificate(renewed.sslId)).status, 'Applied');

    await client.revoke(sslId, 4, 'superseded by a renewal');
    assert.equal((await client.getCertificate(sslId)).status, 'Revoked');
    const twice = await rejection(client.revoke(sslId, 4, 'again'));
    assert.deepEqual([twice.status, twice.code, twice.retryable], [400, -159, false]);
    const collectRevoked = await rejection(client.collect(sslId));
    assert.ok(!(collectRevoked instanceof ScmPendingError));
    assert.equal(collectRevoked.code, -110);
  });

  it('turns SCM refusals into typed, non-retryable errors', async () => {
    const missing = await rejection(client.getCertificate(987654));
    assert.deepEqual([missing.status, missing.code, missing.retryable], [404, -124, false]);
    const garbage = await rejection(
      client.enroll({
        ...ORDER,
        csr: '-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n-----END CERTIFICATE REQUEST-----',
      }),
    );
    assert.equal(garbage.code, -9);
    const weak = await rejection(client.enroll({ ...ORDER, csr: opensslCsr('/CN=weak.example.com', 'rsa:1024') }));
    assert.equal(weak.code, -141);
    const term = await rejection(
      client.enroll({ ...ORDER, term: 3, csr: opensslCsr('/CN=term.example.com', 'ec-p256') }),
    );
    assert.equal(term.code, -36);
    assert.match(term.message, /Invalid term/);
  });

  it('reports bad credentials without echoing them', async () => {
    const c = scm.credentials;
    const wrong = new ScmClient({
      baseUrl: scm.apiUrl,
      auth: { kind: 'password', login: c.login, password: 'wrong-password-123', customerUri: c.customerUri },
    });
    const err = await rejection(wrong.getCertificate(1));
    assert.deepEqual([err.status, err.code, err.retryable], [401, -16, false]);
    assert.doesNotMatch(err.message, /wrong-password-123/);
  });

  it('authenticates with OAuth client credentials', async () => {
    const c = scm.credentials;
    const oauth = new ScmClient({
      baseUrl: scm.apiUrl,
      auth: { kind: 'oauth', tokenUrl: scm.tokenUrl, clientId: c.clientId, clientSecret: c.clientSecret },
    });
    const { sslId } = await oauth.enroll({ ...ORDER, csr: opensslCsr('/CN=oauth.example.com', 'ec-p256') });
    assert.equal((await oauth.getCertificate(sslId)).commonName, 'oauth.example.com');
    const bad = new ScmClient({
      baseUrl: scm.apiUrl,
      auth: { kind: 'oauth', tokenUrl: scm.tokenUrl, clientId: c.clientId, clientSecret: 'nope-secret' },
    });
    const err = await rejection(bad.getCertificate(sslId));
    assert.equal(err.status, 401);
    assert.doesNotMatch(err.message, /nope-secret/);
  });

  it('marks 429 (with its Retry-After), 503 and timeouts as retryable', async () => {
    try {
      Object.assign(scm.faults, { rateLimitRate: 1, retryAfterSeconds: 7 });
      const limited = await rejection(client.getCertificate(1));
      assert.deepEqual([limited.status, limited.retryable, limited.retryAfterMs], [429, true, 7000]);

      Object.assign(scm.faults, { rateLimitRate: 0, serverErrorRate: 1 });
      const down = await rejection(client.getCertificate(1));
      assert.deepEqual([down.status, down.retryable], [503, true]);

      Object.assign(scm.faults, { serverErrorRate: 0, latencyMs: 500 });
      const c = scm.credentials;
      const impatient = new ScmClient({
        baseUrl: scm.apiUrl,
        auth: { kind: 'password', login: c.login, password: c.password, customerUri: c.customerUri },
        timeoutMs: 100,
      });
      const slow = await rejection(impatient.getCertificate(1));
      assert.equal(slow.status, 0);
      assert.ok(slow.retryable);
      assert.match(slow.message, /timed out/);
    } finally {
      Object.assign(scm.faults, { rateLimitRate: 0, serverErrorRate: 0, latencyMs: 0 });
    }
  });

  it("writes details' dates in each dateFormat as SCM does, and the reason code as a string", async () => {
    const { sslId } = await client.enroll({ ...ORDER, csr: opensslCsr('/CN=dates.example.com', 'ec-p256') });
    await eventually(
      async () => ((await client.getCertificate(sslId)).status === 'Issued' ? true : undefined),
      'issuance',
    );
    await client.revoke(sslId, 4, 'Superseded: dates');
    const c = scm.credentials;
    const details = async (dateFormat?: string) =>
      (await (
        await fetch(`${scm.apiUrl}/ssl/v1/${sslId}${dateFormat ? `?dateFormat=${dateFormat}` : ''}`, {
          headers: { login: c.login, password: c.password, customerUri: c.customerUri },
        })
      ).json()) as { expires: string; revoked: string; reasonCode: unknown };
    assert.match((await details()).expires, /^\d{2}\/\d{2}\/\d{4}$/);
    assert.match((await details('ISO')).expires, /^\d{4}-\d{2}-\d{2}$/);
    assert.match((await details('ISO_HMS')).revoked, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal((await details()).reasonCode, '4');
    const expires = (await client.getCertificate(sslId)).expires;
    assert.equal(parseScmDate((await details('ISO')).expires), expires, 'both readings name one day');
  });

  it('serves the legacy collect path and counts requests', async () => {
    const { sslId } = await client.enroll({ ...ORDER, csr: opensslCsr('/CN=legacy.example.com', 'ec-p256') });
    await eventually(
      async () => ((await client.getCertificate(sslId)).status === 'Issued' ? true : undefined),
      'issuance',
    );
    const c = scm.credentials;
    const res = await fetch(`${scm.apiUrl}/ssl/v1/collect/${sslId}/x509CO`, {
      headers: { login: c.login, password: c.password, customerUri: c.customerUri },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="legacy\.example\.com\.pem"/);
    assert.equal(x509.PemConverter.decode(await res.text()).length, 1);
    assert.ok(scm.stats.requests > 10);
    assert.ok(scm.stats.peakRequestsPerSecond >= 1);
  });
});

describe('Sectigo SCM client with a client certificate (mTLS)', () => {
  let scm: ScmEmulator;
  let identity: { certificate: string; key: string };
  let ca: string;
  const certificateClient = (baseUrl: string, id = identity, trust: string | null = ca) => {
    const c = scm.credentials;
    const auth = { kind: 'certificate' as const, login: c.login, customerUri: c.customerUri, ...id };
    const config = { baseUrl, auth, timeoutMs: 2000, ...(trust ? { ca: trust } : {}) };
    return { config, client: new ScmClient(config) };
  };
  const refusalOf = async (baseUrl: string, id = identity, trust: string | null = ca) => {
    const { config, client } = certificateClient(baseUrl, id, trust);
    const err = await rejectionOf(checkScm(client, config, 1), ConfigError);
    return err.problems.join('\n');
  };
  before(async () => {
    scm = await ScmEmulator.start({ https: true });
    identity = await scm.clientIdentity();
    ca = scm.ca.root.toString('pem');
  });
  after(async () => {
    await scm?.stop();
  });

  it('enrolls and reads under /private/api with the admin login, its certificate and no password', async () => {
    const { client } = certificateClient(scm.privateApiUrl);
    const { sslId } = await client.enroll({ ...ORDER, csr: opensslCsr('/CN=mtls.example.com', 'ec-p256') });
    assert.equal((await client.getCertificate(sslId)).commonName, 'mtls.example.com');
    assert.equal(scm.stats.byOperation['POST /private/api/ssl/v1/enroll'], 1);
    assert.equal(scm.stats.byOperation['POST /api/ssl/v1/enroll'], undefined);
  });

  it("is refused without the admin's own certificate from SCM's CA, or outside /private/api", async () => {
    const stranger = await ScmEmulator.start({ https: true });
    try {
      const refused =
        /^SCM at \S+ refused the connector's credentials \(HTTP 401, code -16\): check SECTIGO_LOGIN, SECTIGO_CUSTOMER_URI and the client certificate \(SECTIGO_CLIENT_CERT\)$/;
      assert.match(await refusalOf(scm.privateApiUrl, await stranger.clientIdentity()), refused, 'another CA');
      assert.match(await refusalOf(scm.privateApiUrl, await scm.clientIdentity('another-admin')), refused);
      assert.match(
        await refusalOf(scm.apiUrl),
        /code -16\): check .*; SCM takes client certificates under \/private\/api, not \/api$/,
      );
      const noCertificate = new ScmClient({
        baseUrl: scm.privateApiUrl,
        auth: { kind: 'password', ...scm.credentials },
        ca,
      });
      assert.equal((await rejectionOf(noCertificate.list({}, 0, 1), ScmError)).status, 401, 'a password instead');
    } finally {
      await stranger.stop();
    }
  });

  it("names SECTIGO_CA when SCM's certificate is not trusted", async () => {
    assert.match(
      await refusalOf(scm.privateApiUrl, identity, null),
      /^SCM at \S+ failed the TLS handshake \(.*\): check SECTIGO_CA and the client certificate \(SECTIGO_CLIENT_CERT\)$/,
    );
  });
});

describe('SCM value parsing', () => {
  const cases: Array<{ given: string | undefined; parsed: number | undefined }> = [
    { given: '05/21/2026', parsed: Date.UTC(2026, 4, 21) },
    { given: '2026-05-21T10:00:00.000Z', parsed: Date.UTC(2026, 4, 21, 10) },
    { given: '2026-05-21', parsed: Date.UTC(2026, 4, 21) },
    { given: '', parsed: undefined },
    { given: undefined, parsed: undefined },
    { given: 'soon', parsed: undefined },
  ];
  for (const { given, parsed } of cases)
    it(`parses the date ${JSON.stringify(given)}`, () => assert.equal(parseScmDate(given), parsed));

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1);
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter(new Date(now + 5000).toUTCString(), now), 5000);
    assert.equal(parseRetryAfter('whenever', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});
