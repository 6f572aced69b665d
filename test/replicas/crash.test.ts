import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresSchema, postgresUrl, spawnHangar } from '../helpers/process.js';

const TOKEN = 'crash-test-token-0123456789abcdef';

/**
 * A writer creates instances as fast as it can; the server is killed with SIGKILL mid-stream
 * and started again. Every create that was answered 2xx must be there, and every transition
 * that was pending must be applied after the restart.
 */
async function crashAndRecover(env: Record<string, string>, inspect: () => Promise<{ pending: number }>) {
  const first = await spawnHangar(env);
  const created: string[] = [];
  let stop = false;
  const writer = async () => {
    for (let i = 0; !stop; i++) {
      try {
        const res = await fetch(`${first.url}/compute/v1/instances`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `c-${i}`, hostname: `c-${i}`, type: 'vcpu-2_memory-4g', region: 'NORD-NO-KRS-1', image: 'ubuntu-22.04', password: 'crash-safety-first' }),
        });
        if (res.status === 201) created.push(((await res.json()) as { instance: { id: string } }).instance.id);
      } catch {
        return; // the server is gone
      }
    }
  };
  const writers = Array.from({ length: 8 }, writer);
  // Killed mid-stream once enough creates were acknowledged, however slow the machine is.
  while (created.length < 20) await new Promise((r) => setTimeout(r, 20));
  await first.stop('SIGKILL');
  stop = true;
  await Promise.all(writers);
  expect(created.length).toBeGreaterThanOrEqual(20);

  const second = await spawnHangar(env);
  try {
    for (const id of created) {
      const res = await fetch(`${second.url}/compute/v1/instances/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status, `instance ${id} answered 201 before the crash`).toBe(200);
    }
    // Boots take 3 s under the fast profile: all of them complete after the restart. The
    // deadline only ends a hung run; a busy machine stays well inside it.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const list = (await (await fetch(`${second.url}/compute/v1/instances?per_page=100`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
        total_count: number;
      };
      const statuses = await Promise.all(
        created.slice(0, 100).map(async (id) => ((await (await fetch(`${second.url}/compute/v1/instances/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as any).instance.status),
      );
      const { pending } = await inspect();
      if (pending === 0 && statuses.every((s) => s === 'active')) {
        expect(list.total_count).toBeGreaterThanOrEqual(created.length);
        break;
      }
      if (Date.now() > deadline) throw new Error(`after restart: ${pending} transitions still pending`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await second.stop();
  }
}

describe('crash safety', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it.runIf(process.env.HANGAR_TEST_ENGINE !== 'postgres')('on SQLite: nothing acknowledged is lost, nothing due is left undone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-crash-'));
    dirs.push(dir);
    const file = join(dir, 'hangar.db');
    const env = { HANGAR_DATABASE_URL: `sqlite:${file}`, HANGAR_DEMO_GENESIS_TOKEN: TOKEN, HANGAR_TIMINGS: 'fast' };
    const Database = (await import('better-sqlite3')).default;
    await crashAndRecover(env, async () => {
      const db = new Database(file, { readonly: true });
      try {
        return { pending: (db.prepare('select count(*) as n from lifecycle_timers').get() as { n: number }).n };
      } finally {
        db.close();
      }
    });
  }, 180_000);

  it.runIf(postgresUrl && process.env.HANGAR_TEST_ENGINE !== 'sqlite')('on PostgreSQL: the same', async () => {
    const db = await postgresSchema(postgresUrl!);
    try {
      const env = { HANGAR_DATABASE_URL: db.url, HANGAR_SECRET_KEY: 'crash-test-sealing-key', HANGAR_DEMO_GENESIS_TOKEN: TOKEN, HANGAR_TIMINGS: 'fast' };
      await crashAndRecover(env, async () => ({ pending: (await db.query<{ n: number }>('select count(*)::int as n from lifecycle_timers'))[0]!.n }));
    } finally {
      await db.drop();
    }
  }, 180_000);
});
