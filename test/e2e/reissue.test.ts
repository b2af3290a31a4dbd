/**
 * A fleet reissue on a real dev server with the emulators: parked certificates of one profile renewed
 * once each at a set pace, through the CLI, with the worker stopped and started again mid-way; another
 * profile's certificates left alone; a dry run that renews nothing; pause, resume, and the progress in
 * /metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { runCli } from '../../src/client/cli.ts';
import { certificateWorkflowId, statusQuery } from '../../src/contract/certificate.ts';
import { reissueProgressQuery, reissueQuery, reissueWorkflowId } from '../../src/contract/reissue.ts';
import { ConnectorMetrics, fleetReader } from '../../src/metrics.ts';
import type { reissue } from '../../src/workflows/reissue.ts';
import { emulatorIssuer, parkCertificates } from '../../bench/park.ts';
import { eventually, opensslCsr, startWorld, type World } from '../helpers/environment.ts';

const OV = { id: 'ov-server', name: 'OV Server Certificate', orgId: 1, certType: 1001 };
const MANUAL = { id: 'manual', name: 'Manual Server Certificate', orgId: 1, certType: 1001 };

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/**
 * An operation's history as marks (what `mark` names, in order) and the asks among them:
 * `asksBetween(i, j)` counts the certificates asked after mark i and before mark j (j past the end: to the end).
 */
async function asksAround(handle: WorkflowHandle, mark: (event: HistoryEvent) => string | null | undefined) {
  const events = (await handle.fetchHistory()).events ?? [];
  const marks: string[] = [];
  const asksAfterMark: number[] = [];
  for (const event of events) {
    const name = mark(event);
    if (name) {
      marks.push(name);
      asksAfterMark.push(0);
    } else if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'askToRenew' && marks.length > 0) {
      asksAfterMark[marks.length - 1] = (asksAfterMark[marks.length - 1] ?? 0) + 1;
    }
  }
  return {
    marks,
    asksBetween: (from: number, to: number) =>
      asksAfterMark.slice(from, Math.min(to, marks.length)).reduce((a, b) => a + b, 0),
  };
}

describe('fleet reissue', () => {
  let world: World;
  let issuer = '';
  const metrics = new ConnectorMetrics({ fleet: () => fleetReader(world.env.client)(), fleetTtlMs: 0 });
  const cli = (...args: string[]) => runCli(args, world.env.client);
  /** Renewal orders placed in SCM so far. */
  const renewals = () => world.sandbox.scmEmulator.stats.byOperation['POST /api/ssl/v1/renewById/{id}'] ?? 0;
  const statusOf = (key: string) => world.env.client.workflow.getHandle(certificateWorkflowId(key)).query(statusQuery);

  const parking = () => ({
    client: world.env.client,
    scm: world.sandbox.scmEmulator,
    csr: (domain: string) => Promise.resolve(opensslCsr(`/CN=${domain}`, 'ec-p256')),
    // Issued now: the short-lived profiles renew by themselves in the second half of a lifetime.
    validity: { notBefore: Date.now(), notAfter: Date.now() + 300 * 86_400_000 },
  });
  /** How many certificates of the profile a reissue would select now. */
  const selected = async (profileId: string) =>
    Number((await world.env.client.workflow.count(reissueQuery({ profileId }))).count);

  before(async () => {
    world = await startWorld({ scm: { issuanceDelayMs: 50 }, metrics });
    issuer = await emulatorIssuer(world.sandbox.scmEmulator);
    const csr = (domain: string) => Promise.resolve(opensslCsr(`/CN=${domain}`, 'ec-p256'));
    await parkCertificates({
      client: world.env.client,
      scm: world.sandbox.scmEmulator,
      count: 12,
      profile: OV,
      csr,
      issuer,
      prefix: 'RA',
    });
    await parkCertificates({
      client: world.env.client,
      scm: world.sandbox.scmEmulator,
      count: 3,
      profile: MANUAL,
      csr,
      issuer,
      prefix: 'RB',
    });
    // Parked runs index their profile in their first task.
    await eventually(
      async () => ((await cli('reissue', '--profile', 'manual', '--dry-run')).startsWith('3 ') ? true : undefined),
      'the parked certificates indexed',
    );
  });
  after(async () => {
    await world?.teardown();
  });

  it('lists the selection on a dry run, and renews nothing', async () => {
    const before = renewals();
    const listed = await cli(
      'reissue',
      '--profile',
      'OV Server Certificate',
      '--issuer-fingerprint',
      issuer,
      '--dry-run',
    );
    const lines = listed.split('\n');
    assert.match(lines[0] ?? '', /^12 certificates selected; none renewed \(dry run\)$/);
    assert.equal(lines.filter((l) => /^RA-\d+ /.test(l)).length, 12);
    assert.equal(renewals(), before);
    const other = await cli('reissue', '--profile', 'ov-server', '--issuer-fingerprint', 'AB'.repeat(32), '--dry-run');
    assert.match(other, /^0 certificates selected/);
  });

  it('renews each certificate of the profile once at the pace set, through a worker restart, and leaves the others alone', async () => {
    const before = renewals();
    const started = await cli('reissue', '--profile', 'ov-server', '--rate', '7200/h', '--issuer-fingerprint', issuer);
    assert.match(
      started,
      /^reissue reissue:ov-server:issuer-[0-9A-F]{64} started: 12 certificates selected \(--dry-run lists them\), 7200 an hour/,
    );
    const operation = reissueWorkflowId({ profileId: 'ov-server', issuer });
    const handle = world.env.client.workflow.getHandle<typeof reissue>(operation);

    // Paused: the progress is in /metrics, and no more certificates are asked.
    assert.match(await cli('reissue', '--profile', 'ov-server', '--issuer-fingerprint', issuer, '--pause'), /paused$/);
    const paused = await eventually(async () => {
      await metrics.refreshFleet();
      const text = await metrics.text();
      const line = (state: string) =>
        new RegExp(
          `^certificate_reissue_certificates\\{operation="${operation}",state="${state}"\\} (\\d+)$`,
          'm',
        ).exec(text)?.[1];
      return /certificate_reissue_paused\{operation="[^"]+"\} 1/.test(text)
        ? { selected: line('selected'), asked: Number(line('asked')) }
        : undefined;
    }, 'the paused reissue in /metrics');
    assert.equal(paused.selected, '12');
    assert.ok(Number.isInteger(paused.asked), 'the asked series is exported too');

    // The command again shows the same operation; it starts nothing.
    assert.match(
      await cli('reissue', '--profile', 'ov-server', '--issuer-fingerprint', issuer),
      /^reissue \S+ exists \(running\)/,
    );
    await cli('reissue', '--profile', 'ov-server', '--issuer-fingerprint', issuer, '--resume');
    await eventually(
      async () => ((await handle.query(reissueProgressQuery)).asked >= 4 ? true : undefined),
      'a third asked',
    );
    await world.stopWorker();
    await world.startWorker();

    const summary = await handle.result();
    assert.equal(summary.cancelled, false);
    // From the history, not from a wait: between the pause and the resume no certificate was asked.
    const events = await asksAround(handle, (e) => e.workflowExecutionSignaledEventAttributes?.signalName);
    const [pausedAt, resumedAt] = [events.marks.indexOf('pause'), events.marks.indexOf('resume')];
    assert.ok(pausedAt >= 0 && resumedAt > pausedAt, 'paused, then resumed');
    assert.equal(events.asksBetween(pausedAt, resumedAt), 0, 'nothing asked while paused');
    assert.deepEqual(
      {
        selected: summary.selected,
        asked: summary.asked,
        renewed: summary.renewed,
        failed: summary.failed,
        skipped: summary.skipped,
      },
      { selected: 12, asked: 12, renewed: 12, failed: 0, skipped: 0 },
    );
    assert.equal(renewals() - before, 12, 'one renewal order per certificate');
    for (let i = 1; i <= 12; i++) {
      const status = await statusOf(`RA-${i}`);
      assert.deepEqual(
        status.history.map((h) => h.reason),
        ['enrolled', 'forced'],
        `RA-${i} renewed once`,
      );
      assert.equal(status.history[1]?.issuer, issuer, 'the renewed certificate records its issuer');
    }
    for (let i = 1; i <= 3; i++) assert.equal((await statusOf(`RB-${i}`)).generation, 1, `RB-${i} untouched`);

    // Repeated after the end: the same operation, shown; nothing renewed again.
    const again = await cli('reissue', '--profile', 'ov-server', '--issuer-fingerprint', issuer, '--rate', '7200/h');
    assert.match(again, /^reissue \S+ exists \(completed\)/);
    assert.match(again, /renewed 12/);
    assert.equal(renewals() - before, 12);
  });

  it('revokes each replaced certificate the time asked after its replacement, and ends when the last is', async () => {
    const profile = { id: 'short-lived', name: 'Short-lived Server Certificate', orgId: 1, certType: 1002 };
    const ids = await parkCertificates({ ...parking(), count: 2, profile, prefix: 'RD' });
    await eventually(async () => ((await selected('short-lived')) === 2 ? true : undefined), 'RD indexed');
    await cli('reissue', '--profile', 'short-lived', '--rate', '36000/h', '--revoke-replaced-after', '2s');
    const summary = await world.env.client.workflow
      .getHandle<typeof reissue>(reissueWorkflowId({ profileId: 'short-lived' }))
      .result();
    assert.deepEqual([summary.renewed, summary.revoked, summary.toRevoke.length], [2, 2, 0]);
    const statuses = new Map(world.sandbox.scmEmulator.orders().map((o) => [Number(o.id), o.status]));
    assert.deepEqual(
      ids.map((id) => statuses.get(id)),
      ['Revoked', 'Revoked'],
      'the replaced certificates revoked',
    );
    for (const key of ['RD-1', 'RD-2']) {
      const { certificateId } = await statusOf(key);
      assert.equal(statuses.get(certificateId ?? 0), 'Issued', `${key}'s new certificate stays valid`);
    }
  });

  it('stops asking when cancelled, and says so in its summary', async () => {
    const profile = { id: 'short-lived-manual', name: 'Short-lived Manual Certificate', orgId: 1, certType: 1002 };
    await parkCertificates({ ...parking(), count: 5, profile, prefix: 'RC' });
    await eventually(async () => ((await selected('short-lived-manual')) === 5 ? true : undefined), 'RC indexed');
    const before = renewals();
    const selection = ['--profile', 'short-lived-manual'];
    // One ask every ten seconds: the cancel comes long before the second.
    await cli('reissue', ...selection, '--rate', '360/h');
    const handle = world.env.client.workflow.getHandle<typeof reissue>(
      reissueWorkflowId({ profileId: 'short-lived-manual' }),
    );
    await eventually(
      async () => ((await handle.query(reissueProgressQuery)).asked >= 1 ? true : undefined),
      'one asked',
    );
    assert.match(await cli('reissue', ...selection, '--cancel'), /cancelled$/);
    const summary = await handle.result();
    assert.equal(summary.cancelled, true);
    assert.ok(summary.asked < 5, `${summary.asked} of 5 asked before the cancel`);
    const events = await asksAround(handle, (e) =>
      e.workflowExecutionCancelRequestedEventAttributes ? 'cancel' : undefined,
    );
    const cancelledAt = events.marks.indexOf('cancel');
    assert.ok(cancelledAt >= 0, 'the cancel is in the history');
    assert.equal(events.asksBetween(cancelledAt, events.marks.length), 0, 'nothing asked after the cancel');
    assert.ok(renewals() - before <= summary.asked, 'no renewal beyond those asked');
  });

  it("says how many of the profile's certificates record no issuer, which an issuer fingerprint cannot select", async () => {
    // Parked without an issuer, as a certificate obtained before the connector recorded issuers.
    await parkCertificates({ ...parking(), count: 1, profile: MANUAL, prefix: 'RE' });
    await eventually(async () => ((await selected('manual')) === 4 ? true : undefined), 'RE indexed');
    const selection = ['--profile', 'manual', '--issuer-fingerprint', issuer, '--dry-run'];
    const lines = (await cli('reissue', ...selection)).split('\n');
    assert.match(lines[0] ?? '', /^3 certificates selected; none renewed \(dry run\)$/);
    assert.ok(!lines.some((l) => l.startsWith('RE-1 ')), 'RE-1 is not selected');
    assert.equal(
      lines.at(-1),
      "not selected: 1 of the profile's certificates with no issuer recorded (obtained before the connector " +
        'recorded issuers); select them with --profile and --issued-before',
    );
    const listed = JSON.parse(await cli('reissue', ...selection, '--json')) as Record<string, unknown>;
    assert.deepEqual([listed.selected, listed.withoutIssuer], [3, 1]);
  });

  it('refuses a fingerprint that is not one, and a rate that is not one', async () => {
    await assert.rejects(cli('reissue', '--profile', 'ov-server', '--issuer-fingerprint', 'xyz'), /64 hex digits/);
    await assert.rejects(cli('reissue', '--profile', 'ov-server', '--rate', 'fast'), /not a rate/);
  });
});
