import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { activeInstance, BOOT_MS, createInstance, createKey, expectError, GPU_TYPE, REGION, UBUNTU_20 } from '../helpers/genesis.js';

/** The official spec's default region, where creates that name none go. */
const DEFAULT_REGION = 'ARC-IS-HAF-1';

/**
 * What the seed's own examples and the official spec leave to defaults: the region, the boot
 * disk of a snapshot, termination protection of long-term instances, and the public IP type.
 */
describe('Genesis defaults the seed and the official spec give', () => {
  let h: TestHangar;
  let keyId: string;
  beforeAll(async () => {
    h = await startHangar();
    keyId = (await createKey(h.genesis, 'ssh-key-name')).id;
  });
  afterAll(() => h.close());

  it("answers seed 001's curl create example, sent byte for byte (its key id replaced), with 201 in the default region", async () => {
    // Exactly the --data-raw of "# Create a new instance" in seed 001, as curl sends it.
    const raw = `{
"name": "name",
"hostname": "hostname",
"type": "vcpu-4_memory-12g_nvidia-rtx-3080-1",
"image": "ac26fa2b-c6d5-47a7-bc4e-5a219797e70f",
"ssh_keys": ["${keyId}"]
}`;
    const res = await h.genesis.post('/instances', undefined, { raw, headers: { 'Content-Type': 'application/json' } });
    expect(res.status, res.text).toBe(201);
    expect(res.body.instance).toMatchObject({
      name: 'name',
      hostname: 'hostname',
      type: 'vcpu-4_memory-12g_nvidia-rtx-3080-1',
      region: DEFAULT_REGION,
      image: { id: UBUNTU_20, name: 'Ubuntu 20.04' },
      ssh_keys: [{ id: keyId, name: 'ssh-key-name' }],
      security_groups: [{ name: 'standard' }],
      status: 'creating',
      disk_size: 80,
      public_ip_type: 'dynamic',
      is_protected: false,
    });
    // The default group of the region it landed in.
    const groups = (await h.genesis.get('/security-groups?per_page=100')).body.security_groups;
    const standard = groups.find((g: any) => g.name === 'standard' && g.region === DEFAULT_REGION);
    expect(res.body.instance.security_groups).toEqual([{ id: standard.id, name: 'standard' }]);
  });

  it('refuses, with 02020, a type the default region does not offer when no region is named', async () => {
    // The H100 types are sold in EUC-DE-MUC-1 and NORD-NO-KRS-1 only (and long-term only).
    const body = { name: 'a', hostname: 'a', type: 'vcpu-96_memory-900g_nvidia-h100-sxm5-4', image: 'ubuntu-22.04', ssh_keys: [keyId], billing_type: 'prepaid-monthly' };
    const before = (await h.genesis.get('/instances')).body.total_count;
    expectError(await h.genesis.post('/instances', body), 400, '02020', `not offered in region ${DEFAULT_REGION}`);
    expect((await h.genesis.get('/instances')).body.total_count).toBe(before);
    const named = await h.genesis.post('/instances', { ...body, region: REGION });
    expect(named.status, named.text).toBe(201);
    expect(named.body.instance.region).toBe(REGION);
  });

  it('creates a volume and a security group in the default region when none is named', async () => {
    const volume = await h.genesis.post('/volumes', { name: 'data', size: 10 });
    expect(volume.status, volume.text).toBe(201);
    expect(volume.body.volume).toMatchObject({ name: 'data', size: 10, region: DEFAULT_REGION, type: 'ssd', status: 'creating' });
    const hdd = await h.genesis.post('/volumes', { name: 'cold', size: 10, type: 'hdd' });
    expect(hdd.body.volume).toMatchObject({ region: DEFAULT_REGION, type: 'hdd' });

    const rules = [{ protocol: 'tcp', direction: 'ingress', port_range_min: 443, port_range_max: 443 }];
    const group = await h.genesis.post('/security-groups', { name: 'web', rules });
    expect(group.status, group.text).toBe(201);
    expect(group.body.security_group).toMatchObject({ name: 'web', region: DEFAULT_REGION, status: 'creating' });
    // A region given still wins.
    expect((await h.genesis.post('/volumes', { name: 'n', size: 1, region: REGION })).body.volume.region).toBe(REGION);
  });

  it("puts an instance created without security groups in its region's default group, made anew where it is gone", async () => {
    const { genesis: g, accountId } = await h.newAccount('default-group');
    const groups = (await g.get('/security-groups?per_page=100')).body.security_groups as { id: string; name: string; region: string }[];
    const standard = groups.find((group) => group.region === REGION && group.name === 'standard')!;
    const first = await createInstance(g, { name: 'grouped', ssh_keys: [(await createKey(g, 'k')).id] });
    expect(first.security_groups).toEqual([{ id: standard.id, name: 'standard' }]);
    expect((await g.get(`/instances/${first.id}`)).body.instance.security_groups).toEqual([{ id: standard.id, name: 'standard' }]);
    // A store whose account lost its default group (made before they were seeded, say) gets one.
    const { db } = h.hangar.kernel;
    await db.deleteFrom('genesis_instance_links').where('target_id', '=', standard.id).execute();
    await db.deleteFrom('genesis_security_groups').where('id', '=', standard.id).where('account_id', '=', accountId).execute();
    const second = await createInstance(g, { name: 'regrouped' });
    expect(second.security_groups).toEqual([{ id: expect.not.stringMatching(standard.id), name: 'standard' }]);
    expect((await g.get(`/instances/${second.id}`)).body.instance.security_groups).toEqual(second.security_groups);
  });

  describe('the boot disk of an instance made from a snapshot', () => {
    it('defaults to the snapshot size when the snapshot is larger than 80 GiB', async () => {
      const source = await activeInstance(h, { ssh_keys: [keyId], disk_size: 200 });
      const snapshot = (await h.genesis.post(`/instances/${source.id}/snapshots`, { name: 'big' })).body.snapshot;
      expect(snapshot.size).toBe(200);
      await h.advance(3_000);
      const res = await h.genesis.post('/instances', { name: 'from-big', hostname: 'from-big', type: GPU_TYPE, region: REGION, image: snapshot.id, ssh_keys: [keyId] });
      expect(res.status, res.text).toBe(201);
      expect(res.body.instance).toMatchObject({ disk_size: 200, image: { id: snapshot.id, name: 'big' } });
      // Asked for explicitly, it may be larger, never smaller.
      const larger = await h.genesis.post('/instances', { name: 'l', hostname: 'l', type: GPU_TYPE, region: REGION, image: snapshot.id, ssh_keys: [keyId], disk_size: 300 });
      expect(larger.body.instance.disk_size).toBe(300);
      expectError(
        await h.genesis.post('/instances', { name: 's', hostname: 's', type: GPU_TYPE, region: REGION, image: snapshot.id, ssh_keys: [keyId], disk_size: 150 }),
        400,
        '02004',
        '"disk_size" must be at least 200',
      );
    });

    it('stays at 80 GiB for a snapshot smaller than that', async () => {
      const imported = (await h.genesis.post('/snapshots', { name: 'tiny', size: 10, url: 'https://images.example.com/tiny.raw', region: REGION })).body.snapshot;
      await h.advance(3_000);
      const res = await h.genesis.post('/instances', { name: 't', hostname: 't', type: GPU_TYPE, region: REGION, image: imported.id, ssh_keys: [keyId] });
      expect(res.status, res.text).toBe(201);
      expect(res.body.instance.disk_size).toBe(80);
    });
  });

  describe('long-term billing', () => {
    it.each(['prepaid-monthly', 'prepaid-3-month', 'prepaid-6-month', 'prepaid-12-month'])(
      'sets is_protected for %s, even when the body says false, and so refuses DELETE with 02038',
      async (billing) => {
        const instance = await activeInstance(h, { ssh_keys: [keyId], billing_type: billing, is_protected: false });
        expect(instance.is_protected).toBe(true);
        expectError(await h.genesis.delete(`/instances/${instance.id}`), 400, '02038', instance.id);
        expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance.status).toBe('active');
      },
    );

    it('leaves on-demand instances unprotected unless asked', async () => {
      expect((await createInstance(h.genesis, { ssh_keys: [keyId], billing_type: 'on-demand' })).is_protected).toBe(false);
      expect((await createInstance(h.genesis, { ssh_keys: [keyId], is_protected: true })).is_protected).toBe(true);
    });
  });

  describe('public_ip_type', () => {
    it('is on every instance object: create, get, list, PATCH, whichever value was asked', async () => {
      const dynamic = await createInstance(h.genesis, { ssh_keys: [keyId] });
      const fixed = await createInstance(h.genesis, { ssh_keys: [keyId], public_ip_type: 'static' });
      expect(dynamic.public_ip_type).toBe('dynamic');
      expect(fixed.public_ip_type).toBe('static');
      await h.advance(BOOT_MS);
      expect((await h.genesis.get(`/instances/${fixed.id}`)).body.instance.public_ip_type).toBe('static');
      const listed = (await h.genesis.get('/instances?per_page=100')).body.instances;
      expect(listed.every((i: any) => i.public_ip_type === 'dynamic' || i.public_ip_type === 'static')).toBe(true);
      expect(listed.find((i: any) => i.id === fixed.id).public_ip_type).toBe('static');
      expect((await h.genesis.patch(`/instances/${dynamic.id}`, { name: 'renamed' })).body.instance.public_ip_type).toBe('dynamic');
    });

    it('keeps a static address across stop and start, and gives a dynamic one back', async () => {
      const fixed = await activeInstance(h, { ssh_keys: [keyId], public_ip_type: 'static' });
      const dynamic = await activeInstance(h, { ssh_keys: [keyId] });
      for (const i of [fixed, dynamic]) expect((await h.genesis.post(`/instances/${i.id}/actions`, { action: 'stop' })).status).toBe(204);
      await h.advance(2_000);
      const stoppedFixed = (await h.genesis.get(`/instances/${fixed.id}`)).body.instance;
      expect(stoppedFixed).toMatchObject({ status: 'stopped', public_ip: fixed.public_ip, public_ip_type: 'static' });
      expect((await h.genesis.get(`/instances/${dynamic.id}`)).body.instance).toMatchObject({ status: 'stopped', public_ip: null, public_ip_type: 'dynamic' });
    });
  });
});
