/**
 * The example Prometheus alert rules (docs/prometheus/): every rule well formed and naming only metrics
 * the worker exports; and, with promtool (Debian's, which .ci/run installs), the rules checked and their
 * unit tests run — each alert firing on the series it is meant for, and not on the others.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { needsPromtool, promtool } from '../helpers/promtool.ts';

const rulesFile = fileURLToPath(new URL('../../docs/prometheus/certificate-alerts.yml', import.meta.url));
const testsFile = fileURLToPath(new URL('../../docs/prometheus/certificate-alerts.test.yml', import.meta.url));
const metricsSource = readFileSync(new URL('../../src/metrics.ts', import.meta.url), 'utf8');

interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (
  parse(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }
).groups.flatMap((g) => g.rules);

describe('alert rules', () => {
  it('has the alerts operators need, each with a severity and a summary', () => {
    const names = rules.map((r) => r.alert);
    for (const wanted of [
      'CertificateExpiringWithoutRenewal',
      'CertificateExpiringSoonWithoutRenewal',
      'CertificateRenewalsFailing',
      'ScmErrors',
      'ScmRefusesConnector',
    ]) {
      assert.ok(names.includes(wanted), wanted);
    }
    for (const rule of rules) {
      assert.match(rule.alert ?? '', /^[A-Z][A-Za-z]+$/);
      assert.ok(rule.expr && rule.expr.trim() !== '', `${rule.alert}: expr`);
      assert.ok(['warning', 'critical'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity`);
      assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
    }
  });

  it('names only metrics the worker exports', () => {
    const exported = new Set([...metricsSource.matchAll(/name: '([a-z_]+)'/g)].map((m) => m[1]));
    for (const rule of rules) {
      for (const [metric] of (rule.expr ?? '').matchAll(/\b(?:certificate|connector)_[a-z_]+\b/g)) {
        const base = metric.replace(/_(bucket|sum|count)$/, '');
        assert.ok(exported.has(base), `${rule.alert} uses ${metric}, which src/metrics.ts does not export`);
      }
    }
  });

  it('passes promtool check and its unit tests', needsPromtool, () => {
    assert.ok(promtool, 'promtool is needed in CI');
    assert.match(
      execFileSync(promtool, ['check', 'rules', rulesFile], { encoding: 'utf8' }),
      /SUCCESS: \d+ rules found/,
    );
    assert.match(execFileSync(promtool, ['test', 'rules', testsFile], { encoding: 'utf8' }), /SUCCESS/);
  });
});
