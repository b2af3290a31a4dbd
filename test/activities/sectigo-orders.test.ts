/**
 * Ordering exactly once against the SCM emulator over loopback: the activities run in Temporal's activity
 * test context, where a retry is an attempt number and the heartbeat the earlier attempt left.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSectigoActivities, type EnrollInput } from '../../src/activities/sectigo.ts';
import { Profiles } from '../../src/profiles.ts';
import { SANDBOX_PROFILES_FILE } from '../../src/sandbox/sandbox.ts';
import { ScmEmulator } from '../../src/sandbox/scm-emulator.ts';
import { ScmClient } from '../../src/sectigo/client.ts';
import { eventually, opensslCsr } from '../helpers/environment.ts';

let emulator: ScmEmulator;
const profiles = Profiles.load(SANDBOX_PROFILES_FILE);
const client = (timeoutMs = 10_000) =>
  new ScmClient({
    baseUrl: emulator.apiUrl,
    auth: { kind: 'password', ...emulator.credentials },
    timeoutMs,
  });
before(async () => {
  emulator = await ScmEmulator.start({ issuanceDelayMs: 0 });
});
after(async () => {
  await emulator?.stop();
});
beforeEach(() => {
  Object.assign(emulator.faults, {
    lateOrders: 0,
    lateProcessingMs: 0,
    dropResponses: 0,
    alreadyRevokedCode: -159,
    dcvRequired: false,
    renewalCopiesComments: false,
    listNewestFirst: false,
  });
});

const ordersFor = (name: string) =>
  (emulator.orders() as Array<{ id: number; commonName: string; subjectAlternativeNames: string[] }>).filter(
    (o) => o.commonName === name || o.subjectAlternativeNames.includes(name),
  );
const enrollInput = (domain: string, token: string, withCn = true): EnrollInput => ({
  profileId: 'ov-server',
  csr: withCn ? opensslCsr(`/CN=${domain}`, 'ec-p256') : opensslCsr('/O=No CN', 'ec-p256', [domain]),
  commonName: withCn ? domain : undefined,
  subjectAltNames: withCn ? [] : [domain],
  issueKey: 'CERT-1',
  token,
});

/** An activity run in `env`, typed as the activity is. */
const call = <A extends unknown[], R>(env: MockActivityEnvironment, fn: (...args: A) => Promise<R>, ...args: A) =>
  env.run<A, R, (...args: A) => Promise<R>>(fn, ...args);

/** Runs `fn` as attempt 1 and, when it fails, as attempt 2 with the heartbeat attempt 1 left. */
async function withRetry<T>(run: (env: MockActivityEnvironment) => Promise<T>): Promise<{ first: unknown; second: T }> {
  let details: unknown;
  const first = new MockActivityEnvironment({ attempt: 1 });
  first.on('heartbeat', (d: unknown) => (details = d));
  const failure = await run(first).then(
    () => assert.fail('the first attempt was meant to fail'),
    (err: unknown) => err,
  );
  const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: details });
  return { first: failure, second: await run(second) };
}

describe('placing an order exactly once', () => {
  it('waits out SCM processing an order after the client gave up, and adopts it', async () => {
    Object.assign(emulator.faults, { lateOrders: 1, lateProcessingMs: 3000 });
    const activities = createSectigoActivities({ scm: client(500), profiles, orderGraceMs: 8000 });
    const input = enrollInput('late.example.com', 'certificate:CERT-1/run/g0/enroll');
    const { first, second } = await withRetry((env) => call(env, activities.enrollCertificate, input));
    assert.match(String(first), /timed out/);
    assert.equal(ordersFor('late.example.com').length, 1, 'one order');
    assert.equal(second.certificateId, ordersFor('late.example.com')[0]?.id);
  });

  it('(the same fault without the grace makes a second order)', async () => {
    Object.assign(emulator.faults, { lateOrders: 1, lateProcessingMs: 3000 });
    const activities = createSectigoActivities({ scm: client(500), profiles, orderGraceMs: 0 });
    await withRetry((env) => call(env, activities.enrollCertificate, enrollInput('late2.example.com', 'tok-late2')));
    // The late order lands after the retry ordered again.
    await eventually(() => (ordersFor('late2.example.com').length === 2 ? true : undefined), 'two orders');
  });

  it('bounds the search for an order of a CSR without a CN', async () => {
    const scm = client();
    const activities = createSectigoActivities({ scm, profiles, orderGraceMs: 0, searchLimit: 5 });
    const once = new MockActivityEnvironment({ attempt: 1 });
    for (let i = 0; i < 12; i++)
      await call(once, activities.enrollCertificate, enrollInput('nocn.example.com', `tok-${i}`, false));
    const before = emulator.stats.requests;
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { postedAt: 0 } });
    await call(retry, activities.enrollCertificate, enrollInput('nocn.example.com', 'tok-new', false));
    // One list page, at most five detail reads, one enroll.
    assert.ok(emulator.stats.requests - before <= 7, `${emulator.stats.requests - before} requests`);
    assert.equal(ordersFor('nocn.example.com').length, 13);
  });

  it("sends the profile's DCV mode with enrollment and renewal, which an account without pre-validation requires", async () => {
    emulator.faults.dcvRequired = true;
    const once = new MockActivityEnvironment({ attempt: 1 });
    const without = createSectigoActivities({ scm: client(), profiles });
    const refused = await call(once, without.enrollCertificate, enrollInput('dcv.example.com', 'tok-dcv0')).then(
      () => assert.fail('ordered without dcvMode'),
      (err: unknown) => err,
    );
    assert.match(String(refused), /dcvMode is required/);
    const withDcv = new Profiles(profiles.all.map((p) => ({ ...p, dcv: { mode: 'CNAME' as const } })));
    const activities = createSectigoActivities({ scm: client(), profiles: withDcv });
    const { certificateId } = await call(once, activities.enrollCertificate, enrollInput('dcv.example.com', 'tok-dcv'));
    await call(once, activities.collectCertificate, certificateId);
    const renewed = await call(once, activities.renewCertificate, {
      certificateId,
      csr: opensslCsr('/CN=dcv.example.com', 'ec-p256'),
      commonName: 'dcv.example.com',
      subjectAltNames: [],
      profileId: 'ov-server',
      issueKey: 'CERT-1',
      token: 'tok-dcv-renew',
    });
    assert.ok(renewed.certificateId > certificateId);
  });
});

describe('renewing exactly once', () => {
  for (const copies of [true, false]) {
    it(`adopts its renewal after a lost answer when SCM ${copies ? 'copies' : 'does not copy'} the comments`, async () => {
      emulator.faults.renewalCopiesComments = copies;
      const activities = createSectigoActivities({ scm: client(), profiles, orderGraceMs: 2000 });
      const once = new MockActivityEnvironment({ attempt: 1 });
      const domain = `lost-renewal-${copies}.example.com`;
      const { certificateId } = await call(once, activities.enrollCertificate, enrollInput(domain, `tok-${domain}`));
      await call(once, activities.collectCertificate, certificateId);
      emulator.faults.dropResponses = 1; // renewById carried out, its answer lost
      const { second } = await withRetry((env) =>
        call(env, activities.renewCertificate, {
          certificateId,
          csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
          commonName: domain,
          subjectAltNames: [],
          profileId: 'ov-server',
          issueKey: 'CERT-1',
          token: `tok-${domain}-renew`,
        }),
      );
      assert.deepEqual(
        ordersFor(domain).map((o) => o.id),
        [certificateId, second.certificateId],
        'one renewal order, adopted',
      );
      const adopted = emulator.orders().find((o) => o.id === second.certificateId) as { comments?: string };
      assert.match(adopted.comments ?? '', new RegExp(`tok-${domain}-renew`), 'the adopted order carries the token');
    });
  }

  it("adopts only its own renewal, not another issue's renewal of the same domain", async () => {
    const scm = client();
    const activities = createSectigoActivities({ scm, profiles, orderGraceMs: 2000 });
    const once = new MockActivityEnvironment({ attempt: 1 });
    const domain = 'shared.example.com';
    // Tokens as the workflows write them: an untokened order is never another issue's.
    const ours = await call(once, activities.enrollCertificate, enrollInput(domain, 'certificate:CERT-1/r/g0/enroll'));
    const theirs = await call(once, activities.enrollCertificate, {
      ...enrollInput(domain, 'certificate:CERT-2/r/g0/enroll'),
      issueKey: 'CERT-2',
    });
    for (const { certificateId } of [ours, theirs]) await call(once, activities.collectCertificate, certificateId);
    const csr = opensslCsr(`/CN=${domain}`, 'ec-p256');
    const renewal = (certificateId: number, issueKey: string, token: string) => ({
      certificateId,
      csr,
      commonName: domain,
      subjectAltNames: [],
      profileId: 'ov-server',
      issueKey,
      token,
    });
    // The other issue renews first: its order is the smallest one newer than ours.
    const theirRenewal = await call(
      once,
      activities.renewCertificate,
      renewal(theirs.certificateId, 'CERT-2', 'certificate:CERT-2/r/g1/renew'),
    );
    emulator.faults.dropResponses = 2; // our renewById is carried out, its answer lost
    const { second } = await withRetry((env) =>
      call(env, activities.renewCertificate, renewal(ours.certificateId, 'CERT-1', 'certificate:CERT-1/r/g1/renew')),
    );
    const newest = Math.max(...ordersFor(domain).map((o) => o.id));
    assert.notEqual(second.certificateId, theirRenewal.certificateId);
    assert.equal(second.certificateId, newest);
    assert.equal(ordersFor(domain).length, 4, 'two enrollments and two renewals, no more');
  });

  it('adopts its renewal after a lost answer when the new CSR names another host', async () => {
    const scm = client();
    const activities = createSectigoActivities({ scm, profiles, orderGraceMs: 2000 });
    const once = new MockActivityEnvironment({ attempt: 1 });
    const enrolled = await call(once, activities.enrollCertificate, enrollInput('old-host.example.com', 'tok-old'));
    await call(once, activities.collectCertificate, enrolled.certificateId);
    // SCM renews the old order's parameters: the renewal bears old-host's CN, not the new CSR's.
    emulator.faults.dropResponses = 2;
    const { second } = await withRetry((env) =>
      call(env, activities.renewCertificate, {
        certificateId: enrolled.certificateId,
        csr: opensslCsr('/CN=new-host.example.com', 'ec-p256'),
        commonName: 'new-host.example.com',
        subjectAltNames: [],
        profileId: 'ov-server',
        issueKey: 'CERT-1',
        token: 'tok-renew-other-host',
      }),
    );
    const renewals = [...ordersFor('old-host.example.com'), ...ordersFor('new-host.example.com')].filter(
      (o) => o.id > enrolled.certificateId,
    );
    assert.equal(renewals.length, 1, 'one renewal order');
    assert.equal(second.certificateId, renewals[0]?.id);
  });
});

describe('revoking, and finding what to revoke', () => {
  for (const code of [-159, -102] as const) {
    it(`ends a revocation whose answer was lost as revoked, once, when SCM then says ${code}`, async () => {
      emulator.faults.alreadyRevokedCode = code;
      const activities = createSectigoActivities({ scm: client(), profiles });
      const once = new MockActivityEnvironment({ attempt: 1 });
      const { certificateId } = await call(
        once,
        activities.enrollCertificate,
        enrollInput(`revoke${-code}.example.com`, `tok-r${-code}`),
      );
      await call(once, activities.collectCertificate, certificateId);
      const revoke = { certificateId, reasonCode: 4 as const, reason: 'Superseded: test' };
      emulator.faults.dropResponses = 1; // revoked in SCM, the 204 lost
      const { second } = await withRetry((env) => call(env, activities.revokeCertificate, revoke));
      assert.equal(second, 'already-revoked');
      assert.equal(emulator.orders().find((o) => o.id === certificateId)?.status, 'Revoked');
    });
  }

  it('does not take -102 for a certificate that was never issued as revoked', async () => {
    emulator.faults.alreadyRevokedCode = -102;
    const activities = createSectigoActivities({ scm: client(), profiles });
    const once = new MockActivityEnvironment({ attempt: 1 });
    emulator.issuanceDelayMs = 60_000;
    try {
      const { certificateId } = await call(
        once,
        activities.enrollCertificate,
        enrollInput('pending102.example.com', 'tok-p102'),
      );
      const failure = await call(once, activities.revokeCertificate, {
        certificateId,
        reasonCode: 0,
        reason: 'Unspecified: test',
      }).then(
        () => assert.fail('a pending order was taken as revoked'),
        (err: unknown) => err,
      );
      assert.match(String(failure), /Only issued certificates could be revoked/);
    } finally {
      emulator.issuanceDelayMs = 0;
    }
  });

  it('revokes by domain only a certificate whose CN or SAN is the domain, never a neighbour', async () => {
    const activities = createSectigoActivities({ scm: client(), profiles });
    const once = new MockActivityEnvironment({ attempt: 1 });
    // The list filter answers every CN that contains the domain: the substring and the suffix neighbour.
    const ids = new Map<string, number>();
    for (const domain of ['shop.example.com', 'myshop.example.com', 'a.shop.example.com']) {
      const { certificateId } = await call(once, activities.enrollCertificate, enrollInput(domain, `tok-${domain}`));
      await call(once, activities.collectCertificate, certificateId);
      ids.set(domain, certificateId);
    }
    const lookUp = (domain: string) =>
      call(once, activities.lookUpCertificate, { profileName: 'OV Server Certificate', domain });
    const found = await lookUp('shop.example.com');
    assert.equal(found.kind, 'found');
    assert.equal(found.kind === 'found' ? found.certificate.certificateId : undefined, ids.get('shop.example.com'));
    assert.deepEqual(await lookUp('hop.example.com'), { kind: 'none' });
  });
});

describe('what changed in SCM since the last sweep', () => {
  for (const newestFirst of [false, true]) {
    it(`finds the orders replaced since the last sweep when SCM lists ${newestFirst ? 'newest' : 'oldest'} first`, async () => {
      const activities = createSectigoActivities({ scm: client(), profiles });
      const once = new MockActivityEnvironment({ attempt: 1 });
      const ids: number[] = [];
      for (const n of [1, 2, 3]) {
        const domain = `replaced-${n}-${newestFirst}.example.com`;
        const { certificateId } = await call(once, activities.enrollCertificate, enrollInput(domain, `tok-${domain}`));
        await call(once, activities.collectCertificate, certificateId);
        ids.push(certificateId);
      }
      const changes = (replacedSeen: number) =>
        call(once, activities.changesInScm, { since: Date.now(), replacedSeen });
      const seenBefore = (await changes(0)).replacedSeen;
      emulator.replaceDirectly(ids[0] ?? 0);
      const first = await changes(seenBefore);
      emulator.faults.listNewestFirst = newestFirst;
      emulator.replaceDirectly(ids[1] ?? 0);
      emulator.replaceDirectly(ids[2] ?? 0);
      const next = await changes(first.replacedSeen);
      const replaced = next.changes.filter((c) => c.status === 'Replaced').map((c) => c.certificateId);
      assert.ok(first.changes.some((c) => c.certificateId === ids[0]));
      assert.ok(replaced.includes(ids[1] ?? 0) && replaced.includes(ids[2] ?? 0), `${replaced.join(', ')}`);
    });
  }
});

describe('bringing the certificate along with the order', () => {
  it('brings it when SCM issued it at once, and only the order while SCM is processing', async () => {
    const activities = createSectigoActivities({ scm: client(), profiles });
    const once = new MockActivityEnvironment({ attempt: 1 });
    const atOnce = await call(once, activities.enrollCertificate, {
      ...enrollInput('at-once.example.com', 'tok-at-once'),
      collectIfIssued: true,
    });
    assert.equal(atOnce.certificate?.certificateId, atOnce.certificateId);
    assert.match(atOnce.certificate?.pem ?? '', /^-----BEGIN CERTIFICATE-----/);
    const renewedAtOnce = await call(once, activities.renewCertificate, {
      certificateId: atOnce.certificateId,
      csr: opensslCsr('/CN=at-once.example.com', 'ec-p256'),
      commonName: 'at-once.example.com',
      subjectAltNames: [],
      profileId: 'ov-server',
      issueKey: 'CERT-1',
      token: 'tok-at-once-renew',
      collectIfIssued: true,
    });
    assert.equal(renewedAtOnce.certificate?.certificateId, renewedAtOnce.certificateId);
    assert.notEqual(renewedAtOnce.certificateId, atOnce.certificateId);

    emulator.issuanceDelayMs = 60_000;
    try {
      const before = emulator.stats.requests;
      const later = await call(once, activities.enrollCertificate, {
        ...enrollInput('later.example.com', 'tok-later'),
        collectIfIssued: true,
      });
      assert.equal(later.certificate, undefined);
      // The order, and one read of its details: what collecting's first try would have asked.
      assert.equal(emulator.stats.requests - before, 2);
      // Not asked: the order alone, as runs started before the change expect.
      const asBefore = await call(once, activities.enrollCertificate, enrollInput('asked-not.example.com', 'tok-no'));
      assert.deepEqual(Object.keys(asBefore), ['certificateId']);
      assert.equal(emulator.stats.requests - before, 3);
    } finally {
      emulator.issuanceDelayMs = 0;
    }
  });
});
