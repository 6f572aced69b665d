import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';
import { publicKey } from '../helpers/hangar.js';
import { expectCrusoeError, newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';
import { awaitOp, Families, succeeds } from './support.js';
import { CrusoeCatalog } from '../../src/clouds/crusoe/catalog.js';
import { Quotas, quotaMigrations, withCatalog } from '../../src/clouds/crusoe/model/quotas.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();
const QUOTA = 'crusoe.family.c1a';
const postgres = process.env.HANGAR_TEST_ENGINE === 'postgres' && Boolean(process.env.HANGAR_TEST_POSTGRES_URL);

/**
 * A family's quota (vCPUs of the c1a family here) holds however VMs arrive: one by one, in bulk,
 * by an UPDATE to a bigger type, and side by side on PostgreSQL.
 */
describe('Crusoe: instance family and storage quotas', () => {
  const { h, admin } = hangarPerSuite();

  async function tenant(name: string, vcpus: number): Promise<{ c: CrusoeClient; vms: string; accountId: string }> {
    const { accountId, client } = await newCrusoeAccount(h, name);
    expect((await admin.put(`/accounts/${accountId}/quotas`, { [QUOTA]: vcpus })).status).toBe(200);
    return { c: client, vms: `/projects/${client.projectId}/compute/vms/instances`, accountId };
  }
  const vm = (name: string, type: string) => ({ name, type, location: LOCATION, ssh_public_key: KEY });
  const used = async (accountId: string) => (await admin.get(`/accounts/${accountId}/quotas`)).body.quotas[QUOTA].used;

  it('refuses a bulk create beyond the quota, leaving nothing, and takes one that fits', async () => {
    const { c, vms, accountId } = await tenant('bulk', 8);
    const bulk = (prefix: string, count: number) =>
      c.post(`/projects/${c.projectId}/compute/vms/bulk-instances`, {
        name_prefix: prefix,
        count,
        instance_template: { template_name: `${prefix}-t`, type: 'c1a.2x', ssh_public_key: KEY },
        locations: [{ location: LOCATION }],
      });
    expectCrusoeError(await bulk('five', 5), 403, 'quota_exceeded', '5 c1a.2x VM(s) need 10 vcpus of the c1a quota; this organization uses 0 of 8');
    expect((await c.get(vms)).body.items).toEqual([]);
    expect(await used(accountId)).toBe(0);
    expect(await succeeds(h, c, Families.vms, bulk('four', 4))).toHaveLength(4);
    expect(await used(accountId)).toBe(8);
    expectCrusoeError(await c.post(vms, vm('one-more', 'c1a.2x')), 403, 'quota_exceeded', 'uses 8 of 8');
  });

  it("refuses a VM beyond the organization's VM count, giving back the family's units and storage taken with it", async () => {
    const { c, vms, accountId } = await tenant('counted', 64);
    expect((await admin.put(`/accounts/${accountId}/quotas`, { 'crusoe.vms': 1 })).status).toBe(200);
    await succeeds(h, c, Families.vms, c.post(vms, vm('only', 'c1a.2x')));
    const before = (await admin.get(`/accounts/${accountId}/quotas`)).body.quotas;
    expectCrusoeError(await c.post(vms, vm('second', 'c1a.2x')), 403, 'quota_exceeded', 'this organization may have at most 1 VMs');
    const after = (await admin.get(`/accounts/${accountId}/quotas`)).body.quotas;
    for (const key of [QUOTA, 'crusoe.storage_gib', 'crusoe.vms']) expect(after[key]?.used, key).toBe(before[key]?.used);
    expect(after[QUOTA].used).toBe(2);
    expect(after['crusoe.vms'].used).toBe(1);
    expect(after['crusoe.storage_gib'].used).toBeGreaterThan(0);
  });

  it('checks an UPDATE to another type, counting the VM once, and holds the bigger type while it is in flight', async () => {
    const { c, vms, accountId } = await tenant('resize', 8);
    const small = await succeeds(h, c, Families.vms, c.post(vms, vm('small', 'c1a.2x')));
    await succeeds(h, c, Families.vms, c.patch(`${vms}/${small.id}`, { action: 'STOP' }));
    const other = await succeeds(h, c, Families.vms, c.post(vms, vm('other', 'c1a.2x')));
    await succeeds(h, c, Families.vms, c.patch(`${vms}/${other.id}`, { action: 'STOP' }));
    expect(await used(accountId)).toBe(4);

    // 2 + 8 > 8: refused, nothing changes.
    expectCrusoeError(await c.patch(`${vms}/${small.id}`, { action: 'UPDATE', type: 'c1a.8x' }), 403, 'quota_exceeded', 'uses 2 of 8');
    expect((await c.get(`${vms}/${small.id}`)).body.type).toBe('c1a.2x');

    // 2 + 4 (instead of 2) fits; while that UPDATE is in flight the VM holds 4.
    const resize = await c.patch(`${vms}/${small.id}`, { action: 'UPDATE', type: 'c1a.4x' });
    expect(resize.status, resize.text).toBe(200);
    expect(resize.body.operation.state).toBe('IN_PROGRESS');
    expect(await used(accountId)).toBe(6);
    // The organization's quotas (the Go client's ListOrgQuotas) say what a create would find.
    const orgQuotas = (await c.get(`/organizations/${c.credentials.organization_id}/quotas`)).body.quotas;
    expect(orgQuotas.find((q: any) => q.programmatic_name === 'c1a')).toMatchObject({ type: 'ORG_QUOTA_TYPE_MAXIMUM_VCPUS_C1A', max: 8, used: 6, available: 2 });
    expectCrusoeError(await c.post(vms, vm('during', 'c1a.4x')), 403, 'quota_exceeded', 'uses 6 of 8');
    expect((await awaitOp(h, c, Families.vms, resize.body.operation)).state).toBe('SUCCEEDED');
    expect((await c.get(`${vms}/${small.id}`)).body.type).toBe('c1a.4x');
    expect(await used(accountId)).toBe(6);

    // Another family's type does not count against c1a.
    const cross = await c.patch(`${vms}/${other.id}`, { action: 'UPDATE', type: 's1a.4x' });
    expect(cross.status, cross.text).toBe(200);
    expect(await used(accountId)).toBe(6);
    expect((await awaitOp(h, c, Families.vms, cross.body.operation)).state).toBe('SUCCEEDED');
    expect(await used(accountId)).toBe(4);
  });

  it('holds disk storage to its quota: disks made, grown (counted while they grow) and boot disks of new VMs', async () => {
    const { c, vms, accountId } = await tenant('storage', 64);
    expect((await admin.put(`/accounts/${accountId}/quotas`, { 'crusoe.storage_gib': 300 })).status).toBe(200);
    const disks = `/projects/${c.projectId}/storage/disks`;
    const storage = async () => (await admin.get(`/accounts/${accountId}/quotas`)).body.quotas['crusoe.storage_gib'].used;
    await succeeds(h, c, Families.vms, c.post(vms, vm('booted', 'c1a.2x'))); // its boot disk: 128 GiB
    expect(await storage()).toBe(128);
    expectCrusoeError(await c.post(disks, { name: 'big', size: '200GiB', location: LOCATION }), 403, 'quota_exceeded', 'uses 128 of 300 GiB');
    const disk = await succeeds(h, c, Families.disks, c.post(disks, { name: 'small', size: '100GiB', location: LOCATION }));
    expectCrusoeError(await c.patch(`${disks}/${disk.id}`, { size: '200GiB' }), 403, 'quota_exceeded', 'uses 228 of 300 GiB');
    const grow = await c.patch(`${disks}/${disk.id}`, { size: '150GiB' });
    expect(grow.status, grow.text).toBe(200);
    expect(await storage()).toBe(278);
    expectCrusoeError(await c.post(vms, vm('no-room', 'c1a.2x')), 403, 'quota_exceeded', 'uses 278 of 300 GiB');
    expect((await awaitOp(h, c, Families.disks, grow.body.operation)).state).toBe('SUCCEEDED');
    expect(await storage()).toBe(278);
    const quotas = (await c.get(`/projects/${c.projectId}/quotas`)).body.quotas;
    expect(quotas.find((q: any) => q.programmatic_name === 'disk-storage-gib')).toMatchObject({ max: 300, used: 278, available: 22 });
  });

  it('keeps what the organization holds equal to a recount of its rows: failures, undone changes, a project deleted mid-change, an older store', async () => {
    const { kernel } = h.hangar;
    const { c, vms, accountId } = await tenant('ledger', 256);
    const P = c.projectId;
    const disks = `/projects/${P}/storage/disks`;
    const held = async () => {
      const quotas = (await admin.get(`/accounts/${accountId}/quotas`)).body.quotas;
      return Object.fromEntries(Object.entries(quotas as Record<string, { used: number }>).filter(([key]) => /^crusoe\.(family\.|storage_gib)/.test(key)).map(([key, q]) => [key, q.used]));
    };
    const recounted = async () => {
      let counts: { accountId: string; key: string; value: number }[] = [];
      await Quotas.recount(kernel.db, CrusoeCatalog.load(), { replaceAll: async (_trx, _owns, all) => void (counts = [...all]) });
      const mine = Object.fromEntries(Object.keys(await held()).map((key) => [key, 0]));
      for (const count of counts) if (count.accountId === accountId) mine[count.key] = count.value;
      return mine;
    };

    // A second project: a VM, a bulk create with template disks, a disk; then, with a type
    // change and a disk's growth in flight, the project is deleted. Everything comes back.
    const second = (await c.post('/organizations/projects', { name: 'doomed', organization_id: c.credentials.organization_id })).body.project.id;
    const there = `/projects/${second}/compute/vms/instances`;
    const one = await succeeds(h, c, Families.vms, c.post(there, vm('one', 'c1a.2x')), 1_000, second);
    await succeeds(h, c, Families.vms, c.patch(`${there}/${one.id}`, { action: 'STOP' }), 1_000, second);
    const bulk = {
      name_prefix: 'many',
      count: 2,
      instance_template: { template_name: 'with-disks', type: 'c1a.4x', ssh_public_key: KEY, disks: [{ type: 'persistent-ssd', size: '10GiB' }] },
      locations: [{ location: LOCATION }],
    };
    await succeeds(h, c, Families.vms, c.post(`/projects/${second}/compute/vms/bulk-instances`, bulk), 1_000, second);
    const disk = await succeeds(h, c, Families.disks, c.post(`/projects/${second}/storage/disks`, { name: 'data', size: '50GiB', location: LOCATION }), 1_000, second);
    expect(await held()).toMatchObject({ [QUOTA]: 2 + 8, 'crusoe.storage_gib': 3 * 128 + 2 * 10 + 50 });
    expect((await c.patch(`${there}/${one.id}`, { action: 'UPDATE', type: 'c1a.8x' })).status).toBe(200);
    expect((await c.patch(`/projects/${second}/storage/disks/${disk.id}`, { size: '80GiB' })).status).toBe(200);
    expect(await held()).toMatchObject({ [QUOTA]: 8 + 8, 'crusoe.storage_gib': 3 * 128 + 2 * 10 + 80 });
    expect((await c.delete(`/organizations/projects/${second}`)).status).toBe(200);
    expect(await held()).toMatchObject({ [QUOTA]: 0, 'crusoe.storage_gib': 0 });

    // In the default project: creates out of stock, and changes an operator's fault undoes.
    const kept = await succeeds(h, c, Families.vms, c.post(vms, vm('kept', 'c1a.2x')));
    await succeeds(h, c, Families.vms, c.patch(`${vms}/${kept.id}`, { action: 'STOP' }));
    const grown = await succeeds(h, c, Families.disks, c.post(disks, { name: 'grown', size: '20GiB', location: LOCATION }));
    const stock = (await kernel.capacity.list(kernel.db, 'crusoe', LOCATION)).find((s) => s.sku === 'c1a.16x')!;
    await kernel.capacity.setTotal(kernel.db, 'crusoe', LOCATION, 'c1a.16x', stock.used);
    expect((await awaitOp(h, c, Families.vms, (await c.post(vms, vm('no-stock', 'c1a.16x'))).body.operation)).result.code).toBe('out_of_stock');
    const bulkOut = { ...bulk, name_prefix: 'none', instance_template: { ...bulk.instance_template, template_name: 'none-t', type: 'c1a.16x' } };
    expect((await awaitOp(h, c, Families.vms, (await c.post(`/projects/${P}/compute/vms/bulk-instances`, bulkOut)).body.operation)).result.code).toBe('out_of_stock');
    await kernel.capacity.setTotal(kernel.db, 'crusoe', LOCATION, 'c1a.16x', stock.total);
    for (const [transition, request] of [
      ['vm.update', () => c.patch(`${vms}/${kept.id}`, { action: 'UPDATE', type: 's1a.4x' })],
      ['disk.resize', () => c.patch(`${disks}/${grown.id}`, { size: '40GiB' })],
      ['vm.create', () => c.post(vms, vm('sabotaged', 'c1a.4x'))],
      ['disk.create', () => c.post(disks, { name: 'sabotaged', size: '30GiB', location: LOCATION })],
    ] as const) {
      const fault = await kernel.faults.add({ kind: 'crusoe.operation', transition, count: 1 });
      const family = transition.startsWith('vm.') ? Families.vms : Families.disks;
      expect((await awaitOp(h, c, family, (await request()).body.operation)).state, transition).toBe('FAILED');
      await kernel.faults.remove(fault.id);
    }
    expect(await held()).toEqual(await recounted());
    expect(await held()).toMatchObject({ [QUOTA]: 2, 'crusoe.family.s1a': 0, 'crusoe.storage_gib': 128 + 20 });

    // A store from before these counters: the migration counts them from the rows.
    await kernel.db.deleteFrom('counters').where('account_id', '=', accountId).where((eb) => eb.or([eb('key', 'like', 'crusoe.family.%'), eb('key', '=', 'crusoe.storage_gib')])).execute();
    expect(await held()).toMatchObject({ [QUOTA]: 0, 'crusoe.storage_gib': 0 });
    await kernel.db.deleteFrom('crusoe_quotas_migrations').execute();
    await kernel.migrate('crusoe_quotas', withCatalog(quotaMigrations, CrusoeCatalog.load()));
    expect(await held()).toMatchObject({ [QUOTA]: 2, 'crusoe.storage_gib': 128 + 20 });
  });

  it.runIf(postgres)('lets exactly one of two creates side by side take the last units (PostgreSQL)', async () => {
    const { kernel } = h.hangar;
    for (const [round, second] of [
      [
        // (in another project: creates of one project, type and location that arrive together
        // share one transaction, see the next test; these race in two, as on two replicas)
        'create',
        async (c: CrusoeClient) => {
          const other = (await c.post('/organizations/projects', { name: 'race-other', organization_id: c.credentials.organization_id })).body.project.id;
          return c.post(`/projects/${other}/compute/vms/instances`, vm('b', 'c1a.2x'));
        },
      ],
      [
        'bulk',
        (c: CrusoeClient) =>
          c.post(`/projects/${c.projectId}/compute/vms/bulk-instances`, {
            name_prefix: 'bulk',
            count: 1,
            instance_template: { template_name: 'race-t', type: 'c1a.2x', ssh_public_key: KEY },
            locations: [{ location: LOCATION }],
          }),
      ],
    ] as const) {
      const { c, vms, accountId } = await tenant(`race-${round}`, 2);
      // Hold back every VM insert until both creates are inside their transactions: with a
      // check that reads and then inserts, both would have counted no VMs by then. (A session
      // of its own, outside the Hangar's pool.)
      const answers = await withInsertsHeld(kernel.db, () => [c.post(vms, vm('a', 'c1a.2x')), second(c)]);
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses, answers.map((a) => a.text).join('\n')).toEqual([200, 403]);
      const refused = answers.find((a) => a.status === 403)!;
      expectCrusoeError(refused, 403, 'quota_exceeded', 'uses 2 of 2');
      expect(await used(accountId)).toBe(2);
    }
  });

  it('lets exactly one of two creates that arrive together take the last units, and keeps the other nothing', async () => {
    const { c, vms, accountId } = await tenant('race-together', 2);
    const answers = await Promise.all([c.post(vms, vm('a', 'c1a.2x')), c.post(vms, vm('b', 'c1a.2x'))]);
    expect(answers.map((a) => a.status).sort(), answers.map((a) => a.text).join('\n')).toEqual([200, 403]);
    expectCrusoeError(answers.find((a) => a.status === 403)!, 403, 'quota_exceeded', 'uses 2 of 2');
    expect(await used(accountId)).toBe(2);
    expect((await c.get(vms)).body.items).toHaveLength(1);
  });
});

/**
 * Sends requests while a session of its own (outside the Hangar's pool) holds `crusoe_vms`
 * against inserts, lets them go once each request's session queues behind it, directly or
 * behind another request's (a condition polled, not a time waited), and returns the answers.
 */
async function withInsertsHeld<T>(db: Kysely<any>, send: () => Promise<T>[]): Promise<T[]> {
  const schema = (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]!.s;
  const session = new pg.Client({ connectionString: process.env.HANGAR_TEST_POSTGRES_URL });
  await session.connect();
  try {
    await session.query(`set search_path to "${schema}"`);
    await session.query('begin');
    await session.query('lock table crusoe_vms in share mode');
    const me = Number((await session.query('select pg_backend_pid() as pid')).rows[0].pid);
    const requests = send();
    for (;;) {
      // (the activity view is read once per transaction unless told to read it again)
      await session.query('select pg_stat_clear_snapshot()');
      const { rows } = await session.query(
        `select count(*) as n from pg_stat_activity w
         where $1 = any(pg_blocking_pids(w.pid))
            or exists (select 1 from pg_stat_activity a where $1 = any(pg_blocking_pids(a.pid)) and a.pid = any(pg_blocking_pids(w.pid)))`,
        [me],
      );
      if (Number(rows[0].n) >= requests.length) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await session.query('commit');
    return await Promise.all(requests);
  } finally {
    await session.end();
  }
}
