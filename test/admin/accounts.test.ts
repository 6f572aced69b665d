import { describe, expect, it } from 'vitest';
import { availability, genesisFor, hangarPerSuite } from '../helpers/admin.js';
import { activeInstance, BOOT_MS, createInstance, createKey, CPU_TYPE, expectError, GPU_TYPE, REGION } from '../helpers/genesis.js';

/** Accounts through the admin API: create, list, get, credentials, delete (cascading), quotas. */
describe('admin API: accounts', () => {
  const { h, admin } = hangarPerSuite();

  it('creates an account with credentials for every cloud; its Genesis token works at once', async () => {
    const res = await admin.post('/accounts', { name: 'acme' });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ id: expect.any(String), name: 'acme', genesis: { token: expect.any(String) } });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    if ('crusoe' in res.body) {
      expect(Object.keys(res.body.crusoe).sort()).toEqual(['access_key', 'organization_id', 'project_id', 'secret_key']);
      for (const value of Object.values(res.body.crusoe)) expect(value).toEqual(expect.any(String));
    }

    const genesis = genesisFor(h, res.body.genesis.token);
    const listed = await genesis.get('/instances');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body).toEqual({ instances: [], total_count: 0, page: 1, per_page: 50 });
    // The account is empty, not the demo account.
    await createKey(h.genesis, 'demo-only');
    expect((await genesis.get('/ssh-keys')).body.total_count).toBe(0);
  });

  it('refuses an account without a name', async () => {
    for (const body of [{}, { name: '' }, { name: 7 }]) {
      const res = await admin.post('/accounts', body);
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual({ code: 'invalid_request', message: expect.any(String) });
    }
  });

  it('lists accounts and gets one, with their credentials (never their secrets)', async () => {
    const created = await admin.createAccount('listed');
    const list = await admin.get('/accounts');
    expect(list.status).toBe(200);
    const names = list.body.accounts.map((a: any) => a.name);
    expect(names).toContain('demo');
    expect(names).toContain('listed');
    const entry = list.body.accounts.find((a: any) => a.id === created.id);
    expect(entry).toMatchObject({ id: created.id, name: 'listed', created_at: new Date(h.clock.now()).toISOString() });
    expect(entry.credentials.some((c: any) => c.cloud === 'genesis')).toBe(true);

    const one = await admin.get(`/accounts/${created.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(entry);
    for (const credential of one.body.credentials) {
      expect(Object.keys(credential).sort()).toEqual(['cloud', 'created_at', 'expires_at', 'id', 'kind', 'label']);
    }
    expect(one.text).not.toContain(created.genesis.token);
  });

  it('issues more Genesis tokens and revokes one: the revoked token gets 401 at once, the others keep working', async () => {
    const account = await admin.createAccount('creds');
    const issued = await admin.post(`/accounts/${account.id}/credentials`, { cloud: 'genesis' });
    expect(issued.status, issued.text).toBe(201);
    expect(issued.body).toEqual({ cloud: 'genesis', credential_id: expect.any(String), token: expect.any(String) });
    expect(issued.body.token).not.toBe(account.genesis.token);

    const first = genesisFor(h, account.genesis.token);
    const second = genesisFor(h, issued.body.token);
    const key = await createKey(second, 'from-second');
    expect((await first.get(`/ssh-keys/${key.id}`)).status).toBe(200); // same account

    const described = (await admin.get(`/accounts/${account.id}`)).body;
    const genesisCredentials = described.credentials.filter((c: any) => c.cloud === 'genesis');
    expect(genesisCredentials).toHaveLength(2);
    expect(genesisCredentials.map((c: any) => c.id)).toContain(issued.body.credential_id);

    const revoked = await admin.delete(`/accounts/${account.id}/credentials/${issued.body.credential_id}`);
    expect(revoked.status, revoked.text).toBe(204);
    expectError(await second.get('/instances'), 401, '01204');
    expect((await first.get('/instances')).status).toBe(200);
    expect((await admin.get(`/accounts/${account.id}`)).body.credentials.filter((c: any) => c.cloud === 'genesis')).toHaveLength(1);

    // Revoking again, or another account's credential, or on an unknown account: 404.
    expect((await admin.delete(`/accounts/${account.id}/credentials/${issued.body.credential_id}`)).status).toBe(404);
    const demoCredential = (await admin.get(`/accounts/${h.demoAccountId}`)).body.credentials[0].id;
    expect((await admin.delete(`/accounts/${account.id}/credentials/${demoCredential}`)).status).toBe(404);
    expect((await h.genesis.get('/instances')).status).toBe(200);
    // An unknown cloud is a 400 naming the known ones; an unknown account a 404.
    const badCloud = await admin.post(`/accounts/${account.id}/credentials`, { cloud: 'nimbus' });
    expect(badCloud.status).toBe(400);
    expect(badCloud.body.message).toContain('genesis');
    expect((await admin.post('/accounts/00000000-0000-4000-8000-000000000000/credentials', { cloud: 'genesis' })).status).toBe(404);
  });

  it('answers 404 for unknown accounts everywhere', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const [method, path, body] of [
      ['GET', `/accounts/${unknown}`],
      ['DELETE', `/accounts/${unknown}`],
      ['GET', `/accounts/${unknown}/quotas`],
      ['PUT', `/accounts/${unknown}/quotas`, { 'genesis.instances': 1 }],
      ['GET', `/state?account=${unknown}`],
    ] as const) {
      const res = await admin.request(method, path, body);
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
      expect(res.body).toEqual({ code: 'not_found', message: expect.stringContaining(unknown) });
    }
  });

  it('deletes an account with everything it owns, gives its stock back, and leaves other accounts alone', async () => {
    const before = await availability(h.genesis, REGION);
    const bystander = await activeInstance(h, { name: 'bystander', type: CPU_TYPE });

    const doomed = await admin.createAccount('doomed');
    const genesis = genesisFor(h, doomed.genesis.token);
    const key = await createKey(genesis, 'doomed-key');
    const running = await createInstance(genesis, { name: 'running', ssh_keys: [key.id] });
    await h.advance(BOOT_MS);
    expect((await genesis.get(`/instances/${running.id}`)).body.instance.status).toBe('active');
    const snapshot = await genesis.post(`/instances/${running.id}/snapshots`, { name: 'snap' });
    expect(snapshot.status, snapshot.text).toBe(201);
    const volume = await genesis.post('/volumes', { name: 'data', size: 50, region: REGION });
    expect(volume.status, volume.text).toBe(201);
    const booting = await createInstance(genesis, { name: 'booting', ssh_keys: [key.id] }); // a boot timer still pending

    const owned = [running.id, booting.id, snapshot.body.snapshot.id, volume.body.volume.id];
    const during = await availability(h.genesis, REGION);
    expect(during[GPU_TYPE]).toBe(before[GPU_TYPE]! - 2);
    const db = h.hangar.kernel.db;
    const count = async (table: string, column: string, values: string[]) =>
      Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where(column, 'in', values).executeTakeFirstOrThrow()).n);
    expect(await count('ip_leases', 'owner', [running.id])).toBeGreaterThan(0);
    expect(await count('lifecycle_timers', 'resource_id', owned)).toBeGreaterThan(0);

    const res = await admin.delete(`/accounts/${doomed.id}`);
    expect(res.status, res.text).toBe(204);
    expect(res.text).toBe('');

    for (const table of ['genesis_instances', 'genesis_volumes', 'genesis_snapshots', 'genesis_ssh_keys', 'genesis_security_groups', 'credentials', 'counters', 'quotas']) {
      expect(await count(table, 'account_id', [doomed.id]), table).toBe(0);
    }
    expect(await count('accounts', 'id', [doomed.id])).toBe(0);
    expect(await count('ip_leases', 'owner', owned)).toBe(0);
    expect(await count('lifecycle_timers', 'resource_id', owned)).toBe(0);
    expect(await count('genesis_instance_links', 'instance_id', owned)).toBe(0);

    // Stock is given back: the availability counts are what they were (less the bystander).
    const after = await availability(h.genesis, REGION);
    expect(after[GPU_TYPE]).toBe(before[GPU_TYPE]);
    expect(after[CPU_TYPE]).toBe(before[CPU_TYPE]! - 1);

    // Its token no longer works; the account is gone from the admin API.
    expectError(await genesis.get('/instances'), 401, '01204');
    expect((await admin.get(`/accounts/${doomed.id}`)).status).toBe(404);
    expect((await admin.get('/accounts')).body.accounts.map((a: any) => a.id)).not.toContain(doomed.id);
    expect((await admin.delete(`/accounts/${doomed.id}`)).status).toBe(404);

    // The demo account is untouched, and moving the clock past the dropped timers changes nothing.
    await h.advance(60_000);
    const mine = await h.genesis.get(`/instances/${bystander.id}`);
    expect(mine.body.instance).toMatchObject({ id: bystander.id, status: 'active', public_ip: bystander.public_ip, private_ip: bystander.private_ip });
    expect((await h.genesis.get('/ssh-keys')).body.total_count).toBeGreaterThan(0);
    const quotas = (await admin.get(`/accounts/${h.demoAccountId}/quotas`)).body.quotas;
    expect(quotas['genesis.instances'].used).toBe((await h.genesis.get('/instances')).body.total_count);
  });

  describe('quotas', () => {
    it('reads the defaults, caps instances at 1 (the 2nd create is 02010), and null restores the default', async () => {
      const account = await admin.createAccount('quota');
      const genesis = genesisFor(h, account.genesis.token);
      const initial = await admin.get(`/accounts/${account.id}/quotas`);
      expect(initial.status).toBe(200);
      expect(initial.body.quotas['genesis.instances']).toEqual({ limit: 1000, used: 0, custom: false });
      const defaultLimit = initial.body.quotas['genesis.instances'].limit;

      const set = await admin.put(`/accounts/${account.id}/quotas`, { 'genesis.instances': 1 });
      expect(set.status, set.text).toBe(200);
      expect(set.body.quotas['genesis.instances']).toEqual({ limit: 1, used: 0, custom: true });
      // Only this account is capped.
      expect((await admin.get(`/accounts/${h.demoAccountId}/quotas`)).body.quotas['genesis.instances'].limit).toBe(defaultLimit);

      const key = await createKey(genesis);
      await createInstance(genesis, { ssh_keys: [key.id] });
      const second = await genesis.post('/instances', { name: 'b', hostname: 'b', type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', ssh_keys: [key.id] });
      expectError(second, 403, '02010');
      expect((await genesis.get('/quotas')).body.quotas.find((q: any) => q.key === 'instances')).toMatchObject({ capacity: 1, used: 1 });

      const restored = await admin.put(`/accounts/${account.id}/quotas`, { 'genesis.instances': null });
      expect(restored.status).toBe(200);
      expect(restored.body.quotas['genesis.instances']).toEqual({ limit: defaultLimit, used: 1, custom: false });
      await createInstance(genesis, { ssh_keys: [key.id] });
      expect((await admin.get(`/accounts/${account.id}/quotas`)).body.quotas['genesis.instances'].used).toBe(2);
    });

    it('refuses unknown keys and bad limits with 400, changing nothing', async () => {
      const account = await admin.createAccount('quota-bad');
      for (const body of [{ 'genesis.bogus': 1 }, { 'genesis.instances': 2, bogus: 1 }, { 'genesis.instances': -1 }, { 'genesis.instances': 'many' }, [1]]) {
        const res = await admin.put(`/accounts/${account.id}/quotas`, body);
        expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(400);
        expect(res.body.code).toBe('invalid_request');
      }
      const unknown = await admin.put(`/accounts/${account.id}/quotas`, { 'genesis.bogus': 1 });
      expect(unknown.body.message).toContain('genesis.instances');
      const quotas = (await admin.get(`/accounts/${account.id}/quotas`)).body.quotas;
      expect(Object.values(quotas).every((q: any) => q.custom === false)).toBe(true);
    });
  });
});
