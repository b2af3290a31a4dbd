/**
 * Provides the Temporal CLI (dev server + Web UI) without depending on temporal.download:
 *   1. TEMPORAL_CLI_PATH, when set;
 *   2. a project-local build from the Go module proxy in .temporal/bin (built once, then reused);
 *   3. otherwise undefined, and callers let the SDK download the server (needs internet).
 *
 * `node scripts/temporal-cli.ts --install` builds it and prints its path; it is idempotent.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** v1.5.1 is the newest CLI tag whose go.mod `go install` accepts (later tags carry a replace directive). */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const localBinary = join(projectRoot, '.temporal', 'bin', 'temporal');

/** The path of an installed CLI, or undefined when none is available locally. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.TEMPORAL_CLI_PATH?.trim();
  if (configured) {
    if (!existsSync(configured)) throw new Error(`TEMPORAL_CLI_PATH points to ${configured}, which does not exist`);
    return configured;
  }
  return existsSync(localBinary) ? localBinary : undefined;
}

/** Finds the CLI, building it from the Go module proxy when Go is available. */
export function installTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const found = findTemporalCli(env);
  if (found) return found;
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    console.error('temporal-cli: Go is not installed; the Temporal SDK will download the dev server instead.');
    return undefined;
  }
  mkdirSync(dirname(localBinary), { recursive: true });
  console.error(`temporal-cli: building ${TEMPORAL_CLI_MODULE} (once; a few minutes on a cold Go cache)`);
  execFileSync('go', ['install', '-ldflags=-s -w', TEMPORAL_CLI_MODULE], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CGO_ENABLED: '0', GOBIN: dirname(localBinary), GOFLAGS: '-mod=mod' },
  });
  return localBinary;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv.includes('--install') ? installTemporalCli() : findTemporalCli();
  console.log(path ?? '(none: the SDK will download the dev server)');
}
