/**
 * Collecting the issued certificate whatever order SCM's format puts it in: the recorded serial and expiry
 * are the leaf's, and the PEM attached to the issue is the leaf first, then each issuer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSectigoActivities } from '../../src/activities/sectigo.ts';
import type { IssuedCertificate } from '../../src/contract/certificate.ts';
import * as x509 from '../../src/csr/x509.ts';
import { Profiles } from '../../src/profiles.ts';
import { SANDBOX_PROFILES_FILE } from '../../src/sandbox/sandbox.ts';
import { ScmEmulator } from '../../src/sandbox/scm-emulator.ts';
import { ChainProblem, issuedChain } from '../../src/sectigo/chain.ts';
import { ScmClient, type ScmCertificate } from '../../src/sectigo/client.ts';
import { eventually, opensslCsr } from '../helpers/environment.ts';

const subjects = (pem: string) =>
  x509.PemConverter.decode(pem).map((der) => new x509.X509Certificate(der).subject.replace(/^CN=/, ''));

describe('collecting the issued certificate', () => {
  let emulator: ScmEmulator;
  let scm: ScmClient;
  const csr = opensslCsr('/CN=chain.example.com', 'ec-p256');
  let issued: ScmCertificate;
  let chainNames: string[];
  before(async () => {
    emulator = await ScmEmulator.start({ issuanceDelayMs: 0 });
    scm = new ScmClient({ baseUrl: emulator.apiUrl, auth: { kind: 'password', ...emulator.credentials } });
    const { sslId } = await scm.enroll({ orgId: 1, certType: 1001, term: 365, csr, comments: 'chain' });
    issued = await eventually(async () => {
      const details = await scm.getCertificate(sslId);
      return details.status === 'Issued' ? details : undefined;
    }, 'issuance');
    chainNames = subjects(await scm.collect(issued.id, 'x509R'));
  });
  after(async () => {
    await emulator?.stop();
  });

  const formats: Array<{ format: string; order: string; length: number }> = [
    { format: 'x509', order: 'root first, leaf last', length: 3 },
    { format: 'pem', order: 'root first, leaf last', length: 3 },
    { format: 'x509R', order: 'leaf first', length: 3 },
    { format: 'pemia', order: 'leaf, then its issuer', length: 2 },
    { format: 'x509CO', order: 'the certificate only', length: 1 },
  ];
  for (const { format, order, length } of formats) {
    it(`finds the leaf and puts it first in ${format} (${order})`, async () => {
      const { leaf, pem } = issuedChain(await scm.collect(issued.id, format), {
        csr,
        serialNumber: issued.serialNumber,
      });
      assert.equal(leaf.subject, 'CN=chain.example.com');
      assert.equal(leaf.serialNumber.toUpperCase(), (issued.serialNumber ?? '').replace(/:/g, ''));
      assert.deepEqual(subjects(pem), chainNames.slice(0, length));
    });
  }

  it('records the leaf of SCM’s default download, and attaches it first', async () => {
    const activities = createSectigoActivities({ scm, profiles: Profiles.load(SANDBOX_PROFILES_FILE) });
    const env = new MockActivityEnvironment();
    const collected = await env.run<[number, { csr: string }], IssuedCertificate, typeof activities.collectCertificate>(
      activities.collectCertificate,
      issued.id,
      { csr },
    );
    assert.equal(collected.serialNumber, (issued.serialNumber ?? '').replace(/:/g, ''));
    assert.equal(collected.notAfter, new x509.X509Certificate(subjectPem(collected.pem, 0)).notAfter.getTime());
    assert.deepEqual(subjects(collected.pem), chainNames);
    // The root is not what was recorded, although SCM's x509 download starts with it.
    assert.notEqual(subjects(await scm.collect(issued.id, 'x509'))[0], 'chain.example.com');
  });

  it('refuses an answer without the certificate for the CSR, or with another serial', async () => {
    const collected = await scm.collect(issued.id, 'x509');
    assert.throws(
      () => issuedChain(collected, { csr: opensslCsr('/CN=chain.example.com', 'ec-p256') }),
      (err: unknown) => err instanceof ChainProblem && /0 certificates for the CSR's key/.test(err.message),
    );
    assert.throws(
      () => issuedChain(collected, { csr, serialNumber: '01:02:03' }),
      (err: unknown) => err instanceof ChainProblem && /SCM's details say 01:02:03/.test(err.message),
    );
  });

  it('finds the leaf without a CSR: the one certificate that issued no other', async () => {
    const { leaf, pem } = issuedChain(await scm.collect(issued.id, 'x509'), {});
    assert.equal(leaf.subject, 'CN=chain.example.com');
    assert.deepEqual(subjects(pem), chainNames);
  });
});

/** The `index`th certificate of a PEM bundle, as PEM. */
function subjectPem(pem: string, index: number): string {
  const der = x509.PemConverter.decode(pem)[index];
  assert.ok(der);
  return new x509.X509Certificate(der).toString('pem');
}
