/**
 * The production shape without Docker: the Temporal server on PostgreSQL, as users deploy it.
 *
 *   node scripts/production.ts --install   builds the server and its schema tool from the Go module proxy
 *                                          (into .temporal/server-<version>) and installs PostgreSQL from the
 *                                          OS packages when it is missing; idempotent
 *   node scripts/production.ts up [dir]    starts PostgreSQL and the server (data under dir, default
 *                                          .temporal/production), sets up both schemas, the namespace and
 *                                          the search attributes, and runs until Ctrl-C
 *
 *   PRODUCTION_SECURITY=mtls|api-key        secures the frontend as operators are told to: TLS with client
 *                                          certificates, or TLS with API keys (JWTs the server checks against
 *                                          a key set the stack serves); it prints what clients must set
 *
 * `startProductionStack` does the same for the production test lane (`npm run test:production`). The
 * versions and search attributes are those of docker-compose.yml (test/unit/compose.test.ts checks it).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { searchAttributeRegistrations } from '../src/contract/shared.ts';
import { serveJwks, tlsFiles, TokenSigner, type TlsFiles } from './production-security.ts';

/** The server release: temporalio/server and temporalio/admin-tools in docker-compose.yml carry the same tag. */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
/**
 * The server's PostgreSQL driver: pgx, which prepares each statement once per connection. The other
 * (`postgres12`, lib/pq) has PostgreSQL parse and plan every statement again: half again its CPU time
 * per enrollment (docs/benchmarks.md). docker-compose.yml's server uses the same.
 */
export const SQL_PLUGIN = 'postgres12_pgx';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const serverDir = join(projectRoot, '.temporal', `server-${TEMPORAL_SERVER_VERSION}`);
const SERVER_BINARY = join(serverDir, 'server');
const SQL_TOOL = join(serverDir, 'sql');
const NAMESPACE = 'default';
/** The server's dynamic configuration, as docker-compose.yml mounts it. */
export const DYNAMIC_CONFIG = join(projectRoot, 'deploy', 'temporal', 'dynamicconfig.yaml');

/** Builds the server and temporal-sql-tool once; makes sure PostgreSQL is installed. */
export function installProductionStack(): void {
  if (!existsSync(SERVER_BINARY) || !existsSync(SQL_TOOL)) {
    mkdirSync(serverDir, { recursive: true });
    console.error(`production: building the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool (once)`);
    execFileSync(
      'go',
      [
        'install',
        '-ldflags=-s -w',
        `go.temporal.io/server/cmd/server@v${TEMPORAL_SERVER_VERSION}`,
        `go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`,
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, CGO_ENABLED: '0', GOBIN: serverDir, GOFLAGS: '-mod=mod' },
      },
    );
  }
  if (!postgresBin()) {
    if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) {
      throw new Error('PostgreSQL is not installed: install it (Debian: apt-get install postgresql) and run again');
    }
    console.error('production: installing PostgreSQL from the OS packages');
    execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'inherit', 'inherit'] });
    execFileSync('apt-get', ['install', '-y', '-q', 'postgresql'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
}

/** Where initdb and pg_ctl are: Debian keeps them out of PATH, under /usr/lib/postgresql/<major>/bin. */
function postgresBin(): string | undefined {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const majors = readdirSync(debian)
      .filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return join(debian, majors[0], 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  return found ? dirname(found) : undefined;
}

export interface ProductionStackOptions {
  /** Data, configuration and logs (kept between starts). */
  dir: string;
  /**
   * Ports are this plus fixed offsets: PostgreSQL +432, frontend gRPC +233 (HTTP +243), history +234,
   * matching +235, worker +239, membership +933…+939, server metrics +800. Membership ports must stay
   * below 32768 (the server stores them in a smallint column).
   */
  basePort?: number;
  /**
   * How clients prove themselves to the frontend: not at all (the default), with a client certificate
   * over TLS (`mtls`), or with an API key over TLS (`api-key`).
   */
  security?: Security;
}

export type Security = 'none' | 'mtls' | 'api-key';

export interface ProductionStack {
  /** The frontend's gRPC address, for TEMPORAL_ADDRESS. */
  address: string;
  namespace: string;
  postgresPort: number;
  security: Security;
  /** What a client process sets to reach the frontend: Temporal's own environment variables. */
  clientEnv: Record<string, string>;
  /** The same, for a connection made in this process. */
  connectionOptions: ConnectionOptions;
  /** The PEM files, when secured. */
  tls?: TlsFiles;
  /** The API keys' signer (`api-key`): mints keys the server accepts. */
  signer?: TokenSigner;
  stop(): Promise<void>;
}

/** Every port the stack listens on, as an offset from its base port. */
const PORT_OFFSETS: Record<string, number> = {
  PostgreSQL: 432,
  'frontend gRPC': 233,
  'frontend HTTP': 243,
  'internal frontend': 236,
  'internal frontend membership': 936,
  'API key set (JWKS)': 250,
  history: 234,
  matching: 235,
  worker: 239,
  'frontend membership': 933,
  'history membership': 934,
  'matching membership': 935,
  'worker membership': 939,
  'server metrics': 800,
};

/** The default base port; `npm run production` takes another from PRODUCTION_BASE_PORT. */
export const DEFAULT_BASE_PORT = 17_000;

/**
 * Starts PostgreSQL and the Temporal server, with schemas, namespace and search attributes in place. Every
 * port is checked free first: a server that cannot bind would leave clients talking to whatever holds the
 * port. A start that fails stops what it started.
 */
export async function startProductionStack(options: ProductionStackOptions): Promise<ProductionStack> {
  const base = options.basePort ?? DEFAULT_BASE_PORT;
  if (!Number.isInteger(base) || base < 1024 || base + 939 >= 32_768) {
    throw new Error(
      `base port ${base}: give one from 1024 to ${32_767 - 939} (membership ports must stay below 32768)`,
    );
  }
  await assertPortsFree(base);
  const bin = postgresBin();
  if (!bin || !existsSync(SERVER_BINARY)) {
    throw new Error('the production stack is not installed: run `node scripts/production.ts --install`');
  }
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const pgPort = base + 432;
  const password = secret(join(dir, 'db-password'));
  startPostgres(bin, dir, pgPort, password);
  try {
    return await startServer(bin, dir, base, pgPort, password, options.security ?? 'none');
  } catch (err) {
    stopPostgres(bin, dir);
    throw err;
  }
}

async function assertPortsFree(base: number): Promise<void> {
  const taken: string[] = [];
  for (const [what, offset] of Object.entries(PORT_OFFSETS)) {
    if (!(await portFree(base + offset))) taken.push(`${base + offset} (${what})`);
  }
  if (taken.length > 0) {
    throw new Error(
      `ports in use: ${taken.join(', ')}; stop what holds them (an earlier stack?) or choose other ports ` +
        `(PRODUCTION_BASE_PORT, now ${base}, moves them all)`,
    );
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createNetServer();
    probe.once('error', () => done(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
}

async function startServer(
  bin: string,
  dir: string,
  base: number,
  pgPort: number,
  password: string,
  security: Security,
): Promise<ProductionStack> {
  const sql = (...args: string[]) =>
    execFileSync(SQL_TOOL, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        SQL_PLUGIN,
        SQL_HOST: '127.0.0.1',
        SQL_PORT: String(pgPort),
        SQL_USER: 'temporal',
        SQL_PASSWORD: password,
      },
    });
  for (const [db, schema] of [
    ['temporal', 'postgresql/v12/temporal'],
    ['temporal_visibility', 'postgresql/v12/visibility'],
  ] as const) {
    const marker = join(dir, `${db}.schema`);
    if (!existsSync(marker)) {
      sql('--db', db, 'create-database');
      sql('--db', db, 'setup-schema', '-v', '0.0');
      writeFileSync(marker, '');
    }
    sql('--db', db, 'update-schema', '--schema-name', schema); // idempotent; applies what a new release adds
  }

  const secured = await securityOf(security, dir, base);
  writeServerConfig(dir, base, pgPort, password, secured);
  // Secured, the system workers (schedules among them) reach the frontend's internal twin, which needs
  // neither a client certificate nor a key: the server's own services are not clients.
  const services = security === 'none' ? [] : ['frontend', 'internal-frontend', 'history', 'matching', 'worker'];
  const launch = () =>
    spawn(
      SERVER_BINARY,
      [
        '--root',
        dir,
        '--config',
        'config',
        '--env',
        'production',
        ...(security === 'api-key' ? [] : ['--allow-no-auth']),
        'start',
        ...services.flatMap((service) => ['--service', service]),
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'], detached: false },
    );
  let server = launch();
  const address = `127.0.0.1:${base + 233}`;
  const { clientEnv, connectionOptions } = await clientSettings(address, secured);
  try {
    const admin = { address, ...connectionOptions, ...(await secured.adminKey()) };
    if (await registerNamespace(admin, server, dir)) {
      // Each service reads the namespace's search attributes when it starts and then every 10 s; a
      // restart has them all know the ones just added before the first workflow uses them.
      await stopServer(server);
      server = launch();
      await (await answering(admin, server, dir)).close();
    }
  } catch (err) {
    server.kill('SIGKILL');
    secured.jwks?.close();
    throw err;
  }
  return {
    address,
    namespace: NAMESPACE,
    postgresPort: pgPort,
    security,
    clientEnv,
    connectionOptions,
    ...(secured.tls ? { tls: secured.tls } : {}),
    ...(secured.signer ? { signer: secured.signer } : {}),
    async stop() {
      secured.jwks?.close();
      await stopServer(server);
      stopPostgres(bin, dir);
    },
  };
}

/** Stops the server, killing it if it has not stopped in 15 s. */
async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((done) => server.once('exit', done));
  server.kill('SIGTERM');
  const patience = setTimeout(() => server.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(patience);
}

interface SecurityMaterial {
  security: Security;
  tls?: TlsFiles;
  signer?: TokenSigner;
  jwks?: Server;
  jwksUrl?: string;
  /** The key the stack's own set-up signs in with (`api-key`): the whole server's admin, for an hour. */
  adminKey(): Promise<{ apiKey?: string }>;
}

async function securityOf(security: Security, dir: string, base: number): Promise<SecurityMaterial> {
  if (security === 'none') return { security, adminKey: () => Promise.resolve({}) };
  const tls = await tlsFiles(dir);
  if (security === 'mtls') return { security, tls, adminKey: () => Promise.resolve({}) };
  const signer = await TokenSigner.open(join(dir, 'api-key-signer.jwk'));
  const { url, server } = await serveJwks(signer, base + 250);
  return {
    security,
    tls,
    signer,
    jwks: server,
    jwksUrl: url,
    adminKey: async () => ({
      apiKey: await signer.mint({
        subject: 'production-stack',
        permissions: ['temporal-system:admin'],
        expiresInSeconds: 3600,
      }),
    }),
  };
}

/** The name the frontend's certificate carries (TLS names no IP address: RFC 6066). */
const SERVER_NAME = 'localhost';

/** What clients set to reach the frontend, as variables and as connection options. */
async function clientSettings(
  address: string,
  { security, tls, signer }: SecurityMaterial,
): Promise<{ clientEnv: Record<string, string>; connectionOptions: ConnectionOptions }> {
  if (security === 'none' || !tls) return { clientEnv: { TEMPORAL_ADDRESS: address }, connectionOptions: { address } };
  const serverRootCACertificate = readFileSync(tls.serverCa);
  if (security === 'mtls') {
    return {
      clientEnv: {
        TEMPORAL_ADDRESS: address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: tls.serverCa,
        TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
        TEMPORAL_TLS_CLIENT_CERT_PATH: tls.clientCertificate,
        TEMPORAL_TLS_CLIENT_KEY_PATH: tls.clientKey,
      },
      connectionOptions: {
        address,
        tls: {
          serverRootCACertificate,
          serverNameOverride: SERVER_NAME,
          clientCertPair: { crt: readFileSync(tls.clientCertificate), key: readFileSync(tls.clientKey) },
        },
      },
    };
  }
  // A day's key with every right on the namespace: what the connector's processes run with.
  const apiKey = await signer!.mint({
    subject: 'certificate-connector',
    permissions: [`${NAMESPACE}:admin`],
    expiresInSeconds: 86_400,
  });
  return {
    clientEnv: {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: tls.serverCa,
      TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
      TEMPORAL_API_KEY: apiKey,
    },
    connectionOptions: { address, tls: { serverRootCACertificate, serverNameOverride: SERVER_NAME }, apiKey },
  };
}

/** A password kept in the stack's directory (readable by its owner only), made on first start. */
function secret(path: string): string {
  if (!existsSync(path)) writeFileSync(path, randomBytes(18).toString('base64url'), { mode: 0o600 });
  return readFileSync(path, 'utf8').trim();
}

/** PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` account. */
function asPostgres(command: string, args: string[]): { command: string; args: string[] } {
  return process.getuid?.() === 0
    ? { command: 'runuser', args: ['-u', 'postgres', '--', command, ...args] }
    : { command, args };
}

function startPostgres(bin: string, dir: string, port: number, password: string): void {
  const data = join(dir, 'pgdata');
  const run = (tool: string, args: string[], stdio: 'ignore' | 'inherit' = 'ignore') => {
    const { command, args: argv } = asPostgres(join(bin, tool), args);
    execFileSync(command, argv, { stdio: ['ignore', stdio, 'pipe'] });
  };
  if (process.getuid?.() === 0) chownSync(dir, postgresUid(), postgresGid());
  if (!existsSync(join(data, 'PG_VERSION'))) {
    run('initdb', ['-D', data, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--locale=C']);
  }
  run('pg_ctl', [
    '-D',
    data,
    '-l',
    join(dir, 'postgres.log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    '-w',
    'start',
  ]);
  // The server and the schema tool connect over TCP with a password, as they would to a managed database.
  const psql = (statement: string) =>
    spawnSync(
      join(bin, 'psql'),
      ['-h', dir, '-p', String(port), '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', statement],
      {
        encoding: 'utf8',
      },
    );
  const created = psql(`create user temporal with superuser password '${password}'`);
  if (created.status !== 0 && !/already exists/.test(created.stderr)) {
    throw new Error(`could not create the temporal role: ${created.stderr.trim()}`);
  }
}

function stopPostgres(bin: string, dir: string): void {
  const { command, args } = asPostgres(join(bin, 'pg_ctl'), ['-D', join(dir, 'pgdata'), '-m', 'fast', '-w', 'stop']);
  spawnSync(command, args, { stdio: 'ignore' });
}

function postgresUid(): number {
  return Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
}
function postgresGid(): number {
  return Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
}

/** The server's static configuration (development-postgres12.yaml of the release, with our ports). */
function writeServerConfig(
  dir: string,
  base: number,
  pgPort: number,
  password: string,
  secured: SecurityMaterial,
): void {
  const store = (database: string, maxConns: number) => `
      sql:
        pluginName: ${SQL_PLUGIN}
        databaseName: ${database}
        connectAddr: "127.0.0.1:${pgPort}"
        connectProtocol: tcp
        user: temporal
        password: "${password}"
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: 1h`;
  const service = (grpc: number, membership: number, http?: number) => `
    rpc:
      grpcPort: ${base + grpc}
      membershipPort: ${base + membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${base + http}` : ''}`;
  mkdirSync(join(dir, 'config', 'dynamicconfig'), { recursive: true });
  writeFileSync(
    join(dir, 'config', 'production.yaml'),
    `log:
  stdout: false
  level: warn
  outputFile: ${join(dir, 'server.log')}
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:${store('temporal', 20)}
    postgres-visibility:${store('temporal_visibility', 10)}
global:${securityConfig(secured)}
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:${base + 800}"
services:
  frontend:${service(233, 933, 243)}
  matching:${service(235, 935)}
  history:${service(234, 934)}
  worker:${service(239, 939)}${secured.security === 'none' ? '' : `\n  internal-frontend:${service(236, 936)}`}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:${base + 233}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${join(dir, 'config', 'dynamicconfig', 'production.yaml')}
  pollInterval: 10s
`,
    { mode: 0o600 },
  );
  writeFileSync(join(dir, 'config', 'dynamicconfig', 'production.yaml'), readFileSync(DYNAMIC_CONFIG, 'utf8'));
}

/** The frontend's TLS and, for API keys, the JWT key provider with the default claim mapper and authorizer. */
function securityConfig({ security, tls, jwksUrl }: SecurityMaterial): string {
  if (security === 'none' || !tls) return '';
  const frontendTls = `
  tls:
    frontend:
      server:
        certFile: ${tls.serverCertificate}
        keyFile: ${tls.serverKey}
        requireClientAuth: ${security === 'mtls'}${security === 'mtls' ? `\n        clientCaFiles:\n          - ${tls.clientCa}` : ''}
      client:
        serverName: ${SERVER_NAME}
        rootCaFiles:
          - ${tls.serverCa}`;
  if (security === 'mtls') return frontendTls;
  return `${frontendTls}
  authorization:
    jwtKeyProvider:
      keySourceURIs:
        - ${jwksUrl}
      refreshInterval: 1m
    permissionsClaimName: permissions
    authorizer: default
    claimMapper: default`;
}

function assertRunning(server: ChildProcess, dir: string): void {
  if (server.exitCode !== null) {
    throw new Error(`the Temporal server exited (code ${server.exitCode}); see ${join(dir, 'server.log')}`);
  }
}

/** A connection once the frontend answers (within 3 minutes of the server's start). */
async function answering(options: ConnectionOptions, server: ChildProcess, dir: string): Promise<Connection> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    assertRunning(server, dir);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ ...options, connectTimeout: 2000 });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch (err) {
      await connection?.close();
      if (Date.now() > deadline) {
        throw new Error(`the Temporal server did not answer at ${options.address ?? ''}: ${String(err)}`, {
          cause: err,
        });
      }
      await sleep(500);
    }
  }
}

/**
 * Waits for the frontend, then makes the namespace and the search attributes (each only when missing).
 * Answers whether it added (or may have added) search attributes.
 */
async function registerNamespace(options: ConnectionOptions, server: ChildProcess, dir: string): Promise<boolean> {
  const connection = await answering(options, server, dir);
  const deadline = Date.now() + 180_000;
  let added = false;
  try {
    const registered = await connection.workflowService.describeNamespace({ namespace: NAMESPACE }).then(
      () => true,
      () => false,
    );
    if (!registered) {
      await connection.workflowService.registerNamespace({
        namespace: NAMESPACE,
        workflowExecutionRetentionPeriod: msToTs('3 days'),
      });
    }
    const wanted = Object.fromEntries(searchAttributeRegistrations.map((r) => [r.name, r.indexedValueType]));
    // A new namespace reaches every service's cache within seconds; until then adding attributes fails.
    for (;;) {
      assertRunning(server, dir);
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: NAMESPACE });
        const missing = Object.fromEntries(Object.entries(wanted).filter(([name]) => !(name in customAttributes)));
        if (Object.keys(missing).length === 0) break;
        added = true; // even if the answer is lost: the attributes may be added all the same
        await connection.operatorService.addSearchAttributes({ namespace: NAMESPACE, searchAttributes: missing });
      } catch (err) {
        if (Date.now() > deadline) {
          throw new Error(`could not register the search attributes: ${String(err)}`, { cause: err });
        }
        await sleep(1000);
      }
    }
  } finally {
    await connection.close();
  }
  return added;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, dirArg] = process.argv.slice(2);
  if (command === '--install') {
    installProductionStack();
    console.log(
      `Temporal server ${TEMPORAL_SERVER_VERSION}: ${SERVER_BINARY}\nPostgreSQL: ${postgresBin() ?? '(none)'}`,
    );
  } else if (command === 'up') {
    installProductionStack();
    const basePort = Number(process.env.PRODUCTION_BASE_PORT ?? DEFAULT_BASE_PORT);
    const security = process.env.PRODUCTION_SECURITY ?? 'none';
    if (security !== 'none' && security !== 'mtls' && security !== 'api-key') {
      console.error(`production: PRODUCTION_SECURITY must be "none", "mtls" or "api-key", not "${security}"`);
      process.exit(2);
    }
    const dir = dirArg ?? join(projectRoot, '.temporal', `production${security === 'none' ? '' : `-${security}`}`);
    const stack = await startProductionStack({
      dir,
      basePort,
      security,
    }).catch((err: unknown) => {
      console.error(`production: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
    // The client's settings (an API key among them) go to a file of the owner's, not to the terminal.
    const envFile = join(dir, 'client.env');
    writeFileSync(
      envFile,
      Object.entries(stack.clientEnv)
        .map(([name, value]) => `${name}=${value}\n`)
        .join(''),
      {
        mode: 0o600,
      },
    );
    console.log(
      `Temporal ${TEMPORAL_SERVER_VERSION} on PostgreSQL (port ${stack.postgresPort}) at ${stack.address}` +
        `${security === 'none' ? '' : `, secured (${security})`}.\n` +
        `Run the connector against it: (set -a; . ${envFile}; npm start)\nCtrl-C stops both.`,
    );
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await stack.stop();
  } else {
    console.error('usage: node scripts/production.ts --install | up [dir]');
    process.exit(2);
  }
}
