/**
 * One `temporal.toml` profile for the Temporal CLI and the connector's CLI: both read it the same way
 * (Temporal's environment configuration), so an operator configures Temporal once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalCli } from '../../scripts/temporal-cli.ts';
import { certificateWorkflowId } from '../../src/contract/certificate.ts';
import { namespaceCheck, temporalTarget } from '../../src/temporal-connection.ts';
import { runToEnd, startTemporal } from '../helpers/environment.ts';

describe('a temporal.toml profile', () => {
  let env: TestWorkflowEnvironment;
  let file: string;
  const workflowId = certificateWorkflowId('CERT-4242');

  before(async () => {
    env = await startTemporal();
    file = join(mkdtempSync(join(tmpdir(), 'cert-profile-')), 'temporal.toml');
    writeFileSync(
      file,
      [
        '[profile.sandbox]',
        `address = "${env.address}"`,
        'namespace = "default"',
        '',
        '[profile.elsewhere]',
        `address = "${env.address}"`,
        'namespace = "no-such-namespace"',
        '',
      ].join('\n'),
    );
    // A workflow for both to find; no worker runs it.
    await env.client.workflow.start('certificateLifecycle', { taskQueue: 'nobody', workflowId, args: [] });
  });
  after(async () => {
    await env?.teardown();
  });

  const temporal = (profile: string, ...args: string[]) =>
    runToEnd(findTemporalCli() ?? 'temporal', [...args, '--profile', profile, '--config-file', file], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
  const connector = (profile: string, ...args: string[]) =>
    runToEnd(process.execPath, ['src/client/cli.ts', ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: profile },
    });

  it('takes the Temporal CLI and the connector to the same server and namespace', async () => {
    const described = await temporal('sandbox', 'workflow', 'describe', '--workflow-id', workflowId, '-o', 'json');
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, new RegExp(workflowId));
    // The connector's CLI reaches it too: asked for a workflow that is not there, the server says so.
    const missing = await connector('sandbox', 'history', 'CERT-4243');
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /no certificate workflow for CERT-4243/);
  });

  it('fails the same way for both when the profile names a namespace the server does not have', async () => {
    const described = await temporal('elsewhere', 'workflow', 'describe', '--workflow-id', workflowId);
    assert.notEqual(described.code, 0);
    assert.match(described.stderr, /no-such-namespace/);
    const refused = await connector('elsewhere', 'list');
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(
      refused.stderr,
      /cannot use Temporal at .* \(profile "elsewhere" of .*temporal\.toml and TEMPORAL_\* variables\): namespace "no-such-namespace" does not exist there: check TEMPORAL_NAMESPACE/,
    );
  });

  it("gives /readyz's Temporal check the same explanation", async () => {
    const target = temporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'elsewhere' });
    const client = new Client({ connection: env.client.connection, namespace: target.namespace });
    await assert.rejects(namespaceCheck(client, target)(), /namespace "no-such-namespace" does not exist there/);
    await namespaceCheck(env.client, temporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'sandbox' }))();
  });
});
