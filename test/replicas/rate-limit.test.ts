import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redisUrl, spawnHangar, type HangarProcess } from '../helpers/process.js';

/** Two replicas on one store: with Redis they share each token's allowance; without, each counts its own. */
async function burst(withRedis: boolean): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-rl-'));
  const token = `rl-${randomBytes(12).toString('hex')}`; // a key of its own in Redis, whatever ran before
  const env: Record<string, string> = {
    HANGAR_DATABASE_URL: `sqlite:${join(dir, 'h.db')}`,
    HANGAR_DEMO_GENESIS_TOKEN: token,
    HANGAR_RATE_LIMIT: '5',
    // A window far longer than the burst: the count cannot restart mid-burst on a slow machine
    HANGAR_RATE_LIMIT_WINDOW: '10m',
    ...(withRedis ? { HANGAR_REDIS_URL: redisUrl! } : {}),
  };
  const replicas: HangarProcess[] = [];
  try {
    replicas.push(await spawnHangar(env)); // the first bootstraps the store, then the second joins it
    replicas.push(await spawnHangar(env));
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${replicas[i % 2]!.url}/compute/v1/ssh-keys`, { headers: { authorization: `Bearer ${token}` } });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(await res.json()).toMatchObject({ code: '02009' });
      }
    }
    return statuses;
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.runIf(redisUrl && process.env.HANGAR_TEST_ENGINE !== 'postgres')('Genesis rate limit across replicas', () => {
  it('holds across two replicas sharing Redis: 5 of 8 quick requests pass, the rest get 429', async () => {
    const statuses = await burst(true);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3);
  }, 60_000);

  it('without Redis each replica counts alone (so all 8 pass): what sharing prevents', async () => {
    const statuses = await burst(false);
    expect(statuses.every((s) => s === 200)).toBe(true);
  }, 60_000);
});
