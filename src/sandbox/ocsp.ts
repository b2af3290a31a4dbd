/**
 * The emulated CA's OCSP responder (RFC 6960): what a TLS client asks, at the address in each issued
 * certificate's Authority Information Access, whether a certificate is revoked. The issuing CA signs the
 * answers itself, so `openssl ocsp -issuer <intermediate> -CAfile <root>` verifies them.
 */
import { webcrypto } from 'node:crypto';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Certificate, CRLReason, Extension, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import * as x509 from '../csr/x509.ts';

/** What the CA knows of a serial number (hex, upper case, no colons). */
export type SerialStatus =
  { kind: 'good' } | { kind: 'revoked'; revokedAt: number; reasonCode: number } | { kind: 'unknown' };

const HASHES: Record<string, string> = { '1.3.14.3.2.26': 'SHA-1', '2.16.840.1.101.3.4.2.1': 'SHA-256' };
const SIGNING = { name: 'ECDSA', hash: 'SHA-256', namedCurve: 'P-256' } as const;

/** Answers a DER OCSP request for certificates `issuer` signed; a request it cannot read is told so. */
export async function ocspAnswer(
  requestDer: ArrayBuffer | Uint8Array,
  issuer: { certificate: x509.X509Certificate; signingKey: webcrypto.CryptoKey },
  statusOf: (serialHex: string) => SerialStatus,
  now: number,
): Promise<Uint8Array> {
  let request: OCSPRequest;
  try {
    request = AsnConvert.parse(requestDer, OCSPRequest);
  } catch {
    return der(new OCSPResponse({ responseStatus: OCSPResponseStatus.malformedRequest }));
  }
  const issuerKey = AsnConvert.parse(issuer.certificate.publicKey.rawData, SubjectPublicKeyInfo).subjectPublicKey;
  const responses: SingleResponse[] = [];
  for (const { reqCert } of request.tbsRequest.requestList) {
    const hash = HASHES[reqCert.hashAlgorithm.algorithm];
    const ours =
      hash !== undefined &&
      Buffer.from(await webcrypto.subtle.digest(hash, issuerKey)).equals(Buffer.from(reqCert.issuerKeyHash.buffer));
    const serial = Buffer.from(reqCert.serialNumber).toString('hex').toUpperCase().replace(/^0+/, '');
    const status: SerialStatus = ours ? statusOf(serial) : { kind: 'unknown' };
    responses.push(
      new SingleResponse({
        certID: new CertID(reqCert),
        certStatus: certStatus(status),
        thisUpdate: new Date(now),
        nextUpdate: new Date(now + 3600_000),
      }),
    );
  }
  // The nonce goes back as it came, so that a client that sent one accepts the answer as fresh.
  const nonce = request.tbsRequest.requestExtensions?.filter((e) => e.extnID === id_pkix_ocsp_nonce) ?? [];
  const data = new ResponseData({
    responderID: new ResponderID({
      byKey: new OctetString(await webcrypto.subtle.digest('SHA-1', issuerKey)),
    }),
    producedAt: new Date(now),
    responses,
    ...(nonce.length > 0 ? { responseExtensions: nonce.map((e) => new Extension(e)) } : {}),
  });
  const tbs = AsnConvert.serialize(data);
  const signature = await webcrypto.subtle.sign(SIGNING, issuer.signingKey, tbs);
  const algorithm = new x509.EcAlgorithm().toAsnAlgorithm(SIGNING);
  const asnSignature = new x509.AsnEcSignatureFormatter().toAsnSignature(SIGNING, signature);
  if (!algorithm || !asnSignature) throw new Error('the CA key cannot sign OCSP answers');
  const basic = new BasicOCSPResponse({
    tbsResponseData: data,
    signatureAlgorithm: algorithm,
    signature: asnSignature,
    certs: [AsnConvert.parse(issuer.certificate.rawData, Certificate)],
  });
  return der(
    new OCSPResponse({
      responseStatus: OCSPResponseStatus.successful,
      responseBytes: new ResponseBytes({
        responseType: id_pkix_ocsp_basic,
        response: new OctetString(AsnConvert.serialize(basic)),
      }),
    }),
  );
}

function certStatus(status: SerialStatus): CertStatus {
  if (status.kind === 'good') return new CertStatus({ good: null });
  if (status.kind === 'unknown') return new CertStatus({ unknown: null });
  return new CertStatus({
    revoked: new RevokedInfo({
      revocationTime: new Date(status.revokedAt),
      revocationReason: new CRLReason(status.reasonCode),
    }),
  });
}

function der(value: object): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(value));
}
