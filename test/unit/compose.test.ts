/** docker-compose.yml checked statically (no Docker engine here): it must agree with the code. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { DYNAMIC_CONFIG, SQL_PLUGIN, TEMPORAL_SERVER_VERSION } from '../../scripts/production.ts';
import { RETIRED_VARIABLES, FILE_VARIABLES } from '../../src/config.ts';
import { searchAttributeRegistrations } from '../../src/contract/shared.ts';
import { PAYLOAD_KEYS_VARIABLE } from '../../src/payload-codec.ts';
import { TEMPORAL_VARIABLES } from '../../src/temporal-connection.ts';

interface Service {
  image?: string;
  build?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] | string };
  volumes?: string[];
}
const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
/** Every variable src/config.ts reads, Temporal's environment configuration among them. */
const configVariables = new Set([
  ...(readFileSync(new URL('../../src/config.ts', import.meta.url), 'utf8')
    .match(/'[A-Z][A-Z0-9_]+'/g)
    ?.map((v) => v.slice(1, -1))
    .filter((name) => !(RETIRED_VARIABLES as readonly string[]).includes(name)) ?? []),
  ...TEMPORAL_VARIABLES,
  PAYLOAD_KEYS_VARIABLE,
  ...FILE_VARIABLES.map((name) => `${name}_FILE`),
]);
const composeText = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');

describe('docker-compose.yml', () => {
  it('has the production shape', () => {
    assert.deepEqual(Object.keys(services).sort(), [
      'postgresql',
      'receiver',
      'temporal',
      'temporal-admin',
      'temporal-schema',
      'temporal-ui',
      'worker',
    ]);
  });

  it('registers every search attribute the workflows use, with its type', () => {
    const command = ([] as string[]).concat(services['temporal-admin']?.command ?? []).join(' ');
    for (const { name, cliType } of searchAttributeRegistrations) {
      assert.match(command, new RegExp(`--name ${name} --type ${cliType}\\b`), name);
    }
  });

  it('runs the worker and the receiver from this repository with settings the code reads', () => {
    for (const name of ['worker', 'receiver']) {
      const service = services[name];
      assert.equal(service?.build, '.');
      const script = ([] as string[]).concat(service?.command ?? []).find((part) => part.endsWith('.ts'));
      assert.ok(script && existsSync(new URL(`../../${script}`, import.meta.url)), `${name} runs ${String(script)}`);
      for (const variable of Object.keys(service?.environment ?? {})) {
        assert.ok(configVariables.has(variable), `${name} sets ${variable}, which src/config.ts does not read`);
      }
    }
    assert.deepEqual(services.receiver?.ports, [`${services.receiver?.environment?.RECEIVER_PORT}:8782`]);
  });

  it('passes through every setting of the real systems the code reads, JIRA_REVOKERS_GROUP among them', () => {
    // Settings of the sandbox, of npm start, or fixed by the compose file itself (ports, hosts, paths).
    const notPassed = new Set([
      'DATA_DIR',
      'JIRA_EMULATOR_PORT',
      'SCM_EMULATOR_PORT',
      'SANDBOX_ISSUANCE_DELAY_MS',
      'SANDBOX_JIRA',
      'TEMPORAL_PORT',
      'TEMPORAL_UI_PORT',
      'METRICS_PORT',
      'RECEIVER_PORT',
      'RECEIVER_HOST',
      'WORKFLOW_BUNDLE',
      'CODEC_AUTH_TOKEN',
      'CODEC_AUTH_TOKEN_FILE',
    ]);
    const given = new Set([
      ...Object.keys(services.worker?.environment ?? {}),
      ...Object.keys(services.receiver?.environment ?? {}),
    ]);
    const missing = [...configVariables].filter((v) => !notPassed.has(v) && !given.has(v));
    assert.deepEqual(missing, [], 'neither the worker nor the receiver gets these');
    assert.equal(services.worker?.environment?.JIRA_REVOKERS_GROUP, '${JIRA_REVOKERS_GROUP:-}');
    assert.equal(services.receiver?.environment?.JIRA_REVOKERS_GROUP, '${JIRA_REVOKERS_GROUP:-}');
  });

  it('gives each process only the secrets it uses', () => {
    const worker = Object.keys(services.worker?.environment ?? {});
    const receiver = Object.keys(services.receiver?.environment ?? {});
    assert.deepEqual(
      worker.filter((v) => v.startsWith('JIRA_WEBHOOK_SECRET')),
      [],
      "the webhook secret is the receiver's",
    );
    assert.deepEqual(
      receiver.filter((v) => v.startsWith('SECTIGO_')),
      [],
      'the receiver never talks to SCM',
    );
    for (const secret of ['SECTIGO_PASSWORD', 'SECTIGO_CLIENT_SECRET', 'JIRA_API_TOKEN', 'TEMPORAL_API_KEY']) {
      assert.ok(worker.includes(`${secret}_FILE`), `the worker takes ${secret} from a file too`);
    }
    assert.ok(receiver.includes('JIRA_WEBHOOK_SECRET_FILE'));
  });

  it('lists every variable it reads in .env.example, and keeps .env out of git', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const listed = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    const read = new Set([...composeText.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
    assert.deepEqual(
      [...read].filter((v) => !listed.has(v)),
      [],
      'missing from .env.example',
    );
    assert.deepEqual(
      [...listed].filter((v) => !read.has(v)),
      [],
      'in .env.example but not read',
    );
    assert.match(readFileSync(new URL('../../.gitignore', import.meta.url), 'utf8'), /^\.env$/m);
  });

  it('publishes no Temporal port, and the Web UI and metrics on loopback only', () => {
    assert.equal(services.temporal?.ports, undefined, 'plain-text gRPC stays inside the network');
    assert.deepEqual(services.temporal?.expose, ['7233']);
    assert.deepEqual(services['temporal-ui']?.ports, ['127.0.0.1:8233:8080']);
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? []) {
        assert.ok(port.startsWith('127.0.0.1:') || name === 'receiver', `${name} publishes ${port} beyond loopback`);
      }
    }
  });

  it('starts each step when the one before has finished: schema, server, namespace and attributes, connector', () => {
    assert.equal(services['temporal-schema']?.depends_on?.postgresql?.condition, 'service_healthy');
    assert.equal(services.temporal?.depends_on?.['temporal-schema']?.condition, 'service_completed_successfully');
    for (const name of ['worker', 'receiver', 'temporal-ui']) {
      assert.equal(
        services[name]?.depends_on?.['temporal-admin']?.condition,
        'service_completed_successfully',
        `${name} waits for the namespace and the search attributes`,
      );
    }
    const schema = ([] as string[]).concat(services['temporal-schema']?.command ?? []).join(' ');
    for (const step of ['create-database', 'setup-schema -v 0.0', 'update-schema --schema-name postgresql/v12/']) {
      assert.ok(schema.includes(step), step);
    }
    assert.match(schema, /temporal:temporal temporal_visibility:visibility/);
    const admin = ([] as string[]).concat(services['temporal-admin']?.command ?? []).join(' ');
    assert.match(admin, /temporal operator namespace create -n default --retention \d+d/);
  });

  it('runs the Temporal release that scripts/production.ts builds and the production lane tests', () => {
    assert.equal(services.temporal?.image, `temporalio/server:${TEMPORAL_SERVER_VERSION}`);
    assert.equal(services['temporal-schema']?.image, `temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`);
    assert.equal(services['temporal-admin']?.image, `temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`);
    assert.equal(services.temporal?.environment?.DB, SQL_PLUGIN, 'the SQL plugin the production lane uses');
    assert.equal(services['temporal-schema']?.environment?.SQL_PLUGIN, SQL_PLUGIN);
  });

  it('gives its server the dynamic configuration the production lane runs with (eager activities)', () => {
    const path = services.temporal?.environment?.DYNAMIC_CONFIG_FILE_PATH;
    assert.ok(path, 'DYNAMIC_CONFIG_FILE_PATH');
    assert.ok(
      services.temporal?.volumes?.includes(`./deploy/temporal/dynamicconfig.yaml:${path}:ro`),
      'the file mounted where the server reads it',
    );
    const dynamic = parse(readFileSync(DYNAMIC_CONFIG, 'utf8')) as Record<string, Array<{ value: unknown }>>;
    assert.deepEqual(dynamic['system.enableActivityEagerExecution'], [{ value: true }]);
  });

  it('checks the readiness of the worker and the receiver on the ports they serve it', () => {
    const worker = services.worker;
    assert.deepEqual(worker?.ports, ['127.0.0.1:9464:9464'], 'METRICS_PORT defaults to 9464');
    assert.equal(worker?.environment?.METRICS_HOST, '0.0.0.0', 'the published port is served beyond loopback');
    assert.match(([] as string[]).concat(worker?.healthcheck?.test ?? []).join(' '), /127\.0\.0\.1:9464\/readyz/);
    const receiver = services.receiver;
    assert.match(([] as string[]).concat(receiver?.healthcheck?.test ?? []).join(' '), /127\.0\.0\.1:8782\/readyz/);
  });

  it('builds an image that runs the TypeScript directly on Node.js 24', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    assert.match(dockerfile, /^FROM node:24/m);
    assert.match(dockerfile, /npm ci --omit=dev/);
    // The workflows are bundled at build time, and the worker is told where: it then never loads the bundler.
    const built = /^RUN node src\/workflow-bundle\.ts (\S+)$/m.exec(dockerfile)?.[1];
    assert.ok(built, 'the image bundles the workflows');
    assert.match(dockerfile, new RegExp(`^ENV WORKFLOW_BUNDLE=${built}$`, 'm'));
  });
});
