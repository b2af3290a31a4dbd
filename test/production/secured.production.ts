/**
 * The production lane on secured servers: Temporal 1.29.1 on PostgreSQL whose frontend requires a client
 * certificate (mTLS), or an API key (a JWT the server's default claim mapper and authorizer check against a
 * key set the stack serves) over TLS. The worker, the receiver and the CLI run as their own processes,
 * configured only by Temporal's variables, and enroll, renew and revoke; credentials that must not work are
 * refused, each with the setting to fix.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { certificateAuthority, issueCertificate, TokenSigner } from '../../scripts/production-security.ts';
import { startProductionStack, type ProductionStack, type Security } from '../../scripts/production.ts';
import { certificateWorkflowId, statusQuery, type CertificateStatus } from '../../src/contract/certificate.ts';
import { WEBHOOK_PATH } from '../../src/client/webhook.ts';
import { freeLoopbackPort } from '../../src/metrics.ts';
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { registerWebhook, startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { connectTemporal, temporalTarget, type TemporalConnections } from '../../src/temporal-connection.ts';
import { eventually, opensslCsr, productionEnv, runToEnd, spawnWorker, type Ended } from '../helpers/environment.ts';

/** The CLI as a user runs it, with `env` over the stack's settings; its exit code and output. */
function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Ended> {
  return runToEnd(process.execPath, ['src/client/cli.ts', ...args], { env: { ...process.env, ...env } });
}

/** `env` without the named variables. */
function without(env: Record<string, string>, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));
}

function securedLane(security: Exclude<Security, 'none'>, basePort: number, refusals: (lane: Lane) => void): void {
  const lane = new Lane(security, basePort);
  describe(`on a secured server (${security})`, () => {
    before(() => lane.start());
    after(() => lane.stop());

    it('enrolls, renews and revokes through Jira, with worker, receiver and CLI connected as configured', async () => {
      const key = await lane.alice.createCertificateIssue({
        summary: `TLS for ${security}.example.com`,
        profile: 'Short-lived Server Certificate',
        csr: opensslCsr(`/CN=${security}.example.com`, 'ec-p256'),
      });
      await lane.alice.transition(key, 'Enroll Certificate');
      await lane.until(key, 'enrolled', (s) => s.phase === 'Active');
      const issue = lane.sandbox.jiraEmulator.issue(key) as unknown as { fields: { status: { name: string } } };
      assert.equal(issue.fields.status.name, 'Certificate Enrolled');

      const shown = await cli(lane.stack.clientEnv, 'status', key);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /Active/);

      await lane.alice.transition(key, 'Renew Certificate');
      await lane.until(key, 'renewed', (s) => s.generation === 1 && s.phase === 'Active');
      await lane.alice.revoke(key, 'Superseded');
      const final = (await lane.client.workflow.getHandle(certificateWorkflowId(key)).result()) as CertificateStatus;
      assert.equal(final.phase, 'Revoked');
      const orders = lane.sandbox.scmEmulator.orders().filter((o) => o.commonName === `${security}.example.com`);
      assert.equal(orders.length, 2, 'one enrollment, one renewal');
      assert.equal(orders.at(-1)?.status, 'Revoked', 'the renewed certificate revoked');
    });

    it("answers the receiver's /readyz once the namespace lets it in", async () => {
      const ready = await fetch(`${lane.receiverUrl}/readyz`);
      assert.equal(ready.status, 200, await ready.text());
    });

    refusals(lane);
  });
}

/** One secured stack with the product's processes on it. */
class Lane {
  readonly dir = mkdtempSync(join(tmpdir(), 'cert-secured-'));
  stack!: ProductionStack;
  connections!: TemporalConnections;
  sandbox!: Sandbox;
  alice!: Requester;
  receiverUrl!: string;
  readonly processes: ChildProcess[] = [];

  readonly security: Exclude<Security, 'none'>;
  readonly basePort: number;

  constructor(security: Exclude<Security, 'none'>, basePort: number) {
    this.security = security;
    this.basePort = basePort;
  }

  get client(): Client {
    return this.connections.client;
  }

  async start(): Promise<void> {
    this.stack = await startProductionStack({ dir: this.dir, basePort: this.basePort, security: this.security });
    // This process connects as the others do: from the variables alone.
    this.connections = await connectTemporal(temporalTarget(this.stack.clientEnv));
    // No receiver in this process: the receiver's own process gets Jira's webhooks.
    this.sandbox = await startSandbox({ client: this.client, trigger: 'polling', scm: { issuanceDelayMs: 500 } });
    this.alice = new Requester(this.sandbox.jiraEmulator.url, SANDBOX_USERS.alice);
    const world = { sandbox: this.sandbox, env: { address: this.stack.address } };
    const env = { ...productionEnv(world), ...this.stack.clientEnv };
    this.processes.push(spawnWorker(world, { env: this.stack.clientEnv }));
    const port = await freeLoopbackPort();
    this.processes.push(
      spawn(process.execPath, ['src/client/webhook-server.ts'], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...env, RECEIVER_PORT: String(port), RECEIVER_HOST: '127.0.0.1' },
      }),
    );
    this.receiverUrl = `http://127.0.0.1:${port}`;
    await eventually(
      () =>
        fetch(`${this.receiverUrl}/readyz`).then(
          (r) => (r.ok ? true : undefined),
          () => undefined,
        ),
      'the receiver ready',
      120_000,
    );
    await registerWebhook(this.sandbox.jiraEmulator, `${this.receiverUrl}${WEBHOOK_PATH}`, this.sandbox.webhookSecret);
  }

  async stop(): Promise<void> {
    for (const child of this.processes) child.kill('SIGKILL');
    await this.sandbox?.stop();
    await this.connections?.close();
    await this.stack?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  until(key: string, what: string, check: (s: CertificateStatus) => boolean): Promise<CertificateStatus> {
    return eventually(
      async () => {
        const s = await this.client.workflow
          .getHandle(certificateWorkflowId(key))
          .query(statusQuery)
          .catch(() => undefined);
        return s && check(s) ? s : undefined;
      },
      `${key}: ${what}`,
      180_000,
    );
  }

  /** A file of this lane's, written now. */
  file(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  }
}

/** The CLI refused with `hint`, as exit code 3 (Temporal unreachable), and no secret repeated. */
async function assertRefused(env: Record<string, string>, hint: RegExp): Promise<string> {
  const { code, stderr: err } = await cli(env, 'list');
  assert.equal(code, 3, err);
  assert.match(err, hint);
  if (env.TEMPORAL_API_KEY) assert.ok(!err.includes(env.TEMPORAL_API_KEY), 'the key is not printed');
  return err;
}

securedLane('mtls', 19_000, (lane) => {
  it('refuses a client without a certificate, or with one from another CA, and says which setting to fix', async () => {
    const env = lane.stack.clientEnv;
    const handshake = /the server refused our TLS handshake: it may require a client certificate signed by its CA/;
    await assertRefused(without(env, 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH'), handshake);

    const foreign = await issueCertificate(await certificateAuthority('Someone else'), {
      commonName: 'intruder',
      usage: 'client',
    });
    await assertRefused(
      {
        ...env,
        TEMPORAL_TLS_CLIENT_CERT_PATH: lane.file('foreign.pem', foreign.certificate),
        TEMPORAL_TLS_CLIENT_KEY_PATH: lane.file('foreign.key', foreign.key),
      },
      handshake,
    );
  });

  it('says when the server is not signed by the CA the client trusts', async () => {
    const other = await certificateAuthority('Not the server CA');
    await assertRefused(
      {
        ...lane.stack.clientEnv,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: lane.file('other-ca.pem', other.certificate.toString('pem')),
      },
      /its certificate is not signed by the CA you trust: check TEMPORAL_TLS_SERVER_CA_CERT_PATH/,
    );
  });

  it('stops a worker whose certificate is refused, with the setting to fix', async () => {
    // Empty is unset, as compose passes an unset variable.
    const env = { ...lane.stack.clientEnv, TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_PATH: '' };
    const worker = spawnWorker(
      { sandbox: lane.sandbox, env: { address: lane.stack.address } },
      { stderr: 'pipe', env },
    );
    let stderr = '';
    worker.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((done) => worker.once('exit', done));
    assert.notEqual(code, 0);
    assert.match(stderr, /cannot use Temporal at .*: the server refused our TLS handshake/);
  });
});

securedLane('api-key', 20_000, (lane) => {
  const mint = (permissions: string[], expiresInSeconds = 3600, signer = lane.stack.signer) =>
    signer!.mint({ subject: 'someone', permissions, expiresInSeconds });

  it('refuses an expired key, a foreign one and one without rights on the namespace, saying why', async () => {
    const env = lane.stack.clientEnv;
    await assertRefused(
      { ...env, TEMPORAL_API_KEY: await mint(['default:admin'], -60) },
      /the API key expired at .*: set a new one in TEMPORAL_API_KEY/,
    );
    const foreign = await TokenSigner.create();
    const refused = /it refused our API key for namespace "default": check TEMPORAL_API_KEY/;
    await assertRefused({ ...env, TEMPORAL_API_KEY: await mint(['default:admin'], 3600, foreign) }, refused);
    await assertRefused({ ...env, TEMPORAL_API_KEY: await mint(['another-namespace:admin']) }, refused);
    await assertRefused(without(env, 'TEMPORAL_API_KEY'), /it wants credentials: set TEMPORAL_API_KEY/);
  });

  it('reads the key from a temporal.toml profile and takes a rotated one without reconnecting', async () => {
    const profile = (apiKey: string) =>
      lane.file(
        'temporal.toml',
        [
          '[profile.production]',
          `address = "${lane.stack.address}"`,
          'namespace = "default"',
          `api_key = "${apiKey}"`,
          '[profile.production.tls]',
          `server_ca_cert_path = "${lane.stack.clientEnv.TEMPORAL_TLS_SERVER_CA_CERT_PATH}"`,
          'server_name = "localhost"',
          '',
        ].join('\n'),
      );
    const file = profile(await mint(['default:admin']));
    const fromProfile = { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'production' };
    const listed = await cli(fromProfile, 'list');
    assert.equal(listed.code, 0, listed.stderr);

    const connections = await connectTemporal(temporalTarget(fromProfile));
    try {
      const describe = () =>
        connections.client.workflowService.describeNamespace({ namespace: 'default' }).then(
          () => 'ok',
          (err: { code?: number }) => `refused ${err.code}`,
        );
      assert.equal(await describe(), 'ok');
      // A key that cannot work replaces it: the open connection now presents that one...
      profile(await mint(['default:admin'], 3600, await TokenSigner.create()));
      await eventually(async () => ((await describe()) === 'refused 7' ? true : undefined), 'the new key in use');
      // ...and a good one again.
      profile(await mint(['default:admin']));
      await eventually(async () => ((await describe()) === 'ok' ? true : undefined), 'the rotated key in use');
    } finally {
      await connections.close();
    }
  });
});
