import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';

const REGION = 'NORD-NO-KRS-1';
const TYPE = 'vcpu-8_memory-48g_nvidia-rtx-3090-2';

// Written as a user would: create what an instance needs, boot it with all of it, check every
// side shows the links, take it apart, and see nothing is left behind.
describe('an instance with a volume, an SSH-only security group and a floating IP', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar();
  });
  afterAll(() => h.close());

  it('links all three, shows the links from every side, and cleans up', async () => {
    const g = h.genesis;
    const key = (await g.post('/ssh-keys', { name: 'ops', value: publicKey() })).body;

    const volume = await g.post('/volumes', { name: 'datasets', description: 'training data', size: 500, type: 'ssd', region: REGION });
    expect(volume.status).toBe(201);
    expect(volume.body.volume).toMatchObject({ name: 'datasets', description: 'training data', size: 500, type: 'ssd', region: REGION, status: 'creating', instances: [] });

    const group = await g.post('/security-groups', {
      name: 'ssh-only',
      description: 'SSH from the office',
      region: REGION,
      rules: [{ protocol: 'tcp', direction: 'ingress', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '203.0.113.0/24' }],
    });
    expect(group.status).toBe(201);
    expect(group.body.security_group).toMatchObject({ name: 'ssh-only', region: REGION, status: 'creating', is_internal: false });

    const fip = await g.post('/floating-ips', { name: 'front door', region: REGION, version: 'ipv4' });
    expect(fip.status).toBe(201);
    expect(fip.body.floating_ip).toMatchObject({ name: 'front door', region: REGION, version: 'ipv4', is_public: true, instance: null });
    const address = fip.body.floating_ip.ip_address;
    expect(address).toMatch(/^100\./);

    await h.advance(1_000);
    for (const [path, key_] of [[`/volumes/${volume.body.volume.id}`, 'volume'], [`/security-groups/${group.body.security_group.id}`, 'security_group'], [`/floating-ips/${fip.body.floating_ip.id}`, 'floating_ip']] as const) {
      expect((await g.get(path)).body[key_].status).toBe('created');
    }

    const created = await g.post('/instances', {
      name: 'worker',
      hostname: 'worker',
      type: TYPE,
      region: REGION,
      image: 'ubuntu-22.04',
      ssh_keys: [key.id],
      volumes: [volume.body.volume.id],
      security_groups: [group.body.security_group.id],
      floating_ip: fip.body.floating_ip.id,
    });
    expect(created.status).toBe(201);
    const instanceId = created.body.instance.id;
    expect(created.body.instance).toMatchObject({
      volumes: [{ id: volume.body.volume.id, name: 'datasets' }],
      security_groups: [{ id: group.body.security_group.id, name: 'ssh-only' }],
      floating_ip: { id: fip.body.floating_ip.id, name: 'front door' },
    });
    await h.advance(3_000);
    expect((await g.get(`/instances/${instanceId}`)).body.instance).toMatchObject({ status: 'active', public_ip: address });

    expect((await g.get(`/volumes/${volume.body.volume.id}`)).body.volume.instances).toEqual([{ id: instanceId, name: 'worker' }]);
    expect((await g.get(`/floating-ips/${fip.body.floating_ip.id}`)).body.floating_ip.instance).toEqual({ id: instanceId, name: 'worker' });

    // While linked, none of them can be deleted.
    expect((await g.delete(`/volumes/${volume.body.volume.id}`)).body.code).toBe('02022');
    expect((await g.delete(`/security-groups/${group.body.security_group.id}`)).body.code).toBe('02027');
    expect((await g.delete(`/floating-ips/${fip.body.floating_ip.id}`)).status).toBe(400);

    // A rename shows on the instance.
    await g.patch(`/volumes/${volume.body.volume.id}`, { name: 'datasets-v2' });
    expect((await g.get(`/instances/${instanceId}`)).body.instance.volumes).toEqual([{ id: volume.body.volume.id, name: 'datasets-v2' }]);

    // Detach everything through the instance.
    const detached = await g.patch(`/instances/${instanceId}`, { volumes: [], security_groups: [], floating_ip: null });
    expect(detached.status).toBe(200);
    expect(detached.body.instance).toMatchObject({ volumes: [], security_groups: [], floating_ip: null });
    expect(detached.body.instance.public_ip).not.toBe(address);
    expect(detached.body.instance.public_ip).toMatch(/^100\./);
    expect((await g.get(`/volumes/${volume.body.volume.id}`)).body.volume.instances).toEqual([]);

    for (const path of [`/volumes/${volume.body.volume.id}`, `/security-groups/${group.body.security_group.id}`, `/floating-ips/${fip.body.floating_ip.id}`]) {
      expect((await g.delete(path)).status).toBe(204);
    }
    expect((await g.delete(`/instances/${instanceId}`)).status).toBe(204);
    await h.advance(2_000);

    expect((await g.get('/instances')).body.total_count).toBe(0);
    expect((await g.get('/volumes')).body).toMatchObject({ volumes: [], total_count: 0 });
    expect((await g.get('/floating-ips')).body).toMatchObject({ floating_ips: [], total_count: 0 });
    const groups = (await g.get('/security-groups?per_page=100')).body;
    expect(groups.security_groups.every((sg: { name: string }) => sg.name === 'standard')).toBe(true);
    expect(groups.total_count).toBe(groups.security_groups.length);
    // The addresses went back to the pool: no lease is left for these resources.
    const leases = await h.hangar.kernel.db.selectFrom('ip_leases').selectAll().execute();
    expect(leases).toEqual([]);
  });

  it('boots and stops instances with and without floating IPs together, each with its own address', async () => {
    const g = h.genesis;
    const fips = [];
    for (const name of ['fip-a', 'fip-c']) fips.push((await g.post('/floating-ips', { name, region: REGION })).body.floating_ip);
    await h.advance(1_000);
    const boot = async (name: string, floating?: string) =>
      (await g.post('/instances', { name, hostname: name, type: TYPE, region: REGION, image: 'ubuntu-22.04', password: 'a-long-enough-password', ...(floating ? { floating_ip: floating } : {}) }))
        .body.instance.id as string;
    // Created together, their boots fall due at the same instant and apply in one batch, with
    // one of an account that holds no floating IP.
    const neighbour = (await h.newAccount('no-floating-ips')).genesis;
    const ids = [await boot('a', fips[0].id), await boot('b'), await boot('c', fips[1].id), await boot('d')];
    const theirs = (await neighbour.post('/instances', { name: 'e', hostname: 'e', type: TYPE, region: REGION, image: 'ubuntu-22.04', password: 'a-long-enough-password' })).body.instance.id;
    await h.advance(3_000);
    const up = await Promise.all(ids.map(async (id) => (await g.get(`/instances/${id}`)).body.instance));
    expect(up.map((i) => i.status)).toEqual(['active', 'active', 'active', 'active']);
    const their = (await neighbour.get(`/instances/${theirs}`)).body.instance;
    expect(their.status).toBe('active');
    expect(their.public_ip).toMatch(/^100\./);
    expect(up.map((i) => i.public_ip)).not.toContain(their.public_ip);
    expect(up[0].public_ip).toBe(fips[0].ip_address);
    expect(up[2].public_ip).toBe(fips[1].ip_address);
    for (const own of [up[1], up[3]]) {
      expect(own.public_ip).toMatch(/^100\./);
      expect([fips[0].ip_address, fips[1].ip_address]).not.toContain(own.public_ip);
    }
    expect(up[1].public_ip).not.toBe(up[3].public_ip);

    for (const id of ids) expect((await g.post(`/instances/${id}/actions`, { action: 'stop' })).status).toBe(204);
    await h.advance(2_000);
    const down = await Promise.all(ids.map(async (id) => (await g.get(`/instances/${id}`)).body.instance));
    expect(down.map((i) => i.status)).toEqual(['stopped', 'stopped', 'stopped', 'stopped']);
    // A floating address stays with its instance; a dynamic one goes back.
    expect(down.map((i) => i.public_ip)).toEqual([fips[0].ip_address, null, fips[1].ip_address, null]);
    for (const id of ids) expect((await g.delete(`/instances/${id}`)).status).toBe(204);
    await h.advance(2_000);
  });

  it('keeps a volume intact when its instance is destroyed, and attaches it again', async () => {
    const g = h.genesis;
    const volume = (await g.post('/volumes', { name: 'keep-me', size: 50, region: REGION })).body.volume;
    await h.advance(1_000);
    const boot = (volumes: string[]) =>
      g.post('/instances', { name: 'w', hostname: 'w', type: TYPE, region: REGION, image: 'ubuntu-22.04', password: 'a-long-enough-password', volumes });
    const first = (await boot([volume.id])).body.instance;
    await h.advance(3_000);
    // In use elsewhere: a second instance cannot take it.
    const second = await boot([volume.id]);
    expect(second.status).toBe(400);
    expect(second.body.code).toBe('02032');

    await g.delete(`/instances/${first.id}`);
    await h.advance(2_000);
    const after = (await g.get(`/volumes/${volume.id}`)).body.volume;
    expect(after).toMatchObject({ id: volume.id, status: 'created', size: 50, instances: [] });

    const again = await boot([volume.id]);
    expect(again.status).toBe(201);
    expect(again.body.instance.volumes).toEqual([{ id: volume.id, name: 'keep-me' }]);
  });
});
