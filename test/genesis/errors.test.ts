import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyPem, publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { activeInstance, BOOT_MS, createInstance, createKey, CPU_TYPE, expectError, GPU_TYPE, instanceStatus, REGION } from '../helpers/genesis.js';

/** Every error code the Genesis core produces: status, body and the state left behind. */
describe('Genesis error codes', () => {
  let h: TestHangar;
  let keyId: string;
  const base = () => ({ name: 'box', hostname: 'box', type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', ssh_keys: [keyId] });

  beforeAll(async () => {
    h = await startHangar();
    keyId = (await createKey(h.genesis)).id;
  });
  afterAll(() => h.close());

  async function instanceCount(client = h.genesis): Promise<number> {
    return (await client.get('/instances')).body.total_count;
  }

  describe('02001 invalid route', () => {
    it('answers an unknown path with 404 and names it, even without a token', async () => {
      const res = await h.genesis.get('/no-such-thing');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ code: '02001', message: 'invalid route: GET /compute/v1/no-such-thing' });
      expectError(await h.anonymous.get('/no-such-thing?page=1'), 404, '02001', '/compute/v1/no-such-thing');
    });

    it('answers a known path with an unknown method with 404 02001', async () => {
      expectError(await h.genesis.request('PUT', '/instances', {}), 404, '02001', 'PUT /compute/v1/instances');
    });
  });

  describe('02002 malformed request', () => {
    it('refuses a body that is not JSON', async () => {
      const res = await h.genesis.post('/instances', undefined, { raw: '{"name": "box",' });
      expectError(res, 400, '02002', 'not valid JSON');
      expect(await instanceCount()).toBe(0);
    });

    it('treats an empty application/json body as no body: a create misses its parameters, a DELETE goes through', async () => {
      const res = await h.genesis.post('/instances', undefined, { raw: '', headers: { 'content-type': 'application/json' } });
      expectError(res, 400, '02003', 'body');
      const key = await h.genesis.post('/ssh-keys', { name: 'k', value: publicKey() });
      const deleted = await h.genesis.request('DELETE', `/ssh-keys/${key.body.id}`, undefined, { raw: '', headers: { 'content-type': 'application/json' } });
      expect(deleted.status).toBe(204);
    });

    it('refuses a body that is not application/json', async () => {
      const res = await h.genesis.post('/ssh-keys', undefined, { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expectError(res, 400, '02002', 'application/json');
    });
  });

  describe('02003 missing parameters', () => {
    it('names the missing field the way the seed does', async () => {
      const { hostname: _omitted, ...body } = base();
      const res = await h.genesis.post('/instances', body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: '02003', message: '"hostname" is required' });
      expect(await instanceCount()).toBe(0);
    });

    it('names each required field of other bodies', async () => {
      expectError(await h.genesis.post('/ssh-keys', { name: 'k' }), 400, '02003', '"value" is required');
      expectError(await h.genesis.post('/snapshots', { name: 's', size: 1, url: 'https://x.example/i.raw' }), 400, '02003', '"region" is required');
      const instance = await createInstance(h.genesis, { ssh_keys: [keyId] });
      expectError(await h.genesis.post(`/instances/${instance.id}/actions`, {}), 400, '02003', '"action" is required');
      expectError(await h.genesis.post(`/instances/${instance.id}/snapshots`, {}), 400, '02003', '"name" is required');
      const userData = { metadata: { user_data: [{ type: 'text/cloud-config' }] } };
      expectError(await h.genesis.post('/instances', { ...base(), ...userData }), 400, '02003', '"metadata.user_data.0.content" is required');
    });

    it('asks for ssh_keys (or a password) when neither is given', async () => {
      const { ssh_keys: _omitted, ...body } = base();
      expectError(await h.genesis.post('/instances', body), 400, '02003', '"ssh_keys"');
      expectError(await h.genesis.post('/instances', { ...body, ssh_keys: [] }), 400, '02003', '"ssh_keys"');
    });
  });

  describe('02004 bad request', () => {
    const cases: [string, () => Record<string, unknown>, string | RegExp][] = [
      ['disk_size as a string', () => ({ disk_size: '128' }), '"disk_size" must be an integer'],
      ['disk_size as a fraction', () => ({ disk_size: 100.5 }), '"disk_size" must be an integer'],
      ['name as a number', () => ({ name: 42 }), '"name" must be a string'],
      ['ssh_keys as a string', () => ({ ssh_keys: keyId }), '"ssh_keys" must be an array'],
      ['is_protected as a string', () => ({ is_protected: 'yes' }), '"is_protected" must be a boolean'],
      ['an empty name', () => ({ name: '' }), '"name"'],
      ['disk_size below 80 GiB', () => ({ disk_size: 79 }), '"disk_size" must be between 80'],
      ['a startup_script over 64 KiB', () => ({ metadata: { startup_script: '#'.repeat(64 * 1024 + 1) } }), '"metadata.startup_script" must not exceed 64 KiB'],
      ['an invalid hostname', () => ({ hostname: 'not_a host!' }), '"hostname" must be a valid host name'],
      ['a hostname label starting with a hyphen', () => ({ hostname: '-box' }), '"hostname"'],
      ['both ssh_keys and password', () => ({ password: 'a-long-enough-passphrase-1' }), 'only one of "ssh_keys" or "password"'],
      ['a bad public_ip_type', () => ({ public_ip_type: 'sticky' }), '"public_ip_type" must be one of: static, dynamic'],
      ['a user_data entry that is not an object', () => ({ metadata: { user_data: ['#cloud-config'] } }), '"metadata.user_data.0" must be an object'],
    ];
    it.each(cases)('refuses %s on create, naming the field', async (_what, change, mentions) => {
      const before = await instanceCount();
      expectError(await h.genesis.post('/instances', { ...base(), ...change() }), 400, '02004', mentions);
      expect(await instanceCount()).toBe(before);
    });

    it('accepts a startup_script of exactly 64 KiB', async () => {
      const account = await h.newAccount();
      const key = await createKey(account.genesis);
      const script = '#'.repeat(64 * 1024);
      const res = await account.genesis.post('/instances', { ...base(), ssh_keys: [key.id], metadata: { startup_script: script } });
      expect(res.status, res.text).toBe(201);
    });

    it('refuses a bad action value, naming the allowed ones', async () => {
      const instance = await activeInstance(h, { ssh_keys: [keyId] });
      const res = await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'reboot' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: '02004', message: '"action" must be one of: start, stop, reset' });
      expect(await instanceStatus(h.genesis, instance.id)).toBe('active');
    });

    it('refuses an unknown image type filter', async () => {
      const res = await h.genesis.get('/images?type=windows');
      expectError(res, 400, '02004', '"type" must be one of: base-os, preconfigured, snapshot');
    });

    it.each([
      ['page=0', '"page" must be >= 1'],
      ['per_page=101', '"per_page" must be <= 100'],
      ['per_page=abc', '"per_page" must be an integer'],
    ])('refuses %s', async (query, message) => {
      expectError(await h.genesis.get(`/instances?${query}`), 400, '02004', message);
    });

    it('refuses to shrink the boot disk and keeps its size', async () => {
      const instance = await activeInstance(h, { ssh_keys: [keyId], disk_size: 128 });
      const res = await h.genesis.patch(`/instances/${instance.id}`, { disk_size: 100 });
      expectError(res, 400, '02004', '"disk_size" can only be increased');
      expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance.disk_size).toBe(128);
    });

    it('refuses a security_groups change that is neither a list nor attach/detach', async () => {
      const instance = await activeInstance(h, { ssh_keys: [keyId] });
      expectError(await h.genesis.patch(`/instances/${instance.id}`, { security_groups: { add: 'x' } }), 400, '02004', '"security_groups"');
    });

    it('refuses a snapshot URL that is not http(s) and a size below 1', async () => {
      const body = { name: 's', size: 10, url: 'ftp://images.example.com/x.raw', region: REGION };
      expectError(await h.genesis.post('/snapshots', body), 400, '02004', '"url"');
      expectError(await h.genesis.post('/snapshots', { ...body, url: 'https://images.example.com/x.raw', size: 0 }), 400, '02004', '"size"');
      expect((await h.genesis.get('/snapshots')).body.total_count).toBe(0);
    });
  });

  it('02006: an image that is neither an image nor a snapshot of the account', async () => {
    const before = await instanceCount();
    const res = await h.genesis.post('/instances', { ...base(), image: 'no-such-image' });
    expectError(res, 400, '02006', 'no-such-image');
    expectError(await h.genesis.post('/instances', { ...base(), image: 'ubuntu-22.04:1999.01' }), 400, '02006', 'ubuntu-22.04:1999.01');
    expect(await instanceCount()).toBe(before);
  });

  it('02008: an unknown instance, whatever is asked of it', async () => {
    const id = randomUUID();
    expect((await h.genesis.get(`/instances/${id}`)).body).toEqual({ code: '02008', message: `instance "${id}" not found` });
    expectError(await h.genesis.get(`/instances/${id}`), 404, '02008', id);
    expectError(await h.genesis.patch(`/instances/${id}`, { name: 'x' }), 404, '02008', id);
    expectError(await h.genesis.delete(`/instances/${id}`), 404, '02008', id);
    expectError(await h.genesis.get(`/instances/${id}/actions`), 404, '02008', id);
    expectError(await h.genesis.post(`/instances/${id}/actions`, { action: 'stop' }), 404, '02008', id);
    expectError(await h.genesis.get(`/instances/${id}/snapshots`), 404, '02008', id);
    expectError(await h.genesis.post(`/instances/${id}/snapshots`, { name: 's' }), 404, '02008', id);
    expectError(await h.genesis.get(`/instances/${id}/user-metadata`), 404, '02008', id);
  });

  it('02010: the instance quota, with nothing taken by the refused create', async () => {
    const account = await h.newAccount();
    await h.hangar.kernel.counters.setQuota(h.hangar.kernel.db, account.accountId, 'genesis.instances', 1);
    const key = await createKey(account.genesis);
    await createInstance(account.genesis, { ssh_keys: [key.id] });
    const stock = async () => (await h.genesis.get(`/availability/${REGION}/instances`)).body.availability.instance_types.find((t: any) => t.type === GPU_TYPE).count;
    const free = await stock();

    const res = await account.genesis.post('/instances', { ...base(), ssh_keys: [key.id] });
    expectError(res, 403, '02010', 'at most 1 instances');
    expect(await instanceCount(account.genesis)).toBe(1);
    expect(await stock()).toBe(free);
    const quotas = (await account.genesis.get('/quotas')).body.quotas;
    expect(quotas.find((q: any) => q.key === 'instances')).toMatchObject({ capacity: 1, used: 1 });
  });

  it('02011: a second snapshot while one is being created', async () => {
    const instance = await activeInstance(h, { ssh_keys: [keyId] });
    const first = await h.genesis.post(`/instances/${instance.id}/snapshots`, { name: 'one' });
    expect(first.status).toBe(201);
    const res = await h.genesis.post(`/instances/${instance.id}/snapshots`, { name: 'two' });
    expectError(res, 400, '02011', first.body.snapshot.id);
    expect((await h.genesis.get(`/instances/${instance.id}/snapshots`)).body.total_count).toBe(1);
    // Once the first is done, another may be taken.
    await h.advance(3_000);
    expect((await h.genesis.post(`/instances/${instance.id}/snapshots`, { name: 'two' })).status).toBe(201);
  });

  it('02012: the snapshot quota', async () => {
    const account = await h.newAccount();
    await h.hangar.kernel.counters.setQuota(h.hangar.kernel.db, account.accountId, 'genesis.snapshots', 1);
    const key = await createKey(account.genesis);
    const instance = await activeInstance(h, { ssh_keys: [key.id] }, account.genesis);
    expect((await account.genesis.post(`/instances/${instance.id}/snapshots`, { name: 'one' })).status).toBe(201);
    await h.advance(3_000);
    const res = await account.genesis.post(`/instances/${instance.id}/snapshots`, { name: 'two' });
    expectError(res, 403, '02012', 'at most 1 snapshots');
    expect((await account.genesis.get('/snapshots')).body.total_count).toBe(1);
  });

  it('02013: destroying an instance that is still being created', async () => {
    const instance = await createInstance(h.genesis, { ssh_keys: [keyId] });
    expectError(await h.genesis.delete(`/instances/${instance.id}`), 400, '02013', 'creating');
    expect(await instanceStatus(h.genesis, instance.id)).toBe('creating');
    await h.advance(BOOT_MS);
    expect(await instanceStatus(h.genesis, instance.id)).toBe('active');
  });

  it('02014: no token at all', async () => {
    const res = await h.anonymous.get('/instances');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('02014');
    expectError(await h.anonymous.post('/instances', base()), 401, '02014', 'Authorization');
  });

  it('01204: a token that is not valid', async () => {
    const res = await h.anonymous.get('/instances', { headers: { authorization: 'Bearer not-a-real-token' } });
    expectError(res, 401, '01204', 'permission denied');
  });

  it('02015: an unknown snapshot, whatever is asked of it', async () => {
    const id = randomUUID();
    expect((await h.genesis.get(`/snapshots/${id}`)).body).toEqual({ code: '02015', message: `snapshot "${id}" not found` });
    expectError(await h.genesis.patch(`/snapshots/${id}`, { name: 'x' }), 404, '02015', id);
    expectError(await h.genesis.delete(`/snapshots/${id}`), 404, '02015', id);
    expectError(await h.genesis.post(`/snapshots/${id}/clone`, { name: 'x', region: REGION }), 404, '02015', id);
  });

  it('02016: deleting a snapshot an instance was booted from', async () => {
    const source = await activeInstance(h, { ssh_keys: [keyId] });
    const snapshot = (await h.genesis.post(`/instances/${source.id}/snapshots`, { name: 'golden' })).body.snapshot;
    await h.advance(3_000);
    const booted = await createInstance(h.genesis, { ssh_keys: [keyId], image: snapshot.id });
    const res = await h.genesis.delete(`/snapshots/${snapshot.id}`);
    expectError(res, 400, '02016', booted.id);
    expect((await h.genesis.get(`/snapshots/${snapshot.id}`)).body.snapshot.status).toBe('created');
  });

  it('02018: a password shorter than 16 characters', async () => {
    const { ssh_keys: _keys, ...body } = base();
    const res = await h.genesis.post('/instances', { ...body, password: 'Sh0rtPassw0rd' });
    expectError(res, 400, '02018', '"password" must be at least 16 characters');
  });

  it.each([
    ['an unknown type', { type: 'vcpu-1_memory-1g_quantum-9000' }, 'vcpu-1_memory-1g_quantum-9000'],
    ['an unknown region', { region: 'MOON-BASE-1' }, 'MOON-BASE-1'],
    ['a type not offered in the region', { type: 'vcpu-4_memory-12g_disk-80g_nvidia1080ti-1' }, 'not offered in region NORD-NO-KRS-1'],
  ])('02020: %s', async (_what, change, mentions) => {
    const before = await instanceCount();
    expectError(await h.genesis.post('/instances', { ...base(), ...change }), 400, '02020', mentions);
    expect(await instanceCount()).toBe(before);
  });

  it('the legacy 1080 Ti type is offered in ARC-IS-HAF-1', async () => {
    const res = await h.genesis.post('/instances', { ...base(), type: 'vcpu-4_memory-12g_disk-80g_nvidia1080ti-1', region: 'ARC-IS-HAF-1' });
    expect(res.status, res.text).toBe(201);
  });

  it('02029: starting an instance that is already started', async () => {
    const instance = await activeInstance(h, { ssh_keys: [keyId] });
    expectError(await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'start' }), 400, '02029', instance.id);
    expect(await instanceStatus(h.genesis, instance.id)).toBe('active');
  });

  it('02009: stopping or resetting an instance that is not active', async () => {
    const instance = await activeInstance(h, { ssh_keys: [keyId] });
    expect((await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'stop' })).status).toBe(204);
    expectError(await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'stop' }), 400, '02009', 'stopping');
    await h.advance(2_000);
    expectError(await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'reset' }), 400, '02009', 'stopped');
    expect(await instanceStatus(h.genesis, instance.id)).toBe('stopped');
  });

  it('02035: an NVIDIA-only image on a CPU-only type', async () => {
    const res = await h.genesis.post('/instances', { ...base(), type: CPU_TYPE, image: 'ubuntu-22.04-ml' });
    expectError(res, 400, '02035', CPU_TYPE);
    expect(res.body.message).toMatch(/^the selected image cannot be run on this instance/);
  });

  it('02036: a type that is out of stock, with no quota taken', async () => {
    const account = await h.newAccount();
    const key = await createKey(account.genesis);
    const type = 'vcpu-16_memory-96g_nvidia-rtx-3090-2';
    await h.hangar.kernel.capacity.setTotal(h.hangar.kernel.db, 'genesis', REGION, type, 0);
    const res = await account.genesis.post('/instances', { ...base(), ssh_keys: [key.id], type });
    expectError(res, 503, '02036', type);
    expect(await instanceCount(account.genesis)).toBe(0);
    const quotas = (await account.genesis.get('/quotas')).body.quotas;
    expect(quotas.find((q: any) => q.key === 'instances').used).toBe(0);
    const availability = (await account.genesis.get(`/availability/${REGION}/instances`)).body.availability;
    expect(availability.instance_types.find((t: any) => t.type === type)).toEqual({ type, available: false, count: 0 });
    // Other regions still have it.
    expect((await account.genesis.post('/instances', { ...base(), ssh_keys: [key.id], type, region: 'EUC-DE-MUC-1' })).status).toBe(201);
  });

  it('02037: snapshotting an instance that is not active', async () => {
    const instance = await activeInstance(h, { ssh_keys: [keyId] });
    await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'stop' });
    await h.advance(2_000);
    expectError(await h.genesis.post(`/instances/${instance.id}/snapshots`, { name: 's' }), 400, '02037', 'stopped');
    expect((await h.genesis.get(`/instances/${instance.id}/snapshots`)).body.total_count).toBe(0);
  });

  it('02038: destroying a termination-protected instance', async () => {
    const instance = await activeInstance(h, { ssh_keys: [keyId], is_protected: true });
    expect(instance.is_protected).toBe(true);
    expectError(await h.genesis.delete(`/instances/${instance.id}`), 400, '02038', instance.id);
    expect(await instanceStatus(h.genesis, instance.id)).toBe('active');
  });

  it('02039: starting an instance that is being created', async () => {
    const instance = await createInstance(h.genesis, { ssh_keys: [keyId] });
    expectError(await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'start' }), 400, '02039', 'creating');
    expect(await instanceStatus(h.genesis, instance.id)).toBe('creating');
  });

  it('02047: an unknown ssh key on the ssh key routes', async () => {
    const id = randomUUID();
    expect((await h.genesis.get(`/ssh-keys/${id}`)).body).toEqual({ code: '02047', message: `ssh key "${id}" not found` });
    expectError(await h.genesis.get(`/ssh-keys/${id}`), 404, '02047', id);
    expectError(await h.genesis.patch(`/ssh-keys/${id}`, { name: 'x' }), 404, '02047', id);
    expectError(await h.genesis.delete(`/ssh-keys/${id}`), 404, '02047', id);
  });

  it.each([
    ['garbage', 'not a key at all'],
    ['a bad base64 body', 'ssh-ed25519 AAAA!!!! user@host'],
    ['two keys on two lines', `${publicKey()}\n${publicKey()}`],
  ])('02048: a malformed public key (%s)', async (_what, value) => {
    const before = (await h.genesis.get('/ssh-keys')).body.total_count;
    expectError(await h.genesis.post('/ssh-keys', { name: 'bad', value }), 400, '02048', '"value"');
    expect((await h.genesis.get('/ssh-keys')).body.total_count).toBe(before);
  });

  it('02051: an image that is not offered in the region', async () => {
    const res = await h.genesis.post('/instances', { ...base(), image: 'ubuntu-18.04' });
    expectError(res, 400, '02051', 'ubuntu-18.04');
    expect(res.body.message).toContain('ARC-IS-HAF-1');
  });

  it('02052: an unknown placement option', async () => {
    expectError(await h.genesis.post('/instances', { ...base(), placement_option: 'Z' }), 400, '02052', '"placement_option"');
    expectError(await h.genesis.get(`/availability/${REGION}/instances?placement=Z`), 400, '02052', '"placement"');
  });

  it('02053: a private key pasted as an ssh key', async () => {
    const res = await h.genesis.post('/ssh-keys', { name: 'oops', value: privateKeyPem() });
    expectError(res, 400, '02053', 'private key');
  });

  it('02023: reconfiguring an instance that is being created', async () => {
    const instance = await createInstance(h.genesis, { ssh_keys: [keyId] });
    expectError(await h.genesis.patch(`/instances/${instance.id}`, { disk_size: 200 }), 400, '02023', 'creating');
    expectError(await h.genesis.patch(`/instances/${instance.id}`, { security_groups: [] }), 400, '02023', instance.id);
    const after = (await h.genesis.get(`/instances/${instance.id}`)).body.instance;
    expect(after.disk_size).toBe(80);
    expect(after.security_groups).toHaveLength(1);
    // A rename does not reconfigure, so it is allowed.
    expect((await h.genesis.patch(`/instances/${instance.id}`, { name: 'renamed' })).body.instance.name).toBe('renamed');
  });

  it('02034: updating an instance that is being destroyed', async () => {
    const instance = await activeInstance(h, { ssh_keys: [keyId] });
    expect((await h.genesis.delete(`/instances/${instance.id}`)).status).toBe(204);
    expectError(await h.genesis.patch(`/instances/${instance.id}`, { name: 'late' }), 400, '02034', instance.id);
    expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance.name).toBe('worker');
  });

  describe('volumes and security groups (the codes of the attach and detach rules)', () => {
    const volume = async (name = 'v', region = REGION) => (await h.genesis.post('/volumes', { name, size: 10, region })).body.volume;
    const group = async (name = 'g') => (await h.genesis.post('/security-groups', { name, region: REGION, rules: [] })).body.security_group;

    it('02021: an unknown volume, whatever is asked of it', async () => {
      const id = randomUUID();
      expect((await h.genesis.get(`/volumes/${id}`)).body).toEqual({ code: '02021', message: `volume "${id}" not found` });
      expectError(await h.genesis.patch(`/volumes/${id}`, { name: 'x' }), 404, '02021', id);
      expectError(await h.genesis.request('PUT', `/volumes/${id}`, { name: 'x', description: '' }), 404, '02021', id);
      expectError(await h.genesis.delete(`/volumes/${id}`), 404, '02021', id);
    });

    it('02022: deleting a volume attached to an instance', async () => {
      const v = await volume();
      await h.advance(1_000);
      const box = await activeInstance(h, { ssh_keys: [keyId], volumes: [v.id] });
      expectError(await h.genesis.delete(`/volumes/${v.id}`), 400, '02022', box.id);
      expect((await h.genesis.get(`/volumes/${v.id}`)).body.volume.status).toBe('created');
    });

    it('02025: an unknown security group, whatever is asked of it', async () => {
      const id = randomUUID();
      expect((await h.genesis.get(`/security-groups/${id}`)).body).toEqual({ code: '02025', message: `security group "${id}" not found` });
      expectError(await h.genesis.patch(`/security-groups/${id}`, { name: 'x' }), 404, '02025', id);
      expectError(await h.genesis.delete(`/security-groups/${id}`), 404, '02025', id);
    });

    it('02026: changing or deleting a security group while it is being created', async () => {
      const g = await group();
      expectError(await h.genesis.patch(`/security-groups/${g.id}`, { name: 'x' }), 400, '02026', 'creating');
      expectError(await h.genesis.delete(`/security-groups/${g.id}`), 400, '02026', 'creating');
      expect((await h.genesis.get(`/security-groups/${g.id}`)).body.security_group).toMatchObject({ name: 'g', status: 'creating' });
    });

    it('02027: deleting a security group an instance uses', async () => {
      const g = await group();
      await h.advance(1_000);
      const box = await activeInstance(h, { ssh_keys: [keyId], security_groups: [g.id] });
      expectError(await h.genesis.delete(`/security-groups/${g.id}`), 400, '02027', box.id);
      expect((await h.genesis.get(`/security-groups/${g.id}`)).body.security_group.status).toBe('created');
    });

    it('02030: attaching a security group that is still being created, or unknown, in a PATCH', async () => {
      const box = await activeInstance(h, { ssh_keys: [keyId] });
      const g = await group();
      expectError(await h.genesis.patch(`/instances/${box.id}`, { security_groups: { attach: g.id } }), 400, '02030', g.id);
      expectError(await h.genesis.patch(`/instances/${box.id}`, { security_groups: ['no-such-group'] }), 400, '02030', 'no-such-group');
      expect((await h.genesis.get(`/instances/${box.id}`)).body.instance.security_groups.map((x: any) => x.name)).toEqual(['standard']);
    });

    it('02031: detaching a security group that is not attached', async () => {
      const box = await activeInstance(h, { ssh_keys: [keyId] });
      const g = await group();
      await h.advance(1_000);
      expectError(await h.genesis.patch(`/instances/${box.id}`, { security_groups: { detach: g.id } }), 400, '02031', g.id);
    });

    it('02032: attaching a volume another instance holds', async () => {
      const v = await volume();
      await h.advance(1_000);
      const holder = await activeInstance(h, { ssh_keys: [keyId], volumes: [v.id] });
      const other = await activeInstance(h, { ssh_keys: [keyId] });
      expectError(await h.genesis.patch(`/instances/${other.id}`, { volumes: [v.id] }), 400, '02032', holder.id);
      expect((await h.genesis.get(`/instances/${other.id}`)).body.instance.volumes).toEqual([]);
    });

    it('02033: detaching a volume that is not attached', async () => {
      const v = await volume();
      await h.advance(1_000);
      const box = await activeInstance(h, { ssh_keys: [keyId] });
      expectError(await h.genesis.patch(`/instances/${box.id}`, { volumes: { detach: v.id } }), 400, '02033', v.id);
    });

    it('02046: a volume locked while it is being created', async () => {
      const box = await activeInstance(h, { ssh_keys: [keyId] });
      const v = await volume();
      expectError(await h.genesis.patch(`/instances/${box.id}`, { volumes: [v.id] }), 400, '02046', v.id);
      expectError(await h.genesis.patch(`/volumes/${v.id}`, { size: 20 }), 400, '02046', v.id);
      expectError(await h.genesis.delete(`/volumes/${v.id}`), 400, '02046', v.id);
    });

    it('02054: a volume type the region does not offer', async () => {
      const before = (await h.genesis.get('/volumes')).body.total_count;
      expectError(await h.genesis.post('/volumes', { name: 'cold', size: 10, region: 'EUW-GB-MNC-1', type: 'hdd' }), 400, '02054', 'hdd');
      expect((await h.genesis.get('/volumes')).body.total_count).toBe(before);
    });
  });
});
