import type { Transaction } from 'kysely';
import type { Executor } from '../../../kernel/db/store.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { NetworkRow, OperationRow, ProjectRow, SubnetRow } from '../tables.js';
import {
  CLOUD,
  Counter,
  defaultGatewayId,
  defaultNetworkId,
  defaultSubnetId,
  parseJson,
  privatePool,
  publicPool,
  subnetPool,
  type CrusoeContext,
} from './context.js';
import { contains, covering, formatIpv4, parseCidrLoose, parseNetworkCidr } from './net.js';
import { Family, type OperationHandler, type Operations } from './operations.js';
import type { References } from './references.js';
import type { Renderers } from './renderers.js';
import { assertIdle, operationMachine, resourceName, ResourceState, clientMoved, rowToChange } from './resource.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import { UnknownPool } from '../../../kernel/ipam.js';
import type { CrusoeModel } from './index.js';

export const DEFAULT_NETWORK_NAME = 'default-ethernet';
export const defaultSubnetName = (location: string) => `default-${location}`;
const NETWORK_PREFIX = { min: 8, max: 28 };
const SUBNET_PREFIX = { min: 8, max: 29 };

export interface NetworkView {
  row: NetworkRow;
  /** Its subnets' ids, in creation order. */
  subnets: string[];
}

interface Peers {
  operations: Operations;
  refs: References;
  render: Renderers;
}

/** A VPC network's machine and its subnets': made at once (available), updated and deleted by operations. */
const NETWORK_STATES = [ResourceState.Available, ResourceState.Deleting];
export const NETWORK_MACHINE = operationMachine('crusoe.network', 'crusoe_vpc_networks', NETWORK_STATES, {
  update: { from: [ResourceState.Available], transition: 'network.update', after: { fast: 500, realistic: 5_000 } },
  delete: { from: [ResourceState.Available], via: ResourceState.Deleting, to: null, transition: 'network.delete', after: { fast: 1_000, realistic: 10_000 } },
});
export const SUBNET_MACHINE = operationMachine('crusoe.subnet', 'crusoe_vpc_subnets', NETWORK_STATES, {
  update: { from: [ResourceState.Available], transition: 'subnet.update', after: { fast: 500, realistic: 5_000 } },
  delete: { from: [ResourceState.Available], via: ResourceState.Deleting, to: null, transition: 'subnet.delete', after: { fast: 1_000, realistic: 10_000 } },
});

/**
 * VPC networks and their subnets. Every project has a default network (`default-ethernet`)
 * with a default subnet in each location, made with the project; their ids derive from the
 * project, so a store made before networks were served gets the very ids its VMs already
 * show. A subnet lies inside its network's CIDR, overlaps none of its siblings and sits in
 * one location; VMs and load balancers draw their private addresses from it. Creates answer
 * at once; PATCH and DELETE answer with an operation, as the API says.
 */
export class Networks implements OperationHandler {
  readonly machines = [NETWORK_MACHINE, SUBNET_MACHINE];

  /** The default network's CIDR: the smallest block around every location's default subnet. */
  readonly defaultCidr: string;

  constructor(
    private readonly ctx: CrusoeContext,
    private readonly peers: Peers,
  ) {
    this.defaultCidr = covering([...ctx.catalog.locations.values()].map((l) => parseCidrLoose(l.private_cidr, 'private_cidr')));
  }

  // -------------------------------------------------------------------------------------
  // Defaults

  /**
   * The project's default network and its default subnets (one per catalog location), made
   * if missing. Idempotent: the ids are derived, so a second call finds them.
   */
  async ensureDefaults(trx: Executor, project: Pick<ProjectRow, 'id' | 'account_id'>): Promise<void> {
    const { kernel, catalog } = this.ctx;
    const networkId = defaultNetworkId(project.id);
    const now = kernel.clockFor(project.account_id).now();
    const network = await trx.selectFrom('crusoe_vpc_networks').select('id').where('id', '=', networkId).executeTakeFirst();
    if (!network) {
      const row: NetworkRow = {
        id: networkId,
        account_id: project.account_id,
        project_id: project.id,
        name: DEFAULT_NETWORK_NAME,
        cidr: this.defaultCidr,
        gateway: defaultGatewayId(project.id),
        is_default: 1,
        state: ResourceState.Available,
        busy_operation_id: null,
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('crusoe_vpc_networks').values(row).execute();
      await kernel.counters.add(trx, project.account_id, Counter.projectNetworks(project.id), 1);
    }
    const present = new Set(
      (await trx.selectFrom('crusoe_vpc_subnets').select('location').where('project_id', '=', project.id).where('is_default', '=', 1).execute()).map((r) => r.location as string),
    );
    for (const location of catalog.locations.values()) {
      if (present.has(location.id)) continue;
      const id = defaultSubnetId(project.id, location.id);
      const block = parseCidrLoose(location.private_cidr, 'private_cidr');
      const row: SubnetRow = {
        id,
        account_id: project.account_id,
        project_id: project.id,
        network_id: networkId,
        name: defaultSubnetName(location.id),
        cidr: `${formatIpv4(block.start)}/${block.prefix}`,
        range_start: block.start,
        range_end: block.end,
        location: location.id,
        is_default: 1,
        nat_gateway_id: null,
        nat_public_ip: null,
        nat_public_ip_id: null,
        state: ResourceState.Available,
        busy_operation_id: null,
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('crusoe_vpc_subnets').values(row).execute();
      // VMs of a store made before subnets were served hold addresses of the location's old
      // pool: they move into the subnet's pool, so no new VM is given the same address.
      const vms = await trx
        .selectFrom('crusoe_vms')
        .select(['id', 'private_ip'])
        .where('project_id', '=', project.id)
        .where('subnet_id', '=', id)
        .where('private_ip', 'is not', null)
        .execute();
      if (vms.length > 0) await kernel.ipam.ensurePool(trx, subnetPool(id), row.cidr);
      for (const vm of vms) {
        await kernel.ipam.claim(trx, subnetPool(id), vm.private_ip as string, vm.id as string);
        await kernel.ipam.release(trx, vm.id as string, [[privatePool(location.id), vm.private_ip as string]]);
      }
    }
  }

  /** Fills in default networks and subnets wherever they are missing (start-up, after an import). */
  async backfill(trx: Transaction<any>): Promise<void> {
    const locations = this.ctx.catalog.locations.size;
    const lacking = await trx
      .selectFrom('crusoe_projects as p')
      .select(['p.id', 'p.account_id'])
      .where((eb) =>
        eb.or([
          eb.not(eb.exists(eb.selectFrom('crusoe_vpc_networks as n').select('n.id').whereRef('n.project_id', '=', 'p.id').where('n.is_default', '=', 1))),
          eb(
            eb.selectFrom('crusoe_vpc_subnets as s').select((s) => s.fn.countAll<number>().as('n')).whereRef('s.project_id', '=', 'p.id').where('s.is_default', '=', 1),
            '<',
            locations,
          ),
        ]),
      )
      .execute();
    for (const project of lacking) await this.ensureDefaults(trx, project as Pick<ProjectRow, 'id' | 'account_id'>);
  }

  /**
   * Address pools of subnets that are no longer there (their account was deleted: the
   * installation's pool rows are not the account's, so they outlive it) are dropped.
   */
  async dropOrphanPools(trx: Transaction<any>): Promise<void> {
    const prefix = subnetPool('');
    const pools = await trx.selectFrom('ip_pools').select('name').where('name', 'like', `${prefix}%`).execute();
    const ids = pools.map((p) => (p.name as string).slice(prefix.length));
    const present = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await trx.selectFrom('crusoe_vpc_subnets').select('id').where('id', 'in', ids.slice(i, i + 500)).execute();
      for (const r of rows) present.add(r.id as string);
    }
    for (const id of ids) if (!present.has(id)) await this.ctx.kernel.ipam.dropPool(trx, subnetPool(id));
  }

  // -------------------------------------------------------------------------------------
  // Networks

  async list(projectId: string): Promise<NetworkView[]> {
    const { db } = this.ctx;
    const rows = (await db.selectFrom('crusoe_vpc_networks').selectAll().where('project_id', '=', projectId).orderBy('seq').orderBy('id').execute()) as NetworkRow[];
    return this.views(db, projectId, rows);
  }

  async get(projectId: string, id: string): Promise<NetworkView> {
    const row = await this.findNetwork(this.ctx.db, projectId, id);
    if (!row) throw notFound('VPC network', id);
    return (await this.views(this.ctx.db, projectId, [row]))[0]!;
  }

  async create(accountId: string, projectId: string, input: { name: string; cidr: string }): Promise<NetworkView> {
    const { kernel } = this.ctx;
    const name = resourceName(input.name);
    const block = parseNetworkCidr(input.cidr.trim(), 'cidr', NETWORK_PREFIX);
    return kernel.lifecycle.groupedTransaction(async (trx) => {
      await this.checkNetworkName(trx, projectId, name, null);
      const now = kernel.clockFor(accountId).now();
      const row: NetworkRow = {
        id: kernel.ids.uuid(),
        account_id: accountId,
        project_id: projectId,
        name,
        cidr: block.cidr,
        gateway: kernel.ids.uuid(),
        is_default: 0,
        state: ResourceState.Available,
        busy_operation_id: null,
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('crusoe_vpc_networks').values(row).execute();
      await kernel.counters.add(trx, accountId, Counter.projectNetworks(projectId), 1);
      clientMoved(kernel, trx, NETWORK_MACHINE, row, null, row.state);
      return { row, subnets: [] };
    });
  }

  /** PATCH: a new name, applied when the operation completes. */
  async update(projectId: string, id: string, input: { name: string }): Promise<OperationRow> {
    const name = resourceName(input.name);
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await this.idleNetwork(trx, projectId, id);
      if (name !== row.name) await this.checkNetworkName(trx, projectId, name, id);
      return this.begin(trx, row, Family.networks, 'network.update', { name });
    });
  }

  /** A network goes once nothing is left in it; the default network stays with its project. */
  async delete(projectId: string, id: string): Promise<OperationRow> {
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.idleNetwork(trx, projectId, id);
      const what = `VPC network "${id}"`;
      if (row.is_default) throw conflict(`${what} is the project's default network and cannot be deleted`);
      const subnets = await trx.selectFrom('crusoe_vpc_subnets').select('id').where('network_id', '=', id).orderBy('seq').execute();
      if (subnets.length > 0) {
        throw conflict(`${what} is in use: it still has subnets (${subnets.map((s) => `"${s.id}"`).join(', ')}); delete them first`);
      }
      const rule = await trx.selectFrom('crusoe_firewall_rules').select('id').where('network_id', '=', id).orderBy('seq').limit(1).executeTakeFirst();
      if (rule) throw conflict(`${what} is in use: firewall rule "${rule.id}" belongs to it; delete the firewall rule first`);
      await this.peers.refs.assertFree(trx, id, what);
      const op = await this.begin(trx, row, Family.networks, 'network.delete', {});
      await trx.updateTable('crusoe_vpc_networks').set({ state: ResourceState.Deleting }).where('id', '=', id).execute();
      clientMoved(this.ctx.kernel, trx, NETWORK_MACHINE, row, row.state, ResourceState.Deleting);
      return op;
    });
  }

  async findNetwork(trx: Executor, projectId: string, id: string): Promise<NetworkRow | undefined> {
    return (await trx.selectFrom('crusoe_vpc_networks').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()) as
      | NetworkRow
      | undefined;
  }

  /** A network a request names in its body: 400 when it is not in the project, 409 when it is going. */
  async usableNetwork(trx: Executor, projectId: string, id: string, field: string): Promise<NetworkRow> {
    const row = await this.findNetwork(trx, projectId, id);
    if (!row) throw badRequest(`"${field}": VPC network "${id}" not found in this project`);
    if (row.state === ResourceState.Deleting) throw conflict(`"${field}": VPC network "${id}" is being deleted`);
    return row;
  }

  // -------------------------------------------------------------------------------------
  // Subnets

  async listSubnets(projectId: string): Promise<SubnetRow[]> {
    return (await this.ctx.db.selectFrom('crusoe_vpc_subnets').selectAll().where('project_id', '=', projectId).orderBy('seq').orderBy('id').execute()) as SubnetRow[];
  }

  async getSubnet(projectId: string, id: string): Promise<SubnetRow> {
    const row = await this.findSubnet(this.ctx.db, projectId, id);
    if (!row) throw notFound('VPC subnet', id);
    return row;
  }

  async createSubnet(
    accountId: string,
    projectId: string,
    input: { name: string; cidr: string; location: string; vpc_network_id: string; nat_gateway_enabled?: boolean },
  ): Promise<SubnetRow> {
    const { kernel } = this.ctx;
    const name = resourceName(input.name);
    const location = this.location(input.location, 'location');
    const block = parseNetworkCidr(input.cidr.trim(), 'cidr', SUBNET_PREFIX);
    return kernel.lifecycle.groupedTransaction(async (trx) => {
      const network = await this.usableNetwork(trx, projectId, input.vpc_network_id, 'vpc_network_id');
      const outer = parseCidrLoose(network.cidr, 'cidr');
      if (!contains(outer, block)) throw badRequest(`"cidr": ${block.cidr} is not inside the VPC network's ${network.cidr}`);
      const overlap = (await trx
        .selectFrom('crusoe_vpc_subnets')
        .select(['id', 'name', 'cidr'])
        .where('network_id', '=', network.id)
        .where('range_start', '<=', block.end)
        .where('range_end', '>=', block.start)
        .orderBy('range_start')
        .limit(1)
        .executeTakeFirst()) as Pick<SubnetRow, 'id' | 'name' | 'cidr'> | undefined;
      if (overlap) throw conflict(`"cidr": ${block.cidr} overlaps subnet "${overlap.name}" (${overlap.id}, ${overlap.cidr}) of this VPC network`);
      await this.checkSubnetName(trx, network.id, name, null);
      const now = kernel.clockFor(accountId).now();
      const row: SubnetRow = {
        id: kernel.ids.uuid(),
        account_id: accountId,
        project_id: projectId,
        network_id: network.id,
        name,
        cidr: block.cidr,
        range_start: block.start,
        range_end: block.end,
        location,
        is_default: 0,
        nat_gateway_id: null,
        nat_public_ip: null,
        nat_public_ip_id: null,
        state: ResourceState.Available,
        busy_operation_id: null,
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      if (input.nat_gateway_enabled === true) Object.assign(row, await this.natGateway(trx, row));
      await trx.insertInto('crusoe_vpc_subnets').values(row).execute();
      await kernel.ipam.ensurePool(trx, subnetPool(row.id), row.cidr);
      clientMoved(kernel, trx, SUBNET_MACHINE, row, null, row.state);
      return row;
    });
  }

  /** PATCH: a new name and/or a NAT gateway switched on or off, applied when the operation completes. */
  async updateSubnet(projectId: string, id: string, input: { name: string; nat_gateway_action?: 'enable' | 'disable' }): Promise<OperationRow> {
    const name = resourceName(input.name);
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await this.idleSubnet(trx, projectId, id);
      if (name !== row.name) await this.checkSubnetName(trx, row.network_id, name, id);
      return this.begin(trx, row, Family.subnets, 'subnet.update', { name, ...(input.nat_gateway_action ? { nat: input.nat_gateway_action } : {}) });
    });
  }

  /** A subnet goes once no VM, load balancer or firewall rule uses it; default subnets stay. */
  async deleteSubnet(projectId: string, id: string): Promise<OperationRow> {
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.idleSubnet(trx, projectId, id);
      const what = `VPC subnet "${id}"`;
      if (row.is_default) throw conflict(`${what} is the project's default subnet in ${row.location} and cannot be deleted`);
      const vm = await trx.selectFrom('crusoe_vms').select('id').where('subnet_id', '=', id).orderBy('seq').limit(1).executeTakeFirst();
      if (vm) throw conflict(`${what} is in use: VM "${vm.id}" has its network interface in it; delete the VM first`);
      const lb = await trx.selectFrom('crusoe_load_balancers').select('id').where('subnet_id', '=', id).orderBy('seq').limit(1).executeTakeFirst();
      if (lb) throw conflict(`${what} is in use: load balancer "${lb.id}" sits in it; delete the load balancer first`);
      const template = await trx.selectFrom('crusoe_instance_templates').select('id').where('subnet_id', '=', id).orderBy('seq').limit(1).executeTakeFirst();
      if (template) throw conflict(`${what} is in use: instance template "${template.id}" names it; delete the template first`);
      await this.peers.refs.assertFree(trx, id, what);
      const op = await this.begin(trx, row, Family.subnets, 'subnet.delete', {});
      await trx.updateTable('crusoe_vpc_subnets').set({ state: ResourceState.Deleting }).where('id', '=', id).execute();
      clientMoved(this.ctx.kernel, trx, SUBNET_MACHINE, row, row.state, ResourceState.Deleting);
      return op;
    });
  }

  async findSubnet(trx: Executor, projectId: string, id: string): Promise<SubnetRow | undefined> {
    return (await trx.selectFrom('crusoe_vpc_subnets').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()) as
      | SubnetRow
      | undefined;
  }

  /**
   * The subnet a VM's interface (or a load balancer) joins in a location: the one named, which
   * must be in the project, in that location, in the named network if one is named, and not
   * going; or else the named network's first subnet there; or else the project's default
   * subnet of the location.
   */
  async resolveSubnet(
    trx: Executor,
    project: Pick<ProjectRow, 'id' | 'account_id'>,
    location: string,
    wanted: { subnet?: string; network?: string },
    field: { subnet: string; network: string },
  ): Promise<SubnetRow> {
    const subnetId = wanted.subnet?.trim() || undefined;
    const networkId = wanted.network?.trim() || undefined;
    if (subnetId !== undefined) {
      const subnet = await this.findSubnet(trx, project.id, subnetId);
      if (!subnet) throw badRequest(`"${field.subnet}": VPC subnet "${subnetId}" not found in this project`);
      if (subnet.location !== location) throw badRequest(`"${field.subnet}": VPC subnet "${subnetId}" is in ${subnet.location}, not in ${location}`);
      if (networkId !== undefined && networkId !== subnet.network_id) {
        throw badRequest(`"${field.network}": VPC subnet "${subnetId}" belongs to VPC network "${subnet.network_id}", not "${networkId}"`);
      }
      if (subnet.state === ResourceState.Deleting) throw conflict(`"${field.subnet}": VPC subnet "${subnetId}" is being deleted`);
      return subnet;
    }
    if (networkId !== undefined) {
      await this.usableNetwork(trx, project.id, networkId, field.network);
      const subnet = (await trx
        .selectFrom('crusoe_vpc_subnets')
        .selectAll()
        .where('network_id', '=', networkId)
        .where('location', '=', location)
        .where('state', '!=', ResourceState.Deleting)
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst()) as SubnetRow | undefined;
      if (!subnet) throw badRequest(`"${field.network}": VPC network "${networkId}" has no subnet in ${location}; create one or name a subnet`);
      return subnet;
    }
    const id = defaultSubnetId(project.id, location);
    let subnet = await this.findSubnet(trx, project.id, id);
    if (!subnet) {
      await this.ensureDefaults(trx, project);
      subnet = await this.findSubnet(trx, project.id, id);
    }
    if (!subnet) throw badRequest(`"${field.subnet}": the project has no subnet in ${location}; create one and name it`);
    return subnet;
  }

  /** Leases a private address of the subnet to `owner` (null when the subnet is full). */
  async allocate(trx: Executor, subnetId: string, owner: string): Promise<string | null> {
    const { ipam } = this.ctx.kernel;
    // A subnet's pool is made with it and dropped with it, so it is nearly always there: tried
    // first, a boot costs no read of the subnet. The pool row is the installation's, not the
    // account's, though: an account imported from another store brings its subnets and leases
    // without it, and the pool is made here, from the subnet, on first use.
    try {
      return await ipam.allocate(trx, subnetPool(subnetId), owner);
    } catch (error) {
      if (!(error instanceof UnknownPool)) throw error;
    }
    const subnet = await trx.selectFrom('crusoe_vpc_subnets').select(['id', 'cidr']).where('id', '=', subnetId).executeTakeFirst();
    if (!subnet) return null;
    await ipam.ensurePool(trx, subnetPool(subnetId), subnet.cidr as string);
    return ipam.allocate(trx, subnetPool(subnetId), owner);
  }

  // -------------------------------------------------------------------------------------
  // Completion

  async complete(trx: Transaction<any>, op: OperationRow, at: number): Promise<unknown> {
    const params = parseJson<Record<string, any>>(op.params) ?? {};
    const release = { busy_operation_id: null, updated_at: at };
    switch (op.action) {
      case 'network.update': {
        const row = await this.peers.operations.heldBy<NetworkRow>(trx, 'crusoe_vpc_networks', op);
        if (!row) return {};
        await trx.updateTable('crusoe_vpc_networks').set({ name: params.name, ...release }).where('id', '=', row.id).execute();
        return this.peers.render.network((await this.views(trx, row.project_id, [{ ...row, name: params.name, ...release }]))[0]!);
      }
      case 'network.delete': {
        const row = await this.peers.operations.heldBy<NetworkRow>(trx, 'crusoe_vpc_networks', op);
        if (!row) return {};
        await trx.deleteFrom('crusoe_vpc_networks').where('id', '=', row.id).execute();
        await this.ctx.kernel.counters.add(trx, row.account_id, Counter.projectNetworks(row.project_id), -1);
        return {};
      }
      case 'subnet.update': {
        const row = await this.peers.operations.heldBy<SubnetRow>(trx, 'crusoe_vpc_subnets', op);
        if (!row) return {};
        let set: Partial<SubnetRow> = { name: params.name, ...release };
        if (params.nat === 'enable' && row.nat_gateway_id === null) set = { ...set, ...(await this.natGateway(trx, row)) };
        if (params.nat === 'disable' && row.nat_gateway_id !== null) {
          await this.ctx.kernel.ipam.release(trx, row.id, [[publicPool(row.location), row.nat_public_ip]]);
          set = { ...set, nat_gateway_id: null, nat_public_ip: null, nat_public_ip_id: null };
        }
        await trx.updateTable('crusoe_vpc_subnets').set(set).where('id', '=', row.id).execute();
        return this.peers.render.subnet({ ...row, ...set } as SubnetRow);
      }
      case 'subnet.delete': {
        const row = await this.peers.operations.heldBy<SubnetRow>(trx, 'crusoe_vpc_subnets', op);
        if (!row) return {};
        await this.removeSubnet(trx, row);
        return {};
      }
      default:
        return {};
    }
  }

  async rollback(trx: Transaction<any>, op: OperationRow, at: number): Promise<void> {
    const table = op.action.startsWith('network.') ? 'crusoe_vpc_networks' : 'crusoe_vpc_subnets';
    await trx
      .updateTable(table)
      .set({ state: ResourceState.Available, busy_operation_id: null, updated_at: at })
      .where('id', '=', op.resource_id)
      .where('busy_operation_id', '=', op.id)
      .execute();
  }

  /** Deleting a project takes its networks with it: NAT addresses and subnet pools go back. */
  async purgeProject(trx: Transaction<any>, project: ProjectRow): Promise<void> {
    const subnets = (await trx.selectFrom('crusoe_vpc_subnets').selectAll().where('project_id', '=', project.id).execute()) as SubnetRow[];
    for (const subnet of subnets) await this.removeSubnet(trx, subnet);
    await trx.deleteFrom('crusoe_vpc_networks').where('project_id', '=', project.id).execute();
  }

  // -------------------------------------------------------------------------------------

  private async removeSubnet(trx: Executor, row: SubnetRow): Promise<void> {
    const { ipam } = this.ctx.kernel;
    if (row.nat_gateway_id !== null) await ipam.release(trx, row.id, [[publicPool(row.location), row.nat_public_ip]]);
    await ipam.dropPool(trx, subnetPool(row.id));
    await trx.deleteFrom('crusoe_vpc_subnets').where('id', '=', row.id).execute();
  }

  /** A NAT gateway for the subnet, with a public address of its location. */
  private async natGateway(trx: Executor, row: Pick<SubnetRow, 'id' | 'location'>): Promise<Partial<SubnetRow>> {
    const { kernel } = this.ctx;
    const address = await kernel.ipam.allocate(trx, publicPool(row.location), row.id);
    if (address === null) throw conflict(`no public address is free in ${row.location} for a NAT gateway`);
    return { nat_gateway_id: kernel.ids.uuid(), nat_public_ip: address, nat_public_ip_id: kernel.ids.uuid() };
  }

  private location(location: string, field: string): string {
    const { catalog } = this.ctx;
    if (!catalog.locations.has(location)) throw badRequest(`"${field}": "${location}" is not a location (known: ${[...catalog.locations.keys()].join(', ')})`);
    return location;
  }

  private async views(trx: Executor, projectId: string, rows: NetworkRow[]): Promise<NetworkView[]> {
    if (rows.length === 0) return [];
    const subnets = await trx
      .selectFrom('crusoe_vpc_subnets')
      .select(['id', 'network_id'])
      .where('project_id', '=', projectId)
      .where('network_id', 'in', rows.map((r) => r.id))
      .orderBy('seq')
      .orderBy('id')
      .execute();
    return rows.map((row) => ({ row, subnets: subnets.filter((s) => s.network_id === row.id).map((s) => s.id as string) }));
  }

  private readonly networkToChange = rowToChange<NetworkRow>(() => this.ctx, 'crusoe_vpc_networks');
  private readonly subnetToChange = rowToChange<SubnetRow>(() => this.ctx, 'crusoe_vpc_subnets');

  private async idleNetwork(trx: Executor, projectId: string, id: string): Promise<NetworkRow> {
    const row = await this.networkToChange(trx, projectId, id);
    if (!row) throw notFound('VPC network', id);
    assertIdle(row, `VPC network "${id}"`);
    return row;
  }

  private async idleSubnet(trx: Executor, projectId: string, id: string): Promise<SubnetRow> {
    const row = await this.subnetToChange(trx, projectId, id);
    if (!row) throw notFound('VPC subnet', id);
    assertIdle(row, `VPC subnet "${id}"`);
    return row;
  }

  private async checkNetworkName(trx: Executor, projectId: string, name: string, except: string | null): Promise<void> {
    let query = trx.selectFrom('crusoe_vpc_networks').select('id').where('project_id', '=', projectId).where('name', '=', name);
    if (except !== null) query = query.where('id', '!=', except);
    if (await query.executeTakeFirst()) throw conflict(`a VPC network named "${name}" already exists in this project`);
  }

  private async checkSubnetName(trx: Executor, networkId: string, name: string, except: string | null): Promise<void> {
    let query = trx.selectFrom('crusoe_vpc_subnets').select('id').where('network_id', '=', networkId).where('name', '=', name);
    if (except !== null) query = query.where('id', '!=', except);
    if (await query.executeTakeFirst()) throw conflict(`a subnet named "${name}" already exists in this VPC network`);
  }

  private begin(trx: Executor, row: { id: string; account_id: string; project_id: string }, family: string, action: string, params: Record<string, unknown>): Promise<OperationRow> {
    const table = family === Family.networks ? 'crusoe_vpc_networks' : 'crusoe_vpc_subnets';
    return this.peers.operations.startOn(trx, table, family, row, action, params);
  }

}

/** The vpc network as a resource: its table, counters and place in the fleet (kernel/resources.ts). */
export const networkResource: ResourceDef<CrusoeModel> = declareResource({
  cloud: CLOUD,
  kind: 'crusoe.vpc_network',
  table: 'crusoe_vpc_networks',
  projectCounter: Counter.projectNetworks,
  fleet: { collection: 'networking/vpc-networks', columns: { region: null }, read: async (m, p, id) => m.render.network(await m.networks.get(p, id)) },
});

/** The vpc subnet as a resource: its table and place in the fleet (kernel/resources.ts). */
export const subnetResource: ResourceDef<CrusoeModel> = declareResource({
  cloud: CLOUD,
  kind: 'crusoe.vpc_subnet',
  table: 'crusoe_vpc_subnets',
  fleet: { collection: 'networking/vpc-subnets', read: async (m, p, id) => m.render.subnet(await m.networks.getSubnet(p, id)) },
});
