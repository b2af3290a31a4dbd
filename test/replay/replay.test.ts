/**
 * Replays stored histories of every workflow shape against today's workflow code: a change that would
 * break running certificates fails here, before it reaches them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { metricsSinks } from '../../src/connector.ts';
import { certificateWorkflowId } from '../../src/contract/certificate.ts';
import { workflowBundle } from '../helpers/environment.ts';

const dir = new URL('./histories/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const load = (file: string): unknown => JSON.parse(readFileSync(new URL(file, dir), 'utf8'));

type StoredHistory = {
  events: Array<{
    eventType?: string;
    workflowExecutionStartedEventAttributes?: {
      workflowType?: { name?: string };
      input?: { payloads?: Array<{ data?: string }> };
    };
  }>;
};

/**
 * The workflow id a history ran under. A certificate's renewal jitter, and so when it waits and when it
 * renews, follows from its id: replayed under another id, a history that is fine can look diverged. (The
 * exported history does not hold the id; a certificate's follows from its issue key.)
 */
function workflowIdOf(history: StoredHistory): string {
  const started = history.events[0]?.workflowExecutionStartedEventAttributes;
  const data = started?.input?.payloads?.[0]?.data;
  if (started?.workflowType?.name !== 'certificateLifecycle' || !data) return 'replayed';
  const input = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { issueKey?: unknown };
  return typeof input.issueKey === 'string' ? certificateWorkflowId(input.issueKey) : 'replayed';
}

/** A replay worker, with the workflows' metrics sink (replayed calls are not counted). */
const replaying = () => ({ workflowBundle: bundle, sinks: metricsSinks() });
let bundle: WorkflowBundle;

describe('replay', () => {
  before(async () => {
    bundle = await workflowBundle();
  });

  it('has a history of each workflow shape', () => {
    assert.deepEqual(files.sort(), [
      'certificate-changes-1-to-5-in-one-marker.json',
      'certificate-changes-1-to-8-collected-with-order-then-later.json',
      'certificate-changes-1-to-9-continued.json',
      'certificate-changes-1-to-9-enrolled-then-forced-renewal.json',
      'certificate-continued-from-carried-state.json',
      'certificate-enrolled-then-automatic-renewal.json',
      'certificate-enrolled-then-forced-renewal.json',
      'certificate-failing-renewal-escalated.json',
      'certificate-fingerprint-indexed-replaced-in-scm.json',
      'certificate-issue-read-locally-order-beside-comment.json',
      'certificate-local-requests-batched-publish.json',
      'certificate-profile-removed-then-restored.json',
      'certificate-rejected-by-local-check.json',
      'certificate-rejected.json',
      'certificate-replaced-then-revoked-in-scm.json',
      'certificate-revoked-during-renewal.json',
      'certificate-window-notice-then-expired.json',
      'issue-notice-renewal-refused.json',
      'jira-polling.json',
      'renewal-sweep-by-index.json',
      'renewal-sweep-index-patch-deprecated.json',
      'revoke-external-ambiguous-then-by-id.json',
    ]);
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      const history = load(file) as StoredHistory;
      await Worker.runReplayHistory(replaying(), historyFromJSON(history), workflowIdOf(history));
    });

    // A worker that picks a workflow up mid-life (a restart, an eviction) replays only what happened so
    // far, then runs the next task: each prefix ending at a started workflow task must replay too.
    it(`replays ${file} up to each of its workflow tasks`, async () => {
      const history = load(file) as StoredHistory;
      const cuts = history.events.flatMap((event, i) =>
        /WORKFLOW_TASK_STARTED|WorkflowTaskStarted/.test(event.eventType ?? '') && i < history.events.length - 1
          ? [i + 1]
          : [],
      );
      const workflowId = workflowIdOf(history);
      const prefixes = cuts.map((cut) => ({
        workflowId,
        history: historyFromJSON({ ...history, events: history.events.slice(0, cut) }),
      }));
      let n = 0;
      for await (const result of Worker.runReplayHistories(replaying(), prefixes)) {
        assert.equal(result.error, undefined, `${file}, up to event ${cuts[n]}: ${String(result.error)}`);
        n++;
      }
      assert.equal(n, cuts.length, 'every prefix replayed');
    });
  }

  it('catches a change that breaks determinism', async () => {
    const history = load('certificate-rejected.json') as {
      events: Array<Record<string, { activityType?: { name: string } }>>;
    };
    const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes);
    const attributes = scheduled?.activityTaskScheduledEventAttributes;
    assert.ok(attributes?.activityType, 'the history schedules an activity');
    attributes.activityType.name = 'someOtherActivity';
    await assert.rejects(Worker.runReplayHistory(replaying(), historyFromJSON(history)), DeterminismViolationError);
  });
});
