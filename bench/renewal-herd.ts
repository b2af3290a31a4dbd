/**
 * `npm run bench:herd`: a renewal herd under time skipping. HERD certificates (default 10,000) issued
 * together for 90 days are parked on the time-skipping test server; then time skips past their renewal
 * window, and every one of them renews automatically through the SCM emulator, the connector's SCM
 * requests limited to HERD_SCM_LIMIT a second (default 50). Prints how the renewals spread in the server's
 * time, how many SCM requests they cost, and the most SCM saw in one second of the server's time and the
 * connector sent in one second of real time.
 * Figures only: the properties are tested with a small herd in test/workflows/renewal-herd.test.ts.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { DAY } from '../src/workflows/policy/renewal.ts';
import { startSkippingWorld } from '../test/helpers/environment.ts';
import { parkCertificates } from './park.ts';
import { report, requestsPer } from './report.ts';
import { armTimeout, benchTemporal } from './world.ts';

const HERD = Number(process.env.HERD ?? 10_000);
// SCM requests a second for the connector as a whole. Under time skipping the herd runs one renewal after
// another, each as fast as the machine allows (some 15 a second unlimited here): at 50 the limit holds
// them back, and 10,000 take about 17 minutes (at the product's default of 10, over an hour).
const LIMIT = Number(process.env.HERD_SCM_LIMIT ?? 50);
const LIFETIME = 90 * DAY;

let stage = 'starting the time-skipping test server';
armTimeout('renewal-herd', 600 + HERD / 2, () => stage);
if (benchTemporal()) {
  console.error('renewal-herd: time skipping needs a test server of its own; TEMPORAL_ADDRESS is not used');
}
const world = await startSkippingWorld({ scmRequestsPerSecond: LIMIT, activitiesPerSecond: LIMIT });
const { env, sandbox } = world;

/** One key for the whole herd (a CSR per domain still): keys are not what this measures. */
const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const keys = await webcrypto.subtle.generateKey(algorithm, false, ['sign', 'verify']);
const csr = async (domain: string) =>
  (
    await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${domain}`,
      keys,
      signingAlgorithm: algorithm,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: domain }])],
    })
  ).toString('pem');

try {
  const scm = sandbox.scmEmulator;
  const issued = Math.floor((await env.currentTimeMs()) / 1000) * 1000;
  const parkStarted = performance.now();
  const ids = await parkCertificates({
    client: env.client,
    scm,
    count: HERD,
    validity: { notBefore: issued, notAfter: issued + LIFETIME },
    csr,
    progress: (n) => {
      stage = `parking: ${n} of ${HERD} started`;
      process.stderr.write(`\rparked ${n}/${HERD}`);
    },
  });
  const parkSeconds = (performance.now() - parkStarted) / 1000;
  const lastParked = ids.reduce((a, b) => Math.max(a, b), 0);
  process.stderr.write(`\rparked ${HERD} in ${parkSeconds.toFixed(1)} s\n`);
  const before = scm.stats;
  const sentBefore = sandbox.scm.sent.requests;

  // Past every certificate's window (30 days before expiry, less its jitter of up to 12 hours).
  const herdStarted = performance.now();
  const renewals = () => scm.orders().filter((o) => Number(o.id) > lastParked && o.status === 'Issued');
  let lastReport = 0;
  await env.sleep(LIFETIME - 29 * DAY);
  while (renewals().length < HERD) {
    stage = `renewing: ${renewals().length} of ${HERD} renewed`;
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      process.stderr.write(`\rrenewed ${renewals().length}/${HERD}`);
    }
    await env.sleep(60_000);
  }
  const herdSeconds = (performance.now() - herdStarted) / 1000;
  process.stderr.write(`\rrenewed ${HERD} in ${herdSeconds.toFixed(1)} s\n`);

  const orders = scm.orders().filter((o) => Number(o.id) > lastParked);
  const requested = orders.map((o) => Date.parse(String(o.requested))).sort((a, b) => a - b);
  const perMinute = new Map<number, number>();
  for (const at of requested) perMinute.set(Math.floor(at / 60_000), (perMinute.get(Math.floor(at / 60_000)) ?? 0) + 1);
  const after = scm.stats;
  const requests = after.requests - before.requests;
  const perRenewal = requestsPer(HERD, before, after);
  const figures = {
    certificates: HERD,
    parkSeconds: Number(parkSeconds.toFixed(1)),
    renewalOrders: orders.length,
    duplicateOrders: orders.length - HERD,
    renewalsSpreadHours: Number((((requested.at(-1) ?? 0) - (requested[0] ?? 0)) / 3_600_000).toFixed(2)),
    distinctRenewalSeconds: new Set(requested.map((at) => Math.floor(at / 1000))).size,
    peakRenewalsPerMinute: Math.max(...perMinute.values()),
    firstRenewalDaysBeforeExpiry: Number(((issued + LIFETIME - (requested[0] ?? 0)) / DAY).toFixed(2)),
    scmRequestsPerRenewal: Number((requests / HERD).toFixed(2)),
    scmRequestsPerRenewalByOperation: perRenewal,
    scmPeakPerServerSecond: after.peakRequestsPerClockSecond,
    connectorSentPerRenewal: Number(((sandbox.scm.sent.requests - sentBefore) / HERD).toFixed(2)),
    connectorPeakSentPerSecond: sandbox.scm.sent.peakPerSecond,
    scmLimitPerSecond: LIMIT,
    realSeconds: Number(herdSeconds.toFixed(1)),
    renewalsPerRealSecond: Number((HERD / herdSeconds).toFixed(2)),
  };
  report('renewal-herd', figures, 'the Java time-skipping test server (io.temporal:temporal-test-server)');
  console.log(
    `| renewal herd under time skipping | ${HERD} | renewals over ${figures.renewalsSpreadHours} h of server time ` +
      `(${figures.distinctRenewalSeconds} distinct seconds, at most ${figures.peakRenewalsPerMinute} a minute), ` +
      `${figures.renewalOrders} orders, ${figures.scmRequestsPerRenewal} SCM requests each | ` +
      `SCM peak ${figures.scmPeakPerServerSecond} per second of server time; the connector sent at most ` +
      `${figures.connectorPeakSentPerSecond} in a real second (limit ${LIMIT}) | ${figures.realSeconds} s real |`,
  );
} finally {
  await world.teardown();
}
