/** promtool from PROMTOOL_PATH, .tools/ (.ci/run puts Debian's there) or PATH; undefined when there is none. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const promtool = [
  process.env.PROMTOOL_PATH,
  fileURLToPath(new URL('../../.tools/promtool', import.meta.url)),
  spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim(),
].find((path) => path && existsSync(path));

/** Skips a test without promtool, except in CI, where its absence is a failure. */
export const needsPromtool = {
  skip: promtool || process.env.CI ? false : 'no promtool (.ci/run installs Debian’s into .tools/)',
} as const;
