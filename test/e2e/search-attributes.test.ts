/**
 * The worker's check that the namespace holds the search attributes the workflows write, on a real dev
 * server: the sandbox's namespace has them all; a namespace registered bare has none, and each is named
 * with the command that registers it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { missingSearchAttributes } from '../../src/connector.ts';
import { searchAttributes } from '../../src/contract/shared.ts';
import { eventually, startTemporal } from '../helpers/environment.ts';

describe('search attributes', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await startTemporal();
  });
  after(async () => {
    await env?.teardown();
  });

  it('finds every one registered in the namespace the dev server was started with', async () => {
    assert.deepEqual(await missingSearchAttributes(env.client, 'default'), []);
  });

  it('names each one a bare namespace lacks, with the command that registers it', async () => {
    await env.connection.workflowService.registerNamespace({
      namespace: 'bare',
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    const client = new Client({ connection: env.connection, namespace: 'bare' });
    // A new namespace reaches the server's caches within seconds.
    const missing = await eventually(
      async () =>
        (await missingSearchAttributes(client, 'bare').catch(() => [])).length > 0
          ? await missingSearchAttributes(client, 'bare')
          : undefined,
      'the bare namespace',
    );
    assert.equal(missing.length, Object.keys(searchAttributes).length);
    assert.ok(
      missing.includes(
        'search attribute CertificateNotAfter is not registered in namespace bare: ' +
          'temporal operator search-attribute create --namespace bare --name CertificateNotAfter --type Datetime',
      ),
    );
    assert.ok(missing.some((m) => m.endsWith('--name CertificateProfileFingerprint --type Keyword')));
  });
});
