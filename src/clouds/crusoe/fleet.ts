import type { FleetSource } from '../../http/cloud.js';
import { CrusoeError } from './errors.js';
import { PREFIX } from './http.js';
import { CLOUD } from './model/context.js';
import type { CrusoeModel } from './model/index.js';
import { renderDisk, renderFirewallRule, renderGroup, renderLoadBalancer, renderNetwork, renderSnapshot, renderSubnet, renderTemplate, renderVm } from './render.js';

/** A resource gone between the listing and the read answers null, as the cloud's 404 would. */
async function found<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof CrusoeError && error.statusCode === 404) return null;
    throw error;
  }
}

/**
 * Crusoe's resources as the console's fleet lists them (per project), each answered as the
 * project-scoped GET of it answers. A resource's history includes the operations on it.
 */
export function crusoeFleet(m: CrusoeModel): FleetSource[] {
  const { db } = m.ctx;
  const operationsOn = async (id: string) =>
    (await db.selectFrom('crusoe_operations').select('id').where('resource_id', '=', id).execute()).map((r) => r.id as string);
  const source = (
    kind: string,
    table: string,
    collection: string,
    columns: Partial<FleetSource['columns']>,
    read: (project: string, id: string) => Promise<unknown>,
  ): FleetSource => ({
    cloud: CLOUD,
    kind: `${CLOUD}.${kind}`,
    table,
    columns: { name: 'name', status: 'state', region: 'location', project: 'project_id', type: null, ...columns },
    async wire(row) {
      const project = String(row.project_id);
      const body = await found(() => read(project, String(row.id)));
      return body === null ? null : { path: `${PREFIX}/projects/${project}/${collection}/${String(row.id)}`, body };
    },
    historyIds: operationsOn,
  });
  return [
    source('vm', 'crusoe_vms', 'compute/vms/instances', { type: 'type' }, async (p, id) => renderVm(await m.vms.get(p, id))),
    source('disk', 'crusoe_disks', 'storage/disks', { type: 'type' }, async (p, id) => renderDisk(await m.disks.get(p, id))),
    source('snapshot', 'crusoe_disk_snapshots', 'storage/snapshots', {}, async (p, id) => renderSnapshot(await m.snapshots.get(p, id))),
    source('vpc_network', 'crusoe_vpc_networks', 'networking/vpc-networks', { region: null }, async (p, id) => renderNetwork(await m.networks.get(p, id))),
    source('vpc_subnet', 'crusoe_vpc_subnets', 'networking/vpc-subnets', {}, async (p, id) => renderSubnet(await m.networks.getSubnet(p, id))),
    source('firewall_rule', 'crusoe_firewall_rules', 'networking/vpc-firewall-rules', { region: null }, async (p, id) => renderFirewallRule(await m.firewallRules.get(p, id))),
    source('load_balancer', 'crusoe_load_balancers', 'networking/internal-load-balancers', { type: 'type' }, async (p, id) => renderLoadBalancer(await m.loadBalancers.get(p, id))),
    source('instance_group', 'crusoe_instance_groups', 'compute/instance-groups', { status: null, region: null }, async (p, id) => renderGroup(await m.groups.get(p, id))),
    source('instance_template', 'crusoe_instance_templates', 'compute/instance-templates', { status: null, type: 'type' }, async (p, id) => renderTemplate(await m.templates.get(p, id))),
  ];
}
