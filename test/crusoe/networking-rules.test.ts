import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, expectCrusoeError, newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';
import { awaitOp, Families, inCidr, succeeds } from './support.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();

describe('Crusoe networking rules: CIDRs, defaults, firewall rules, load balancers, tenancy', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let P: string;
  let N: string;
  let net: any;
  let subnet: any;
  let vm: any;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    P = c.projectId;
    N = `/projects/${P}/networking`;
    net = (await c.post(`${N}/vpc-networks`, { name: 'lab', cidr: '192.168.0.0/16' })).body.network;
    subnet = (await c.post(`${N}/vpc-subnets`, { name: 'lab-east', cidr: '192.168.10.0/24', location: LOCATION, vpc_network_id: net.id })).body.subnet;
    vm = await succeeds(h, c, Families.vms, c.post(`/projects/${P}/compute/vms/instances`, { name: 'target', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY, network_interfaces: [{ network: net.id, subnet: subnet.id }] }));
  });
  afterAll(() => h.close());

  it('gives every project a default network with a default subnet per location, which cannot be deleted', async () => {
    const networks = (await c.get(`${N}/vpc-networks`)).body.items as any[];
    const def = networks.find((n) => n.name === 'default-ethernet');
    expect(def.cidr).toBe('172.24.0.0/13');
    const subnets = (await c.get(`${N}/vpc-subnets`)).body.items.filter((s: any) => s.vpc_network_id === def.id) as any[];
    expect(subnets.map((s) => [s.name, s.location, s.cidr])).toEqual([
      ['default-us-east1-a', 'us-east1-a', '172.27.0.0/16'],
      ['default-us-northcentral1-a', 'us-northcentral1-a', '172.28.0.0/16'],
      ['default-us-southcentral1-a', 'us-southcentral1-a', '172.29.0.0/16'],
      ['default-eu-iceland1-a', 'eu-iceland1-a', '172.30.0.0/16'],
    ]);
    expect(def.subnets).toEqual(subnets.map((s) => s.id));
    expectCrusoeError(await c.delete(`${N}/vpc-networks/${def.id}`), 409, 'conflict', `VPC network "${def.id}" is the project's default network and cannot be deleted`);
    expectCrusoeError(await c.delete(`${N}/vpc-subnets/${subnets[0].id}`), 409, 'conflict', `is the project's default subnet in us-east1-a and cannot be deleted`);
    // A VM that names no subnet lands in the default one of its location; so does one naming only the default network.
    const plain = await succeeds(h, c, Families.vms, c.post(`/projects/${P}/compute/vms/instances`, { name: 'plain', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY }));
    expect(plain.network_interfaces[0]).toMatchObject({ network: def.id, subnet: subnets[0].id });
    expect(inCidr(plain.network_interfaces[0].ips[0].private_ipv4.address, '172.27.0.0/16')).toBe(true);
    expect((await c.get(`/organizations/projects/${P}`)).body.resources.vpc_networks).toEqual({ count: 2 });
    // A new project starts with its own.
    const other = await c.post('/organizations/projects', { name: 'second', organization_id: c.credentials.organization_id });
    const list = (await c.get(`/projects/${other.body.project.id}/networking/vpc-networks`)).body.items;
    expect(list.map((n: any) => n.name)).toEqual(['default-ethernet']);
    expect(list[0].id).not.toBe(def.id);
    expect(other.body.project.resources.vpc_networks).toEqual({ count: 1 });
  });

  it('validates network and subnet CIDRs, names and locations', async () => {
    const bad = async (body: Record<string, unknown>, status: number, reason: string, message: string) =>
      expectCrusoeError(await c.post(`${N}/vpc-networks`, { name: 'n', ...body }), status, reason, message);
    await bad({ cidr: '10.0.0.0/33' }, 400, 'bad_request', '"cidr" must be an IPv4 CIDR such as "10.0.0.0/16" (got "10.0.0.0/33")');
    await bad({ cidr: '10.0.0.0' }, 400, 'bad_request', '"cidr" must be an IPv4 CIDR');
    await bad({ cidr: '300.0.0.0/8' }, 400, 'bad_request', '"cidr" must be an IPv4 CIDR');
    await bad({ cidr: '10.0.0.1/16' }, 400, 'bad_request', '"cidr": "10.0.0.1/16" has host bits set; the block\'s address is 10.0.0.0/16');
    await bad({ cidr: '10.0.0.0/30' }, 400, 'bad_request', '"cidr": the prefix length must be between /8 and /28 (got /30)');
    await bad({ cidr: '10.0.0.0/4' }, 400, 'bad_request', 'between /8 and /28 (got /4)');
    await bad({ cidr: '127.0.0.0/8' }, 400, 'bad_request', '"cidr": 127.0.0.0/8 is a reserved range');
    await bad({ cidr: '169.254.0.0/16' }, 400, 'bad_request', 'is a reserved range');
    await bad({ cidr: '224.0.0.0/8' }, 400, 'bad_request', 'is a reserved range');
    await bad({ name: 'no spaces', cidr: '10.0.0.0/16' }, 400, 'bad_request', '"name" must be 1 to 63 letters');
    await bad({ cidr: 16 }, 400, 'bad_request', '"cidr" must be a string');
    expectCrusoeError(await c.post(`${N}/vpc-networks`, { name: 'x' }), 400, 'bad_request', '"cidr" is required');
    await bad({ name: 'lab', cidr: '10.0.0.0/16' }, 409, 'conflict', 'a VPC network named "lab" already exists in this project');
    // Networks may overlap one another (they are isolated); the seed's own example overlaps the default network.
    const seedExample = await c.post(`${N}/vpc-networks`, { cidr: '172.27.0.0/16', name: 'my-cool-vpc-network' });
    expect(seedExample.status, seedExample.text).toBe(200);

    const sub = async (body: Record<string, unknown>, status: number, reason: string, message: string) =>
      expectCrusoeError(await c.post(`${N}/vpc-subnets`, { name: 's', cidr: '192.168.20.0/24', location: LOCATION, vpc_network_id: net.id, ...body }), status, reason, message);
    const missing = randomUUID();
    await sub({ vpc_network_id: missing }, 400, 'bad_request', `"vpc_network_id": VPC network "${missing}" not found in this project`);
    await sub({ location: 'mars-1a' }, 400, 'bad_request', '"location": "mars-1a" is not a location');
    await sub({ cidr: '10.9.0.0/24' }, 400, 'bad_request', '"cidr": 10.9.0.0/24 is not inside the VPC network\'s 192.168.0.0/16');
    await sub({ cidr: '192.168.20.0/30' }, 400, 'bad_request', 'between /8 and /29 (got /30)');
    await sub({ cidr: '192.168.20.1/24' }, 400, 'bad_request', 'has host bits set');
    await sub({ cidr: '192.168.10.128/26' }, 409, 'conflict', `overlaps subnet "lab-east" (${subnet.id}, 192.168.10.0/24)`);
    await sub({ name: 'lab-east' }, 409, 'conflict', 'a subnet named "lab-east" already exists in this VPC network');
    await sub({ nat_gateway_enabled: 'yes' }, 400, 'bad_request', '"nat_gateway_enabled" must be a boolean');
    expectCrusoeError(await c.post(`${N}/vpc-subnets`, { name: 's', cidr: '192.168.20.0/24', vpc_network_id: net.id }), 400, 'bad_request', '"location" is required');
    // Unknown ids: 404 for the resource, 403 for an operation.
    expectCrusoeError(await c.get(`${N}/vpc-networks/${missing}`), 404, 'not_found', `VPC network "${missing}" not found`);
    expectCrusoeError(await c.delete(`${N}/vpc-subnets/${missing}`), 404, 'not_found', `VPC subnet "${missing}" not found`);
    expectCrusoeError(await c.get(`${N}/vpc-subnets/operations/${missing}`), 403, 'unauthorized', `operation "${missing}"`);
  });

  it('renames networks and subnets and switches NAT gateways through operations', async () => {
    const nat = await c.post(`${N}/vpc-subnets`, { name: 'egress', cidr: '192.168.30.0/24', location: LOCATION, vpc_network_id: net.id, nat_gateway_enabled: true });
    expect(nat.status, nat.text).toBe(200);
    const gateway = nat.body.subnet.nat_gateways[0];
    expect(gateway.public_ipv4_address).toMatch(/^100\.120\.\d+\.\d+$/);
    const rename = await c.patch(`${N}/vpc-subnets/${nat.body.subnet.id}`, { name: 'egress-2', nat_gateway_action: 'disable' });
    expect(rename.status, rename.text).toBe(200);
    expectCrusoeError(await c.patch(`${N}/vpc-subnets/${nat.body.subnet.id}`, { name: 'again' }), 409, 'conflict', 'has an operation in progress');
    const renamed = (await awaitOp(h, c, Families.subnets, rename.body.operation)).result;
    expect(renamed).toMatchObject({ id: nat.body.subnet.id, name: 'egress-2', nat_gateways: [] });
    // A disabled gateway's public address goes back to the location's pool.
    const natLeases = () => h.hangar.kernel.db.selectFrom('ip_leases').select('address').where('owner', '=', nat.body.subnet.id).where('pool', 'like', 'crusoe:%:public').execute();
    expect(await natLeases()).toEqual([]);
    expectCrusoeError(await c.patch(`${N}/vpc-subnets/${nat.body.subnet.id}`, { nat_gateway_action: 'enable' }), 400, 'bad_request', '"name" is required');
    expectCrusoeError(await c.patch(`${N}/vpc-subnets/${nat.body.subnet.id}`, { name: 'lab-east' }), 409, 'conflict', 'a subnet named "lab-east" already exists');
    const enabled = await succeeds(h, c, Families.subnets, c.patch(`${N}/vpc-subnets/${nat.body.subnet.id}`, { name: 'egress-2', nat_gateway_action: 'enable' }));
    expect(enabled.nat_gateways).toHaveLength(1);
    expect(await natLeases()).toHaveLength(1);

    const renamedNet = await succeeds(h, c, Families.networks, c.patch(`${N}/vpc-networks/${net.id}`, { name: 'laboratory' }));
    expect(renamedNet).toMatchObject({ id: net.id, name: 'laboratory', cidr: '192.168.0.0/16' });
    expect(renamedNet.subnets).toContain(subnet.id);
    expectCrusoeError(await c.patch(`${N}/vpc-networks/${net.id}`, { name: 'default-ethernet' }), 409, 'conflict', 'a VPC network named "default-ethernet" already exists');
    expectCrusoeError(await c.patch(`${N}/vpc-networks/${net.id}`, {}), 400, 'bad_request', '"name" is required');
    await succeeds(h, c, Families.subnets, c.delete(`${N}/vpc-subnets/${nat.body.subnet.id}`));
  });

  it('validates firewall rules: actions, directions, protocols, ports and ranges, CIDRs and resource ids', async () => {
    const rules = `${N}/vpc-firewall-rules`;
    const base = {
      name: 'r',
      vpc_network_id: net.id,
      action: 'allow',
      direction: 'ingress',
      protocols: ['tcp'],
      sources: [{ cidr: '0.0.0.0/0' }],
      destinations: [{ cidr: '192.168.10.0/24' }],
    };
    const bad = async (body: Record<string, unknown>, status: number, reason: string, message: string) =>
      expectCrusoeError(await c.post(rules, { ...base, ...body }), status, reason, message);
    await bad({ action: 'maybe' }, 400, 'bad_request', '"action" must be one of: allow, deny');
    await bad({ direction: 'sideways' }, 400, 'bad_request', '"direction" must be one of: ingress, egress');
    await bad({ protocols: ['tcp', 'sctp'] }, 400, 'bad_request', '"protocols.1" must be one of: tcp, udp, icmp, all (got "sctp")');
    await bad({ protocols: [] }, 400, 'bad_request', '"protocols" must name at least one protocol');
    await bad({ protocols: ['tcp', 'TCP'] }, 400, 'bad_request', '"protocols" names "tcp" more than once');
    for (const port of ['0', '65536', '8080-80', 'http', '22-', '1-2-3']) {
      await bad({ destination_ports: ['443', port] }, 400, 'bad_request', `"destination_ports.1" must be a port (1-65535) or a range such as "3000-8080" (got "${port}")`);
    }
    await bad({ source_ports: ['x'] }, 400, 'bad_request', '"source_ports.0" must be a port');
    await bad({ protocols: ['icmp'], destination_ports: ['22'] }, 400, 'bad_request', '"destination_ports": ports apply to tcp and udp only');
    await bad({ sources: [] }, 400, 'bad_request', '"sources" must hold at least one CIDR or resource id');
    await bad({ sources: [{}] }, 400, 'bad_request', '"sources.0": give a "cidr" (e.g. "10.0.0.0/16") or a "resource_id"');
    await bad({ destinations: [{ cidr: '10.0.0.0/33', resource_id: vm.id }] }, 400, 'bad_request', '"destinations.0.cidr" must be an IPv4 CIDR');
    await bad({ sources: [{ cidr: '10.0.0.0/40' }] }, 400, 'bad_request', '"sources.0.cidr" must be an IPv4 CIDR');
    const missing = randomUUID();
    await bad({ destinations: [{ resource_id: missing }] }, 400, 'bad_request', `"destinations.0.resource_id": no VM, VPC subnet, VPC network or load balancer "${missing}" in this project`);
    await bad({ vpc_network_id: missing }, 400, 'bad_request', `"vpc_network_id": VPC network "${missing}" not found in this project`);
    await bad({ name: undefined }, 400, 'bad_request', '"name" is required');

    // The seed's sample, bracketed strings and all, is taken as the lists it means.
    const seedSample = await c.post(rules, {
      ...base,
      name: 'seed-sample',
      destination_ports: '[80, 443, 3000-8080]',
      protocols: '[tcp, udp]',
      source_ports: '[80, 443, 3000-8080]',
      sources: [{ cidr: '10.1.2.3/24' }],
      destinations: [{ resource_id: vm.id }],
    });
    expect(seedSample.status, seedSample.text).toBe(200);
    const rule = (await awaitOp(h, c, Families.firewallRules, seedSample.body.operation)).result;
    expect(rule).toMatchObject({ protocols: ['tcp', 'udp'], destination_ports: ['80', '443', '3000-8080'], source_ports: ['80', '443', '3000-8080'], state: 'active' });
    await bad({ name: 'seed-sample' }, 409, 'conflict', 'a firewall rule named "seed-sample" already exists in this VPC network');
    // The VM it names cannot go while it stands.
    expectCrusoeError(
      await c.delete(`/projects/${P}/compute/vms/instances/${vm.id}`),
      409,
      'conflict',
      `VM "${vm.id}" is in use: firewall rule "${rule.id}" names it; change or delete the firewall rule first`,
    );
    // PATCH replaces what it sends, when its operation completes.
    const patch = await c.patch(`${rules}/${rule.id}`, { destinations: [{ cidr: '192.168.10.0/24' }], protocols: ['udp'], destination_ports: ['53'] });
    expect(patch.status, patch.text).toBe(200);
    expect((await c.get(`${rules}/${rule.id}`)).body.protocols).toEqual(['tcp', 'udp']);
    const patched = (await awaitOp(h, c, Families.firewallRules, patch.body.operation)).result;
    expect(patched).toMatchObject({ name: 'seed-sample', protocols: ['udp'], destination_ports: ['53'], source_ports: ['80', '443', '3000-8080'], destinations: [{ cidr: '192.168.10.0/24' }], state: 'active' });
    expectCrusoeError(await c.patch(`${rules}/${rule.id}`, {}), 400, 'bad_request', 'the request changes nothing');
    expectCrusoeError(await c.patch(`${rules}/${rule.id}`, { protocols: ['icmp'] }), 400, 'bad_request', '"source_ports": ports apply to tcp and udp only');
    expectCrusoeError(await c.get(`${rules}/${missing}`), 404, 'not_found', `firewall rule "${missing}" not found`);
    // The VM is free again; the network is not while the rule is in it.
    expectCrusoeError(await c.delete(`${N}/vpc-networks/${net.id}`), 409, 'conflict', 'it still has subnets');
    await succeeds(h, c, Families.firewallRules, c.delete(`${rules}/${rule.id}`));
  });

  it('validates load balancers and serves them at both paths, health checking off with "port": 0', async () => {
    const lbs = `${N}/internal-load-balancers`;
    const base = {
      name: 'lb',
      location: LOCATION,
      algorithm: 'random',
      protocols: ['tcp'],
      destinations: [{ resource_id: vm.id }],
      network_interfaces: [{ network: net.id, subnet: subnet.id }],
    };
    const bad = async (body: Record<string, unknown>, status: number, reason: string, message: string) =>
      expectCrusoeError(await c.post(lbs, { ...base, ...body }), status, reason, message);
    await bad({ algorithm: 'fastest' }, 400, 'bad_request', '"algorithm" must be one of: random, round_robin, least_connections (got "fastest")');
    await bad({ protocols: ['icmp'] }, 400, 'bad_request', '"protocols.0" must be one of: tcp, udp (got "icmp")');
    await bad({ type: 'external_ipv6' }, 400, 'bad_request', '"type" must be one of: internal_ipv4 (got "external_ipv6")');
    await bad({ location: 'mars-1a' }, 400, 'bad_request', '"location": "mars-1a" is not a location');
    await bad({ network_interfaces: [] }, 400, 'bad_request', '"network_interfaces" must hold exactly one interface');
    await bad({ network_interfaces: [{ subnet: subnet.id }, { subnet: subnet.id }] }, 400, 'bad_request', '"network_interfaces" must hold exactly one interface');
    await bad({ location: 'us-northcentral1-a', destinations: [] , network_interfaces: [{ subnet: subnet.id }] }, 400, 'bad_request', `"network_interfaces.0.subnet": VPC subnet "${subnet.id}" is in us-east1-a, not in us-northcentral1-a`);
    const missing = randomUUID();
    await bad({ network_interfaces: [{ network: missing, subnet: subnet.id }] }, 400, 'bad_request', `"network_interfaces.0.network": VPC subnet "${subnet.id}" belongs to VPC network "${net.id}", not "${missing}"`);
    await bad({ destinations: [] }, 400, 'bad_request', '"destinations" must hold at least one VM (resource_id) or CIDR');
    await bad({ destinations: [{ resource_id: missing }] }, 400, 'bad_request', `"destinations.0.resource_id": VM "${missing}" not found in this project`);
    await bad({ destinations: [{ resource_id: vm.id }, { resource_id: vm.id }] }, 400, 'bad_request', `"destinations" names ${vm.id} more than once`);
    await bad({ destinations: [{ cidr: '10.0.0.0/33', resource_id: vm.id }] }, 400, 'bad_request', '"destinations.0.cidr" must be an IPv4 CIDR');
    await bad({ health_check: { port: 70000 } }, 400, 'bad_request', '"health_check.port" must be a whole number from 0 to 65535 (got 70000)');
    await bad({ health_check: { port: '8080', interval: '5', timeout: '20' } }, 400, 'bad_request', '"health_check.timeout" (20) must not exceed "health_check.interval" (5)');
    await bad({ health_check: { interval: '5' } }, 400, 'bad_request', '"health_check.port" is required');
    await bad({ health_check: { port: 'eighty' } }, 400, 'bad_request', '"health_check.port" must be a whole number');
    const far = await succeeds(h, c, Families.vms, c.post(`/projects/${P}/compute/vms/instances`, { name: 'far', type: 'c1a.2x', location: 'us-northcentral1-a', ssh_public_key: KEY }));
    await bad({ destinations: [{ resource_id: far.id }] }, 400, 'bad_request', `"destinations.0.resource_id": VM "${far.id}" is in us-northcentral1-a, the load balancer in us-east1-a`);

    // The seed's sample body at the seed-era path: strings for lists, the typo'd type, numbers as strings.
    const seedEra = await c.post(`${N}/load-balancers`, {
      ...base,
      name: 'seed-lb',
      protocols: '[tcp]',
      type: 'internal_ipv4,',
      destinations: [{ cidr: '10.1.2.3/24' }, { resource_id: vm.id }],
      health_check: { failure_count: '3', interval: '60', port: '8080', success_count: '2', timeout: '20' },
    });
    expect(seedEra.status, seedEra.text).toBe(200);
    // Polled at either path.
    const done = await awaitOp(h, c, Families.loadBalancersSeedEra, seedEra.body.operation);
    const lb = done.result;
    expect(lb).toMatchObject({ name: 'seed-lb', type: 'internal_ipv4', protocols: ['tcp'], health_check: { port: '8080', interval: '60', timeout: '20', success_count: '2', failure_count: '3' } });
    expect(inCidr(lb.ips[0].private_ipv4.address, '192.168.10.0/24')).toBe(true);
    expect(lb.ips[0].public_ipv4).toEqual({ address: '', id: '', type: '' });
    expect((await c.get(`${lbs}/${lb.id}`)).body).toEqual(lb);
    await bad({ name: 'seed-lb' }, 409, 'conflict', 'a load balancer named "seed-lb" already exists in this project');
    // A bare health check port gets default timings; port 0 turns it off.
    const off = await succeeds(h, c, Families.loadBalancers, c.patch(`${N}/load-balancers/${lb.id}`, { health_check: { port: 0 } }));
    expect(off.health_check).toEqual({ port: '0' });
    const on = await succeeds(h, c, Families.loadBalancers, c.patch(`${lbs}/${lb.id}`, { health_check: { port: 443 }, name: 'seed-lb-2', destinations: [{ cidr: '10.1.2.0/24' }] }));
    expect(on).toMatchObject({ name: 'seed-lb-2', health_check: { port: '443', interval: '10', timeout: '5', success_count: '2', failure_count: '3' }, destinations: [{ cidr: '10.1.2.0/24' }] });
    expectCrusoeError(await c.patch(`${lbs}/${lb.id}`, {}), 400, 'bad_request', 'the request changes nothing');
    expectCrusoeError(await c.get(`${lbs}/${missing}`), 404, 'not_found', `load balancer "${missing}" not found`);
    // It no longer names the VM: the VM may go.
    expect((await c.get(`${lbs}`)).body.items.map((l: any) => l.id)).toEqual([lb.id]);
    const del = await c.delete(`${lbs}/${lb.id}`);
    expect((await c.get(`${N}/load-balancers/operations`, { query: { resource_id: lb.id, state: 'IN_PROGRESS' } })).body.items.map((o: any) => o.operation_id)).toEqual([
      del.body.operation.operation_id,
    ]);
    expectCrusoeError(await c.delete(`${lbs}/${lb.id}`), 409, 'conflict', 'is being deleted');
    await awaitOp(h, c, Families.loadBalancers, del.body.operation);
    expect((await c.get(lbs)).body.items).toEqual([]);
  });

  it('refuses to delete what a firewall rule depends on: its network, a load balancer or a network it names', async () => {
    const rules = `${N}/vpc-firewall-rules`;
    const empty = (await c.post(`${N}/vpc-networks`, { name: 'empty', cidr: '10.70.0.0/16' })).body.network;
    const other = (await c.post(`${N}/vpc-networks`, { name: 'named', cidr: '10.71.0.0/16' })).body.network;
    const lb = await succeeds(
      h,
      c,
      Families.loadBalancers,
      c.post(`${N}/internal-load-balancers`, { name: 'named-lb', location: LOCATION, algorithm: 'random', protocols: ['tcp'], destinations: [{ cidr: '10.0.0.0/8' }], network_interfaces: [{}] }),
    );
    const rule = await succeeds(
      h,
      c,
      Families.firewallRules,
      c.post(rules, {
        name: 'names-things',
        vpc_network_id: empty.id,
        action: 'deny',
        direction: 'egress',
        protocols: ['icmp'],
        sources: [{ resource_id: lb.id }],
        destinations: [{ resource_id: other.id }],
      }),
    );
    expectCrusoeError(await c.delete(`${N}/vpc-networks/${empty.id}`), 409, 'conflict', `VPC network "${empty.id}" is in use: firewall rule "${rule.id}" belongs to it; delete the firewall rule first`);
    expectCrusoeError(await c.delete(`${N}/vpc-networks/${other.id}`), 409, 'conflict', `VPC network "${other.id}" is in use: firewall rule "${rule.id}" names it`);
    expectCrusoeError(await c.delete(`${N}/internal-load-balancers/${lb.id}`), 409, 'conflict', `load balancer "${lb.id}" is in use: firewall rule "${rule.id}" names it`);
    // While its deletion is in progress it still stands; once gone, all may go.
    const del = await c.delete(`${rules}/${rule.id}`);
    expectCrusoeError(await c.patch(`${rules}/${rule.id}`, { name: 'late' }), 409, 'conflict', `firewall rule "${rule.id}" is being deleted`);
    expectCrusoeError(await c.delete(`${N}/vpc-networks/${other.id}`), 409, 'conflict', 'names it');
    await awaitOp(h, c, Families.firewallRules, del.body.operation);
    await succeeds(h, c, Families.loadBalancers, c.delete(`${N}/internal-load-balancers/${lb.id}`));
    for (const n of [empty, other]) await succeeds(h, c, Families.networks, c.delete(`${N}/vpc-networks/${n.id}`));
    // A network being deleted takes no new subnets or rules.
    const doomed = (await c.post(`${N}/vpc-networks`, { name: 'doomed', cidr: '10.72.0.0/16' })).body.network;
    const going = await c.delete(`${N}/vpc-networks/${doomed.id}`);
    expectCrusoeError(
      await c.post(`${N}/vpc-subnets`, { name: 'late', cidr: '10.72.1.0/24', location: LOCATION, vpc_network_id: doomed.id }),
      409,
      'conflict',
      `"vpc_network_id": VPC network "${doomed.id}" is being deleted`,
    );
    expectCrusoeError(await c.patch(`${N}/vpc-networks/${doomed.id}`, { name: 'saved' }), 409, 'conflict', `VPC network "${doomed.id}" is being deleted`);
    await awaitOp(h, c, Families.networks, going.body.operation);
  });

  it("keeps another tenant's networking invisible", async () => {
    const b = await newCrusoeAccount(h, 'net-intruder');
    const rule = await succeeds(
      h,
      c,
      Families.firewallRules,
      c.post(`${N}/vpc-firewall-rules`, { name: 'private', vpc_network_id: net.id, action: 'deny', direction: 'egress', protocols: ['all'], sources: [{ cidr: '0.0.0.0/0' }], destinations: [{ cidr: '0.0.0.0/0' }] }),
    );
    for (const [method, path, body] of [
      ['GET', `${N}/vpc-networks`],
      ['POST', `${N}/vpc-networks`, { name: 'x', cidr: '10.0.0.0/16' }],
      ['GET', `${N}/vpc-networks/${net.id}`],
      ['PATCH', `${N}/vpc-networks/${net.id}`, { name: 'mine' }],
      ['DELETE', `${N}/vpc-networks/${net.id}`],
      ['GET', `${N}/vpc-networks/operations`],
      ['GET', `${N}/vpc-subnets`],
      ['GET', `${N}/vpc-subnets/${subnet.id}`],
      ['DELETE', `${N}/vpc-subnets/${subnet.id}`],
      ['GET', `${N}/vpc-firewall-rules`],
      ['GET', `${N}/vpc-firewall-rules/${rule.id}`],
      ['PATCH', `${N}/vpc-firewall-rules/${rule.id}`, { name: 'mine' }],
      ['GET', `${N}/internal-load-balancers`],
      ['GET', `${N}/load-balancers`],
      ['GET', `${N}/internal-load-balancers/operations`],
    ] as const) {
      expectCrusoeError(await b.client.request(method, path, body), 403, 'unauthorized', `project "${P}" does not exist or you are not a member of it`);
    }
    const theirs = `/projects/${b.credentials.project_id}/networking`;
    expectCrusoeError(await b.client.get(`${theirs}/vpc-networks/${net.id}`), 404, 'not_found');
    expectCrusoeError(await b.client.get(`${theirs}/vpc-firewall-rules/${rule.id}`), 404, 'not_found');
    expectCrusoeError(
      await b.client.post(`${theirs}/vpc-subnets`, { name: 'x', cidr: '192.168.99.0/24', location: LOCATION, vpc_network_id: net.id }),
      400,
      'bad_request',
      `VPC network "${net.id}" not found in this project`,
    );
    expectCrusoeError(
      await b.client.post(`/projects/${b.credentials.project_id}/compute/vms/instances`, { name: 'x', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY, network_interfaces: [{ subnet: subnet.id }] }),
      400,
      'bad_request',
      `VPC subnet "${subnet.id}" not found in this project`,
    );
    expect((await b.client.get(`${theirs}/vpc-networks`)).body.items.map((n: any) => n.name)).toEqual(['default-ethernet']);
    await succeeds(h, c, Families.firewallRules, c.delete(`${N}/vpc-firewall-rules/${rule.id}`));
  });
});
