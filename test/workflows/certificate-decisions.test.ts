/* eslint-disable @typescript-eslint/require-await -- the stand-ins keep the activities' async signatures */
/**
 * Every decision of certificateLifecycle, one test each, on Temporal's time-skipping test server with the
 * activities replaced by in-memory stand-ins (Temporal itself is real). Months pass in milliseconds, so
 * these run in seconds and no outcome depends on the machine's speed. With RECORD_HISTORIES=1 the
 * finished runs named below are written to test/replay/histories for the replay test.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  certificateWorkflowId,
  csrChangedSignal,
  reevaluateSignal,
  renewUpdate,
  revokeUpdate,
  scmObservationSignal,
  statusQuery,
  type CertificateStatus,
  type IssuedCertificate,
  type ProfileSettings,
} from '../../src/contract/certificate.ts';
import {
  ErrorType,
  searchAttributes,
  SECTIGO_TASK_QUEUE,
  TASK_QUEUE,
  type IssueState,
} from '../../src/contract/shared.ts';
import type { Publication } from '../../src/activities/jira.ts';
import { metricsSinks } from '../../src/connector.ts';
import { render, RENEWAL_OUTSIDE_WINDOW, type Text } from '../../src/messages.ts';
import type { certificateLifecycle } from '../../src/workflows/certificate/workflow.ts';
import { DAY } from '../../src/workflows/policy/renewal.ts';
import { startTimeSkipping, workflowBundle, needsTestServer, testServer } from '../helpers/environment.ts';

const LIFETIME = 90 * DAY;
/** Phases in which the workflow waits on a timer (or a message), not on an activity. */
const IDLE = new Set(['Active', 'RenewalDue', 'Expired']);
const STATUS_NAMES: Record<IssueState, string> = {
  request: 'Certificate Request',
  enrolled: 'Certificate Enrolled',
  renewed: 'Certificate Renewed',
  revoked: 'Certificate Revoked',
};

/** One issue as the stand-in activities see it: what Jira and SCM would hold for it. */
class FakeIssue {
  status = 'Certificate Enrolled';
  comments = new Map<string, string>();
  attachments: string[] = [];
  moves: string[] = [];
  orders: number[] = [];
  revoked: number[] = [];
  lastStatusChange: { id: string; toStatus: string; enrolls?: boolean } | undefined = {
    id: '1',
    toStatus: 'Certificate Enrolled',
  };
  settings: ProfileSettings | null = settingsWith({});
  /** Set: renewals fail with this SCM reason. */
  renewalRefusal: string | undefined;
  /** Set: attaching fails with a Jira 4xx (a misconfiguration the requester cannot fix). */
  attachRefused = false;
  /** Set: Jira refuses the "requested" comment (a 4xx), the one posted while the order is placed. */
  requestedCommentRefused = false;
  /** What the CSR on the issue names, and the profile chosen on it. */
  domain = 'www.example.com';
  profileName = 'OV Server Certificate';
  /** Resolves when collecting may answer; lets a test act while the workflow is busy. */
  issuance: Promise<void> = Promise.resolve();
  texts(): string[] {
    return [...this.comments.values()];
  }
}

function settingsWith(overrides: Partial<ProfileSettings>): ProfileSettings {
  return {
    profileId: 'ov-server',
    profileName: 'OV Server Certificate',
    expiryWindow: { days: 30 },
    autoRenew: true,
    allowRenewalOutsideWindow: false,
    forceRenewalRequestedAt: null,
    fingerprint: JSON.stringify(overrides),
    ...overrides,
  };
}

/**
 * A time-skipping test server and a worker with the stand-in activities, for the tests of one describe
 * block. Each block gets its own server: updates taken while an activity is under way leave the Java test
 * server unable to skip time for later workflows, so those tests run apart.
 */
function harness() {
  let env: TestWorkflowEnvironment;
  let workers: Worker[];
  let running: Promise<unknown>;
  const issues = new Map<string, FakeIssue>();
  let nextOrder = 5000;
  let nextKey = 1;
  const fake = (issueKey: string) => issues.get(issueKey) as FakeIssue;
  /** The issue of the workflow that called the running activity. */
  const callingIssue = () => fake((activityInfo().workflowExecution?.workflowId ?? '').replace('certificate:', ''));
  const handles: WorkflowHandle[] = [];

  const activities = {
    readCertificateIssue: async (issueKey: string) => ({
      key: issueKey,
      issueType: 'Certificate',
      status: fake(issueKey).status,
      summary: 'Certificate request',
      profileName: fake(issueKey).profileName,
      csr: '-----BEGIN CERTIFICATE REQUEST-----',
      certificateId: undefined,
      reporterAccountId: 'alice',
      attachments: [],
      ...(fake(issueKey).lastStatusChange ? { lastStatusChange: fake(issueKey).lastStatusChange } : {}),
    }),
    commentOnce: async (issueKey: string, eventId: string, said: Text) => {
      const text = render(said);
      if (fake(issueKey).requestedCommentRefused && eventId.endsWith('requested')) {
        throw ApplicationFailure.create({
          type: ErrorType.UpstreamRejected,
          message: 'Jira: comment: HTTP 400: Comment body can not be empty!',
          nonRetryable: true,
        });
      }
      fake(issueKey).comments.set(eventId, text);
    },
    attachOnce: async (issueKey: string, filename: string) => {
      if (fake(issueKey).attachRefused) {
        throw ApplicationFailure.create({
          type: ErrorType.UpstreamRejected,
          message: 'Jira: attach: HTTP 403: You do not have permission to create attachments for this issue.',
          nonRetryable: true,
        });
      }
      if (!fake(issueKey).attachments.includes(filename)) fake(issueKey).attachments.push(filename);
    },
    updateIssue: async () => undefined,
    moveIssue: async (issueKey: string, state: IssueState, orAlreadyIn: IssueState[] = []) => {
      const issue = fake(issueKey);
      if (orAlreadyIn.map((s) => STATUS_NAMES[s]).includes(issue.status)) return;
      issue.status = STATUS_NAMES[state];
      issue.moves.push(issue.status);
    },
    publishCertificate: async (issueKey: string, p: Publication) => {
      await activities.commentOnce(issueKey, p.comment.eventId, p.comment.text);
      await activities.attachOnce(issueKey, p.filename);
      await activities.commentOnce(issueKey, p.attached.eventId, p.attached.text);
      await activities.moveIssue(issueKey, p.moveTo, p.orAlreadyIn);
    },
    returnIssueTo: async (issueKey: string, status: string) => {
      fake(issueKey).status = status;
      fake(issueKey).moves.push(status);
    },
    validateRequest: async () => ({
      profileId: 'ov-server',
      csr: {
        pem: '-----BEGIN CERTIFICATE REQUEST-----',
        commonName: callingIssue().domain,
        subjectAltNames: [],
        domain: callingIssue().domain,
        keyType: 'EC - P-256',
      },
    }),
    getProfileSettings: async (_profileId: string) => callingIssue().settings,
    profileFingerprints: async () => ({}),
  };
  const orderActivities = {
    enrollCertificate: async ({ issueKey }: { issueKey: string }) => {
      const id = nextOrder++;
      fake(issueKey).orders.push(id);
      return { certificateId: id };
    },
    renewCertificate: async ({ issueKey }: { issueKey: string }) => {
      const refusal = fake(issueKey).renewalRefusal;
      if (refusal)
        throw ApplicationFailure.create({ type: ErrorType.CaDeclined, message: refusal, nonRetryable: true });
      const id = nextOrder++;
      fake(issueKey).orders.push(id);
      return { certificateId: id };
    },
    collectCertificate: async (certificateId: number): Promise<IssuedCertificate> => {
      await callingIssue().issuance;
      const now = await env.currentTimeMs();
      return {
        certificateId,
        serialNumber: certificateId.toString(16).toUpperCase(),
        notBefore: now,
        notAfter: now + LIFETIME,
        pem: '-----BEGIN CERTIFICATE-----',
      };
    },
    revokeCertificate: async ({ certificateId }: { certificateId: number }) => {
      const issue = callingIssue();
      if (issue.revoked.includes(certificateId)) return 'already-revoked';
      issue.revoked.push(certificateId);
      return 'revoked';
    },
  };

  before(async () => {
    env = await startTimeSkipping(testServer ?? '');
    const bundle = await workflowBundle();
    workers = [
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue: TASK_QUEUE,
        workflowBundle: bundle,
        activities,
        sinks: metricsSinks(),
      }),
      await Worker.create({
        connection: env.nativeConnection,
        taskQueue: SECTIGO_TASK_QUEUE,
        activities: orderActivities,
      }),
    ];
    running = Promise.all(workers.map((w) => w.run()));
  });
  after(async () => {
    for (const worker of workers ?? []) worker.shutdown();
    await running;
    await env?.teardown();
  });

  /** Starts a certificate workflow for a new issue, as the receiver would. */
  async function start(setup: (issue: FakeIssue) => void = () => undefined) {
    // The previous test's certificate would go on renewing as time passes: end it.
    for (const earlier of handles.splice(0)) await earlier.terminate('test finished').catch(() => undefined);
    const issueKey = `CERT-${nextKey++}`;
    const issue = new FakeIssue();
    setup(issue);
    issues.set(issueKey, issue);
    const handle = await env.client.workflow.start<typeof certificateLifecycle>('certificateLifecycle', {
      workflowId: certificateWorkflowId(issueKey),
      taskQueue: TASK_QUEUE,
      args: [{ issueKey, requestedBy: 'alice', triggerId: 'changelog:1' }],
    });
    handles.push(handle);
    return { issueKey, issue, handle };
  }
  const status = (handle: WorkflowHandle) => handle.query(statusQuery);
  /** Lets workflow time pass (the server skips it) and the workflow act on it. */
  async function waitFor(handle: WorkflowHandle, what: string, check: (s: CertificateStatus) => boolean) {
    for (let skipped = 0; skipped < 600;) {
      // The phase from the search attribute: no workflow task, so nothing races a run's continue-as-new.
      const description = await handle.describe();
      const phase = description.typedSearchAttributes.get(searchAttributes.status) ?? '';
      if (description.status.name !== 'RUNNING' || IDLE.has(phase) || phase === 'AwaitingIssuance') {
        const s = await status(handle).catch(() => undefined);
        if (s && check(s)) return s;
      }
      if (IDLE.has(phase) && (description.raw.pendingActivities ?? []).length === 0) {
        // Waiting on a timer, no activity under way: move the server's clock on.
        await env.sleep(skipped++ < 48 ? '1 hour' : '1 day');
      } else {
        // Busy: skipping time now would time out the activity under way; give the worker a moment.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    throw new Error(`never reached: ${what}`);
  }
  /** Waits until the workflow's phase (its search attribute) is `phase`, without querying it. */
  async function waitForPhase(handle: WorkflowHandle, phase: string) {
    for (let i = 0; i < 10_000; i++) {
      const description = await handle.describe();
      if (description.typedSearchAttributes.get(searchAttributes.status) === phase) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`never reached: ${phase}`);
  }
  /** Writes a finished run's history for the replay test, when asked to. */
  async function record(name: string, handle: WorkflowHandle, runId: string | undefined) {
    if (process.env.RECORD_HISTORIES !== '1') return;
    const history = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    writeFileSync(new URL(`../replay/histories/${name}.json`, import.meta.url), historyToJSON(history));
  }
  const runId = async (handle: WorkflowHandle) => (await handle.describe()).runId;
  const active = (h: WorkflowHandle) => waitFor(h, 'Active', (s) => s.phase === 'Active' && s.renewAt !== undefined);

  return { start, waitFor, waitForPhase, status, record, runId, active, env: () => env };
}

describe('certificate workflow decisions, with time skipping', needsTestServer, () => {
  const { start, waitFor, status, record, runId, active, env } = harness();

  it('plans renewal once enrolled (NoPlanYet → Waiting)', async () => {
    const { issue, handle } = await start();
    const s = await active(handle);
    assert.equal(s.generation, 0);
    assert.ok((s.renewAt ?? 0) <= (s.notAfter ?? 0) - 30 * DAY, 'renews at the window, less its jitter');
    assert.deepEqual(issue.moves, ['Certificate Enrolled']);
    assert.equal(issue.texts().filter((t) => t.startsWith('Certificate attached')).length, 1);
  });

  it('publishes what it ordered when Jira refuses the "requested" comment posted beside the order', async () => {
    const { issue, handle } = await start((i) => (i.requestedCommentRefused = true));
    const s = await active(handle);
    assert.equal(issue.orders.length, 1, 'one order');
    assert.equal(s.certificateId, issue.orders[0]);
    assert.equal(issue.attachments.length, 1, 'the certificate is on the issue');
    assert.deepEqual(issue.moves, ['Certificate Enrolled']);
    assert.ok(!issue.texts().some((t) => /could not/.test(t)), 'no failure reported');
  });

  it('renews when due (RenewalDue), as the next run, carrying the certificate', async () => {
    const { issue, handle } = await start();
    const first = await active(handle);
    const enrolledRun = await runId(handle);
    const renewed = await waitFor(handle, 'generation 1', (s) => s.generation === 1 && s.phase === 'Active');
    const continuedRun = await runId(handle);
    assert.equal(renewed.history.at(-1)?.reason, 'automatic');
    assert.ok((renewed.notBefore ?? 0) >= (first.renewAt ?? 0));
    // Each certificate's "attached" comment is its own: the renewal's is not swallowed by the enrollment's.
    assert.equal(issue.texts().filter((t) => t.startsWith('Certificate attached')).length, 2);
    // The continued run: carried state, planned, then renewed once more.
    await waitFor(handle, 'generation 2', (s) => s.generation === 2 && s.phase === 'Active');
    await record('certificate-enrolled-then-automatic-renewal', handle, enrolledRun);
    await record('certificate-continued-from-carried-state', handle, continuedRun);
  });

  it('refuses a renewal outside the window at once, with the exact text (validator)', async () => {
    const { handle } = await start();
    await active(handle);
    const err = await handle.executeUpdate(renewUpdate, { args: [{ requestedBy: 'alice', requestId: 'r1' }] }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowUpdateFailedError);
    assert.equal(err.cause?.message, RENEWAL_OUTSIDE_WINDOW);
  });

  it("renews for the profile's force-renewal moment (ForcedByProfile), once", async () => {
    const { issue, handle } = await start();
    const s = await active(handle);
    issue.settings = settingsWith({ forceRenewalRequestedAt: (s.notBefore ?? 0) + 10 * DAY });
    await handle.signal(reevaluateSignal);
    const renewed = await waitFor(handle, 'profile-forced', (x) => x.generation === 1 && x.phase === 'Active');
    assert.equal(renewed.history.at(-1)?.reason, 'profile-forced');
    assert.ok((renewed.notBefore ?? 0) >= (s.notBefore ?? 0) + 10 * DAY);
  });

  it('with auto-renewal off: says the window opened (WindowOpened), then marks it expired (Expired)', async () => {
    const { issue, handle } = await start((i) => (i.settings = settingsWith({ autoRenew: false })));
    await waitFor(handle, 'Active', (s) => s.phase === 'Active');
    await waitFor(handle, 'RenewalDue', (s) => s.phase === 'RenewalDue');
    assert.equal(issue.texts().filter((t) => /auto-renewal is off/.test(t)).length, 1);
    await waitFor(handle, 'Expired', (s) => s.phase === 'Expired');
    assert.equal(issue.texts().filter((t) => /expired on/.test(t)).length, 1);
  });

  it('reports a failing renewal once, retries, and escalates before expiry (RenewalFailing)', async () => {
    const { issue, handle } = await start(
      (i) => (i.renewalRefusal = 'Sectigo declined order: domain validation expired.'),
    );
    await active(handle);
    const failingRun = await runId(handle);
    const failing = await waitFor(handle, '1-day escalation', () =>
      issue.texts().some((t) => /in 1 day or less/.test(t)),
    );
    assert.equal(failing.generation, 0);
    assert.equal(issue.texts().filter((t) => t.startsWith('Renewal failed')).length, 1, 'one comment per reason');
    for (const days of ['14 days', '7 days', '3 days', '1 day']) {
      assert.equal(issue.texts().filter((t) => t.includes(`in ${days} or less`)).length, 1, days);
    }
    issue.renewalRefusal = undefined;
    const renewed = await waitFor(handle, 'renewed after the fix', (s) => s.generation === 1);
    assert.equal(renewed.renewalFailures, 0);
    await record('certificate-failing-renewal-escalated', handle, failingRun);
  });

  it('waits for a removed profile and resumes when it is back (ProfileMissing)', async () => {
    const { issue, handle } = await start();
    await active(handle);
    const missingRun = await runId(handle);
    issue.settings = null;
    await handle.signal(reevaluateSignal);
    const waiting = await waitFor(handle, 'profile missing', () =>
      issue.texts().some((t) => /no longer configured/.test(t)),
    );
    assert.equal(waiting.profileFingerprint, undefined, 'the sweep sees a profile to re-check');
    await env().sleep('200 days');
    assert.equal((await status(handle)).generation, 0, 'nothing renews without a profile');
    issue.settings = settingsWith({});
    await handle.signal(reevaluateSignal);
    await waitFor(handle, 'restored', () => issue.texts().some((t) => /configured again/.test(t)));
    const renewed = await waitFor(handle, 'renewed', (s) => s.generation === 1);
    assert.equal(renewed.history.at(-1)?.reason, 'automatic');
    await record('certificate-profile-removed-then-restored', handle, missingRun);
  });

  it('says so when SCM shows it replaced, and ends when SCM shows it revoked (ChangedInScm)', async () => {
    const { issue, handle } = await start();
    const s = await active(handle);
    await handle.signal(scmObservationSignal, { certificateId: s.certificateId ?? 0, status: 'Replaced' });
    await waitFor(handle, 'replaced said', () => issue.texts().some((t) => /as Replaced, outside Jira/.test(t)));
    await handle.signal(scmObservationSignal, { certificateId: s.certificateId ?? 0, status: 'Revoked' });
    const end = await handle.result();
    assert.equal(end.phase, 'Revoked');
    assert.equal(issue.status, 'Certificate Revoked');
    await record('certificate-replaced-then-revoked-in-scm', handle, undefined);
  });

  it('revokes before all else (RevocationRequested), ends, and renews nothing afterwards', async () => {
    const { issue, handle } = await start();
    await active(handle);
    await handle.executeUpdate(revokeUpdate, { args: [{ reasonCode: 5, requestedBy: 'alice', requestId: 'r' }] });
    assert.equal((await handle.result()).phase, 'Revoked');
    assert.deepEqual(issue.revoked, issue.orders);
    await env().sleep('400 days'); // past the renewal moment the certificate had
    assert.equal(issue.orders.length, 1, 'nothing renews after a revocation');
    assert.equal(issue.texts().filter((t) => t.includes('revoked on')).length, 1);
  });

  it('orders nothing for a trigger that is no longer the latest status change (stale delivery)', async () => {
    const { issue, handle } = await start((i) => (i.lastStatusChange = { id: '99', toStatus: 'Certificate Request' }));
    const end = await handle.result();
    assert.equal(end.phase, 'Rejected');
    assert.deepEqual(issue.orders, []);
    assert.deepEqual(issue.texts(), []);
  });

  it('serves a later Enroll made before it read the issue (Enroll, back to request, Enroll again)', async () => {
    const { issue, handle } = await start(
      (i) => (i.lastStatusChange = { id: '99', toStatus: 'Certificate Enrolled', enrolls: true }),
    );
    await active(handle);
    assert.equal(issue.orders.length, 1, 'one order, for the latest Enroll');
    assert.equal(issue.attachments.length, 1);
  });

  it('fails visibly, with a comment and the issue back where the user can act, on an unexpected error', async () => {
    const { issue, handle } = await start((i) => (i.attachRefused = true));
    const err = await handle.result().then(
      () => assert.fail('completed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(issue.texts().some((t) => /could not finish this request: .*HTTP 403/.test(t)));
    assert.equal(issue.status, 'Certificate Request');
  });
});

describe('renewal requests while the workflow is busy, with time skipping', needsTestServer, () => {
  const { start, waitFor, waitForPhase, active, record } = harness();

  it('takes a request that arrives while enrolling, then refuses it on the issue (OutsideWindow)', async () => {
    const gate = Promise.withResolvers<void>();
    const { issue, handle } = await start((i) => void (i.issuance = gate.promise));
    await waitFor(handle, 'awaiting issuance', (s) => s.phase === 'AwaitingIssuance');
    const taken = await handle.executeUpdate(renewUpdate, {
      args: [{ requestedBy: 'alice', requestId: 'early', returnToStatus: 'Certificate Enrolled' }],
    });
    assert.equal(taken.result, 'accepted');
    const again = await handle.executeUpdate(renewUpdate, { args: [{ requestedBy: 'bob', requestId: 'early-2' }] });
    assert.equal(again.result, 'joined', 'a second request joins the waiting one');
    gate.resolve();
    await active(handle);
    await waitFor(handle, 'refusal said', () => issue.texts().includes(RENEWAL_OUTSIDE_WINDOW));
    assert.equal(issue.status, 'Certificate Enrolled');
    assert.ok(!issue.texts().some((t) => /Publishing|Renewing|Validating/.test(t)), 'no phase name reaches Jira');
  });

  it('says with the enrolled certificate that the CSR was edited while it was being issued', async () => {
    const gate = Promise.withResolvers<void>();
    const { issue, handle } = await start((i) => void (i.issuance = gate.promise));
    await waitFor(handle, 'awaiting issuance', (s) => s.phase === 'AwaitingIssuance');
    await handle.signal(csrChangedSignal);
    gate.resolve();
    await active(handle);
    const enrolled = issue.texts().find((t) => t.startsWith('Certificate enrolled:')) ?? '';
    assert.match(enrolled, /was edited while this certificate was being issued: it is for the CSR as it was/);
  });

  it('says with a renewal that the CSR names another host, and that the profile stays the certificate’s', async () => {
    const { issue, handle } = await start();
    await active(handle);
    issue.domain = 'new-host.example.com';
    issue.profileName = 'Short-lived Server Certificate';
    await handle.executeUpdate(renewUpdate, { args: [{ requestedBy: 'alice', force: true, requestId: 'moved' }] });
    const renewed = await waitFor(handle, 'renewed', (s) => s.generation === 1 && s.phase === 'Active');
    const said = issue.texts().find((t) => t.startsWith('Certificate renewed')) ?? '';
    assert.match(said, /names new-host\.example\.com instead of www\.example\.com/);
    assert.match(
      said,
      /profile" is now "Short-lived Server Certificate", but a renewal keeps .*"OV Server Certificate"/,
    );
    assert.equal(renewed.domain, 'new-host.example.com');
  });

  it('renews at once on a forced request that arrived while publishing (Forced)', async () => {
    const gate = Promise.withResolvers<void>();
    const { handle } = await start((i) => void (i.issuance = gate.promise));
    await waitFor(handle, 'awaiting issuance', (s) => s.phase === 'AwaitingIssuance');
    await handle.executeUpdate(renewUpdate, { args: [{ requestedBy: 'operator', force: true, requestId: 'f' }] });
    const dup = await handle.executeUpdate(renewUpdate, {
      args: [{ requestedBy: 'operator', force: true, requestId: 'f' }],
    });
    assert.equal(dup.result, 'duplicate');
    gate.resolve();
    const renewed = await waitFor(handle, 'forced renewal', (s) => s.generation === 1);
    assert.equal(renewed.history.at(-1)?.reason, 'forced');
  });

  it('revokes during a renewal: the renewal order once issued, and the current one; publishes nothing', async () => {
    const { issue, handle } = await start();
    await active(handle);
    const gate = Promise.withResolvers<void>();
    issue.issuance = gate.promise;
    await handle.executeUpdate(renewUpdate, { args: [{ requestedBy: 'operator', force: true, requestId: 'f' }] });
    await waitForPhase(handle, 'Renewing');
    const taken = await handle.executeUpdate(revokeUpdate, {
      args: [{ reasonCode: 1, requestedBy: 'alice', requestId: 'r' }],
    });
    assert.equal(taken.result, 'accepted');
    gate.resolve();
    const end = await handle.result();
    assert.equal(end.phase, 'Revoked');
    assert.deepEqual([...issue.revoked].sort(), [...issue.orders].sort(), 'both certificates revoked');
    assert.equal(issue.attachments.length, 1, 'the renewal was not published');
    assert.equal(issue.status, 'Certificate Revoked');
    await record('certificate-revoked-during-renewal', handle, undefined);
  });
});
