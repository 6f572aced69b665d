import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOf, type Admin } from '../helpers/admin.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { activeInstance, BOOT_MS, createInstance, createKey, expectError, instanceStatus, REGION } from '../helpers/genesis.js';

/**
 * The instance state machine where it meets DELETE and PATCH, a reset out of `error`, a second
 * DELETE of anything already being deleted, and names that follow a renamed snapshot.
 */
describe('Genesis state machine', () => {
  let h: TestHangar;
  let admin: Admin;
  let keyId: string;
  beforeAll(async () => {
    h = await startHangar();
    admin = adminOf(h);
    keyId = (await createKey(h.genesis)).id;
  });
  afterAll(() => h.close());

  /** An instance whose boot fails (a staged lifecycle fault): `error`, with no addresses. */
  async function erroredInstance(): Promise<any> {
    expect((await admin.post('/faults', { kind: 'genesis.instance', transition: 'boot', count: 1 })).status).toBe(201);
    const created = await createInstance(h.genesis, { ssh_keys: [keyId] });
    await h.advance(BOOT_MS);
    const instance = (await h.genesis.get(`/instances/${created.id}`)).body.instance;
    expect(instance).toMatchObject({ status: 'error', private_ip: null, public_ip: null, dns_name: '' });
    return instance;
  }

  describe('a reset out of error', () => {
    it('ends active with addresses and a DNS name, as a boot does', async () => {
      const broken = await erroredInstance();
      expect((await h.genesis.get(`/instances/${broken.id}/actions`)).body).toEqual({ actions: ['reset'] });
      expect((await h.genesis.post(`/instances/${broken.id}/actions`, { action: 'reset' })).status).toBe(204);
      expect(await instanceStatus(h.genesis, broken.id)).toBe('resetting');
      await h.advance(2_000);
      const fixed = (await h.genesis.get(`/instances/${broken.id}`)).body.instance;
      expect(fixed.status).toBe('active');
      expect(fixed.private_ip).toMatch(/^10\.\d+\.\d+\.\d+$/);
      expect(fixed.public_ip).toMatch(/^100\.\d+\.\d+\.\d+$/);
      expect(fixed.dns_name).toMatch(new RegExp(`^worker-${broken.id.slice(0, 8)}\\.`));
      expect((await h.genesis.get(`/instances/${broken.id}/actions`)).body).toEqual({ actions: ['reset', 'stop'] });
      // The addresses are leased to it: another instance gets others.
      const other = await activeInstance(h, { ssh_keys: [keyId] });
      expect([other.private_ip, other.public_ip]).not.toContain(fixed.private_ip);
      expect(other.public_ip).not.toBe(fixed.public_ip);
    });

    it('keeps the addresses of an active instance it resets', async () => {
      const instance = await activeInstance(h, { ssh_keys: [keyId] });
      await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'reset' });
      await h.advance(2_000);
      expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance).toMatchObject({
        status: 'active',
        private_ip: instance.private_ip,
        public_ip: instance.public_ip,
        dns_name: instance.dns_name,
      });
    });
  });

  describe('which instance statuses allow DELETE and PATCH', () => {
    /**
     * The table Hangar keeps (the seed: "02013 Only active instances can be deleted", "02023
     * Only active instances can be updated"). A settled instance (active, stopped, error,
     * pending_payment) may be destroyed; one mid-transition may not. Its name and protection
     * may change in any status but `deleting`; its disk, groups, volumes and floating IP only
     * while it is active or stopped.
     */
    const TABLE: Record<string, { destroy: 204 | string; rename: 200 | string; reconfigure: 200 | string }> = {
      creating: { destroy: '02013', rename: 200, reconfigure: '02023' },
      pending_payment: { destroy: 204, rename: 200, reconfigure: '02023' },
      active: { destroy: 204, rename: 200, reconfigure: 200 },
      stopping: { destroy: '02013', rename: 200, reconfigure: '02023' },
      stopped: { destroy: 204, rename: 200, reconfigure: 200 },
      starting: { destroy: '02013', rename: 200, reconfigure: '02023' },
      resetting: { destroy: '02013', rename: 200, reconfigure: '02023' },
      error: { destroy: 204, rename: 200, reconfigure: '02023' },
      deleting: { destroy: '02013', rename: '02034', reconfigure: '02034' },
    };

    it('covers every status of the seed', () => {
      expect(Object.keys(TABLE).sort()).toEqual(['active', 'creating', 'deleting', 'error', 'pending_payment', 'resetting', 'starting', 'stopped', 'stopping']);
    });

    /** An instance of the account in the given status, reached through the API where one leads there. */
    async function instanceIn(status: string): Promise<string> {
      const act = async (id: string, action: string) => expect((await h.genesis.post(`/instances/${id}/actions`, { action })).status).toBe(204);
      switch (status) {
        case 'creating':
          return (await createInstance(h.genesis, { ssh_keys: [keyId] })).id;
        case 'error':
          return (await erroredInstance()).id;
        case 'pending_payment': {
          // Nothing in Hangar's API leads here (no payment flow): the row is set, as a billing system would.
          const { id } = await activeInstance(h, { ssh_keys: [keyId] });
          await h.hangar.kernel.db.updateTable('genesis_instances').set({ status: 'pending_payment' }).where('id', '=', id).execute();
          return id;
        }
      }
      const { id } = await activeInstance(h, { ssh_keys: [keyId] });
      if (status === 'stopping' || status === 'stopped' || status === 'starting') await act(id, 'stop');
      if (status === 'stopped' || status === 'starting') await h.advance(2_000);
      if (status === 'starting') await act(id, 'start');
      if (status === 'resetting') await act(id, 'reset');
      if (status === 'deleting') expect((await h.genesis.delete(`/instances/${id}`)).status).toBe(204);
      return id;
    }

    it.each(Object.entries(TABLE))('%s: DELETE, PATCH name, PATCH disk_size as the table says', async (status, expected) => {
      const id = await instanceIn(status);
      const path = `/instances/${id}`;
      expect(await instanceStatus(h.genesis, id)).toBe(status);

      const rename = await h.genesis.patch(path, { name: `renamed-${status}` });
      if (expected.rename === 200) {
        expect(rename.status, rename.text).toBe(200);
        expect(rename.body.instance).toMatchObject({ name: `renamed-${status}`, status });
      } else {
        expectError(rename, 400, expected.rename, id);
      }

      const before = (await h.genesis.get(path)).body.instance;
      const grow = await h.genesis.patch(path, { disk_size: before.disk_size + 20 });
      if (expected.reconfigure === 200) {
        expect(grow.status, grow.text).toBe(200);
        expect(grow.body.instance.disk_size).toBe(before.disk_size + 20);
      } else {
        expectError(grow, 400, expected.reconfigure, id);
        expect((await h.genesis.get(path)).body.instance.disk_size).toBe(before.disk_size);
      }
      const groups = await h.genesis.patch(path, { security_groups: [] });
      if (expected.reconfigure === 200) expect(groups.body.instance.security_groups).toEqual([]);
      else expectError(groups, 400, expected.reconfigure, id);

      const destroy = await h.genesis.delete(path);
      if (expected.destroy === 204) {
        expect(destroy.status, destroy.text).toBe(204);
        expect(await instanceStatus(h.genesis, id)).toBe('deleting');
      } else {
        expectError(destroy, 400, expected.destroy, id);
        expect(destroy.body.message).toContain(status === 'deleting' ? 'already being deleted' : status);
        expect(await instanceStatus(h.genesis, id)).toBe(status);
      }
    });
  });

  describe('a second DELETE of a resource already being deleted', () => {
    /** The same answer in every family with a `deleting` status: 400, the family's code, "already being deleted". */
    const families: { what: string; path: string; code: string; make(): Promise<string>; settle: number }[] = [
      { what: 'instance', path: '/instances', code: '02013', settle: 2_000, make: async () => (await activeInstance(h, { ssh_keys: [keyId] })).id },
      {
        what: 'snapshot',
        path: '/snapshots',
        code: '02009',
        settle: 1_000,
        make: async () => (await h.genesis.post('/snapshots', { name: 's', size: 10, url: 'https://images.example.com/s.raw', region: REGION })).body.snapshot.id,
      },
      { what: 'volume', path: '/volumes', code: '02046', settle: 1_000, make: async () => (await h.genesis.post('/volumes', { name: 'v', size: 10, region: REGION })).body.volume.id },
      {
        what: 'security group',
        path: '/security-groups',
        code: '02026',
        settle: 1_000,
        make: async () => (await h.genesis.post('/security-groups', { name: 'g', region: REGION, rules: [] })).body.security_group.id,
      },
      { what: 'floating ip', path: '/floating-ips', code: '02009', settle: 1_000, make: async () => (await h.genesis.post('/floating-ips', { name: 'f', region: REGION })).body.floating_ip.id },
      {
        what: 'filesystem',
        path: '/filesystems',
        code: '02009',
        settle: 2_000,
        make: async () => (await h.genesis.post('/filesystems', { name: 'fs', size: 10, region: REGION })).body.filesystem.id,
      },
    ];

    it.each(families.map((f) => [f.what, f] as const))('%s: 400 with its code while deleting, then 404 once gone', async (what, family) => {
      const id = await family.make();
      await h.advance(3_000); // created
      const key = family.path === '/floating-ips' ? 'floating_ip' : family.path === '/security-groups' ? 'security_group' : family.path.slice(1, -1);
      expect((await h.genesis.delete(`${family.path}/${id}`)).status).toBe(204);
      expect((await h.genesis.get(`${family.path}/${id}`)).body[key].status).toBe('deleting');

      const again = await h.genesis.delete(`${family.path}/${id}`);
      expectError(again, 400, family.code, id);
      expect(again.body.message).toBe(`${what} "${id}" is already being deleted`);
      expect((await h.genesis.get(`${family.path}/${id}`)).body[key].status).toBe('deleting');

      await h.advance(family.settle);
      expect((await h.genesis.get(`${family.path}/${id}`)).status).toBe(404);
      expect((await h.genesis.delete(`${family.path}/${id}`)).status).toBe(404);
    });
  });

  it('shows a renamed snapshot\'s new name as the image of the instances made from it', async () => {
    const source = await activeInstance(h, { ssh_keys: [keyId] });
    const snapshot = (await h.genesis.post(`/instances/${source.id}/snapshots`, { name: 'golden' })).body.snapshot;
    await h.advance(3_000);
    const child = await createInstance(h.genesis, { ssh_keys: [keyId], image: snapshot.id });
    const other = await createInstance(h.genesis, { ssh_keys: [keyId] });
    expect(child.image).toEqual({ id: snapshot.id, name: 'golden' });

    const renamed = await h.genesis.patch(`/snapshots/${snapshot.id}`, { name: 'golden-v2' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.snapshot.name).toBe('golden-v2');
    expect((await h.genesis.get(`/instances/${child.id}`)).body.instance.image).toEqual({ id: snapshot.id, name: 'golden-v2' });
    const listed = (await h.genesis.get('/instances?per_page=100')).body.instances;
    expect(listed.find((i: any) => i.id === child.id).image.name).toBe('golden-v2');
    expect(listed.find((i: any) => i.id === other.id).image).toEqual({ id: other.image.id, name: 'Ubuntu 22.04' });
    expect((await h.genesis.get('/images?type=snapshot')).body.images.find((i: any) => i.id === snapshot.id).name).toBe('golden-v2');
  });
});
