import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { adminOf, genesisFor, type Admin } from '../helpers/admin.js';
import { startHangar, T0, type TestHangar } from '../helpers/hangar.js';
import { activeInstance, createInstance, createKey, expectError, GPU_TYPE, REGION } from '../helpers/genesis.js';

const H100 = 'vcpu-96_memory-900g_nvidia-h100-sxm5-4';
const LARGE_DISK = 'vcpu-4_memory-12g_disk-400g_nvidia1080ti-1';

/**
 * The codes of the seed's table that only a particular failure produces: each reached by
 * that failure, through the API, with the state left as it was.
 */
describe('Genesis error codes reached by the failures they name', () => {
  let h: TestHangar;
  let admin: Admin;
  let keyId: string;
  const base = () => ({ name: 'box', hostname: 'box', type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', ssh_keys: [keyId] });
  const count = async (client = h.genesis, path = '/instances') => (await client.get(path)).body.total_count as number;

  beforeAll(async () => {
    h = await startHangar();
    admin = adminOf(h);
    keyId = (await createKey(h.genesis)).id;
  });
  afterAll(() => h.close());

  describe('in an instance create', () => {
    it('02005: an ssh key id that is unknown or of another account', async () => {
      const other = await h.newAccount('other');
      const theirs = await createKey(other.genesis);
      const unknown = randomUUID();
      const before = await count();
      const res = await h.genesis.post('/instances', { ...base(), ssh_keys: [keyId, unknown] });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: '02005', message: `invalid ssh key: "${unknown}" is not one of this account's ssh keys` });
      expectError(await h.genesis.post('/instances', { ...base(), ssh_keys: [theirs.id] }), 400, '02005', theirs.id);
      expect(await count()).toBe(before);
    });

    it('02007: a security group id that is unknown or of another account', async () => {
      const other = await h.newAccount('other-sg');
      const theirs = (await other.genesis.post('/security-groups', { name: 'theirs', region: REGION, rules: [] })).body.security_group;
      const unknown = randomUUID();
      const before = await count();
      const res = await h.genesis.post('/instances', { ...base(), security_groups: [unknown] });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: '02007', message: `invalid security group: "${unknown}" is not one of this account's security groups` });
      expectError(await h.genesis.post('/instances', { ...base(), security_groups: [theirs.id] }), 400, '02007', theirs.id);
      expect(await count()).toBe(before);
    });

    it('02017: a legacy large-disk instance type, whatever the region', async () => {
      const before = await count();
      expectError(await h.genesis.post('/instances', { ...base(), type: LARGE_DISK }), 400, '02017', 'legacy large disk instance types are currently not supported');
      const { region: _region, ...noRegion } = base();
      expectError(await h.genesis.post('/instances', { ...noRegion, type: LARGE_DISK }), 400, '02017', LARGE_DISK);
      expect(await count()).toBe(before);
      // Not offered for sale, so not in any region's availability.
      const types = (await h.genesis.get('/availability/ARC-IS-HAF-1/instances')).body.availability.instance_types.map((t: any) => t.type);
      expect(types).not.toContain(LARGE_DISK);
      // The legacy types with the seed's 80 GiB disk are still sold.
      expect(types).toContain('vcpu-4_memory-12g_disk-80g_nvidia1080ti-1');
    });

    it('02045: on-demand billing (asked for, or by default) of a type sold long-term only', async () => {
      const before = await count();
      expectError(await h.genesis.post('/instances', { ...base(), type: H100 }), 400, '02045', H100);
      expectError(await h.genesis.post('/instances', { ...base(), type: H100, billing_type: 'on-demand' }), 400, '02045', 'on-demand billing is not allowed');
      expect(await count()).toBe(before);
      const res = await h.genesis.post('/instances', { ...base(), type: H100, billing_type: 'prepaid-3-month', image: 'ubuntu-22.04-ml' });
      expect(res.status, res.text).toBe(201);
      expect(res.body.instance).toMatchObject({ type: H100, is_protected: true });
    });
  });

  it('02055, past the table: a floating IP that does not exist, whatever is asked of it; 02056 for a filesystem', async () => {
    const id = randomUUID();
    const res = await h.genesis.get(`/floating-ips/${id}`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ code: '02055', message: `floating ip "${id}" not found` });
    expectError(await h.genesis.patch(`/floating-ips/${id}`, { name: 'x' }), 404, '02055', id);
    expectError(await h.genesis.delete(`/floating-ips/${id}`), 404, '02055', id);
    expectError(await h.genesis.post('/instances', { ...base(), floating_ip: id }), 404, '02055', id);
    expectError(await h.genesis.get(`/filesystems/${id}`), 404, '02056', id);
    expectError(await h.genesis.delete(`/filesystems/${id}`), 404, '02056', id);
  });

  describe('a trailing slash after a collection', () => {
    it.each(['/instances/', '/volumes/', '/ssh-keys/', '/snapshots/', '/security-groups/', '/floating-ips/', '/filesystems/'])(
      'GET and DELETE %s answer 404 02001 (an invalid route), never "not found" of an empty id',
      async (path) => {
        const res = await h.genesis.get(path);
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ code: '02001', message: `invalid route: GET /compute/v1${path}` });
        expectError(await h.genesis.delete(path), 404, '02001', `DELETE /compute/v1${path}`);
        expectError(await h.anonymous.get(path), 404, '02001');
      },
    );

    it('leaves deeper routes alone: /instances/{id}/actions of an unknown id is 02008', async () => {
      expectError(await h.genesis.get('/instances//actions'), 404, '02001');
      const id = randomUUID();
      expectError(await h.genesis.get(`/instances/${id}/actions`), 404, '02008', id);
    });
  });

  describe('Authorization and X-Auth-Token together', () => {
    let token: string;
    beforeAll(async () => {
      token = (await h.newAccount('both-headers')).token;
    });

    it('uses a valid X-Auth-Token when Authorization is not a Bearer token', async () => {
      const res = await h.anonymous.get('/instances', { headers: { authorization: 'Basic dXNlcjpwYXNz', 'x-auth-token': token } });
      expect(res.status, res.text).toBe(200);
      expect(res.body.total_count).toBe(0);
      expect((await h.anonymous.get('/ssh-keys', { headers: { authorization: 'Token abc', 'x-auth-token': token } })).status).toBe(200);
    });

    it('lets a Bearer token win over X-Auth-Token, valid or not', async () => {
      expect((await h.anonymous.get('/instances', { headers: { authorization: `Bearer ${token}`, 'x-auth-token': 'not-a-token' } })).status).toBe(200);
      expectError(await h.anonymous.get('/instances', { headers: { authorization: 'Bearer not-a-token', 'x-auth-token': token } }), 401, '01204');
    });

    it('answers 02014 when neither holds a token', async () => {
      expectError(await h.anonymous.get('/instances', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401, '02014');
    });
  });

  describe('account standing, an operator control', () => {
    async function tenant(name: string) {
      const account = await h.newAccount(name);
      const key = await createKey(account.genesis);
      const instance = await activeInstance(h, { ssh_keys: [key.id] }, account.genesis);
      return { ...account, key, instance };
    }
    const setStanding = async (accountId: string, standing: string) => {
      const res = await admin.put(`/accounts/${accountId}/standing`, { standing });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ account_id: accountId, standing });
    };

    it.each([
      ['suspended', '02040', 'your account is suspended'],
      ['banned', '02041', 'your account is banned'],
      ['disabled', '02042', 'your account is disabled'],
    ])('%s: every call answers 403 %s, reads included; active again, it is as it was', async (standing, code, message) => {
      const t = await tenant(`standing-${standing}`);
      await setStanding(t.accountId, standing);
      for (const res of [
        await t.genesis.get('/instances'),
        await t.genesis.get(`/instances/${t.instance.id}`),
        await t.genesis.post('/ssh-keys', { name: 'k', value: t.key.value }),
        await t.genesis.post(`/instances/${t.instance.id}/actions`, { action: 'stop' }),
        await t.genesis.delete(`/instances/${t.instance.id}`),
      ]) {
        expect(res.status).toBe(403);
        expect(res.body).toEqual({ code, message });
      }
      // Another account is not touched.
      expect((await h.genesis.get('/instances')).status).toBe(200);
      await setStanding(t.accountId, 'active');
      expect((await t.genesis.get(`/instances/${t.instance.id}`)).body.instance.status).toBe('active');
      expect(await count(t.genesis, '/ssh-keys')).toBe(1);
    });

    it('unverified: reads are answered, every change is 403 02050', async () => {
      const t = await tenant('standing-unverified');
      await setStanding(t.accountId, 'unverified');
      expect((await t.genesis.get('/instances')).status).toBe(200);
      expect((await t.genesis.get('/images')).status).toBe(200);
      expectError(await t.genesis.post('/instances', { ...base(), ssh_keys: [t.key.id] }), 403, '02050', 'account not verified');
      expectError(await t.genesis.patch(`/instances/${t.instance.id}`, { name: 'x' }), 403, '02050');
      expectError(await t.genesis.post(`/instances/${t.instance.id}/actions`, { action: 'stop' }), 403, '02050');
      expectError(await t.genesis.delete(`/ssh-keys/${t.key.id}`), 403, '02050');
      expectError(await t.genesis.request('PUT', `/ssh-keys/${t.key.id}`, { name: 'x' }), 403, '02050');
      expect((await t.genesis.get(`/instances/${t.instance.id}`)).body.instance).toMatchObject({ name: 'worker', status: 'active' });
      expect(await count(t.genesis)).toBe(1);
    });

    it('payment_method_required: creates are 403 02019; reads, changes, actions and deletes go through', async () => {
      const t = await tenant('standing-payment');
      await setStanding(t.accountId, 'payment_method_required');
      expectError(await t.genesis.post('/instances', { ...base(), ssh_keys: [t.key.id] }), 403, '02019', 'payment method required');
      expectError(await t.genesis.post('/volumes', { name: 'v', size: 10, region: REGION }), 403, '02019');
      expectError(await t.genesis.post(`/instances/${t.instance.id}/snapshots`, { name: 's' }), 403, '02019');
      expect(await count(t.genesis)).toBe(1);
      expect(await count(t.genesis, '/volumes')).toBe(0);
      expect((await t.genesis.patch(`/instances/${t.instance.id}`, { name: 'renamed' })).status).toBe(200);
      expect((await t.genesis.post(`/instances/${t.instance.id}/actions`, { action: 'stop' })).status).toBe(204);
      await h.advance(2_000);
      expect((await t.genesis.delete(`/instances/${t.instance.id}`)).status).toBe(204);
    });

    it('is refused for an unknown account or standing, and shown by GET and in the account', async () => {
      expect((await admin.put(`/accounts/${randomUUID()}/standing`, { standing: 'banned' })).status).toBe(404);
      const bad = await admin.put(`/accounts/${h.demoAccountId}/standing`, { standing: 'frozen' });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toContain('"standing" must be one of: active, suspended, banned, disabled, unverified, payment_method_required');
      expect((await admin.get(`/accounts/${h.demoAccountId}/standing`)).body).toEqual({ account_id: h.demoAccountId, standing: 'active' });
      expect((await admin.get(`/accounts/${h.demoAccountId}`)).body.standing).toBe('active');
    });

    it('travels with an account\'s export and comes back with its import', async () => {
      const t = await tenant('standing-export');
      await setStanding(t.accountId, 'banned');
      const doc = await admin.exportState(t.accountId);
      expect(doc.tables.accounts).toEqual([expect.objectContaining({ id: t.accountId, standing: 'banned' })]);
      expect((await admin.delete(`/accounts/${t.accountId}`)).status).toBe(204);
      expectError(await t.genesis.get('/instances'), 401, '01204');
      expect((await admin.request('PUT', '/state', doc)).status).toBe(204);
      expectError(await t.genesis.get('/instances'), 403, '02041');
      expect((await admin.get(`/accounts/${t.accountId}/standing`)).body.standing).toBe('banned');
    });
  });

  describe('02043: a read-only token', () => {
    it('reads everything its account holds and changes nothing', async () => {
      const issued = await admin.post(`/accounts/${h.demoAccountId}/credentials`, { cloud: 'genesis', read_only: true });
      expect(issued.status, issued.text).toBe(201);
      expect(issued.body).toMatchObject({ cloud: 'genesis', read_only: true, token: expect.any(String) });
      const reader = genesisFor(h, issued.body.token);
      const instance = await createInstance(h.genesis);
      expect((await reader.get(`/instances/${instance.id}`)).body.instance.id).toBe(instance.id);
      expect((await reader.get('/instances')).body.total_count).toBe(await count());
      const before = await count();
      for (const res of [
        await reader.post('/instances', base()),
        await reader.patch(`/instances/${instance.id}`, { name: 'x' }),
        await reader.delete(`/instances/${instance.id}`),
        await reader.request('PUT', `/ssh-keys/${keyId}`, { name: 'x' }),
      ]) {
        expectError(res, 403, '02043', 'may only read');
      }
      expect(await count()).toBe(before);
      expect((await h.genesis.get(`/instances/${instance.id}`)).body.instance.name).toBe('worker');
      const credentials = (await admin.get(`/accounts/${h.demoAccountId}`)).body.credentials;
      expect(credentials.find((c: any) => c.id === issued.body.credential_id)).toMatchObject({ cloud: 'genesis', kind: 'read-token' });
      // A revoked read-only token is no token at all.
      await admin.delete(`/accounts/${h.demoAccountId}/credentials/${issued.body.credential_id}`);
      expectError(await reader.get('/instances'), 401, '01204');
    });

    it('is refused for a cloud whose credentials have no such option', async () => {
      // (a cloud that issues credentials without options, registered as a cloud module would)
      h.hangar.kernel.tenancy.onIssueCredential('plain-cloud', async () => ({ token: 'plain' }));
      const res = await admin.post(`/accounts/${h.demoAccountId}/credentials`, { cloud: 'plain-cloud', read_only: true });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: 'invalid_request', message: 'plain-cloud credentials have no option "read_only" (options: none)' });
      expect((await admin.post(`/accounts/${h.demoAccountId}/credentials`, { cloud: 'plain-cloud' })).status).toBe(201);
      expect((await admin.post(`/accounts/${h.demoAccountId}/credentials`, { cloud: 'plain-cloud', read_only: false })).status).toBe(400);
    });
  });

  describe('02044: the public API turned off', () => {
    it('answers every Genesis call 503 02044, signed in or not, until it is on again', async () => {
      expect((await admin.get('/genesis/api')).body).toEqual({ cloud: 'genesis', enabled: true });
      const off = await admin.put('/genesis/api', { enabled: false });
      expect(off.status, off.text).toBe(200);
      expect(off.body).toEqual({ cloud: 'genesis', enabled: false });
      for (const res of [await h.genesis.get('/instances'), await h.genesis.post('/instances', base()), await h.anonymous.get('/images')]) {
        expect(res.status).toBe(503);
        expect(res.body.code).toBe('02044');
        expect(res.body.message).toMatch(/^Genesis Cloud public api is currently disabled/);
      }
      // Its description stays readable; so does the admin API.
      expect((await h.anonymous.get('/openapi.json')).status).toBe(200);
      expect((await admin.put('/genesis/api', { enabled: true })).body).toEqual({ cloud: 'genesis', enabled: true });
      expect((await h.genesis.get('/instances')).status).toBe(200);
    });

    it('is switched back on by a reset, and has no switch for a cloud that does not honour one', async () => {
      await admin.put('/genesis/api', { enabled: false });
      expect((await admin.post('/reset', {})).status).toBe(204);
      expect((await admin.get('/genesis/api')).body.enabled).toBe(true);
      const token = String(h.hangar.demo.credentials.genesis?.token);
      expect((await genesisFor(h, token).get('/instances')).status).toBe(200);
      expect((await admin.put('/crusoe/api', { enabled: false })).status).toBe(404);
      expect((await admin.put('/genesis/api', {})).status).toBe(400);
    });
  });
});

describe('account standing and the API switch across a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-standing-'));
  const env = { HANGAR_DATABASE_URL: `sqlite:${join(dir, 'h.db')}` };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps both in the store', async () => {
    const first = await startHangar({ env });
    let accountId: string;
    let token: string;
    try {
      ({ accountId, token } = await first.newAccount('kept'));
      expect((await adminOf(first).put(`/accounts/${accountId}/standing`, { standing: 'suspended' })).status).toBe(200);
      expect((await adminOf(first).put('/genesis/api', { enabled: false })).status).toBe(200);
    } finally {
      await first.close();
    }
    const second = await startHangar({ env, clock: new Clock({ frozenAt: T0 + 1_000 }) });
    try {
      expectError(await genesisFor(second, token).get('/instances'), 503, '02044');
      expect((await adminOf(second).put('/genesis/api', { enabled: true })).status).toBe(200);
      expectError(await genesisFor(second, token).get('/instances'), 403, '02040');
      expect((await adminOf(second).get(`/accounts/${accountId}/standing`)).body.standing).toBe('suspended');
    } finally {
      await second.close();
    }
  });
});
