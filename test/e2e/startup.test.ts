/**
 * A process of the connector that cannot start as configured says so the way an operator can act on:
 * one line per problem on stderr, each naming the setting to fix, every problem of one start at once, no
 * stack trace, and exit code 2. The worker (`node src/worker.ts`) and the receiver are started for real
 * against the world's emulators, each with one thing wrong.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { productionEnv, runToEnd, startWorld, type Ended, type World } from '../helpers/environment.ts';

describe('starting with a broken configuration', () => {
  let world: World;
  const dir = mkdtempSync(join(tmpdir(), 'startup-'));
  before(async () => {
    world = await startWorld();
  });
  after(async () => {
    await world?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a process of the product with `change` applied to the production environment; it must end. */
  async function start(script: string, change: NodeJS.ProcessEnv): Promise<Ended> {
    const env: NodeJS.ProcessEnv = { ...productionEnv(world), RECEIVER_PORT: '0', ...change };
    for (const [name, value] of Object.entries(change)) if (value === undefined) delete env[name];
    return runToEnd(process.execPath, [script], { env, timeout: 120_000 });
  }

  /** The problem lines of a failed start: exit code 2, no stack, `invalid configuration:` and one line each. */
  function problems(ended: Ended): string[] {
    assert.equal(ended.code, 2, `exit code 2 for a configuration problem:\n${ended.stdout}${ended.stderr}`);
    assert.doesNotMatch(ended.stderr, /^\s+at /m, 'no stack trace');
    const lines = ended.stderr.trim().split('\n');
    assert.equal(lines[0], 'invalid configuration:', ended.stderr);
    return lines.slice(1).map((line) => line.replace(/^ {2}- /, ''));
  }

  it('names the credentials Jira refuses', async () => {
    const [line, ...rest] = problems(await start('src/worker.ts', { JIRA_API_TOKEN: 'not-the-token' }));
    assert.deepEqual(rest, []);
    assert.match(line ?? '', /^Jira at http:\/\/\S+ refused the connector's credentials \(HTTP 401\)/);
    assert.match(line ?? '', /check JIRA_EMAIL and JIRA_API_TOKEN$/);
  });

  it('names the credentials SCM refuses', async () => {
    const [line, ...rest] = problems(await start('src/worker.ts', { SECTIGO_PASSWORD: 'not-the-password' }));
    assert.deepEqual(rest, []);
    assert.match(line ?? '', /^SCM at http:\/\/\S+ refused the connector's credentials \(HTTP 401\b/);
    assert.match(line ?? '', /check SECTIGO_LOGIN, SECTIGO_PASSWORD and SECTIGO_CUSTOMER_URI$/);
  });

  it('names an SCM that does not answer', async () => {
    const [line] = problems(await start('src/worker.ts', { SECTIGO_BASE_URL: 'http://127.0.0.1:9/api' }));
    assert.match(line ?? '', /^SCM at http:\/\/127\.0\.0\.1:9\/api did not answer .*: check SECTIGO_BASE_URL$/);
  });

  it('names a Jira that does not answer', async () => {
    const [line] = problems(await start('src/client/webhook-server.ts', { JIRA_BASE_URL: 'http://127.0.0.1:9' }));
    assert.match(line ?? '', /^Jira at http:\/\/127\.0\.0\.1:9 did not answer .*: check JIRA_BASE_URL$/);
  });

  it('names a profiles file that is not there, and what to put there', async () => {
    const missing = join(dir, 'nowhere.yaml');
    const [line, ...rest] = problems(await start('src/worker.ts', { PROFILES_FILE: missing }));
    assert.deepEqual(rest, []);
    assert.equal(
      line,
      `PROFILES_FILE: there is no file ${missing}; set PROFILES_FILE to your profiles (profiles.example.yaml shows the shape)`,
    );
  });

  it('says once what a profile lacks, and how to give it', async () => {
    const file = join(dir, 'no-window.yaml');
    writeFileSync(
      file,
      [
        'profiles:',
        '  - id: ov',
        '    name: OV Server Certificate',
        '    certType: 1001',
        '    term: 365',
        '    orgId: 1',
        "    allowedDomains: ['*.example.com']",
        '',
      ].join('\n'),
    );
    const ended = await start('src/worker.ts', { PROFILES_FILE: file });
    const lines = problems(ended);
    assert.deepEqual(lines, [
      `${file}: profiles.0.expiryWindow: give { days: N } (renew N days before expiry) or { fraction: F } (the last F of the lifetime, 0 < F < 1)`,
    ]);
    assert.equal(ended.stdout, '', 'said once, on stderr');
  });

  it('refuses a log level it does not know, with the others in the same start', async () => {
    const missing = join(dir, 'absent.yaml');
    const lines = problems(
      await start('src/worker.ts', { LOG_LEVEL: 'verbose', JIRA_TRIGGER: 'sometimes', PROFILES_FILE: missing }),
    );
    assert.deepEqual(lines.toSorted(), [
      'JIRA_TRIGGER must be "webhook" (the default) or "polling", not "sometimes"',
      'LOG_LEVEL must be debug, info (the default), warn or error, not "verbose"',
      `PROFILES_FILE: there is no file ${missing}; set PROFILES_FILE to your profiles (profiles.example.yaml shows the shape)`,
    ]);
  });

  it('says what the worker on its own needs when Jira and SCM are not configured', async () => {
    const [line] = problems(
      await start('src/worker.ts', {
        JIRA_BASE_URL: undefined,
        JIRA_EMAIL: undefined,
        JIRA_API_TOKEN: undefined,
        JIRA_WEBHOOK_SECRET: undefined,
      }),
    );
    assert.match(
      line ?? '',
      /^the worker on its own needs TEMPORAL_ADDRESS \(or a Temporal profile\), Jira \(JIRA_\*\) and Sectigo/,
    );
  });
});
