/**
 * A year in seconds: on Temporal's time-skipping test server, a 397-day certificate with a 30-day window
 * renews at day 367 (less its jitter), not a day earlier. The SCM emulator's clock follows the server's,
 * so certificates are issued in workflow time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Profiles } from '../../src/profiles.ts';
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { SANDBOX_PROFILES_FILE, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { DEFAULT_CERT_TYPES } from '../../src/sandbox/scm-emulator.ts';
import { certificateWorkflowId, statusQuery, type CertificateStatus } from '../../src/contract/certificate.ts';
import { DAY, MAX_JITTER } from '../../src/workflows/policy/renewal.ts';
import {
  eventually,
  opensslCsr,
  needsTestServer,
  startSkippingWorld,
  type SkippingWorld,
} from '../helpers/environment.ts';

describe('renewal a year ahead, with time skipping', needsTestServer, () => {
  let world: SkippingWorld | undefined;
  let env: SkippingWorld['env'];
  let sandbox: Sandbox;

  before(async () => {
    const base = Profiles.load(SANDBOX_PROFILES_FILE);
    ({ env, sandbox } = world = await startSkippingWorld({
      scm: { certTypes: DEFAULT_CERT_TYPES.map((t) => (t.id === 1001 ? { ...t, terms: [397] } : t)) },
      prepare: (sandbox) =>
        sandbox.profiles.replace(
          new Profiles(
            base.all.map((p) => (p.id === 'ov-server' ? { ...p, term: 397, expiryWindow: { days: 30 } } : p)),
          ),
        ),
    }));
  });
  after(() => world?.teardown());

  it('renews a 397-day certificate at day 367, less its jitter', async () => {
    const alice = new Requester(sandbox.jiraEmulator.url, SANDBOX_USERS.alice);
    const key = await alice.createCertificateIssue({
      profile: 'OV Server Certificate',
      csr: opensslCsr('/CN=yearly.example.com', 'ec-p256'),
    });
    await alice.transition(key, 'Enroll Certificate');
    const handle = env.client.workflow.getHandle(certificateWorkflowId(key));
    const status = () => handle.query(statusQuery);
    const issued = await eventually(async () => {
      const s = await status().catch(() => undefined);
      return s?.phase === 'Active' && s.renewAt !== undefined ? s : undefined;
    }, 'enrolled');
    const notBefore = issued.notBefore ?? 0;
    assert.equal((issued.notAfter ?? 0) - notBefore, 397 * DAY);
    assert.equal(issued.windowOpensAt, notBefore + 367 * DAY);
    const renewAt = issued.renewAt ?? 0;
    assert.ok(renewAt <= notBefore + 367 * DAY && renewAt >= notBefore + 367 * DAY - MAX_JITTER);

    const started = Date.now();
    await env.sleep('366 days');
    assert.equal((await status()).generation, 0, 'not renewed at day 366');
    await env.sleep('2 days');
    const renewed: CertificateStatus = await eventually(async () => {
      const s = await status().catch(() => undefined);
      return s && s.generation === 1 && s.phase === 'Active' ? s : undefined;
    }, 'the renewal');
    const renewedAt = (await handle.describe()).startTime.getTime(); // the new run begins when the old one renewed
    assert.ok(renewedAt >= renewAt && renewedAt < renewAt + DAY, `renewed ${(renewedAt - notBefore) / DAY} days in`);
    assert.equal(renewed.history.at(-1)?.reason, 'automatic');
    assert.ok((renewed.notBefore ?? 0) >= renewAt, 'the new certificate is issued in workflow time');
    assert.ok(Date.now() - started < 60_000, 'a year in under a minute');
  });
});
