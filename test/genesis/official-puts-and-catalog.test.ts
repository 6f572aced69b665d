import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { activeInstance, createKey, expectError, REGION } from '../helpers/genesis.js';

/**
 * The official July 2023 spec updates volumes, security groups and SSH keys with PUT (the
 * current clients PATCH); the JS client lists the application catalog at GET /catalog.
 */
describe('Genesis: the official spec\'s PUTs and the catalog', () => {
  let h: TestHangar;
  let keyId: string;
  const put = (path: string, body: unknown) => h.genesis.request('PUT', path, body);
  beforeAll(async () => {
    h = await startHangar();
    keyId = (await createKey(h.genesis, 'laptop')).id;
  });
  afterAll(() => h.close());

  describe('PUT /volumes/{id}', () => {
    it('sets name and description, shows the new name on the instance it serves, and answers the volume', async () => {
      const volume = (await h.genesis.post('/volumes', { name: 'data', description: 'old', size: 10, region: REGION })).body.volume;
      await h.advance(1_000);
      const instance = await activeInstance(h, { ssh_keys: [keyId], volumes: [volume.id] });
      const res = await put(`/volumes/${volume.id}`, { name: 'dataset', description: 'ImageNet' });
      expect(res.status, res.text).toBe(200);
      expect(Object.keys(res.body)).toEqual(['volume']);
      expect(res.body.volume).toMatchObject({ id: volume.id, name: 'dataset', description: 'ImageNet', size: 10, status: 'created', instances: [{ id: instance.id, name: 'worker' }] });
      expect((await h.genesis.get(`/volumes/${volume.id}`)).body.volume).toMatchObject({ name: 'dataset', description: 'ImageNet' });
      expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance.volumes).toEqual([{ id: volume.id, name: 'dataset' }]);
    });

    it('wants both fields, as the spec requires, and names the missing one', async () => {
      const volume = (await h.genesis.post('/volumes', { name: 'v', size: 10, region: REGION })).body.volume;
      await h.advance(1_000);
      expectError(await put(`/volumes/${volume.id}`, { name: 'only' }), 400, '02003', '"description" is required');
      expectError(await put(`/volumes/${volume.id}`, { description: 'only' }), 400, '02003', '"name" is required');
      expectError(await put(`/volumes/${volume.id}`, { name: '', description: 'x' }), 400, '02004', '"name"');
      expect((await h.genesis.get(`/volumes/${volume.id}`)).body.volume.name).toBe('v');
    });

    it('answers 404 02021 for an unknown volume and 02046 while it is being created', async () => {
      const id = randomUUID();
      expectError(await put(`/volumes/${id}`, { name: 'x', description: 'y' }), 404, '02021', id);
      const fresh = (await h.genesis.post('/volumes', { name: 'fresh', size: 10, region: REGION })).body.volume;
      expectError(await put(`/volumes/${fresh.id}`, { name: 'x', description: 'y' }), 400, '02046', fresh.id);
    });
  });

  describe('PUT /security-groups/{id}', () => {
    const rules = [{ protocol: 'tcp', direction: 'ingress', port_range_min: 22, port_range_max: 22 }];

    it('replaces name and rules, keeps the description unless given, and renames it on instances', async () => {
      const group = (await h.genesis.post('/security-groups', { name: 'ssh', description: 'keep me', region: REGION, rules })).body.security_group;
      await h.advance(1_000);
      const instance = await activeInstance(h, { ssh_keys: [keyId], security_groups: [group.id] });
      const web = [
        { protocol: 'tcp', direction: 'ingress', port_range_min: 443, port_range_max: 443 },
        { protocol: 'icmp', direction: 'ingress' },
      ];
      const res = await put(`/security-groups/${group.id}`, { name: 'web', rules: web });
      expect(res.status, res.text).toBe(200);
      expect(Object.keys(res.body)).toEqual(['security_group']);
      expect(res.body.security_group).toMatchObject({ id: group.id, name: 'web', description: 'keep me', status: 'created' });
      expect(res.body.security_group.rules).toEqual([
        { protocol: 'tcp', direction: 'ingress', port_range_min: 443, port_range_max: 443, remote_ip_prefix: '0.0.0.0/0' },
        { protocol: 'icmp', direction: 'ingress', port_range_min: null, port_range_max: null, remote_ip_prefix: '0.0.0.0/0' },
      ]);
      expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance.security_groups).toEqual([{ id: group.id, name: 'web' }]);
      const described = await put(`/security-groups/${group.id}`, { name: 'web', description: 'HTTPS', rules: web });
      expect(described.body.security_group.description).toBe('HTTPS');
    });

    it('wants name and at least one rule (02003, 02028), and keeps the default group as it is (02024)', async () => {
      const group = (await h.genesis.post('/security-groups', { name: 'g', region: REGION, rules })).body.security_group;
      await h.advance(1_000);
      expectError(await put(`/security-groups/${group.id}`, { name: 'g' }), 400, '02003', '"rules" is required');
      expectError(await put(`/security-groups/${group.id}`, { rules }), 400, '02003', '"name" is required');
      expectError(await put(`/security-groups/${group.id}`, { name: 'g', rules: [] }), 400, '02028', 'at least one rule');
      expectError(await put(`/security-groups/${group.id}`, { name: 'g', rules: [{ protocol: 'gre', direction: 'ingress' }] }), 400, '02028', 'rules.0.protocol');
      expect((await h.genesis.get(`/security-groups/${group.id}`)).body.security_group.rules).toHaveLength(1);
      const standard = (await h.genesis.get('/security-groups?per_page=100')).body.security_groups.find((g: any) => g.name === 'standard');
      expectError(await put(`/security-groups/${standard.id}`, { name: 'mine', rules }), 400, '02024', standard.id);
      expectError(await put(`/security-groups/${randomUUID()}`, { name: 'x', rules }), 404, '02025');
    });
  });

  describe('PUT /ssh-keys/{id}', () => {
    it('renames the key, answers the bare key, and shows the new name on instances', async () => {
      const key = await createKey(h.genesis, 'old-name');
      const instance = await activeInstance(h, { ssh_keys: [key.id] });
      const res = await put(`/ssh-keys/${key.id}`, { name: 'new-name' });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ id: key.id, name: 'new-name', value: key.value, fingerprint: key.fingerprint });
      expect((await h.genesis.get(`/ssh-keys/${key.id}`)).body.name).toBe('new-name');
      expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance.ssh_keys).toEqual([{ id: key.id, name: 'new-name' }]);
    });

    it('wants the name, and answers 404 02047 for an unknown key', async () => {
      expectError(await put(`/ssh-keys/${keyId}`, {}), 400, '02003', '"name" is required');
      const id = randomUUID();
      expectError(await put(`/ssh-keys/${id}`, { name: 'x' }), 404, '02047', id);
    });
  });

  it('lists the three PUTs in the served OpenAPI document, with their bodies', async () => {
    const doc = (await h.anonymous.get('/openapi.json')).body;
    const volume = doc.paths['/volumes/{volume_id}'].put;
    expect(volume.operationId).toBe('PutVolume');
    expect(volume.requestBody.content['application/json'].schema.required.sort()).toEqual(['description', 'name']);
    expect(volume.responses['200']).toBeDefined();
    const group = doc.paths['/security-groups/{security_group_id}'].put;
    expect(group.operationId).toBe('PutSecurityGroup');
    expect(group.requestBody.content['application/json'].schema.required.sort()).toEqual(['name', 'rules']);
    const key = doc.paths['/ssh-keys/{ssh_key_id}'].put;
    expect(key.operationId).toBe('PutSSHKey');
    expect(key.requestBody.content['application/json'].schema.required).toEqual(['name']);
    expect(doc.paths['/catalog'].get.operationId).toBe('ListCatalog');
    // The PATCHes the current clients send are still there.
    expect(doc.paths['/volumes/{volume_id}'].patch.operationId).toBe('UpdateVolume');
  });

  describe('GET /catalog', () => {
    it('lists the application catalog in the JS client\'s Catalog shape, paginated', async () => {
      const res = await h.genesis.get('/catalog');
      expect(res.status, res.text).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['catalog', 'page', 'per_page', 'total_count']);
      expect(res.body).toMatchObject({ total_count: 3, page: 1, per_page: 50 });
      for (const entry of res.body.catalog) {
        expect(Object.keys(entry).sort()).toEqual(['base_image_ids', 'created_at', 'description', 'fields', 'id', 'images', 'logo_url', 'name', 'requires_driver', 'updated_at']);
      }
      const jupyter = res.body.catalog.find((e: any) => e.name === 'Jupyter Notebook');
      expect(jupyter).toMatchObject({
        requires_driver: true,
        images: [{ id: 'b2f4a6c8-d0e2-4f68-9a1b-3c5d7e9f0a2b', name: 'Ubuntu 22.04 ML (NVIDIA driver 535, CUDA 12.2, PyTorch)' }],
        base_image_ids: ['7b1644e2-d97d-4725-a927-0028bc60bc28'],
        fields: [{ key: 'jupyter_password', label: 'Jupyter password', type: 'password', env: 'JUPYTER_PASSWORD' }],
      });
      // Every image it names is one an instance can be created from.
      const images = new Set((await h.genesis.get('/images?per_page=100')).body.images.map((i: any) => i.id));
      for (const entry of res.body.catalog) for (const id of [...entry.base_image_ids, ...entry.images.map((i: any) => i.id)]) expect(images.has(id)).toBe(true);

      const second = await h.genesis.get('/catalog?page=2&per_page=2');
      expect(second.body).toMatchObject({ total_count: 3, page: 2, per_page: 2 });
      expect(second.body.catalog).toEqual([res.body.catalog[2]]);
      expectError(await h.genesis.get('/catalog?per_page=101'), 400, '02004', '"per_page"');
      expectError(await h.anonymous.get('/catalog'), 401, '02014');
    });
  });
});
