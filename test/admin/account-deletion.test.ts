import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { adminOf, genesisFor } from '../helpers/admin.js';
import { awaitOperation, crusoeClient, newCrusoeAccount, type CrusoeCredentials } from '../helpers/crusoe.js';
import { activeInstance, expectError, REGION } from '../helpers/genesis.js';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';

const LOCATION = 'us-east1-a';

/** Every address lease and address pool of the store, and the stock in use, as sortable text. */
async function addressBook(h: TestHangar) {
  const { db } = h.hangar.kernel;
  const leases = (await db.selectFrom('ip_leases').select(['pool', 'address', 'owner']).execute()).map((l) => `${l.pool} ${l.address} ${l.owner}`).sort();
  const pools = (await db.selectFrom('ip_pools').select('name').execute()).map((p) => p.name as string).sort();
  const used = (await db.selectFrom('capacity').select(['cloud', 'region', 'sku', 'used']).where('used', '>', 0).execute()).map((c) => `${c.cloud} ${c.region} ${c.sku} ${c.used}`).sort();
  return { leases, pools, used };
}

describe('deleting an account', () => {
  let h: TestHangar;
  afterEach(() => h?.close());

  it("gives back everything each cloud made for it (VMs' public addresses, NAT gateways, subnet pools, instances, floating IPs, filesystems, stock)", async () => {
    h = await startHangar();
    const before = await addressBook(h);

    const { accountId, client: c } = await newCrusoeAccount(h, 'leaving');
    const P = c.projectId;
    const vm = await c.post(`/projects/${P}/compute/vms/instances`, { name: 'vm', type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey() });
    expect((await awaitOperation(h, c, P, vm.body.operation)).result.network_interfaces[0].ips[0].public_ipv4.address).toMatch(/\d+\.\d+\.\d+\.\d+/);
    const net = (await c.post(`/projects/${P}/networking/vpc-networks`, { name: 'prod', cidr: '10.20.0.0/16' })).body.network;
    const subnet = await c.post(`/projects/${P}/networking/vpc-subnets`, { name: 'nat', cidr: '10.20.1.0/24', location: LOCATION, vpc_network_id: net.id, nat_gateway_enabled: true });
    expect(subnet.status, subnet.text).toBe(200);
    expect(subnet.body.subnet.nat_gateways).toHaveLength(1);

    const token = String((await adminOf(h).post(`/accounts/${accountId}/credentials`, { cloud: 'genesis' })).body.token);
    const genesis = h.genesis.with({ authorization: `Bearer ${token}` });
    await activeInstance(h, {}, genesis);
    expect((await genesis.post('/floating-ips', { name: 'ip', region: REGION })).status).toBe(201);
    expect((await genesis.post('/filesystems', { name: 'fs', size: 10, region: REGION })).status).toBe(201);
    await h.advance(60_000);
    const during = await addressBook(h);
    expect(during.leases.length).toBeGreaterThan(before.leases.length + 5);
    expect(during.pools.length).toBeGreaterThan(before.pools.length);

    expect((await adminOf(h).delete(`/accounts/${accountId}`)).status).toBe(204);
    expect(await addressBook(h)).toEqual(before);
  });

  it('is safe while the account creates on both clouds: no 500, and what is left is consistent', async () => {
    h = await startHangar();
    const { account, clouds } = await h.hangar.kernel.tenancy.create('busy');
    const accountId = account.id;
    const genesis = genesisFor(h, String(clouds.genesis!.token));
    const c = crusoeClient(h, clouds.crusoe as unknown as CrusoeCredentials);
    const key = (await genesis.post('/ssh-keys', { name: 'k', value: publicKey() })).body.id;
    const vms = `/projects/${c.projectId}/compute/vms/instances`;
    // 30 creates at once on each cloud; the deletion goes out as the first answer comes back.
    // (A create takes its counters after its inserts: the deletion must not deadlock with it.)
    let answered = 0;
    let deletion: Promise<{ status: number }> | undefined;
    const sent = <T extends { status: number }>(request: Promise<T>) =>
      request.then((res) => {
        if (++answered === 1) deletion = adminOf(h).delete(`/accounts/${accountId}`);
        return res;
      });
    const answers = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => sent(genesis.post('/instances', { name: `g${i}`, hostname: `g${i}`, type: 'vcpu-2_memory-4g', region: REGION, image: 'ubuntu-22.04', ssh_keys: [key] }))),
      ...Array.from({ length: 30 }, (_, i) => sent(c.post(vms, { name: `c${i}`, type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey() }))),
    ]);
    expect((await deletion!).status).toBe(204);
    for (const res of answers) expect([200, 201, 401, 403], JSON.stringify(res.body)).toContain(res.status);
    // Nothing of the account is left, and the stock it took is back.
    const { db } = h.hangar.kernel;
    for (const table of ['genesis_instances', 'crusoe_vms', 'crusoe_disks', 'counters']) {
      expect(await db.selectFrom(table).select('account_id').where('account_id', '=', accountId).execute(), table).toEqual([]);
    }
    const used = await db.selectFrom('capacity').select(['sku', 'used']).where('sku', 'in', ['vcpu-2_memory-4g', 'c1a.2x']).where('used', '>', 0).execute();
    expect(used).toEqual([]);
  });

  it('tells a create admitted before its account was deleted that its token is no longer valid (401)', async () => {
    h = await startHangar();
    const { account, clouds } = await h.hangar.kernel.tenancy.create('brief');
    const genesis = genesisFor(h, String(clouds.genesis!.token));
    const admin = adminOf(h);
    // Admitted, then held by an injected latency while the account is deleted: the insert
    // refers to an account that is gone.
    const held = await admin.holdNext({ cloud: 'genesis', method: 'POST', path: '/compute/v1/instances' });
    const create = genesis.post('/instances', { name: 'late', hostname: 'late', type: 'vcpu-2_memory-4g', region: REGION, image: 'ubuntu-22.04', password: 'Hangar-password-1234' });
    await held();
    expect((await admin.delete(`/accounts/${account.id}`)).status).toBe(204);
    expectError(await create, 401, '01204', 'API token is not valid');
    expect(await h.hangar.kernel.db.selectFrom('genesis_instances').select('id').where('account_id', '=', account.id).execute()).toEqual([]);
  });

  it('tells a create whose SSH key went with its account, deleted while the create was held, that its token is no longer valid (401), not that the key is unknown', async () => {
    h = await startHangar();
    const { account, clouds } = await h.hangar.kernel.tenancy.create('keyed');
    const genesis = genesisFor(h, String(clouds.genesis!.token));
    const key = (await genesis.post('/ssh-keys', { name: 'k', value: publicKey() })).body.id;
    // Admitted, then held while the account (and its key) is deleted: the create finds no such
    // key of its account, a refusal of its own rather than a broken reference.
    const held = await adminOf(h).holdNext({ cloud: 'genesis', method: 'POST', path: '/compute/v1/instances' });
    const create = genesis.post('/instances', { name: 'late', hostname: 'late', type: 'vcpu-2_memory-4g', region: REGION, image: 'ubuntu-22.04', ssh_keys: [key] });
    await held();
    expect((await adminOf(h).delete(`/accounts/${account.id}`)).status).toBe(204);
    expectError(await create, 401, '01204', 'API token is not valid');
  });

  it("converts the leases of a store made before owners were plain ids, and gives back those of VMs already gone", async () => {
    h = await startHangar();
    const { client: c } = await newCrusoeAccount(h, 'old');
    const P = c.projectId;
    const made = await c.post(`/projects/${P}/compute/vms/instances`, { name: 'vm', type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey() });
    const vm = (await awaitOperation(h, c, P, made.body.operation)).result;
    const { db } = h.hangar.kernel;
    const publicPool = `crusoe:${LOCATION}:public`;
    // As an older Hangar wrote them: the VM's lease under "<vm>:public", and one of a VM its account deletion missed.
    await db.updateTable('ip_leases').set({ owner: `${vm.id}:public` }).where('pool', '=', publicPool).where('owner', '=', vm.id).execute();
    await db.insertInto('ip_leases').values({ pool: publicPool, address: 1, owner: 'gone-vm:public' }).execute();
    await sql`delete from crusoe_migrations where name = '0003_crusoe_plain_lease_owners'`.execute(db);
    await h.hangar.kernel.migrate('crusoe', (await import('../../src/clouds/crusoe/tables.js')).crusoeMigrations);

    const owners = (await db.selectFrom('ip_leases').select('owner').where('pool', '=', publicPool).execute()).map((l) => l.owner);
    expect(owners).toEqual([vm.id]);
    // Released as today's leases are: deleting the VM gives its address back.
    const deleted = await c.delete(`/projects/${P}/compute/vms/instances/${vm.id}`);
    await awaitOperation(h, c, P, deleted.body.operation);
    expect(await db.selectFrom('ip_leases').select('owner').where('pool', '=', publicPool).execute()).toEqual([]);
  });
});
