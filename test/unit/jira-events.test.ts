/** The receiver's policy, as a pure function: which Jira events start a certificate workflow. */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { DEFAULT_JIRA_NAMES } from '../../src/contract/shared.ts';
import { verifySignature } from '../../src/client/webhook.ts';
import { DeliveryLog } from '../../src/events/deliveries.ts';
import { interpretEvent } from '../../src/events/jira-event.ts';

const CONNECTOR = '557058:connector';
const transition = (
  overrides: {
    user?: string;
    type?: string;
    from?: string;
    to?: string;
    event?: string;
    field?: string;
    key?: string;
  } = {},
) => ({
  webhookEvent: overrides.event ?? 'jira:issue_updated',
  user: { accountId: overrides.user ?? '557058:alice' },
  issue: { key: overrides.key ?? 'CERT-45', fields: { issuetype: { name: overrides.type ?? 'Certificate' } } },
  changelog: {
    id: '30001',
    items: [
      {
        field: overrides.field ?? 'status',
        fromString: overrides.from ?? 'Certificate Request',
        toString: overrides.to ?? 'Certificate Enrolled',
      },
    ],
  },
});

describe('interpreting Jira events', () => {
  it('starts enrollment when a person moves a Certificate issue to Certificate Enrolled', () => {
    assert.deepEqual(interpretEvent(transition(), 'delivery-1', DEFAULT_JIRA_NAMES, CONNECTOR), {
      action: 'enroll',
      request: { issueKey: 'CERT-45', requestedBy: '557058:alice', triggerId: 'changelog:30001' },
    });
  });

  it('asks for a renewal when a person runs Renew Certificate, remembering where the issue came from', () => {
    assert.deepEqual(
      interpretEvent(
        transition({ from: 'Certificate Enrolled', to: 'Certificate Renewed' }),
        'd',
        DEFAULT_JIRA_NAMES,
        CONNECTOR,
      ),
      {
        action: 'renew',
        issueKey: 'CERT-45',
        request: { requestedBy: '557058:alice', requestId: 'changelog:30001', returnToStatus: 'Certificate Enrolled' },
      },
    );
  });

  it('re-plans when the CSR on the issue changes', () => {
    assert.deepEqual(
      interpretEvent(transition({ field: 'Certificate CSR text', to: 'x' }), 'd', DEFAULT_JIRA_NAMES, CONNECTOR),
      {
        action: 'reevaluate',
        issueKey: 'CERT-45',
      },
    );
  });

  const ignored: Array<{ name: string; event: Parameters<typeof transition>[0]; reason: RegExp }> = [
    { name: "the connector's own transition", event: { user: CONNECTOR }, reason: /connector's own/ },
    { name: 'another issue type', event: { type: 'Task' }, reason: /issue type Task/ },
    {
      name: 'an edit of a Revoke Certificate issue that changes nothing it reads',
      event: { type: 'Revoke Certificate', field: 'summary' },
      reason: /no change/,
    },
    {
      name: 'a move to another status',
      event: { to: 'Certificate Request' },
      reason: /no change the connector acts on/,
    },
    { name: "another project's issue", event: { key: 'OTHER-7' }, reason: /another project's issue OTHER-7/ },
    { name: 'issue creation', event: { event: 'jira:issue_created' }, reason: /event jira:issue_created/ },
  ];
  for (const { name, event, reason } of ignored) {
    it(`ignores ${name}`, () => {
      const decision = interpretEvent(transition(event), 'd', DEFAULT_JIRA_NAMES, CONNECTOR);
      assert.equal(decision.action, 'ignore');
      assert.match(decision.action === 'ignore' ? decision.reason : '', reason);
    });
  }

  it("revokes when a person moves a Certificate issue to Certificate Revoked, with the dialog's reason", () => {
    const event = {
      ...transition({ from: 'Certificate Enrolled', to: 'Certificate Revoked' }),
      user: { accountId: '557058:alice', displayName: 'Alice Requester' },
      issue: {
        key: 'CERT-45',
        fields: { issuetype: { name: 'Certificate' }, customfield_10055: { value: 'Key compromise' } },
      },
      comment: {
        body: {
          type: 'doc',
          version: 1,
          content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Lost laptop.' }] }],
        },
      },
    };
    assert.deepEqual(interpretEvent(event, 'd', DEFAULT_JIRA_NAMES, CONNECTOR, 'customfield_10055'), {
      action: 'revoke',
      issueKey: 'CERT-45',
      reasonName: 'Key compromise',
      comment: 'Lost laptop.',
      requestedBy: '557058:alice',
      requestedByName: 'Alice Requester',
      requestId: 'changelog:30001',
      returnToStatus: 'Certificate Enrolled',
    });
  });

  it('starts an external revocation for a created Revoke Certificate issue, and nudges it on edits', () => {
    const created = interpretEvent(
      transition({ type: 'Revoke Certificate', event: 'jira:issue_created' }),
      'd',
      DEFAULT_JIRA_NAMES,
      CONNECTOR,
    );
    assert.deepEqual(created, {
      action: 'revoke-external',
      issueKey: 'CERT-45',
      requestedBy: '557058:alice',
      requestedByName: undefined,
    });
    const edited = interpretEvent(
      transition({ type: 'Revoke Certificate', field: 'Certificate ID' }),
      'd',
      DEFAULT_JIRA_NAMES,
      CONNECTOR,
    );
    assert.deepEqual(edited, { action: 'revoke-external-changed', issueKey: 'CERT-45' });
  });

  it('uses configured names', () => {
    const names = {
      ...DEFAULT_JIRA_NAMES,
      certificateIssueType: 'TLS',
      statuses: { ...DEFAULT_JIRA_NAMES.statuses, enrolled: 'Issued' },
    };
    assert.equal(interpretEvent(transition({ type: 'TLS', to: 'Issued' }), 'd', names, CONNECTOR).action, 'enroll');
  });
});

describe('webhook signatures', () => {
  const body = Buffer.from('{"webhookEvent":"jira:issue_updated"}');
  const good = `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`;
  it('accepts the HMAC-SHA256 of the raw body', () => assert.equal(verifySignature(body, good, 's3cret'), true));
  it('refuses another secret', () => assert.equal(verifySignature(body, good, 'other'), false));
  it('refuses another body', () => assert.equal(verifySignature(Buffer.from('{}'), good, 's3cret'), false));
  it('refuses a missing or malformed header', () => {
    assert.equal(verifySignature(body, undefined, 's3cret'), false);
    assert.equal(verifySignature(body, 'sha1=abc', 's3cret'), false);
    assert.equal(verifySignature(body, 'sha256=zz', 's3cret'), false);
  });
});

describe('events of one issue, one at a time', () => {
  it('runs a receiver’s events of one issue in order, and no other receiver waits on them', async () => {
    const [first, second] = [new DeliveryLog(), new DeliveryLog()];
    // An event of CERT-2 that never finishes (a call left hanging), on the first receiver.
    void first.oneAtATime('CERT-2', () => new Promise<never>(() => undefined));
    const order: string[] = [];
    const queued = first.oneAtATime('CERT-2', () => Promise.resolve(void order.push('after the hanging one')));
    assert.equal(await second.oneAtATime('CERT-2', () => Promise.resolve('another receiver')), 'another receiver');
    assert.equal(await first.oneAtATime('CERT-3', () => Promise.resolve('another issue')), 'another issue');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, [], 'the same receiver keeps the issue’s order');
    void queued;
  });
});
