import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { startHangar, T0 } from '../helpers/hangar.js';
import { createInstance, createKey } from '../helpers/genesis.js';

/**
 * A file store survives a restart: transitions that fell due while Hangar was down are
 * applied as it starts, exactly once, and the pinned demo token keeps working.
 */
describe('restart on a file store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-restart-'));
  const env = { HANGAR_DATABASE_URL: `sqlite:${join(dir, 'h.db')}`, HANGAR_DEMO_GENESIS_TOKEN: 'pinned-demo-token-for-restart' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('applies the overdue boot once at start-up', async () => {
    const first = await startHangar({ env });
    let instanceId: string;
    let snapshotId: string;
    try {
      expect(first.hangar.demo.credentials.genesis?.token).toBe('pinned-demo-token-for-restart');
      const key = await createKey(first.genesis);
      instanceId = (await createInstance(first.genesis, { ssh_keys: [key.id] })).id;
      snapshotId = (await first.genesis.post('/snapshots', { name: 'import', size: 10, url: 'https://images.example.com/a.raw', region: 'NORD-NO-KRS-1' })).body.snapshot.id;
      // Half-way through the boot.
      await first.advance(1_000);
      expect((await first.genesis.get(`/instances/${instanceId}`)).body.instance.status).toBe('creating');
    } finally {
      await first.close();
    }
    expect(existsSync(join(dir, 'demo-credentials.json'))).toBe(true);

    const second = await startHangar({ env, clock: new Clock({ frozenAt: T0 + 10_000 }) });
    try {
      expect(second.hangar.demo.credentials.genesis?.token).toBe('pinned-demo-token-for-restart');
      // The same token, presented by the new server's client, still works.
      const res = await second.genesis.get(`/instances/${instanceId}`);
      expect(res.status).toBe(200);
      const instance = res.body.instance;
      expect(instance.status).toBe('active');
      expect(instance.private_ip).toMatch(/^10\./);
      // Stamped with the instant it fell due, not the instant it was applied.
      expect(instance.updated_at).toBe(new Date(T0 + 3_000).toISOString());
      expect((await second.genesis.get(`/snapshots/${snapshotId}`)).body.snapshot.status).toBe('created');

      const db = second.hangar.kernel.db;
      const boots = await db.selectFrom('lifecycle_log').selectAll().where('resource_id', '=', instanceId).execute();
      expect(boots).toHaveLength(1);
      expect(boots[0]).toMatchObject({ transition: 'boot', from_state: 'creating', to_state: 'active' });
      expect(Number(boots[0]!.due_at)).toBe(T0 + 3_000);
      expect(Number(boots[0]!.applied_at)).toBe(T0 + 10_000);
      expect(await second.hangar.kernel.lifecycle.pending(instanceId)).toBe(0);

      // Running again applies nothing more.
      expect(await second.hangar.kernel.lifecycle.runDue()).toBe(0);
      expect(await db.selectFrom('lifecycle_log').selectAll().where('resource_id', '=', instanceId).execute()).toHaveLength(1);
      expect((await second.genesis.get('/instances')).body.total_count).toBe(1);
    } finally {
      await second.close();
    }

    // A third start finds the same state and the same single log row.
    const third = await startHangar({ env, clock: new Clock({ frozenAt: T0 + 20_000 }) });
    try {
      expect((await third.genesis.get(`/instances/${instanceId}`)).body.instance.status).toBe('active');
      const rows = await third.hangar.kernel.db.selectFrom('lifecycle_log').selectAll().where('transition', '=', 'boot').execute();
      expect(rows).toHaveLength(1);
    } finally {
      await third.close();
    }
  });

  it('keeps a random demo token across restarts through the credentials file', async () => {
    const other = mkdtempSync(join(tmpdir(), 'hangar-restart-'));
    try {
      const fileEnv = { HANGAR_DATABASE_URL: `sqlite:${join(other, 'h.db')}` };
      const first = await startHangar({ env: fileEnv });
      const token = String(first.hangar.demo.credentials.genesis?.token);
      const key = await createKey(first.genesis, 'kept');
      await first.close();

      const second = await startHangar({ env: fileEnv });
      try {
        expect(second.hangar.demo.credentials.genesis?.token).toBe(token);
        expect(second.hangar.demo.accountId).toBe(first.demoAccountId);
        expect((await second.genesis.get(`/ssh-keys/${key.id}`)).body.name).toBe('kept');
      } finally {
        await second.close();
      }
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
