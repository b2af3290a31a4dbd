/**
 * `npm start` as a person runs it, with nothing configured: the sandbox in a process of its own. What it
 * is told through the environment reaches the parts that act on it, and one signal stops it.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort } from '../../src/metrics.ts';
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { eventually } from '../helpers/environment.ts';

const execFileAsync = promisify(execFile);

describe('npm start, the sandbox', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'start-'));
  let child: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  let temporalPort: number;
  let jiraPort: number;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: dataDir,
      TEMPORAL_PORT: String((temporalPort = await freeLoopbackPort())),
      TEMPORAL_UI_PORT: String(await freeLoopbackPort()),
      JIRA_EMULATOR_PORT: String((jiraPort = await freeLoopbackPort())),
      SCM_EMULATOR_PORT: '0',
      RECEIVER_PORT: '0',
      METRICS_PORT: '0',
      JIRA_REVOKERS_GROUP: 'platform-admins',
      ...(process.env.SANDBOX_JIRA ? { SANDBOX_JIRA: process.env.SANDBOX_JIRA } : {}),
    };
    child = spawn(process.execPath, ['scripts/start.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await eventually(
      () => (output.includes('Stop with Ctrl-C') ? true : child.exitCode !== null ? fail() : undefined),
      'the sandbox to say it is running',
      180_000,
    );
    function fail(): never {
      throw new Error(`npm start ended:\n${output}`);
    }
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('restricts revocation to the group JIRA_REVOKERS_GROUP names, in what it prints and in what it does', async () => {
    assert.match(
      output,
      /Revocation\s+revocation is restricted to each certificate's requester and members of the Jira group "platform-admins"/,
    );
    const jiraUrl = /Jira (?:Cloud|Data Center) \(emulated\)\s+(http:\/\/\S+)\/rest\/api\/[23]/.exec(output)?.[1];
    assert.ok(jiraUrl, `the Jira URL in:\n${output}`);
    // Bob is in no such group: his "Revoke Certificate" issue is refused with the group's name.
    const bob = new Requester(jiraUrl, SANDBOX_USERS.bob);
    const key = await bob.createRevokeIssue({
      profile: 'OV Server Certificate',
      domain: 'anything.example.com',
      reason: 'Superseded',
    });
    const alice = new Requester(jiraUrl, SANDBOX_USERS.alice);
    const said = await eventually(
      async () => (await alice.readIssue(key)).comments.find((text) => text.includes('may revoke')),
      'the refusal on the issue',
      60_000,
    );
    assert.match(said, /Only members of the Jira group "platform-admins" may revoke/);
  });

  it('enrolls with npm run try-it, and a second run for the same name keeps the first run’s key', async () => {
    const tryIt = () =>
      execFileAsync(process.execPath, ['scripts/try-it.ts', 'try.example.com'], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DATA_DIR: dataDir,
          JIRA_EMULATOR_PORT: String(jiraPort),
          ...(process.env.SANDBOX_JIRA ? { SANDBOX_JIRA: process.env.SANDBOX_JIRA } : {}),
        },
      });
    const first = await tryIt();
    assert.match(first.stdout, /Attachment:\s+try\.example\.com_\d+\.pem/);
    const firstKey = join(dataDir, 'try-it', 'try.example.com.key');
    assert.ok(first.stdout.includes(`Private key: ${firstKey}\n`), first.stdout);
    const key = readFileSync(firstKey, 'utf8');
    const second = await tryIt();
    assert.match(second.stdout, /Private key: \S+try\.example\.com\.2\.key/);
    assert.equal(readFileSync(firstKey, 'utf8'), key, 'the first key is untouched');
    assert.notEqual(readFileSync(join(dataDir, 'try-it', 'try.example.com.2.key'), 'utf8'), key);
  });

  it('refuses a second start on the same data and ports, and leaves the first one running', async () => {
    // Before the fix the second one stopped the first one's dev server and waited on it for ever.
    const second = await execFileAsync(process.execPath, ['scripts/start.ts'], { env, timeout: 120_000 }).then(
      () => assert.fail('a second npm start on the same data started'),
      (err: { code?: number; stderr?: string }) => err,
    );
    assert.equal(second.code, 2);
    assert.match(second.stderr ?? '', /npm start is already running on \S+ \(pid \d+\): stop it first/);
    // The first one's Temporal and Jira still answer.
    const { stdout } = await execFileAsync(join('.temporal', 'bin', 'temporal'), [
      'operator',
      'namespace',
      'list',
      '--address',
      `127.0.0.1:${temporalPort}`,
    ]);
    assert.match(stdout, /default/);
    const myself = await fetch(`http://127.0.0.1:${jiraPort}/rest/api/2/serverInfo`);
    assert.equal(myself.status, 200);
    assert.equal(child.exitCode, null);
  });

  it('stops on one SIGTERM, with its dev server', async () => {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    // Its dev server went with it: the port is free again.
    const server = createServer();
    await new Promise<void>((resolve, reject) =>
      server.once('error', reject).listen(temporalPort, '127.0.0.1', resolve),
    );
    await new Promise((resolve) => server.close(resolve));
  });
});
