import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import {
  activeInstance,
  BOOT_MS,
  createInstance,
  createKey,
  expectError,
  GPU_TYPE,
  insertSecurityGroup,
  instanceStatus,
  REGION,
  standardGroupId,
} from '../helpers/genesis.js';

describe('Genesis instances', () => {
  let h: TestHangar;
  let keyId: string;
  let standardId: string;

  beforeAll(async () => {
    h = await startHangar();
    keyId = (await createKey(h.genesis)).id;
    standardId = await standardGroupId(h, h.demoAccountId);
  });
  afterAll(() => h.close());

  describe('PATCH', () => {
    it('renames, protects and grows the disk, and records when', async () => {
      const instance = await activeInstance(h, { ssh_keys: [keyId] });
      await h.advance(60_000);
      const res = await h.genesis.patch(`/instances/${instance.id}`, { name: 'renamed' });
      expect(res.status).toBe(200);
      expect(res.body.instance).toMatchObject({ name: 'renamed', hostname: 'worker', is_protected: false, disk_size: 80 });
      expect(res.body.instance.updated_at).toBe(new Date(h.clock.now()).toISOString());
      expect(res.body.instance.created_at).toBe(instance.created_at);

      expect((await h.genesis.patch(`/instances/${instance.id}`, { is_protected: true })).body.instance.is_protected).toBe(true);
      expect((await h.genesis.patch(`/instances/${instance.id}`, { disk_size: 500 })).body.instance.disk_size).toBe(500);
      const after = (await h.genesis.get(`/instances/${instance.id}`)).body.instance;
      expect(after).toMatchObject({ name: 'renamed', is_protected: true, disk_size: 500, status: 'active' });
      // An empty PATCH changes nothing.
      expect((await h.genesis.patch(`/instances/${instance.id}`, {})).body.instance).toMatchObject({ name: 'renamed', is_protected: true, disk_size: 500 });

      expect((await h.genesis.patch(`/instances/${instance.id}`, { is_protected: false })).body.instance.is_protected).toBe(false);
      expect((await h.genesis.delete(`/instances/${instance.id}`)).status).toBe(204);
    });

    it('grows the disk of a stopped instance too', async () => {
      const instance = await activeInstance(h, { ssh_keys: [keyId] });
      await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'stop' });
      await h.advance(2_000);
      const res = await h.genesis.patch(`/instances/${instance.id}`, { disk_size: 160 });
      expect(res.status, res.text).toBe(200);
      expect(res.body.instance).toMatchObject({ disk_size: 160, status: 'stopped' });
    });
  });

  describe('security groups', () => {
    let extra: string;
    let third: string;
    beforeAll(async () => {
      extra = await insertSecurityGroup(h, h.demoAccountId, 'web');
      third = await insertSecurityGroup(h, h.demoAccountId, 'db');
    });

    it('attaches the default "standard" group when none are named', async () => {
      const instance = await createInstance(h.genesis, { ssh_keys: [keyId] });
      expect(instance.security_groups).toEqual([{ id: standardId, name: 'standard' }]);
    });

    it('attaches none when given an empty list', async () => {
      const instance = await createInstance(h.genesis, { ssh_keys: [keyId], security_groups: [] });
      expect(instance.security_groups).toEqual([]);
      expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance.security_groups).toEqual([]);
    });

    it('attaches the named groups at create, in order', async () => {
      const instance = await createInstance(h.genesis, { ssh_keys: [keyId], security_groups: [extra, standardId] });
      expect(instance.security_groups).toEqual([
        { id: extra, name: 'web' },
        { id: standardId, name: 'standard' },
      ]);
    });

    it('replaces the whole list on PATCH; [] detaches all', async () => {
      const instance = await activeInstance(h, { ssh_keys: [keyId] });
      const path = `/instances/${instance.id}`;
      expect((await h.genesis.patch(path, { security_groups: [standardId, extra, third] })).body.instance.security_groups.map((g: any) => g.name)).toEqual([
        'standard',
        'web',
        'db',
      ]);
      expect((await h.genesis.patch(path, { security_groups: [third] })).body.instance.security_groups).toEqual([{ id: third, name: 'db' }]);
      // Leaving the field out keeps the list.
      expect((await h.genesis.patch(path, { name: 'x' })).body.instance.security_groups).toEqual([{ id: third, name: 'db' }]);
      expect((await h.genesis.patch(path, { security_groups: [] })).body.instance.security_groups).toEqual([]);
      expect((await h.genesis.get(path)).body.instance.security_groups).toEqual([]);
    });

    it('attaches and detaches one group with {"attach": id} / {"detach": id}', async () => {
      const instance = await activeInstance(h, { ssh_keys: [keyId] });
      const path = `/instances/${instance.id}`;
      const attached = await h.genesis.patch(path, { security_groups: { attach: extra } });
      expect(attached.status, attached.text).toBe(200);
      expect(attached.body.instance.security_groups).toEqual([
        { id: standardId, name: 'standard' },
        { id: extra, name: 'web' },
      ]);
      // Attaching again is harmless.
      expect((await h.genesis.patch(path, { security_groups: { attach: extra } })).body.instance.security_groups).toHaveLength(2);
      const detached = await h.genesis.patch(path, { security_groups: { detach: standardId } });
      expect(detached.body.instance.security_groups).toEqual([{ id: extra, name: 'web' }]);

      // Detaching a group that is not attached is 02031, and changes nothing.
      expectError(await h.genesis.patch(path, { security_groups: { detach: third } }), 400, '02031', third);
      expect((await h.genesis.get(path)).body.instance.security_groups).toEqual([{ id: extra, name: 'web' }]);
    });

    it('refuses groups that do not exist or live in another region', async () => {
      const instance = await activeInstance(h, { ssh_keys: [keyId] });
      const path = `/instances/${instance.id}`;
      expectError(await h.genesis.patch(path, { security_groups: { attach: 'no-such-group' } }), 400, '02030', 'no-such-group');
      const elsewhere = await standardGroupId(h, h.demoAccountId, 'EUC-DE-MUC-1');
      expectError(await h.genesis.patch(path, { security_groups: [elsewhere] }), 400, '02051', elsewhere);
      expect((await h.genesis.get(path)).body.instance.security_groups).toEqual([{ id: standardId, name: 'standard' }]);
      expectError(await h.genesis.post('/instances', { name: 'x', hostname: 'x', type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', ssh_keys: [keyId], security_groups: ['nope'] }), 400, '02007', 'nope');
    });
  });

  describe('create', () => {
    it('takes a password (16 characters or more) instead of ssh keys', async () => {
      const res = await h.genesis.post('/instances', {
        name: 'pw',
        hostname: 'pw',
        type: GPU_TYPE,
        region: REGION,
        image: 'ubuntu-22.04',
        password: 'correct-horse-16',
      });
      expect(res.status, res.text).toBe(201);
      expect(res.body.instance.ssh_keys).toEqual([]);
      expect(JSON.stringify(res.body)).not.toContain('correct-horse-16');
    });

    it('resolves an image by slug, and by slug:version', async () => {
      const bySlug = await createInstance(h.genesis, { ssh_keys: [keyId], image: 'ubuntu-22.04' });
      expect(bySlug.image).toEqual({ id: '7b1644e2-d97d-4725-a927-0028bc60bc28', name: 'Ubuntu 22.04' });
      const versioned = await createInstance(h.genesis, { ssh_keys: [keyId], image: 'ubuntu-20.04-ml:2022.06', type: GPU_TYPE, region: REGION });
      expect(versioned.image).toEqual({ id: '9d0c5e8a-1f2b-4c3d-8e7f-6a5b4c3d2e1f', name: 'Ubuntu 20.04 ML (NVIDIA driver 470, CUDA 11.4, PyTorch, TensorFlow)' });
      const windows = await createInstance(h.genesis, { ssh_keys: [keyId], image: 'windows-server-2022' });
      expect(windows.os_type).toBe('windows');
    });

    it("boots from one of the account's own snapshots", async () => {
      const source = await activeInstance(h, { ssh_keys: [keyId], disk_size: 120 });
      const snapshot = (await h.genesis.post(`/instances/${source.id}/snapshots`, { name: 'golden' })).body.snapshot;
      // Not before the snapshot is ready.
      expectError(
        await h.genesis.post('/instances', { name: 'x', hostname: 'x', type: GPU_TYPE, region: REGION, image: snapshot.id, ssh_keys: [keyId], disk_size: 120 }),
        400,
        '02006',
        snapshot.id,
      );
      await h.advance(3_000);
      // The boot disk must hold the snapshot.
      expectError(
        await h.genesis.post('/instances', { name: 'x', hostname: 'x', type: GPU_TYPE, region: REGION, image: snapshot.id, ssh_keys: [keyId], disk_size: 100 }),
        400,
        '02004',
        '"disk_size" must be at least 120',
      );
      const clone = await createInstance(h.genesis, { ssh_keys: [keyId], image: snapshot.id, disk_size: 120 });
      expect(clone.image).toEqual({ id: snapshot.id, name: 'golden' });
      await h.advance(BOOT_MS);
      expect(await instanceStatus(h.genesis, clone.id)).toBe('active');
    });

    it('serves the metadata sent at create as user-metadata', async () => {
      const metadata = {
        startup_script: '#!/bin/bash\necho hi',
        user_data: [{ type: 'text/cloud-config', filename: 'init.yaml', content: '#cloud-config\npackages: [htop]' }],
      };
      const instance = await createInstance(h.genesis, { ssh_keys: [keyId], metadata });
      const res = await h.genesis.get(`/instances/${instance.id}/user-metadata`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(metadata);
      const plain = await createInstance(h.genesis, { ssh_keys: [keyId] });
      expect((await h.genesis.get(`/instances/${plain.id}/user-metadata`)).body).toEqual({});
    });

    it('gives the instance a DNS name and addresses once it is active', async () => {
      const instance = await activeInstance(h, { ssh_keys: [keyId], hostname: 'trainer.lab' });
      expect(instance.dns_name).toMatch(/^trainer-[0-9a-f]{8}\./);
      expect(instance.private_ip).toMatch(/^10\./);
      expect(instance.public_ip).toMatch(/^100\./);
      const other = await activeInstance(h, { ssh_keys: [keyId] });
      expect(other.private_ip).not.toBe(instance.private_ip);
      expect(other.public_ip).not.toBe(instance.public_ip);
    });
  });

  describe('actions', () => {
    it('lists what each status allows, through a full round trip', async () => {
      const instance = await createInstance(h.genesis, { ssh_keys: [keyId] });
      const path = `/instances/${instance.id}`;
      const actions = async () => (await h.genesis.get(`${path}/actions`)).body.actions;
      const act = async (action: string) => expect((await h.genesis.post(`${path}/actions`, { action })).status).toBe(204);

      expect(await actions()).toEqual([]); // creating
      await h.advance(BOOT_MS);
      expect(await actions()).toEqual(['reset', 'stop']); // active
      await act('stop');
      expect(await instanceStatus(h.genesis, instance.id)).toBe('stopping');
      expect(await actions()).toEqual([]);
      await h.advance(2_000);
      expect(await instanceStatus(h.genesis, instance.id)).toBe('stopped');
      expect(await actions()).toEqual(['start']);
      await act('start');
      expect(await instanceStatus(h.genesis, instance.id)).toBe('starting');
      expect(await actions()).toEqual([]);
      await h.advance(3_000);
      expect(await actions()).toEqual(['reset', 'stop']);
      await act('reset');
      expect(await actions()).toEqual([]); // resetting
      await h.advance(2_000);
      expect(await h.genesis.delete(path)).toMatchObject({ status: 204 });
      expect(await instanceStatus(h.genesis, instance.id)).toBe('deleting');
      expect(await actions()).toEqual([]);
    });

    it('resets: active -> resetting -> active, keeping its addresses', async () => {
      const instance = await activeInstance(h, { ssh_keys: [keyId] });
      expect((await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'reset' })).status).toBe(204);
      expect(await instanceStatus(h.genesis, instance.id)).toBe('resetting');
      await h.advance(1_999);
      expect(await instanceStatus(h.genesis, instance.id)).toBe('resetting');
      await h.advance(1);
      const after = (await h.genesis.get(`/instances/${instance.id}`)).body.instance;
      expect(after.status).toBe('active');
      expect(after.public_ip).toBe(instance.public_ip);
      expect(after.private_ip).toBe(instance.private_ip);
    });
  });

  describe('availability and quotas', () => {
    it('takes one unit of stock per instance and gives it back when the instance is gone', async () => {
      const account = await h.newAccount();
      const key = await createKey(account.genesis);
      const type = 'vcpu-4_memory-24g_nvidia-rtx-3090-1';
      const count = async () => {
        const res = await account.genesis.get(`/availability/${REGION}/instances`);
        expect(res.status).toBe(200);
        expect(res.body.availability).toMatchObject({ type: 'instances', region: REGION, placement: 'AUTO' });
        return res.body.availability.instance_types.find((t: any) => t.type === type);
      };
      const quota = async () => (await account.genesis.get('/quotas')).body.quotas.find((q: any) => q.key === 'instances');

      const before = await count();
      expect(before.available).toBe(true);
      expect((await quota()).used).toBe(0);

      const instance = await createInstance(account.genesis, { ssh_keys: [key.id], type });
      expect((await count()).count).toBe(before.count - 1);
      expect(await quota()).toMatchObject({ used: 1, flavors: [{ flavor_name: type, product_name: 'NVIDIA GeForce RTX 3090', unit: 'instance', used: 1 }] });

      await h.advance(BOOT_MS);
      expect((await account.genesis.delete(`/instances/${instance.id}`)).status).toBe(204);
      expect((await count()).count).toBe(before.count - 1); // still held while deleting
      await h.advance(2_000);
      expect((await count()).count).toBe(before.count);
      expect(await quota()).toMatchObject({ used: 0, flavors: [] });
    });

    it('refuses availability for an unknown region', async () => {
      expectError(await h.genesis.get('/availability/MOON-BASE-1/instances'), 400, '02004', '"region"');
    });

    it('answers an empty reservations list', async () => {
      expect((await h.genesis.get('/reservations')).body).toEqual({ reservations: [] });
    });
  });

  describe('OpenAPI document', () => {
    it('is served as JSON and YAML without a token and lists the operations', async () => {
      const json = await h.anonymous.get('/openapi.json');
      expect(json.status).toBe(200);
      expect(json.headers.get('content-type')).toContain('application/json');
      const doc = json.body;
      expect(doc.openapi).toMatch(/^3\./);
      const operations = Object.values<Record<string, any>>(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
      for (const id of [
        'ListInstancesPaginated',
        'CreateInstance',
        'GetInstance',
        'UpdateInstance',
        'DeleteInstance',
        'GetInstanceActions',
        'PerformInstanceAction',
        'ListInstanceSnapshotsPaginated',
        'CreateInstanceSnapshot',
        'GetInstanceUserMetadata',
        'ListSnapshotsPaginated',
        'CreateSnapshot',
        'GetSnapshot',
        'UpdateSnapshot',
        'DeleteSnapshot',
        'CloneSnapshot',
        'ListImagesPaginated',
        'ListSSHKeysPaginated',
        'CreateSSHKey',
        'GetSSHKey',
        'UpdateSSHKey',
        'DeleteSSHKey',
        'GetInstancesAvailability',
        'GetQuotas',
      ]) {
        expect(operations).toContain(id);
      }
      expect(doc.paths['/instances/{instance_id}'].delete.responses['204']).toBeDefined();
      expect(doc.paths['/openapi.json']).toBeUndefined();

      const yaml = await h.anonymous.get('/openapi.yaml');
      expect(yaml.status).toBe(200);
      expect(yaml.headers.get('content-type')).toContain('application/yaml');
      expect(parseYaml(yaml.text)).toEqual(doc);
    });
  });
});
