import type { DiskView } from './disks.js';
import type { LoadBalancerRow, FirewallRuleRow, SnapshotRow, SubnetRow, TemplateRow } from '../tables.js';
import type { GroupView } from './groups.js';
import type { NetworkView } from './networks.js';
import type { VmView } from './vms.js';

/**
 * Wire shapes of the resources, as an operation's result shows them. The HTTP side owns the
 * wire format; the model receives these so a completed operation can record its result
 * without the model importing the renderer.
 */
export interface Renderers {
  vm(view: VmView): unknown;
  disk(view: DiskView): unknown;
  snapshot(row: SnapshotRow): unknown;
  network(view: NetworkView): unknown;
  subnet(row: SubnetRow): unknown;
  firewallRule(row: FirewallRuleRow): unknown;
  loadBalancer(row: LoadBalancerRow): unknown;
  group(view: GroupView): unknown;
  template(row: TemplateRow): unknown;
}
