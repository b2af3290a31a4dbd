/**
 * Provides the Temporal servers without depending on temporal.download:
 *
 * The CLI (dev server + Web UI):
 *   1. TEMPORAL_CLI_PATH, when set;
 *   2. a project-local build from the Go module proxy in .temporal/bin (built once, then reused);
 *   3. otherwise undefined, and callers let the SDK download the server (needs internet).
 *
 * The time-skipping test server (Java, from Maven Central) in .temporal/test-server, when Maven and a JDK
 * are there; tests that need it say so when it is not.
 *
 * `node scripts/temporal-cli.ts --install` provides both and prints their paths; it is idempotent.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** v1.5.1 is the newest CLI tag whose go.mod `go install` accepts (later tags carry a replace directive). */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/** The Java SDK release whose test server the time-skipping tests use. */
export const TEMPORAL_TEST_SERVER_VERSION = '1.38.0';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const localBinary = join(projectRoot, '.temporal', 'bin', 'temporal');
const testServerDir = join(projectRoot, '.temporal', 'test-server');
const testServerLauncher = join(testServerDir, 'temporal-test-server');

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

/** The launcher of the time-skipping test server, if installed. */
export function findTestServer(): string | undefined {
  return existsSync(testServerLauncher) ? testServerLauncher : undefined;
}

/** Fetches io.temporal:temporal-test-server and its dependencies with Maven, and writes its launcher. */
export function installTestServer(): string | undefined {
  const found = findTestServer();
  if (found) return found;
  const missing = ['mvn', 'java'].filter((tool) => spawnSync(tool, ['-version'], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) {
    console.error(`temporal-cli: no ${missing.join(' or ')}; the time-skipping tests will say they cannot run.`);
    return undefined;
  }
  mkdirSync(testServerDir, { recursive: true });
  writeFileSync(
    join(testServerDir, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.certificate-lifecycle</groupId>
  <artifactId>temporal-test-server-runtime</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>${TEMPORAL_TEST_SERVER_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`,
  );
  console.error(
    `temporal-cli: fetching io.temporal:temporal-test-server:${TEMPORAL_TEST_SERVER_VERSION} from Maven Central`,
  );
  execFileSync(
    'mvn',
    ['-q', '-B', '-f', join(testServerDir, 'pom.xml'), 'dependency:copy-dependencies', '-DoutputDirectory=lib'],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  if (!readdirSync(join(testServerDir, 'lib')).some((jar) => jar.startsWith('temporal-test-server-'))) {
    throw new Error('Maven did not provide temporal-test-server');
  }
  // The SDK starts this with the port as its argument and kills it with SIGKILL: exec, so nothing is orphaned.
  writeFileSync(
    testServerLauncher,
    `#!/bin/sh
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "${join(testServerDir, 'lib')}/*" io.temporal.testserver.TestServer "$@"
`,
  );
  chmodSync(testServerLauncher, 0o755);
  return testServerLauncher;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const install = process.argv.includes('--install');
  const cli = install ? installTemporalCli() : findTemporalCli();
  console.log(`dev server: ${cli ?? '(none: the SDK will download it)'}`);
  const testServer = install ? installTestServer() : findTestServer();
  console.log(`time-skipping test server: ${testServer ?? '(none)'}`);
}
