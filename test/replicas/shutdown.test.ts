import { describe, expect, it } from 'vitest';
import { spawnHangar } from '../helpers/process.js';

const TOKEN = 'shutdown-test-token-0123456789ab';

describe('graceful shutdown', () => {
  it('finishes a request in flight on SIGTERM, refuses new ones, and exits cleanly', async () => {
    const server = await spawnHangar({ HANGAR_DATABASE_URL: 'sqlite::memory:', HANGAR_DEMO_GENESIS_TOKEN: TOKEN });
    // Slow the next call down, so it is still running when the signal arrives.
    const rule = await fetch(`${server.url}/admin/v1/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cloud: 'genesis', method: 'GET', path: '/compute/v1/instances', count: 1, latency_ms: 1500 }),
    });
    expect(rule.status).toBe(201);
    const inFlight = fetch(`${server.url}/compute/v1/instances`, { headers: { authorization: `Bearer ${TOKEN}` } });
    await new Promise((r) => setTimeout(r, 300));
    const exited = server.stop('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ instances: [], total_count: 0 });
    expect(await exited).toBe(0);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  }, 30_000);
});
