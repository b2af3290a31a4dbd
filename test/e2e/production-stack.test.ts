/**
 * The production stack's start (scripts/production.ts) refuses ports something else holds, before it
 * starts anything: a Temporal server that cannot bind would leave its clients talking to whatever answers
 * there. (Starting it for real is the production lane's: `npm run test:production`.)
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startProductionStack } from '../../scripts/production.ts';

describe('the production stack’s ports', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'stack-')), 'data');
  after(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('refuses to start while one of its ports is taken, names it, and starts nothing', async () => {
    // A frontend port whose base leaves the membership ports below 32768, held here (or by someone else).
    const frontend = 21_233;
    const holder = createServer();
    await new Promise<void>((resolve) => holder.once('error', () => resolve()).listen(frontend, '127.0.0.1', resolve));
    try {
      await assert.rejects(startProductionStack({ dir, basePort: frontend - 233 }), (err: Error) => {
        assert.match(err.message, new RegExp(`^ports in use: (\\d+ \\([^)]+\\), )*${frontend} \\(frontend gRPC\\)`));
        assert.match(err.message, /PRODUCTION_BASE_PORT, now \d+, moves them all\)$/);
        return true;
      });
      assert.equal(existsSync(dir), false, 'no data directory, no PostgreSQL');
    } finally {
      holder.close();
    }
  });

  it('refuses a base port that would put the membership ports past 32767', async () => {
    await assert.rejects(
      startProductionStack({ dir, basePort: 32_000 }),
      /base port 32000: give one from 1024 to 31828/,
    );
  });
});
