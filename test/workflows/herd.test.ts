/**
 * A renewal herd: 200 certificates with the same validity renew spread by their jitter, and SCM never
 * sees more requests in a second than the configured limit. Prints the measured spread and peak.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateCsr } from '../../src/sandbox/requester.ts';
import { DEFAULT_CERT_TYPES, type ScmCertType } from '../../src/sandbox/scm-emulator.ts';
import { certificateWorkflowId, statusQuery, type CertificateStatus } from '../../src/contract.ts';
import { eventually, startWorld, type World } from '../helpers/environment.ts';

const HERD = 200;
const LIMIT = 20; // SCM requests per second, for the connector as a whole
const LIFETIME_MS = 120_000;

describe('renewal herd', () => {
  let world: World;
  const shortLived = { ...(DEFAULT_CERT_TYPES.find((t) => t.id === 1002) as ScmCertType), termUnitMs: 3_600_000 };
  before(async () => {
    const start = Math.ceil(Date.now() / 1000) * 1000;
    shortLived.fixedValidity = { notBefore: start, notAfter: start + LIFETIME_MS };
    world = await startWorld({
      scm: { issuanceDelayMs: 0, certTypes: [DEFAULT_CERT_TYPES[0] as ScmCertType, shortLived] },
      scmRequestsPerSecond: LIMIT,
      sectigoActivitiesPerSecond: LIMIT,
    });
  });
  after(async () => {
    await world?.teardown();
  });

  it(`spreads ${HERD} certificates expiring together and keeps SCM under ${LIMIT} requests a second`, async () => {
    const keys: string[] = [];
    for (let i = 0; i < HERD; i++) {
      const { csr } = await generateCsr(`herd-${i}.example.com`, 'ec');
      const key = await world.alice.createCertificateIssue({ profile: 'Short-lived Server Certificate', csr });
      await world.alice.transition(key, 'Enroll Certificate');
      keys.push(key);
    }
    const query = (key: string) => world.env.client.workflow.getHandle(certificateWorkflowId(key)).query(statusQuery);
    const all = async (check: (s: CertificateStatus) => boolean) => {
      const statuses = await Promise.all(keys.map((k) => query(k).catch(() => undefined)));
      return statuses.every((s) => s !== undefined && check(s)) ? (statuses as CertificateStatus[]) : undefined;
    };

    const enrolled = await eventually(
      () => all((s) => s.generation === 0 && s.renewAt !== undefined),
      'the herd enrolled',
      90_000,
    );
    // Renewed certificates get an ordinary lifetime, so that the herd renews once.
    delete shortLived.fixedValidity;
    const renewAts = enrolled.map((s) => s.renewAt ?? 0);
    const windowOpens = enrolled[0]?.windowOpensAt ?? 0;
    assert.ok(
      enrolled.every((s) => s.notAfter === enrolled[0]?.notAfter),
      'one expiry moment',
    );
    assert.ok(Math.min(...renewAts) > Date.now(), 'enrolled before the first renewal is due');

    const renewed = await eventually(
      () => all((s) => s.generation === 1 && s.phase === 'Active'),
      'the herd renewed',
      180_000,
    );
    const orders = world.sandbox.scmEmulator.orders().filter((o) => String(o.commonName).startsWith('herd-'));
    assert.equal(orders.length, 2 * HERD, 'one order per enrollment and one per renewal');
    assert.ok(renewed.every((s) => s.history.at(-1)?.reason === 'automatic'));

    const spreadMs = Math.max(...renewAts) - Math.min(...renewAts);
    const distinctSeconds = new Set(renewAts).size;
    const renewalRequests = orders
      .filter((o) => o.renewed === false && Number(o.id) > Math.max(...enrolled.map((s) => s.certificateId ?? 0)))
      .map((o) => Date.parse(String(o.requested)));
    const renewalSpan = Math.max(...renewalRequests) - Math.min(...renewalRequests);
    const { peakRequestsPerSecond, requests } = world.sandbox.scmEmulator.stats;
    console.log(
      `herd: ${HERD} certificates, window opens ${new Date(windowOpens).toISOString()}; planned renewals spread over ` +
        `${(spreadMs / 1000).toFixed(1)} s in ${distinctSeconds} distinct seconds; renewal orders placed over ` +
        `${(renewalSpan / 1000).toFixed(1)} s; SCM saw ${requests} requests, peak ${peakRequestsPerSecond}/s (limit ${LIMIT}/s)`,
    );
    assert.ok(spreadMs >= 0.1 * 0.2 * (LIFETIME_MS / 2), `jitter spreads the herd (${spreadMs} ms)`);
    assert.ok(distinctSeconds >= 8, `renewals planned in ${distinctSeconds} distinct seconds`);
    assert.ok(peakRequestsPerSecond <= LIMIT, `peak ${peakRequestsPerSecond}/s exceeds ${LIMIT}/s`);
  });
});
