/**
 * Every external effect once, whatever happens: forged and duplicate webhooks, double clicks, a worker
 * killed mid-enrollment, and SCM committing an order but losing the response.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { WEBHOOK_PATH } from '../../src/client/webhook.ts';
import { noticeWorkflowId } from '../../src/contract/notice.ts';
import { RENEWAL_OUTSIDE_WINDOW } from '../../src/messages.ts';
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import type { certificateLifecycle } from '../../src/workflows/certificate/workflow.ts';
import { certificateWorkflowId, statusQuery } from '../../src/contract/certificate.ts';
import { eventually, opensslCsr, spawnWorker, startWorld, type World } from '../helpers/environment.ts';
import { needsPromtool, promtool } from '../helpers/promtool.ts';

interface IssueView {
  fields: { status: { name: string }; attachment: Array<{ filename: string }>; comment: { total: number } };
}

let world: World;
before(async () => {
  world = await startWorld({ scm: { issuanceDelayMs: 200 } });
});
after(async () => {
  await world?.teardown();
});

const issue = (key: string) => world.sandbox.jiraEmulator.issue(key) as unknown as IssueView;
const ordersFor = (domain: string) => world.sandbox.scmEmulator.orders().filter((o) => o.commonName === domain);
const sign = (body: string, secret = world.sandbox.webhookSecret) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const post = (body: string, headers: Record<string, string>) =>
  fetch(`${world.sandbox.receiverUrl}${WEBHOOK_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
const exists = async (workflowId: string) => {
  try {
    await world.env.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
};
const enrolled = (key: string) =>
  eventually(
    () => (issue(key).fields.attachment.length > 0 && issue(key).fields.comment.total >= 3 ? true : undefined),
    `${key} enrolled`,
    60_000,
  );

const transitionEvent = (key: string, changelogId: string) =>
  JSON.stringify({
    timestamp: Date.now(),
    webhookEvent: 'jira:issue_updated',
    issue_event_type_name: 'issue_generic',
    user: world.sandbox.jiraEmulator.userJson(SANDBOX_USERS.alice),
    issue: { key, fields: { issuetype: { name: 'Certificate' }, status: { name: 'Certificate Enrolled' } } },
    changelog: { id: changelogId, items: [{ field: 'status', toString: 'Certificate Enrolled' }] },
  });

/** A "Renew Certificate" run by alice, as Jira delivers it. */
const renewEvent = (key: string, changelogId: string) =>
  JSON.stringify({
    timestamp: Date.now(),
    webhookEvent: 'jira:issue_updated',
    user: world.sandbox.jiraEmulator.userJson(SANDBOX_USERS.alice),
    issue: { key, fields: { issuetype: { name: 'Certificate' }, status: { name: 'Certificate Renewed' } } },
    changelog: {
      id: changelogId,
      items: [{ field: 'status', fromString: 'Certificate Enrolled', toString: 'Certificate Renewed' }],
    },
  });

/** Waits for the notice the receiver started to have said its piece on the issue. */
const noticeSaid = (eventId: string) => world.env.client.workflow.getHandle(noticeWorkflowId(eventId)).result();

describe('deliveries the receiver refuses', () => {
  it('refuses forged, unsigned and altered webhooks with 401 and starts nothing', async () => {
    const body = transitionEvent('CERT-9001', '777');
    const forged = await post(body, { 'x-hub-signature': sign(body, 'not-the-secret') });
    const unsigned = await post(body, {});
    const altered = await post(body.replace('CERT-9001', 'CERT-9002'), { 'x-hub-signature': sign(body) });
    assert.deepEqual([forged.status, unsigned.status, altered.status], [401, 401, 401]);
    assert.equal(await exists(certificateWorkflowId('CERT-9001')), false);
    assert.equal(await exists(certificateWorkflowId('CERT-9002')), false);

    // The same check lets a correctly signed event through (here one that asks for nothing).
    const harmless = JSON.stringify({ webhookEvent: 'jira:issue_created', issue: { key: 'CERT-9003' } });
    const accepted = await post(harmless, { 'x-hub-signature': sign(harmless) });
    assert.equal(accepted.status, 202);
    assert.deepEqual(await accepted.json(), { result: 'ignored', reason: 'event jira:issue_created' });
  });

  it('refuses an oversized body with 413', async () => {
    const body = JSON.stringify({ webhookEvent: 'jira:issue_updated', padding: 'x'.repeat(2 * 1024 * 1024) });
    const res = await post(body, { 'x-hub-signature': sign(body) });
    assert.equal(res.status, 413);
  });

  it('answers 400 to signed events of the wrong shape, so that Jira does not deliver them forever', async () => {
    for (const body of [
      'null',
      '[]',
      JSON.stringify({ webhookEvent: 'jira:issue_updated', changelog: { items: 'x' } }),
    ]) {
      const res = await post(body, { 'x-hub-signature': sign(body) });
      assert.equal(res.status, 400, body);
    }
    const traversal = transitionEvent('CERT-1/../../myself', '4242');
    const res = await post(traversal, { 'x-hub-signature': sign(traversal) });
    assert.deepEqual(await res.json(), { result: 'ignored', reason: 'not a Jira issue key' });
  });

  it(
    'counts every delivery on the receiver’s /metrics by its outcome, by Prometheus’s conventions',
    needsPromtool,
    async () => {
      const scrape = async () => (await fetch(`${world.sandbox.receiverUrl}/metrics`)).text();
      const count = (text: string, outcome: string) =>
        Number(new RegExp(`^webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      const outcomes = ['bad_signature', 'malformed', 'too_large', 'ignored'];
      const before = await scrape();
      const event = transitionEvent('CERT-9101', '9101');
      await post(event, { 'x-hub-signature': sign(event, 'not-the-secret') });
      await post('[]', { 'x-hub-signature': sign('[]') });
      const oversized = JSON.stringify({ webhookEvent: 'jira:issue_updated', padding: 'x'.repeat(2 * 1024 * 1024) });
      await post(oversized, { 'x-hub-signature': sign(oversized) });
      const harmless = JSON.stringify({ webhookEvent: 'jira:issue_created', issue: { key: 'CERT-9102' } });
      await post(harmless, { 'x-hub-signature': sign(harmless) });
      const text = await scrape();
      assert.deepEqual(
        outcomes.map((outcome) => count(text, outcome) - count(before, outcome)),
        [1, 1, 1, 1],
      );
      const check = spawnSync(promtool ?? 'promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(`${check.stdout}${check.stderr}`, '');
    },
  );
});

describe('duplicate and late deliveries', () => {
  it('turns a delivery repeated three times into one workflow, one order, one attachment', async () => {
    world.sandbox.jiraEmulator.faults.deliveryCopies = 3;
    try {
      const domain = 'triplicate.example.com';
      const key = await world.alice.createCertificateIssue({
        profile: 'OV Server Certificate',
        csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
      });
      await world.alice.transition(key, 'Enroll Certificate');
      await enrolled(key);
      await world.sandbox.jiraEmulator.settled();
      const delivery = world.sandbox.jiraEmulator.deliveries.findLast(
        (d) => d.issueKey === key && d.body.includes('"changelog"'),
      );
      assert.equal(delivery?.attempts, 3, 'the receiver got the delivery three times');
      assert.equal(ordersFor(domain).length, 1);
      assert.equal(issue(key).fields.attachment.length, 1);
      assert.equal(issue(key).fields.comment.total, 3);
      const runs = await world.env.client.workflow.count(`WorkflowId = '${certificateWorkflowId(key)}'`);
      assert.equal(runs.count, 1);
    } finally {
      world.sandbox.jiraEmulator.faults.deliveryCopies = 1;
    }
  });

  it('ignores a double Enroll click and a second event for a running request', async () => {
    world.sandbox.scmEmulator.issuanceDelayMs = 1500;
    try {
      const domain = 'double-click.example.com';
      const key = await world.alice.createCertificateIssue({
        profile: 'OV Server Certificate',
        csr: opensslCsr(`/CN=${domain}`, 'rsa:2048'),
      });
      const clicks = await Promise.allSettled([
        world.alice.transition(key, 'Enroll Certificate'),
        world.alice.transition(key, 'Enroll Certificate'),
      ]);
      assert.equal(clicks.filter((c) => c.status === 'fulfilled').length, 1, 'Jira runs the transition once');
      await eventually(
        () => exists(certificateWorkflowId(key)).then((yes) => (yes ? true : undefined)),
        'the workflow',
      );
      const again = transitionEvent(key, 'another-event');
      const res = await post(again, { 'x-hub-signature': sign(again) });
      assert.deepEqual(await res.json(), { result: 'already-running', workflowId: certificateWorkflowId(key) });
      await enrolled(key);
      assert.equal(ordersFor(domain).length, 1);
      assert.equal(issue(key).fields.attachment.length, 1);
    } finally {
      world.sandbox.scmEmulator.issuanceDelayMs = 200;
    }
  });

  it('ignores a late duplicate of the delivery that started a finished run', async () => {
    const key = await world.alice.createCertificateIssue({ profile: 'OV Server Certificate', csr: 'not a csr' });
    await world.alice.transition(key, 'Enroll Certificate');
    const handle = world.env.client.workflow.getHandle<typeof certificateLifecycle>(certificateWorkflowId(key));
    await eventually(() => exists(handle.workflowId).then((yes) => (yes ? true : undefined)), 'the workflow');
    assert.equal((await handle.result()).phase, 'Rejected');
    const commentsBefore = issue(key).fields.comment.total;
    await world.sandbox.jiraEmulator.settled();
    const delivery = world.sandbox.jiraEmulator.deliveries.find(
      (d) => d.issueKey === key && d.body.includes('"toString":"Certificate Enrolled"'),
    );
    assert.ok(delivery);
    // Cloud identifies each delivery, and the receiver knows this one; Data Center sends no identifier, and
    // the finished run's trigger says it is the same request.
    const cloud = world.sandbox.jiraEmulator.dialect === 'cloud';
    const res = await post(delivery.body, {
      'x-hub-signature': sign(delivery.body),
      ...(cloud ? { 'x-atlassian-webhook-identifier': delivery.id } : {}),
    });
    assert.deepEqual(
      await res.json(),
      cloud ? { result: 'duplicate-delivery' } : { result: 'duplicate', workflowId: handle.workflowId },
    );
    const runs = await world.env.client.workflow.count(`WorkflowId = '${handle.workflowId}'`);
    assert.equal(runs.count, 1);
    assert.equal(issue(key).fields.comment.total, commentsBefore);
  });

  it('enrolls once for Enroll, Return to Request, Enroll again in quick succession', async () => {
    const domain = 'quick-again.example.com';
    const key = await world.alice.createCertificateIssue({
      profile: 'OV Server Certificate',
      csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
    });
    await world.alice.transition(key, 'Enroll Certificate');
    await world.alice.transition(key, 'Return to Request');
    await world.alice.transition(key, 'Enroll Certificate');
    await world.sandbox.jiraEmulator.settled();
    const attached = await eventually(
      () => (issue(key).fields.attachment.length > 0 ? issue(key).fields.attachment : undefined),
      'the PEM attached',
    );
    assert.equal(attached.length, 1);
    assert.equal(ordersFor(domain).length, 1, 'one order, for the latest Enroll');
    assert.equal(issue(key).fields.status.name, 'Certificate Enrolled');
  });

  it('orders nothing for an old delivery replayed later, on an issue nobody moved', async () => {
    const domain = 'replayed.example.com';
    const key = await world.alice.createCertificateIssue({ profile: 'OV Server Certificate', csr: 'not a csr' });
    const handle = world.env.client.workflow.getHandle<typeof certificateLifecycle>(certificateWorkflowId(key));
    // Two rejected requests (A, then B), then a good CSR pasted without running "Enroll Certificate".
    for (let attempt = 0; attempt < 2; attempt++) {
      await world.alice.transition(key, 'Enroll Certificate');
      await eventually(
        async () => ((await handle.describe().catch(() => undefined))?.status.name === 'COMPLETED' ? true : undefined),
        'the rejected run',
      );
      await eventually(() => (issue(key).fields.status.name === 'Certificate Request' ? true : undefined), 'back');
    }
    await world.alice.setCsr(key, opensslCsr(`/CN=${domain}`, 'ec-p256'));
    await world.sandbox.jiraEmulator.settled();
    const first = world.sandbox.jiraEmulator.deliveries.find(
      (d) => d.issueKey === key && d.body.includes('"toString":"Certificate Enrolled"'),
    );
    assert.ok(first);
    const commentsBefore = issue(key).fields.comment.total;
    // Delivery A again, under a new identifier: as if the receiver had restarted and remembered nothing.
    const res = await post(first.body, {
      'x-hub-signature': sign(first.body),
      'x-atlassian-webhook-identifier': 'replay-1',
    });
    assert.equal(((await res.json()) as { result: string }).result, 'started');
    const end = await handle.result();
    assert.equal(end.phase, 'Rejected', 'the new run found its trigger stale');
    assert.match(end.lastError ?? '', /no longer the issue’s latest status change/);
    assert.equal(ordersFor(domain).length, 0, 'nothing ordered');
    assert.equal(issue(key).fields.comment.total, commentsBefore, 'nothing said on the issue');
  });

  it('leaves a revoked issue where it is when a Renew event arrives late', async () => {
    const key = await world.alice.createCertificateIssue({
      profile: 'Manual Server Certificate',
      csr: opensslCsr('/CN=late-renew.example.com', 'ec-p256'),
    });
    await world.alice.transition(key, 'Enroll Certificate');
    await enrolled(key);
    await world.alice.revoke(key, 'Superseded');
    await world.env.client.workflow.getHandle(certificateWorkflowId(key)).result();
    assert.equal(issue(key).fields.status.name, 'Certificate Revoked');
    // A Renew made before the revocation, delivered after it (Jira retries, reorders, redelivers).
    const body = renewEvent(key, '880001');
    const res = await post(body, { 'x-hub-signature': sign(body), 'x-atlassian-webhook-identifier': 'late-renew' });
    assert.equal(((await res.json()) as { result: string }).result, 'renewal-refused');
    await noticeSaid(`receiver/${key}/changelog:880001/refused`);
    assert.equal(issue(key).fields.status.name, 'Certificate Revoked', 'not moved back');
    const said = world.sandbox.jiraEmulator.commentTexts(key).at(-1) ?? '';
    assert.match(said, /was revoked, so it cannot be renewed/);
  });

  it('answers two copies of one Renew delivered at once with one refusal', async () => {
    const key = await world.alice.createCertificateIssue({
      profile: 'OV Server Certificate',
      csr: opensslCsr('/CN=twice-at-once.example.com', 'ec-p256'),
    });
    await world.alice.transition(key, 'Enroll Certificate');
    await enrolled(key);
    const body = renewEvent(key, '880002');
    const headers = { 'x-hub-signature': sign(body), 'x-atlassian-webhook-identifier': 'renew-twice-at-once' };
    const answers = await Promise.all([post(body, headers), post(body, headers)]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [202, 202],
    );
    const results = await Promise.all(answers.map(async (a) => ((await a.json()) as { result: string }).result));
    assert.deepEqual(results.sort(), ['duplicate-delivery', 'renewal-refused']);
    await noticeSaid(`receiver/${key}/changelog:880002/refused`);
    const refusals = world.sandbox.jiraEmulator.commentTexts(key).filter((text) => text === RENEWAL_OUTSIDE_WINDOW);
    assert.equal(refusals.length, 1, 'one refusal comment');
  });
});

describe('faults while ordering and publishing', () => {
  it('publishes each comment and the PEM once when Jira fails in the middle of publishing', async () => {
    const domain = 'half-published.example.com';
    const jira = world.sandbox.jiraEmulator;
    const connectorComments = (key: string) => jira.commentTexts(key, SANDBOX_USERS.connector);
    world.sandbox.scmEmulator.issuanceDelayMs = 1500;
    try {
      const key = await world.alice.createCertificateIssue({
        profile: 'OV Server Certificate',
        csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
      });
      await world.alice.transition(key, 'Enroll Certificate');
      await eventually(() => (connectorComments(key).length === 1 ? true : undefined), 'the "requested" comment');
      // Publishing posts "enrolled", attaches, edits, then meets the outage at "attached"; its retry goes on.
      jira.faults.commentOutageAfter = 1;
      await eventually(() => (jira.faults.commentOutage ? true : undefined), 'the outage', 30_000);
      // Jira comes back once a retry has met the outage too: the retry is what must repeat nothing.
      const publishing = world.env.client.workflow.getHandle(certificateWorkflowId(key));
      await eventually(
        async () =>
          ((await publishing.describe()).raw.pendingActivities ?? []).some((a) => (a.attempt ?? 0) >= 2)
            ? true
            : undefined,
        'a retry of publishing',
        30_000,
      );
      jira.faults.commentOutage = false;
      await eventually(() => (connectorComments(key).length >= 3 ? true : undefined), 'publishing done', 30_000);
      const said = connectorComments(key);
      assert.equal(said.filter((t) => t.startsWith('Certificate enrolled:')).length, 1, said.join('\n'));
      assert.equal(said.filter((t) => t.startsWith('Certificate attached:')).length, 1, said.join('\n'));
      assert.equal(issue(key).fields.attachment.length, 1);
    } finally {
      world.sandbox.scmEmulator.issuanceDelayMs = 200;
      Object.assign(jira.faults, { commentOutage: false, commentOutageAfter: null });
    }
  });

  it('completes with one order when SCM commits the order but the response is lost', async () => {
    world.sandbox.scmEmulator.faults.dropResponses = 1;
    const domain = 'lost-response.example.com';
    const key = await world.alice.createCertificateIssue({
      profile: 'OV Server Certificate',
      csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
    });
    await world.alice.transition(key, 'Enroll Certificate');
    await enrolled(key);
    assert.equal(world.sandbox.scmEmulator.faults.dropResponses, 0, 'the response was dropped');
    assert.equal(ordersFor(domain).length, 1);
    assert.equal(issue(key).fields.attachment.length, 1);
  });

  it('completes with one order after the worker process is killed while waiting for issuance', async () => {
    await world.stopWorker();
    world.sandbox.scmEmulator.issuanceDelayMs = 6000;
    let child = spawnWorker(world);
    try {
      const domain = 'killed-worker.example.com';
      const key = await world.alice.createCertificateIssue({
        profile: 'OV Server Certificate',
        csr: opensslCsr(`/CN=${domain}`, 'rsa:2048'),
      });
      await world.alice.transition(key, 'Enroll Certificate');
      const handle = world.env.client.workflow.getHandle(certificateWorkflowId(key));
      await eventually(
        async () =>
          (await exists(handle.workflowId)) && (await handle.query(statusQuery)).phase === 'AwaitingIssuance'
            ? true
            : undefined,
        'AwaitingIssuance',
        60_000,
      );
      child.kill('SIGKILL');
      await once(child, 'exit');
      assert.equal(issue(key).fields.attachment.length, 0, 'nothing published before the crash');

      child = spawnWorker(world);
      await eventually(
        () => (issue(key).fields.comment.total >= 3 ? true : undefined),
        `${key} enrolled after the restart`,
        90_000,
      );
      assert.equal(ordersFor(domain).length, 1);
      assert.equal(issue(key).fields.attachment.length, 1);
      assert.equal(issue(key).fields.comment.total, 3);
    } finally {
      child.kill('SIGKILL');
      world.sandbox.scmEmulator.issuanceDelayMs = 200;
      await world.startWorker();
    }
  });

  it('posts the "requested" comment once when the worker dies before Jira answers it', async () => {
    await world.stopWorker();
    const jira = world.sandbox.jiraEmulator;
    const said = (key: string) => jira.commentTexts(key, SANDBOX_USERS.connector);
    // Jira keeps the comment and answers a minute later: the workflow task that posted it is still open.
    jira.faults.commentAnswerDelayMs = 60_000;
    let child = spawnWorker(world);
    try {
      const domain = 'unanswered-comment.example.com';
      const key = await world.alice.createCertificateIssue({
        profile: 'OV Server Certificate',
        csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
      });
      await world.alice.transition(key, 'Enroll Certificate');
      await eventually(() => (said(key).length === 1 ? true : undefined), 'the "requested" comment', 60_000);
      child.kill('SIGKILL');
      await once(child, 'exit');
      assert.equal(ordersFor(domain).length, 0, 'nothing ordered before the comment was answered');

      // The task is tried again by the next worker, once its timeout has passed.
      jira.faults.commentAnswerDelayMs = 0;
      child = spawnWorker(world);
      await eventually(
        () => (issue(key).fields.attachment.length === 1 ? true : undefined),
        `${key} enrolled after the restart`,
        90_000,
      );
      const texts = said(key);
      assert.equal(texts.filter((t) => t.startsWith('Certificate requested for')).length, 1, texts.join('\n'));
      assert.equal(ordersFor(domain).length, 1);
    } finally {
      child.kill('SIGKILL');
      jira.faults.commentAnswerDelayMs = 0;
      await world.startWorker();
    }
  });
});
