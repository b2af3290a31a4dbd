/**
 * The codec endpoint the Temporal Web UI (and `temporal --codec-endpoint`) calls to show encrypted
 * payloads in clear: `POST /decode` and `POST /encode`, each taking and answering `{ "payloads": [...] }`
 * in protobuf JSON (metadata values and data in base64). Run it where the people who may read payloads
 * are (`npm run codec-server`); it holds the keys, so it binds loopback unless told otherwise.
 *
 *   PAYLOAD_ENCRYPTION_KEYS  the worker's keys (the same value)
 *   CODEC_CORS_ORIGINS       the Web UI's origin(s), comma-separated, e.g. http://localhost:8233
 *   CODEC_AUTH_TOKEN         when set, a request must carry `Authorization: Bearer <token>`
 *   CODEC_HOST, CODEC_PORT   default 127.0.0.1:8888
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Payload } from '@temporalio/common';
import { HttpError, listen, readBody, sendJson } from '../http.ts';
import { applySecretFiles } from '../config.ts';
import { EncryptionCodec, EncryptionKeyError, payloadCodecFrom, PAYLOAD_KEYS_VARIABLE } from '../payload-codec.ts';

export interface CodecServerOptions {
  codec: EncryptionCodec;
  /** Origins whose pages may call the endpoint (the Web UI's); none: same-origin and non-browser callers only. */
  corsOrigins: string[];
  /** A bearer token every request must carry; undefined: none asked. */
  authToken: string | undefined;
  maxBodyBytes?: number;
}

export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export function createCodecServer(options: CodecServerOptions): Server {
  return createServer((req, res) => void handle(options, req, res));
}

async function handle(options: CodecServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const origin = req.headers.origin;
  const allowed = origin !== undefined && options.corsOrigins.includes(origin);
  const cors: Record<string, string> = allowed
    ? {
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': 'content-type, x-namespace, authorization',
        vary: 'Origin',
      }
    : {};
  try {
    const path = new URL(req.url ?? '/', 'http://codec').pathname;
    if (req.method === 'OPTIONS') {
      sendJson(res, allowed ? 204 : 403, undefined, cors);
      return;
    }
    if (origin !== undefined && !allowed) throw new HttpError(403, { error: `origin ${origin} is not allowed` });
    if (req.method !== 'POST' || (path !== '/decode' && path !== '/encode')) {
      throw new HttpError(404, { error: 'POST /decode or /encode' });
    }
    if (!authorized(req.headers.authorization, options.authToken)) {
      throw new HttpError(401, { error: 'a bearer token is required' });
    }
    const body = await readBody(req, options.maxBodyBytes ?? 4 * 1024 * 1024);
    const payloads = parsePayloads(body);
    const answered = path === '/decode' ? await options.codec.decode(payloads) : await options.codec.encode(payloads);
    sendJson(res, 200, { payloads: answered.map(payloadToJson) }, cors);
  } catch (err) {
    if (err instanceof HttpError) sendJson(res, err.status, err.body, cors);
    else sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) }, cors);
  }
}

function authorized(header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const given = Buffer.from(header?.replace(/^Bearer /, '') ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function parsePayloads(body: Buffer): Payload[] {
  let parsed: { payloads?: JsonPayload[] };
  try {
    parsed = JSON.parse(body.toString('utf8')) as { payloads?: JsonPayload[] };
  } catch {
    throw new HttpError(400, { error: 'the body is not JSON' });
  }
  if (!Array.isArray(parsed.payloads)) throw new HttpError(400, { error: 'the body has no "payloads" array' });
  return parsed.payloads.map(payloadFromJson);
}

/** A payload in protobuf JSON (as the Web UI and `temporal workflow show` write it): bytes in base64. */
export function payloadFromJson(json: JsonPayload): Payload {
  const bytes = (value: string) => new Uint8Array(Buffer.from(value, 'base64'));
  return {
    metadata: Object.fromEntries(Object.entries(json.metadata ?? {}).map(([k, v]) => [k, bytes(v)])),
    data: bytes(json.data ?? ''),
  };
}

export function payloadToJson(payload: Payload): JsonPayload {
  const base64 = (value: Uint8Array | null | undefined) => Buffer.from(value ?? []).toString('base64');
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, base64(v)])),
    data: base64(payload.data),
  };
}

async function main(): Promise<void> {
  const problems = applySecretFiles(process.env);
  if (problems.length > 0) {
    console.error(`codec-server: ${problems.join('; ')}`);
    process.exit(2);
  }
  let codec: EncryptionCodec | undefined;
  try {
    codec = payloadCodecFrom(process.env);
  } catch (err) {
    if (!(err instanceof EncryptionKeyError)) throw err;
    console.error(`codec-server: ${err.message}`);
    process.exit(2);
  }
  if (!codec) {
    console.error(`codec-server: set ${PAYLOAD_KEYS_VARIABLE} to the worker's keys`);
    process.exit(2);
  }
  const server = createCodecServer({
    codec,
    corsOrigins: (process.env.CODEC_CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    authToken: process.env.CODEC_AUTH_TOKEN || undefined,
  });
  const url = await listen(server, Number(process.env.CODEC_PORT ?? 8888), process.env.CODEC_HOST ?? '127.0.0.1');
  console.log(`codec endpoint: ${url} (Web UI: Settings → Codec Server → ${url})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void main();
}
