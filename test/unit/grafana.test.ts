/** The Grafana dashboard (docs/grafana) queries only metrics the worker and the receiver export. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const dashboard = JSON.parse(
  readFileSync(new URL('../../docs/grafana/certificate-lifecycle.json', import.meta.url), 'utf8'),
) as { uid: string; panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
const metricsSource = readFileSync(new URL('../../src/metrics.ts', import.meta.url), 'utf8');
const exported = new Set([...metricsSource.matchAll(/name: '([a-z_]+)'/g)].map((m) => m[1]));
/** A histogram's series: its buckets, sum and count. */
const series = (name: string) => name.replace(/_(bucket|sum|count)$/, '');

describe('Grafana dashboard', () => {
  it('queries only metrics that are exported, in every panel', () => {
    assert.ok(dashboard.panels.length >= 6);
    for (const panel of dashboard.panels) {
      const used = panel.targets.flatMap((t) => [
        ...t.expr.matchAll(/\b((?:certificate|connector|webhook)_[a-z_]+)\b/g),
      ]);
      assert.ok(used.length > 0, `${panel.title} queries a metric of the connector`);
      for (const [name] of used) {
        assert.ok(exported.has(name) || exported.has(series(name)), `${panel.title}: ${name} is not exported`);
      }
    }
  });

  it('names no metric by the names before Prometheus conventions', () => {
    const text = JSON.stringify(dashboard);
    for (const old of ['certificate_count', 'certificate_expiry_seconds', 'certificate_renewal_seconds']) {
      assert.ok(!text.includes(old), old);
    }
  });
});
