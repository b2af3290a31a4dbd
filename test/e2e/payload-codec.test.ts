/**
 * Encrypted payloads: with PAYLOAD_ENCRYPTION_KEYS, the worker (its own process), the receiver and the CLI
 * encrypt what they give Temporal, so that neither the raw history nor the server's database holds a
 * known CSR or the requester's name, while the product works as before.
 */
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Server } from 'node:http';
import type { Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalCli } from '../../scripts/temporal-cli.ts';
import { createCodecServer, payloadFromJson, payloadToJson, type JsonPayload } from '../../src/client/codec-server.ts';
import { close, listen } from '../../src/http.ts';
import { certificateWorkflowId, statusQuery } from '../../src/contract/certificate.ts';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  EncryptionKeyError,
  parseEncryptionKeys,
  PAYLOAD_KEYS_VARIABLE,
} from '../../src/payload-codec.ts';
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { connectTemporal, temporalTarget, type TemporalConnections } from '../../src/temporal-connection.ts';
import { eventually, opensslCsr, spawnWorker, startTemporal } from '../helpers/environment.ts';

const execFileAsync = promisify(execFile);
const key = (byte: number) => Buffer.alloc(32, byte).toString('base64');

describe('the payload codec', () => {
  const payload = { metadata: { encoding: new TextEncoder().encode('json/plain') }, data: Buffer.from('"secret"') };
  /** What a payload says: its encoding and its data, as text. */
  const read = (payloads: Payload[]) =>
    payloads.map((p) => [Buffer.from(p.metadata?.encoding ?? []).toString(), Buffer.from(p.data ?? []).toString()]);

  it('encrypts with the first key, decrypts with any, and names the key in the metadata', async () => {
    const old = new EncryptionCodec(parseEncryptionKeys(`2025:${key(1)}`));
    const rotated = new EncryptionCodec(parseEncryptionKeys(`2026:${key(2)}, 2025:${key(1)}`));
    const [sealed] = await old.encode([payload]);
    assert.ok(sealed && !Buffer.from(sealed.data ?? []).includes('secret'), 'no plaintext');
    assert.equal(Buffer.from(sealed.metadata?.['encryption-key-id'] ?? []).toString(), '2025');
    assert.deepEqual(read(await rotated.decode([sealed])), read([payload]), 'an old key decrypts after rotation');
    const [resealed] = await rotated.encode([payload]);
    assert.equal(Buffer.from(resealed?.metadata?.['encryption-key-id'] ?? []).toString(), '2026');
    assert.deepEqual(read(await rotated.decode([resealed!])), read([payload]));
    assert.deepEqual(await rotated.decode([payload]), [payload], 'a payload in clear passes through');
  });

  it('refuses a tampered payload, an unknown key id and keys that cannot work', async () => {
    const codec = new EncryptionCodec(parseEncryptionKeys(`k:${key(3)}`));
    const [sealed] = await codec.encode([payload]);
    const data = Buffer.from(sealed?.data ?? []);
    data[20] = (data[20] ?? 0) ^ 1;
    await assert.rejects(codec.decode([{ ...sealed, data }]), /unable to authenticate data|Unsupported state/);
    const other = new EncryptionCodec(parseEncryptionKeys(`other:${key(4)}`));
    await assert.rejects(other.decode([sealed!]), /encrypted with key "k", which PAYLOAD_ENCRYPTION_KEYS lacks/);
    for (const [value, problem] of [
      ['k:c2hvcnQ=', /key "k" is 5 bytes; AES-256 takes 32/],
      [`:${key(1)}`, /each key is id:base64/],
      [`a:${key(1)},a:${key(2)}`, /key id "a" appears twice/],
      [' , ', /names no key/],
    ] as const) {
      assert.throws(
        () => parseEncryptionKeys(value),
        (err: unknown) => err instanceof EncryptionKeyError,
      );
      assert.throws(() => parseEncryptionKeys(value), problem);
    }
  });
});

describe('with PAYLOAD_ENCRYPTION_KEYS on the dev server', () => {
  let env: TestWorkflowEnvironment;
  let dbFilename: string;
  let connections: TemporalConnections;
  let sandbox: Sandbox;
  let worker: ChildProcess;
  const keys = { [PAYLOAD_KEYS_VARIABLE]: `primary:${key(7)}` };
  const csr = opensslCsr('/CN=sealed.example.com', 'ec-p256');
  // A line of the CSR's base64: whatever holds the CSR in clear holds it.
  const csrLine = csr.split('\n')[2] ?? '';
  const { displayName } = SANDBOX_USERS.alice;
  let issueKey: string;

  before(async () => {
    dbFilename = join(mkdtempSync(join(tmpdir(), 'cert-sealed-')), 'temporal.db');
    env = await startTemporal({ dbFilename });
    connections = await connectTemporal(temporalTarget({ TEMPORAL_ADDRESS: env.address, ...keys }));
    sandbox = await startSandbox({ client: connections.client, scm: { issuanceDelayMs: 0 } });
    worker = spawnWorker({ sandbox, env: { address: env.address } }, { env: keys });
    const alice = new Requester(sandbox.jiraEmulator.url, SANDBOX_USERS.alice);
    issueKey = await alice.createCertificateIssue({ profile: 'OV Server Certificate', csr });
    await alice.transition(issueKey, 'Enroll Certificate');
    await eventually(async () => {
      const status = await connections.client.workflow
        .getHandle(certificateWorkflowId(issueKey))
        .query(statusQuery)
        .catch(() => undefined);
      return status?.phase === 'Active' ? status : undefined;
    }, 'the certificate enrolled');
  });
  after(async () => {
    worker?.kill('SIGKILL');
    await sandbox?.stop();
    await connections?.close();
    await env?.teardown();
  });

  it('works as before: the CLI reads the certificate through the codec', async () => {
    const { stdout } = await execFileAsync(process.execPath, ['src/client/cli.ts', 'status', issueKey], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, ...keys },
    });
    assert.match(stdout, /^phase\s+Active$/m);
    assert.match(stdout, /^domain\s+sealed\.example\.com$/m);
  });

  /** `temporal workflow show` of the certificate's history, as JSON. */
  const show = async (...options: string[]) => {
    const workflowId = certificateWorkflowId(issueKey);
    const args = ['workflow', 'show', '--workflow-id', workflowId, '--address', env.address, '--output', 'json'];
    return (await execFileAsync(findTemporalCli() ?? 'temporal', [...args, ...options])).stdout;
  };

  it('leaves no CSR and no requester name in the raw history or the database', async () => {
    const history = await show();
    assert.match(history, /YmluYXJ5L2VuY3J5cHRlZA==|binary\/encrypted/, 'the payloads are encrypted');
    const decoded = Buffer.from(history).toString() + base64Payloads(history);
    assert.ok(!decoded.includes(csrLine), 'no CSR in the history');
    assert.ok(!decoded.includes(displayName), 'no requester name in the history');
    // The control: the same history, decrypted, holds both.
    const codec = new EncryptionCodec(parseEncryptionKeys(keys[PAYLOAD_KEYS_VARIABLE]));
    const opened = (await codec.decode(encryptedPayloads(JSON.parse(history)))).map((p) =>
      Buffer.from(p.data ?? []).toString(),
    );
    assert.ok(
      opened.some((text) => text.includes(csrLine)),
      'the CSR is in the history, encrypted',
    );
    assert.ok(
      opened.some((text) => text.includes(displayName)),
      'the name is in the history, encrypted',
    );
    // The Temporal CLI, given the codec endpoint, shows them, as the Web UI does.
    const server = createCodecServer({ codec, corsOrigins: [], authToken: 'operators-token' });
    const endpoint = await listen(server, 0);
    try {
      const shown = await show('--codec-endpoint', endpoint, '--codec-auth', 'Bearer operators-token');
      assert.ok(base64Payloads(shown).includes(displayName), 'the name, through the codec endpoint');
      assert.ok(base64Payloads(shown).includes(csrLine), 'the CSR, through the codec endpoint');
    } finally {
      await close(server);
    }
    const dir = dirname(dbFilename);
    for (const file of readdirSync(dir).filter((name) => name.startsWith('temporal.db'))) {
      const bytes = readFileSync(join(dir, file));
      assert.ok(!bytes.includes(csrLine), `no CSR in ${file}`);
      assert.ok(!bytes.includes(displayName), `no requester name in ${file}`);
    }
  });
});

describe('the codec endpoint', () => {
  const codec = new EncryptionCodec(parseEncryptionKeys(`primary:${key(7)}`));
  const webUi = 'http://localhost:8233';
  let server: Server;
  let url: string;
  before(async () => {
    server = createCodecServer({ codec, corsOrigins: [webUi], authToken: 'operators-token' });
    url = await listen(server, 0);
  });
  after(() => close(server));

  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      ...init,
      headers: { 'content-type': 'application/json', origin: webUi, ...(init.headers as Record<string, string>) },
    });

  it('decodes for the Web UI, with its CORS answer, and only with the token', async () => {
    const [sealed] = await codec.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"Alice Requester"') },
    ]);
    const body = JSON.stringify({ payloads: [payloadToJson(sealed!)] });
    const preflight = await fetch(`${url}/decode`, { method: 'OPTIONS', headers: { origin: webUi } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), webUi);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-namespace/);

    const decoded = await call('/decode', { body, headers: { authorization: 'Bearer operators-token' } });
    assert.equal(decoded.status, 200);
    assert.equal(decoded.headers.get('access-control-allow-origin'), webUi);
    const { payloads } = (await decoded.json()) as { payloads: Array<{ data: string }> };
    assert.equal(Buffer.from(payloads[0]?.data ?? '', 'base64').toString(), '"Alice Requester"');

    assert.equal((await call('/decode', { body })).status, 401, 'no token');
    assert.equal((await call('/decode', { body, headers: { authorization: 'Bearer guess' } })).status, 401);
    const foreign = await call('/decode', {
      body,
      headers: { authorization: 'Bearer operators-token', origin: 'https://evil.example' },
    });
    assert.equal(foreign.status, 403, 'another origin');
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    const malformed = await call('/decode', { body: '{', headers: { authorization: 'Bearer operators-token' } });
    assert.equal(malformed.status, 400);
  });
});

/** The encrypted payloads of a JSON history, as the codec takes them. */
function encryptedPayloads(node: unknown): Payload[] {
  if (Array.isArray(node)) return node.flatMap(encryptedPayloads);
  if (typeof node !== 'object' || node === null) return [];
  const json = node as JsonPayload;
  if (json.metadata?.encoding === Buffer.from(ENCRYPTED_ENCODING).toString('base64') && typeof json.data === 'string') {
    return [payloadFromJson(json)];
  }
  return Object.values(node).flatMap(encryptedPayloads);
}

/** Every base64 string of the JSON history, decoded: the payloads' data as the server holds it. */
function base64Payloads(json: string): string {
  return [...json.matchAll(/"([A-Za-z0-9+/]{16,}={0,2})"/g)]
    .map((match) => Buffer.from(match[1] ?? '', 'base64').toString('latin1'))
    .join('\n');
}
