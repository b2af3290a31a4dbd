/**
 * The workflow code as a worker loads it. Bundling (webpack and its loaders) takes some 150 MiB that
 * the process never gives back, so the worker does not bundle in its own heap: it reads a bundle built
 * ahead of time (`WORKFLOW_BUNDLE`, as the image does), or builds one in a short-lived child process.
 *
 * As a script, `node src/workflow-bundle.ts OUT` writes the bundle to OUT.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import manifest from '../package.json' with { type: 'json' };

export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
const thisScript = fileURLToPath(import.meta.url);

/** The bundled workflow code: read from `prebuilt` when given, otherwise bundled by a child process. */
export async function loadWorkflowBundle(prebuilt?: string): Promise<{ code: string }> {
  if (prebuilt) return { code: await readFile(prebuilt, 'utf8') };
  const dir = await mkdtemp(join(tmpdir(), 'workflow-bundle-'));
  try {
    const out = join(dir, 'workflows.js');
    await promisify(execFile)(process.execPath, [thisScript, out], { maxBuffer: 16 * 1024 * 1024 });
    return { code: await readFile(out, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The build id the workers stamp on every workflow task they complete, which the Web UI shows and
 * `temporal workflow reset` can select by: the connector's version and the first 12 hex digits of its
 * workflow code's SHA-256, say `0.1.0+3f9a1c2b7d4e` (semver's build metadata). The SDK's default names
 * the SDK instead, with the whole digest (87 characters); the server keeps the build id seven times per
 * certificate (its history, its mutable state and its visibility row), so at 100,000 certificates every
 * character costs 0.7 MB of the database.
 */
export function buildIdOf(bundle: { code: string }): string {
  const digest = createHash('sha256').update(bundle.code).digest('hex').slice(0, 12);
  return `${manifest.version}+${digest}`;
}

if (process.argv[1] === thisScript) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node src/workflow-bundle.ts OUT');
    process.exit(2);
  }
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  await writeFile(out, code);
}
