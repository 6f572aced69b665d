import { describe, expect, it } from 'vitest';
import { hashToken } from '../../src/kernel/tenancy/accounts.js';
import { hangarPerSuite } from '../helpers/admin.js';
import { createInstance } from '../helpers/genesis.js';
import { T0 } from '../helpers/hangar.js';

// GET /instances and GET /instances/{id} read the caller's credential in the statement that
// reads the answer on PostgreSQL (one round trip), and look it up first elsewhere. Either way a
// client must hear the same: who is refused, and why, comes before what else is wrong.
describe('Genesis: the polled reads check the caller first, however they read', () => {
  const { h, admin } = hangarPerSuite();

  const stranger = () => h.genesis.with({ authorization: 'Bearer not-a-token-of-anyone-000000000000001' });

  it('answers a token nobody holds 401, before a bad query and before a missing or foreign instance', async () => {
    const other = await h.newAccount('neighbour');
    const theirs = await createInstance(other.genesis, { name: 'theirs' });
    for (const path of ['/instances?page=abc', '/instances?per_page=1000', '/instances', `/instances/${theirs.id}`, '/instances/no-such-instance']) {
      const res = await stranger().get(path);
      expect(res.status, path).toBe(401);
      expect(res.body.code, path).toBe('01204');
    }
    expect((await h.genesis.get('/instances?page=abc')).status).toBe(400);
    const foreign = await h.genesis.get(`/instances/${theirs.id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('02008');
    expect((await other.genesis.get(`/instances/${theirs.id}`)).body.instance.name).toBe('theirs');
  });

  it('lists pages past the end empty with the total, and deep pages as the first ones', async () => {
    const tenant = await h.newAccount('pages');
    for (let i = 0; i < 3; i++) await createInstance(tenant.genesis, { name: `i${i}` });
    const first = await tenant.genesis.get('/instances?per_page=2');
    expect(first.body).toMatchObject({ total_count: 3, page: 1, per_page: 2 });
    expect(first.body.instances.map((i: { name: string }) => i.name)).toEqual(['i0', 'i1']);
    const second = await tenant.genesis.get('/instances?per_page=2&page=2');
    expect(second.body.instances.map((i: { name: string }) => i.name)).toEqual(['i2']);
    // (page 600 of 2 is 1,198 rows in: past the remembered positions' stride, read apart from the credential)
    for (const page of [3, 600]) {
      const past = await tenant.genesis.get(`/instances?per_page=2&page=${page}`);
      expect(past.status).toBe(200);
      expect(past.body).toEqual({ instances: [], total_count: 3, page, per_page: 2 });
    }
    expect((await stranger().get('/instances?per_page=2&page=600')).status).toBe(401);
    const empty = await h.newAccount('empty');
    expect((await empty.genesis.get('/instances')).body).toEqual({ instances: [], total_count: 0, page: 1, per_page: 50 });
  });

  it('lets a read-only token read, and refuses an expired token and an account in bad standing', async () => {
    const tenant = await h.newAccount('standing');
    const instance = await createInstance(tenant.genesis);
    const issued = await admin.post(`/accounts/${tenant.accountId}/credentials`, { cloud: 'genesis', read_only: true });
    const reader = h.genesis.with({ authorization: `Bearer ${issued.body.token}` });
    expect((await reader.get(`/instances/${instance.id}`)).body.instance.id).toBe(instance.id);
    expect((await reader.get('/instances')).body.total_count).toBe(1);

    const expiring = 'expiring-token-for-reads-0000000000000001';
    await h.hangar.kernel.db.transaction().execute((trx) =>
      h.hangar.kernel.tenancy.addCredential(trx, { accountId: tenant.accountId, cloud: 'genesis', kind: 'token', lookup: hashToken(expiring), expiresAt: T0 }),
    );
    const expired = h.genesis.with({ authorization: `Bearer ${expiring}` });
    expect((await expired.get('/instances')).status).toBe(401);
    expect((await expired.get(`/instances/${instance.id}`)).status).toBe(401);

    expect((await admin.request('PUT', `/accounts/${tenant.accountId}/standing`, { standing: 'suspended' })).status).toBe(200);
    for (const client of [tenant.genesis, reader]) {
      for (const path of ['/instances', `/instances/${instance.id}`, '/instances?page=abc']) {
        const res = await client.get(path);
        expect(res.status, path).toBe(403);
        expect(res.body.code, path).toBe('02040');
      }
    }
    expect((await admin.request('PUT', `/accounts/${tenant.accountId}/standing`, { standing: 'active' })).status).toBe(200);
    expect((await tenant.genesis.get(`/instances/${instance.id}`)).status).toBe(200);
  });

  it('answers a fault staged for one account, before the route reads anything', async () => {
    const tenant = await h.newAccount('faulted');
    const staged = await admin.post('/faults', { cloud: 'genesis', method: 'GET', path: '/compute/v1/instances', account: tenant.accountId, status: 503 });
    expect(staged.status, staged.text).toBe(201);
    try {
      expect((await tenant.genesis.get('/instances')).status).toBe(503);
      expect((await h.genesis.get('/instances')).status).toBe(200);
    } finally {
      await admin.delete(`/faults/${staged.body.id}`);
    }
  });
});
