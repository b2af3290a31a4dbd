/**
 * `npm run bench:throughput -- [N]` (default 200): enrollment throughput through Jira. N "Certificate"
 * issues with fresh CSRs are made first (not timed); then "Enroll Certificate" runs on all of them, 20 at
 * a time as people would click, and the clock stops when the last PEM is attached. CA delay 0, SCM limit
 * 100 requests/s (the connector's capacity, not SCM's, is what is measured). Also counts the history
 * events of one enrollment up to its parking. Figures only.
 */
import { certificateWorkflowId } from '../src/contract/certificate.ts';
import { generateCsr } from '../src/sandbox/requester.ts';
import { armTimeout, startBenchWorld } from './world.ts';
import { report } from './report.ts';

const count = Number(process.argv[2] ?? process.env.BENCH_THROUGHPUT_N ?? 200);
const CLICKS_AT_ONCE = 20;
let stage = 'starting';
armTimeout('throughput', 600, () => stage);
const world = await startBenchWorld({
  scm: { issuanceDelayMs: 0 },
  scmRequestsPerSecond: 100,
  sectigoActivitiesPerSecond: 100,
});
const attached = (key: string) =>
  (world.sandbox.jiraEmulator.issue(key).fields as { attachment: unknown[] }).attachment.length > 0;

try {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    stage = `making issue ${i + 1} of ${count}`;
    const { csr } = await generateCsr(`throughput-${i}.example.com`, 'ec');
    keys.push(await world.alice.createCertificateIssue({ profile: 'OV Server Certificate', csr }));
  }
  stage = 'clicking "Enroll Certificate"';
  const began = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CLICKS_AT_ONCE }, async () => {
      while (next < keys.length) await world.alice.transition(keys[next++] ?? '', 'Enroll Certificate');
    }),
  );
  const clicked = performance.now();
  while (!keys.every(attached)) {
    stage = `waiting for PEMs: ${keys.filter(attached).length} of ${count} attached`;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  stage = 'counting the history';
  const seconds = (performance.now() - began) / 1000;
  // Let the last workflows park (plan and wait) before counting one's history.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const history = await world.env.client.workflow.getHandle(certificateWorkflowId(keys[0] ?? '')).fetchHistory();
  const events = history.events ?? [];
  report(
    'throughput',
    {
      certificates: count,
      enrolledPerSecond: Number((count / seconds).toFixed(2)),
      seconds: Number(seconds.toFixed(1)),
      clickingSeconds: Number(((clicked - began) / 1000).toFixed(1)),
      eventsPerEnrollment: events.length,
      activitiesPerEnrollment: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
      localActivitiesPerEnrollment: events.filter(
        (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
      ).length,
      scmRequests: world.sandbox.scmEmulator.stats.requests,
    },
    world.server,
  );
} finally {
  await world.teardown();
}
