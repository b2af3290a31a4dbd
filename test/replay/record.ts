/**
 * Records one history of each workflow shape into test/replay/histories, for the replay test. Run it
 * (`node test/replay/record.ts`) when a workflow change is meant to be compatible, and commit the files
 * only for a new shape: the stored ones are what running workflows look like.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { findTemporalCli } from '../../scripts/temporal-cli.ts';
import { DEFAULT_CERT_TYPES } from '../../src/sandbox/scm-emulator.ts';
import { certificateWorkflowId, renewUpdate, statusQuery } from '../../src/contract/certificate.ts';
import { TASK_QUEUE } from '../../src/contract/shared.ts';
import { renewalSweep } from '../../src/workflows/renewal-sweep.ts';
import { eventually, opensslCsr, startWorld } from '../helpers/environment.ts';

const dir = new URL('./histories/', import.meta.url);
const world = await startWorld({
  scm: {
    issuanceDelayMs: 500,
    certTypes: DEFAULT_CERT_TYPES.map((t) => (t.id === 1002 ? { ...t, termUnitMs: 6000 } : t)),
  },
});
try {
  const client = world.env.client;
  // The CLI's JSON is the format historyFromJSON reads, and what an operator would export from production.
  const save = (name: string, workflowId: string, runId?: string) => {
    const args = ['workflow', 'show', '--address', world.env.address, '-w', workflowId, '-o', 'json'];
    const json = execFileSync(findTemporalCli() ?? 'temporal', runId ? [...args, '-r', runId] : args, {
      encoding: 'utf8',
    });
    writeFileSync(new URL(`${name}.json`, dir), json);
    console.log(`recorded ${name}`);
  };
  const status = (key: string) => client.workflow.getHandle(certificateWorkflowId(key)).query(statusQuery);

  const enrolled = await world.alice.createCertificateIssue({
    profile: 'OV Server Certificate',
    csr: opensslCsr('/CN=replay.example.com', 'rsa:2048'),
  });
  await world.alice.transition(enrolled, 'Enroll Certificate');
  await eventually(
    async () => ((await status(enrolled).catch(() => undefined))?.phase === 'Active' ? true : undefined),
    'Active',
  );
  await client.workflow
    .getHandle(certificateWorkflowId(enrolled))
    .executeUpdate(renewUpdate, { args: [{ requestedBy: 'recorder', force: true }] });
  await eventually(async () => ((await status(enrolled)).generation === 1 ? true : undefined), 'renewed');
  const latestRun = (await client.workflow.getHandle(certificateWorkflowId(enrolled)).describe()).runId;
  const runs = client.workflow.list({ query: `WorkflowId = '${certificateWorkflowId(enrolled)}'` });
  for await (const run of runs)
    if (run.runId !== latestRun) save('certificate-enrolled-then-forced-renewal', run.workflowId, run.runId);

  const rejected = await world.alice.createCertificateIssue({
    profile: 'OV Server Certificate',
    csr: opensslCsr('/CN=weak.example.com', 'rsa:1024'),
  });
  await world.alice.transition(rejected, 'Enroll Certificate');
  await eventually(
    async () => ((await status(rejected).catch(() => undefined))?.phase === 'Rejected' ? true : undefined),
    'Rejected',
  );
  save('certificate-rejected', certificateWorkflowId(rejected));

  const auto = await world.alice.createCertificateIssue({
    profile: 'Short-lived Manual Certificate',
    csr: opensslCsr('/CN=expiring.example.com', 'ec-p256'),
  });
  await world.alice.transition(auto, 'Enroll Certificate');
  await eventually(
    async () => ((await status(auto).catch(() => undefined))?.phase === 'Expired' ? true : undefined),
    'Expired',
    30_000,
  );
  // Only a finished run is a stable record: end it (it would wait for a renewal request forever).
  await client.workflow.getHandle(certificateWorkflowId(auto)).terminate('recorded');
  save('certificate-window-notice-then-expired', certificateWorkflowId(auto));

  // A renewal asked for outside the window: refused, said on the issue by a notice, the issue returned.
  await world.alice.transition(enrolled, 'Renew Certificate');
  const notice = await eventually(async () => {
    for await (const run of client.workflow.list({ query: "WorkflowType = 'issueNotice'" })) {
      if (run.status.name === 'COMPLETED') return run.workflowId;
    }
    return undefined;
  }, 'the refusal said');
  save('issue-notice-renewal-refused', notice);

  await client.workflow.execute(renewalSweep, { taskQueue: TASK_QUEUE, workflowId: 'sweep-recorded', args: [{}] });
  save('renewal-sweep-index-patch-deprecated', 'sweep-recorded');
} finally {
  await world.teardown();
}
