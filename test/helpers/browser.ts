/** The browser the Web UI tests drive: Chromium from the OS packages, through playwright-core. */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Chromium from the OS packages (CHROMIUM_PATH overrides); .ci/run installs Debian's. */
export const chromiumPath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (path) => path && existsSync(path),
);

/** Without a browser a suite cannot run; in CI that is a failure, not a skip. */
export const needsChromium = {
  skip: chromiumPath || process.env.CI ? false : 'no Chromium: install it (Debian: apt-get install chromium)',
};

/** Chromium, headless, as the tests run it; fails where there is none. */
export function launchChromium(): Promise<Browser> {
  if (!chromiumPath) throw new Error('Chromium is needed: apt-get install chromium');
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
