import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHangar, type Hangar } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Clock } from '../../src/kernel/clock.js';
import { migrate } from '../../src/kernel/db/migrate.js';
import { openStore } from '../../src/kernel/db/store.js';
import { hashToken } from '../../src/kernel/tenancy/accounts.js';
import { firstGenesisMigrations, firstKernelMigrations } from '../fixtures/first-schema.js';
import { genesisSpecValidator, GENESIS, publicKey, testStore, T0 } from '../helpers/hangar.js';
import { HttpClient } from '../helpers/http-client.js';

/**
 * A store created by the first Hangar (its schema kept in test/fixtures/first-schema.ts), with
 * data in it as that Hangar wrote it, opened by today's Hangar: it migrates in place and serves
 * the same data, and everything added since works on it.
 */
describe('upgrading a store created by the first landed schema', () => {
  let hangar: Hangar | undefined;
  let cleanup: () => Promise<void> = async () => undefined;
  afterEach(async () => {
    await hangar?.close();
    hangar = undefined;
    await cleanup();
  });

  /** A store that outlives its first opening: a file on SQLite, a schema of its own on PostgreSQL. */
  function durableStore(): string {
    if (process.env.HANGAR_TEST_ENGINE === 'postgres' && process.env.HANGAR_TEST_POSTGRES_URL) {
      const store = testStore();
      cleanup = store.drop;
      return store.url;
    }
    const dir = mkdtempSync(join(tmpdir(), 'hangar-upgrade-'));
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
    return `sqlite:${join(dir, 'hangar.db')}`;
  }

  const ACCOUNT = '11111111-1111-4111-8111-111111111111';
  const INSTANCE = '22222222-2222-4222-8222-222222222222';
  const CREATED = T0 - 3_600_000;
  const REGION = 'NORD-NO-KRS-1';

  /** The rows the first Hangar would have written for an account with two keys, a volume and a stopping instance. */
  async function firstHangarData(url: string): Promise<void> {
    const store = await openStore(url);
    try {
      await migrate(store.db, 'kernel', firstKernelMigrations, store.schema);
      await migrate(store.db, 'genesis', firstGenesisMigrations, store.schema);
      const db = store.db;
      await db.insertInto('accounts').values({ id: ACCOUNT, name: 'demo', created_at: CREATED }).execute();
      await db
        .insertInto('credentials')
        .values({ id: 'c1', account_id: ACCOUNT, cloud: 'genesis', kind: 'token', lookup: hashToken('first-token'), secret_sealed: null, label: 'default', created_at: CREATED, expires_at: null })
        .execute();
      const key = (id: string, name: string) => ({ id, account_id: ACCOUNT, name, value: publicKey(), fingerprint: `fp-${name}`, type: 'ssh-ed25519', size: 256, created_at: CREATED, updated_at: CREATED });
      // Two keys made in the same millisecond: the list showed them by id then.
      await db.insertInto('genesis_ssh_keys').values([key('bbbbbbbb-0000-4000-8000-000000000000', 'second'), key('aaaaaaaa-0000-4000-8000-000000000000', 'first')]).execute();
      await db
        .insertInto('genesis_volumes')
        .values({ id: '33333333-3333-4333-8333-333333333333', account_id: ACCOUNT, name: 'data', description: '', type: 'ssd', size: 50, region: REGION, status: 'available', created_at: CREATED, updated_at: CREATED })
        .execute();
      await db
        .insertInto('genesis_instances')
        .values({
          id: INSTANCE, account_id: ACCOUNT, name: 'worker', hostname: 'worker', type: 'vcpu-2_memory-4g', region: REGION, placement_option: 'AUTO',
          image_id: '7b1644e2-d97d-4725-a927-0028bc60bc28', image_name: 'Ubuntu 22.04', os_type: 'linux', status: 'stopping',
          private_ip: '10.1.0.5', public_ip: '185.1.0.5', public_ip_type: 'static', dns_name: 'worker.example', is_protected: 0, disk_size: 80,
          destroy_on_shutdown: 0, public_ipv6: 0, billing_type: 'on-demand', reservation_id: null, metadata: '{"startup_script":"echo hi"}',
          created_at: CREATED + 1, updated_at: CREATED + 1,
        })
        .execute();
      await db.insertInto('genesis_instance_links').values({ instance_id: INSTANCE, kind: 'ssh_key', target_id: 'aaaaaaaa-0000-4000-8000-000000000000', target_name: 'first', position: 0 }).execute();
      await db
        .insertInto('counters')
        .values([
          { account_id: ACCOUNT, key: 'genesis.instances', value: 1 },
          { account_id: ACCOUNT, key: 'genesis.ssh_keys', value: 2 },
          { account_id: ACCOUNT, key: 'genesis.volumes', value: 1 },
        ])
        .execute();
      // The instance's stop, pending when that Hangar stopped (timers had no `held` then).
      await db.insertInto('lifecycle_timers').values({ id: 't1', kind: 'genesis.instance', resource_id: INSTANCE, transition: 'stop', due_at: T0 + 1_000, created_at: CREATED }).execute();
    } finally {
      await store.close();
    }
  }

  it('migrates in place with its data intact, and serves what was added since', async () => {
    const url = durableStore();
    await firstHangarData(url);
    const clock = new Clock({ frozenAt: T0 });
    const config = loadConfig({ HANGAR_DATABASE_URL: url, HANGAR_SECRET_KEY: 'hangar-test-sealing-key', HANGAR_RATE_LIMIT: '0', HANGAR_LOG_LEVEL: 'warn', PORT: '0' });
    hangar = await createHangar(config, { clock });
    const base = await hangar.listen();
    const genesis = new HttpClient(base + GENESIS, { authorization: 'Bearer first-token' }, genesisSpecValidator());

    const instance = (await genesis.get(`/instances/${INSTANCE}`)).body.instance;
    expect(instance).toMatchObject({ id: INSTANCE, name: 'worker', status: 'stopping', private_ip: '10.1.0.5', public_ip: '185.1.0.5', disk_size: 80 });
    expect(instance.ssh_keys.map((k: { name: string }) => k.name)).toEqual(['first']);
    expect((await genesis.get(`/instances/${INSTANCE}/user-metadata`)).body).toEqual({ startup_script: 'echo hi' });
    expect((await genesis.get('/volumes')).body.volumes.map((v: { name: string; size: number }) => [v.name, v.size])).toEqual([['data', 50]]);

    // Lists keep the order they had (creation time, then id), and what is created now comes after.
    expect((await genesis.post('/ssh-keys', { name: 'third', value: publicKey() })).status).toBe(201);
    expect((await genesis.get('/ssh-keys')).body.ssh_keys.map((k: { name: string }) => k.name)).toEqual(['first', 'second', 'third']);

    // The stop that was pending applies (the timer row gained `held`, not held).
    clock.advance(1_000);
    await hangar.kernel.lifecycle.runDue();
    expect((await genesis.get(`/instances/${INSTANCE}`)).body.instance.status).toBe('stopped');

    // Filesystems did not exist in that schema; they do now.
    const fs = await genesis.post('/filesystems', { name: 'shared', size: 100, region: REGION });
    expect(fs.status, fs.text).toBe(201);
    expect((await genesis.get('/filesystems')).body.filesystems.map((f: { name: string }) => f.name)).toEqual(['shared']);
    expect((await genesis.post('/instances', { name: 'next', hostname: 'next', type: 'vcpu-2_memory-4g', region: REGION, image: 'ubuntu-22.04', ssh_keys: ['aaaaaaaa-0000-4000-8000-000000000000'] })).status).toBe(201);
    expect((await genesis.get('/instances')).body.instances.map((i: { name: string }) => i.name)).toEqual(['worker', 'next']);

    // Restarting on the upgraded store migrates nothing more and changes nothing.
    const exported = await hangar.kernel.state.export();
    await hangar.close();
    hangar = await createHangar(config, { clock });
    expect(await hangar.kernel.state.export()).toEqual(exported);
  });
});
