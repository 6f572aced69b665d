import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { activeInstance, createInstance, createKey, expectError, REGION } from '../helpers/genesis.js';

/** The MD5 fingerprint of an OpenSSH public key line, computed independently of the server. */
function md5Fingerprint(line: string): string {
  const blob = Buffer.from(line.split(' ')[1]!, 'base64');
  return createHash('md5').update(blob).digest('hex').match(/../g)!.join(':');
}

describe('Genesis snapshots', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar();
  });
  afterAll(() => h.close());

  const importBody = { name: 'imported', size: 40, url: 'https://images.example.com/disk.raw.zst', os_type: 'linux', region: REGION };

  it('imports from a URL: creating, then created, with an empty resource_id', async () => {
    const res = await h.genesis.post('/snapshots', importBody);
    expect(res.status).toBe(201);
    const snapshot = res.body.snapshot;
    expect(snapshot).toMatchObject({ name: 'imported', size: 40, os_type: 'linux', region: REGION, status: 'creating', resource_id: '' });
    expect(snapshot.source_instance_id).toBeUndefined();
    await h.advance(2_999);
    expect((await h.genesis.get(`/snapshots/${snapshot.id}`)).body.snapshot.status).toBe('creating');
    await h.advance(1);
    const created = (await h.genesis.get(`/snapshots/${snapshot.id}`)).body.snapshot;
    expect(created).toMatchObject({ status: 'created', resource_id: '', created_at: snapshot.created_at });
    expect(Date.parse(created.updated_at) - Date.parse(created.created_at)).toBe(3_000);
  });

  it('defaults os_type to linux and keeps windows when asked', async () => {
    const { os_type: _dropped, ...body } = importBody;
    expect((await h.genesis.post('/snapshots', body)).body.snapshot.os_type).toBe('linux');
    expect((await h.genesis.post('/snapshots', { ...body, os_type: 'windows' })).body.snapshot.os_type).toBe('windows');
    expectError(await h.genesis.post('/snapshots', { ...body, os_type: 'beos' }), 400, '02004', '"os_type"');
    expectError(await h.genesis.post('/snapshots', { ...body, region: 'MOON-BASE-1' }), 400, '02004', '"region"');
  });

  it('renames', async () => {
    const snapshot = (await h.genesis.post('/snapshots', importBody)).body.snapshot;
    await h.advance(5_000);
    const res = await h.genesis.patch(`/snapshots/${snapshot.id}`, { name: 'renamed' });
    expect(res.status).toBe(200);
    expect(res.body.snapshot).toMatchObject({ id: snapshot.id, name: 'renamed', status: 'created' });
    expect(res.body.snapshot.updated_at).toBe(new Date(h.clock.now()).toISOString());
    expect((await h.genesis.get(`/snapshots/${snapshot.id}`)).body.snapshot.name).toBe('renamed');
    const asImage = (await h.genesis.get('/images?type=snapshot&per_page=100')).body.images.find((i: any) => i.id === snapshot.id);
    expect(asImage.name).toBe('renamed');
  });

  it('clones into another region, where it can be booted from', async () => {
    const source = (await h.genesis.post('/snapshots', importBody)).body.snapshot;
    expectError(await h.genesis.post(`/snapshots/${source.id}/clone`, { name: 'early', region: 'EUC-DE-MUC-1' }), 400, '02009', 'creating');
    await h.advance(3_000);
    const res = await h.genesis.post(`/snapshots/${source.id}/clone`, { name: 'copy', region: 'EUC-DE-MUC-1' });
    expect(res.status, res.text).toBe(201);
    const copy = res.body.snapshot;
    expect(copy).toMatchObject({ name: 'copy', region: 'EUC-DE-MUC-1', size: 40, status: 'creating', source_snapshot_id: source.id });
    expect(copy.id).not.toBe(source.id);
    expectError(await h.genesis.post(`/snapshots/${source.id}/clone`, { name: 'x', region: 'MOON-BASE-1' }), 400, '02004', '"region"');
    await h.advance(3_000);
    expect((await h.genesis.get(`/snapshots/${copy.id}`)).body.snapshot.status).toBe('created');

    const instance = await createInstance(h.genesis, { image: copy.id, region: 'EUC-DE-MUC-1' });
    expect(instance.image).toEqual({ id: copy.id, name: 'copy' });
    // The source stays in its own region.
    expectError(
      await h.genesis.post('/instances', { name: 'x', hostname: 'x', type: 'vcpu-2_memory-4g', image: source.id, region: 'EUC-DE-MUC-1', password: 'a-long-enough-password' }),
      400,
      '02051',
      source.id,
    );
  });

  it('snapshots an instance with a replica in another region', async () => {
    const account = await h.newAccount();
    const instance = await activeInstance(h, {}, account.genesis);
    const res = await account.genesis.post(`/instances/${instance.id}/snapshots`, { name: 'twin', replicated_region: 'EUW-GB-MNC-1' });
    expect(res.status, res.text).toBe(201);
    expect(res.body.snapshot).toMatchObject({ region: REGION, source_instance_id: instance.id, resource_id: instance.id });
    const all = (await account.genesis.get('/snapshots')).body;
    expect(all.total_count).toBe(2);
    expect(all.snapshots.map((s: any) => s.region).sort()).toEqual(['EUW-GB-MNC-1', REGION].sort());
    expect((await account.genesis.get('/quotas')).body.quotas.find((q: any) => q.key === 'snapshots').used).toBe(2);
    expectError(await account.genesis.post(`/instances/${instance.id}/snapshots`, { name: 'x', replicated_region: 'MOON-BASE-1' }), 400, '02004', '"replicated_region"');
  });

  it('deletes: deleting, then gone, and no longer counted', async () => {
    const account = await h.newAccount();
    const snapshot = (await account.genesis.post('/snapshots', importBody)).body.snapshot;
    expectError(await account.genesis.delete(`/snapshots/${snapshot.id}`), 400, '02009', 'being created');
    await h.advance(3_000);
    expect((await account.genesis.get('/images?type=snapshot')).body.total_count).toBe(1);

    expect((await account.genesis.delete(`/snapshots/${snapshot.id}`)).status).toBe(204);
    expect((await account.genesis.get(`/snapshots/${snapshot.id}`)).body.snapshot.status).toBe('deleting');
    // A snapshot on its way out is no longer an image, and cannot be deleted twice.
    expect((await account.genesis.get('/images?type=snapshot')).body.total_count).toBe(0);
    expectError(await account.genesis.delete(`/snapshots/${snapshot.id}`), 400, '02009', 'already being deleted');
    await h.advance(1_000);
    expectError(await account.genesis.get(`/snapshots/${snapshot.id}`), 404, '02015', snapshot.id);
    expect((await account.genesis.get('/snapshots')).body).toEqual({ snapshots: [], total_count: 0, page: 1, per_page: 50 });
    expect((await account.genesis.get('/quotas')).body.quotas.find((q: any) => q.key === 'snapshots').used).toBe(0);
  });

  it('can delete a snapshot once the instance booted from it is gone', async () => {
    const account = await h.newAccount();
    const snapshot = (await account.genesis.post('/snapshots', importBody)).body.snapshot;
    await h.advance(3_000);
    const instance = await activeInstance(h, { image: snapshot.id }, account.genesis);
    expectError(await account.genesis.delete(`/snapshots/${snapshot.id}`), 400, '02016', instance.id);
    expect((await account.genesis.delete(`/instances/${instance.id}`)).status).toBe(204);
    await h.advance(2_000);
    expect((await account.genesis.delete(`/snapshots/${snapshot.id}`)).status).toBe(204);
  });
});

describe('Genesis images', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar();
  });
  afterAll(() => h.close());

  it('lists the catalog, each image with a slug, versions and regions', async () => {
    const res = await h.genesis.get('/images?per_page=100');
    expect(res.status).toBe(200);
    expect(res.body.total_count).toBe(res.body.images.length);
    expect(res.body.images.length).toBeGreaterThanOrEqual(9);
    for (const image of res.body.images) {
      expect(image.slug, image.name).toMatch(/^[a-z0-9.-]+$/);
      expect(Array.isArray(image.versions) && image.versions.length > 0, image.name).toBe(true);
      expect(image.regions.length, image.name).toBeGreaterThan(0);
      expect(['base-os', 'preconfigured']).toContain(image.type);
    }
    const ubuntu20 = res.body.images.find((i: any) => i.id === 'ac26fa2b-c6d5-47a7-bc4e-5a219797e70f');
    expect(ubuntu20).toMatchObject({ name: 'Ubuntu 20.04', type: 'base-os', slug: 'ubuntu-20.04', family: 'ubuntu', os_type: 'linux' });
    expect(ubuntu20.regions).toContain(REGION);
    expect(new Set(res.body.images.map((i: any) => i.id)).size).toBe(res.body.images.length);
  });

  it('filters by type', async () => {
    const all = (await h.genesis.get('/images?per_page=100')).body.images;
    const base = (await h.genesis.get('/images?type=base-os&per_page=100')).body;
    const pre = (await h.genesis.get('/images?type=preconfigured&per_page=100')).body;
    expect(base.images.length).toBeGreaterThan(0);
    expect(pre.images.length).toBeGreaterThan(0);
    expect(base.images.every((i: any) => i.type === 'base-os')).toBe(true);
    expect(pre.images.every((i: any) => i.type === 'preconfigured')).toBe(true);
    expect(base.total_count).toBe(base.images.length);
    expect(base.images.length + pre.images.length).toBe(all.length);
    expect(pre.images.map((i: any) => i.slug)).toContain('ubuntu-22.04-ml');
    expect((await h.genesis.get('/images?type=snapshot')).body).toEqual({ images: [], total_count: 0, page: 1, per_page: 50 });
  });

  it("lists the account's created snapshots as images of type snapshot, and only those", async () => {
    const created = (await h.genesis.post('/snapshots', { name: 'ready', size: 30, url: 'https://images.example.com/a.raw', region: REGION })).body.snapshot;
    await h.advance(3_000);
    const pending = (await h.genesis.post('/snapshots', { name: 'pending', size: 30, url: 'https://images.example.com/b.raw', region: 'EUC-DE-MUC-1' })).body.snapshot;
    const res = (await h.genesis.get('/images?type=snapshot')).body;
    expect(res.total_count).toBe(1);
    expect(res.images).toEqual([
      {
        id: created.id,
        type: 'snapshot',
        family: null,
        name: 'ready',
        os_type: 'linux',
        slug: null,
        versions: null,
        regions: [REGION],
        created_at: created.created_at,
        updated_at: new Date(h.clock.now()).toISOString(),
      },
    ]);
    const all = (await h.genesis.get('/images?per_page=100')).body.images.map((i: any) => i.id);
    expect(all).toContain(created.id);
    expect(all).not.toContain(pending.id);
  });
});

describe('Genesis SSH keys', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar();
  });
  afterAll(() => h.close());

  it('creates ed25519 and RSA keys with their type, size and MD5 fingerprint', async () => {
    const ed = publicKey('ed25519', 'me@laptop');
    const res = await h.genesis.post('/ssh-keys', { name: 'laptop', value: ed });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'laptop', value: ed, type: 'ssh-ed25519', size: 256, fingerprint: md5Fingerprint(ed) });
    expect(res.body.fingerprint).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect(res.body.created_at).toBe(new Date(h.clock.now()).toISOString());
    // Bare object, no wrapper key.
    expect(Object.keys(res.body).sort()).toEqual(['created_at', 'fingerprint', 'id', 'name', 'size', 'type', 'updated_at', 'value']);

    const rsa = publicKey('rsa');
    const rsaKey = await h.genesis.post('/ssh-keys', { name: 'server', value: `  ${rsa}\n` });
    expect(rsaKey.status).toBe(201);
    expect(rsaKey.body).toMatchObject({ type: 'ssh-rsa', size: 2048, fingerprint: md5Fingerprint(rsa), value: rsa });
  });

  it('lists, gets, renames and deletes', async () => {
    const account = await h.newAccount();
    const a = await createKey(account.genesis, 'a');
    await h.advance(1);
    const b = await createKey(account.genesis, 'b');

    const list = (await account.genesis.get('/ssh-keys')).body;
    expect(list).toMatchObject({ total_count: 2, page: 1, per_page: 50 });
    expect(list.ssh_keys.map((k: any) => k.id)).toEqual([a.id, b.id]);

    expect((await account.genesis.get(`/ssh-keys/${a.id}`)).body).toEqual(a);

    await h.advance(1_000);
    const renamed = await account.genesis.patch(`/ssh-keys/${a.id}`, { name: 'alpha' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: a.id, name: 'alpha', value: a.value, fingerprint: a.fingerprint, created_at: a.created_at });
    expect(renamed.body.updated_at).toBe(new Date(h.clock.now()).toISOString());
    expect((await account.genesis.get(`/ssh-keys/${a.id}`)).body.name).toBe('alpha');

    const deleted = await account.genesis.delete(`/ssh-keys/${a.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectError(await account.genesis.get(`/ssh-keys/${a.id}`), 404, '02047', a.id);
    expect((await account.genesis.get('/ssh-keys')).body).toMatchObject({ total_count: 1, ssh_keys: [{ id: b.id }] });
  });

  it('shows a renamed key under its new name on the instances that carry it', async () => {
    const key = await createKey(h.genesis, 'old-name');
    const other = await createKey(h.genesis, 'other');
    const instance = await createInstance(h.genesis, { ssh_keys: [key.id, other.id] });
    expect(instance.ssh_keys).toEqual([
      { id: key.id, name: 'old-name' },
      { id: other.id, name: 'other' },
    ]);
    await h.genesis.patch(`/ssh-keys/${key.id}`, { name: 'new-name' });
    expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance.ssh_keys).toEqual([
      { id: key.id, name: 'new-name' },
      { id: other.id, name: 'other' },
    ]);
    // Deleting a key leaves the instance that booted with it alone.
    expect((await h.genesis.delete(`/ssh-keys/${other.id}`)).status).toBe(204);
    expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance.ssh_keys).toHaveLength(2);
  });
});
