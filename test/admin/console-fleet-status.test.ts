import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOf, type Admin } from '../helpers/admin.js';
import { crusoeClient, type CrusoeClient } from '../helpers/crusoe.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { Families, succeeds } from '../crusoe/support.js';

/** The fleet shows each resource's status as its cloud's wire names it, and filters by that name. */
describe('console fleet: statuses in the wire vocabulary', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let admin: Admin;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    admin = adminOf(h);
  });
  afterAll(() => h.close());

  it('shows a Crusoe firewall rule as its GET does (`active`), not as Hangar stores it', async () => {
    const N = `/projects/${c.projectId}/networking`;
    const net = (await c.post(`${N}/vpc-networks`, { name: 'fleet-net', cidr: '192.168.0.0/16' })).body.network;
    const rule = await succeeds(h, c, Families.firewallRules, c.post(`${N}/vpc-firewall-rules`, {
      name: 'fleet-rule', vpc_network_id: net.id, action: 'allow', direction: 'ingress', protocols: ['tcp'], sources: [{ cidr: '0.0.0.0/0' }], destinations: [{ cidr: '192.168.10.0/24' }],
    }));
    const wire = (await c.get(`${N}/vpc-firewall-rules/${rule.id}`)).body;
    expect(wire.state).toBe('active');

    const listed = (await admin.get(`/fleet?kind=crusoe.firewall_rule`)).body.resources.find((r: any) => r.id === rule.id);
    expect(listed.status).toBe('active');
    const byWireName = (await admin.get(`/fleet?kind=crusoe.firewall_rule&status=active`)).body.resources.map((r: any) => r.id);
    expect(byWireName).toContain(rule.id);
    expect((await admin.get(`/fleet?kind=crusoe.firewall_rule&status=available`)).body.resources).toEqual([]);
    expect((await admin.get('/fleet/facets')).body.statuses.available ?? 0).toBe(
      // (other kinds keep their own names: disks and networks are `available` on the wire too)
      (await admin.get('/fleet?status=available&limit=1000')).body.total,
    );
  });
});
