/**
 * Checks an SCM admin's client certificate and key when the configuration is loaded, so that a wrong file
 * is named at start rather than met as a failed TLS handshake on the first order.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { ClientCertificate, ScmAuth } from './client.ts';

/** What is wrong with the certificate and its key at `now`, in words for the operator; undefined if nothing. */
export function clientCertificateProblem(
  { certificate, key, passphrase }: ClientCertificate,
  now = Date.now(),
): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificate);
  } catch {
    return 'the certificate is not a PEM certificate';
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(passphrase ? { key, passphrase } : { key });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MISSING_PASSPHRASE') return 'the key is encrypted: give its passphrase';
    return passphrase
      ? 'the key is not a PEM private key, or the passphrase is not its own'
      : 'the key is not a PEM private key';
  }
  if (!cert.checkPrivateKey(privateKey)) return `the key is not the certificate's (${cert.subject})`;
  if (Date.parse(cert.validTo) < now) return `the certificate expired on ${new Date(cert.validTo).toISOString()}`;
  if (Date.parse(cert.validFrom) > now) {
    return `the certificate is not valid before ${new Date(cert.validFrom).toISOString()}`;
  }
  return undefined;
}

/** When the client certificate of `auth` expires (epoch ms); undefined for other ways to log in. */
export function clientCertificateExpiry(auth: ScmAuth): number | undefined {
  return auth.kind === 'certificate' ? Date.parse(new X509Certificate(auth.certificate).validTo) : undefined;
}
