/**
 * The Helm chart (deploy/helm/certificate-lifecycle), linted and rendered by Helm itself, and the rendered
 * manifests checked for what the connector needs: the probes on the ports it serves them, variables it
 * reads, each secret from a file of the operator's Secret, and nothing of another process's.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { FILE_VARIABLES } from '../../src/config.ts';
import { TEMPORAL_VARIABLES } from '../../src/temporal-connection.ts';
import { helm, needsHelm } from '../helpers/helm.ts';

const chart = fileURLToPath(new URL('../../deploy/helm/certificate-lifecycle', import.meta.url));

interface Container {
  command: string[];
  env: Array<{ name: string; value?: string }>;
  ports: Array<{ name: string; containerPort: number }>;
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: {
    template?: {
      spec: {
        containers: Container[];
        volumes: Array<{ name: string; secret?: { secretName: string; items: Array<{ key: string }> } }>;
        terminationGracePeriodSeconds: number;
      };
    };
    endpoints?: Array<{ port: string; path: string }>;
    minAvailable?: number;
  };
}

const render = (...set: string[]): Manifest[] =>
  parseAllDocuments(
    execFileSync(helm ?? 'helm', ['template', 'rel', chart, ...set.flatMap((s) => ['--set', s])], { encoding: 'utf8' }),
  )
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);

/** Every variable src/config.ts reads, Temporal's among them, and the secrets' _FILE forms. */
const configVariables = new Set([
  ...(readFileSync(new URL('../../src/config.ts', import.meta.url), 'utf8')
    .match(/'[A-Z][A-Z0-9_]+'/g)
    ?.map((v) => v.slice(1, -1)) ?? []),
  ...TEMPORAL_VARIABLES,
  ...FILE_VARIABLES.map((name) => `${name}_FILE`),
]);

describe('Helm chart', needsHelm, () => {
  it('passes helm lint --strict', () => {
    execFileSync(helm ?? 'helm', ['lint', '--strict', chart], { encoding: 'utf8' });
  });

  it('runs the worker and the receiver with their probes on /readyz and /healthz, and a grace to drain', () => {
    const manifests = render();
    const deployment = (name: string) => manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === name);
    for (const [name, script, port, portName] of [
      ['rel-certificate-lifecycle-worker', 'src/worker.ts', 9464, 'metrics'],
      ['rel-certificate-lifecycle-receiver', 'src/client/webhook-server.ts', 8782, 'http'],
    ] as const) {
      const pod = deployment(name)?.spec.template?.spec;
      const container = pod?.containers[0];
      assert.ok(container, name);
      assert.deepEqual(container.command, ['node', script]);
      assert.deepEqual(container.ports, [{ name: portName, containerPort: port }]);
      assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: portName });
      assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: portName });
      assert.ok((pod?.terminationGracePeriodSeconds ?? 0) >= 10, 'longer than the 9 s a worker may drain');
      for (const { name: variable } of container.env) {
        assert.ok(configVariables.has(variable), `${name} sets ${variable}, which the connector does not read`);
      }
      const listening = container.env.find((e) => e.name === (port === 9464 ? 'METRICS_PORT' : 'RECEIVER_PORT'));
      assert.equal(listening?.value, String(port));
    }
    for (const kind of ['PodDisruptionBudget', 'Service', 'ConfigMap']) {
      assert.ok(
        manifests.some((m) => m.kind === kind),
        kind,
      );
    }
    assert.ok(!manifests.some((m) => m.kind === 'ServiceMonitor'), 'only when asked for');
  });

  it("gives each process only its own secrets, as files of the operator's Secret", () => {
    const manifests = render('existingSecret=connector', 'secretKeys.temporal={TEMPORAL_API_KEY}');
    const pods = Object.fromEntries(
      manifests
        .filter((m) => m.kind === 'Deployment')
        .map((m) => [m.metadata.name.replace('rel-certificate-lifecycle-', ''), m.spec.template?.spec]),
    );
    const secretsOf = (name: string) => {
      const pod = pods[name];
      const volume = pod?.volumes.find((v) => v.secret);
      assert.equal(volume?.secret?.secretName, 'connector');
      const env = pod?.containers[0]?.env ?? [];
      for (const { key } of volume?.secret?.items ?? []) {
        assert.equal(env.find((e) => e.name === `${key}_FILE`)?.value, `/run/secrets/connector/${key}`);
        assert.ok(!env.some((e) => e.name === key), `${key} is never a plain variable`);
      }
      return (volume?.secret?.items ?? []).map((i) => i.key).sort();
    };
    assert.deepEqual(secretsOf('worker'), ['JIRA_API_TOKEN', 'SECTIGO_PASSWORD', 'TEMPORAL_API_KEY']);
    assert.deepEqual(secretsOf('receiver'), ['JIRA_API_TOKEN', 'JIRA_WEBHOOK_SECRET', 'TEMPORAL_API_KEY']);
  });

  it('mounts no Secret into a process that is given no keys of it', () => {
    const manifests = render('existingSecret=connector', 'secretKeys.jira={}', 'secretKeys.receiver={}');
    const receiver = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name.endsWith('-receiver'));
    const pod = receiver?.spec.template?.spec;
    assert.ok(pod, 'the receiver Deployment');
    assert.ok(!(pod.volumes ?? []).some((v) => v.secret), 'no secret volume');
    assert.ok(!(pod.containers[0]?.env ?? []).some((e) => e.name.endsWith('_FILE')), 'no secret files named');
    const worker = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name.endsWith('-worker'));
    assert.deepEqual(
      worker?.spec.template?.spec?.volumes.find((v) => v.secret)?.secret?.items?.map((i) => i.key),
      ['SECTIGO_PASSWORD'],
      'the worker keeps its own',
    );
  });

  it('scrapes both processes with a ServiceMonitor when asked', () => {
    const monitor = render('serviceMonitor.enabled=true').find((m) => m.kind === 'ServiceMonitor');
    assert.deepEqual(
      monitor?.spec.endpoints?.map((e) => `${e.port}${e.path}`),
      ['metrics/metrics', 'http/metrics'],
    );
  });
});
