import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnteredState } from '../../src/kernel/lifecycle/engine.js';
import { BOOT_MS, createInstance, REGION } from '../helpers/genesis.js';
import { awaitOperation, crusoeClient, publicKey } from '../helpers/crusoe.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { awaitOp, Families } from '../crusoe/support.js';

const PASSWORD = 'a-long-enough-passphrase-1';

/**
 * "Entered state" events for every kind (what the sandbox fabric and the console follow):
 * told once the change commits, whether a timed transition or a client's write made it, with
 * the same fields for both clouds.
 */
describe('lifecycle events: states entered', () => {
  let h: TestHangar;
  const seen: EnteredState[] = [];
  beforeAll(async () => {
    h = await startHangar();
    h.hangar.kernel.lifecycle.onEntered((event) => seen.push(event));
  });
  afterAll(() => h.close());

  const of = (id: string) => seen.filter((e) => e.resourceId === id).map((e) => [e.from, e.to, e.transition]);

  it('follows a Genesis instance from its create to its deletion, and leaves out a write that was refused', async () => {
    const instance = await createInstance(h.genesis, { password: PASSWORD });
    await h.advance(BOOT_MS);
    expect((await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'stop' })).status).toBe(204);
    await h.advance(60_000);
    expect((await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'stop' })).status).toBe(400);
    expect((await h.genesis.delete(`/instances/${instance.id}`)).status).toBe(204);
    await h.advance(60_000);
    expect(of(instance.id)).toEqual([
      [null, 'creating', null],
      ['creating', 'active', 'boot'],
      ['active', 'stopping', null],
      ['stopping', 'stopped', 'stop'],
      ['stopped', 'deleting', null],
      ['deleting', null, 'destroy'],
    ]);
    expect(seen.find((e) => e.resourceId === instance.id)).toMatchObject({ kind: 'genesis.instance', accountId: h.demoAccountId, at: expect.any(Number) });
  });

  it('follows a Genesis volume (every kind has its events)', async () => {
    const res = await h.genesis.post('/volumes', { name: 'evented', size: 10, region: REGION });
    expect(res.status, res.text).toBe(201);
    await h.advance(60_000);
    expect(of(res.body.volume.id)).toEqual([
      [null, 'creating', null],
      ['creating', 'created', 'create'],
    ]);
  });

  it('follows a Crusoe VM as its operations complete', async () => {
    const c = crusoeClient(h);
    const created = await c.post(`/projects/${c.projectId}/compute/vms/instances`, { name: 'evented', type: 'c1a.2x', location: 'us-northcentral1-a', ssh_public_key: publicKey() });
    const op = await awaitOperation(h, c, c.projectId, created.body.operation);
    const id = op.metadata.id as string;
    const stop = await c.patch(`/projects/${c.projectId}/compute/vms/instances/${id}`, { action: 'STOP' });
    await awaitOperation(h, c, c.projectId, stop.body.operation);
    const gone = await c.delete(`/projects/${c.projectId}/compute/vms/instances/${id}`);
    await awaitOperation(h, c, c.projectId, gone.body.operation);
    expect(of(id)).toEqual([
      [null, 'STATE_DEFINING', null],
      ['STATE_DEFINING', 'STATE_RUNNING', 'vm.create'],
      ['STATE_RUNNING', 'STATE_SHUTDOWN', null],
      ['STATE_SHUTDOWN', 'STATE_SHUTOFF', 'vm.stop'],
      ['STATE_SHUTOFF', 'STATE_DELETING', null],
      ['STATE_DELETING', null, 'vm.delete'],
    ]);
    expect(seen.filter((e) => e.resourceId === id).every((e) => e.kind === 'crusoe.vm')).toBe(true);
  });

  it("follows Crusoe's disks, snapshots, networks, subnets, firewall rules and load balancers: clients' writes and their operations", async () => {
    const c = crusoeClient(h);
    const P = `/projects/${c.projectId}`;
    const done = async (family: string, res: { status: number; text: string; body: any }) => {
      expect(res.status, res.text).toBe(200);
      return awaitOp(h, c, family, res.body.operation);
    };
    const disk = (await done(Families.disks, await c.post(`${P}/storage/disks`, { name: 'evented-disk', size: '10GiB', location: 'us-east1-a' }))).metadata.id as string;
    const snapshot = (await done(Families.snapshots, await c.post(`${P}/storage/snapshots`, { disk_id: disk, name: 'evented-snap' }))).metadata.id as string;
    const network = (await c.post(`${P}/networking/vpc-networks`, { name: 'evented-net', cidr: '10.90.0.0/16' })).body.network.id as string;
    const subnet = (await c.post(`${P}/networking/vpc-subnets`, { name: 'evented-sub', cidr: '10.90.1.0/24', location: 'us-east1-a', vpc_network_id: network })).body.subnet.id as string;
    const rule = (
      await done(
        Families.firewallRules,
        await c.post(`${P}/networking/vpc-firewall-rules`, { name: 'evented-rule', vpc_network_id: network, action: 'allow', direction: 'ingress', protocols: ['tcp'], sources: [{ cidr: '0.0.0.0/0' }], destinations: [{ cidr: '10.90.0.0/16' }] }),
      )
    ).metadata.id as string;
    const lb = (
      await done(
        Families.loadBalancers,
        await c.post(`${P}/networking/internal-load-balancers`, { name: 'evented-lb', location: 'us-east1-a', algorithm: 'random', protocols: ['tcp'], destinations: [{ cidr: '10.90.1.0/24' }], network_interfaces: [{ network, subnet }] }),
      )
    ).metadata.id as string;
    await done(Families.loadBalancers, await c.delete(`${P}/networking/internal-load-balancers/${lb}`));
    await done(Families.firewallRules, await c.delete(`${P}/networking/vpc-firewall-rules/${rule}`));
    await done(Families.subnets, await c.delete(`${P}/networking/vpc-subnets/${subnet}`));
    await done(Families.networks, await c.delete(`${P}/networking/vpc-networks/${network}`));
    await done(Families.snapshots, await c.delete(`${P}/storage/snapshots/${snapshot}`));
    await done(Families.disks, await c.delete(`${P}/storage/disks/${disk}`));
    const made = (kind: string, id: string, via: string, settled: string, action: string, goneVia = 'deleting') => {
      expect(seen.filter((e) => e.resourceId === id).every((e) => e.kind === kind)).toBe(true);
      return [[null, via, null], ...(via === settled ? [] : [[via, settled, `${action}.create`]]), [settled, goneVia, null], [goneVia, null, `${action}.delete`]];
    };
    expect(of(disk)).toEqual(made('crusoe.disk', disk, 'creating', 'available', 'disk'));
    expect(of(snapshot)).toEqual(made('crusoe.snapshot', snapshot, 'creating', 'available', 'snapshot'));
    expect(of(network)).toEqual(made('crusoe.network', network, 'available', 'available', 'network'));
    expect(of(subnet)).toEqual(made('crusoe.subnet', subnet, 'available', 'available', 'subnet'));
    expect(of(rule)).toEqual(made('crusoe.firewall_rule', rule, 'creating', 'available', 'firewall'));
    expect(of(lb)).toEqual(made('crusoe.load_balancer', lb, 'creating', 'available', 'lb'));
  });
});
