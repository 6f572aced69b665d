import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';

describe('Genesis instance lifecycle, clock advanced rather than slept', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar();
  });
  afterAll(() => h.close());
  /** The addresses leased to a resource, as dotted strings, lowest first. */
  const leased = async (owner: string) =>
    (await h.hangar.kernel.db.selectFrom('ip_leases').select('address').where('owner', '=', owner).orderBy('address').execute()).map((l) =>
      [24, 16, 8, 0].map((shift) => Math.floor(Number(l.address) / 2 ** shift) % 256).join('.'),
    );

  it('creates, boots with addresses, stops, starts, snapshots and destroys an instance', async () => {
    const key = await h.genesis.post('/ssh-keys', { name: 'laptop', value: publicKey() });
    expect(key.status).toBe(201);

    const created = await h.genesis.post('/instances', {
      name: 'trainer',
      hostname: 'trainer',
      type: 'vcpu-8_memory-48g_nvidia-rtx-3090-2',
      region: 'NORD-NO-KRS-1',
      image: 'ubuntu-22.04',
      ssh_keys: [key.body.id],
    });
    expect(created.status).toBe(201);
    const id = created.body.instance.id;
    expect(created.body.instance).toMatchObject({
      status: 'creating',
      private_ip: null,
      public_ip: null,
      dns_name: '',
      disk_size: 80,
      placement_option: 'AUTO',
      is_protected: false,
      image: { id: '7b1644e2-d97d-4725-a927-0028bc60bc28', name: 'Ubuntu 22.04' },
      ssh_keys: [{ id: key.body.id, name: 'laptop' }],
      security_groups: [{ name: 'standard' }],
      volumes: [],
      floating_ip: null,
    });

    // Nothing moves while the clock stands still.
    expect((await h.genesis.get(`/instances/${id}`)).body.instance.status).toBe('creating');
    expect((await h.genesis.get(`/instances/${id}/actions`)).body).toEqual({ actions: [] });

    await h.advance(3_000);
    const active = (await h.genesis.get(`/instances/${id}`)).body.instance;
    expect(active.status).toBe('active');
    expect(active.private_ip).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(active.public_ip).toMatch(/^100\.\d+\.\d+\.\d+$/);
    expect(active.dns_name).toContain('trainer');
    expect(Date.parse(active.updated_at) - Date.parse(active.created_at)).toBe(3_000);
    expect(await leased(id)).toEqual([active.private_ip, active.public_ip].sort());
    expect((await h.genesis.get(`/instances/${id}/actions`)).body).toEqual({ actions: ['reset', 'stop'] });

    expect((await h.genesis.post(`/instances/${id}/actions`, { action: 'stop' })).status).toBe(204);
    expect((await h.genesis.get(`/instances/${id}`)).body.instance.status).toBe('stopping');
    await h.advance(2_000);
    const stopped = (await h.genesis.get(`/instances/${id}`)).body.instance;
    expect(stopped.status).toBe('stopped');
    expect(stopped.private_ip).toBe(active.private_ip);
    expect(stopped.public_ip).toBeNull(); // a dynamic public address is given back on stop
    expect(await leased(id)).toEqual([active.private_ip]);
    expect((await h.genesis.get(`/instances/${id}/actions`)).body).toEqual({ actions: ['start'] });

    expect((await h.genesis.post(`/instances/${id}/actions`, { action: 'start' })).status).toBe(204);
    expect((await h.genesis.get(`/instances/${id}`)).body.instance.status).toBe('starting');
    await h.advance(3_000);
    const restarted = (await h.genesis.get(`/instances/${id}`)).body.instance;
    expect(restarted.status).toBe('active');
    expect(restarted.public_ip).toMatch(/^100\./);
    expect(await leased(id)).toEqual([restarted.private_ip, restarted.public_ip].sort());

    const snap = await h.genesis.post(`/instances/${id}/snapshots`, { name: 'after-training' });
    expect(snap.status).toBe(201);
    expect(snap.body.snapshot).toMatchObject({ name: 'after-training', status: 'creating', size: 80, region: 'NORD-NO-KRS-1', resource_id: id });
    await h.advance(3_000);
    expect((await h.genesis.get(`/snapshots/${snap.body.snapshot.id}`)).body.snapshot.status).toBe('created');
    const listed = await h.genesis.get(`/instances/${id}/snapshots`);
    expect(listed.body).toMatchObject({ total_count: 1, page: 1, per_page: 50 });
    expect(listed.body.snapshots[0].id).toBe(snap.body.snapshot.id);

    expect((await h.genesis.delete(`/instances/${id}`)).status).toBe(204);
    expect((await h.genesis.get(`/instances/${id}`)).body.instance.status).toBe('deleting');
    await h.advance(2_000);
    const gone = await h.genesis.get(`/instances/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ code: '02008', message: `instance "${id}" not found` });
    expect(await leased(id)).toEqual([]); // its addresses went back to the pools
    expect((await h.genesis.get('/instances')).body).toMatchObject({ instances: [], total_count: 0 });
    // The snapshot outlives its instance.
    expect((await h.genesis.get(`/snapshots/${snap.body.snapshot.id}`)).status).toBe(200);
  });
  it('gives instances that boot together (one batch) and one that boots alone distinct addresses, each leased to its instance', async () => {
    const key = await h.genesis.post('/ssh-keys', { name: 'batch', value: publicKey() });
    const create = async (name: string) => {
      const res = await h.genesis.post('/instances', { name, hostname: name, type: 'vcpu-8_memory-48g_nvidia-rtx-3090-2', region: 'NORD-NO-KRS-1', image: 'ubuntu-22.04', ssh_keys: [key.body.id] });
      expect(res.status, res.text).toBe(201);
      return res.body.instance.id as string;
    };
    // Five due at once boot in one batch (their addresses allocated together); the sixth alone.
    const together = [];
    for (let i = 0; i < 5; i++) together.push(await create(`together-${i}`));
    await h.advance(3_000);
    const alone = await create('alone');
    await h.advance(3_000);
    const booted = await Promise.all([...together, alone].map(async (id) => (await h.genesis.get(`/instances/${id}`)).body.instance));
    expect(booted.map((i) => i.status)).toEqual(Array(6).fill('active'));
    const addresses = booted.flatMap((i) => [i.private_ip, i.public_ip]);
    expect(new Set(addresses).size).toBe(12);
    for (const instance of booted) expect(await leased(instance.id)).toEqual([instance.private_ip, instance.public_ip].sort());
  });
});
