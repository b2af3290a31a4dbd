/**
 * Enrollment end to end: Jira emulator → signed webhook → receiver → certificateLifecycle on a real
 * Temporal dev server → SCM emulator (real local CA) → back to Jira.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { certificateLifecycle } from '../../src/workflows/certificate/workflow.ts';
import manifest from '../../package.json' with { type: 'json' };
import { certificateWorkflowId, statusQuery } from '../../src/contract/certificate.ts';
import * as x509 from '../../src/csr/x509.ts';
import { generateCsr } from '../../src/sandbox/requester.ts';
import { eventually, opensslCsr, startWorld, type World } from '../helpers/environment.ts';

const PROFILE = 'OV Server Certificate';

interface IssueView {
  fields: {
    summary: string;
    status: { name: string };
    customfield_10052: string | null;
    customfield_10054: string | null;
    attachment: Array<{ id: string; filename: string }>;
    comment: { comments: Array<{ body: unknown; author: { accountId: string } }> };
  };
}

describe('enrollment', () => {
  let world: World;
  before(async () => {
    world = await startWorld({ scm: { issuanceDelayMs: 300 } });
  });
  after(async () => {
    await world?.teardown();
  });

  const issue = (key: string) => world.sandbox.jiraEmulator.issue(key) as unknown as IssueView;
  const comments = (key: string) => world.sandbox.jiraEmulator.commentTexts(key);
  const ordersFor = (domain: string) => world.sandbox.scmEmulator.orders().filter((o) => o.commonName === domain);

  async function enroll(domain: string, csr: string): Promise<string> {
    const key = await world.alice.createCertificateIssue({ summary: `TLS for ${domain}`, profile: PROFILE, csr });
    await world.alice.transition(key, 'Enroll Certificate');
    return key;
  }

  const settledStatus = (key: string, status: string) =>
    eventually(
      () =>
        issue(key).fields.status.name === status && issue(key).fields.comment.comments.length >= 1 ? true : undefined,
      `${key} in ${status}`,
    );

  for (const [label, keySpec] of [
    ['RSA 2048', 'rsa:2048'],
    ['EC P-256', 'ec-p256'],
  ] as const) {
    it(`enrolls an OpenSSL ${label} CSR and publishes the certificate on the issue`, async () => {
      const domain = `${keySpec.replace(/[^a-z0-9]/g, '')}.example.com`;
      const csrPem = opensslCsr(`/C=GB/ST=London/L=London/O=Global Security/OU=IT Department/CN=${domain}`, keySpec, [
        domain,
        `www.${domain}`,
      ]);
      const key = await enroll(domain, csrPem);

      const attachment = await eventually(() => issue(key).fields.attachment[0], `the PEM on ${key}`);
      await eventually(
        () =>
          issue(key).fields.status.name === 'Certificate Enrolled' && comments(key).length === 3 ? true : undefined,
        'three comments',
      );
      const view = issue(key).fields;
      const certificateId = view.customfield_10052;
      assert.ok(certificateId, 'Certificate ID is set');
      assert.equal(attachment.filename, `${domain}_${certificateId}.pem`);
      assert.equal(view.summary, `Certificate enrolled:${domain}`);
      assert.equal(view.status.name, 'Certificate Enrolled');

      const pem = (await world.sandbox.jira.downloadAttachment(attachment.id)).toString();
      const chain = x509.PemConverter.decode(pem).map((der) => new x509.X509Certificate(der));
      assert.equal(chain.length, 3, 'certificate, intermediate, root');
      const [leaf, intermediate, root] = chain as [x509.X509Certificate, x509.X509Certificate, x509.X509Certificate];
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      assert.equal(
        Buffer.from(leaf.publicKey.rawData).toString('hex'),
        Buffer.from(csr.publicKey.rawData).toString('hex'),
      );
      assert.ok(
        await leaf.verify({ publicKey: intermediate.publicKey, signatureOnly: true }),
        'leaf signed by the intermediate',
      );
      assert.ok(
        await intermediate.verify({ publicKey: root.publicKey, signatureOnly: true }),
        'intermediate signed by the root',
      );
      assert.equal(
        root.toString('pem'),
        world.sandbox.scmEmulator.ca.root.toString('pem'),
        "chains to the emulator's root",
      );
      const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
      assert.deepEqual(san?.names.items.map((n) => n.value).sort(), [domain, `www.${domain}`].sort());
      assert.equal(view.customfield_10054, leaf.notAfter.toISOString().slice(0, 10), 'expiry date field');

      const texts = comments(key);
      assert.match(texts[0] ?? '', new RegExp(`^Certificate requested for ${domain.replace(/\./g, '\\.')}`));
      assert.match(texts[1] ?? '', new RegExp(`^Certificate enrolled: Certificate ID ${certificateId}`));
      assert.match(
        texts[2] ?? '',
        new RegExp(`^Certificate attached: ${domain.replace(/\./g, '\\.')}_${certificateId}\\.pem`),
      );

      assert.equal(ordersFor(domain).length, 1, 'one SCM order');
      const handle = world.env.client.workflow.getHandle(certificateWorkflowId(key));
      const status = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'Active' ? s : undefined;
      }, 'phase Active');
      assert.equal(status.certificateId, Number(certificateId));
      assert.equal(status.notAfter, leaf.notAfter.getTime());
      // Every workflow task names the connector's build (its version and code), as the Web UI shows it.
      const completed = ((await handle.fetchHistory()).events ?? []).filter(
        (e) => e.workflowTaskCompletedEventAttributes,
      );
      assert.ok(completed.length > 0);
      for (const event of completed) {
        assert.match(
          event.workflowTaskCompletedEventAttributes?.workerVersion?.buildId ?? '',
          new RegExp(`^${manifest.version.replace(/\./g, '\\.')}\\+[0-9a-f]{12}$`),
        );
      }
    });
  }

  const badCsrs: Array<{ name: string; csr: () => string; refusal: RegExp }> = [
    {
      name: 'text that is not PEM',
      csr: () => 'please issue me a certificate for bad-text.example.com',
      refusal: /not a PEM certificate signing request/,
    },
    {
      name: 'a CSR whose signature was tampered with',
      csr: () => tamper(opensslCsr('/CN=tampered.example.com', 'rsa:2048')),
      refusal: /signature does not match/,
    },
    {
      name: 'an RSA 1024 key',
      csr: () => opensslCsr('/CN=weak.example.com', 'rsa:1024'),
      refusal: /RSA key has 1024 bits.*at least 2048/,
    },
    {
      name: 'a CSR naming no domain',
      csr: () => opensslCsr('/O=Global Security/OU=IT Department', 'rsa:2048'),
      refusal: /names no domain/,
    },
  ];
  for (const { name, csr, refusal } of badCsrs) {
    it(`rejects ${name} with a comment, no order, and the issue back in Certificate Request`, async () => {
      const ordersBefore = world.sandbox.scmEmulator.orders().length;
      const key = await enroll('bad', csr());
      await settledStatus(key, 'Certificate Request');
      const texts = comments(key);
      assert.equal(texts.length, 1, 'exactly one comment');
      assert.match(texts[0] ?? '', /^Enrollment failed: /);
      assert.match(texts[0] ?? '', refusal);
      assert.match(texts[0] ?? '', /run "Enroll Certificate" again/);
      assert.equal(world.sandbox.scmEmulator.orders().length, ordersBefore, 'no SCM order');
      const status = await world.env.client.workflow
        .getHandle<typeof certificateLifecycle>(certificateWorkflowId(key))
        .result();
      assert.equal(status.phase, 'Rejected');
    });
  }

  it('refuses a pasted private key, and keeps the key out of workflow history', async () => {
    const { csr, privateKeyPem } = await generateCsr('leaked-key.example.com');
    const body = privateKeyPem.split('\n').find((line) => line.length > 40) ?? '';
    assert.ok(body.length > 40, 'a line of the key to look for');
    for (const pasted of [`${csr}\n${privateKeyPem}`, `${csr}\n${privateKeyPem.split('-----END')[0] ?? ''}`]) {
      const key = await enroll('leaked', pasted);
      await settledStatus(key, 'Certificate Request');
      assert.match(comments(key)[0] ?? '', /contains a private key.*compromised/);
      const handle = world.env.client.workflow.getHandle(certificateWorkflowId(key));
      await handle.result();
      const history = JSON.stringify(await handle.fetchHistory());
      assert.ok(!history.includes(body), 'no line of the key in the history');
      assert.ok(!history.includes(Buffer.from(body).toString('base64')), 'not even encoded');
    }
  });

  it('runs a fresh enrollment after the requester fixes a rejected CSR', async () => {
    const domain = 'fixed.example.com';
    const key = await enroll(domain, opensslCsr(`/CN=${domain}`, 'rsa:1024'));
    await settledStatus(key, 'Certificate Request');
    const csr = opensslCsr(`/CN=${domain}`, 'rsa:2048');
    await world.alice.setCsr(key, csr);
    await world.alice.transition(key, 'Enroll Certificate');
    await eventually(() => issue(key).fields.attachment[0], 'the PEM after the fix');
    assert.equal(ordersFor(domain).length, 1);
  });
});

/** Flips one bit inside the signature, keeping the PEM well-formed. */
function tamper(pem: string): string {
  const der = Buffer.from(x509.PemConverter.decodeFirst(pem));
  const last = der.length - 5;
  der[last] = (der[last] ?? 0) ^ 0x01;
  return x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
}
