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
import { workflowBundle } from '../helpers/environment.ts';

const dir = new URL('./histories/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const load = (file: string): unknown => JSON.parse(readFileSync(new URL(file, dir), 'utf8'));

describe('replay', () => {
  let bundle: WorkflowBundle;
  before(async () => {
    bundle = await workflowBundle();
  });

  it('has a history of each workflow shape', () => {
    assert.deepEqual(files.sort(), [
      'certificate-continued-from-carried-state.json',
      'certificate-enrolled-then-automatic-renewal.json',
      'certificate-enrolled-then-forced-renewal.json',
      'certificate-failing-renewal-escalated.json',
      'certificate-fingerprint-indexed-replaced-in-scm.json',
      'certificate-local-requests-batched-publish.json',
      'certificate-profile-removed-then-restored.json',
      'certificate-rejected-by-local-check.json',
      'certificate-rejected.json',
      'certificate-replaced-then-revoked-in-scm.json',
      'certificate-revoked-during-renewal.json',
      'certificate-window-notice-then-expired.json',
      'jira-polling.json',
      'renewal-sweep-by-index.json',
      'renewal-sweep.json',
      'revoke-external-ambiguous-then-by-id.json',
    ]);
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      await Worker.runReplayHistory({ workflowBundle: bundle }, historyFromJSON(load(file)));
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
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: bundle }, historyFromJSON(history)),
      DeterminismViolationError,
    );
  });
});
