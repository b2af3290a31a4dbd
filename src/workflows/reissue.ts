/**
 * reissue: every certificate of a profile (or of one issuer) renewed at a set pace, the day a CA or an
 * intermediate is distrusted. One workflow per operation, started by `npm run cli -- reissue`. It reads
 * the selection from visibility a page at a time, asks each certificate workflow to renew (forced, only
 * if it still holds the certificate selected), and hears from each how its renewal ended. Pause and
 * resume are signals, cancel is Temporal's cancellation; the summary is the result, and the progress is
 * the `progress` query and the Web UI's current details.
 */
import {
  condition,
  continueAsNew,
  isCancellation,
  log,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import {
  pauseReissueSignal,
  REASONS_KEPT,
  reissueOutcomeSignal,
  reissueProgressQuery,
  reissueQuery,
  resumeReissueSignal,
  type ReissueInput,
  type ReissueOutcome,
  type ReissueProgress,
  type ReissueSkip,
  type ReissueSummary,
} from '../contract/reissue.ts';
import { REVOCATION_REASONS } from '../contract/shared.ts';
import { instant } from './certificate/details.ts';
import { orders, reissuing } from './activities.ts';

/** Certificates read from visibility at a time; the run continues as new between pages when its history is long. */
const PAGE_SIZE = 200;
const LONG_HISTORY = 10_000;

export async function reissue(input: ReissueInput): Promise<ReissueSummary> {
  const operation = workflowInfo().workflowId;
  const query = reissueQuery(input);
  const progress: ReissueProgress = input.carried ?? {
    selected: 0,
    asked: 0,
    renewed: 0,
    failed: 0,
    skipped: 0,
    revoked: 0,
    paused: false,
    issuedBefore: input.issuedBefore ?? Date.now(),
    listed: false,
    waiting: [],
    failures: [],
    skips: [],
    toRevoke: [],
  };
  // Outcomes heard before the answer to their ask (an ask retried after its answer was lost).
  const early = new Set<string>();
  const show = () => setCurrentDetails(describe(input, progress));
  setHandler(reissueProgressQuery, () => progress);
  setHandler(pauseReissueSignal, () => void ((progress.paused = true), show()));
  setHandler(resumeReissueSignal, () => void ((progress.paused = false), show()));
  setHandler(reissueOutcomeSignal, (outcome) => void (heard(input, progress, early, outcome), show()));
  show();
  if (!input.carried) {
    progress.selected = await reissuing.countSelection(query);
    show();
  }

  // One certificate every `interval`; below a second apart, several a second.
  const interval = 3_600_000 / input.ratePerHour;
  const tick = Math.max(interval, 1000);
  const perTick = Math.max(1, Math.round(tick / interval));
  try {
    while (!progress.listed) {
      const page = await reissuing.selectionPage({ query, nextPage: progress.nextPage, pageSize: PAGE_SIZE });
      for (let i = 0; i < page.certificates.length; i += perTick) {
        await condition(() => !progress.paused);
        await revokeDue(progress);
        const answers = await reissuing.askToRenew({
          operation,
          requestedBy: input.requestedBy,
          issuedBefore: progress.issuedBefore,
          certificates: page.certificates.slice(i, i + perTick),
        });
        for (const answer of answers) {
          progress.asked++;
          if (!answer.asked) skip(progress, answer);
          else if (!early.delete(answer.issueKey)) progress.waiting.push(answer.issueKey);
        }
        show();
        await sleep(tick);
      }
      progress.nextPage = page.nextPage;
      progress.listed = page.nextPage === undefined;
      // Between pages every ask is answered, so nothing heard early is left behind.
      if (!progress.listed && workflowInfo().historyLength > LONG_HISTORY) {
        return await continueAsNew<typeof reissue>({ ...input, carried: progress });
      }
    }
    // Every certificate asked: wait for each renewal to end, and revoke what it replaced when due.
    while (progress.waiting.length > 0 || progress.toRevoke.length > 0) {
      const due = progress.toRevoke[0]?.at;
      // A renewal heard moves a certificate from one list to the other: either length changing wakes it.
      const [waiting, toRevoke] = [progress.waiting.length, progress.toRevoke.length];
      await condition(
        () => progress.waiting.length !== waiting || progress.toRevoke.length !== toRevoke,
        due === undefined ? undefined : Math.max(1, due - Date.now()),
      );
      await revokeDue(progress);
    }
    log.info('reissue finished', { operation, ...counts(progress) });
    return { ...progress, cancelled: false };
  } catch (err) {
    if (!isCancellation(err)) throw err;
    log.info('reissue cancelled', { operation, ...counts(progress) });
    return { ...progress, cancelled: true };
  }
}

/** A certificate workflow's report of the renewal the operation asked for. */
function heard(input: ReissueInput, progress: ReissueProgress, early: Set<string>, outcome: ReissueOutcome): void {
  const at = progress.waiting.indexOf(outcome.issueKey);
  if (at >= 0) progress.waiting.splice(at, 1);
  else early.add(outcome.issueKey);
  if (outcome.certificateId === undefined) {
    progress.failed++;
    keep(progress.failures, { issueKey: outcome.issueKey, reason: outcome.failure ?? 'unknown' });
    return;
  }
  progress.renewed++;
  if (input.revokeReplacedAfterMs !== undefined) {
    const at = Date.now() + input.revokeReplacedAfterMs;
    const { issueKey, replaced: certificateId, account } = outcome;
    progress.toRevoke.push({ issueKey, certificateId, at, ...(account ? { account } : {}) });
  }
}

function skip(progress: ReissueProgress, skipped: ReissueSkip): void {
  progress.skipped++;
  keep(progress.skips, { issueKey: skipped.issueKey, reason: skipped.reason });
}

const keep = (list: ReissueSkip[], entry: ReissueSkip) => void (list.length < REASONS_KEPT && list.push(entry));

/** Revokes the replaced certificates whose time has come (superseded); SCM answers a repeat as done. */
async function revokeDue(progress: ReissueProgress): Promise<void> {
  while (progress.toRevoke[0] && progress.toRevoke[0].at <= Date.now()) {
    const { issueKey, certificateId, account } = progress.toRevoke[0];
    await orders(account).revokeCertificate({
      certificateId,
      reasonCode: REVOCATION_REASONS.Superseded,
      reason: `Replaced by a reissue of ${issueKey}`,
    });
    progress.toRevoke.shift();
    progress.revoked++;
  }
}

const counts = ({ selected, asked, renewed, failed, skipped, revoked }: ReissueProgress) => ({
  selected,
  asked,
  renewed,
  failed,
  skipped,
  revoked,
});

/** The operation in the Temporal Web UI: its current details, as Markdown. */
function describe(input: ReissueInput, progress: ReissueProgress): string {
  const what = [`profile ${input.profileId}`, `issued before ${instant(progress.issuedBefore)}`];
  if (input.issuer) what.push(`issuer ${input.issuer}`);
  const { selected, asked, renewed, failed, skipped, revoked } = progress;
  const state = progress.paused
    ? '**Paused**'
    : progress.listed && asked === selected
      ? '**Finishing**'
      : '**Reissuing**';
  const lines = [
    `${state} — ${what.join(' · ')}, ${input.ratePerHour} an hour`,
    `asked ${asked} of ${selected} · renewed ${renewed} · failed ${failed} · skipped ${skipped}` +
      (input.revokeReplacedAfterMs === undefined ? '' : ` · revoked ${revoked}, ${progress.toRevoke.length} to go`),
  ];
  if (progress.waiting.length > 0) lines.push(`waiting for ${progress.waiting.length} renewals to end`);
  const lastFailure = progress.failures.at(-1);
  if (lastFailure) lines.push(`**Last failure:** ${lastFailure.issueKey}: ${lastFailure.reason}`);
  return lines.join('\n\n');
}
