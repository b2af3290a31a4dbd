/**
 * The product's processes against real systems — the worker (`node src/worker.ts`, the image's command)
 * and `npm start` with Jira and SCM configured: one SIGTERM or SIGINT drains them and they exit 0, saying
 * so, with nothing of their own left holding the event loop or a port. A rolling deploy never waits for
 * its kill timeout.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort } from '../../src/metrics.ts';
import {
  eventually,
  opensslCsr,
  productionEnv,
  spawnWorker,
  startWorld,
  untilPhase,
  type World,
} from '../helpers/environment.ts';
import { needsPromtool, promtool } from '../helpers/promtool.ts';

describe('stopping the processes', () => {
  let world: World;
  const children: ChildProcess[] = [];
  before(async () => {
    world = await startWorld();
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await world?.teardown();
  });

  /** Collects the child's output until it has printed `ready`; fails if it exits first. */
  async function running(child: ChildProcess, ready: string): Promise<() => string> {
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    while (!output.includes(ready)) {
      if (child.exitCode !== null) assert.fail(`exited before it was running:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return () => output;
  }

  async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill(signal);
    const [code, killedBy] = await exited;
    assert.deepEqual({ code, killedBy }, { code: 0, killedBy: null });
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`the worker exits 0 on one ${signal}, after saying it stopped`, async () => {
      const child = spawnWorker(world, { stdout: 'pipe' });
      const output = await running(child, '"worker polling"');
      await stop(child, signal);
      assert.match(output(), /"worker stopped"/);
    });
  }

  it('logs each enrollment with its issue and certificate, and a failed attempt with its cause’s message', async () => {
    await world.stopWorker(); // the enrollment is the process's to run
    try {
      const child = spawnWorker(world, { stdout: 'pipe', stderr: 'pipe', env: { LOG_LEVEL: 'info' } });
      const output = await running(child, '"worker polling"');
      const { scmEmulator } = world.sandbox;
      scmEmulator.faults.serverErrorRate = 1; // SCM fails until an attempt has failed
      const key = await world.alice.createCertificateIssue({
        profile: 'OV Server Certificate',
        csr: opensslCsr('/CN=logged.example.com', 'ec-p256'),
      });
      await world.alice.transition(key, 'Enroll Certificate');
      const lines = () =>
        output()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      const failure = await eventually(
        () => lines().find((l) => l.level === 'warn' && JSON.stringify(l).includes('ScmError')),
        'a failed SCM attempt in the log',
        120_000,
      );
      scmEmulator.faults.serverErrorRate = 0;
      assert.match(JSON.stringify(failure), /"message":"[^"]*\b50\d\b/, 'the cause’s message, with its status');
      const enrolled = await eventually(
        () => lines().find((l) => l.message === 'certificate enrolled' && l.issueKey === key),
        'the enrollment in the log',
        120_000, // after the failed attempts' backoff
      );
      assert.match(String(enrolled.certificateId), /^\d+$/);
      assert.equal(enrolled.domain, 'logged.example.com');
      assert.doesNotMatch(output(), /taskToken/, 'no task token in the log');
      await stop(child, 'SIGTERM');
    } finally {
      world.sandbox.scmEmulator.faults.serverErrorRate = 0;
      await world.startWorker();
    }
  });

  it('serves /metrics by Prometheus’s conventions: promtool check metrics finds nothing', needsPromtool, async () => {
    // A one-day certificate: it expires within 30 days, so it needs attention and has series of its own.
    const key = await world.alice.createCertificateIssue({
      profile: 'Short-lived Server Certificate',
      csr: opensslCsr('/CN=conventions.example.com', 'ec-p256'),
    });
    await world.alice.transition(key, 'Enroll Certificate');
    await untilPhase(world.env.client, key, 'Active');
    const port = await freeLoopbackPort();
    const child = spawnWorker(world, { stdout: 'pipe', env: { METRICS_PORT: String(port) } });
    await running(child, '"worker polling"');
    // The certificates' series come from visibility: the certificate enrolled above is among them.
    const text = await eventually(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return /^certificate_expiration_timestamp_seconds\{[^}]*issue_key="CERT-\d+"/m.test(text) ? text : undefined;
      },
      'the certificate in the worker’s metrics',
      60_000,
    );
    assert.match(text, /^certificate_info\{[^}]*certificate_id="\d+"[^}]*\} 1$/m);
    assert.match(text, /^temporal_\w+_total\b/m, 'the SDK’s counters end in _total');
    const check = spawnSync(promtool ?? 'promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(`${check.stdout}${check.stderr}`, '');
    assert.equal(check.status, 0);
    await stop(child, 'SIGTERM');
  });

  it('npm start with Jira and SCM configured exits 0 on one SIGTERM, and frees the receiver’s port', async () => {
    const receiverPort = await freeLoopbackPort();
    const child = spawn(process.execPath, ['scripts/start.ts'], {
      env: { ...productionEnv(world), RECEIVER_PORT: String(receiverPort), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = await running(child, 'Metrics');
    await stop(child, 'SIGTERM');
    assert.match(output(), /"connector stopped"/);
    const free = createServer();
    await new Promise<void>((resolve, reject) => {
      free.once('error', reject);
      free.listen(receiverPort, '127.0.0.1', () => resolve());
    });
    free.close();
  });
});
