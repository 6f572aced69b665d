import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, expectCrusoeError, type CrusoeClient } from '../helpers/crusoe.js';
import { awaitOp, Families, inCidr, succeeds } from './support.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();

describe('Crusoe networking workflow: VPC network, subnets, firewall rule, VMs, load balancer, and back', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let N: string;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    N = `/projects/${c.projectId}/networking`;
  });
  afterAll(() => h.close());

  it('builds a network up, refuses every delete while something depends on it, then tears it down in reverse', async () => {
    const P = c.projectId;
    const vms = `/projects/${P}/compute/vms/instances`;

    // --- a network (created at once) --------------------------------------------------------
    const created = await c.post(`${N}/vpc-networks`, { name: 'prod', cidr: '10.20.0.0/16' });
    expect(created.status, created.text).toBe(200);
    const net = created.body.network;
    expect(net).toMatchObject({ name: 'prod', cidr: '10.20.0.0/16', subnets: [] });
    expect(net.gateway).toMatch(/^[0-9a-f-]{36}$/);
    expect((await c.get(`${N}/vpc-networks`)).body.items.map((n: any) => n.name)).toEqual(['default-ethernet', 'prod']);

    // --- two subnets in it; an overlapping third is refused --------------------------------
    // The seed's body (no nat_gateway_enabled), then today's (with it).
    const app = (await c.post(`${N}/vpc-subnets`, { name: 'app', cidr: '10.20.1.0/24', location: LOCATION, vpc_network_id: net.id })).body.subnet;
    expect(app).toMatchObject({ name: 'app', cidr: '10.20.1.0/24', location: LOCATION, vpc_network_id: net.id, nat_gateways: [] });
    const dbRes = await c.post(`${N}/vpc-subnets`, { name: 'db', cidr: '10.20.2.0/24', location: LOCATION, vpc_network_id: net.id, nat_gateway_enabled: false });
    expect(dbRes.status, dbRes.text).toBe(200);
    const db = dbRes.body.subnet;
    expectCrusoeError(
      await c.post(`${N}/vpc-subnets`, { name: 'greedy', cidr: '10.20.1.128/25', location: LOCATION, vpc_network_id: net.id }),
      409,
      'conflict',
      `"cidr": 10.20.1.128/25 overlaps subnet "app" (${app.id}, 10.20.1.0/24) of this VPC network`,
    );
    expectCrusoeError(
      await c.post(`${N}/vpc-subnets`, { name: 'wide', cidr: '10.20.0.0/16', location: LOCATION, vpc_network_id: net.id }),
      409,
      'conflict',
      'overlaps subnet "app"',
    );
    expect((await c.get(`${N}/vpc-networks/${net.id}`)).body.subnets).toEqual([app.id, db.id]);
    expect((await c.get(`${N}/vpc-subnets/${db.id}`)).body).toEqual(db);

    // --- a firewall rule allowing 22/tcp from a CIDR into the app subnet --------------------
    const ruleRes = await c.post(`${N}/vpc-firewall-rules`, {
      name: 'ssh-in',
      vpc_network_id: net.id,
      action: 'allow',
      direction: 'ingress',
      protocols: ['tcp'],
      destination_ports: ['22'],
      sources: [{ cidr: '203.0.113.0/24' }],
      destinations: [{ resource_id: app.id }],
    });
    expect(ruleRes.status, ruleRes.text).toBe(200);
    const ruleId = ruleRes.body.operation.metadata.id;
    // Its state follows its lifecycle: inactive until created.
    expect((await c.get(`${N}/vpc-firewall-rules/${ruleId}`)).body.state).toBe('inactive');
    const rule = (await awaitOp(h, c, Families.firewallRules, ruleRes.body.operation)).result;
    expect(rule).toEqual({
      id: ruleId,
      name: 'ssh-in',
      vpc_network_id: net.id,
      action: 'allow',
      direction: 'ingress',
      protocols: ['tcp'],
      source_ports: [],
      destination_ports: ['22'],
      sources: [{ cidr: '203.0.113.0/24' }],
      destinations: [{ resource_id: app.id }],
      state: 'active',
    });
    expect((await c.get(`${N}/vpc-firewall-rules`)).body.items).toEqual([rule]);

    // --- two VMs in the app subnet: addresses inside it, never the same ---------------------
    const vmIn = async (name: string) =>
      succeeds(h, c, Families.vms, c.post(vms, { name, type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY, network_interfaces: [{ subnet: app.id }] }));
    const web1 = await vmIn('web-1');
    const web2 = await vmIn('web-2');
    const addresses = [web1, web2].map((v) => v.network_interfaces[0].ips[0].private_ipv4.address);
    for (const [vm, address] of [
      [web1, addresses[0]],
      [web2, addresses[1]],
    ]) {
      expect(vm.network_interfaces[0]).toMatchObject({ network: net.id, subnet: app.id });
      expect(inCidr(address, '10.20.1.0/24'), address).toBe(true);
    }
    expect(new Set(addresses).size).toBe(2);
    // A subnet whose address pool is not in the store (an account imported from another
    // Hangar brings its subnets and leases, not the installation's pool rows) gets it back
    // on its next VM's boot, from the subnet's CIDR, and hands out none of the leased addresses.
    const { db: store } = h.hangar.kernel;
    await store.deleteFrom('ip_pools').where('name', '=', `crusoe:subnet:${app.id}`).execute();
    const web3 = await vmIn('web-3');
    const third = web3.network_interfaces[0].ips[0].private_ipv4.address;
    expect(inCidr(third, '10.20.1.0/24'), third).toBe(true);
    expect(addresses).not.toContain(third);
    expect(await store.selectFrom('ip_pools').select('cidr').where('name', '=', `crusoe:subnet:${app.id}`).execute()).toEqual([{ cidr: '10.20.1.0/24' }]);
    await succeeds(h, c, Families.vms, c.delete(`${vms}/${web3.id}`));
    // A VM naming a subnet of another location, or a network the subnet is not in, is refused.
    expectCrusoeError(
      await c.post(vms, { name: 'lost', type: 'c1a.2x', location: 'us-northcentral1-a', ssh_public_key: KEY, network_interfaces: [{ subnet: app.id }] }),
      400,
      'bad_request',
      `"network_interfaces.0.subnet": VPC subnet "${app.id}" is in us-east1-a, not in us-northcentral1-a`,
    );

    // --- a load balancer in front of both, its address allocated in the subnet --------------
    const lbBody = {
      name: 'web',
      location: LOCATION,
      algorithm: 'round_robin',
      protocols: ['tcp'],
      destinations: [{ resource_id: web1.id }, { resource_id: web2.id }],
      network_interfaces: [{ network: net.id, subnet: app.id }],
      health_check: { port: '8080', interval: '10', timeout: '5', success_count: '2', failure_count: '3' },
      type: 'internal_ipv4',
    };
    const lbRes = await c.post(`${N}/internal-load-balancers`, lbBody);
    expect(lbRes.status, lbRes.text).toBe(200);
    const lbId = lbRes.body.operation.metadata.id;
    const lb = (await awaitOp(h, c, Families.loadBalancers, lbRes.body.operation)).result;
    expect(lb).toMatchObject({
      id: lbId,
      name: 'web',
      location: LOCATION,
      algorithm: 'round_robin',
      protocols: ['tcp'],
      type: 'internal_ipv4',
      destinations: [{ resource_id: web1.id }, { resource_id: web2.id }],
      network_interfaces: [{ network: net.id, subnet: app.id }],
      health_check: lbBody.health_check,
    });
    const vip = lb.ips[0].private_ipv4.address;
    expect(inCidr(vip, '10.20.1.0/24')).toBe(true);
    expect(addresses).not.toContain(vip);
    // One resource, served at both paths.
    expect((await c.get(`${N}/load-balancers/${lbId}`)).body).toEqual(lb);
    expect((await c.get(`${N}/load-balancers`)).body.items).toEqual([lb]);

    // --- delete in reverse order: each refused while something depends on it ----------------
    expectCrusoeError(
      await c.delete(`${N}/vpc-networks/${net.id}`),
      409,
      'conflict',
      `VPC network "${net.id}" is in use: it still has subnets ("${app.id}", "${db.id}"); delete them first`,
    );
    expectCrusoeError(await c.delete(`${N}/vpc-subnets/${app.id}`), 409, 'conflict', `VPC subnet "${app.id}" is in use: VM "${web1.id}" has its network interface in it`);
    expectCrusoeError(
      await c.delete(`${vms}/${web1.id}`),
      409,
      'conflict',
      `VM "${web1.id}" is in use: load balancer "${lbId}" names it; change or delete the load balancer first`,
    );
    await succeeds(h, c, Families.loadBalancers, c.delete(`${N}/internal-load-balancers/${lbId}`));
    expectCrusoeError(await c.get(`${N}/internal-load-balancers/${lbId}`), 404, 'not_found', `load balancer "${lbId}" not found`);

    for (const vm of [web1, web2]) await succeeds(h, c, Families.vms, c.delete(`${vms}/${vm.id}`));
    expectCrusoeError(
      await c.delete(`${N}/vpc-subnets/${app.id}`),
      409,
      'conflict',
      `VPC subnet "${app.id}" is in use: firewall rule "${ruleId}" names it; change or delete the firewall rule first`,
    );

    const ruleDelete = await c.delete(`${N}/vpc-firewall-rules/${ruleId}`);
    expect(ruleDelete.status, ruleDelete.text).toBe(200);
    expect((await c.get(`${N}/vpc-firewall-rules/${ruleId}`)).body.state).toBe('inactive');
    await awaitOp(h, c, Families.firewallRules, ruleDelete.body.operation);
    expect((await c.get(`${N}/vpc-firewall-rules`)).body.items).toEqual([]);

    expectCrusoeError(await c.delete(`${N}/vpc-networks/${net.id}`), 409, 'conflict', 'it still has subnets');
    for (const subnet of [app, db]) await succeeds(h, c, Families.subnets, c.delete(`${N}/vpc-subnets/${subnet.id}`));
    expect((await c.get(`${N}/vpc-networks/${net.id}`)).body.subnets).toEqual([]);
    await succeeds(h, c, Families.networks, c.delete(`${N}/vpc-networks/${net.id}`));
    expectCrusoeError(await c.get(`${N}/vpc-networks/${net.id}`), 404, 'not_found', `VPC network "${net.id}" not found`);
    expect((await c.get(`${N}/vpc-networks`)).body.items.map((n: any) => n.name)).toEqual(['default-ethernet']);
    // The subnet's addresses went with it.
    const pools = await h.hangar.kernel.db.selectFrom('ip_pools').select('name').where('name', 'like', `crusoe:subnet:${app.id}`).execute();
    expect(pools).toEqual([]);
  });
});
