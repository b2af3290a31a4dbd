/**
 * The sandbox's certificate authority: a root and an intermediate (ECDSA P-256), created on first start
 * and persisted, that sign certificates for a CSR's key, subject and names. Real X.509, so that everything
 * downstream (Jira attachments, chain checks, tests) deals with genuine certificates.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '../csr/x509.ts';
import { ocspAnswer, type SerialStatus } from './ocsp.ts';

const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const YEAR_MS = 365 * 24 * 3600_000;

export interface IssueOptions {
  csr: x509.Pkcs10CertificateRequest;
  /** Names for the SAN extension; the CSR's when empty. */
  subjectAltNames: string[];
  notBefore: Date;
  notAfter: Date;
  /**
   * Where relying parties check the certificate, as real Sectigo certificates say: the CRL (CRL
   * distribution point), the OCSP responder and the issuer's certificate (Authority Information Access).
   */
  urls?: { crl: string; ocsp: string; caIssuers: string };
}

export class LocalCa {
  readonly root: x509.X509Certificate;
  readonly intermediate: x509.X509Certificate;
  readonly #signingKey: webcrypto.CryptoKey;

  private constructor(root: x509.X509Certificate, intermediate: x509.X509Certificate, signingKey: webcrypto.CryptoKey) {
    this.root = root;
    this.intermediate = intermediate;
    this.#signingKey = signingKey;
  }

  /** Loads the CA from `dir`, creating and persisting it there on first use. */
  static async open(dir: string, name = 'Sandbox'): Promise<LocalCa> {
    const files = {
      root: join(dir, 'root.pem'),
      intermediate: join(dir, 'intermediate.pem'),
      key: join(dir, 'intermediate.key'),
    };
    if (existsSync(files.root) && existsSync(files.intermediate) && existsSync(files.key)) {
      const key = await webcrypto.subtle.importKey(
        'pkcs8',
        x509.PemConverter.decodeFirst(readFileSync(files.key, 'utf8')),
        KEY_ALGORITHM,
        false,
        ['sign'],
      );
      return new LocalCa(
        new x509.X509Certificate(readFileSync(files.root, 'utf8')),
        new x509.X509Certificate(readFileSync(files.intermediate, 'utf8')),
        key,
      );
    }
    const ca = await LocalCa.create(name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(files.root, ca.root.toString('pem') + '\n');
    writeFileSync(files.intermediate, ca.intermediate.toString('pem') + '\n');
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', ca.#signingKey);
    writeFileSync(files.key, x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n', { mode: 0o600 });
    return ca;
  }

  /** A fresh CA in memory. */
  static async create(name = 'Sandbox'): Promise<LocalCa> {
    const now = Date.now();
    const rootKeys = await generateKeys();
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${name} Root CA, O=Certificate Lifecycle Sandbox`,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 20 * YEAR_MS),
      keys: rootKeys,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
      ],
    });
    const intermediateKeys = await generateKeys();
    const intermediate = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${name} Issuing CA, O=Certificate Lifecycle Sandbox`,
      issuer: root.subject,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 10 * YEAR_MS),
      publicKey: intermediateKeys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(intermediateKeys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
      ],
    });
    return new LocalCa(root, intermediate, intermediateKeys.privateKey);
  }

  /** Signs a server certificate for the CSR's public key and subject. */
  async issue({ csr, subjectAltNames, notBefore, notAfter, urls }: IssueOptions): Promise<x509.X509Certificate> {
    const names = subjectAltNames.map((value) => ({ type: 'dns' as const, value }));
    return x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: csr.subject,
      issuer: this.intermediate.subject,
      notBefore,
      notAfter,
      publicKey: csr.publicKey,
      signingKey: this.#signingKey,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.intermediate),
        ...(urls
          ? [
              new x509.CRLDistributionPointsExtension([urls.crl]),
              new x509.AuthorityInfoAccessExtension({ ocsp: urls.ocsp, caIssuers: urls.caIssuers }),
            ]
          : []),
      ],
    });
  }

  /**
   * A key and a certificate for TLS from the intermediate, valid a year (see `issueTlsCertificate`). The
   * certificate PEM has the intermediate after it, so that a peer trusting the root verifies it.
   */
  async tlsIdentity(
    role: 'server' | 'client',
    subject: string,
    names: string[] = [],
  ): Promise<{ certificate: string; key: string }> {
    const issuer = { certificate: this.intermediate, signingKey: this.#signingKey };
    const { certificate, key } = await issueTlsCertificate(issuer, { role, subject, names });
    return { certificate: `${certificate}${this.intermediate.toString('pem')}\n`, key };
  }

  /** Answers a DER OCSP request about certificates of the intermediate, signed by it. */
  ocsp(requestDer: Uint8Array, statusOf: (serialHex: string) => SerialStatus, now: number): Promise<Uint8Array> {
    return ocspAnswer(requestDer, { certificate: this.intermediate, signingKey: this.#signingKey }, statusOf, now);
  }

  /**
   * The intermediate's CRL, PEM: every revoked serial (hex) with its date and RFC 5280 reason code, as a
   * relying party (or `openssl crl`) reads it.
   */
  async crl(
    revoked: Array<{ serialNumber: string; revokedAt: number; reasonCode: number }>,
    now: number,
  ): Promise<string> {
    const crl = await x509.X509CrlGenerator.create({
      issuer: this.intermediate.subject,
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + 24 * 3600_000),
      entries: revoked.map((entry) => ({
        serialNumber: entry.serialNumber,
        revocationDate: new Date(entry.revokedAt),
        reason: entry.reasonCode,
      })),
      signingKey: this.#signingKey,
      signingAlgorithm: SIGNING,
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(this.intermediate)],
    });
    return x509.PemConverter.encode(crl.rawData, 'X509 CRL') + '\n';
  }

  /** Intermediate then root, PEM: what SCM appends after the certificate in `x509` collect. */
  get chainPem(): string {
    return `${this.intermediate.toString('pem')}\n${this.root.toString('pem')}\n`;
  }
}

/**
 * A key and a certificate for TLS signed by `issuer`, in PEM: a server's for the names given (DNS names or
 * IP addresses), or a client's with the subject given. Valid from an hour ago, a year unless `notAfter`.
 */
export async function issueTlsCertificate(
  issuer: { certificate: x509.X509Certificate; signingKey: webcrypto.CryptoKey },
  {
    role,
    subject,
    names = [],
    notAfter,
  }: { role: 'server' | 'client'; subject: string; names?: string[]; notAfter?: Date },
): Promise<{ certificate: string; key: string }> {
  const keys = await generateKeys();
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuer.certificate.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: notAfter ?? new Date(now + YEAR_MS),
    publicKey: keys.publicKey,
    signingKey: issuer.signingKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        role === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
      ]),
      ...(names.length > 0
        ? [
            new x509.SubjectAlternativeNameExtension(
              names.map((value) => ({ type: isIP(value) ? ('ip' as const) : ('dns' as const), value })),
            ),
          ]
        : []),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    certificate: `${certificate.toString('pem')}\n`,
    key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n',
  };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** 16 random bytes with the top bit clear: a positive serial, as RFC 5280 requires. */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}
