/** CSR validation against a profile's policy, with CSRs made by OpenSSL. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsrProblem, inspectCsr, type CsrPolicy } from '../src/csr/inspect.ts';
import { isDomainAllowed } from '../src/profiles.ts';
import { opensslCsr, rejectionOf } from './helpers/environment.ts';

const allowed = ['example.com', '*.example.com'];
const policy: CsrPolicy = {
  profileName: 'OV Server Certificate',
  minRsaBits: 2048,
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
    assert.deepEqual(summary, {
      commonName: 'www.example.com',
      subjectAltNames: ['www.example.com', 'api.example.com'],
      domain: 'www.example.com',
      keyType: 'RSA - 2048',
    });
  });

  it('accepts EC P-256 with only a SAN, naming the certificate after it', async () => {
    const summary = await inspectCsr(opensslCsr('/O=Global Security', 'ec-p256', ['san-only.example.com']), policy);
    assert.equal(summary.domain, 'san-only.example.com');
    assert.equal(summary.commonName, undefined);
    assert.equal(summary.keyType, 'EC - P-256');
  });

  const refusals: Array<[string, () => string, RegExp, CsrPolicy?]> = [
    ['an empty field', () => '  ', /field is empty/],
    ['text that is not PEM', () => 'hello', /not a PEM certificate signing request/],
    [
      'a PEM block that is not PKCS#10',
      () => '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----',
      /could not be decoded/,
    ],
    ['a weak RSA key', () => opensslCsr('/CN=weak.example.com', 'rsa:1024'), /1024 bits.*at least 2048/],
    [
      'a name outside the allowed domains',
      () => opensslCsr('/CN=www.evil.test', 'ec-p256'),
      /names www\.evil\.test, which profile "OV Server Certificate" does not allow/,
    ],
    [
      'a foreign SAN beside an allowed CN',
      () => opensslCsr('/CN=ok.example.com', 'ec-p256', ['ok.example.com', 'x.example.net']),
      /names x\.example\.net/,
    ],
    [
      'too many SANs',
      () =>
        opensslCsr('/CN=a.example.com', 'ec-p256', [
          'a.example.com',
          'b.example.com',
          'c.example.com',
          'd.example.com',
        ]),
      /4 Subject Alternative Names.*at most 3/,
    ],
    ['no name at all', () => opensslCsr('/O=Nobody', 'rsa:2048'), /names no domain/],
    [
      'an EC curve the profile does not accept',
      () => opensslCsr('/CN=ec.example.com', 'ec-p256'),
      /curve P-256.*accepts P-384/,
      { ...policy, ecCurves: ['P-384'] },
    ],
    [
      'an oversized body',
      () => `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(40_000)}\n-----END CERTIFICATE REQUEST-----`,
      /limit is 32767/,
    ],
  ];
  for (const [label, make, expected, p] of refusals) {
    it(`refuses ${label}`, async () => assert.match(await problem(make(), p), expected));
  }
});

describe('allowed domains', () => {
  const cases: Array<[string, boolean]> = [
    ['example.com', true],
    ['EXAMPLE.com', true],
    ['www.example.com', true],
    ['a.b.example.com', true],
    ['*.example.com', true],
    ['badexample.com', false],
    ['example.com.evil.test', false],
  ];
  for (const [domain, expected] of cases)
    it(`${domain} → ${expected}`, () => assert.equal(isDomainAllowed(domain, allowed), expected));
});
