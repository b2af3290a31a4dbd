/**
 * The worker's operations endpoint: `GET /metrics` (Prometheus text), `GET /healthz` (the process
 * answers) and `GET /readyz` (every readiness check passes: 200, else 503 naming what failed).
 */
import { createServer, type Server } from 'node:http';
import type { ConnectorMetrics } from './metrics.ts';
import { log } from './log.ts';

/** A readiness check: resolves when ready, rejects with what is wrong. */
export type ReadinessCheck = () => Promise<void>;

export interface OpsServerOptions {
  metrics: ConnectorMetrics;
  checks: Record<string, ReadinessCheck>;
}

const CHECK_TIMEOUT_MS = 5000;

export function createOpsServer({ metrics, checks }: OpsServerOptions): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    };
    if (req.method !== 'GET') return reply(405, 'application/json', '{"error":"method not allowed"}');
    if (path === '/healthz') return reply(200, 'application/json', '{"status":"ok"}');
    if (path === '/readyz') {
      void readiness(checks).then(({ ready, results }) =>
        reply(
          ready ? 200 : 503,
          'application/json',
          JSON.stringify({ status: ready ? 'ready' : 'not ready', checks: results }),
        ),
      );
      return;
    }
    if (path === '/metrics') {
      metrics.text().then(
        (text) => reply(200, metrics.registry.contentType, text),
        (err: unknown) => {
          log.error('metrics could not be collected', { error: (err as Error).message });
          reply(500, 'text/plain', 'metrics could not be collected\n');
        },
      );
      return;
    }
    reply(404, 'application/json', '{"error":"not found"}');
  });
}

/** Runs every check (each within 5 s); answers whether all passed, and each one's result. */
export async function readiness(
  checks: Record<string, ReadinessCheck>,
): Promise<{ ready: boolean; results: Record<string, string> }> {
  const results: Record<string, string> = {};
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref(),
          ),
        ]);
        results[name] = 'ok';
      } catch (err) {
        results[name] = (err as Error).message;
      }
    }),
  );
  return { ready: Object.values(results).every((r) => r === 'ok'), results };
}
