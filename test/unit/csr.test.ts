/** CSR validation against a profile's policy, with CSRs made by OpenSSL. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsrProblem, inspectCsr, type CsrPolicy } from '../../src/csr/inspect.ts';
import { isDomainAllowed } from '../../src/csr/names.ts';
import * as x509 from '../../src/csr/x509.ts';
import { opensslCsr, rejectionOf } from '../helpers/environment.ts';

const allowed = ['example.com', '*.example.com'];
const policy: CsrPolicy = {
  profileName: 'OV Server Certificate',
  field: 'Certificate CSR text',
  minRsaBits: 2048,
  maxRsaBits: 4096,
  ecCurves: ['P-256', 'P-384'],
  allowedDomains: allowed,
  maxSubjectAltNames: 3,
  isDomainAllowed: (domain) => isDomainAllowed(domain, allowed),
};

async function problem(pem: string, p: CsrPolicy = policy): Promise<string> {
  return (await rejectionOf(inspectCsr(pem, p), CsrProblem)).message;
}

describe('CSR validation', () => {
  it('accepts RSA 2048 with its CN and SANs', async () => {
    const summary = await inspectCsr(
      opensslCsr('/CN=WWW.Example.com', 'rsa:2048', ['www.example.com', 'api.example.com']),
      policy,
    );
    assert.match(
      summary.pem,
      /^-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE REQUEST-----\n$/,
    );
    assert.deepEqual(
      { ...summary, pem: undefined },
      {
        pem: undefined,
        commonName: 'www.example.com',
        subjectAltNames: ['www.example.com', 'api.example.com'],
        domain: 'www.example.com',
        keyType: 'RSA - 2048',
      },
    );
  });

  it('accepts EC P-256 with only a SAN, naming the certificate after it', async () => {
    const summary = await inspectCsr(opensslCsr('/O=Global Security', 'ec-p256', ['san-only.example.com']), policy);
    assert.equal(summary.domain, 'san-only.example.com');
    assert.equal(summary.commonName, undefined);
    assert.equal(summary.keyType, 'EC - P-256');
  });

  const refusals: Array<{ name: string; csr: () => string; refusal: RegExp; policy?: CsrPolicy }> = [
    { name: 'an empty field', csr: () => '  ', refusal: /field is empty/ },
    { name: 'text that is not PEM', csr: () => 'hello', refusal: /not a PEM certificate signing request/ },
    {
      name: 'a PEM block that is not PKCS#10',
      csr: () => '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----',
      refusal: /could not be decoded/,
    },
    {
      name: 'a weak RSA key',
      csr: () => opensslCsr('/CN=weak.example.com', 'rsa:1024'),
      refusal: /1024 bits.*at least 2048/,
    },
    {
      name: 'a name outside the allowed domains',
      csr: () => opensslCsr('/CN=www.evil.test', 'ec-p256'),
      refusal: /names www\.evil\.test, which profile "OV Server Certificate" does not allow/,
    },
    {
      name: 'a foreign SAN beside an allowed CN',
      csr: () => opensslCsr('/CN=ok.example.com', 'ec-p256', ['ok.example.com', 'x.example.net']),
      refusal: /names x\.example\.net/,
    },
    {
      name: 'too many SANs',
      csr: () =>
        opensslCsr('/CN=a.example.com', 'ec-p256', [
          'a.example.com',
          'b.example.com',
          'c.example.com',
          'd.example.com',
        ]),
      refusal: /4 Subject Alternative Names.*at most 3/,
    },
    { name: 'no name at all', csr: () => opensslCsr('/O=Nobody', 'rsa:2048'), refusal: /names no domain/ },
    {
      name: 'an EC curve the profile does not accept',
      csr: () => opensslCsr('/CN=ec.example.com', 'ec-p256'),
      refusal: /curve P-256, which profile "OV Server Certificate" does not accept; use P-384/,
      policy: { ...policy, ecCurves: ['P-384'] },
    },
    {
      name: 'an oversized body',
      csr: () => `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(40_000)}\n-----END CERTIFICATE REQUEST-----`,
      refusal: /limit is 32767/,
    },
  ];
  for (const { name, csr, refusal, policy: p } of refusals) {
    it(`refuses ${name}`, async () => assert.match(await problem(csr(), p), refusal));
  }

  // Names that were ordered and issued before every name was checked as a DNS name.
  const badNames: Array<{ name: string; names: { cn?: string; sans?: string[] }; refusal: RegExp }> = [
    {
      name: 'a wildcard below a wildcard',
      names: { sans: ['*.*.example.com'] },
      refusal: /wildcard may only be the whole left-most label/,
    },
    {
      name: 'a wildcard inside a label',
      names: { cn: 'w*w.example.com' },
      refusal: /wildcard may only be the whole left-most label/,
    },
    {
      name: 'a raw UTF-8 name',
      names: { cn: 'bücher.example.com' },
      refusal: /internationalized.*xn--bcher-kva\.example\.com/,
    },
    {
      name: 'a path',
      names: { cn: '../../etc/passwd.example.com' },
      refusal: /not a valid DNS name: it has an empty label|letters, digits and hyphens/,
    },
    {
      name: 'quotes and angle brackets',
      names: { cn: `a"b'c<x>.example.com` },
      refusal: /letters, digits and hyphens/,
    },
    { name: 'a space', names: { sans: ['a b.example.com'] }, refusal: /spaces or control characters/ },
    {
      name: 'a newline in the CN',
      names: { cn: 'evil.example.com\nCertificate enrolled' },
      refusal: /"evil\.example\.com\\ncertificate enrolled".*control characters/,
    },
    { name: 'a trailing dot', names: { cn: 'www.example.com.' }, refusal: /ends with a dot/ },
    { name: 'a label over 63 octets', names: { sans: [`${'a'.repeat(64)}.example.com`] }, refusal: /longer than 63/ },
    {
      name: 'a CN over 64 characters',
      names: { cn: `${'a'.repeat(60)}.example.com` },
      refusal: /Common Name is 72 characters long; X\.509 allows at most 64/,
    },
  ];
  for (const { name, names, refusal } of badNames) {
    it(`refuses ${name}`, async () => assert.match(await problem(await craftedCsr(names)), refusal));
  }

  it('accepts a CSR with text around it, and sends only the CSR', async () => {
    const csr = opensslCsr('/CN=around.example.com', 'ec-p256');
    const summary = await inspectCsr(`Here is my CSR:\n\n${csr}\nThanks!`, policy);
    assert.equal(summary.pem.trim(), csr.trim());
  });

  it('refuses a subject with a second CN, which the first CN would have let through unchecked', async () => {
    assert.match(
      await problem(opensslCsr('/CN=ok.example.com/CN=evil.attacker.test', 'ec-p256')),
      /2 Common Names \(ok\.example\.com, evil\.attacker\.test\); a CSR names one CN at most/,
    );
    // Both allowed makes no difference: which one SCM or a TLS client takes is not ours to guess.
    assert.match(await problem(opensslCsr('/CN=a.example.com/CN=b.example.com', 'ec-p256')), /2 Common Names/);
  });

  it('refuses two CSRs in the field', async () => {
    const two = opensslCsr('/CN=one.example.com', 'ec-p256') + opensslCsr('/CN=two.example.com', 'ec-p256');
    assert.match(await problem(two), /holds 2 certificate signing requests; paste exactly one/);
  });

  it("names the site's own CSR field", async () => {
    const site = { ...policy, field: 'Request (PKCS#10)' };
    assert.equal(await problem('  ', site), 'The "Request (PKCS#10)" field is empty.');
    const two = opensslCsr('/CN=one.example.com', 'ec-p256') + opensslCsr('/CN=two.example.com', 'ec-p256');
    assert.match(await problem(two, site), /^The "Request \(PKCS#10\)" field holds 2/);
  });

  it('refuses a pasted private key, and says it is compromised', async () => {
    const text = `${opensslCsr('/CN=key.example.com', 'ec-p256')}\n-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n`;
    assert.match(await problem(text), /contains a private key.*compromised/);
  });

  it('refuses an RSA key over the profile maximum', async () => {
    assert.match(
      await problem(opensslCsr('/CN=big.example.com', 'rsa:4160')),
      /RSA key has 4160 bits; profile "OV Server Certificate" accepts at most 4096/,
    );
  });

  it('names an unsupported curve instead of calling the CSR altered', async () => {
    assert.match(
      await problem(opensslCsr('/CN=k1.example.com', 'ec-secp256k1')),
      /curve secp256k1, which profile "OV Server Certificate" does not accept/,
    );
  });
});

/** A CSR with exactly the names given, whatever they are: what a careless or hostile requester can make. */
async function craftedCsr({ cn, sans = [] }: { cn?: string; sans?: string[] }): Promise<string> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: cn === undefined ? [{ O: ['Crafted'] }] : [{ CN: [cn] }],
    keys,
    signingAlgorithm: algorithm,
    extensions:
      sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans.map((value) => ({ type: 'dns', value })))] : [],
  });
  return csr.toString('pem');
}

describe('allowed domains', () => {
  const cases: Array<{ domain: string; accepted: boolean }> = [
    { domain: 'example.com', accepted: true },
    { domain: 'EXAMPLE.com', accepted: true },
    { domain: 'www.example.com', accepted: true },
    { domain: 'a.b.example.com', accepted: true },
    { domain: '*.example.com', accepted: true },
    { domain: '*.www.example.com', accepted: true },
    { domain: 'badexample.com', accepted: false },
    { domain: 'example.com.evil.test', accepted: false },
  ];
  for (const { domain, accepted } of cases)
    it(`${domain} → ${accepted}`, () => assert.equal(isDomainAllowed(domain, allowed), accepted));
});
