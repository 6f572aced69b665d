import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient } from '../helpers/http-client.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { activeInstance, createKey, expectError, GPU_TYPE, REGION } from '../helpers/genesis.js';

/**
 * Accounts never see each other: another account's resources are "not found" (404, never
 * 403, so their existence does not leak), cannot be used, and lists hold only one's own.
 */
describe('Genesis tenancy', () => {
  let h: TestHangar;
  let other: HttpClient;
  let key: any;
  let instance: any;
  let snapshot: any;
  let imported: any;

  beforeAll(async () => {
    h = await startHangar();
    other = (await h.newAccount('other')).genesis;
    key = await createKey(h.genesis, 'demo-key');
    instance = await activeInstance(h, { ssh_keys: [key.id] });
    snapshot = (await h.genesis.post(`/instances/${instance.id}/snapshots`, { name: 'demo-snap' })).body.snapshot;
    imported = (await h.genesis.post('/snapshots', { name: 'demo-import', size: 20, url: 'https://images.example.com/a.raw', region: REGION })).body.snapshot;
    await h.advance(3_000);
  });
  afterAll(() => h.close());

  it("gets 404 02008 for another account's instance, whatever it asks", async () => {
    const id = instance.id;
    // (read by its owner twice first: on SQLite its JSON is then kept by id, see kernel/db/row-texts.ts)
    for (let read = 0; read < 2; read++) expect((await h.genesis.get(`/instances/${id}`)).status).toBe(200);
    expectError(await other.get(`/instances/${id}`), 404, '02008', id);
    expectError(await other.patch(`/instances/${id}`, { name: 'stolen' }), 404, '02008', id);
    expectError(await other.delete(`/instances/${id}`), 404, '02008', id);
    expectError(await other.get(`/instances/${id}/actions`), 404, '02008', id);
    expectError(await other.post(`/instances/${id}/actions`, { action: 'stop' }), 404, '02008', id);
    expectError(await other.get(`/instances/${id}/snapshots`), 404, '02008', id);
    expectError(await other.post(`/instances/${id}/snapshots`, { name: 'x' }), 404, '02008', id);
    expectError(await other.get(`/instances/${id}/user-metadata`), 404, '02008', id);
    // The owner's instance is untouched.
    const mine = (await h.genesis.get(`/instances/${id}`)).body.instance;
    expect(mine).toMatchObject({ name: 'worker', status: 'active' });
    expect((await h.genesis.get(`/instances/${id}/snapshots`)).body.total_count).toBe(1);
  });

  it("gets 404 02015 for another account's snapshot", async () => {
    for (const id of [snapshot.id, imported.id]) {
      expectError(await other.get(`/snapshots/${id}`), 404, '02015', id);
      expectError(await other.patch(`/snapshots/${id}`, { name: 'stolen' }), 404, '02015', id);
      expectError(await other.delete(`/snapshots/${id}`), 404, '02015', id);
      expectError(await other.post(`/snapshots/${id}/clone`, { name: 'copy', region: REGION }), 404, '02015', id);
    }
    expect((await h.genesis.get(`/snapshots/${snapshot.id}`)).body.snapshot).toMatchObject({ name: 'demo-snap', status: 'created' });
  });

  it("gets 404 02047 for another account's ssh key", async () => {
    expectError(await other.get(`/ssh-keys/${key.id}`), 404, '02047', key.id);
    expectError(await other.patch(`/ssh-keys/${key.id}`, { name: 'stolen' }), 404, '02047', key.id);
    expectError(await other.delete(`/ssh-keys/${key.id}`), 404, '02047', key.id);
    expect((await h.genesis.get(`/ssh-keys/${key.id}`)).body.name).toBe('demo-key');
  });

  it("cannot boot from another account's snapshot (02006) or use its ssh keys (02005)", async () => {
    const ownKey = await createKey(other, 'other-key');
    const body = { name: 'x', hostname: 'x', type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', ssh_keys: [ownKey.id] };
    expectError(await other.post('/instances', { ...body, image: snapshot.id }), 400, '02006', snapshot.id);
    expectError(await other.post('/instances', { ...body, ssh_keys: [key.id] }), 400, '02005', key.id);
    expect((await other.get('/instances')).body.total_count).toBe(0);
    // The owner can boot from it.
    expect((await h.genesis.post('/instances', { ...body, ssh_keys: [key.id], image: snapshot.id })).status).toBe(201);
  });

  it('lists only its own resources', async () => {
    const ownKey = (await other.get('/ssh-keys')).body.ssh_keys;
    expect(ownKey.map((k: any) => k.name)).toEqual(['other-key']);
    expect((await other.get('/ssh-keys')).body.total_count).toBe(1);
    expect((await other.get('/instances')).body).toEqual({ instances: [], total_count: 0, page: 1, per_page: 50 });
    expect((await other.get('/snapshots')).body).toEqual({ snapshots: [], total_count: 0, page: 1, per_page: 50 });

    const own = await activeInstance(h, { ssh_keys: [ownKey[0].id] }, other);
    const theirs = (await other.get('/instances')).body;
    expect(theirs.total_count).toBe(1);
    expect(theirs.instances.map((i: any) => i.id)).toEqual([own.id]);
    const mine = (await h.genesis.get('/instances')).body;
    expect(mine.instances.map((i: any) => i.id)).not.toContain(own.id);
    expect(mine.total_count).toBe(mine.instances.length);
    expect((await h.genesis.get('/ssh-keys')).body.ssh_keys.map((k: any) => k.name)).toEqual(['demo-key']);
  });

  it('shows snapshot images to their owner only', async () => {
    const mine = (await h.genesis.get('/images?type=snapshot')).body;
    expect(mine.images.map((i: any) => i.id).sort()).toEqual([snapshot.id, imported.id].sort());
    expect(mine.total_count).toBe(2);
    for (const image of mine.images) expect(image).toMatchObject({ type: 'snapshot', regions: [REGION], slug: null, versions: null });

    expect((await other.get('/images?type=snapshot')).body).toEqual({ images: [], total_count: 0, page: 1, per_page: 50 });
    const all = (await other.get('/images?per_page=100')).body.images.map((i: any) => i.id);
    expect(all).not.toContain(snapshot.id);
    expect(all).not.toContain(imported.id);
  });

  it("reports each account's own quota usage", async () => {
    const quota = async (client: HttpClient) => (await client.get('/quotas')).body.quotas.find((q: any) => q.key === 'instances').used;
    const theirs = (await other.get('/instances')).body.total_count;
    const mine = (await h.genesis.get('/instances')).body.total_count;
    expect(await quota(other)).toBe(theirs);
    expect(await quota(h.genesis)).toBe(mine);
    expect(mine).not.toBe(theirs);
  });
});
