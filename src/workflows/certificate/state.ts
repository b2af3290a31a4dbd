/**
 * The certificate workflow's state, and the handlers that change it: what the `status` query answers,
 * the certificate this run watches over, and the requests and news waiting for the workflow to be free.
 * The steps (enroll, renew, revoke, …) read and change it; the decision reads `view()`.
 */
import {
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type WorkflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  csrChangedSignal,
  reevaluateSignal,
  renewUpdate,
  revokeUpdate,
  scmObservationSignal,
  statusQuery,
  type CarriedState,
  type CertificateLifecycleInput,
  type CertificateRecord,
  type CertificateStatus,
  type IssueReason,
  type IssuedCertificate,
  type ProfileSettings,
  type RequestAccepted,
  type RenewRequest,
  type RevokeRequest,
  type ScmObservation,
} from '../../contract/certificate.ts';
import {
  DEFAULT_ACCOUNT,
  ErrorType,
  isLive,
  REVOCATION_REASON_CODES,
  searchAttributes,
  type CertificatePhase,
} from '../../contract/shared.ts';
import { render, renewalRefusals, revocationRefusals, said, type Said } from '../../messages.ts';
import type { LifecycleState } from '../policy/lifecycle.ts';
import { manualRenewalAllowed, type RenewalPlan } from '../policy/renewal.ts';
import type { Changes } from './changes.ts';
import { describe } from './details.ts';
import { refusal } from './failures.ts';

/** Renewal requests remembered, so that a late duplicate does nothing. */
const HANDLED_REQUESTS_KEPT = 50;
/** Generations kept in the history the workflow carries. */
const GENERATIONS_KEPT = 20;

export class CertificateState {
  readonly input: CertificateLifecycleInput;
  /** The changes this run follows (runs started by older code keep their shape). */
  readonly changes: Changes;
  readonly status: CertificateStatus;
  /** The certificate this run watches over; undefined until the enrollment issued one. */
  current: CertificateRecord | undefined;
  /** The profile's renewal settings as last read, and the plan made with them. */
  settings: ProfileSettings | undefined;
  plan: RenewalPlan | undefined;
  /** A person's or operator's renewal request, waiting for the workflow to be free. */
  request: RenewRequest | undefined;
  /** A revocation taken: it comes before anything else, and crosses continue-as-new. */
  revocation: RevokeRequest | undefined;
  /** News from the daily sweep about the order in SCM. */
  observation: ScmObservation | undefined;
  /** The profile or the CSR may have changed: read the profile and plan again. */
  stale = false;
  /** The profile's settings as read for the next run, when this one hands over after a renewal. */
  settingsForNextRun: ProfileSettings | undefined;
  /** The profile was not found when last read. */
  profileMissing = false;
  /** The CSR on the issue changed since the last plan: a waiting retry need not wait out its backoff. */
  csrChanged = false;
  /** Edits of the CSR field signalled so far: one after the issue was read changed the request under it. */
  csrEdits = 0;
  /** No automatic or profile-forced attempt before this instant (backoff after a failure). */
  nextAttemptAt = 0;
  /** Escalation points (ms before expiry) already told on the issue. */
  readonly escalated: number[] = [];
  /** Certificates issued after a revocation was asked for: revoked with the rest, never published. */
  readonly unpublished: CertificateRecord[] = [];
  /** The renewal failure last told on the issue: automatic retries say a reason once. */
  lastReportedFailure: string | undefined;
  readonly #handledRequests: string[];
  readonly #info: WorkflowInfo = workflowInfo();
  /** Search attributes set and not yet written (`index`). */
  readonly #unwritten: SearchAttributeUpdatePair[] = [];
  #carriedSettings: ProfileSettings | undefined;

  constructor(input: CertificateLifecycleInput, changes: Changes) {
    const { carried } = input;
    this.input = input;
    this.changes = changes;
    this.status = {
      issueKey: input.issueKey,
      // A continued run is still finishing its renewal until it has planned the next one.
      phase: carried ? 'Renewing' : 'Validating',
      generation: carried?.generation ?? 0,
      history: carried?.history ?? [],
      renewalFailures: 0,
      profileId: carried?.profileId,
      domain: carried?.domain,
      ...(carried?.account ? { account: carried.account } : {}),
    };
    this.current = carried?.current;
    this.revocation = carried?.revocation;
    this.#handledRequests = carried?.handledRequests ?? [];
    this.#carriedSettings = changes.carriedSettings ? carried?.settings : undefined;
  }

  get issueKey(): string {
    return this.input.issueKey;
  }

  get workflowId(): string {
    return this.#info.workflowId;
  }

  /** The profile of the request; known from the moment its CSR passed the checks. */
  get profileId(): string {
    return this.status.profileId ?? '';
  }

  /**
   * The SCM account that orders, renews and revokes this certificate: the profile's when it was enrolled,
   * kept for its whole life; undefined for the default one.
   */
  get account(): string | undefined {
    return this.status.account;
  }

  /** The name the certificate is known by; known from the moment its CSR passed the checks. */
  get domain(): string {
    return this.status.domain ?? '';
  }

  /** Identifies one effect of this request: comments and orders are made once per id. */
  eventId(event: string): string {
    return `${this.#info.workflowId}/${this.#info.firstExecutionRunId}/g${this.status.generation}/${event}`;
  }

  /** The same, for an effect that belongs to one certificate (its comments survive renewals unmixed). */
  certificateEventId(certificateId: number, event: string): string {
    return `${this.#info.workflowId}/${this.#info.firstExecutionRunId}/c${certificateId}/${event}`;
  }

  /** Moves to `phase`, for the status query, the search attribute and the Web UI. */
  enter(phase: CertificatePhase): void {
    this.status.phase = phase;
    this.index([{ key: searchAttributes.status, value: phase }]);
    this.writeIndex();
    this.showDetails();
  }

  /**
   * Sets search attributes. A run that follows `oneIndexWrite` keeps them for the step's one upsert (the
   * next `writeIndex`, which `enter` makes): each upsert is an event of its own. Older runs wrote at once.
   */
  index(pairs: SearchAttributeUpdatePair[]): void {
    if (this.changes.oneIndexWrite) this.#unwritten.push(...pairs);
    else upsertSearchAttributes(pairs);
  }

  /**
   * Writes the search attributes kept since the last write, in one upsert: only those whose value the run
   * does not hold already (a continued run starts with its predecessor's: the same issue, domain, profile).
   */
  writeIndex(): void {
    if (this.#unwritten.length === 0) return;
    const held = workflowInfo().typedSearchAttributes;
    const changed = new Map<string, SearchAttributeUpdatePair>();
    for (const pair of this.#unwritten.splice(0)) {
      if (sameValue(held.get(pair.key), pair.value)) changed.delete(pair.key.name);
      else changed.set(pair.key.name, pair);
    }
    if (changed.size > 0) upsertSearchAttributes([...changed.values()]);
  }

  showDetails(): void {
    setCurrentDetails(describe(this.status, this.input.issueUrl));
  }

  /** An issued certificate that nothing is being done to. */
  get live(): boolean {
    return isLive(this.status.phase);
  }

  /** The certificate the enrollment issued becomes the one this run watches over. */
  enrolled(issued: IssuedCertificate): CertificateRecord {
    this.current = record(issued);
    this.status.history.push({ ...this.current, reason: 'enrolled' });
    log.info('certificate enrolled', {
      issueKey: this.issueKey,
      certificateId: this.current.certificateId,
      domain: this.status.domain,
    });
    return this.current;
  }

  /**
   * What crosses continue-as-new with the next generation, read at the last instant: a revocation accepted
   * at any point of the renewal, and the profile settings read for the next run (`settingsForNextRun`),
   * unless a change was signalled after they were read.
   */
  carriedWith(next: CarriedState): CarriedState {
    return {
      ...next,
      ...(this.revocation ? { revocation: this.revocation } : {}),
      ...(this.settingsForNextRun && !this.stale ? { settings: this.settingsForNextRun } : {}),
    };
  }

  /** The settings this run carried in, for its first plan (then gone: a plan after it reads the profile). */
  takeCarriedSettings(): ProfileSettings | undefined {
    const settings = this.#carriedSettings;
    this.#carriedSettings = undefined;
    return settings;
  }

  /** The state the next run starts from, the renewed certificate its current one. */
  nextGeneration(renewed: CertificateRecord, reason: IssueReason): CarriedState {
    return {
      generation: this.status.generation + 1,
      profileId: this.profileId,
      ...(this.account ? { account: this.account } : {}),
      domain: this.domain,
      current: renewed,
      history: [...this.status.history, { ...renewed, reason }].slice(-GENERATIONS_KEPT),
      handledRequests: this.#handledRequests,
    };
  }

  /** What the decision reads. */
  view(current: CertificateRecord): LifecycleState {
    return {
      phase: this.status.phase,
      current,
      settings: this.settings,
      plan: this.plan,
      stale: this.stale,
      profileMissing: this.profileMissing,
      request: this.request,
      observation: this.observation,
      revocation: this.revocation,
      nextAttemptAt: this.nextAttemptAt,
      renewalFailures: this.status.renewalFailures,
      escalated: this.escalated,
    };
  }

  /** Takes the query, the signals and the updates; validators refuse only what can be decided now. */
  listen(): void {
    setHandler(statusQuery, () => this.status);
    setHandler(reevaluateSignal, () => void (this.stale = true));
    setHandler(csrChangedSignal, () => {
      this.csrChanged = true;
      this.csrEdits++;
      this.stale = true;
    });
    setHandler(scmObservationSignal, (seen) => {
      // Certificate ids are an account's own: news of another account's certificate of this id is not ours.
      if (seen.account === this.account) this.observation = seen;
    });
    setHandler(revokeUpdate, (asked) => this.#takeRevocation(asked), {
      validator: (asked: RevokeRequest) => this.#checkRevocation(asked),
    });
    setHandler(renewUpdate, (renewal) => this.#takeRenewal(renewal), {
      validator: (renewal: RenewRequest) => this.#checkRenewal(renewal),
    });
  }

  #takeRevocation(asked: RevokeRequest): RequestAccepted {
    if (!this.#firstTime(asked.requestId)) return { result: 'duplicate', phase: this.status.phase };
    if (this.revocation !== undefined) return { result: 'joined', phase: this.status.phase };
    this.revocation = asked;
    return { result: 'accepted', phase: this.status.phase };
  }

  /** Taken in every phase but one: a request that was never enrolled has nothing to revoke. */
  #checkRevocation(asked: RevokeRequest): void {
    if (asked.inAccount !== undefined && asked.inAccount !== (this.account ?? DEFAULT_ACCOUNT)) {
      throw refusal(ErrorType.OtherAccount, `the certificate is in SCM account "${this.account ?? DEFAULT_ACCOUNT}"`);
    }
    if (this.#seen(asked.requestId)) return;
    if (this.status.phase === 'Rejected') {
      throw refused(ErrorType.RevocationNotPossible, said(revocationRefusals.notEnrolled));
    }
    if (!REVOCATION_REASON_CODES.includes(asked.reasonCode)) {
      throw refusal(ErrorType.RevocationNotPossible, `reason code ${asked.reasonCode} is not one SCM accepts`);
    }
  }

  #takeRenewal(renewal: RenewRequest): RequestAccepted {
    if (!this.#firstTime(renewal.requestId)) return { result: 'duplicate', phase: this.status.phase };
    if (renewal.onlyIf && !this.#holds(renewal.onlyIf)) return { result: 'superseded', phase: this.status.phase };
    // One renewal serves every request made while it is waiting or under way.
    if (this.request !== undefined || this.status.phase === 'Renewing') {
      return { result: 'joined', phase: this.status.phase };
    }
    this.request = renewal;
    return { result: 'accepted', phase: this.status.phase };
  }

  /** Refuses only what can be decided now; a request that arrives while the workflow is busy waits. */
  #checkRenewal(renewal: RenewRequest): void {
    const { phase } = this.status;
    if (this.#seen(renewal.requestId)) return;
    if (phase === 'Rejected') throw refused(ErrorType.RenewalNotPossible, said(renewalRefusals.rejected));
    if (phase === 'Revoked' || phase === 'Revoking') {
      throw refused(ErrorType.RenewalNotPossible, said(renewalRefusals.revoked));
    }
    if (renewal.force || !this.live || !this.plan || !this.settings) return;
    if (this.request === undefined && !manualRenewalAllowed(this.plan, this.settings, Date.now())) {
      throw refused(ErrorType.RenewalOutsideWindow, said(renewalRefusals.outsideWindow));
    }
  }

  /** Whether the current certificate is the one named, obtained before the instant given. */
  #holds({ certificateId, issuedBefore }: NonNullable<RenewRequest['onlyIf']>): boolean {
    const { current } = this;
    if (!current || current.certificateId !== certificateId) return false;
    return issuedBefore === undefined || current.obtainedAt < issuedBefore;
  }

  /** Whether a request with this id was handled already (Jira redelivers; people click twice). */
  #seen(requestId: string | undefined): boolean {
    return requestId !== undefined && this.#handledRequests.includes(requestId);
  }

  /** Records a request id, keeping the last ones; false when it was handled already. */
  #firstTime(requestId: string | undefined): boolean {
    if (this.#seen(requestId)) return false;
    if (requestId !== undefined) this.#handledRequests.push(requestId);
    this.#handledRequests.splice(0, Math.max(0, this.#handledRequests.length - HANDLED_REQUESTS_KEPT));
    return true;
  }
}

/** A refusal whose message is the text for the requester, which the refusal carries to say on the issue. */
function refused(type: ErrorType, text: Said) {
  return refusal(type, render(text), [text]);
}

/** The certificate without its PEM, stamped with the (workflow) time it was obtained. */
export function record({
  certificateId,
  serialNumber,
  notBefore,
  notAfter,
  issuer,
}: IssuedCertificate): CertificateRecord {
  return { certificateId, serialNumber, notBefore, notAfter, obtainedAt: Date.now(), ...(issuer ? { issuer } : {}) };
}

/** Whether a search attribute's value is `value` already (unset and null are the same; instants by time). */
function sameValue(held: unknown, value: unknown): boolean {
  if (held instanceof Date && value instanceof Date) return held.getTime() === value.getTime();
  return (held ?? null) === (value ?? null);
}
