import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOf, type Admin } from '../helpers/admin.js';
import { crusoeClient, expectCrusoeError, type CrusoeClient } from '../helpers/crusoe.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { Families, succeeds } from './support.js';

// Crusoe's storage and networking resources share one word for "there and usable", `available`
// (snapshots said `ready`, firewall rules and load balancers `active`): the wire is unchanged,
// and a state document exported before the change is brought to the one word as it is imported.
describe('Crusoe: one state vocabulary', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let admin: Admin;
  let P: string;
  let ids: { disk: string; snapshot: string; rule: string; lb: string; network: string };
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    admin = adminOf(h);
    P = `/projects/${c.projectId}`;
    const disk = (await succeeds(h, c, Families.disks, c.post(`${P}/storage/disks`, { name: 'vocab-disk', size: '10GiB', location: 'us-east1-a' }))).id;
    const snapshot = (await succeeds(h, c, Families.snapshots, c.post(`${P}/storage/snapshots`, { disk_id: disk, name: 'vocab-snap' }))).id;
    const network = (await c.post(`${P}/networking/vpc-networks`, { name: 'vocab-net', cidr: '10.91.0.0/16' })).body.network.id;
    const rule = (
      await succeeds(
        h,
        c,
        Families.firewallRules,
        c.post(`${P}/networking/vpc-firewall-rules`, { name: 'vocab-rule', vpc_network_id: network, action: 'allow', direction: 'ingress', protocols: ['tcp'], sources: [{ cidr: '0.0.0.0/0' }], destinations: [{ cidr: '10.91.0.0/16' }] }),
      )
    ).id;
    const lb = (
      await succeeds(
        h,
        c,
        Families.loadBalancers,
        c.post(`${P}/networking/internal-load-balancers`, { name: 'vocab-lb', location: 'us-east1-a', algorithm: 'random', protocols: ['tcp'], destinations: [{ cidr: '10.0.0.0/8' }], network_interfaces: [{}] }),
      )
    ).id;
    ids = { disk, snapshot, rule, lb, network };
  });
  afterAll(() => h.close());

  const stored = async () => {
    const doc = await admin.exportState();
    const state = (table: string, id: string) => doc.tables[table].find((r: any) => r.id === id).state;
    return [state('crusoe_disks', ids.disk), state('crusoe_disk_snapshots', ids.snapshot), state('crusoe_firewall_rules', ids.rule), state('crusoe_load_balancers', ids.lb)];
  };

  it('stores `available` for each, and the wire still says what the spec says', async () => {
    expect(await stored()).toEqual(['available', 'available', 'available', 'available']);
    expect((await c.get(`${P}/networking/vpc-firewall-rules/${ids.rule}`)).body.state).toBe('active');
  });

  it('brings a document exported with the former words to the one vocabulary as it is imported', async () => {
    const doc = await admin.exportState();
    const set = (table: string, id: string, state: string) => (doc.tables[table].find((r: any) => r.id === id).state = state);
    set('crusoe_disk_snapshots', ids.snapshot, 'ready');
    set('crusoe_firewall_rules', ids.rule, 'active');
    set('crusoe_load_balancers', ids.lb, 'active');
    const res = await admin.put('/state', doc);
    expect(res.status, res.text).toBe(204);
    expect(await stored()).toEqual(['available', 'available', 'available', 'available']);
    expect((await c.get(`${P}/networking/vpc-firewall-rules/${ids.rule}`)).body.state).toBe('active');
    // A disk can be made from the snapshot, which is usable again (a `ready` one would be refused as "being deleted").
    const fromSnapshot = await succeeds(h, c, Families.disks, c.post(`${P}/storage/disks`, { name: 'vocab-restored', snapshot_id: ids.snapshot }));
    expect(fromSnapshot.name).toBe('vocab-restored');
    expectCrusoeError(await c.post(`${P}/storage/disks`, { name: 'vocab-restored', snapshot_id: ids.snapshot }), 409, 'conflict');
  });
});
