/**
 * The worker's /metrics serves the last reading of the fleet: a scrape waits for a reading only when
 * there has never been one, so a slow visibility store never makes Prometheus's scrape time out. It also
 * says when the SCM client certificates expire.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConnectorMetrics, type Fleet } from '../../src/metrics.ts';
import { LocalCa } from '../../src/sandbox/ca.ts';

const fleetOf = (active: number): Fleet => ({
  counts: [{ phase: 'Active', profile: 'ov-server', count: active }],
  attention: [],
  omitted: 0,
});
const activeIn = (text: string) =>
  Number(/^certificate_workflows\{phase="Active",profile="ov-server"\} (\d+)$/m.exec(text)?.[1] ?? Number.NaN);

describe('the fleet figures of /metrics', () => {
  it('are read off the scrape path: a stale reading is served while the next one is under way', async () => {
    const readings: Array<(fleet: Fleet) => void> = [];
    const metrics = new ConnectorMetrics({
      fleet: () => new Promise<Fleet>((resolve) => readings.push(resolve)),
      fleetTtlMs: 0,
    });
    // No reading yet: the first scrape waits for one.
    const first = metrics.text();
    assert.equal(readings.length, 1);
    readings[0]?.(fleetOf(3));
    assert.equal(activeIn(await first), 3);

    // Stale (TTL 0): the scrape answers with the last figures and starts one reading, whose answer is
    // still outstanding when the next scrape comes; that one starts no second reading.
    assert.equal(activeIn(await metrics.text()), 3);
    assert.equal(readings.length, 2);
    assert.equal(activeIn(await metrics.text()), 3);
    assert.equal(readings.length, 2, 'one reading at a time');
    readings[1]?.(fleetOf(5));
    await metrics.refreshFleet();
    assert.equal(activeIn(await metrics.text()), 5);
  });

  it('keep the last figures when a reading fails', async () => {
    let fail = false;
    const metrics = new ConnectorMetrics({
      fleet: () => (fail ? Promise.reject(new Error('visibility unavailable')) : Promise.resolve(fleetOf(7))),
      fleetTtlMs: 0,
    });
    assert.equal(activeIn(await metrics.text()), 7);
    fail = true;
    await metrics.refreshFleet();
    assert.equal(activeIn(await metrics.text()), 7);
  });
});

describe('the SCM client certificates in /metrics', () => {
  it('say when each account that logs in with one must have it replaced', async () => {
    const identity = await (await LocalCa.create()).tlsIdentity('client', 'CN=api-eu');
    const notAfter = Date.parse(new X509Certificate(identity.certificate).validTo) / 1000;
    const metrics = new ConnectorMetrics();
    metrics.clientCertificates([
      { account: 'default', auth: { kind: 'password', login: 'api', password: 'p', customerUri: 'acme' } },
      { account: 'eu', auth: { kind: 'certificate', login: 'api-eu', customerUri: 'acme-eu', ...identity } },
    ]);
    const series = (await metrics.text())
      .split('\n')
      .filter((line) => line.startsWith('connector_scm_client_certificate_expiration_timestamp_seconds'));
    assert.deepEqual(series, [
      `connector_scm_client_certificate_expiration_timestamp_seconds{account="eu"} ${notAfter}`,
    ]);
  });
});
