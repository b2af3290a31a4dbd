/** A command-line tool the tests run: from its variable, .tools/ (where .ci/run puts it) or PATH. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function localTool(name: string, variable: string, howInstalled: string) {
  const path = [
    process.env[variable],
    fileURLToPath(new URL(`../../.tools/${name}`, import.meta.url)),
    spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim(),
  ].find((candidate) => candidate && existsSync(candidate));
  return {
    path,
    /** Skips a test without the tool, except in CI, where its absence is a failure. */
    needs: { skip: path || process.env.CI ? false : `no ${name} (${howInstalled})` } as const,
  };
}
