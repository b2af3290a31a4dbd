/**
 * Every decision of certificateLifecycle, one test each, on Temporal's time-skipping test server with the
 * activities replaced by typed stand-ins (fake-site.ts; Temporal itself is real). Months pass in
 * milliseconds, so these run in seconds and no outcome depends on the machine's speed. With
 * RECORD_HISTORIES=1 the finished runs named below are written to test/replay/histories for the replay
 * test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import {
  csrChangedSignal,
  reevaluateSignal,
  renewUpdate,
  revokeUpdate,
  scmObservationSignal,
} from '../../src/contract/certificate.ts';
import { RENEWAL_OUTSIDE_WINDOW } from '../../src/messages.ts';
import { DAY } from '../../src/workflows/policy/renewal.ts';
import { eventually, needsTestServer } from '../helpers/environment.ts';
import { DecisionHarness } from './decision-harness.ts';
import { settingsWith, type FakeIssue } from './fake-site.ts';

describe('certificate workflow decisions, with time skipping', needsTestServer, () => {
  const harness = DecisionHarness.forEachBlock();
  const { start, waitFor, status, record, runId, active } = bound(harness);

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

  it('plans the next run with the settings read as the renewal hands over; a change signalled is read', async () => {
    const { issue, handle } = await start();
    await active(handle);
    assert.equal(issue.profileReads, 1);
    const renewed = await waitFor(handle, 'generation 1', (s) => s.generation === 1 && s.phase === 'Active');
    assert.equal(issue.profileReads, 2, 'read as the renewal handed over; the continued run planned with it');
    assert.equal(renewed.profileFingerprint, settingsWith({}).fingerprint);
    issue.settings = settingsWith({ expiryWindow: { days: 40 } });
    await handle.signal(reevaluateSignal);
    const replanned = await waitFor(handle, 'replanned', (s) => s.profileFingerprint === issue.settings?.fingerprint);
    assert.equal(issue.profileReads, 3);
    assert.equal(Math.round(((replanned.notAfter ?? 0) - (replanned.windowOpensAt ?? 0)) / DAY), 40, 'the new window');
  });

  it('hands a profile changed during the renewal on as changed; one that is gone is found gone', async () => {
    const renewing = async (change: (issue: FakeIssue) => void) => {
      const { issue, handle, gate } = await heldInRenewal(harness);
      change(issue);
      await handle.signal(reevaluateSignal);
      gate.resolve();
      return { issue, handle };
    };
    const changed = await renewing((i) => (i.settings = settingsWith({ expiryWindow: { days: 40 } })));
    const renewed = await waitFor(changed.handle, 'gen 1', (s) => s.generation === 1 && s.phase === 'Active');
    assert.equal(changed.issue.profileReads, 2, 'read as the renewal handed over, not again');
    assert.equal(renewed.profileFingerprint, changed.issue.settings?.fingerprint);
    assert.equal(Math.round(((renewed.notAfter ?? 0) - (renewed.windowOpensAt ?? 0)) / DAY), 40, 'the new window');

    const gone = await renewing((i) => (i.settings = null));
    // Still Renewing while it waits for the profile: the phase-driven `waitFor` does not wait for that.
    const missing = () => (gone.issue.texts().some((t) => /no longer configured/.test(t)) ? true : undefined);
    await eventually(missing, 'the profile found missing');
    assert.equal(gone.issue.profileReads, 3, 'the next run read it, and found it gone');
    assert.equal((await status(gone.handle)).generation, 1);
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
    await harness.env.sleep('200 days');
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
    await harness.env.sleep('400 days'); // past the renewal moment the certificate had
    assert.equal(issue.orders.length, 1, 'nothing renews after a revocation');
    assert.equal(issue.texts().filter((t) => t.includes('revoked on')).length, 1);
  });

  it('orders nothing for a trigger that is no longer the latest status change (stale delivery)', async () => {
    const { issue, handle } = await start(
      (i) => (i.lastStatusChange = { id: '99', toStatus: 'Certificate Request', userId: 'alice' }),
    );
    const end = await handle.result();
    assert.equal(end.phase, 'Rejected');
    assert.deepEqual(issue.orders, []);
    assert.deepEqual(issue.texts(), []);
  });

  it('serves a later Enroll made before it read the issue (Enroll, back to request, Enroll again)', async () => {
    const { issue, handle } = await start(
      (i) => (i.lastStatusChange = { id: '99', toStatus: 'Certificate Enrolled', userId: 'alice', enrolls: true }),
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

  it('fails a certificate enrolled from the CLI without a word to Jira: it has no issue', async () => {
    const { issue, handle } = await start((i) => (i.collectRefused = true), {
      standalone: { csr: '-----BEGIN CERTIFICATE REQUEST-----', profileName: 'OV Server Certificate' },
    });
    const err = await handle.result().then(
      () => assert.fail('completed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.equal(issue.orders.length, 1, 'ordered from SCM');
    assert.deepEqual(issue.jiraCalls, [], 'no Jira activity for an issue that does not exist');
  });
});

describe('renewal requests while the workflow is busy, with time skipping', needsTestServer, () => {
  const harness = DecisionHarness.forEachBlock();
  const { start, waitFor, active, record } = bound(harness);

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
    const { issue, handle, gate } = await heldInRenewal(harness);
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

/** An Active certificate renewing on an operator's forced request, its new certificate held back by `gate`. */
async function heldInRenewal(harness: DecisionHarness) {
  const { start, active, waitForPhase } = bound(harness);
  const { issue, handle } = await start();
  await active(handle);
  const gate = Promise.withResolvers<void>();
  issue.issuance = gate.promise;
  await handle.executeUpdate(renewUpdate, { args: [{ requestedBy: 'operator', force: true, requestId: 'f' }] });
  await waitForPhase(handle, 'Renewing');
  return { issue, handle, gate };
}

/** The harness's methods, to be called unbound in the tests. */
function bound(harness: DecisionHarness) {
  return {
    start: harness.start.bind(harness),
    waitFor: harness.waitFor.bind(harness),
    waitForPhase: harness.waitForPhase.bind(harness),
    status: harness.status.bind(harness),
    record: harness.record.bind(harness),
    runId: harness.runId.bind(harness),
    active: harness.active.bind(harness),
  };
}
