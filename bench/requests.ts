/**
 * `npm run bench:requests`: what one certificate costs the two metered APIs — the connector's requests to
 * Jira and to SCM for an enrollment, a renewal on request and a revocation, each counted from the user's
 * transition until the workflow has done all it does for it, with the Jira requests by route. Jira Cloud
 * meters API use per site, and SCM rate-limits per account. Figures, never asserted.
 */
import { report } from './report.ts';
import { certificateWorkflowId, statusQuery, type CertificateStatus } from '../src/contract/certificate.ts';
import { SANDBOX_USERS } from '../src/sandbox/jira-emulator.ts';
import { generateCsr } from '../src/sandbox/requester.ts';
import { eventually } from '../test/helpers/environment.ts';
import { armTimeout, startBenchWorld } from './world.ts';

armTimeout('requests', 300);
const world = await startBenchWorld({ scm: { issuanceDelayMs: 0 } });
const jira = world.sandbox.jiraEmulator;
const scm = world.sandbox.scmEmulator;

/** The connector's Jira requests by route, and SCM's request count, so far. */
function snapshot(): { jira: Map<string, number>; scm: number } {
  return { jira: new Map(jira.requestsBy.get(SANDBOX_USERS.connector.accountId) ?? []), scm: scm.stats.requests };
}

/** What happened between two snapshots: Jira requests in all and by route, SCM requests. */
function since(before: ReturnType<typeof snapshot>) {
  const now = snapshot();
  const byRoute: Record<string, number> = {};
  for (const [route, count] of now.jira) {
    const added = count - (before.jira.get(route) ?? 0);
    if (added > 0) byRoute[route.replace('/rest/api/3', '')] = added;
  }
  return {
    jira: Object.values(byRoute).reduce((a, b) => a + b, 0),
    scm: now.scm - before.scm,
    jiraByRoute: byRoute,
  };
}

try {
  const { csr } = await generateCsr('requests.example.com', 'ec');
  // A warm-up enrollment, so that the counted one pays no first-use reads (field ids, the account).
  for (const domain of ['warm-up.example.com', 'requests.example.com']) {
    const key = await world.alice.createCertificateIssue({
      profile: 'Manual Server Certificate',
      csr: domain === 'requests.example.com' ? csr : (await generateCsr(domain, 'ec')).csr,
    });
    const handle = world.env.client.workflow.getHandle(certificateWorkflowId(key));
    const phase = (check: (s: CertificateStatus) => boolean, what: string) =>
      eventually(async () => {
        const s = await handle.query(statusQuery).catch(() => undefined);
        return s && check(s) ? s : undefined;
      }, `${key}: ${what}`);
    const settled = () => jira.settled();

    let before = snapshot();
    await world.alice.transition(key, 'Enroll Certificate');
    await phase((s) => s.phase === 'Active', 'enrolled');
    await settled();
    const enrollment = since(before);

    before = snapshot();
    await world.alice.transition(key, 'Renew Certificate');
    await phase((s) => s.generation === 1 && s.phase === 'Active', 'renewed');
    await settled();
    const renewal = since(before);

    before = snapshot();
    await world.alice.revoke(key, 'Superseded');
    await handle.result();
    await settled();
    const revocation = since(before);

    if (domain !== 'requests.example.com') continue;
    report(
      'requests',
      {
        enrollment: { jira: enrollment.jira, scm: enrollment.scm },
        renewal: { jira: renewal.jira, scm: renewal.scm },
        revocation: { jira: revocation.jira, scm: revocation.scm },
      },
      world.server,
    );
    console.log(
      JSON.stringify({
        jiraByRoute: {
          enrollment: enrollment.jiraByRoute,
          renewal: renewal.jiraByRoute,
          revocation: revocation.jiraByRoute,
        },
      }),
    );
  }
} finally {
  await world.teardown();
}
