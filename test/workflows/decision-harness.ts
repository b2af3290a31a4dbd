/**
 * The certificate workflow on Temporal's time-skipping test server, its activities the stand-ins of a
 * FakeSite: a test starts a workflow for a new fake issue, lets workflow time pass, and reads what the
 * issue shows. Temporal itself is real; months pass in milliseconds.
 */
import { writeFileSync } from 'node:fs';
import { after, before } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { metricsSinks } from '../../src/connector.ts';
import {
  certificateWorkflowId,
  statusQuery,
  type CertificateLifecycleInput,
  type CertificateStatus,
} from '../../src/contract/certificate.ts';
import { isLive, searchAttributes, SECTIGO_TASK_QUEUE, TASK_QUEUE } from '../../src/contract/shared.ts';
import type { certificateLifecycle } from '../../src/workflows/certificate/workflow.ts';
import { startTimeSkipping, testServer, workflowBundle } from '../helpers/environment.ts';
import { FakeIssue, FakeSite } from './fake-site.ts';

/** How many times a wait moves the clock on before it gives up: 48 hours, then days. */
const MAX_SKIPS = 600;

export class DecisionHarness {
  #env: TestWorkflowEnvironment | undefined;
  #site: FakeSite | undefined;
  #workers: Worker[] = [];
  #running: Promise<unknown> = Promise.resolve();
  #handles: WorkflowHandle[] = [];
  #nextKey = 1;

  /**
   * A harness for the tests of one describe block, with its own test server: updates taken while an
   * activity is under way leave the Java test server unable to skip time for later workflows.
   */
  static forEachBlock(): DecisionHarness {
    const harness = new DecisionHarness();
    before(() => harness.#setUp());
    after(() => harness.#tearDown());
    return harness;
  }

  get env(): TestWorkflowEnvironment {
    if (!this.#env) throw new Error('the harness is not set up');
    return this.#env;
  }

  get site(): FakeSite {
    if (!this.#site) throw new Error('the harness is not set up');
    return this.#site;
  }

  async #setUp(): Promise<void> {
    const env = await startTimeSkipping(testServer ?? '');
    this.#env = env;
    this.#site = new FakeSite(() => env.currentTimeMs());
    const { jira, requests, scm } = this.#site;
    const connection = env.nativeConnection;
    this.#workers = [
      await Worker.create({
        connection,
        taskQueue: TASK_QUEUE,
        workflowBundle: await workflowBundle(),
        activities: { ...jira, ...requests },
        sinks: metricsSinks(),
      }),
      await Worker.create({ connection, taskQueue: SECTIGO_TASK_QUEUE, activities: scm }),
    ];
    this.#running = Promise.all(this.#workers.map((w) => w.run()));
  }

  async #tearDown(): Promise<void> {
    for (const worker of this.#workers) worker.shutdown();
    await this.#running;
    await this.#env?.teardown();
  }

  /**
   * Starts a certificate workflow for a new fake issue, as the receiver would (or, with `standalone`, as
   * the CLI does for a certificate without an issue).
   */
  async start(
    setup: (issue: FakeIssue) => void = () => undefined,
    request: Pick<CertificateLifecycleInput, 'standalone'> = {},
  ): Promise<{ issueKey: string; issue: FakeIssue; handle: WorkflowHandle<typeof certificateLifecycle> }> {
    // The previous test's certificate would go on renewing as time passes: end it.
    for (const earlier of this.#handles.splice(0)) await earlier.terminate('test finished').catch(() => undefined);
    const issueKey = `${request.standalone ? 'CLI' : 'CERT'}-${this.#nextKey++}`;
    const issue = new FakeIssue();
    setup(issue);
    this.site.add(issueKey, issue);
    const handle = await this.env.client.workflow.start<typeof certificateLifecycle>('certificateLifecycle', {
      workflowId: certificateWorkflowId(issueKey),
      taskQueue: TASK_QUEUE,
      args: [{ issueKey, requestedBy: 'alice', triggerId: 'changelog:1', ...request }],
    });
    this.#handles.push(handle);
    return { issueKey, issue, handle };
  }

  status(handle: WorkflowHandle): Promise<CertificateStatus> {
    return handle.query(statusQuery);
  }

  /** Lets workflow time pass (the server skips it) and the workflow act on it, until `check` holds. */
  async waitFor(handle: WorkflowHandle, what: string, check: (s: CertificateStatus) => boolean) {
    for (let skipped = 0; skipped < MAX_SKIPS;) {
      // The phase from the search attribute: no workflow task, so nothing races a run's continue-as-new.
      const description = await handle.describe();
      const phase = description.typedSearchAttributes.get(searchAttributes.status) ?? '';
      if (description.status.name !== 'RUNNING' || isLive(phase) || phase === 'AwaitingIssuance') {
        const s = await this.status(handle).catch(() => undefined);
        if (s && check(s)) return s;
      }
      if (isLive(phase) && (description.raw.pendingActivities ?? []).length === 0) {
        // Waiting on a timer, no activity under way: move the server's clock on.
        await this.env.sleep(skipped++ < 48 ? '1 hour' : '1 day');
      } else {
        // Busy: skipping time now would time out the activity under way; give the worker a moment.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    throw new Error(`never reached: ${what}`);
  }

  /** Waits until the workflow's phase (its search attribute) is `phase`, without querying it. */
  async waitForPhase(handle: WorkflowHandle, phase: string): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      const description = await handle.describe();
      if (description.typedSearchAttributes.get(searchAttributes.status) === phase) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`never reached: ${phase}`);
  }

  /** Waits until the certificate is Active with a renewal planned. */
  active(handle: WorkflowHandle): Promise<CertificateStatus> {
    return this.waitFor(handle, 'Active', (s) => s.phase === 'Active' && s.renewAt !== undefined);
  }

  async runId(handle: WorkflowHandle): Promise<string> {
    return (await handle.describe()).runId;
  }

  /** Writes a finished run's history for the replay test, when RECORD_HISTORIES=1 asks for it. */
  async record(name: string, handle: WorkflowHandle, runId: string | undefined): Promise<void> {
    if (process.env.RECORD_HISTORIES !== '1') return;
    const history = await this.env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    writeFileSync(new URL(`../replay/histories/${name}.json`, import.meta.url), historyToJSON(history));
  }
}
