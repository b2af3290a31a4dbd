/**
 * CSR validation: exactly one PKCS#10 request in the field, its key, its signature and every name it
 * carries, against a profile's policy. Every failure is a `CsrProblem` whose message is written for the
 * requester (it ends up as a Jira comment). What passes is re-encoded, and that PEM is what SCM receives.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { ECParameters } from '@peculiar/asn1-ecc';
import { RSAPublicKey } from '@peculiar/asn1-rsa';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import type { CsrSummary } from '../contract/certificate.ts';
import { DEFAULT_JIRA_NAMES } from '../contract/shared.ts';
import { csrProblems as say, shown } from '../messages.ts';
import { checkDnsName } from './names.ts';
import * as x509 from './x509.ts';

/** SCM's limit on the `csr` field of enroll. */
export const MAX_CSR_LENGTH = 32_767;
/** X.509's upper bound for a Common Name (RFC 5280, ub-common-name). */
export const MAX_COMMON_NAME = 64;

export interface CsrPolicy {
  profileName: string;
  /** The name of the Jira field the CSR is pasted into, for the refusals that speak of it. */
  field: string;
  minRsaBits: number;
  maxRsaBits: number;
  ecCurves: readonly string[];
  allowedDomains: readonly string[];
  maxSubjectAltNames: number;
  isDomainAllowed(domain: string): boolean;
}

export class CsrProblem extends Error {
  override name = 'CsrProblem';
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const CSR_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);

/** A private key block, ended or cut short (a paste that stops halfway is still a key). */
const PRIVATE_KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----[\s\S]*?(?:-----END \1-----|$)/g;

/**
 * The field's text with each private key's body removed, its armour kept: the CSR check still refuses the
 * field, and says why, but the key itself goes no further — not into workflow history, logs or Jira.
 */
export function withoutPrivateKeys(text: string): string {
  return text.replace(
    PRIVATE_KEY_BLOCK,
    (_block, label: string) => `-----BEGIN ${label}-----\n(removed by the connector)\n-----END ${label}-----`,
  );
}

/** The domain a CSR asks for (its CN, else its first SAN), unchecked; undefined when there is no one CSR. */
export function requestedDomain(text: string): string | undefined {
  try {
    const csr = extractOne(text, DEFAULT_JIRA_NAMES.fields.csr);
    const san = csr.extensions.find((ext) => ext instanceof x509.SubjectAlternativeNameExtension);
    const first = san instanceof x509.SubjectAlternativeNameExtension ? san.names.items[0]?.value : undefined;
    return (csr.subjectName.getField('CN')[0] ?? first)?.toLowerCase();
  } catch {
    return undefined;
  }
}

/** Parses and checks a PEM CSR against a profile's policy; throws CsrProblem with the user-facing reason. */
export async function inspectCsr(text: string, policy: CsrPolicy): Promise<CsrSummary> {
  const csr = extractOne(text, policy.field);
  const keyType = checkKey(csr, policy);

  let signatureValid = false;
  try {
    signatureValid = await csr.verify();
  } catch {
    // A malformed key makes verification throw; both mean the signature cannot be trusted.
  }
  if (!signatureValid) throw new CsrProblem(say.badSignature);

  // SCM and TLS clients disagree on which of several CNs is the certificate's name, and a check of only
  // the first let a second, unchecked one be issued: a subject names one domain at most.
  const commonNames = csr.subjectName.getField('CN');
  if (commonNames.length > 1) throw new CsrProblem(say.severalCommonNames(commonNames.map((name) => shown(name))));
  const commonName = commonNames[0]?.toLowerCase();
  if (commonName !== undefined && commonName.length > MAX_COMMON_NAME) {
    throw new CsrProblem(say.commonNameTooLong(commonName.length));
  }
  const san = csr.extensions.find((ext) => ext instanceof x509.SubjectAlternativeNameExtension);
  const sanItems = san instanceof x509.SubjectAlternativeNameExtension ? san.names.items : [];
  const unsupported = sanItems.filter((name) => name.type !== 'dns');
  if (unsupported.length > 0) {
    throw new CsrProblem(say.notDnsSans(unsupported.map((name) => `${name.type}:${shown(name.value)}`)));
  }
  const subjectAltNames = sanItems.map((name) => name.value.toLowerCase());
  const domain = commonName ?? subjectAltNames[0];
  if (domain === undefined) throw new CsrProblem(say.noName);
  if (subjectAltNames.length > policy.maxSubjectAltNames) {
    throw new CsrProblem(say.tooManySans(subjectAltNames.length, policy.profileName, policy.maxSubjectAltNames));
  }
  const names = [...new Set([domain, ...subjectAltNames])];
  for (const name of names) {
    const check = checkDnsName(name);
    if (check.ok) continue;
    throw new CsrProblem(
      'aLabel' in check ? say.internationalized(name, check.aLabel) : say.notDnsName(name, check.why),
    );
  }
  const refused = names.filter((name) => !policy.isDomainAllowed(name));
  if (refused.length > 0) throw new CsrProblem(say.domainsRefused(refused, policy.profileName, policy.allowedDomains));
  return { pem: csr.toString('pem') + '\n', commonName, subjectAltNames, domain, keyType };
}

/** The one CSR of the field; any other PEM block, a second CSR or none at all is refused. */
function extractOne(text: string, field: string): x509.Pkcs10CertificateRequest {
  const trimmed = text.trim();
  if (trimmed === '') throw new CsrProblem(say.empty(field));
  if (trimmed.length > MAX_CSR_LENGTH) throw new CsrProblem(say.tooLong(trimmed.length, MAX_CSR_LENGTH));
  const blocks = [...trimmed.matchAll(PEM_BLOCK)];
  if (blocks.some(([, label]) => label?.includes('PRIVATE KEY'))) throw new CsrProblem(say.privateKey(field));
  const requests = blocks.filter(([, label]) => CSR_LABELS.has(label ?? ''));
  if (requests.length === 0) throw new CsrProblem(say.notPem);
  if (requests.length > 1) throw new CsrProblem(say.several(field, requests.length));
  const body = (requests[0]?.[2] ?? '').replace(/\s+/g, '');
  try {
    return new x509.Pkcs10CertificateRequest(Buffer.from(body, 'base64'));
  } catch {
    throw new CsrProblem(say.undecodable);
  }
}

/** Curves by OID; those a CA would not take are named so that the refusal says which curve it was. */
const CURVES: Record<string, string> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
  '1.3.132.0.10': 'secp256k1',
  '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1',
  '1.3.36.3.3.2.8.1.1.11': 'brainpoolP384r1',
};
const RSA = '1.2.840.113549.1.1.1';
const EC = '1.2.840.10045.2.1';
const KEY_NAMES: Record<string, string> = {
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
  '1.2.840.10040.4.1': 'DSA',
};

/**
 * "RSA - 2048" or "EC - P-256", as SCM writes key types. Read from the public key's own encoding, before
 * the signature is checked, so that a key the profile refuses is named as such.
 */
function checkKey(csr: x509.Pkcs10CertificateRequest, policy: CsrPolicy): string {
  let spki: SubjectPublicKeyInfo;
  try {
    spki = AsnConvert.parse(csr.publicKey.rawData, SubjectPublicKeyInfo);
  } catch {
    throw new CsrProblem(say.undecodable);
  }
  const oid = spki.algorithm.algorithm;
  if (oid === RSA) {
    let bits: number;
    try {
      const key = AsnConvert.parse(spki.subjectPublicKey, RSAPublicKey);
      const modulus = new Uint8Array(key.modulus);
      const first = modulus.findIndex((byte) => byte !== 0);
      bits = first < 0 ? 0 : (modulus.length - first - 1) * 8 + (32 - Math.clz32(modulus[first] ?? 0));
    } catch {
      throw new CsrProblem(say.undecodable);
    }
    if (bits < policy.minRsaBits) throw new CsrProblem(say.rsaTooSmall(bits, policy.profileName, policy.minRsaBits));
    if (bits > policy.maxRsaBits) throw new CsrProblem(say.rsaTooLarge(bits, policy.profileName, policy.maxRsaBits));
    return `RSA - ${bits}`;
  }
  if (oid === EC) {
    let curveOid = '';
    try {
      const parameters = spki.algorithm.parameters;
      curveOid = parameters ? (AsnConvert.parse(parameters, ECParameters).namedCurve ?? '') : '';
    } catch {
      // Explicit curve parameters: no CA accepts them; refused below as an unnamed curve.
    }
    const curve = CURVES[curveOid] ?? (curveOid === '' ? 'with explicit parameters' : curveOid);
    if (!policy.ecCurves.includes(curve))
      throw new CsrProblem(say.curveRefused(curve, policy.profileName, policy.ecCurves));
    return `EC - ${curve}`;
  }
  throw new CsrProblem(say.keyTypeRefused(KEY_NAMES[oid] ?? oid, policy.minRsaBits, policy.ecCurves));
}
