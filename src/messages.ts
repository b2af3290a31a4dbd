/**
 * Every text a person reads from the connector, in one place: comments on Jira issues, the refusals of
 * requests, the CSR checks, and what the Web UI and `status` show. Pure functions of their facts, safe in
 * workflow code. What is said on an issue takes the site's Jira names first (its fields, statuses and
 * transitions are configurable): workflows say *what* to tell as a `Said` (`said(comments.expired, …)`),
 * and the Jira activity that posts it renders it with the names it was configured with. Names taken
 * from a request (domains, reasons) are quoted with `shown`, so that nothing in a CSR can forge the
 * layout of a comment.
 */
import type { IssueReason } from './contract/certificate.ts';
import { DEFAULT_JIRA_NAMES, REVOCATION_REASONS, type FoundCertificate, type JiraNames } from './contract/shared.ts';

/** The refusal users of the original connector know, word for word (with its typographic apostrophe). */
export const RENEWAL_OUTSIDE_WINDOW =
  'The certificate’s profile does not allow renewal outside of the configured expiry window';

/** What the requester can do about each kind of refusal, given the transition to run again. */
export const WHAT_TO_DO = {
  CsrRejected: (names: JiraNames, transition: string) =>
    `Paste a corrected CSR into "${names.fields.csr}" (for example from ` +
    '`openssl req -new -newkey rsa:2048 -nodes -keyout <domain>.key -out <domain>.csr -subj "/CN=<domain>"`) ' +
    `and run "${transition}" again. Keep the private key; it never leaves you.`,
  RequestIncomplete: (_names: JiraNames, transition: string) => `Complete the issue and run "${transition}" again.`,
  CaDeclined: (_names: JiraNames, transition: string) =>
    'Check the order and the domain validation in Sectigo Certificate Manager, or ask your SCM administrator; ' +
    `then run "${transition}" again.`,
  UpstreamRejected: (_names: JiraNames, transition: string) =>
    `Sectigo refused the order. Fix what it names (often the profile or the domain) and run "${transition}" again.`,
  Internal: (_names: JiraNames, transition: string) =>
    'If this keeps happening, ask your connector administrator: the Temporal Web UI shows the details. ' +
    `You can also run "${transition}" again.`,
} as const;

export type Remedy = keyof typeof WHAT_TO_DO;

/** A name or value from a request, quoted and bounded, with control characters made visible. */
export function shown(value: string, max = 80): string {
  const quoted = JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
  return quoted.slice(1, -1) === value ? value : quoted;
}

export const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const isoTime = (ms: number): string => new Date(ms).toISOString();

/** Why a certificate was renewed, as the renewal comment says it. */
const RENEWAL_WORDS: Record<IssueReason, string> = {
  enrolled: '',
  manual: '',
  forced: ' (forced)',
  'profile-forced': ' (forced by the profile)',
  automatic: ' automatically',
};

/** What the certificate workflows say on their issues. */
export const comments = {
  requested: (_names: JiraNames, domain: string, also: string[], profileName: string, keyType: string) =>
    `Certificate requested for ${domain}${also.length > 0 ? ` (also ${also.join(', ')})` : ''}, ` +
    `profile "${profileName}", ${keyType} key. Ordering it from Sectigo Certificate Manager.`,

  /** Said once when an order goes unanswered: SCM is down, or refuses the connector's own account. */
  orderWaiting: (_names: JiraNames) =>
    'Sectigo Certificate Manager is not taking the order at the moment, so the connector is unavailable for ' +
    "now. This is for the connector's administrators to fix, not you: the connector keeps trying and " +
    'comments here when the certificate is issued.',

  enrolled: (_names: JiraNames, certificateId: number, serial: string, notAfter: number) =>
    `Certificate enrolled: Certificate ID ${certificateId}, serial ${serial}, valid until ${isoTime(notAfter)}.`,

  renewed: (
    _names: JiraNames,
    how: IssueReason,
    certificateId: number,
    replaces: number,
    serial: string,
    notAfter: number,
  ) =>
    `Certificate renewed${RENEWAL_WORDS[how]}: Certificate ID ${certificateId} replaces ${replaces}, ` +
    `serial ${serial}, valid until ${isoTime(notAfter)}.`,

  /** Said with the enrolled or renewed comment when the request changed under it. */
  csrChangedWhileIssued: (names: JiraNames) =>
    `The "${names.fields.csr}" was edited while this certificate was being issued: it is for the CSR as it ` +
    `was at the request, with that key. Run "${names.transitions.renew}" to get one for the CSR now on the issue.`,
  namesChanged: (_names: JiraNames, before: string, now: string) =>
    `The CSR on the issue names ${now} instead of ${before}: the renewed certificate is for ${now}.`,
  profileKept: (names: JiraNames, asked: string, kept: string) =>
    `The issue's "${names.fields.profile}" is now "${asked}", but a renewal keeps the profile of the certificate ` +
    `it renews ("${kept}"). To move to "${asked}", revoke this certificate and request a new one.`,

  attached: (_names: JiraNames, filename: string) => `Certificate attached: ${filename} (certificate and chain, PEM).`,

  enrollmentFailed: (names: JiraNames, reason: string, remedy: Remedy) =>
    `Enrollment failed: ${reason}\n\n${WHAT_TO_DO[remedy](names, names.transitions.enroll)}`,

  renewalFailed: (names: JiraNames, reason: string, remedy: Remedy, retriesByItself: boolean) =>
    `Renewal failed: ${reason}\n\n${WHAT_TO_DO[remedy](names, names.transitions.renew)}` +
    (retriesByItself
      ? ' The connector also retries by itself, with growing pauses, until the certificate expires.'
      : ''),

  windowAdjusted: (
    _names: JiraNames,
    profileName: string,
    clamped: boolean,
    certificateId: number,
    windowOpensAt: number,
  ) =>
    `The expiry window of profile "${profileName}" ${
      clamped ? "is as long as this certificate's lifetime or longer" : 'is not a usable value'
    }; certificate ${certificateId} renews from ${isoTime(windowOpensAt)} instead.`,

  expired: (names: JiraNames, certificateId: number, domain: string, notAfter: number) =>
    `Certificate ${certificateId} for ${domain} expired on ${isoDate(notAfter)}. ` +
    `Run "${names.transitions.renew}" to renew it.`,

  windowOpen: (names: JiraNames, certificateId: number, domain: string, notAfter: number, profileName: string) =>
    `Certificate ${certificateId} for ${domain} expires on ${isoDate(notAfter)}; ` +
    `auto-renewal is off for profile "${profileName}". Run "${names.transitions.renew}" to renew it.`,

  escalation: (
    names: JiraNames,
    certificateId: number,
    domain: string,
    notAfter: number,
    days: number,
    lastError: string,
  ) =>
    `Certificate ${certificateId} for ${domain} expires on ${isoDate(notAfter)}, ` +
    `in ${days} day${days === 1 ? '' : 's'} or less, and renewal keeps failing: ${lastError}. ` +
    `Fix the cause and run "${names.transitions.renew}".`,

  revokedOutside: (names: JiraNames, certificateId: number, domain: string) =>
    `Certificate ${certificateId} for ${domain} was revoked in Sectigo Certificate Manager, outside Jira. ` +
    `It is no longer renewed. Create a new ${names.certificateIssueType} request if the domain still needs one.`,

  changedInScm: (names: JiraNames, certificateId: number, scmStatus: string) =>
    `Sectigo Certificate Manager shows certificate ${certificateId} as ${scmStatus}, outside Jira. ` +
    `Run "${names.transitions.renew}" to issue a replacement through Jira.`,

  revoked: (
    _names: JiraNames,
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

  revokedAllExpired: (
    _names: JiraNames,
    certificates: Array<{ certificateId: number; notAfter: number }>,
    by: string,
    at: number,
  ) =>
    `Revocation asked for by ${shown(by)} on ${isoTime(at)}: no certificate of this issue is valid any more, ` +
    'so none needed to be revoked.\n\n' +
    certificates.map((c) => `- Certificate ID ${c.certificateId}, expired ${isoTime(c.notAfter)}`).join('\n') +
    '\n\nNothing on this issue is renewed any more.',

  revokedNothingIssued: (_names: JiraNames, by: string, at: number) =>
    `Revocation asked for by ${shown(by)} on ${isoTime(at)}, before any certificate was issued: the request is ` +
    'withdrawn and nothing was ordered. Nothing on this issue is renewed.',

  profileMissing: (_names: JiraNames, profileId: string) =>
    `The certificate profile "${profileId}" of this issue is no longer configured, so the certificate is not ` +
    'renewed for now. Ask your connector administrator to restore the profile: renewal planning resumes as ' +
    'soon as it is back (at the latest after the next daily sweep).',

  accountKept: (_names: JiraNames, profileName: string, profileAccount: string, ownAccount: string) =>
    `The certificate profile "${profileName}" now orders its certificates from the SCM account ` +
    `"${profileAccount}". This certificate was issued by the account "${ownAccount}", which keeps renewing and ` +
    'revoking it: a certificate never changes accounts.',

  profileRestored: (_names: JiraNames, profileName: string) =>
    `The certificate profile "${profileName}" is configured again; renewal planning has resumed.`,

  unownedOrder: (_names: JiraNames, certificateId: number) =>
    `Sectigo Certificate Manager has order ${certificateId}, placed for this issue by the connector, but it ` +
    'is not the certificate this issue tracks (a duplicate left by a lost answer from SCM). Nothing uses it: ' +
    'ask your SCM administrator to revoke or decline it. `npm run cli -- unowned` lists all such orders.',

  renewalJoined: (_names: JiraNames) =>
    'A renewal of this certificate is already under way; this request is part of it. The new certificate ' +
    'will be attached here.',

  failed: (names: JiraNames, reason: string, workflowId: string, enrolled: boolean) =>
    `The connector could not finish this request: ${reason}\n\n` +
    `Nothing more happens on this issue until it is fixed. Your connector administrator sees the details in ` +
    `the Temporal Web UI (workflow ${workflowId}). ` +
    (enrolled
      ? `The certificate already attached stays valid; run "${names.transitions.renew}" once the cause is fixed.`
      : `Run "${names.transitions.enroll}" again once the cause is fixed.`),
};

/** Refusals of a renewal request: the workflow's, or the receiver's when no workflow could take it. */
export const renewalRefusals = {
  outsideWindow: (_names: JiraNames) => RENEWAL_OUTSIDE_WINDOW,
  notEnrolled: (names: JiraNames) =>
    `This issue has no enrolled certificate to renew; run "${names.transitions.enroll}" first.`,
  rejected: (names: JiraNames) =>
    'This issue has no certificate to renew: its request was not enrolled. Fix the request and run ' +
    `"${names.transitions.enroll}".`,
  revoked: (names: JiraNames) =>
    `The certificate of this issue was revoked, so it cannot be renewed. Create a new ${names.certificateIssueType} request.`,
};

/** What a "Revoke Certificate" issue (a certificate not enrolled through Jira) is told. */
export const externalRevocation = {
  askReason: (names: JiraNames) =>
    `Choose a "${names.fields.revocationReason}" (${revocationChoices()}) on this issue; the certificate is ` +
    'revoked as soon as there is one.',
  askWhat: (names: JiraNames) =>
    `Fill in "${names.fields.certificateId}" (from Sectigo Certificate Manager) or "${names.fields.domain}" on ` +
    'this issue to say which certificate to revoke.',
  unknownProfile: (names: JiraNames, choices: string[]) =>
    `Choose a "${names.fields.profile}" of the connector (${choices.map((c) => `"${c}"`).join(', ')}); only ` +
    'certificates of a configured profile can be revoked here. Nothing was revoked.',
  none: (_names: JiraNames, what: string) =>
    `No issued certificate of the chosen profile matches ${what} in Sectigo Certificate Manager. Nothing was ` +
    'revoked; correct the issue to try again.',
  foreign: (_names: JiraNames, certificateId: number) =>
    `Certificate ${certificateId} is not of the chosen profile (its SCM certificate type and organization), ` +
    "so it is not the connector's to revoke. Nothing was revoked.",
  ambiguous: (names: JiraNames, domain: string, candidates: FoundCertificate[]) =>
    `${candidates.length} issued certificates match ${domain}; fill in "${names.fields.certificateId}" with the ` +
    'one to revoke:\n\n' +
    candidates
      .map(
        (c) =>
          `- ID ${c.certificateId}, serial ${c.serialNumber}` +
          (c.expires !== undefined ? `, expires ${isoDate(c.expires)}` : '') +
          (c.requester ? `, requested by ${c.requester}` : ''),
      )
      .join('\n'),
  revoked: (_names: JiraNames, c: FoundCertificate, reason: string, by: string, already: boolean) =>
    already
      ? `Certificate ${c.certificateId} (${c.commonName}, serial ${c.serialNumber}) was revoked already in ` +
        'Sectigo Certificate Manager; nothing more to do.'
      : `Certificate ${c.certificateId} (${c.commonName}, serial ${c.serialNumber}) has been revoked, reason: ` +
        `${reason}, asked for by ${shown(by)}.`,
  notIssued: (names: JiraNames, c: FoundCertificate) =>
    `Certificate ${c.certificateId} (${c.commonName}) is ${c.status} in Sectigo Certificate Manager, not issued: ` +
    `there is nothing to revoke. Nothing was revoked; correct "${names.fields.certificateId}" if you meant another one.`,
  contradictory: (names: JiraNames, c: FoundCertificate, domain: string) =>
    `"${names.fields.certificateId}" ${c.certificateId} is a certificate for ${c.commonName}, not for ` +
    `${shown(domain)} as "${names.fields.domain}" says. Nothing was revoked: correct the field that is wrong, ` +
    'or empty one of them.',
  revokedThroughIssue: (_names: JiraNames, c: FoundCertificate, issueKey: string) =>
    `Certificate ${c.certificateId} (${c.commonName}) was enrolled through Jira issue ${issueKey}; it has been ` +
    `revoked through that issue, which no longer renews it.`,
  gaveUp: (_names: JiraNames) =>
    'Nothing was revoked: this request waited 30 days for the fields to be corrected. Create a new one if needed.',
};

/** Refusals of a revocation request, told on the issue by the receiver; the issue returns where it was. */
export const revocationRefusals = {
  notEnrolled: (_names: JiraNames) => 'This issue has no enrolled certificate to revoke; nothing was revoked.',
  noReason: (names: JiraNames) =>
    `Choose a "${names.fields.revocationReason}" (${revocationChoices()}) in the "${names.transitions.revoke}" ` +
    'dialog; nothing was revoked.',
  notInGroup: (_names: JiraNames, group: string, requesterToo: boolean) =>
    `Only members of the Jira group "${group}"${requesterToo ? ' and the person who requested the certificate' : ''} ` +
    'may revoke certificates; nothing was revoked.',
  notRequester: (_names: JiraNames) =>
    'Only the person who requested this certificate may revoke it (your connector administrator can name a ' +
    'group of revokers too); nothing was revoked.',
  noRevokersGroup: (_names: JiraNames) =>
    'Certificates not enrolled through Jira may be revoked here only by a group of revokers, which your ' +
    'connector administrator has not named (JIRA_REVOKERS_GROUP); nothing was revoked.',
  alreadyRevoked: (_names: JiraNames) => 'The certificates of this issue were revoked already; nothing more to do.',
};

/** The reasons Jira's "Revocation reason" offers, as a refusal lists them. */
const revocationChoices = () => Object.keys(REVOCATION_REASONS).join(', ');

/** Texts of the issue itself, besides comments. */
export const issueTexts = {
  /** The summary of an enrolled certificate's issue, as the user guide has it. */
  enrolledSummary: (domain: string) => `Certificate enrolled:${domain}`,
  /** The comment a revocation handed to the certificate's own workflow carries: where it came from. */
  revokedFrom: (issueKey: string | undefined) =>
    issueKey ? `Revoked through Jira issue ${issueKey}.` : 'Revoked by an operator.',
};

/** What the connector writes into SCM, where SCM's administrators read it. */
export const scmTexts = {
  revokedThroughIssue: (reasonName: string, issueKey: string, by: string, comment: string | undefined) =>
    `${reasonName}: revoked through Jira issue ${issueKey} by ${by}${comment ? ` (${comment})` : ''}`,
  revokedExternally: (reasonName: string, issueKey: string | undefined, by: string) =>
    `${reasonName}: revoked ${issueKey ? `through Jira issue ${issueKey}` : 'by an operator'} for ${by}`,
};

/** What the Web UI and `status` show as a certificate's last error, where no activity said it. */
export const lastErrors = {
  staleTrigger: 'the triggering transition is no longer the issue’s latest status change',
  profileNotConfigured: (profileId: string) => `profile "${profileId}" is not configured`,
  unknown: 'unknown error',
};

/**
 * A text to say on an issue, as data: which message, and its facts. It crosses the activity boundary (and
 * so the workflow's history), and the Jira activity renders it with the site's names.
 */
export interface Said {
  say: string;
  args: unknown[];
}

/** What may be said on an issue: ready text, one message, or messages said together (blank lines between). */
export type Text = string | Said | Said[];

type Message = (names: JiraNames, ...args: never[]) => string;
const MESSAGES = new Map<Message, string>();
const BY_NAME = new Map<string, Message>();
for (const [group, messages] of Object.entries({ comments, renewalRefusals, externalRevocation, revocationRefusals })) {
  for (const [name, message] of Object.entries(messages as Record<string, Message>)) {
    MESSAGES.set(message, `${group}.${name}`);
    BY_NAME.set(`${group}.${name}`, message);
  }
}

/** `message` with its facts, to be rendered with the site's names where it is posted. */
export function said<A extends unknown[]>(message: (names: JiraNames, ...args: A) => string, ...args: A): Said {
  const name = MESSAGES.get(message as unknown as Message);
  if (name === undefined) throw new Error('said() takes a message of messages.ts');
  return { say: name, args };
}

/** The words of `text` with the site's Jira names (the user guide's where none are given). */
export function render(text: Text, names: JiraNames = DEFAULT_JIRA_NAMES): string {
  if (typeof text === 'string') return text;
  if (Array.isArray(text)) return text.map((part) => render(part, names)).join('\n\n');
  const message = BY_NAME.get(text.say) as ((names: JiraNames, ...args: unknown[]) => string) | undefined;
  if (!message) throw new Error(`no message ${text.say} in messages.ts`);
  return message(names, ...text.args);
}

/** What the CSR checks say; each is a complete sentence for the requester. */
export const csrProblems = {
  empty: (field: string) => `The "${field}" field is empty.`,
  tooLong: (length: number, limit: number) => `The CSR is ${length} characters long; the limit is ${limit}.`,
  notPem:
    'The CSR is not a PEM certificate signing request: it must start with ' +
    '"-----BEGIN CERTIFICATE REQUEST-----" and end with "-----END CERTIFICATE REQUEST-----".',
  several: (field: string, count: number) =>
    `The "${field}" field holds ${count} certificate signing requests; paste exactly one.`,
  privateKey: (field: string) =>
    `The "${field}" field contains a private key. Never share a private key: treat this one as ` +
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
  noProfile: (field: string, choices: string) => `The issue has no "${field}". Choose one of ${choices}.`,
  unknownProfile: (name: string, choices: string) =>
    `The profile ${shown(name)} is not configured for certificates. Choose one of ${choices}.`,
};
