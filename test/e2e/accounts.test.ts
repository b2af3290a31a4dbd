/**
 * Two SCM accounts, as the connector of the user guide keeps them per profile: the sandbox's emulator is
 * the default account (password headers); a second emulator, on HTTPS with an admin of its own who logs in
 * with a client certificate under /private/api, is the account "second", which the "Manual Server
 * Certificate" profile names. Enrollment, renewal, revocation, the download and the sweep
 * each talk to the certificate's account only; a wrong secret is reported by the account's name at start
 * while the other account keeps working.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../src/client/cli.ts';
import { checkAccounts, connectAccounts } from '../../src/connector.ts';
import { ConfigError } from '../../src/config.ts';
import { certificateWorkflowId, statusQuery } from '../../src/contract/certificate.ts';
import { TASK_QUEUE } from '../../src/contract/shared.ts';
import { Profiles } from '../../src/profiles.ts';
import { LocalCa } from '../../src/sandbox/ca.ts';
import { SANDBOX_PROFILES_FILE } from '../../src/sandbox/sandbox.ts';
import { ScmEmulator } from '../../src/sandbox/scm-emulator.ts';
import { renewalSweep } from '../../src/workflows/renewal-sweep.ts';
import { eventually, opensslCsr, startWorld, untilPhase, type World } from '../helpers/environment.ts';

const SECOND = { login: 'second-api', customerUri: 'second' };

describe('SCM accounts', () => {
  let world: World;
  let second: ScmEmulator;
  let profiles: Profiles;
  /** The second account's admin certificate and key, issued by its SCM. */
  let admin: { certificate: string; key: string };
  const accountsWith = ({ certificate, key }: typeof admin) =>
    connectAccounts(profiles, {
      env: { SECOND_SCM_CERTIFICATE: certificate, SECOND_SCM_KEY: key },
      defaultRequestsPerSecond: 100,
    });
  const domainsOf = (scm: ScmEmulator) => scm.orders().map((o) => String(o.commonName));
  const count = (scm: ScmEmulator, operation: string) => scm.stats.byOperation[operation] ?? 0;
  const statusOf = (key: string) => world.env.client.workflow.getHandle(certificateWorkflowId(key)).query(statusQuery);

  /**
   * Ids are each account's own: a certificate of each account with the same id, as two SCM instances may
   * issue (the account behind gets imported certificates until the next ids meet).
   */
  async function sameIdInBoth(name: string): Promise<{ manual: string; ov: string; id: number }> {
    alignNextIds();
    const manual = await enroll(`${name}-second.example.com`, 'Manual Server Certificate');
    const ov = await enroll(`${name}-default.example.com`, 'OV Server Certificate');
    const id = (await statusOf(manual)).certificateId ?? 0;
    assert.equal((await statusOf(ov)).certificateId, id, 'one id in both accounts');
    return { manual, ov, id };
  }

  /** Brings the account behind to the other's next id, with imported certificates. */
  function alignNextIds(): void {
    const nextId = (scm: ScmEmulator) => Math.max(999, ...scm.orders().map((o) => Number(o.id))) + 1;
    const gap = nextId(second) - nextId(world.sandbox.scmEmulator);
    const behind = gap > 0 ? world.sandbox.scmEmulator : second;
    behind.importIssued(
      Array.from({ length: Math.abs(gap) }, (_, i) => ({
        commonName: `filler-${i}.example.com`,
        orgId: 1,
        certTypeId: 1001,
        expires: Date.now() + 86_400_000,
      })),
    );
  }

  async function enroll(domain: string, profile: string): Promise<string> {
    const key = await world.alice.createCertificateIssue({ profile, csr: opensslCsr(`/CN=${domain}`, 'ec-p256') });
    await world.alice.transition(key, 'Enroll Certificate');
    await untilPhase(world.env.client, key, 'Active');
    return key;
  }

  before(async () => {
    world = await startWorld({ scm: { issuanceDelayMs: 50 } });
    second = await ScmEmulator.start({ https: true, issuanceDelayMs: 50, credentials: SECOND });
    admin = await second.clientIdentity();
    const trusted = join(mkdtempSync(join(tmpdir(), 'second-scm-')), 'ca.pem');
    writeFileSync(trusted, second.ca.root.toString('pem'));
    const sandbox = Profiles.load(SANDBOX_PROFILES_FILE);
    profiles = Profiles.parse(
      JSON.stringify({
        accounts: [
          {
            name: 'second',
            baseUrl: second.privateApiUrl,
            auth: {
              kind: 'certificate',
              ...SECOND,
              certificate: { env: 'SECOND_SCM_CERTIFICATE' },
              key: { env: 'SECOND_SCM_KEY' },
            },
            ca: { file: trusted },
            requestsPerSecond: 5,
          },
        ],
        profiles: sandbox.all.map((p) => (p.id === 'manual' ? { ...p, account: 'second' } : p)),
      }),
    );
    await world.stopWorker();
    await world.startWorker({ profiles, accounts: accountsWith(admin) });
  });
  after(async () => {
    await world?.teardown();
    await second?.stop();
  });

  it("enrolls, renews, downloads and revokes each profile's certificates in its own account", async () => {
    const ov = await enroll('account-default.example.com', 'OV Server Certificate');
    const manual = await enroll('account-second.example.com', 'Manual Server Certificate');
    assert.ok(domainsOf(world.sandbox.scmEmulator).includes('account-default.example.com'));
    assert.ok(!domainsOf(world.sandbox.scmEmulator).includes('account-second.example.com'));
    assert.deepEqual(domainsOf(second), ['account-second.example.com']);
    assert.equal((await statusOf(manual)).account, 'second');
    assert.equal((await statusOf(ov)).account, undefined);

    const defaultRenewals = count(world.sandbox.scmEmulator, 'POST /api/ssl/v1/renewById/{id}');
    await world.alice.transition(manual, 'Renew Certificate');
    await eventually(async () => ((await statusOf(manual)).history.length === 2 ? true : undefined), 'the renewal');
    await untilPhase(world.env.client, manual, 'Active');
    assert.equal(count(second, 'POST /private/api/ssl/v1/renewById/{id}'), 1);
    assert.equal(count(world.sandbox.scmEmulator, 'POST /api/ssl/v1/renewById/{id}'), defaultRenewals);

    const { certificateId } = await statusOf(manual);
    const pem = await runCli(['certificate', manual, '--leaf'], world.env.client);
    const issued = second.orders().find((o) => o.id === certificateId);
    assert.equal(issued?.status, 'Issued');
    assert.match(pem, /^-----BEGIN CERTIFICATE-----/);
    assert.equal(
      count(second, 'GET /private/api/ssl/v1/collect/{id}'),
      3,
      'two collected by the workflows, one by the CLI',
    );

    const defaultRevocations = count(world.sandbox.scmEmulator, 'POST /api/ssl/v1/revoke/{id}');
    await world.alice.revoke(manual, 'Superseded');
    await untilPhase(world.env.client, manual, 'Revoked');
    assert.equal(count(second, 'POST /private/api/ssl/v1/revoke/{id}'), 2, 'both valid certificates of the issue');
    assert.equal(count(world.sandbox.scmEmulator, 'POST /api/ssl/v1/revoke/{id}'), defaultRevocations);
  });

  it('sweeps each account, and tells only the owner of a certificate revoked in its account', async () => {
    const { manual, ov, id } = await sameIdInBoth('sweep');
    second.revokeDirectly(id);
    const [defaultBefore, secondBefore] = [world.sandbox.scmEmulator.stats.requests, second.stats.requests];
    const totals = await world.env.client.workflow.execute(renewalSweep, {
      taskQueue: TASK_QUEUE,
      workflowId: `sweep-accounts-${Date.now()}`,
      args: [{}],
    });
    assert.ok(totals.reconciled >= 1);
    await untilPhase(world.env.client, manual, 'Revoked');
    assert.equal((await statusOf(ov)).phase, 'Active');
    assert.ok(world.sandbox.scmEmulator.stats.requests > defaultBefore, 'the default account read');
    assert.ok(second.stats.requests > secondBefore, 'the second account read');
  });

  it('reports an order of one account that no workflow owns, though a certificate of the other has its id', async () => {
    const manual = await enroll('orphan-second.example.com', 'Manual Server Certificate');
    alignNextIds();
    const ov = await enroll('orphan-default.example.com', 'OV Server Certificate');
    // What a lost answer left behind in the second account: an order with the manual issue's token.
    const [account] = accountsWith(admin);
    const duplicate = await account?.scm.enroll({
      orgId: 1,
      certType: 1001,
      term: 365,
      csr: opensslCsr('/CN=orphan-second.example.com', 'ec-p256'),
      comments: `Requested through Jira issue ${manual} [certificate:${manual}/lost-run/g0/enroll]`,
    });
    assert.equal(duplicate?.sslId, (await statusOf(ov)).certificateId, "the default account's certificate's id");
    const totals = await world.env.client.workflow.execute(renewalSweep, {
      taskQueue: TASK_QUEUE,
      workflowId: `sweep-unowned-${Date.now()}`,
      args: [{}],
    });
    const reported = (totals.unownedOrders ?? []).map((o) => `${o.account ?? 'default'}/${o.certificateId}`);
    assert.deepEqual(reported, [`second/${duplicate?.sslId}`]);
  });

  it("revokes by id in the account of the profile named, through the workflow of that account's certificate", async () => {
    const { manual, ov, id } = await sameIdInBoth('by-id');
    const [secondBefore, defaultBefore] = [
      count(second, 'POST /private/api/ssl/v1/revoke/{id}'),
      count(world.sandbox.scmEmulator, 'POST /api/ssl/v1/revoke/{id}'),
    ];
    const cli = (...args: string[]) => runCli(args, world.env.client);
    const said = await cli('revoke', '--certificate-id', String(id), '--profile', 'manual', '--reason', 'superseded');
    assert.match(said, new RegExp(manual));
    await untilPhase(world.env.client, manual, 'Revoked');
    assert.equal((await statusOf(ov)).phase, 'Active');
    assert.equal(count(second, 'POST /private/api/ssl/v1/revoke/{id}'), secondBefore + 1);
    assert.equal(count(world.sandbox.scmEmulator, 'POST /api/ssl/v1/revoke/{id}'), defaultBefore);
  });

  it('reports an account whose secret is wrong by its name at start, and the other account keeps working', async () => {
    // The admin's login on a certificate its SCM did not issue.
    const wrong = accountsWith(await (await LocalCa.create()).tlsIdentity('client', `CN=${SECOND.login}`));
    const base = { name: undefined, scm: world.sandbox.scm, config: world.sandbox.systems.sectigo };
    const problems = await checkAccounts([base, ...wrong]);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^SCM account "second" at \S+ refused the connector's credentials \(HTTP 401/);
    await assert.rejects(
      checkAccounts(wrong),
      (err: unknown) => err instanceof ConfigError && /"second"/.test(err.message),
    );

    await world.stopWorker();
    await world.startWorker({ profiles, accounts: wrong });
    try {
      await enroll('still-working.example.com', 'OV Server Certificate');
    } finally {
      await world.stopWorker();
      await world.startWorker({ profiles, accounts: accountsWith(admin) });
    }
  });

  it('refuses a profiles file whose profile names no account, or writes a secret', () => {
    const profile = { ...Profiles.load(SANDBOX_PROFILES_FILE).all[0], account: 'elsewhere' };
    assert.throws(
      () => Profiles.parse(JSON.stringify({ profiles: [profile] })),
      /no account "elsewhere": use one of default/,
    );
    const account = {
      name: 'eu',
      baseUrl: 'https://eu.example.com/api',
      auth: { kind: 'password', login: 'a', customerUri: 'c', password: 'written-here' },
    };
    assert.throws(
      () => Profiles.parse(JSON.stringify({ accounts: [account], profiles: [{ ...profile, account: 'eu' }] })),
      /secrets are never written in this file/,
    );
  });
});
