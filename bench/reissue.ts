/**
 * `node bench/reissue.ts [N] [rate per hour]` (default 1000 at 60,000 an hour): a fleet reissue of N parked
 * certificates of one profile, with as many of another profile beside them, through the CLI as an
 * operator runs it. The worker runs as its own process, killed (SIGKILL) when a third are asked and
 * started again. Prints the pace held
 * (certificates renewed per real minute, from the first ask to the last renewal), the SCM requests per
 * certificate, and checks what the operation promises: each selected certificate renewed once, the
 * other profile's untouched. Figures, and a failure when a promise is broken.
 */
import type { ChildProcess } from 'node:child_process';
import { runCli } from '../src/client/cli.ts';
import { certificateWorkflowId, statusQuery } from '../src/contract/certificate.ts';
import { reissueProgressQuery, reissueWorkflowId } from '../src/contract/reissue.ts';
import type { reissue } from '../src/workflows/reissue.ts';
import { opensslCsr, spawnWorker } from '../test/helpers/environment.ts';
import { parkCertificates } from './park.ts';
import { report, requestsPer } from './report.ts';
import { armTimeout, startBenchWorld } from './world.ts';

const count = Number(process.argv[2] ?? 1000);
const rate = Number(process.argv[3] ?? 60_000);
let stage = 'starting';
armTimeout('reissue', 600 + (count * 3600) / rate + count / 5, () => stage);
const world = await startBenchWorld({ scm: { issuanceDelayMs: 0 } });
const { client } = world.env;
const scm = world.sandbox.scmEmulator;
const prefix = `RI${Date.now().toString(36).toUpperCase()}`;

let worker: ChildProcess | undefined;
try {
  stage = 'parking';
  const csr = (domain: string) => Promise.resolve(opensslCsr(`/CN=${domain}`, 'ec-p256'));
  const profile = { id: 'ov-server', name: 'OV Server Certificate', orgId: 1, certType: 1001 };
  const other = { id: 'manual', name: 'Manual Server Certificate', orgId: 1, certType: 1001 };
  await parkCertificates({ client, scm, count, profile, csr, prefix });
  await parkCertificates({ client, scm, count: Math.min(count, 100), profile: other, prefix: `${prefix}X` });
  const selected = `WorkflowType = 'certificateLifecycle' AND ExecutionStatus = 'Running' AND CertificateProfile = 'ov-server' AND CertificateStatus = 'Active'`;
  while ((await client.workflow.count(selected)).count < count) await new Promise((r) => setTimeout(r, 500));

  // From here the worker is `node src/worker.ts` in a process of its own, as deployed, so that it can be
  // killed mid-way; the sandbox's SCM limit as the in-process worker had it.
  await world.stopWorker();
  const startWorker = () => spawnWorker(world, { env: { SECTIGO_MAX_REQUESTS_PER_SECOND: '100' } });
  worker = startWorker();
  stage = 'reissuing';
  const statsBefore = scm.stats;
  const issuedBefore = new Date(Date.now() + 1000);
  await new Promise((r) => setTimeout(r, 1000));
  const cli = (...args: string[]) => runCli(args, client);
  const selection = ['--profile', 'ov-server', '--issued-before', issuedBefore.toISOString()];
  const started = performance.now();
  console.error(await cli('reissue', ...selection, '--rate', `${rate}/h`));
  const handle = client.workflow.getHandle<typeof reissue>(
    reissueWorkflowId({ profileId: 'ov-server', issuedBefore: issuedBefore.getTime() }),
  );
  while ((await handle.query(reissueProgressQuery)).asked < count / 3) await new Promise((r) => setTimeout(r, 200));
  stage = 'killing the worker';
  worker.kill('SIGKILL');
  worker = startWorker();
  stage = 'reissuing after the kill';
  const summary = await handle.result();
  const seconds = (performance.now() - started) / 1000;
  const statsAfter = scm.stats;
  const requests = statsAfter.requests - statsBefore.requests;
  const byOperation = requestsPer(count, statsBefore, statsAfter);

  stage = 'checking';
  const broken: string[] = [];
  if (summary.renewed !== count || summary.failed + summary.skipped > 0) {
    broken.push(`renewed ${summary.renewed} of ${count}, failed ${summary.failed}, skipped ${summary.skipped}`);
  }
  for (let i = 1; i <= count; i++) {
    const { generation } = await client.workflow.getHandle(certificateWorkflowId(`${prefix}-${i}`)).query(statusQuery);
    if (generation !== 2) broken.push(`${prefix}-${i} is at generation ${generation}, not 2`);
  }
  for (let i = 1; i <= Math.min(count, 100); i++) {
    const { generation } = await client.workflow.getHandle(certificateWorkflowId(`${prefix}X-${i}`)).query(statusQuery);
    if (generation !== 1) broken.push(`${prefix}X-${i} of the other profile was renewed`);
  }
  report(
    'reissue',
    {
      certificates: count,
      ratePerHour: rate,
      perMinute: Number(((summary.renewed / seconds) * 60).toFixed(1)),
      seconds: Number(seconds.toFixed(1)),
      scmRequestsPerCertificate: Number((requests / count).toFixed(2)),
      scmRequestsPerCertificateByOperation: byOperation,
    },
    world.server,
  );
  if (broken.length > 0) {
    console.error(broken.slice(0, 20).join('\n'));
    process.exitCode = 1;
  }
} finally {
  worker?.kill('SIGKILL');
  await world.teardown();
}
