/**
 * The Temporal Web UI as an operator's console, in a real browser (Debian's Chromium, driven by
 * playwright-core; nothing is downloaded): find a certificate with a search-attribute query, open it, and
 * read its summary, details and current details. With UPDATE_SCREENSHOTS=1 the screenshots it takes
 * become the README's pictures (docs/screenshots/).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { certificateWorkflowId, statusQuery } from '../../src/contract/certificate.ts';
import { freeLoopbackPort } from '../../src/metrics.ts';
import { eventually, opensslCsr, startWorld, untilPhase, type World } from '../helpers/environment.ts';
import { launchChromium, needsChromium } from '../helpers/browser.ts';

// The README's pictures are refreshed on purpose (UPDATE_SCREENSHOTS=1); otherwise the shots go to a
// temporary directory and the tracked ones stay as they are.
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? new URL('../../docs/screenshots/', import.meta.url)
  : pathToFileURL(`${mkdtempSync(join(tmpdir(), 'web-ui-'))}/`);

describe('the Temporal Web UI as the console', needsChromium, () => {
  let world: World;
  let browser: Browser;
  let page: Page;
  let ui: string;
  const keys: string[] = [];

  before(async () => {
    const uiPort = await freeLoopbackPort();
    ui = `http://127.0.0.1:${uiPort}`;
    world = await startWorld({ uiPort, scm: { issuanceDelayMs: 100 } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(60_000);
    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const [domain, profile] of [
      ['shop.example.com', 'OV Server Certificate'],
      ['api.example.org', 'Short-lived Server Certificate'],
    ] as const) {
      const key = await world.alice.createCertificateIssue({
        summary: `TLS certificate for ${domain}`,
        profile,
        csr: opensslCsr(`/CN=${domain}`, 'ec-p256'),
      });
      await world.alice.transition(key, 'Enroll Certificate');
      keys.push(key);
    }
    for (const key of keys) await untilPhase(world.env.client, key, 'Active');
  });
  after(async () => {
    await browser?.close();
    await world?.teardown();
  });

  it('finds a certificate by a search-attribute query, and only that one', async () => {
    const query = `CertificateDomain = 'shop.example.com' AND CertificateStatus = 'Active'`;
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    const wanted = certificateWorkflowId(keys[0] ?? '');
    await page.getByRole('link', { name: wanted }).first().waitFor();
    const table = await page.locator('table').first().innerText();
    assert.ok(table.includes(wanted));
    assert.ok(!table.includes(certificateWorkflowId(keys[1] ?? '')), 'the other certificate is not listed');
    await page.screenshot({ path: new URL('web-ui-query.png', SCREENSHOTS).pathname });
  });

  /** The UI renders summaries and details as Markdown in frames of their own: the frame showing `text`. */
  const frameShowing = (text: string | RegExp) =>
    eventually(
      async () => {
        for (const frame of page.frames().filter((f) => f.url().includes('/render?'))) {
          const shown = await frame
            .locator('body')
            .innerText()
            .catch(() => '');
          if (typeof text === 'string' ? shown.includes(text) : text.test(shown)) return frame;
        }
        return undefined;
      },
      `a Markdown frame showing ${String(text)}`,
      60_000,
    );

  it('opens it and shows its summary, details with the issue link, and current details', async () => {
    const key = keys[0] ?? '';
    await page
      .getByRole('link', { name: certificateWorkflowId(key) })
      .first()
      .click();
    await page.getByText('User Metadata').click();
    await frameShowing(`shop.example.com — certificate for Jira issue ${key}`);
    const details = await frameShowing('shop.example.com · OV Server Certificate · requested by Alice');
    const issueUrl = `${world.sandbox.jiraEmulator.url}/browse/${key}`;
    assert.equal(await details.getByRole('link', { name: key, exact: true }).getAttribute('href'), issueUrl);
    const { certificateId } = await world.env.client.workflow.getHandle(certificateWorkflowId(key)).query(statusQuery);
    const current = await frameShowing(`shop.example.com · profile ov-server · certificate ${certificateId}`);
    const shown = await current.locator('body').innerText();
    assert.match(shown, /^Active — /);
    assert.match(shown, /expires \d{4}-\d\d-\d\d \d\d:\d\d UTC · renews \d{4}-/);
    assert.equal(await current.getByRole('link', { name: key, exact: true }).getAttribute('href'), issueUrl);
    await page
      .getByText(/automatic renewal at \d{4}-/)
      .first()
      .waitFor();
    await page.getByText('order a certificate for shop.example.com from SCM (profile ov-server)').first().waitFor();
    await page.screenshot({ path: new URL('web-ui-certificate.png', SCREENSHOTS).pathname });
  });

  it('shows what each step of the history did', async () => {
    await page
      .getByRole('tab', { name: /^History/ })
      .first()
      .click();
    await page.waitForURL(/\/history/);
    await page
      .getByText(/collectCertificate • collect certificate \d+ once SCM has issued it/)
      .first()
      .waitFor();
    await page.screenshot({ path: new URL('web-ui-history.png', SCREENSHOTS).pathname });
  });
});
