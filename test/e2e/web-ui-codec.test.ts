/**
 * The Web UI with encrypted payloads, in a real browser: the dev server's UI is given the codec endpoint
 * (`npm run codec-server`), and shows the certificate's details in clear, which Temporal holds encrypted
 * (payload-codec.test.ts finds no requester name in the raw history: these details could come only
 * through the endpoint).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Browser } from 'playwright-core';
import { findTemporalCli } from '../../scripts/temporal-cli.ts';
import { createCodecServer } from '../../src/client/codec-server.ts';
import { DEV_SERVER_ARGS } from '../../src/connector.ts';
import { certificateWorkflowId } from '../../src/contract/certificate.ts';
import { searchAttributes } from '../../src/contract/shared.ts';
import { close, listen } from '../../src/http.ts';
import { freeLoopbackPort } from '../../src/metrics.ts';
import { EncryptionCodec, parseEncryptionKeys, PAYLOAD_KEYS_VARIABLE } from '../../src/payload-codec.ts';
import { SANDBOX_USERS } from '../../src/sandbox/jira-emulator.ts';
import { Requester } from '../../src/sandbox/requester.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { connectTemporal, temporalTarget, type TemporalConnections } from '../../src/temporal-connection.ts';
import { opensslCsr, spawnWorker, startTemporalRuntime, untilPhase } from '../helpers/environment.ts';
import { launchChromium, needsChromium } from '../helpers/browser.ts';

describe('the Web UI with the codec endpoint', needsChromium, () => {
  const keys = { [PAYLOAD_KEYS_VARIABLE]: `ui:${Buffer.alloc(32, 9).toString('base64')}` };
  let codecServer: Server;
  let env: TestWorkflowEnvironment;
  let connections: TemporalConnections;
  let sandbox: Sandbox;
  let worker: ChildProcess;
  let browser: Browser;
  let ui: string;
  let issueKey: string;

  before(async () => {
    const uiPort = await freeLoopbackPort();
    ui = `http://127.0.0.1:${uiPort}`;
    codecServer = createCodecServer({
      codec: new EncryptionCodec(parseEncryptionKeys(keys[PAYLOAD_KEYS_VARIABLE])),
      corsOrigins: [ui],
      authToken: undefined,
    });
    const endpoint = await listen(codecServer, 0);
    startTemporalRuntime();
    env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: findTemporalCli() ?? 'temporal' },
        ui: true,
        uiPort,
        searchAttributes: Object.values(searchAttributes),
        dbFilename: join(mkdtempSync(join(tmpdir(), 'cert-temporal-')), 'temporal.db'),
        extraArgs: [...DEV_SERVER_ARGS, '--ui-codec-endpoint', endpoint],
      },
    });
    connections = await connectTemporal(temporalTarget({ TEMPORAL_ADDRESS: env.address, ...keys }));
    sandbox = await startSandbox({ client: connections.client, scm: { issuanceDelayMs: 0 } });
    worker = spawnWorker({ sandbox, env: { address: env.address } }, { env: keys });
    const alice = new Requester(sandbox.jiraEmulator.url, SANDBOX_USERS.alice);
    issueKey = await alice.createCertificateIssue({
      profile: 'OV Server Certificate',
      csr: opensslCsr('/CN=sealed-ui.example.com', 'ec-p256'),
    });
    await alice.transition(issueKey, 'Enroll Certificate');
    await untilPhase(connections.client, issueKey, 'Active');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    worker?.kill('SIGKILL');
    await sandbox?.stop();
    await connections?.close();
    await env?.teardown();
    if (codecServer) await close(codecServer);
  });

  it("shows the certificate's details, decrypted by the codec endpoint", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(60_000);
    await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(certificateWorkflowId(issueKey))}`);
    await page.getByText('User Metadata').click();
    const wanted = `sealed-ui.example.com · OV Server Certificate · requested by ${SANDBOX_USERS.alice.displayName}`;
    const deadline = Date.now() + 60_000;
    let shown = '';
    while (Date.now() < deadline && !shown.includes(wanted)) {
      const frames = page.frames().filter((f) => f.url().includes('/render?'));
      const texts = await Promise.all(
        frames.map((f) =>
          f
            .locator('body')
            .innerText()
            .catch(() => ''),
        ),
      );
      shown = texts.join('\n');
      if (!shown.includes(wanted)) await page.waitForTimeout(500);
    }
    assert.ok(shown.includes(wanted), `the details in clear; the UI showed: ${shown.slice(0, 300)}`);
  });
});
