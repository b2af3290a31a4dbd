/**
 * `npm run bench:herd`: a renewal herd in real time. HERD certificates (default 200) with the same
 * validity enroll through Jira, then renew spread by their jitter while SCM never sees more requests in a
 * second than the limit. Prints the figures as JSON and as a row for docs/benchmarks.md. Figures only:
 * the properties are tested under time skipping (test/workflows/herd.test.ts).
 */
import { report } from './report.ts';
import { certificateWorkflowId, statusQuery, type CertificateStatus } from '../src/contract.ts';
import { generateCsr } from '../src/sandbox/requester.ts';
import { DEFAULT_CERT_TYPES, type ScmCertType } from '../src/sandbox/scm-emulator.ts';
import { startWorld } from '../test/helpers/environment.ts';

const HERD = Number(process.env.HERD ?? 200);
const LIMIT = 20; // SCM requests per second, for the connector as a whole
// Long enough that the whole herd is enrolled before its renewal window opens, even on a busy machine.
const LIFETIME_MS = Number(process.env.HERD_LIFETIME_MS ?? 300_000);

const shortLived = { ...(DEFAULT_CERT_TYPES.find((t) => t.id === 1002) as ScmCertType), termUnitMs: 3_600_000 };
const start = Math.ceil(Date.now() / 1000) * 1000;
shortLived.fixedValidity = { notBefore: start, notAfter: start + LIFETIME_MS };
const world = await startWorld({
  scm: { issuanceDelayMs: 0, certTypes: [DEFAULT_CERT_TYPES[0] as ScmCertType, shortLived] },
  scmRequestsPerSecond: LIMIT,
  sectigoActivitiesPerSecond: LIMIT,
});

/** Polls until every certificate passes `check`; figures, so no deadline but the herd's own lifetime. */
async function all(keys: string[], check: (s: CertificateStatus) => boolean): Promise<CertificateStatus[]> {
  for (;;) {
    const statuses = await Promise.all(
      keys.map((k) =>
        world.env.client.workflow
          .getHandle(certificateWorkflowId(k))
          .query(statusQuery)
          .catch(() => undefined),
      ),
    );
    if (statuses.every((s) => s !== undefined && check(s))) return statuses as CertificateStatus[];
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

try {
  const began = performance.now();
  const keys: string[] = [];
  for (let i = 0; i < HERD; i++) {
    const { csr } = await generateCsr(`herd-${i}.example.com`, 'ec');
    const key = await world.alice.createCertificateIssue({ profile: 'Short-lived Server Certificate', csr });
    await world.alice.transition(key, 'Enroll Certificate');
    keys.push(key);
  }
  // Enrolled: planned (or, on a slow run, already renewed: then it no longer counts for the spread).
  const enrolled = (await all(keys, (s) => s.generation > 0 || s.renewAt !== undefined)).filter(
    (s) => s.generation === 0,
  );
  const enrolledIn = performance.now() - began;
  delete shortLived.fixedValidity; // renewed certificates get an ordinary lifetime: the herd renews once
  const renewAts = enrolled.map((s) => s.renewAt ?? 0);
  await all(keys, (s) => s.generation === 1 && s.phase === 'Active');
  const orders = world.sandbox.scmEmulator.orders().filter((o) => String(o.commonName).startsWith('herd-'));
  const firstRenewal = Math.max(...enrolled.map((s) => s.certificateId ?? 0));
  const renewalRequests = orders.filter((o) => Number(o.id) > firstRenewal).map((o) => Date.parse(String(o.requested)));
  const { peakRequestsPerSecond, requests } = world.sandbox.scmEmulator.stats;
  const figures = {
    certificates: HERD,
    enrolledPerSecond: Number((HERD / (enrolledIn / 1000)).toFixed(2)),
    plannedSpreadSeconds: (Math.max(...renewAts) - Math.min(...renewAts)) / 1000,
    distinctRenewalSeconds: new Set(renewAts).size,
    renewalOrdersSpanSeconds: (Math.max(...renewalRequests) - Math.min(...renewalRequests)) / 1000,
    orders: orders.length,
    scmRequests: requests,
    scmPeakPerSecond: peakRequestsPerSecond,
    connectorPeakSentPerSecond: world.sandbox.scm.sent.peakPerSecond,
    scmLimitPerSecond: LIMIT,
  };
  report('renewal-herd', figures);
  console.log(
    `| renewal herd | ${HERD} | ${figures.plannedSpreadSeconds.toFixed(1)} s planned spread, ` +
      `${figures.distinctRenewalSeconds} distinct seconds | peak ${peakRequestsPerSecond}/s (limit ${LIMIT}/s) | ${orders.length} orders |`,
  );
} finally {
  await world.teardown();
}
