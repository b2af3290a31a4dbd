/** Helm from HELM_PATH, .tools/ (.ci/run builds it there from the Go module proxy) or PATH. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const helm = [
  process.env.HELM_PATH,
  fileURLToPath(new URL('../../.tools/helm', import.meta.url)),
  spawnSync('sh', ['-c', 'command -v helm'], { encoding: 'utf8' }).stdout.trim(),
].find((path) => path && existsSync(path));

/** Skips a test without Helm, except in CI, where its absence is a failure. */
export const needsHelm = {
  skip: helm || process.env.CI ? false : 'no helm (.ci/run builds it into .tools/)',
} as const;
