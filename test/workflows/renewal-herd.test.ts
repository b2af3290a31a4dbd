/**
 * A renewal herd under time skipping: certificates issued together renew once each, at instants spread by
 * their jitter, and SCM never sees more requests in a second than the limit. The figures of a herd in real
 * time are `npm run bench:herd`'s; here only the properties, independent of the machine's speed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { certificateWorkflowId, statusQuery, type CertificateStatus } from '../../src/contract/certificate.ts';
import { generateCsr } from '../../src/sandbox/requester.ts';
import type { Sandbox } from '../../src/sandbox/sandbox.ts';
import { MAX_JITTER } from '../../src/workflows/policy/renewal.ts';
import { eventually, needsTestServer, startSkippingWorld, type SkippingWorld } from '../helpers/environment.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';

const HERD = 20;
const LIMIT = 10; // SCM requests per second, for the connector as a whole

describe('renewal herd, with time skipping', needsTestServer, () => {
  let world: SkippingWorld | undefined;
  let env: SkippingWorld['env'];
  let sandbox: Sandbox;
  before(async () => {
    ({ env, sandbox } = world = await startSkippingWorld({ scmRequestsPerSecond: LIMIT, activitiesPerSecond: LIMIT }));
  });
  after(() => world?.teardown());

  it(`renews ${HERD} certificates issued together once each, spread, within ${LIMIT} SCM requests a second`, async () => {
    const alice = new Requester(sandbox.jiraEmulator.url, SANDBOX_USERS.alice);
    const keys: string[] = [];
    for (let i = 0; i < HERD; i++) {
      const { csr } = await generateCsr(`herd-${i}.example.com`, 'ec');
      const key = await alice.createCertificateIssue({ profile: 'OV Server Certificate', csr });
      await alice.transition(key, 'Enroll Certificate');
      keys.push(key);
    }
    const all = async (check: (s: CertificateStatus) => boolean) => {
      const statuses = await Promise.all(
        keys.map((k) =>
          env.client.workflow
            .getHandle(certificateWorkflowId(k))
            .query(statusQuery)
            .catch(() => undefined),
        ),
      );
      return statuses.every((s) => s !== undefined && check(s)) ? (statuses as CertificateStatus[]) : undefined;
    };
    const enrolled = await eventually(
      () => all((s) => s.phase === 'Active' && s.renewAt !== undefined),
      'enrolled',
      120_000,
    );
    const renewAts = enrolled.map((s) => s.renewAt ?? 0);
    assert.ok(new Set(renewAts).size >= HERD - 2, `${new Set(renewAts).size} distinct renewal instants`);
    const windows = enrolled.map((s) => s.windowOpensAt ?? 0);
    assert.ok(
      enrolled.every(
        (s, i) => (s.renewAt ?? 0) <= (windows[i] ?? 0) && (windows[i] ?? 0) - (s.renewAt ?? 0) <= MAX_JITTER,
      ),
    );

    await env.sleep('340 days'); // past every window
    const renewed = await eventually(() => all((s) => s.generation === 1 && s.phase === 'Active'), 'renewed', 180_000);
    assert.ok(renewed.every((s) => s.history.at(-1)?.reason === 'automatic'));
    // The renewal happened at each certificate's own moment, in workflow time.
    const renewedAt = renewed.map((s) => s.history.at(-1)?.obtainedAt ?? 0);
    assert.ok(
      renewedAt.every((at, i) => at >= (renewAts[i] ?? 0)),
      'none renewed before its moment',
    );
    assert.ok(new Set(renewedAt).size >= HERD - 2, 'renewed at distinct instants');
    const orders = sandbox.scmEmulator.orders().filter((o) => String(o.commonName).startsWith('herd-'));
    assert.equal(orders.length, 2 * HERD, 'one order per enrollment and one per renewal');
    // What the connector controls: what it sends. (SCM's count by arrival adds the network's jitter;
    // `npm run bench:herd` reports that figure.)
    const { peakPerSecond } = sandbox.scm.sent;
    assert.ok(peakPerSecond <= LIMIT, `sent at most ${peakPerSecond}/s, limit ${LIMIT}/s`);
  });
});
