/**
 * The issued certificate and its chain out of what SCM's collect answers. SCM's formats differ in order:
 * `x509` and `pem` put the root first and the issued certificate last, `x509R` and `pemia` the issued
 * certificate first (docs/compatibility.md, "collect"). Nothing here relies on the order: the issued
 * certificate is the one whose public key is the CSR's, and the chain is rebuilt issuer by issuer.
 */
import * as x509 from '../csr/x509.ts';

export class ChainProblem extends Error {
  override name = 'ChainProblem';
}

export interface IssuedChain {
  /** The certificate issued for the CSR. */
  leaf: x509.X509Certificate;
  /** PEM, the leaf first and then each issuer, in the order TLS servers send them. */
  pem: string;
  /** The CA certificate that issued the leaf, where the answer holds it. */
  issuer: x509.X509Certificate | undefined;
}

/** What identifies the issued certificate: the CSR it answers and, where SCM says it, its serial number. */
export interface Expected {
  csr?: string;
  /** As SCM's details write it, hex with or without colons. */
  serialNumber?: string;
}

const normalSerial = (serial: string) => serial.replace(/:/g, '').toUpperCase().replace(/^0+/, '');
const same = (a: ArrayBuffer, b: ArrayBuffer) => Buffer.from(a).equals(Buffer.from(b));

/** Finds the issued certificate among the collected ones and orders its chain leaf first. */
export function issuedChain(collected: string, expected: Expected): IssuedChain {
  const certificates = x509.PemConverter.decode(collected).map((der) => new x509.X509Certificate(der));
  if (certificates.length === 0) throw new ChainProblem('SCM answered no certificate');
  const key = expected.csr ? new x509.Pkcs10CertificateRequest(expected.csr).publicKey.rawData : undefined;
  // Without a CSR (an order placed outside the connector), the leaf is the one that issued no other.
  const candidates = key
    ? certificates.filter((c) => same(c.publicKey.rawData, key))
    : certificates.filter((c) => !certificates.some((other) => other !== c && other.issuer === c.subject));
  if (candidates.length !== 1) {
    throw new ChainProblem(
      key
        ? `SCM's answer holds ${candidates.length} certificates for the CSR's key, not one`
        : `SCM's answer holds ${candidates.length} end-entity certificates, not one`,
    );
  }
  const leaf = candidates[0] as x509.X509Certificate;
  if (expected.serialNumber && normalSerial(expected.serialNumber) !== normalSerial(leaf.serialNumber)) {
    throw new ChainProblem(
      `the certificate for the CSR has serial ${leaf.serialNumber}, but SCM's details say ${expected.serialNumber}`,
    );
  }
  const chain = [leaf];
  for (let last = leaf; last.issuer !== last.subject;) {
    const issuer = certificates.find((c) => !chain.includes(c) && c.subject === last.issuer);
    if (!issuer) break;
    chain.push(issuer);
    last = issuer;
  }
  return { leaf, pem: chain.map((c) => c.toString('pem')).join('\n') + '\n', issuer: chain[1] };
}
