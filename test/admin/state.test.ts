import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, adminOf, availability, genesisFor } from '../helpers/admin.js';
import { activeInstance, createInstance, createKey, CPU_TYPE, GPU_TYPE, instanceStatus, REGION } from '../helpers/genesis.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import type { HttpClient } from '../helpers/http-client.js';

const PASSWORD = 'a-long-enough-passphrase-1';

/**
 * State export and import: the whole store or one account as one JSON document; an import
 * then an export gives the document back; a bad document changes nothing.
 */
describe('admin API: state export and import', () => {
  let source: TestHangar;
  let admin: Admin;
  let alice: { id: string; genesis: HttpClient; token: string };
  let bob: { id: string; genesis: HttpClient; token: string };
  const made = {} as Record<"running" | "snapshot" | "volume" | "booting" | "secondToken" | "bobInstance", string>;
  const opened: TestHangar[] = [];

  const open = async () => {
    const h = await startHangar();
    opened.push(h);
    return h;
  };

  beforeAll(async () => {
    source = await open();
    admin = adminOf(source);
    const account = async (name: string) => {
      const created = await admin.createAccount(name);
      return { id: created.id, genesis: genesisFor(source, created.genesis.token), token: created.genesis.token };
    };
    alice = await account('alice');
    bob = await account('bob');

    // Alice: an active instance with a snapshot and a volume, one still booting, one destroyed
    // (its counter is back at 0), a custom quota and a second token.
    const key = await createKey(alice.genesis, 'alice-key');
    const running = await activeInstance(source, { name: 'running', ssh_keys: [key.id] }, alice.genesis);
    made.running = running.id;
    const snapshot = await alice.genesis.post(`/instances/${running.id}/snapshots`, { name: 'snap' });
    made.snapshot = snapshot.body.snapshot.id;
    made.volume = (await alice.genesis.post('/volumes', { name: 'data', size: 50, region: REGION })).body.volume.id;
    const gone = await activeInstance(source, { name: 'gone', type: CPU_TYPE, ssh_keys: [key.id] }, alice.genesis);
    expect((await alice.genesis.delete(`/instances/${gone.id}`)).status).toBe(204);
    await source.advance(60_000);
    expect((await admin.put(`/accounts/${alice.id}/quotas`, { 'genesis.snapshots': 7 })).status).toBe(200);
    made.secondToken = (await admin.post(`/accounts/${alice.id}/credentials`, { cloud: 'genesis' })).body.token;

    // Bob: one active instance, a key made and deleted again (its counter is back at 0);
    // the store's stock changed by the operator.
    made.bobInstance = (await activeInstance(source, { name: 'bob-box', password: PASSWORD }, bob.genesis)).id;
    const bobKey = await createKey(bob.genesis, 'short-lived');
    expect((await bob.genesis.delete(`/ssh-keys/${bobKey.id}`)).status).toBe(204);
    expect((await admin.put('/capacity', { cloud: 'genesis', region: REGION, sku: CPU_TYPE, total: 42 })).status).toBe(200);

    // Last, so that its boot is still pending in the exports.
    made.booting = (await createInstance(alice.genesis, { name: 'booting', ssh_keys: [key.id] })).id;
  });
  afterAll(async () => {
    for (const h of opened) await h.close();
  });

  it('exports the whole store as one document', async () => {
    const res = await admin.get('/state');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.format).toBe('hangar-state/1');
    expect(doc.account).toBeNull();
    expect(doc.tables.accounts.map((a: any) => a.name).sort()).toEqual(['alice', 'bob', 'demo']);
    expect(doc.tables.genesis_instances.map((i: any) => i.id).sort()).toEqual([made.running, made.booting, made.bobInstance].sort());
    expect(doc.tables.genesis_snapshots.map((s: any) => s.id)).toEqual([made.snapshot]);
    expect(doc.tables.lifecycle_timers.map((t: any) => t.resource_id)).toContain(made.booting);
    expect(doc.tables.capacity.find((c: any) => c.cloud === 'genesis' && c.region === REGION && c.sku === CPU_TYPE)).toMatchObject({ total: 42 });
    expect(doc.tables.ip_pools.length).toBeGreaterThan(0);
    // No bearer token is stored in clear.
    expect(res.text).not.toContain(alice.token);
    expect(res.text).not.toContain(made.secondToken);
    // Exporting twice gives the same bytes.
    expect((await admin.get('/state')).text).toBe(res.text);
  });

  it('exports one account: its rows only, nothing of the installation or of others', async () => {
    const doc = await admin.exportState(alice.id);
    expect(doc.format).toBe('hangar-state/1');
    expect(doc.account).toBe(alice.id);
    expect(doc.tables.accounts).toEqual([expect.objectContaining({ id: alice.id, name: 'alice' })]);
    for (const [table, rows] of Object.entries<any[]>(doc.tables)) {
      for (const row of rows) if ('account_id' in row) expect(row.account_id, table).toBe(alice.id);
    }
    expect(doc.tables.genesis_instances.map((i: any) => i.id).sort()).toEqual([made.running, made.booting].sort());
    expect(doc.tables.capacity ?? []).toEqual([]);
    expect(doc.tables.ip_pools ?? []).toEqual([]);
    const leaseOwners = new Set(doc.tables.ip_leases.map((l: any) => l.owner));
    expect([...leaseOwners]).toEqual([made.running]);
    expect(doc.tables.lifecycle_timers.map((t: any) => t.resource_id)).toEqual([made.booting]);
    expect(JSON.stringify(doc)).not.toContain(made.bobInstance);
    expect(doc.tables.quotas).toEqual([{ account_id: alice.id, key: 'genesis.snapshots', limit: 7 }]);
  });

  it('imports a whole-store export into a fresh Hangar; exporting again gives the identical document', async () => {
    const doc = await admin.exportState();
    const target = await open();
    const targetAdmin = adminOf(target);
    const res = await targetAdmin.put('/state', doc);
    expect(res.status, res.text).toBe(204);
    const again = await targetAdmin.get('/state');
    expect(again.body).toEqual(doc);
    expect(again.text).toBe(JSON.stringify(doc));
    if (target.hangar.kernel.store.engine === 'postgres') {
      // An import is a bulk load: PostgreSQL gets the written tables' statistics at once
      // (autovacuum may be off, or minutes away), so it plans with the rows it now holds.
      const { rows } = await sql<{ relname: string; analyzed: boolean }>`
        select relname, last_analyze is not null as analyzed from pg_stat_user_tables
        where schemaname = current_schema() and relname in ('genesis_instances', 'genesis_instance_links', 'credentials')`.execute(target.hangar.kernel.db);
      expect(rows.map((r) => [r.relname, r.analyzed]).sort()).toEqual([
        ['credentials', true],
        ['genesis_instance_links', true],
        ['genesis_instances', true],
      ]);
    }

    // The imported store works: tokens, resources, stock, pending transitions.
    const aliceThere = genesisFor(target, alice.token);
    expect((await aliceThere.get('/instances')).body.total_count).toBe(2);
    expect((await genesisFor(target, made.secondToken).get(`/instances/${made.running}`)).body.instance.status).toBe('active');
    expect(await availability(aliceThere, REGION)).toEqual(await availability(alice.genesis, REGION));
    // The target's own demo account was replaced along with everything else.
    expect((await target.genesis.get('/instances')).status).toBe(401);
    // The document's timestamps run ahead of this Hangar's clock (the source's clock moved on):
    // the pending boot falls due once this clock gets there.
    await target.advance(5 * 60_000);
    expect(await instanceStatus(aliceThere, made.booting)).toBe('active');
  });

  it("imports one account's export into a store with other accounts: they are kept and the account works", async () => {
    const doc = await admin.exportState(alice.id);
    const target = await open();
    const targetAdmin = adminOf(target);
    // The target has accounts of its own: keys, a volume, an instance still booting in the same
    // region, an active one in another region.
    const carol = await targetAdmin.createAccount('carol');
    const carolGenesis = genesisFor(target, carol.genesis.token);
    const carolKey = await createKey(carolGenesis, 'carol-key');
    expect((await carolGenesis.post('/volumes', { name: 'carol-data', size: 10, region: REGION })).status).toBe(201);
    const demoBox = await activeInstance(target, { name: 'demo-box', region: 'EUC-DE-MUC-1', password: PASSWORD });
    const carolBox = await createInstance(carolGenesis, { name: 'carol-box', ssh_keys: [carolKey.id] });
    const before = await availability(target.genesis, REGION);

    const res = await targetAdmin.put('/state', doc);
    expect(res.status, res.text).toBe(204);

    // The accounts already there are kept, with their resources.
    const names = (await targetAdmin.get('/accounts')).body.accounts.map((a: any) => a.name).sort();
    expect(names).toEqual(['alice', 'carol', 'demo']);
    expect((await carolGenesis.get('/ssh-keys')).body.ssh_keys.map((k: any) => k.id)).toEqual([carolKey.id]);
    expect((await carolGenesis.get('/volumes')).body.total_count).toBe(1);
    expect((await target.genesis.get(`/instances/${demoBox.id}`)).body.instance).toMatchObject({ status: 'active', public_ip: demoBox.public_ip });

    // The imported account authenticates and sees its resources, as they were.
    const aliceThere = genesisFor(target, alice.token);
    const listed = (await aliceThere.get('/instances')).body;
    expect(listed.total_count).toBe(2);
    expect(listed.instances.map((i: any) => i.id).sort()).toEqual([made.running, made.booting].sort());
    const running = (await aliceThere.get(`/instances/${made.running}`)).body.instance;
    expect(running).toEqual((await alice.genesis.get(`/instances/${made.running}`)).body.instance);
    expect((await aliceThere.get(`/snapshots/${made.snapshot}`)).body.snapshot.status).toBe('created');
    expect((await aliceThere.get('/quotas')).body.quotas.find((q: any) => q.key === 'snapshots')).toMatchObject({ capacity: 7, used: 1 });
    expect(await targetAdmin.exportState(alice.id)).toEqual(doc);

    // Stock is consistent: the imported instances hold units here now.
    const after = await availability(target.genesis, REGION);
    expect(after[GPU_TYPE]).toBe(before[GPU_TYPE]! - 2);
    expect(after[CPU_TYPE]).toBe(before[CPU_TYPE]);
    const capacity = (await targetAdmin.get(`/capacity?cloud=genesis&region=${REGION}`)).body.capacity.find((l: any) => l.sku === GPU_TYPE);
    const rows = (await targetAdmin.exportState()).tables.genesis_instances.filter((i: any) => i.region === REGION && i.type === GPU_TYPE);
    expect(capacity.used).toBe(rows.length);

    // Pending transitions go on (once this clock reaches the document's times); addresses handed
    // out afterwards avoid the imported ones.
    await target.advance(5 * 60_000);
    expect(await instanceStatus(aliceThere, made.booting)).toBe('active');
    const carolActive = (await carolGenesis.get(`/instances/${carolBox.id}`)).body.instance;
    expect(carolActive.status).toBe('active');
    const leases = (await targetAdmin.exportState()).tables.ip_leases;
    expect(new Set(leases.map((l: any) => `${l.pool}/${l.address}`)).size).toBe(leases.length);
    expect(carolActive.private_ip).not.toBe(running.private_ip);
    expect(carolActive.public_ip).not.toBe(running.public_ip);
  });

  it('refuses (409, nothing changed) an account whose addresses are taken in the target store', async () => {
    const doc = await admin.exportState(alice.id);
    const target = await open();
    const targetAdmin = adminOf(target);
    await activeInstance(target, { name: 'squatter', password: PASSWORD }); // takes the region's first addresses, as alice's did
    const before = (await targetAdmin.get('/state')).text;
    const res = await targetAdmin.put('/state', doc);
    expect(res.status, res.text).toBe(409);
    expect(res.body).toEqual({ code: 'conflict', message: expect.stringContaining('ip_leases') });
    expect((await targetAdmin.get('/state')).text).toBe(before);
    expect((await genesisFor(target, alice.token).get('/instances')).status).toBe(401);
  });

  it('refuses a bad document with 400 and changes nothing', async () => {
    const before = (await admin.get('/state')).text;
    const whole = await admin.exportState();
    const account = await admin.exportState(alice.id);
    const bad: [string, unknown][] = [
      ['not an object', 'hello'],
      ['no format', { tables: {} }],
      ['another format', { ...whole, format: 'hangar-state/0' }],
      ['tables not an object', { ...whole, tables: [] }],
      ['unknown table', { ...whole, tables: { ...whole.tables, spaceships: [] } }],
      ['rows not a list', { ...whole, tables: { ...whole.tables, accounts: {} } }],
      ['unknown column', { ...whole, tables: { ...whole.tables, accounts: [{ ...whole.tables.accounts[0], colour: 'red' }] } }],
      ['a row that is not an object', { ...whole, tables: { ...whole.tables, accounts: [null] } }],
      ['a missing required column', { ...whole, tables: { ...whole.tables, accounts: [...whole.tables.accounts, { id: 'x' }] } }],
      ['a row pointing at no account', { ...whole, tables: { ...whole.tables, credentials: [...whole.tables.credentials, { ...whole.tables.credentials[0], id: 'c', lookup: 'l', account_id: 'nobody' }] } }],
      ['a duplicate row', { ...whole, tables: { ...whole.tables, accounts: [...whole.tables.accounts, whole.tables.accounts[0]] } }],
      ['an account document without its account', { ...account, tables: { ...account.tables, accounts: [] } }],
      ['an account document with rows of another account', { ...account, tables: { ...account.tables, genesis_ssh_keys: [{ ...account.tables.genesis_ssh_keys[0], id: 'k', account_id: bob.id }] } }],
    ];
    for (const [why, doc] of bad) {
      const res = await admin.put('/state', doc);
      expect(res.status, `${why}: ${res.text}`).toBe(400);
      expect(res.body.code, why).toBe('invalid_state');
      expect(typeof res.body.message).toBe('string');
    }
    const malformed = await admin.request('PUT', '/state', undefined, { raw: '{"format":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect((await admin.get('/state')).text).toBe(before);
    expect((await alice.genesis.get('/instances')).body.total_count).toBe(2);
  });
});
