/**
 * The emulated CA as a TLS client meets it: issued certificates name a CRL distribution point, an OCSP
 * responder and the issuer's certificate, and `openssl ocsp` asks the responder and believes its answer.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as x509 from '../../src/csr/x509.ts';
import { ScmEmulator } from '../../src/sandbox/scm-emulator.ts';
import { ScmClient } from '../../src/sectigo/client.ts';
import { eventually, opensslCsr } from '../helpers/environment.ts';

const run = promisify(execFile);

describe('the emulated CA', () => {
  let scm: ScmEmulator;
  let client: ScmClient;
  const dir = mkdtempSync(join(tmpdir(), 'ca-'));
  let sslId: number;
  before(async () => {
    scm = await ScmEmulator.start({ issuanceDelayMs: 0 });
    client = new ScmClient({ baseUrl: scm.apiUrl, auth: { kind: 'password', ...scm.credentials } });
    ({ sslId } = await client.enroll({
      orgId: 1,
      certType: 1001,
      term: 365,
      csr: opensslCsr('/CN=ocsp.example.com', 'ec-p256'),
      comments: 'ocsp',
    }));
    await eventually(
      async () => ((await client.getCertificate(sslId)).status === 'Issued' ? true : undefined),
      'issued',
    );
    const [leaf, intermediate, root] = x509.PemConverter.decode(await client.collect(sslId, 'x509R')).map((der) =>
      new x509.X509Certificate(der).toString('pem'),
    );
    writeFileSync(join(dir, 'leaf.pem'), `${leaf}\n`);
    writeFileSync(join(dir, 'intermediate.pem'), `${intermediate}\n`);
    writeFileSync(join(dir, 'root.pem'), `${root}\n`);
  });
  after(async () => {
    await scm?.stop();
  });

  /** `openssl ocsp` as a relying party runs it, against the URL the certificate names. */
  async function ocsp(): Promise<string> {
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-ocsp_uri'], {
      encoding: 'utf8',
    }).trim();
    const { stdout, stderr } = await run('openssl', [
      'ocsp',
      '-issuer',
      join(dir, 'intermediate.pem'),
      '-cert',
      join(dir, 'leaf.pem'),
      '-CAfile',
      join(dir, 'root.pem'),
      '-url',
      text,
    ]);
    return stdout + stderr;
  }

  it('names its CRL, its OCSP responder and its issuer in every certificate', () => {
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-text'], {
      encoding: 'utf8',
    });
    assert.match(text, new RegExp(`CRL Distribution Points:[\\s\\S]*URI:${scm.url}/crl`));
    assert.match(text, new RegExp(`OCSP - URI:${scm.url}/ocsp`));
    assert.match(text, new RegExp(`CA Issuers - URI:${scm.url}/ca/intermediate.cer`));
  });

  it('answers "good", then "revoked" with the reason once SCM revoked it, in answers openssl verifies', async () => {
    const good = await ocsp();
    assert.match(good, /Response verify OK/);
    assert.match(good, /leaf\.pem: good/);
    await client.revoke(sslId, 1, 'Key compromise: test');
    const revoked = await ocsp();
    assert.match(revoked, /Response verify OK/);
    assert.match(revoked, /leaf\.pem: revoked/);
    assert.match(revoked, /Reason: keyCompromise/);
  });

  it('says "unknown" of a certificate it did not issue', async () => {
    const { stdout } = await run('openssl', [
      'ocsp',
      '-issuer',
      join(dir, 'intermediate.pem'),
      '-serial',
      '0x1234',
      '-CAfile',
      join(dir, 'root.pem'),
      '-url',
      `${scm.url}/ocsp`,
    ]);
    assert.match(stdout, /0x1234: unknown/);
  });
});
