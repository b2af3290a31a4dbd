/**
 * CSR validation: PEM, signature, key type and size, names against the profile. Every failure is a
 * `CsrProblem` whose message is written for the requester, because it ends up as a Jira comment.
 */
import type { CsrSummary } from '../contract.ts';
import * as x509 from './x509.ts';

/** SCM's limit on the `csr` field of enroll. */
export const MAX_CSR_LENGTH = 32_767;

export interface CsrPolicy {
  profileName: string;
  minRsaBits: number;
  ecCurves: readonly string[];
  allowedDomains: readonly string[];
  maxSubjectAltNames: number;
  isDomainAllowed(domain: string): boolean;
}

export class CsrProblem extends Error {
  override name = 'CsrProblem';
}

const PEM_BLOCK = /-----BEGIN (NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (NEW )?CERTIFICATE REQUEST-----/;

/** Parses and checks a PEM CSR against a profile's policy; throws CsrProblem with the user-facing reason. */
export async function inspectCsr(pem: string, policy: CsrPolicy): Promise<CsrSummary> {
  const text = pem.trim();
  if (text === '') throw new CsrProblem('The "Certificate CSR text" field is empty.');
  if (text.length > MAX_CSR_LENGTH) {
    throw new CsrProblem(`The CSR is ${text.length} characters long; the limit is ${MAX_CSR_LENGTH}.`);
  }
  const block = PEM_BLOCK.exec(text);
  if (!block) {
    throw new CsrProblem(
      'The CSR is not a PEM certificate signing request: it must start with ' +
        '"-----BEGIN CERTIFICATE REQUEST-----" and end with "-----END CERTIFICATE REQUEST-----".',
    );
  }

  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(block[0].replace(/NEW CERTIFICATE REQUEST/g, 'CERTIFICATE REQUEST'));
  } catch {
    throw new CsrProblem('The CSR could not be decoded: its PEM body is not a valid PKCS#10 request.');
  }

  let signatureValid = false;
  try {
    signatureValid = await csr.verify();
  } catch {
    // An unsupported or malformed key makes verification throw; both mean the signature cannot be trusted.
  }
  if (!signatureValid) {
    throw new CsrProblem(
      "The CSR's signature does not match its contents: the request was altered after it was signed, or is damaged.",
    );
  }

  const keyType = describeKey(csr.publicKey.algorithm as { name: string }, policy);
  const commonName = csr.subjectName.getField('CN')[0];
  const san = csr.extensions.find((ext) => ext instanceof x509.SubjectAlternativeNameExtension);
  const sanItems = san instanceof x509.SubjectAlternativeNameExtension ? san.names.items : [];
  const unsupported = sanItems.filter((name) => name.type !== 'dns');
  if (unsupported.length > 0) {
    throw new CsrProblem(
      `The CSR has Subject Alternative Names that are not DNS names (${unsupported
        .map((name) => `${name.type}:${name.value}`)
        .join(', ')}); only DNS names are accepted.`,
    );
  }
  const subjectAltNames = sanItems.map((name) => name.value.toLowerCase());
  const domain = commonName?.toLowerCase() ?? subjectAltNames[0];
  if (domain === undefined) {
    throw new CsrProblem(
      'The CSR names no domain: it has neither a Common Name (CN) nor a DNS Subject Alternative Name.',
    );
  }
  if (subjectAltNames.length > policy.maxSubjectAltNames) {
    throw new CsrProblem(
      `The CSR has ${subjectAltNames.length} Subject Alternative Names; profile "${policy.profileName}" allows at most ${policy.maxSubjectAltNames}.`,
    );
  }
  const names = [...new Set([domain, ...subjectAltNames])];
  const refused = names.filter((name) => !policy.isDomainAllowed(name));
  if (refused.length > 0) {
    throw new CsrProblem(
      `The CSR names ${refused.join(', ')}, which profile "${policy.profileName}" does not allow ` +
        `(allowed: ${policy.allowedDomains.join(', ')}).`,
    );
  }
  return { commonName: commonName?.toLowerCase(), subjectAltNames, domain, keyType };
}

interface KeyAlgorithmInfo {
  name: string;
  modulusLength?: number;
  namedCurve?: string;
}

/** "RSA - 2048" or "EC - P-256", as SCM writes key types; throws when the profile refuses the key. */
function describeKey(algorithm: { name: string }, policy: CsrPolicy): string {
  const info = algorithm as KeyAlgorithmInfo;
  if (info.name.startsWith('RSA') && info.modulusLength !== undefined) {
    if (info.modulusLength < policy.minRsaBits) {
      throw new CsrProblem(
        `The CSR's RSA key has ${info.modulusLength} bits; profile "${policy.profileName}" requires at least ${policy.minRsaBits}.`,
      );
    }
    return `RSA - ${info.modulusLength}`;
  }
  if (info.name === 'ECDSA' && info.namedCurve !== undefined) {
    if (!policy.ecCurves.includes(info.namedCurve)) {
      throw new CsrProblem(
        `The CSR's EC key uses curve ${info.namedCurve}; profile "${policy.profileName}" accepts ${policy.ecCurves.join(', ')}.`,
      );
    }
    return `EC - ${info.namedCurve}`;
  }
  throw new CsrProblem(
    `The CSR's key type (${info.name}) is not accepted; use RSA (at least ${policy.minRsaBits} bits) or EC (${policy.ecCurves.join(', ')}).`,
  );
}
