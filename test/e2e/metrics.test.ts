/**
 * The worker's /metrics, /healthz and /readyz, read over HTTP as Prometheus and a load balancer would,
 * while certificates are enrolled and renewals refused on a real dev server with the emulators.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { connectScm, scmReadiness, serveOps, workerReadiness } from '../../src/connector.ts';
import { readiness } from '../../src/ops.ts';
import {
  certificateWorkflowId,
  renewUpdate,
  RUNNING_CERTIFICATES,
  statusQuery,
} from '../../src/contract/certificate.ts';
import { ConnectorMetrics, fleetReader } from '../../src/metrics.ts';
import { Profiles } from '../../src/profiles.ts';
import type { certificateLifecycle } from '../../src/workflows/certificate/workflow.ts';
import { eventually, opensslCsr, startWorld, untilPhase, type World } from '../helpers/environment.ts';

/** The value of one sample of `name` whose labels include every pair in `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

describe('metrics and health', () => {
  let world: World;
  let ops: { server: Server; url: string };
  const profileIds = () => world.sandbox.profiles.all.map((p) => p.id);
  const metrics = new ConnectorMetrics({ fleet: () => fleetReader(world.env.client, { profileIds })(), fleetTtlMs: 0 });

  before(async () => {
    world = await startWorld({ scm: { issuanceDelayMs: 100 }, metrics });
    ops = await serveOps({
      metrics,
      checks: workerReadiness({ client: world.env.client, profiles: world.sandbox.profiles, workers: [] }),
      host: '127.0.0.1',
      port: 0,
    });
  });
  after(async () => {
    ops?.server.close();
    await world?.teardown();
  });

  const scrape = async () => {
    const res = await fetch(`${ops.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    return res.text();
  };
  const handle = (key: string) =>
    world.env.client.workflow.getHandle<typeof certificateLifecycle>(certificateWorkflowId(key));

  async function enroll(domain: string, profile = 'OV Server Certificate'): Promise<string> {
    const key = await world.alice.createCertificateIssue({
      profile,
      csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
    });
    await world.alice.transition(key, 'Enroll Certificate');
    await untilPhase(world.env.client, key, 'Active');
    return key;
  }

  it('exports when a certificate that expires within 30 days expires, with its issue, domain and profile', async () => {
    const key = await enroll('metrics.example.com', 'Short-lived Server Certificate');
    const { notAfter, certificateId, profileId } = await handle(key).query(statusQuery);
    const labels = { issue_key: key, domain: 'metrics.example.com', profile: profileId ?? '' };
    const { text, seconds } = await eventually(async () => {
      const text = await scrape();
      const seconds = sample(text, 'certificate_expiration_timestamp_seconds', labels);
      return seconds === undefined ? undefined : { text, seconds };
    }, 'the expiry gauge of the certificate');
    assert.equal(seconds, Math.round((notAfter ?? 0) / 1000), 'notAfter, in seconds since the epoch');
    assert.equal(sample(text, 'certificate_info', { ...labels, certificate_id: String(certificateId) }), 1);
    assert.ok(!/^certificate_expiration_timestamp_seconds\{[^}]*certificate_id=/m.test(text), 'no id on the gauge');
    assert.ok(
      (sample(text, 'certificate_renewal_timestamp_seconds', labels) ?? 0) > Date.now() / 1000,
      'a renewal is planned, in the future',
    );
    assert.ok((sample(text, 'certificate_workflows', { phase: 'Active', profile: profileId ?? '' }) ?? 0) >= 1);
    assert.ok((sample(text, 'certificate_operation_duration_seconds_count', { operation: 'enroll' }) ?? 0) >= 1);
    assert.ok(
      (sample(text, 'connector_upstream_requests_total', {
        system: 'scm',
        operation: 'POST /ssl/v1/enroll',
        code: '200',
      }) ?? 0) >= 1,
    );
    assert.ok(
      (sample(text, 'connector_upstream_requests_total', { system: 'jira', operation: 'addComment' }) ?? 0) >= 1,
    );
    assert.ok((sample(text, 'process_resident_memory_bytes', {}) ?? 0) > 0);
  });

  it('counts a renewal SCM refuses under its failure type', async () => {
    const key = await enroll('refused-metrics.example.com');
    const failures = (text: string) =>
      sample(text, 'certificate_failures_total', { operation: 'renew', type: 'UpstreamRejected' }) ?? 0;
    const before = failures(await scrape());
    world.sandbox.scmEmulator.faults.refuseRenewals = { code: -107, description: 'DCV is incomplete or expired' };
    try {
      await handle(key).executeUpdate(renewUpdate, {
        args: [{ requestedBy: 'operator', force: true, requestId: 'metrics-refused' }],
      });
      await eventually(
        async () => ((await handle(key).query(statusQuery)).renewalFailures >= 1 ? true : undefined),
        'the refused renewal',
      );
    } finally {
      world.sandbox.scmEmulator.faults.refuseRenewals = null;
    }
    const text = await scrape();
    assert.equal(failures(text), before + 1);
    assert.ok(
      (sample(text, 'connector_upstream_requests_total', { system: 'scm', code: '400' }) ?? 0) >= 1,
      'the refusal is among the SCM requests, with its status',
    );
  });

  it('gives series only to the certificates that need attention, up to a limit, and counts the rest', async () => {
    const healthy = await enroll('healthy-metrics.example.com');
    const renewalDue = await enroll('due-metrics.example.com');
    await enroll('soon-metrics.example.com', 'Short-lived Server Certificate');
    world.sandbox.scmEmulator.faults.refuseRenewals = { code: -107, description: 'DCV is incomplete or expired' };
    try {
      await handle(renewalDue).executeUpdate(renewUpdate, {
        args: [{ requestedBy: 'operator', force: true, requestId: 'metrics-attention' }],
      });
      await untilPhase(world.env.client, renewalDue, 'RenewalDue');
    } finally {
      world.sandbox.scmEmulator.faults.refuseRenewals = null;
    }
    const count = async (query: string) => (await world.env.client.workflow.count(query)).count;
    const running = (phase: string) =>
      `${RUNNING_CERTIFICATES} AND CertificateStatus = '${phase}' AND CertificateProfile = 'ov-server'`;
    const attention = `${RUNNING_CERTIFICATES} AND (CertificateStatus != 'Active' OR CertificateNotAfter < '${new Date(Date.now() + 30 * 86_400_000).toISOString()}')`;
    const { text, needAttention } = await eventually(async () => {
      const text = await scrape();
      // Visibility is eventually consistent: wait until a scrape shows the refused renewal.
      return sample(text, 'certificate_expiration_timestamp_seconds', { issue_key: renewalDue }) !== undefined
        ? { text, needAttention: await count(attention) }
        : undefined;
    }, 'the renewal-due certificate in visibility');
    assert.equal(
      sample(text, 'certificate_expiration_timestamp_seconds', { issue_key: healthy }),
      undefined,
      'a healthy one has no series',
    );
    assert.equal(sample(text, 'certificate_attention_omitted', {}), 0);
    assert.equal(
      sample(text, 'certificate_workflows', { phase: 'Active', profile: 'ov-server' }),
      await count(running('Active')),
      'the Active ones counted',
    );

    // One series at most: the others are counted as left out, and the phases are counted all the same.
    const capped = new ConnectorMetrics({ fleet: fleetReader(world.env.client, { profileIds, attentionLimit: 1 }) });
    const cappedText = await capped.text();
    assert.ok(needAttention >= 2, `${needAttention} certificates need attention`);
    assert.equal(sample(cappedText, 'certificate_attention_omitted', {}), needAttention - 1);
    assert.equal(cappedText.match(/^certificate_expiration_timestamp_seconds\{/gm)?.length, 1);
    for (const phase of ['Active', 'RenewalDue']) {
      assert.equal(
        sample(cappedText, 'certificate_workflows', { phase, profile: 'ov-server' }),
        await count(running(phase)),
        phase,
      );
    }
  });

  it('is not ready while SCM refuses the connector’s credentials, and says which settings to check', async () => {
    const { scmEmulator } = world.sandbox;
    const config = {
      baseUrl: scmEmulator.apiUrl,
      auth: { kind: 'password' as const, ...scmEmulator.credentials },
      timeoutMs: 10_000,
    };
    const checks = workerReadiness({
      client: world.env.client,
      profiles: world.sandbox.profiles,
      workers: [],
      scm: scmReadiness(connectScm(config, 10), config, 0),
    });
    assert.deepEqual(await readiness(checks), {
      ready: true,
      results: { scm: 'ok', temporal: 'ok', profiles: 'ok', workers: 'ok' },
    });
    const { password } = scmEmulator.credentials;
    scmEmulator.credentials.password = 'changed-in-scm';
    try {
      const { ready, results } = await readiness(checks);
      assert.equal(ready, false);
      assert.match(
        results.scm ?? '',
        /^SCM at \S+ refused the connector's credentials \(HTTP 401\b.*: check SECTIGO_LOGIN/,
      );
      assert.equal(results.temporal, 'ok');
    } finally {
      scmEmulator.credentials.password = password;
    }
  });

  it('answers /healthz, and /readyz with each check, failing while no profile is loaded', async () => {
    assert.equal((await fetch(`${ops.url}/healthz`)).status, 200);
    const ready = await fetch(`${ops.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      status: 'ready',
      checks: { temporal: 'ok', profiles: 'ok', workers: 'ok' },
    });
    const loaded = world.sandbox.profiles.all;
    world.sandbox.profiles.replace(new Profiles([]));
    try {
      const notReady = await fetch(`${ops.url}/readyz`);
      assert.equal(notReady.status, 503);
      const body = (await notReady.json()) as { checks: Record<string, string> };
      assert.equal(body.checks.profiles, 'no certificate profiles loaded');
      assert.equal(body.checks.temporal, 'ok');
    } finally {
      world.sandbox.profiles.replace(new Profiles(loaded));
    }
  });
});
