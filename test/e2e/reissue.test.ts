/**
 * A fleet reissue on a real dev server with the emulators: parked certificates of one profile renewed
 * once each at a set pace, through the CLI, with the worker stopped and started again mid-way; another
 * profile's certificates left alone; a dry run that renews nothing; pause, resume, and the progress in
 * /metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/client/cli.ts';
import { certificateWorkflowId, statusQuery } from '../../src/contract/certificate.ts';
import { reissueProgressQuery, reissueWorkflowId } from '../../src/contract/reissue.ts';
import { ConnectorMetrics, fleetReader } from '../../src/metrics.ts';
import type { reissue } from '../../src/workflows/reissue.ts';
import { parkCertificates } from '../../bench/park.ts';
import { eventually, opensslCsr, startWorld, type World } from '../helpers/environment.ts';

const OV = { id: 'ov-server', name: 'OV Server Certificate', orgId: 1, certType: 1001 };
const MANUAL = { id: 'manual', name: 'Manual Server Certificate', orgId: 1, certType: 1001 };

describe('fleet reissue', () => {
  let world: World;
  let issuer = '';
  const metrics = new ConnectorMetrics({ fleet: () => fleetReader(world.env.client)(), fleetTtlMs: 0 });
  const cli = (...args: string[]) => runCli(args, world.env.client);
  /** Renewal orders placed in SCM so far. */
  const renewals = () => world.sandbox.scmEmulator.stats.byOperation['POST /api/ssl/v1/renewById/{id}'] ?? 0;
  const statusOf = (key: string) => world.env.client.workflow.getHandle(certificateWorkflowId(key)).query(statusQuery);

  before(async () => {
    world = await startWorld({ scm: { issuanceDelayMs: 50 }, metrics });
    const intermediate = world.sandbox.scmEmulator.ca.intermediate;
    issuer = Buffer.from(await intermediate.getThumbprint('SHA-256'))
      .toString('hex')
      .toUpperCase();
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
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await handle.query(reissueProgressQuery)).asked, paused.asked, 'nothing asked while paused');

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

  it('refuses a fingerprint that is not one, and a rate that is not one', async () => {
    await assert.rejects(cli('reissue', '--profile', 'ov-server', '--issuer-fingerprint', 'xyz'), /64 hex digits/);
    await assert.rejects(cli('reissue', '--profile', 'ov-server', '--rate', 'fast'), /not a rate/);
  });
});
