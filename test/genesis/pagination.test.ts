import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { createInstance, createKey, expectError, REGION } from '../helpers/genesis.js';

/** `page` / `per_page` on every list, as seed 000 describes them. */
describe('Genesis pagination', () => {
  let h: TestHangar;
  /** SSH key ids of the demo account, in creation order. */
  const keys: string[] = [];
  const KEYS = 51;

  // The clock stays frozen while the keys are made: resources created in the same
  // millisecond must still list in the order they were created.
  beforeAll(async () => {
    h = await startHangar();
    for (let i = 0; i < KEYS; i++) {
      keys.push((await createKey(h.genesis, `key-${String(i).padStart(2, '0')}`, publicKey())).id);
    }
  });
  afterAll(() => h.close());

  it('defaults to page 1 with 50 per page', async () => {
    const first = await h.genesis.get('/ssh-keys');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ page: 1, per_page: 50, total_count: KEYS });
    expect(first.body.ssh_keys.map((k: any) => k.id)).toEqual(keys.slice(0, 50));
    const second = await h.genesis.get('/ssh-keys?page=2');
    expect(second.body).toMatchObject({ page: 2, per_page: 50, total_count: KEYS });
    expect(second.body.ssh_keys.map((k: any) => k.id)).toEqual(keys.slice(50));
  });

  it('walks every page with per_page=1 in creation order, without duplicates', async () => {
    const seen: string[] = [];
    for (let page = 1; page <= KEYS; page++) {
      const res = await h.genesis.get(`/ssh-keys?page=${page}&per_page=1`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ page, per_page: 1, total_count: KEYS });
      expect(res.body.ssh_keys).toHaveLength(1);
      seen.push(res.body.ssh_keys[0].id);
    }
    expect(seen).toEqual(keys);
    expect(new Set(seen).size).toBe(KEYS);
  });

  it('answers a page beyond the end with an empty list and the right total', async () => {
    const res = await h.genesis.get(`/ssh-keys?page=${KEYS + 1}&per_page=1`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ssh_keys: [], total_count: KEYS, page: KEYS + 1, per_page: 1 });
    expect((await h.genesis.get('/ssh-keys?page=99')).body).toEqual({ ssh_keys: [], total_count: KEYS, page: 99, per_page: 50 });
  });

  it('allows per_page=100, the maximum', async () => {
    const res = await h.genesis.get('/ssh-keys?per_page=100');
    expect(res.body).toMatchObject({ page: 1, per_page: 100, total_count: KEYS });
    expect(res.body.ssh_keys.map((k: any) => k.id)).toEqual(keys);
  });

  it('cuts a partial last page', async () => {
    const res = await h.genesis.get('/ssh-keys?page=6&per_page=10');
    expect(res.body.ssh_keys.map((k: any) => k.id)).toEqual(keys.slice(50));
  });

  it('keeps the total in step with deletions', async () => {
    const account = await h.newAccount();
    const a = await createKey(account.genesis, 'a');
    await h.advance(1);
    const b = await createKey(account.genesis, 'b');
    expect((await account.genesis.delete(`/ssh-keys/${a.id}`)).status).toBe(204);
    expect((await account.genesis.get('/ssh-keys')).body).toMatchObject({ total_count: 1, ssh_keys: [{ id: b.id }] });
  });

  it('pages instances, snapshots and images the same way', async () => {
    const account = await h.newAccount();
    const key = await createKey(account.genesis);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await createInstance(account.genesis, { ssh_keys: [key.id], name: `n${i}` })).id);
      await h.advance(1);
    }
    const p1 = await account.genesis.get('/instances?per_page=2');
    expect(p1.body).toMatchObject({ page: 1, per_page: 2, total_count: 3 });
    expect(p1.body.instances.map((i: any) => i.id)).toEqual(ids.slice(0, 2));
    const p2 = await account.genesis.get('/instances?per_page=2&page=2');
    expect(p2.body.instances.map((i: any) => i.id)).toEqual(ids.slice(2));

    const snaps: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await account.genesis.post('/snapshots', { name: `s${i}`, size: 10, url: 'https://images.example.com/a.raw', region: REGION });
      snaps.push(res.body.snapshot.id);
      await h.advance(1);
    }
    const s2 = await account.genesis.get('/snapshots?per_page=2&page=2');
    expect(s2.body).toMatchObject({ page: 2, per_page: 2, total_count: 3 });
    expect(s2.body.snapshots.map((s: any) => s.id)).toEqual(snaps.slice(2));

    const all = (await account.genesis.get('/images?per_page=100')).body;
    expect(all.images).toHaveLength(all.total_count);
    const page2 = await account.genesis.get('/images?page=2&per_page=5');
    expect(page2.body).toMatchObject({ page: 2, per_page: 5, total_count: all.total_count });
    expect(page2.body.images).toEqual(all.images.slice(5, 10));
  });

  const invalid: [string, string][] = [
    ['page=0', '"page" must be >= 1'],
    ['page=-1', '"page" must be >= 1'],
    ['page=1.5', '"page" must be an integer'],
    ['page=', '"page" must be'],
    ['per_page=0', '"per_page" must be >= 1'],
    ['per_page=101', '"per_page" must be <= 100'],
    ['per_page=abc', '"per_page" must be an integer'],
  ];
  for (const path of ['/instances', '/snapshots', '/ssh-keys', '/images']) {
    it.each(invalid)(`refuses ${path}?%s with 02004`, async (query, message) => {
      expectError(await h.genesis.get(`${path}?${query}`), 400, '02004', message);
    });
  }
});
