/**
 * Every text a Jira user reads from the connector, in one place: comments from the workflows, the
 * receiver's answers and the CSR checks. Pure functions of their facts, safe in workflow code. Names
 * taken from a request (domains, reasons) are quoted with `shown`, so that nothing in a CSR can forge
 * the layout of a comment.
 */
import type { FoundCertificate } from './contract.ts';

/** The refusal users of the original connector know, word for word (with its typographic apostrophe). */
export const RENEWAL_OUTSIDE_WINDOW =
  'The certificate’s profile does not allow renewal outside of the configured expiry window';

const NEW_CSR_HINT =
  'Paste a corrected CSR into "Certificate CSR text" (for example from ' +
  '`openssl req -new -newkey rsa:2048 -nodes -keyout <domain>.key -out <domain>.csr -subj "/CN=<domain>"`) ' +
  'and run "%TRANSITION%" again. Keep the private key; it never leaves you.';

/** What the requester can do about each kind of refusal; `%TRANSITION%` is the transition to run again. */
export const WHAT_TO_DO = {
  CsrRejected: NEW_CSR_HINT,
  RequestIncomplete: 'Complete the issue and run "%TRANSITION%" again.',
  CaDeclined:
    'Check the order and the domain validation in Sectigo Certificate Manager, or ask your SCM administrator; ' +
    'then run "%TRANSITION%" again.',
  UpstreamRejected:
    'Sectigo refused the order. Fix what it names (often the profile or the domain) and run "%TRANSITION%" again.',
  Internal:
    'If this keeps happening, ask your connector administrator: the Temporal Web UI shows the details. ' +
    'You can also run "%TRANSITION%" again.',
} as const;

export type Remedy = keyof typeof WHAT_TO_DO;

const whatToDo = (remedy: Remedy, transition: string) => WHAT_TO_DO[remedy].replace('%TRANSITION%', transition);

/** A name or value from a request, quoted and bounded, with control characters made visible. */
export function shown(value: string, max = 80): string {
  const quoted = JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
  return quoted.slice(1, -1) === value ? value : quoted;
}

export const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const isoTime = (ms: number): string => new Date(ms).toISOString();

export const comments = {
  requested: (domain: string, also: string[], profileName: string, keyType: string) =>
    `Certificate requested for ${domain}${also.length > 0 ? ` (also ${also.join(', ')})` : ''}, ` +
    `profile "${profileName}", ${keyType} key. Ordering it from Sectigo Certificate Manager.`,

  enrolled: (certificateId: number, serial: string, notAfter: number) =>
    `Certificate enrolled: Certificate ID ${certificateId}, serial ${serial}, valid until ${isoTime(notAfter)}.`,

  renewed: (how: RenewalKind, certificateId: number, replaces: number, serial: string, notAfter: number) =>
    `Certificate renewed${RENEWAL_KIND_WORDS[how]}: Certificate ID ${certificateId} replaces ${replaces}, ` +
    `serial ${serial}, valid until ${isoTime(notAfter)}.`,

  /** Said with the enrolled or renewed comment when the request changed under it. */
  csrChangedWhileIssued:
    'The "Certificate CSR text" was edited while this certificate was being issued: it is for the CSR as it was ' +
    'at the request, with that key. Run "Renew Certificate" to get one for the CSR now on the issue.',
  namesChanged: (before: string, now: string) =>
    `The CSR on the issue names ${now} instead of ${before}: the renewed certificate is for ${now}.`,
  profileKept: (asked: string, kept: string) =>
    `The issue's "Certificate profile" is now "${asked}", but a renewal keeps the profile of the certificate it ` +
    `renews ("${kept}"). To move to "${asked}", revoke this certificate and request a new one.`,

  attached: (filename: string) => `Certificate attached: ${filename} (certificate and chain, PEM).`,

  enrollmentFailed: (reason: string, remedy: Remedy) =>
    `Enrollment failed: ${reason}\n\n${whatToDo(remedy, 'Enroll Certificate')}`,

  renewalFailed: (reason: string, remedy: Remedy, retriesByItself: boolean) =>
    `Renewal failed: ${reason}\n\n${whatToDo(remedy, 'Renew Certificate')}` +
    (retriesByItself
      ? ' The connector also retries by itself, with growing pauses, until the certificate expires.'
      : ''),

  windowAdjusted: (profileName: string, clamped: boolean, certificateId: number, windowOpensAt: number) =>
    `The expiry window of profile "${profileName}" ${
      clamped ? "is as long as this certificate's lifetime or longer" : 'is not a usable value'
    }; certificate ${certificateId} renews from ${isoTime(windowOpensAt)} instead.`,

  expired: (certificateId: number, domain: string, notAfter: number) =>
    `Certificate ${certificateId} for ${domain} expired on ${isoDate(notAfter)}. Run "Renew Certificate" to renew it.`,

  windowOpen: (certificateId: number, domain: string, notAfter: number, profileName: string) =>
    `Certificate ${certificateId} for ${domain} expires on ${isoDate(notAfter)}; ` +
    `auto-renewal is off for profile "${profileName}". Run "Renew Certificate" to renew it.`,

  escalation: (certificateId: number, domain: string, notAfter: number, days: number, lastError: string) =>
    `Certificate ${certificateId} for ${domain} expires on ${isoDate(notAfter)}, ` +
    `in ${days} day${days === 1 ? '' : 's'} or less, and renewal keeps failing: ${lastError}. ` +
    'Fix the cause and run "Renew Certificate".',

  revokedOutside: (certificateId: number, domain: string) =>
    `Certificate ${certificateId} for ${domain} was revoked in Sectigo Certificate Manager, outside Jira. ` +
    'It is no longer renewed. Create a new Certificate request if the domain still needs one.',

  changedInScm: (certificateId: number, scmStatus: string) =>
    `Sectigo Certificate Manager shows certificate ${certificateId} as ${scmStatus}, outside Jira. ` +
    'Run "Renew Certificate" to issue a replacement through Jira.',

  revoked: (
    certificates: Array<{ certificateId: number; serialNumber: string; already: boolean }>,
    reason: string,
    by: string,
    at: number,
    comment: string | undefined,
    unpublished: number[],
  ) =>
    `Certificate${certificates.length === 1 ? '' : 's'} revoked on ${isoTime(at)} by ${shown(by)}, reason: ${reason}.\n\n` +
    certificates
      .map(
        (c) =>
          `- Certificate ID ${c.certificateId}, serial ${c.serialNumber}` +
          (unpublished.includes(c.certificateId)
            ? ' (issued while the revocation was asked for; never published)'
            : '') +
          (c.already ? ' (Sectigo Certificate Manager showed it revoked already)' : ''),
      )
      .join('\n') +
    (comment ? `\n\nComment: ${comment}` : '') +
    '\n\nNothing on this issue is renewed any more.',

  revokedAllExpired: (certificates: Array<{ certificateId: number; notAfter: number }>, by: string, at: number) =>
    `Revocation asked for by ${shown(by)} on ${isoTime(at)}: no certificate of this issue is valid any more, ` +
    'so none needed to be revoked.\n\n' +
    certificates.map((c) => `- Certificate ID ${c.certificateId}, expired ${isoTime(c.notAfter)}`).join('\n') +
    '\n\nNothing on this issue is renewed any more.',

  revokedNothingIssued: (by: string, at: number) =>
    `Revocation asked for by ${shown(by)} on ${isoTime(at)}, before any certificate was issued: the request is ` +
    'withdrawn and nothing was ordered. Nothing on this issue is renewed.',

  profileMissing: (profileId: string) =>
    `The certificate profile "${profileId}" of this issue is no longer configured, so the certificate is not ` +
    'renewed for now. Ask your connector administrator to restore the profile: renewal planning resumes as ' +
    'soon as it is back (at the latest after the next daily sweep).',

  profileRestored: (profileName: string) =>
    `The certificate profile "${profileName}" is configured again; renewal planning has resumed.`,

  unownedOrder: (certificateId: number) =>
    `Sectigo Certificate Manager has order ${certificateId}, placed for this issue by the connector, but it ` +
    'is not the certificate this issue tracks (a duplicate left by a lost answer from SCM). Nothing uses it: ' +
    'ask your SCM administrator to revoke or decline it. `npm run cli -- unowned` lists all such orders.',

  renewalJoined: () =>
    'A renewal of this certificate is already under way; this request is part of it. The new certificate ' +
    'will be attached here.',

  failed: (reason: string, workflowId: string, enrolled: boolean) =>
    `The connector could not finish this request: ${reason}\n\n` +
    `Nothing more happens on this issue until it is fixed. Your connector administrator sees the details in ` +
    `the Temporal Web UI (workflow ${workflowId}). ` +
    (enrolled
      ? 'The certificate already attached stays valid; run "Renew Certificate" once the cause is fixed.'
      : 'Run "Enroll Certificate" again once the cause is fixed.'),
};

/** Why a certificate was renewed, as the renewal comment says it. */
export type RenewalKind = 'manual' | 'forced' | 'profile-forced' | 'automatic' | 'enrolled';
const RENEWAL_KIND_WORDS: Record<RenewalKind, string> = {
  manual: '',
  forced: ' (forced)',
  'profile-forced': ' (forced by the profile)',
  automatic: ' automatically',
  enrolled: '',
};

/** Refusals of a renewal request, told on the issue by the receiver (the request never reached a workflow). */
export const renewalRefusals = {
  outsideWindow: RENEWAL_OUTSIDE_WINDOW,
  notEnrolled: 'This issue has no enrolled certificate to renew; run "Enroll Certificate" first.',
  rejected:
    'This issue has no certificate to renew: its request was not enrolled. Fix the request and run "Enroll Certificate".',
  revoked: 'The certificate of this issue was revoked, so it cannot be renewed. Create a new Certificate request.',
};

/** What a "Revoke Certificate" issue (a certificate not enrolled through Jira) is told. */
export const externalRevocation = {
  askReason: (field: string, choices: string) =>
    `Choose a "${field}" (${choices}) on this issue; the certificate is revoked as soon as there is one.`,
  askWhat: (idField: string, domainField: string) =>
    `Fill in "${idField}" (from Sectigo Certificate Manager) or "${domainField}" on this issue to say which ` +
    'certificate to revoke.',
  unknownProfile: (choices: string[]) =>
    `Choose a "Certificate profile" of the connector (${choices.map((c) => `"${c}"`).join(', ')}); only ` +
    'certificates of a configured profile can be revoked here. Nothing was revoked.',
  none: (what: string) =>
    `No issued certificate of the chosen profile matches ${what} in Sectigo Certificate Manager. Nothing was ` +
    'revoked; correct the issue to try again.',
  foreign: (certificateId: number) =>
    `Certificate ${certificateId} is not of the chosen profile (its SCM certificate type and organization), ` +
    "so it is not the connector's to revoke. Nothing was revoked.",
  ambiguous: (domain: string, candidates: FoundCertificate[]) =>
    `${candidates.length} issued certificates match ${domain}; fill in "Certificate ID" with the one to revoke:\n\n` +
    candidates
      .map(
        (c) =>
          `- ID ${c.certificateId}, serial ${c.serialNumber}` +
          (c.expires !== undefined ? `, expires ${isoDate(c.expires)}` : '') +
          (c.requester ? `, requested by ${c.requester}` : ''),
      )
      .join('\n'),
  revoked: (c: FoundCertificate, reason: string, by: string, already: boolean) =>
    already
      ? `Certificate ${c.certificateId} (${c.commonName}, serial ${c.serialNumber}) was revoked already in ` +
        'Sectigo Certificate Manager; nothing more to do.'
      : `Certificate ${c.certificateId} (${c.commonName}, serial ${c.serialNumber}) has been revoked, reason: ` +
        `${reason}, asked for by ${shown(by)}.`,
  notIssued: (c: FoundCertificate) =>
    `Certificate ${c.certificateId} (${c.commonName}) is ${c.status} in Sectigo Certificate Manager, not issued: ` +
    'there is nothing to revoke. Nothing was revoked; correct "Certificate ID" if you meant another one.',
  contradictory: (c: FoundCertificate, domain: string) =>
    `"Certificate ID" ${c.certificateId} is a certificate for ${c.commonName}, not for ${shown(domain)} as ` +
    '"Certificate domain" says. Nothing was revoked: correct the field that is wrong, or empty one of them.',
  revokedThroughIssue: (c: FoundCertificate, issueKey: string) =>
    `Certificate ${c.certificateId} (${c.commonName}) was enrolled through Jira issue ${issueKey}; it has been ` +
    `revoked through that issue, which no longer renews it.`,
  gaveUp:
    'Nothing was revoked: this request waited 30 days for the fields to be corrected. Create a new one if needed.',
};

/** Refusals of a revocation request, told on the issue by the receiver; the issue returns where it was. */
export const revocationRefusals = {
  notEnrolled: 'This issue has no enrolled certificate to revoke; nothing was revoked.',
  noReason: (field: string, choices: string) =>
    `Choose a "${field}" (${choices}) in the "Revoke Certificate" dialog; nothing was revoked.`,
  notInGroup: (group: string, requesterToo = false) =>
    `Only members of the Jira group "${group}"${requesterToo ? ' and the person who requested the certificate' : ''} ` +
    'may revoke certificates; nothing was revoked.',
  notRequester:
    'Only the person who requested this certificate may revoke it (your connector administrator can name a ' +
    'group of revokers too); nothing was revoked.',
  noRevokersGroup:
    'Certificates not enrolled through Jira may be revoked here only by a group of revokers, which your ' +
    'connector administrator has not named (JIRA_REVOKERS_GROUP); nothing was revoked.',
  alreadyRevoked: 'The certificates of this issue were revoked already; nothing more to do.',
};

/** What the CSR checks say; each is a complete sentence for the requester. */
export const csrProblems = {
  empty: 'The "Certificate CSR text" field is empty.',
  tooLong: (length: number, limit: number) => `The CSR is ${length} characters long; the limit is ${limit}.`,
  notPem:
    'The CSR is not a PEM certificate signing request: it must start with ' +
    '"-----BEGIN CERTIFICATE REQUEST-----" and end with "-----END CERTIFICATE REQUEST-----".',
  several: (count: number) =>
    `The "Certificate CSR text" field holds ${count} certificate signing requests; paste exactly one.`,
  privateKey:
    'The "Certificate CSR text" field contains a private key. Never share a private key: treat this one as ' +
    'compromised, make a new key and CSR, and paste only the CSR (the "CERTIFICATE REQUEST" block).',
  undecodable: 'The CSR could not be decoded: its PEM body is not a valid PKCS#10 request.',
  badSignature:
    "The CSR's signature does not match its contents: the request was altered after it was signed, or is damaged.",
  rsaTooSmall: (bits: number, profile: string, min: number) =>
    `The CSR's RSA key has ${bits} bits; profile "${profile}" requires at least ${min}.`,
  rsaTooLarge: (bits: number, profile: string, max: number) =>
    `The CSR's RSA key has ${bits} bits; profile "${profile}" accepts at most ${max}.`,
  curveRefused: (curve: string, profile: string, accepted: readonly string[]) =>
    `The CSR's EC key uses curve ${curve}, which profile "${profile}" does not accept; use ${accepted.join(' or ')}.`,
  keyTypeRefused: (type: string, minRsa: number, curves: readonly string[]) =>
    `The CSR's key type (${type}) is not accepted; use RSA (at least ${minRsa} bits) or EC (${curves.join(', ')}).`,
  notDnsSans: (names: string[]) =>
    `The CSR has Subject Alternative Names that are not DNS names (${names.join(', ')}); only DNS names are accepted.`,
  noName: 'The CSR names no domain: it has neither a Common Name (CN) nor a DNS Subject Alternative Name.',
  tooManySans: (count: number, profile: string, max: number) =>
    `The CSR has ${count} Subject Alternative Names; profile "${profile}" allows at most ${max}.`,
  severalCommonNames: (names: string[]) =>
    `The CSR's subject has ${names.length} Common Names (${names.join(', ')}); a CSR names one CN at most. ` +
    'Put every further name in a Subject Alternative Name.',
  commonNameTooLong: (length: number) =>
    `The CSR's Common Name is ${length} characters long; X.509 allows at most 64. Put the long name in a ` +
    'Subject Alternative Name and a shorter one (or none) in the CN.',
  notDnsName: (name: string, why: string) => `${shown(name)} is not a valid DNS name: ${why}.`,
  internationalized: (name: string, aLabel: string) =>
    `${shown(name)} is an internationalized domain name; certificates carry it as ${aLabel}. ` +
    `Make the CSR with ${aLabel} instead.`,
  domainsRefused: (names: string[], profile: string, allowed: readonly string[]) =>
    `The CSR names ${names.join(', ')}, which profile "${profile}" does not allow (allowed: ${allowed.join(', ')}).`,
  noProfile: (choices: string) => `The issue has no "Certificate profile". Choose one of ${choices}.`,
  unknownProfile: (name: string, choices: string) =>
    `The profile ${shown(name)} is not configured for certificates. Choose one of ${choices}.`,
};
