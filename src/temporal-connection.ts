/**
 * How every process reaches Temporal — the worker, the receiver, the CLI and `npm start` alike: Temporal's
 * own environment configuration, read by `@temporalio/envconfig` exactly as the Temporal CLI and the other
 * SDKs read it. A profile of a `temporal.toml` file (TEMPORAL_CONFIG_FILE, or the user's config
 * directory; TEMPORAL_PROFILE, or "default"), overridden by the variables below. An API key turns TLS on.
 */
import { existsSync, readFileSync, watchFile, unwatchFile } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { Client, Connection } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { EncryptionKeyError, payloadCodecFrom } from './payload-codec.ts';

/** The variables Temporal's environment configuration reads (docs.temporal.io, "Environment configuration"). */
export const TEMPORAL_VARIABLES = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
  'TEMPORAL_PROFILE',
  'TEMPORAL_CONFIG_FILE',
] as const;

type Env = Readonly<Record<string, string | undefined>>;

/** Where Temporal is and how to sign in to it; never printed whole (it may hold a key). */
export interface TemporalTarget {
  /** From TEMPORAL_ADDRESS or the profile; undefined when neither says (npm start then runs a dev server). */
  address: string | undefined;
  namespace: string;
  /** TLS, the API key and gRPC metadata, for either kind of connection. */
  options: Pick<NativeConnectionOptions, 'tls' | 'apiKey' | 'metadata'>;
  /** Where the settings came from, for messages: the variables, or the profile and its file. */
  source: string;
  /** The file the profile came from, watched for a rotated API key, and the profile's name. */
  configFile: string | undefined;
  profile: string;
  /** Whether the API key came from TEMPORAL_API_KEY (then it cannot change without a restart). */
  keyFromEnvironment: boolean;
  /** The payload codec (PAYLOAD_ENCRYPTION_KEYS), for every client and worker of the process alike. */
  dataConverter?: DataConverter;
}

/** Thrown for settings that cannot work, each problem with the variable or file to fix. */
export class TemporalSettingsError extends Error {}

/** Reads Temporal's environment configuration; `defaultAddress` stands in when none is configured. */
export function temporalTarget(environment: Env = process.env, defaultAddress?: string): TemporalTarget {
  const env = definedOnly(environment);
  const configFile = env.TEMPORAL_CONFIG_FILE ?? defaultConfigFile(env);
  if (env.TEMPORAL_CONFIG_FILE && !existsSync(env.TEMPORAL_CONFIG_FILE)) {
    throw new TemporalSettingsError(`TEMPORAL_CONFIG_FILE names ${env.TEMPORAL_CONFIG_FILE}, which does not exist`);
  }
  const fromFile = configFile !== undefined && existsSync(configFile) ? configFile : undefined;
  let profile;
  try {
    profile = loadClientConfigProfile({
      ...(fromFile ? { configSource: { path: fromFile } } : { disableFile: !env.TEMPORAL_PROFILE }),
      overrideEnvVars: env,
    });
  } catch (err) {
    const where = fromFile ? ` in ${fromFile}` : ' (no config file: set TEMPORAL_CONFIG_FILE)';
    throw new TemporalSettingsError(`Temporal's configuration${where}: ${(err as Error).message}`, { cause: err });
  }
  let connect;
  try {
    connect = toClientOptions(profile);
  } catch (err) {
    throw new TemporalSettingsError(`Temporal's TLS settings: ${(err as Error).message}`, { cause: err });
  }
  let codec;
  try {
    codec = payloadCodecFrom(env);
  } catch (err) {
    if (!(err instanceof EncryptionKeyError)) throw err;
    throw new TemporalSettingsError(err.message, { cause: err });
  }
  const { address, apiKey, tls, metadata } = connect.connectionOptions;
  const profileName = env.TEMPORAL_PROFILE ?? 'default';
  return {
    address: address ?? defaultAddress,
    namespace: connect.namespace ?? 'default',
    options: {
      ...(tls !== undefined ? { tls } : {}),
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
    },
    source: fromFile ? `profile "${profileName}" of ${fromFile} and TEMPORAL_* variables` : 'TEMPORAL_* variables',
    configFile: fromFile,
    profile: profileName,
    keyFromEnvironment: env.TEMPORAL_API_KEY !== undefined,
    ...(codec ? { dataConverter: { payloadCodecs: [codec] } } : {}),
  };
}

/** The Temporal CLI's default: `temporalio/temporal.toml` in the user's config directory. */
function defaultConfigFile(env: Env): string | undefined {
  if (process.platform === 'win32') return env.APPDATA ? join(env.APPDATA, 'temporalio', 'temporal.toml') : undefined;
  if (process.platform === 'darwin') {
    return join(env.HOME ?? homedir(), 'Library', 'Application Support', 'temporalio', 'temporal.toml');
  }
  const base = env.XDG_CONFIG_HOME ?? (env.HOME ? join(env.HOME, '.config') : undefined);
  return base ? join(base, 'temporalio', 'temporal.toml') : undefined;
}

/** The variables that are set: an empty one (as compose passes `${VAR:-}`) counts as unset. */
function definedOnly(env: Env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1].trim() !== ''),
  );
}

/** A connection to Temporal that failed, said in the terms of the settings that would fix it. */
export class TemporalUnreachable extends Error {}

/**
 * What a failed connection most likely means, with the setting to check. The SDK's messages come from
 * gRPC and rustls; their wording is matched loosely and the original is always kept.
 */
export function explainConnectionFailure(target: TemporalTarget, err: unknown): TemporalUnreachable {
  // OpenSSL's "…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:…" says
  // the reason in its fifth field.
  const raw = err instanceof Error ? err.message : String(err);
  const grpc = grpcCause(err);
  const detail = grpc && grpc !== err ? `${raw}: ${grpc.message}` : raw;
  const message = /:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):/.exec(detail)?.[1] ?? detail;
  const code = grpc?.code;
  const at = `Temporal at ${target.address ?? '(no address)'}`;
  const tls = target.options.tls !== undefined && target.options.tls !== false;
  let hint: string;
  if (
    /UnknownIssuer|unknown ?issuer|self.signed|local issuer|verify the first certificate|certificate verify failed|BadSignature/i.test(
      message,
    )
  ) {
    hint = `its certificate is not signed by the CA you trust: check TEMPORAL_TLS_SERVER_CA_CERT_PATH (or _DATA)`;
  } else if (/NotValidForName|not valid for|hostname|subject ?alt/i.test(message)) {
    hint = `its certificate does not name the host: set TEMPORAL_TLS_SERVER_NAME to a name it carries`;
  } else if (/Expired|expired/i.test(message) && /certificate/i.test(message)) {
    hint = `a certificate has expired: check the client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH) and the server's`;
  } else if (/CertificateRequired|certificate required|bad certificate|UnknownCA|unknown ca|handshake/i.test(message)) {
    hint = tls
      ? `the server refused our TLS handshake: it may require a client certificate signed by its CA (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH)`
      : `the server speaks TLS: set TEMPORAL_TLS=true (with TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA)`;
  } else if (code === 16 || code === 7) {
    hint = refusedCredentials(target);
  } else if (code === 5) {
    hint = `namespace "${target.namespace}" does not exist there: check TEMPORAL_NAMESPACE`;
  } else if (!tls && /connection reset|broken pipe|h2 protocol|frame|http2/i.test(message)) {
    hint = `it may require TLS: set TEMPORAL_TLS=true`;
  } else {
    hint = `check TEMPORAL_ADDRESS and that the server is up`;
  }
  return new TemporalUnreachable(`cannot use ${at} (${target.source}): ${hint}. (${message.trim()})`, {
    cause: err,
  });
}

/** The gRPC error in `err` or its causes ("Failed to connect to Temporal server" wraps the server's answer). */
function grpcCause(err: unknown): (Error & { code: number }) | undefined {
  for (let at = err; at instanceof Error; at = at.cause) {
    if (typeof (at as { code?: unknown }).code === 'number') return at as Error & { code: number };
  }
  return undefined;
}

/**
 * Why the server refused us, as far as we can tell: it answers every refusal of a key alike ("Request
 * unauthorized"), so an API key that reads as a JWT is checked here for its expiry.
 */
function refusedCredentials(target: TemporalTarget): string {
  const apiKey = target.options.apiKey;
  const namespace = `namespace "${target.namespace}"`;
  if (typeof apiKey !== 'string') {
    const tls = target.options.tls;
    const certificate = typeof tls === 'object' && tls !== null && tls.clientCertPair !== undefined;
    return certificate
      ? `our client certificate gives no access to ${namespace}: check the certificate or TEMPORAL_NAMESPACE`
      : `it wants credentials: set TEMPORAL_API_KEY, or a client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH and _KEY_PATH)`;
  }
  const expiry = jwtExpiry(apiKey);
  if (expiry !== undefined && expiry.getTime() <= Date.now()) {
    return `the API key expired at ${expiry.toISOString()}: set a new one in TEMPORAL_API_KEY (or the profile's api_key)`;
  }
  return (
    `it refused our API key for ${namespace}: check TEMPORAL_API_KEY — a key the server does not know ` +
    `(signed by another issuer, or revoked), or one without rights on the namespace — and TEMPORAL_NAMESPACE`
  );
}

/** The `exp` of a key that is a JWT; undefined for any other key. */
function jwtExpiry(key: string): Date | undefined {
  const [, payload] = key.split('.');
  if (payload === undefined) return undefined;
  try {
    const { exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof exp === 'number' ? new Date(exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A readiness check: the client is let into its namespace. Not the system info, which a server gives to
 * anyone, key or no key. A failure says which setting to fix when the target is known.
 */
export function namespaceCheck(client: Client, target?: TemporalTarget): () => Promise<void> {
  return async () => {
    try {
      await client.workflowService.describeNamespace({ namespace: client.options.namespace });
    } catch (err) {
      throw target ? explainConnectionFailure(target, err) : err;
    }
  };
}

/** A client connected to Temporal and checked against the namespace, with the worker's connection if asked. */
export interface TemporalConnections {
  client: Client;
  target: TemporalTarget;
  close(): Promise<void>;
}

/**
 * Connects to the target and checks it answers for the namespace (so a wrong CA, key or namespace is said
 * now, not at the first workflow); `{ worker: true }` adds the native connection a worker polls with. With
 * the API key in a config file, a rotated key is picked up without a restart: the file is watched and the
 * connections take the new key.
 */
export async function connectTemporal(target: TemporalTarget): Promise<TemporalConnections>;
export async function connectTemporal(
  target: TemporalTarget,
  options: { worker: true },
): Promise<TemporalConnections & { native: NativeConnection }>;
export async function connectTemporal(
  target: TemporalTarget,
  { worker = false }: { worker?: boolean } = {},
): Promise<TemporalConnections & { native?: NativeConnection }> {
  const { address, namespace } = target;
  if (!address) throw new TemporalUnreachable('no Temporal address: set TEMPORAL_ADDRESS (or a profile address)');
  const options = { address, ...target.options };
  let connection: Connection | undefined;
  let native: NativeConnection | undefined;
  try {
    connection = await Connection.connect(options);
    await connection.workflowService.describeNamespace({ namespace });
    if (worker) native = await NativeConnection.connect(options);
  } catch (err) {
    await connection?.close().catch(() => undefined);
    // gRPC says only that no connection came before the deadline: a handshake of our own finds out why.
    const code = grpcCause(err)?.code;
    const why = code === undefined || code === 4 || code === 14 ? await probe(address, target.options.tls) : undefined;
    throw explainConnectionFailure(target, why ?? err);
  }
  const stopWatching = watchApiKey(target, [connection, native]);
  const opened = connection;
  return {
    client: new Client({
      connection,
      namespace,
      ...(target.dataConverter ? { dataConverter: target.dataConverter } : {}),
    }),
    ...(native ? { native } : {}),
    target,
    async close() {
      stopWatching();
      await native?.close();
      await opened.close();
    },
  };
}

const PROBE_TIMEOUT_MS = 5000;
/** The client connection preface of HTTP/2 (RFC 9113, 3.4) and an empty SETTINGS frame. */
const HTTP2_PREFACE = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
]);

/**
 * Connects to `address` as gRPC would, TLS included, and returns what went wrong (refused, unresolved, a
 * certificate not trusted, a client certificate refused by the server), or undefined if nothing did.
 */
async function probe(address: string, tls: TemporalTarget['options']['tls']): Promise<Error | undefined> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port)) return new Error(`"${address}" is not host:port`);
  const settings = typeof tls === 'object' && tls !== null ? tls : undefined;
  return new Promise((resolve) => {
    const socket = tls
      ? connectTls({
          host,
          port,
          ALPNProtocols: ['h2'],
          servername: settings?.serverNameOverride ?? (/^[\d.]+$|:/.test(host) ? undefined : host),
          ...(settings?.serverRootCACertificate ? { ca: Buffer.from(settings.serverRootCACertificate) } : {}),
          ...(settings?.clientCertPair
            ? { cert: Buffer.from(settings.clientCertPair.crt), key: Buffer.from(settings.clientCertPair.key) }
            : {}),
        })
      : connectTcp({ host, port });
    const done = (outcome: Error | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => done(new Error(`no answer from ${address} in ${PROBE_TIMEOUT_MS / 1000} s`)),
      PROBE_TIMEOUT_MS,
    );
    socket.once('error', (err: Error) => done(err));
    // With TLS 1.3 the server refuses a client certificate after the handshake: its alert comes as the
    // first read. Given HTTP/2's preface, a server answers with its settings: data means we were taken.
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      if (tls) socket.write(HTTP2_PREFACE);
      else done(undefined);
    });
    socket.once('data', () => done(undefined));
  });
}

/** Watches the profile's file for a new API key, and gives it to the connections. */
function watchApiKey(
  target: TemporalTarget,
  connections: Array<{ setApiKey(key: string): void | Promise<void> } | undefined>,
): () => void {
  const file = target.configFile;
  if (!file || target.keyFromEnvironment || target.options.apiKey === undefined) return () => undefined;
  let current = target.options.apiKey;
  const reload = () => {
    try {
      const profile = loadClientConfigProfile({
        configSource: { data: readFileSync(file, 'utf8') },
        profile: target.profile,
        disableEnv: true,
      });
      const key = profile.apiKey;
      if (key && key !== current) {
        current = key;
        for (const connection of connections) void connection?.setApiKey(key);
      }
    } catch {
      // A half-written file: the next change reads it whole.
    }
  };
  watchFile(file, { interval: 1000 }, reload);
  return () => unwatchFile(file, reload);
}
