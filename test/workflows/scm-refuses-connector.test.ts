/**
 * SCM refusing the connector's own account (a rotated password, say) is the operator's to fix, never the
 * requester's: on Temporal's time-skipping test server, an enrollment waits for the fix instead of
 * failing, its requester is told once that the connector is unavailable, and it completes once SCM takes
 * the connector's credentials again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import type { Sandbox } from '../../src/sandbox/sandbox.ts';
import { comments, render, said } from '../../src/messages.ts';
import {
  eventually,
  needsTestServer,
  startSkippingWorld,
  type SkippingWorld,
  opensslCsr,
  untilPhase,
} from '../helpers/environment.ts';

describe('SCM refusing the connector, with time skipping', needsTestServer, () => {
  let world: SkippingWorld | undefined;
  let env: SkippingWorld['env'];
  let sandbox: Sandbox;

  before(async () => {
    ({ env, sandbox } = world = await startSkippingWorld());
  });
  after(() => world?.teardown());

  it('tells the requester once that the connector is unavailable, and enrolls once SCM is fixed', async () => {
    const { credentials } = sandbox.scmEmulator;
    const password = credentials.password;
    credentials.password = 'rotated-in-scm';
    const alice = new Requester(sandbox.jiraEmulator.url, SANDBOX_USERS.alice);
    const key = await alice.createCertificateIssue({
      profile: 'OV Server Certificate',
      csr: opensslCsr('/CN=refused.example.com', 'ec-p256'),
    });
    await alice.transition(key, 'Enroll Certificate');
    const waiting = render(said(comments.orderWaiting));
    const texts = () => sandbox.jiraEmulator.commentTexts(key);
    await untilPhase(env.client, key, 'Enrolling');

    await env.sleep('10 minutes');
    await eventually(() => (texts().includes(waiting) ? true : undefined), 'the "connector unavailable" comment');
    assert.equal(sandbox.scmEmulator.orders().length, 0, 'SCM took no order from refused credentials');
    assert.equal((await untilPhase(env.client, key, 'Enrolling')).phase, 'Enrolling', 'still waiting, not rejected');
    assert.ok(!texts().some((t) => /Sectigo refused|run "Enroll Certificate" again/.test(t)), 'nothing blames them');

    credentials.password = password;
    await env.sleep('10 minutes');
    await untilPhase(env.client, key, 'Active');
    await env.sleep('1 hour');
    const final = texts();
    assert.equal(final.filter((t) => t === waiting).length, 1, 'told once');
    assert.equal(final.filter((t) => t.startsWith('Certificate enrolled')).length, 1);
    assert.equal(sandbox.scmEmulator.orders().length, 1, 'one order');
  });
});
