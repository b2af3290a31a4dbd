/** The operator CLI against a running certificate workflow. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Refused, runCli, UsageError } from '../../src/client/cli.ts';
import { RENEWAL_OUTSIDE_WINDOW } from '../../src/messages.ts';
import { ensureSweepSchedule } from '../../src/schedule.ts';
import { SWEEP_SCHEDULE_ID } from '../../src/contract/sweep.ts';
import { eventually, opensslCsr, rejectionOf, startWorld, type World } from '../helpers/environment.ts';

const execFileAsync = promisify(execFile);

describe('CLI', () => {
  let world: World;
  let key: string;
  before(async () => {
    world = await startWorld({ scm: { issuanceDelayMs: 0 } });
    key = await world.alice.createCertificateIssue({
      profile: 'OV Server Certificate',
      csr: opensslCsr('/CN=cli.example.com', 'ec-p256'),
    });
    await world.alice.transition(key, 'Enroll Certificate');
    await eventually(
      async () => ((await cli('status', key).catch(() => '')).includes('Active') ? true : undefined),
      'Active',
    );
  });
  after(async () => {
    await world?.teardown();
  });
  const cli = (...args: string[]) => runCli(args, world.env.client);
  const refusal = async (...args: string[]) => (await rejectionOf(cli(...args), UsageError)).message;

  it('shows a certificate and its generations', async () => {
    const status = await cli('status', key);
    assert.match(status, /^issue\s+CERT-\d+$/m);
    assert.match(status, /^phase\s+Active$/m);
    assert.match(status, /^domain\s+cli\.example\.com$/m);
    assert.match(status, /^renews at\s+\d{4}-/m);
    assert.match(await cli('history', key), /^0 {2}\d+ {2}[0-9A-F]+ {2}.*enrolled$/);
  });

  it('prints status, history and list as JSON with --json', async () => {
    const status = JSON.parse(await cli('status', key, '--json')) as { issueKey: string; phase: string };
    assert.equal(status.issueKey, key);
    assert.ok(['Active', 'Renewing', 'RenewalDue'].includes(status.phase), status.phase);
    const history = JSON.parse(await cli('history', key, '--json')) as Array<{ reason: string; certificateId: number }>;
    assert.equal(history[0]?.reason, 'enrolled');
    assert.equal(typeof history[0]?.certificateId, 'number');
    const listed = await eventually(async () => {
      const rows = JSON.parse(await cli('list', '--json')) as Array<{ issueKey: string; domain?: string }>;
      return rows.find((row) => row.issueKey === key);
    }, 'the certificate in the JSON list');
    assert.equal(listed.domain, 'cli.example.com');
    assert.deepEqual(JSON.parse(await cli('list', '--domain', 'nobody.example.com', '--json')), []);
  });

  it('refuses a status that is no phase, naming the phases', async () => {
    assert.match(
      await refusal('list', '--status', 'Bogus'),
      /^option '--status <phase>' argument 'Bogus' is invalid\. Allowed choices are Validating, .*Rejected\. \(see npm run cli -- list --help\)$/,
    );
  });

  it('lists certificates by search attribute', async () => {
    const listed = await eventually(async () => {
      const out = await cli('list', '--status', 'Active');
      return out.includes(key) ? out : undefined;
    }, 'the list');
    assert.match(listed, /cli\.example\.com/);
    assert.equal(await cli('list', '--domain', 'nobody.example.com'), 'no certificates');
  });

  it('refuses an early renewal with the exact message, and forces one with --force', async () => {
    assert.equal((await rejectionOf(cli('renew', key), Refused)).message, `${key}: ${RENEWAL_OUTSIDE_WINDOW}`);
    assert.match(await cli('renew', key, '--force'), /renewal accepted \(forced\)/);
    await eventually(
      async () => ((await cli('status', key)).match(/^generation\s+1$/m) ? true : undefined),
      'generation 1',
    );
  });

  it('lists a renewed certificate once, under its current run', async () => {
    const rows = await eventually(async () => {
      const out = (await cli('list')).split('\n').filter((row) => row.startsWith(`${key} `));
      return out.length > 0 && !out[0]?.includes('Renewing') ? out : undefined;
    }, 'the list after renewal');
    assert.equal(rows.length, 1, rows.join('\n'));
    assert.match(rows[0] ?? '', /Active/);
  });

  it('keeps a hostile filter value inside its string literal', async () => {
    // Before: the backslash escaped the escaping quote, and the rest rewrote the query.
    const hostile = "x\\' OR WorkflowType = 'certificateLifecycle' OR CertificateDomain = 'y";
    assert.equal(await cli('list', '--domain', hostile), 'no certificates');
    assert.equal(await cli('list', '--domain', "o'brien.example.com"), 'no certificates');
  });

  it('enrolls and revokes a certificate without a Jira issue, through the real command', async () => {
    const run = async (...args: string[]) => {
      const { stdout } = await execFileAsync(process.execPath, ['src/client/cli.ts', ...args], {
        env: { ...process.env, TEMPORAL_ADDRESS: world.env.address },
      });
      return stdout.trim();
    };
    const file = join(mkdtempSync(join(tmpdir(), 'cli-csr-')), 'standalone.csr');
    writeFileSync(file, opensslCsr('/CN=standalone.example.com', 'ec-p256'));
    const issuesBefore = world.sandbox.jiraEmulator.issueCount;
    const enrolled = await run('enroll', '--csr', file, '--profile', 'OV Server Certificate');
    const key = /^issue\s+(CLI-\d+)$/m.exec(enrolled)?.[1] ?? '';
    assert.equal(key, 'CLI-1', 'the first certificate enrolled from the CLI');
    assert.match(enrolled, /^phase\s+Active$/m);
    assert.match(enrolled, /^domain\s+standalone\.example\.com$/m);
    assert.equal(world.sandbox.jiraEmulator.issueCount, issuesBefore, 'no Jira issue involved');
    const order = world.sandbox.scmEmulator.orders().find((o) => o.commonName === 'standalone.example.com');
    assert.equal(order?.status, 'Issued');
    assert.match(await run('status', key), /^phase\s+Active$/m);
    assert.match(
      await eventually(async () => ((await run('list')).includes(key) ? run('list') : undefined), 'listed'),
      new RegExp(key),
    );
    assert.deepEqual(JSON.parse(await run('revoke', key, '--reason', 'superseded', '--json')), {
      issueKey: key,
      revocation: 'accepted',
    });
    const handle = world.env.client.workflow.getHandle(`certificate:${key}`);
    assert.equal(((await handle.result()) as { phase: string }).phase, 'Revoked');
    assert.equal(
      world.sandbox.scmEmulator.orders().find((o) => o.commonName === 'standalone.example.com')?.status,
      'Revoked',
    );
    const refused = await run('enroll', '--profile', 'OV Server Certificate').then(
      () => assert.fail('accepted'),
      (err: { code?: number; stderr?: string }) => err,
    );
    assert.equal(refused.code, 2);
    assert.match(refused.stderr ?? '', /required option '--csr <file>' not specified/);
    const unknownOption = await run('status', key, '--frobnicate').then(
      () => assert.fail('accepted'),
      (err: { code?: number; stderr?: string }) => err,
    );
    assert.equal(unknownOption.code, 2, 'an unknown option is a usage error too');
    assert.match(unknownOption.stderr ?? '', /--frobnicate/);
    const unreachable = await execFileAsync(process.execPath, ['src/client/cli.ts', 'status', key], {
      env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:9' },
    }).then(
      () => assert.fail('reached'),
      (err: { code?: number; stderr?: string }) => err,
    );
    assert.equal(unreachable.code, 3, 'Temporal unreachable');
    assert.match(
      unreachable.stderr ?? '',
      /^cannot use Temporal at 127\.0\.0\.1:9 \(TEMPORAL_\* variables\): check TEMPORAL_ADDRESS and that the server is up\. \(.+\)$/m,
    );
  });

  it('says what is wrong with bad input', async () => {
    assert.match(await refusal('status', 'not-a-key'), /needs an issue key such as CERT-45/);
    assert.match(await refusal('status', 'CERT-1/../../x'), /needs an issue key such as CERT-45/);
    assert.match(await refusal('status', 'CERT-99999'), /no certificate workflow for CERT-99999/);
    assert.match(await refusal('frobnicate'), /^unknown command 'frobnicate' \(see npm run cli -- --help\)$/);
    assert.match(await refusal('list', '--force'), /^unknown option '--force' \(see npm run cli -- list --help\)$/);
    assert.match(await refusal('status', key, 'extra'), /^too many arguments for 'status'/);
    assert.match(
      await refusal('revoke', key, '--reason', 'superseded', '--profile', 'ov-server'),
      /only with --certificate-id/,
    );
    // 0x443 is 1091 to Number(): an irreversible revocation takes decimal digits only.
    for (const id of ['0x443', '1e3', '12abc', '0', '+7']) {
      assert.match(
        await refusal('revoke', '--certificate-id', id, '--profile', 'OV Server Certificate', '--reason', 'superseded'),
        /--certificate-id takes the certificate's SCM id in decimal digits/,
      );
    }
    assert.match(await cli('--help'), /^Usage: npm run cli/);
  });

  it('has help for each command, with its arguments and options', async () => {
    const overview = await cli('--help');
    assert.match(overview, /Exit codes: 0 done; 1 refused .* 2 usage .* 3 Temporal\s+unreachable/s);
    for (const command of [
      'enroll',
      'status',
      'history',
      'list',
      'certificate',
      'renew',
      'revoke',
      'sweep',
      'unowned',
      'jira-check',
    ]) {
      assert.match(overview, new RegExp(`^  ${command} `, 'm'), `${command} in the overview`);
      const help = await cli(command, '--help');
      assert.match(help, new RegExp(`^Usage: npm run cli -- ${command} \\[options\\]`), command);
      if (command !== 'jira-check') assert.match(help, /--json +print the result as JSON/, `${command} --json`);
    }
    assert.match(await cli('help', 'revoke'), /--certificate-id <id>/);
  });

  it('writes the certificate SCM issued, with or without its chain, to stdout or a file', async () => {
    const { certificateId } = JSON.parse(await cli('status', key, '--json')) as { certificateId: number };
    const pem = await cli('certificate', key);
    assert.ok((pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length >= 2, 'the certificate, then its chain');
    const leaf = await cli('certificate', key, '--leaf');
    assert.equal((leaf.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length, 1);
    assert.ok(pem.startsWith(leaf.trimEnd()), 'the certificate comes first');
    const file = join(mkdtempSync(join(tmpdir(), 'cli-pem-')), 'cli.pem');
    const written = JSON.parse(await cli('certificate', key, '--out', file, '--json')) as {
      certificateId: number;
      file: string;
    };
    assert.deepEqual(written.certificateId, certificateId);
    assert.equal(readFileSync(file, 'utf8').trimEnd(), pem);
    const serial = new X509Certificate(leaf).serialNumber;
    const order = world.sandbox.scmEmulator.orders().find((o) => o.sslId === certificateId);
    assert.equal(
      ((order?.serialNumber as string | undefined) ?? '').replace(/:/g, '').toUpperCase(),
      serial.toUpperCase(),
    );
  });

  it('takes a profile by its id or its name', async () => {
    const byName = await cli('list', '--profile', 'OV Server Certificate', '--json');
    const byId = await cli('list', '--profile', 'ov-server', '--json');
    assert.deepEqual(JSON.parse(byName), JSON.parse(byId));
    assert.ok((JSON.parse(byId) as Array<{ issueKey: string }>).some((row) => row.issueKey === key));
    assert.match(
      await refusal('list', '--profile', 'nope'),
      /^unknown profile "nope": use one of ov-server \("OV Server Certificate"\)/,
    );
  });

  it('triggers the sweep through its schedule, created once', async () => {
    assert.equal(await ensureSweepSchedule(world.env.client), true);
    assert.equal(await ensureSweepSchedule(world.env.client), false);
    assert.match(await cli('sweep'), /sweep started/);
    const done = await eventually(async () => {
      const count = await world.env.client.workflow.count(
        "WorkflowType = 'renewalSweep' AND ExecutionStatus = 'Completed'",
      );
      return count.count > 0 ? count.count : undefined;
    }, 'the sweep run');
    assert.equal(done, 1);
    const unowned = JSON.parse(await cli('unowned', '--json')) as { sweptAt: string; orders: unknown[] };
    assert.ok(Date.parse(unowned.sweptAt) > 0, 'when the sweep ran');
    assert.deepEqual(unowned.orders, []);
    assert.deepEqual(JSON.parse(await cli('sweep', '--json')), { started: true, schedule: SWEEP_SCHEDULE_ID });
  });
});
