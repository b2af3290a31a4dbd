/**
 * The polling trigger, for Jira sites that cannot reach the receiver: the sandbox runs no receiver and
 * registers no webhook; the jiraPolling workflow reads the project's changes through /search/jql and the
 * changelog API, and each request is handled once, across a restart of the worker that runs it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { certificateWorkflowId } from '../../src/contract/certificate.ts';
import { JIRA_POLLING_WORKFLOW_ID, jiraPollingStatusQuery } from '../../src/contract/polling.ts';
import { ensureJiraPolling } from '../../src/schedule.ts';
import { eventually, opensslCsr, startWorld, untilPhase, type World } from '../helpers/environment.ts';

interface IssueView {
  fields: {
    status: { name: string };
    updated: string;
    attachment: unknown[];
    comment: { comments: Array<{ body: unknown }> };
  };
}

describe('the polling trigger', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ trigger: 'polling', scm: { issuanceDelayMs: 100 } });
    await ensureJiraPolling(world.env.client, 200);
  });
  after(async () => {
    await world?.teardown();
  });

  const poller = () => world.env.client.workflow.getHandle(JIRA_POLLING_WORKFLOW_ID);
  const issue = (key: string) => world.sandbox.jiraEmulator.issue(key) as unknown as IssueView;
  const comments = (key: string) => world.sandbox.jiraEmulator.commentTexts(key);
  const ordersFor = (domain: string) => world.sandbox.scmEmulator.orders().filter((o) => o.commonName === domain);
  const active = (key: string) => untilPhase(world.env.client, key, 'Active');
  async function request(domain: string): Promise<string> {
    const key = await world.alice.createCertificateIssue({
      summary: `TLS for ${domain}`,
      profile: 'OV Server Certificate',
      csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
    });
    await world.alice.transition(key, 'Enroll Certificate');
    return key;
  }

  it('enrolls a certificate with no receiver and no webhook', async () => {
    assert.equal(world.sandbox.receiverUrl, undefined);
    const key = await request('polled.example.com');
    await active(key);
    assert.equal(world.sandbox.jiraEmulator.deliveries.length, 0, 'Jira delivered no webhook');
    assert.equal(ordersFor('polled.example.com').length, 1);
    assert.equal(issue(key).fields.status.name, 'Certificate Enrolled');
    assert.equal(issue(key).fields.attachment.length, 1);
  });

  it('resumes where it stopped after its worker restarts, and handles no change twice', async () => {
    await world.stopWorker();
    // Made while nothing polls: found by the first poll after the restart.
    const key = await request('while-down.example.com');
    await world.startWorker();
    await active(key);
    assert.equal(ordersFor('while-down.example.com').length, 1);

    // A few more polls go over the same changes (the overlap finds the issues again) without handling them
    // again, and without reading the changelog of an issue that has not changed since the last read.
    const changelogReads = () => world.sandbox.jiraEmulator.changelogReads;
    const { polls } = await eventually(async () => {
      // Once the enrollment's last write has been polled: the issue then stays as it is.
      const now = await poller().query(jiraPollingStatusQuery);
      return now.cursor.read?.[key] === String(issue(key).fields.updated) ? now : undefined;
    }, 'a poll that saw the issue as it is now');
    const readsBefore = changelogReads();
    const status = await eventually(async () => {
      const now = await poller().query(jiraPollingStatusQuery);
      return now.polls >= polls + 3 ? now : undefined;
    }, 'three more polls');
    assert.equal(changelogReads(), readsBefore, 'no changelog read again for unchanged issues');
    const ids = status.recent.map((event) => event.id);
    assert.equal(new Set(ids).size, ids.length, `an event handled twice: ${ids.join(', ')}`);
    assert.equal(status.handledTotal, ids.length);
    const enrollments = status.recent.filter((event) => event.result === 'started').map((event) => event.issueKey);
    assert.deepEqual(enrollments, ['CERT-1', key]);
    for (const k of ['CERT-1', key]) {
      assert.equal(comments(k).filter((c) => c.startsWith('Certificate enrolled')).length, 1, `${k}: one comment`);
    }
  });

  it('takes a revocation the same way, with the reason chosen and the comment typed in the dialog', async () => {
    await world.alice.revoke('CERT-1', 'Superseded', 'Moved to the new load balancer.');
    const final = (await world.env.client.workflow.getHandle(certificateWorkflowId('CERT-1')).result()) as {
      phase: string;
    };
    assert.equal(final.phase, 'Revoked');
    assert.equal(ordersFor('polled.example.com')[0]?.status, 'Revoked');
    await eventually(
      () => (issue('CERT-1').fields.status.name === 'Certificate Revoked' ? true : undefined),
      'CERT-1 in Certificate Revoked',
    );
    const said = comments('CERT-1').find((c) => c.startsWith('Certificate revoked')) ?? '';
    assert.match(said, /reason: Superseded/);
    assert.match(said, /Moved to the new load balancer\./, 'the dialog comment, found beside the changelog');
  });
});

describe('the polling trigger, with Jira’s clock behind Temporal’s', () => {
  let world: World;
  before(async () => {
    // Three minutes behind from the start: every timestamp Jira writes, and its JQL dates, follow its clock.
    world = await startWorld({
      trigger: 'polling',
      scm: { issuanceDelayMs: 100 },
      jira: { faults: { clockSkewMs: -180_000 } },
    });
  });
  after(async () => {
    await world?.teardown();
  });

  it('picks up a change made after polling started and before its first poll ran', async () => {
    // No worker: the poller is started, but its first task runs only once the change is made.
    await world.stopWorker();
    await ensureJiraPolling(world.env.client, 200);
    const key = await world.alice.createCertificateIssue({
      profile: 'OV Server Certificate',
      csr: opensslCsr('/CN=skewed.example.com', 'ec-p256'),
    });
    await world.alice.transition(key, 'Enroll Certificate');
    await world.startWorker();
    await untilPhase(world.env.client, key, 'Active');
    const orders = world.sandbox.scmEmulator.orders().filter((o) => o.commonName === 'skewed.example.com');
    assert.equal(orders.length, 1);
  });
});
