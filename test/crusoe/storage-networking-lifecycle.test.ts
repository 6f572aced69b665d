import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, type CrusoeClient } from '../helpers/crusoe.js';
import { awaitOp, Families, inCidr, succeeds } from './support.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();

/** Bodies no route should accept, and none should answer with a 500. */
const NASTY: unknown[] = [
  null,
  [],
  'text',
  42,
  {},
  { name: null },
  { name: '' },
  { name: 'x'.repeat(300) },
  { name: 'n', cidr: '999.1.1.1/99', location: LOCATION, vpc_network_id: 'x' },
  { name: 'n', size: '9999999999GiB', location: LOCATION },
  { name: 'n', snapshot_id: '' },
  { size: { gib: 10 } },
  { disk_id: ['a'] },
  { name: 'n', protocols: { tcp: true }, sources: 'all', destinations: [{}], action: 'allow', direction: 'ingress', vpc_network_id: 'x' },
  { name: 'n', protocols: '[', sources: [{ cidr: '/' }], destinations: [{ resource_id: '' }], action: 'allow', direction: 'ingress', vpc_network_id: '' },
  { destination_ports: [-1, 1e12], protocols: ['tcp'] },
  { health_check: { port: -1 } },
  { health_check: { port: 1.5 } },
  { health_check: null },
  { name: 'n', location: LOCATION, algorithm: '', protocols: [], destinations: [{ cidr: 'x' }], network_interfaces: [{ subnet: '' }] },
  { nat_gateway_action: 'explode', name: 'n' },
  { name: 'nul\u0000name', cidr: '10.0.0.0/16', size: '10GiB', location: LOCATION, disk_id: 'a\u0000' },
  { name: 'ok', protocols: ['tcp\u0000'], sources: [{ cidr: '0.0.0.0/0\u0000' }] },
  'RAW:{"__proto__": {"polluted": true}, "name": "proto", "constructor": {"prototype": {"polluted": true}}}',
  'RAW:{"name": "dup", "name": "dup2"',
];

describe('Crusoe storage and networking: faults, project deletion, stores from before networks, bad input', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let P: string;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    P = c.projectId;
  });
  afterAll(() => h.close());

  it('rolls back what a failed operation began: a load balancer, a resize, a snapshot', async () => {
    const kernel = h.hangar.kernel;
    const N = `/projects/${P}/networking`;
    const vm = await succeeds(h, c, Families.vms, c.post(`/projects/${P}/compute/vms/instances`, { name: 'backend', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY }));
    const fault = await kernel.faults.add({ kind: 'crusoe.operation', transition: 'lb.create', count: 1 });
    const lb = await c.post(`${N}/internal-load-balancers`, {
      name: 'doomed',
      location: LOCATION,
      algorithm: 'random',
      protocols: ['tcp'],
      destinations: [{ resource_id: vm.id }],
      network_interfaces: [{}],
    });
    const lbId = lb.body.operation.metadata.id;
    expect((await kernel.db.selectFrom('ip_leases').select('address').where('owner', '=', lbId).execute()).length).toBe(1);
    const failed = await awaitOp(h, c, Families.loadBalancers, lb.body.operation);
    expect(failed).toMatchObject({ state: 'FAILED', result: { code: 'internal_error' } });
    expect((await c.get(`${N}/internal-load-balancers`)).body.items).toEqual([]);
    expect(await kernel.db.selectFrom('ip_leases').select('address').where('owner', '=', lbId).execute()).toEqual([]);
    // The VM it would have named is free to go.
    await kernel.faults.remove(fault.id);

    const disks = `/projects/${P}/storage/disks`;
    const disk = await succeeds(h, c, Families.disks, c.post(disks, { name: 'steady', size: '10GiB', location: LOCATION }));
    const resizeFault = await kernel.faults.add({ kind: 'crusoe.operation', transition: 'disk.resize', count: 1 });
    const resize = await c.patch(`${disks}/${disk.id}`, { size: '20GiB' });
    expect((await awaitOp(h, c, Families.disks, resize.body.operation)).state).toBe('FAILED');
    await kernel.faults.remove(resizeFault.id);
    expect((await c.get(`${disks}/${disk.id}`)).body.size).toBe('10GiB');
    // The disk is free again: the next resize works.
    expect((await succeeds(h, c, Families.disks, c.patch(`${disks}/${disk.id}`, { size: '20GiB' }))).size).toBe('20GiB');

    const snapFault = await kernel.faults.add({ kind: 'crusoe.operation', transition: 'snapshot.create', count: 1 });
    const snap = await c.post(`/projects/${P}/storage/snapshots`, { disk_id: disk.id, name: 'never' });
    expect((await awaitOp(h, c, Families.snapshots, snap.body.operation)).state).toBe('FAILED');
    await kernel.faults.remove(snapFault.id);
    expect((await c.get(`/projects/${P}/storage/snapshots`)).body.items).toEqual([]);
    expect((await succeeds(h, c, Families.disks, c.patch(`${disks}/${disk.id}`, { size: '30GiB' }))).size).toBe('30GiB');
    await succeeds(h, c, Families.vms, c.delete(`/projects/${P}/compute/vms/instances/${vm.id}`));
  });

  it('deletes a project with everything in it: addresses, pools, billing and counts go with it', async () => {
    const kernel = h.hangar.kernel;
    const project = (await c.post('/organizations/projects', { name: 'doomed', organization_id: c.credentials.organization_id })).body.project;
    const S = project.id;
    const N = `/projects/${S}/networking`;
    const net = (await c.post(`${N}/vpc-networks`, { name: 'n', cidr: '10.50.0.0/16' })).body.network;
    const subnet = (await c.post(`${N}/vpc-subnets`, { name: 's', cidr: '10.50.1.0/24', location: LOCATION, vpc_network_id: net.id, nat_gateway_enabled: true })).body.subnet;
    const vmRow = await succeeds(
      h,
      c,
      Families.vms,
      c.post(`/projects/${S}/compute/vms/instances`, { name: 'v', type: 'a100.1x', location: LOCATION, ssh_public_key: KEY, network_interfaces: [{ subnet: subnet.id }] }),
      1_000,
      S,
    );
    const lb = await c.post(`${N}/internal-load-balancers`, {
      name: 'l',
      location: LOCATION,
      algorithm: 'random',
      protocols: ['tcp'],
      destinations: [{ resource_id: vmRow.id }],
      network_interfaces: [{ subnet: subnet.id }],
    });
    expect(lb.status, lb.text).toBe(200);
    const rule = await c.post(`${N}/vpc-firewall-rules`, {
      name: 'r',
      vpc_network_id: net.id,
      action: 'allow',
      direction: 'ingress',
      protocols: ['tcp'],
      sources: [{ cidr: '0.0.0.0/0' }],
      destinations: [{ resource_id: vmRow.id }],
    });
    expect(rule.status, rule.text).toBe(200);
    const disk = await c.post(`/projects/${S}/storage/disks`, { name: 'd', size: '10GiB', location: LOCATION });
    await h.advance(5_000);
    const snap = await c.post(`/projects/${S}/storage/snapshots`, { disk_id: disk.body.operation.metadata.id });
    expect(snap.status, snap.text).toBe(200);
    await h.advance(5_000);
    expect((await c.get(`/organizations/projects/${S}`)).body.resources).toMatchObject({ instances: { count: 1 }, disks: { count: 2 }, snapshots: { count: 1 }, vpc_networks: { count: 2 } });
    const owners = [vmRow.id, lb.body.operation.metadata.id, subnet.id];
    expect((await kernel.db.selectFrom('ip_leases').select('owner').where('owner', 'in', owners).execute()).length).toBeGreaterThanOrEqual(3);

    expect((await c.delete(`/organizations/projects/${S}`)).status).toBe(200);
    for (const table of [
      'crusoe_vms',
      'crusoe_disks',
      'crusoe_disk_snapshots',
      'crusoe_vpc_networks',
      'crusoe_vpc_subnets',
      'crusoe_firewall_rules',
      'crusoe_load_balancers',
      'crusoe_operations',
    ] as const) {
      expect(await kernel.db.selectFrom(table).select('project_id').where('project_id', '=', S).execute(), table).toEqual([]);
    }
    expect(await kernel.db.selectFrom('crusoe_references').select('referrer_id').where('target_id', '=', vmRow.id).execute()).toEqual([]);
    expect(await kernel.db.selectFrom('ip_leases').select('owner').where('owner', 'in', owners).execute()).toEqual([]);
    expect(await kernel.db.selectFrom('ip_pools').select('name').where('name', '=', `crusoe:subnet:${subnet.id}`).execute()).toEqual([]);
    // Billing of everything in it stopped; its usage stays on the ledger.
    const open = await kernel.db.selectFrom('metering_intervals').select('resource_id').where('scope', '=', S).where('ended_at', 'is', null).execute();
    expect(open).toEqual([]);
    expect((await kernel.db.selectFrom('metering_intervals').select('resource_id').where('scope', '=', S).execute()).length).toBeGreaterThan(0);
    const counters = await kernel.db.selectFrom('counters').select('key').where('key', 'like', `%${S}`).execute();
    expect(counters).toEqual([]);
  });

  it('gives a store from before VPC networks its default networks, with the ids and addresses its VMs already show', async () => {
    const kernel = h.hangar.kernel;
    const vms = `/projects/${P}/compute/vms/instances`;
    const old = await succeeds(h, c, Families.vms, c.post(vms, { name: 'veteran', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY }));
    const nic = old.network_interfaces[0];
    const address = nic.ips[0].private_ipv4.address;
    // Make the store look as the compute-only release left it: no network rows, the VM's
    // address leased from the location's pool.
    await kernel.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('crusoe_vpc_subnets').where('project_id', '=', P).execute();
      await trx.deleteFrom('crusoe_vpc_networks').where('project_id', '=', P).execute();
      await trx.deleteFrom('ip_pools').where('name', '=', `crusoe:subnet:${nic.subnet}`).execute();
      await trx.updateTable('ip_leases').set({ pool: `crusoe:${LOCATION}:private` }).where('owner', '=', old.id).where('pool', '=', `crusoe:subnet:${nic.subnet}`).execute();
    });
    expect((await c.get(`/projects/${P}/networking/vpc-networks`)).body.items).toEqual([]);
    await kernel.seed(); // what a start-up runs
    const networks = (await c.get(`/projects/${P}/networking/vpc-networks`)).body.items;
    expect(networks.map((n: any) => n.id)).toEqual([nic.network]);
    expect(networks[0].subnets).toContain(nic.subnet);
    expect((await c.get(`${vms}/${old.id}`)).body.network_interfaces[0].ips[0].private_ipv4.address).toBe(address);
    const leases = await kernel.db.selectFrom('ip_leases').select('pool').where('owner', '=', old.id).execute();
    expect(leases.map((l) => l.pool).sort()).toEqual([`crusoe:subnet:${nic.subnet}`, `crusoe:${LOCATION}:public`]);
    // Later VMs of that subnet never get the veteran's address.
    for (let i = 0; i < 3; i++) {
      const fresh = await succeeds(h, c, Families.vms, c.post(vms, { name: `rookie-${i}`, type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY }));
      const mine = fresh.network_interfaces[0].ips[0].private_ipv4.address;
      expect(mine).not.toBe(address);
      expect(inCidr(mine, '172.27.0.0/16')).toBe(true);
    }
    // An imported document from that time gets them too (the recount after an import).
    const doc = await kernel.state.export();
    delete doc.tables.crusoe_vpc_subnets;
    delete doc.tables.crusoe_vpc_networks;
    doc.tables.counters = (doc.tables.counters ?? []).filter((r: any) => !String(r.key).startsWith('crusoe.project.vpc_networks:'));
    await kernel.importState(doc);
    expect((await c.get(`/projects/${P}/networking/vpc-networks`)).body.items.map((n: any) => n.id)).toEqual([nic.network]);
    expect((await c.get(`/organizations/projects/${P}`)).body.resources.vpc_networks).toEqual({ count: 1 });
  });

  it('answers every nasty body on every new writing route with a 4xx Crusoe error, never a 500', async () => {
    const N = `/projects/${P}/networking`;
    const S = `/projects/${P}/storage`;
    const net = (await c.post(`${N}/vpc-networks`, { name: 'nasty', cidr: '10.60.0.0/16' })).body.network;
    const subnet = (await c.post(`${N}/vpc-subnets`, { name: 'nasty', cidr: '10.60.1.0/24', location: LOCATION, vpc_network_id: net.id })).body.subnet;
    const disk = await succeeds(h, c, Families.disks, c.post(`${S}/disks`, { name: 'nasty', size: '10GiB', location: LOCATION }));
    const rule = await succeeds(
      h,
      c,
      Families.firewallRules,
      c.post(`${N}/vpc-firewall-rules`, { name: 'nasty', vpc_network_id: net.id, action: 'allow', direction: 'ingress', protocols: ['tcp'], sources: [{ cidr: '0.0.0.0/0' }], destinations: [{ cidr: '0.0.0.0/0' }] }),
    );
    const lb = await succeeds(
      h,
      c,
      Families.loadBalancers,
      c.post(`${N}/internal-load-balancers`, { name: 'nasty', location: LOCATION, algorithm: 'random', protocols: ['tcp'], destinations: [{ cidr: '10.0.0.0/8' }], network_interfaces: [{ subnet: subnet.id }] }),
    );
    const routes: [string, string][] = [
      ['POST', `${S}/disks`],
      ['PATCH', `${S}/disks/${disk.id}`],
      ['POST', `${S}/snapshots`],
      ['POST', `${N}/vpc-networks`],
      ['PATCH', `${N}/vpc-networks/${net.id}`],
      ['POST', `${N}/vpc-subnets`],
      ['PATCH', `${N}/vpc-subnets/${subnet.id}`],
      ['POST', `${N}/vpc-firewall-rules`],
      ['PATCH', `${N}/vpc-firewall-rules/${rule.id}`],
      ['POST', `${N}/internal-load-balancers`],
      ['PATCH', `${N}/load-balancers/${lb.id}`],
    ];
    for (const [method, path] of routes) {
      for (const body of NASTY) {
        const raw = typeof body === 'string' && body.startsWith('RAW:') ? body.slice(4) : JSON.stringify(body);
        const res = await c.request(method, path, undefined, { raw });
        const where = `${method} ${path} ${JSON.stringify(body)} → ${res.status} ${res.text}`;
        expect(res.status, where).toBeLessThan(500);
        if (res.status >= 400) {
          expect(Object.keys(res.body).sort(), where).toEqual(['code', 'error_id', 'message', 'reason']);
          expect(res.body.code, where).toBe(String(res.status));
        } else if (res.body?.operation) {
          // A body that was good enough started an operation: let it finish before the next.
          await awaitOp(h, c, path.includes('/storage/disks') ? Families.disks : path.includes('vpc-networks') ? Families.networks : path.includes('vpc-subnets') ? Families.subnets : path.includes('firewall') ? Families.firewallRules : Families.loadBalancers, res.body.operation);
        }
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    for (const [path, query] of [
      [`${S}/disks`, 'disk_ids=,,&exclude_os=maybe'],
      [`${S}/disks`, 'location=%00'],
      [`${S}/disks/%00`, ''],
      [`/projects/%00/storage/disks`, ''],
      [`${N}/vpc-subnets/operations/%00`, ''],
      [`${N}/vpc-firewall-rules/operations`, 'state=NOPE'],
      [`/organizations/${c.credentials.organization_id}/usage`, 'start_date=2026-13-01&end_date=x'],
      [`/organizations/${c.credentials.organization_id}/usage/export`, 'start_date=1900-01-01&end_date=2100-01-01'],
    ] as const) {
      const res = await c.get(path, { rawQuery: query });
      expect(res.status, `${path}?${query} → ${res.status} ${res.text}`).toBeLessThan(500);
    }
  });
});
