/**
 * What a secured production stack needs beside the server, made on its first start and kept in its
 * directory: TLS material (a CA that signs the frontend's certificate for 127.0.0.1 and localhost, and a
 * client CA with one client certificate, for mTLS) and, for API keys, an RSA signing key whose public half
 * a small JWKS endpoint serves to the server's JWT key provider. The tests make foreign certificates and
 * tokens with the same functions.
 */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import * as x509 from '../src/csr/x509.ts';
import { issueTlsCertificate } from '../src/sandbox/ca.ts';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600_000;

export interface Authority {
  certificate: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

/** A self-signed CA, valid for a year. */
export async function certificateAuthority(name: string): Promise<Authority> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 365 * DAY_MS),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, keys };
}

/** A certificate and its key in PEM, signed by `ca`: a server's (for loopback) or a client's. */
export function issueCertificate(
  ca: Authority,
  { commonName, usage, notAfter }: { commonName: string; usage: 'server' | 'client'; notAfter?: Date },
): Promise<{ certificate: string; key: string }> {
  return issueTlsCertificate(
    { certificate: ca.certificate, signingKey: ca.keys.privateKey },
    {
      role: usage,
      subject: `CN=${commonName}`,
      names: usage === 'server' ? ['localhost', '127.0.0.1'] : [],
      notAfter: notAfter ?? new Date(Date.now() + 90 * DAY_MS),
    },
  );
}

/** The PEM files of a secured stack, by role. */
export interface TlsFiles {
  /** The CA that signed the frontend's certificate: what clients trust (TEMPORAL_TLS_SERVER_CA_CERT_PATH). */
  serverCa: string;
  serverCertificate: string;
  serverKey: string;
  /** The CA whose client certificates the frontend accepts (mTLS). */
  clientCa: string;
  clientCertificate: string;
  clientKey: string;
}

/** The stack's TLS material under `dir/tls`, made once. */
export async function tlsFiles(dir: string): Promise<TlsFiles> {
  const tls = join(dir, 'tls');
  const files: TlsFiles = {
    serverCa: join(tls, 'server-ca.pem'),
    serverCertificate: join(tls, 'server.pem'),
    serverKey: join(tls, 'server.key'),
    clientCa: join(tls, 'client-ca.pem'),
    clientCertificate: join(tls, 'client.pem'),
    clientKey: join(tls, 'client.key'),
  };
  if ((Object.values(files) as string[]).every((file) => existsSync(file))) return files;
  mkdirSync(tls, { recursive: true });
  const serverCa = await certificateAuthority('Production stack server CA');
  const server = await issueCertificate(serverCa, { commonName: 'localhost', usage: 'server' });
  const clientCa = await certificateAuthority('Production stack client CA');
  const client = await issueCertificate(clientCa, { commonName: 'certificate-connector', usage: 'client' });
  const write = (file: string, pem: string, secret = false) =>
    writeFileSync(file, pem, { mode: secret ? 0o600 : 0o644 });
  write(files.serverCa, serverCa.certificate.toString('pem') + '\n');
  write(files.serverCertificate, server.certificate);
  write(files.serverKey, server.key, true);
  write(files.clientCa, clientCa.certificate.toString('pem') + '\n');
  write(files.clientCertificate, client.certificate);
  write(files.clientKey, client.key, true);
  return files;
}

const RS256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** The claims of an API key the server's default claim mapper reads. */
export interface ApiKeyClaims {
  /** Who the key is for (`sub`). */
  subject: string;
  /** `<namespace>:<role>` (read, write, worker, admin); `temporal-system:admin` for the whole server. */
  permissions: string[];
  /** Seconds from now; negative for a key that has already expired. */
  expiresInSeconds: number;
}

/** An RS256 signing key: it mints API keys (JWTs) and gives its public half as a JWKS. */
export class TokenSigner {
  readonly #keys: webcrypto.CryptoKeyPair;
  readonly keyId: string;

  private constructor(keys: webcrypto.CryptoKeyPair, keyId: string) {
    this.#keys = keys;
    this.keyId = keyId;
  }

  /** A fresh signer (a foreign one, in the tests). */
  static async create(): Promise<TokenSigner> {
    const keys = await webcrypto.subtle.generateKey(
      { ...RS256, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
      true,
      ['sign', 'verify'],
    );
    return new TokenSigner(keys, await keyIdOf(keys.publicKey));
  }

  /** The stack's signer, kept in `file` (its private key, readable by its owner only). */
  static async open(file: string): Promise<TokenSigner> {
    if (!existsSync(file)) {
      const signer = await TokenSigner.create();
      const jwk = await webcrypto.subtle.exportKey('jwk', signer.#keys.privateKey);
      writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
      return signer;
    }
    const jwk = JSON.parse(readFileSync(file, 'utf8')) as webcrypto.JsonWebKey;
    const privateKey = await webcrypto.subtle.importKey('jwk', jwk, RS256, true, ['sign']);
    const { n, e } = jwk;
    const publicKey = await webcrypto.subtle.importKey('jwk', { kty: 'RSA', n, e }, RS256, true, ['verify']);
    return new TokenSigner({ privateKey, publicKey }, await keyIdOf(publicKey));
  }

  /** A JWT the server takes as an API key. */
  async mint({ subject, permissions, expiresInSeconds }: ApiKeyClaims): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signed = `${encode({ alg: 'RS256', typ: 'JWT', kid: this.keyId })}.${encode({
      sub: subject,
      permissions,
      iat: now,
      exp: now + expiresInSeconds,
    })}`;
    const signature = await webcrypto.subtle.sign(RS256, this.#keys.privateKey, Buffer.from(signed));
    return `${signed}.${Buffer.from(signature).toString('base64url')}`;
  }

  /** The JWKS document of the public key. */
  async jwks(): Promise<{ keys: object[] }> {
    const { n, e } = await webcrypto.subtle.exportKey('jwk', this.#keys.publicKey);
    return { keys: [{ kty: 'RSA', use: 'sig', alg: 'RS256', kid: this.keyId, n, e }] };
  }
}

async function keyIdOf(publicKey: webcrypto.CryptoKey): Promise<string> {
  const spki = await webcrypto.subtle.exportKey('spki', publicKey);
  return createHash('sha256').update(Buffer.from(spki)).digest('base64url').slice(0, 16);
}

/** Serves the signer's JWKS at `/jwks.json` on loopback, where the server's key provider reads it. */
export async function serveJwks(signer: TokenSigner, port: number): Promise<{ url: string; server: Server }> {
  const body = JSON.stringify(await signer.jwks());
  const server = createServer((req, res) => {
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { url: `http://127.0.0.1:${port}/jwks.json`, server };
}
