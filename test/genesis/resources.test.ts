import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';

const REGION = 'NORD-NO-KRS-1';
const OTHER = 'ARC-IS-HAF-1';
const TYPE = 'vcpu-8_memory-48g_nvidia-rtx-3090-2';

let h: TestHangar;
beforeAll(async () => {
  h = await startHangar();
});
afterAll(() => h.close());

async function ready<T extends string>(path: string, key: T): Promise<any> {
  await h.advance(5_000);
  return (await h.genesis.get(path)).body[key];
}

async function instance(extra: Record<string, unknown> = {}): Promise<any> {
  const res = await h.genesis.post('/instances', {
    name: 'box', hostname: 'box', type: TYPE, region: REGION, image: 'ubuntu-22.04', password: 'sixteen-chars-ok!', ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await h.advance(3_000);
  return (await h.genesis.get(`/instances/${res.body.instance.id}`)).body.instance;
}

function expectError(res: { status: number; body: any }, status: number, code: string, mentions?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.code).toBe(code);
  if (mentions) expect(res.body.message).toContain(mentions);
}

describe('volumes', () => {
  it('creates (creating → created), lists, gets, renames, grows and deletes (deleting → gone)', async () => {
    const created = await h.genesis.post('/volumes', { name: 'v1', size: 10, region: REGION });
    expect(created.status).toBe(201);
    const id = created.body.volume.id;
    expect(created.body.volume).toMatchObject({ type: 'ssd', description: '', status: 'creating' });
    expect(await ready(`/volumes/${id}`, 'volume')).toMatchObject({ status: 'created' });
    const listed = (await h.genesis.get('/volumes')).body;
    expect(listed.volumes.map((v: any) => v.id)).toContain(id);
    expect(listed.total_count).toBe(listed.volumes.length);

    const grown = await h.genesis.patch(`/volumes/${id}`, { name: 'v1-renamed', description: 'bigger', size: 20 });
    expect(grown.status).toBe(200);
    expect(grown.body.volume).toMatchObject({ name: 'v1-renamed', description: 'bigger', size: 20 });
    expectError(await h.genesis.patch(`/volumes/${id}`, { size: 5 }), 400, '02004', 'size');

    expect((await h.genesis.delete(`/volumes/${id}`)).status).toBe(204);
    expect((await h.genesis.get(`/volumes/${id}`)).body.volume.status).toBe('deleting');
    await h.advance(1_000);
    expectError(await h.genesis.get(`/volumes/${id}`), 404, '02021', id);
    expectError(await h.genesis.delete(`/volumes/${id}`), 404, '02021');
  });

  it('rejects bad input with the Genesis codes', async () => {
    expectError(await h.genesis.post('/volumes', { name: 'v', region: REGION }), 400, '02003', '"size" is required');
    expectError(await h.genesis.post('/volumes', { name: 'v', size: 0, region: REGION }), 400, '02004', 'size');
    expectError(await h.genesis.post('/volumes', { name: 'v', size: 10, region: 'MARS-1' }), 400, '02004', 'region');
    expectError(await h.genesis.post('/volumes', { name: 'v', size: 10, region: REGION, type: 'tape' }), 400, '02004', 'type');
    // hdd is sold in the seed-era regions only.
    expectError(await h.genesis.post('/volumes', { name: 'v', size: 10, region: 'NA-CA-FTS-1', type: 'hdd' }), 400, '02054', 'hdd');
    const locked = (await h.genesis.post('/volumes', { name: 'v', size: 10, region: REGION })).body.volume;
    expectError(await h.genesis.patch(`/volumes/${locked.id}`, { size: 20 }), 400, '02046');
    expectError(await h.genesis.delete(`/volumes/${locked.id}`), 400, '02046');
  });

  it('enforces the volume quota (02010)', async () => {
    const other = await h.newAccount('volume-quota');
    await h.hangar.kernel.counters.setQuota(h.hangar.kernel.db, other.accountId, 'genesis.volumes', 1);
    expect((await other.genesis.post('/volumes', { name: 'a', size: 1, region: REGION })).status).toBe(201);
    expectError(await other.genesis.post('/volumes', { name: 'b', size: 1, region: REGION }), 403, '02010', '1 volumes');
  });

  it('attaches and detaches through the instance, with every rule', async () => {
    const vol = (await h.genesis.post('/volumes', { name: 'data', size: 10, region: REGION })).body.volume;
    const box = await instance();
    const pending = (await h.genesis.post('/volumes', { name: 'pending', size: 10, region: REGION })).body.volume;
    // still creating: locked
    expectError(await h.genesis.patch(`/instances/${box.id}`, { volumes: [pending.id] }), 400, '02046', pending.id);
    await h.advance(5_000);
    const far = (await h.genesis.post('/volumes', { name: 'far', size: 10, region: OTHER })).body.volume;
    await h.advance(5_000);

    expectError(await h.genesis.patch(`/instances/${box.id}`, { volumes: ['no-such-volume'] }), 400, '02032', 'no-such-volume');
    expectError(await h.genesis.patch(`/instances/${box.id}`, { volumes: [far.id] }), 400, '02051', far.id);
    expectError(await h.genesis.patch(`/instances/${box.id}`, { volumes: { detach: vol.id } }), 400, '02033', vol.id);
    expectError(await h.genesis.patch(`/instances/${box.id}`, { volumes: 'all' }), 400, '02004', 'volumes');

    const attached = await h.genesis.patch(`/instances/${box.id}`, { volumes: { attach: vol.id } });
    expect(attached.body.instance.volumes).toEqual([{ id: vol.id, name: 'data' }]);
    const both = await h.genesis.patch(`/instances/${box.id}`, { volumes: [vol.id, pending.id] });
    expect(both.body.instance.volumes.map((v: any) => v.id)).toEqual([vol.id, pending.id]);
    expectError(await h.genesis.delete(`/volumes/${vol.id}`), 400, '02022', box.id);

    const other = await instance();
    expectError(await h.genesis.patch(`/instances/${other.id}`, { volumes: [vol.id] }), 400, '02032', box.id);

    const detached = await h.genesis.patch(`/instances/${box.id}`, { volumes: { detach: vol.id } });
    expect(detached.body.instance.volumes).toEqual([{ id: pending.id, name: 'pending' }]);
    expect((await h.genesis.patch(`/instances/${other.id}`, { volumes: [vol.id] })).status).toBe(200);
  });
});

describe('filesystems', () => {
  it('creates with its mount base path and endpoint range assigned when created, updates, deletes', async () => {
    const created = await h.genesis.post('/filesystems', { name: 'shared', description: 'team data', size: 100, region: REGION });
    expect(created.status).toBe(201);
    const fs = created.body.filesystem;
    expect(fs).toMatchObject({ type: 'vast', status: 'creating', mount_base_path: null, mount_endpoint_range: null });
    await h.advance(3_000);
    const done = (await h.genesis.get(`/filesystems/${fs.id}`)).body.filesystem;
    expect(done.status).toBe('created');
    expect(done.mount_base_path).toBe(`/filesystems/${fs.id}`);
    expect(done.mount_endpoint_range).toHaveLength(2);
    expect(done.mount_endpoint_range[0]).toMatch(/^172\.\d+\.\d+\.\d+$/);
    const leases = () => h.hangar.kernel.db.selectFrom('ip_leases').select('address').where('owner', '=', fs.id).execute();
    expect(await leases()).toHaveLength(2);

    const updated = await h.genesis.patch(`/filesystems/${fs.id}`, { name: 'shared-2', size: 200 });
    expect(updated.body.filesystem).toMatchObject({ name: 'shared-2', size: 200 });
    expectError(await h.genesis.patch(`/filesystems/${fs.id}`, { size: 10 }), 400, '02004', 'size');
    expect((await h.genesis.get('/filesystems')).body.filesystems.map((f: any) => f.id)).toContain(fs.id);

    expect((await h.genesis.delete(`/filesystems/${fs.id}`)).status).toBe(204);
    await h.advance(2_000);
    expect((await h.genesis.get(`/filesystems/${fs.id}`)).status).toBe(404);
    expect(await leases()).toEqual([]); // both endpoints went back to the storage pool
  });

  it('is only offered in some regions, and validates its body', async () => {
    expectError(await h.genesis.post('/filesystems', { name: 'x', size: 10, region: OTHER }), 400, '02004', OTHER);
    expectError(await h.genesis.post('/filesystems', { name: 'x', size: 10, region: REGION, type: 'nfs' }), 400, '02004', 'type');
    expectError(await h.genesis.post('/filesystems', { name: 'x', region: REGION }), 400, '02003', 'size');
  });
});

describe('security groups', () => {
  let defaultId: string;
  beforeEach(async () => {
    const all = (await h.genesis.get('/security-groups?per_page=100')).body.security_groups;
    defaultId = all.find((g: any) => g.name === 'standard' && g.region === REGION).id;
  });

  it('gives every account a default group per region that cannot be updated or deleted (02024)', async () => {
    const all = (await h.genesis.get('/security-groups?per_page=100')).body.security_groups;
    const regions = all.filter((g: any) => g.name === 'standard').map((g: any) => g.region);
    expect(new Set(regions).size).toBe(8);
    expectError(await h.genesis.patch(`/security-groups/${defaultId}`, { name: 'mine' }), 400, '02024', defaultId);
    expectError(await h.genesis.delete(`/security-groups/${defaultId}`), 400, '02024', defaultId);
  });

  it('creates, gets, updates rules (full replacement) and deletes a group', async () => {
    const created = await h.genesis.post('/security-groups', {
      name: 'web',
      region: REGION,
      rules: [
        { protocol: 'tcp', direction: 'ingress', port_range_min: 80, port_range_max: 443 },
        { protocol: 'all', direction: 'egress' },
      ],
    });
    expect(created.status).toBe(201);
    const sg = created.body.security_group;
    expect(sg.rules).toEqual([
      { protocol: 'tcp', direction: 'ingress', port_range_min: 80, port_range_max: 443, remote_ip_prefix: '0.0.0.0/0' },
      { protocol: 'all', direction: 'egress', port_range_min: null, port_range_max: null, remote_ip_prefix: '0.0.0.0/0' },
    ]);
    // Locked while being created.
    expectError(await h.genesis.patch(`/security-groups/${sg.id}`, { name: 'x' }), 400, '02026');
    await h.advance(1_000);
    const updated = await h.genesis.patch(`/security-groups/${sg.id}`, { description: 'icmp only', rules: [{ protocol: 'icmp', direction: 'ingress' }] });
    expect(updated.status).toBe(200);
    expect(updated.body.security_group).toMatchObject({ description: 'icmp only', status: 'created' });
    expect(updated.body.security_group.rules).toHaveLength(1);
    expect((await h.genesis.get(`/security-groups/${sg.id}`)).body.security_group.rules[0].protocol).toBe('icmp');
    expect((await h.genesis.delete(`/security-groups/${sg.id}`)).status).toBe(204);
    await h.advance(1_000);
    expectError(await h.genesis.get(`/security-groups/${sg.id}`), 404, '02025', sg.id);
  });

  it('rejects invalid rules with 02028 naming the rule', async () => {
    const bad = [
      [{ protocol: 'gre', direction: 'ingress' }, 'rules.0.protocol'],
      [{ protocol: 'tcp', direction: 'sideways' }, 'rules.0.direction'],
      [{ protocol: 'tcp', direction: 'ingress', port_range_min: 0, port_range_max: 10 }, 'port_range_min'],
      [{ protocol: 'tcp', direction: 'ingress', port_range_min: 10, port_range_max: 70000 }, 'port_range_max'],
      [{ protocol: 'tcp', direction: 'ingress', port_range_min: 100, port_range_max: 10 }, 'must not exceed'],
      [{ protocol: 'udp', direction: 'ingress', port_range_min: 53 }, 'both'],
      [{ protocol: 'icmp', direction: 'ingress', port_range_min: 1, port_range_max: 1 }, 'only allowed for tcp and udp'],
      [{ protocol: 'tcp', direction: 'ingress', remote_ip_prefix: '10.0.0.0/33' }, 'remote_ip_prefix'],
      ['ssh', 'must be an object'],
    ] as const;
    for (const [rule, mention] of bad) {
      expectError(await h.genesis.post('/security-groups', { name: 'bad', region: REGION, rules: [rule] }), 400, '02028', mention);
    }
    expectError(await h.genesis.post('/security-groups', { name: 'bad', region: REGION }), 400, '02003', 'rules');
  });

  it('attaches through the instance with the rules of attach and detach', async () => {
    const sg = (await h.genesis.post('/security-groups', { name: 'extra', region: REGION, rules: [] })).body.security_group;
    const early = await h.genesis.post('/instances', {
      name: 'b', hostname: 'b', type: TYPE, region: REGION, image: 'ubuntu-22.04', password: 'sixteen-chars-ok!', security_groups: [sg.id],
    });
    expectError(early, 400, '02030', sg.id); // still creating
    await h.advance(1_000);
    const far = (await h.genesis.post('/security-groups', { name: 'far', region: OTHER, rules: [] })).body.security_group;
    await h.advance(1_000);

    const box = await instance({ security_groups: [] });
    expect(box.security_groups).toEqual([]);
    expectError(await h.genesis.patch(`/instances/${box.id}`, { security_groups: ['missing'] }), 400, '02030', 'missing');
    expectError(await h.genesis.patch(`/instances/${box.id}`, { security_groups: [far.id] }), 400, '02051', far.id);
    expectError(await h.genesis.patch(`/instances/${box.id}`, { security_groups: { detach: sg.id } }), 400, '02031', sg.id);
    const two = await h.genesis.patch(`/instances/${box.id}`, { security_groups: [defaultId, sg.id] });
    expect(two.body.instance.security_groups).toEqual([{ id: defaultId, name: 'standard' }, { id: sg.id, name: 'extra' }]);
    expectError(await h.genesis.delete(`/security-groups/${sg.id}`), 400, '02027', box.id);
    await h.genesis.patch(`/security-groups/${sg.id}`, { name: 'extra-renamed' });
    expect((await h.genesis.get(`/instances/${box.id}`)).body.instance.security_groups[1].name).toBe('extra-renamed');
    const one = await h.genesis.patch(`/instances/${box.id}`, { security_groups: { detach: sg.id } });
    expect(one.body.instance.security_groups).toEqual([{ id: defaultId, name: 'standard' }]);
    expect((await h.genesis.delete(`/security-groups/${sg.id}`)).status).toBe(204);
  });
});

describe('floating IPs', () => {
  it('creates with an address from the region pool, renames, deletes and returns the address', async () => {
    const created = await h.genesis.post('/floating-ips', { name: 'ip1', description: 'entry', region: OTHER });
    expect(created.status).toBe(201);
    const fip = created.body.floating_ip;
    expect(fip).toMatchObject({ version: 'ipv4', status: 'creating', is_public: true, instance: null, description: 'entry' });
    expect(fip.ip_address).toMatch(/^100\./);
    await h.advance(1_000);
    const renamed = await h.genesis.patch(`/floating-ips/${fip.id}`, { name: 'ip1-b' });
    expect(renamed.body.floating_ip).toMatchObject({ name: 'ip1-b', status: 'created', ip_address: fip.ip_address });
    expect((await h.genesis.delete(`/floating-ips/${fip.id}`)).status).toBe(204);
    await h.advance(1_000);
    expect((await h.genesis.get(`/floating-ips/${fip.id}`)).status).toBe(404);
    const lease = await h.hangar.kernel.db.selectFrom('ip_leases').selectAll().where('owner', '=', fip.id).execute();
    expect(lease).toEqual([]);
  });

  it('accepts only ipv4 and enforces the static IP quota (02049)', async () => {
    expectError(await h.genesis.post('/floating-ips', { name: 'v6', region: REGION, version: 'ipv6' }), 400, '02004', 'version');
    expectError(await h.genesis.post('/floating-ips', { name: 'x', region: 'MARS-1' }), 400, '02004', 'region');
    const other = await h.newAccount('fip-quota');
    await h.hangar.kernel.counters.setQuota(h.hangar.kernel.db, other.accountId, 'genesis.floating_ips', 1);
    expect((await other.genesis.post('/floating-ips', { name: 'a', region: REGION })).status).toBe(201);
    expectError(await other.genesis.post('/floating-ips', { name: 'b', region: REGION }), 403, '02049');
  });

  it('moves between instances only when free, and only within its region', async () => {
    const fip = (await h.genesis.post('/floating-ips', { name: 'mover', region: REGION })).body.floating_ip;
    const far = (await h.genesis.post('/floating-ips', { name: 'far', region: OTHER })).body.floating_ip;
    await h.advance(1_000);
    const a = await instance({ floating_ip: fip.id });
    expect(a.public_ip).toBe(fip.ip_address);
    const b = await instance();
    expectError(await h.genesis.patch(`/instances/${b.id}`, { floating_ip: fip.id }), 400, '02009', a.id);
    expectError(await h.genesis.patch(`/instances/${b.id}`, { floating_ip: far.id }), 400, '02051', far.id);
    expectError(await h.genesis.post('/instances', {
      name: 'c', hostname: 'c', type: TYPE, region: REGION, image: 'ubuntu-22.04', password: 'sixteen-chars-ok!', floating_ip: fip.id,
    }), 400, '02009', a.id);

    // Stopping keeps a floating address.
    await h.genesis.post(`/instances/${a.id}/actions`, { action: 'stop' });
    await h.advance(2_000);
    expect((await h.genesis.get(`/instances/${a.id}`)).body.instance.public_ip).toBe(fip.ip_address);

    // Destroying the instance frees it; the other instance can take it.
    await h.genesis.delete(`/instances/${a.id}`);
    await h.advance(2_000);
    expect((await h.genesis.get(`/floating-ips/${fip.id}`)).body.floating_ip.instance).toBeNull();
    const moved = await h.genesis.patch(`/instances/${b.id}`, { floating_ip: fip.id });
    expect(moved.body.instance).toMatchObject({ public_ip: fip.ip_address, floating_ip: { id: fip.id, name: 'mover' } });
  });
});

describe('default quotas from the environment', () => {
  it('HANGAR_GENESIS_QUOTAS caps every account; GET /quotas reports it', async () => {
    const tight = await startHangar({ env: { HANGAR_GENESIS_QUOTAS: 'instances=1,volumes=2' } });
    try {
      const body = { name: 'q', hostname: 'q', type: TYPE, region: REGION, image: 'ubuntu-22.04', password: 'sixteen-chars-ok!' };
      expect((await tight.genesis.post('/instances', body)).status).toBe(201);
      expectError(await tight.genesis.post('/instances', body), 403, '02010');
      const quotas = (await tight.genesis.get('/quotas')).body.quotas;
      expect(quotas.find((q: any) => q.key === 'instances')).toMatchObject({ capacity: 1, used: 1, flavors: [{ flavor_name: TYPE, used: 1 }] });
      expect(quotas.find((q: any) => q.key === 'volumes')).toMatchObject({ capacity: 2, used: 0 });
    } finally {
      await tight.close();
    }
    await expect(startHangar({ env: { HANGAR_GENESIS_QUOTAS: 'gpus=1' } })).rejects.toThrow(/unknown quota "gpus"/);
  });
});
