import type { Transaction } from 'kysely';
import type { Executor } from '../../../kernel/db/store.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { LoadBalancerRow, OperationRow, ProjectRow, VmRow } from '../tables.js';
import { CLOUD, parseJson, regionOf, subnetPool, type CrusoeContext } from './context.js';
import { parseCidrLoose, parseProtocols } from './net.js';
import type { Networks } from './networks.js';
import { Family, type OperationHandler, type Operations } from './operations.js';
import { ReferrerKind, type References } from './references.js';
import type { Renderers } from './renderers.js';
import { assertIdle, operationMachine, resourceName, ResourceState, clientMoved, rowToChange } from './resource.js';
import { VmState } from './vm-states.js';
import type { ListInput } from './firewall-rules.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { CrusoeModel } from './index.js';

export const LB_ALGORITHMS = ['random', 'round_robin', 'least_connections'] as const;
export const LB_PROTOCOLS = ['tcp', 'udp'] as const;
export const LB_TYPES = ['internal_ipv4'] as const;
/** Internal states: creating → active → deleting. */
/** An internal load balancer's machine. */
export const LOAD_BALANCER_MACHINE = operationMachine('crusoe.load_balancer', 'crusoe_load_balancers', Object.values(ResourceState), {
  create: { from: [], via: ResourceState.Creating, to: ResourceState.Available, transition: 'lb.create', after: { fast: 2_000, realistic: 60_000 } },
  update: { from: [ResourceState.Available], transition: 'lb.update', after: { fast: 1_000, realistic: 15_000 } },
  delete: { from: [ResourceState.Available], via: ResourceState.Deleting, to: null, transition: 'lb.delete', after: { fast: 1_000, realistic: 20_000 } },
});
/** What the ledger bills a load balancer in: the hours it exists. */
export const LB_RESOURCE_TYPE = 'load-balancer';
export const LB_METRIC = 'lb-hours';

export interface TargetInput {
  cidr?: string;
  resource_id?: string;
}

type Number_ = string | number;
export interface HealthCheckInput {
  port: Number_;
  interval?: Number_;
  timeout?: Number_;
  success_count?: Number_;
  failure_count?: Number_;
}

/** Health checking as stored: every field as the wire's string; null when it is off (port 0). */
export interface HealthCheck {
  port: string;
  interval: string;
  timeout: string;
  success_count: string;
  failure_count: string;
}

export interface CreateLbInput {
  name: string;
  location: string;
  algorithm: string;
  protocols: ListInput;
  destinations: TargetInput[];
  network_interfaces: { network?: string; subnet?: string }[];
  health_check?: HealthCheckInput;
  type?: string;
}

export interface PatchLbInput {
  name?: string;
  destinations?: TargetInput[];
  health_check?: HealthCheckInput;
}

const DEFAULT_HEALTH = { interval: '10', timeout: '5', success_count: '2', failure_count: '3' };

interface Peers {
  operations: Operations;
  refs: References;
  networks: Networks;
  render: Renderers;
}

/**
 * Load balancers (the seed's schema; today's internal load balancers): an algorithm,
 * protocols, destinations (VMs of the project in the same location, or CIDRs), optional
 * health checking (`"port": 0` turns it off), and one network interface in a subnet, which
 * gives the balancer its address when it is created. Served under both
 * /networking/load-balancers and /networking/internal-load-balancers.
 */
export class LoadBalancers implements OperationHandler {
  readonly machines = [LOAD_BALANCER_MACHINE];

  constructor(
    private readonly ctx: CrusoeContext,
    private readonly peers: Peers,
  ) {}

  async list(projectId: string): Promise<LoadBalancerRow[]> {
    return (await this.ctx.db.selectFrom('crusoe_load_balancers').selectAll().where('project_id', '=', projectId).orderBy('seq').orderBy('id').execute()) as LoadBalancerRow[];
  }

  async get(projectId: string, id: string): Promise<LoadBalancerRow> {
    const row = await this.find(this.ctx.db, projectId, id);
    if (!row) throw notFound('load balancer', id);
    return row;
  }

  async create(project: Pick<ProjectRow, 'id' | 'account_id'>, input: CreateLbInput): Promise<OperationRow> {
    const { kernel, catalog } = this.ctx;
    const name = resourceName(input.name);
    if (!catalog.locations.has(input.location)) {
      throw badRequest(`"location": "${input.location}" is not a location (known: ${[...catalog.locations.keys()].join(', ')})`);
    }
    const type = (input.type ?? '').trim().replace(/,$/, '') || 'internal_ipv4';
    if (!(LB_TYPES as readonly string[]).includes(type)) throw badRequest(`"type" must be one of: ${LB_TYPES.join(', ')} (got "${input.type}")`);
    const algorithm = input.algorithm.trim().toLowerCase();
    if (!(LB_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw badRequest(`"algorithm" must be one of: ${LB_ALGORITHMS.join(', ')} (got "${input.algorithm}")`);
    }
    const protocols = parseProtocols(input.protocols, 'protocols', LB_PROTOCOLS);
    if (input.network_interfaces.length !== 1) throw badRequest('"network_interfaces" must hold exactly one interface (its subnet gives the load balancer its address)');
    const health = parseHealthCheck(input.health_check);
    return kernel.lifecycle.groupedTransaction(async (trx) => {
      const nic = input.network_interfaces[0]!;
      const subnet = await this.peers.networks.resolveSubnet(trx, project, input.location, nic, { subnet: 'network_interfaces.0.subnet', network: 'network_interfaces.0.network' });
      const destinations = await this.targets(trx, project.id, input.location, input.destinations);
      await this.checkNameFree(trx, project.id, name, null);
      const now = kernel.clockFor(project.account_id).now();
      const id = kernel.ids.uuid();
      const address = await this.peers.networks.allocate(trx, subnet.id, id);
      if (address === null) throw conflict(`VPC subnet "${subnet.id}" (${subnet.cidr}) has no free address for the load balancer`);
      const row: LoadBalancerRow = {
        id,
        account_id: project.account_id,
        project_id: project.id,
        name,
        location: input.location,
        type,
        algorithm,
        protocols: JSON.stringify(protocols),
        destinations: JSON.stringify(destinations),
        health_check: health === null ? null : JSON.stringify(health),
        network_id: subnet.network_id,
        subnet_id: subnet.id,
        private_ip: address,
        state: ResourceState.Creating,
        busy_operation_id: null,
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('crusoe_load_balancers').values(row).execute();
      clientMoved(kernel, trx, LOAD_BALANCER_MACHINE, row, null, row.state);
      await this.peers.refs.set(trx, project.account_id, id, ReferrerKind.loadBalancer, vmTargets(destinations));
      return this.begin(trx, row, 'lb.create', {});
    });
  }

  /** PATCH: name, destinations and health checking, applied when the operation completes. */
  async update(projectId: string, id: string, input: PatchLbInput): Promise<OperationRow> {
    if (input.name === undefined && input.destinations === undefined && input.health_check === undefined) {
      throw badRequest('the request changes nothing: send "name", "destinations" or "health_check" (with "port": 0 to turn health checking off)');
    }
    const name = input.name === undefined ? undefined : resourceName(input.name);
    const health = input.health_check === undefined ? undefined : parseHealthCheck(input.health_check);
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await this.idle(trx, projectId, id);
      const destinations = input.destinations === undefined ? undefined : await this.targets(trx, projectId, row.location, input.destinations);
      if (name !== undefined && name !== row.name) await this.checkNameFree(trx, projectId, name, id);
      return this.begin(trx, row, 'lb.update', {
        ...(name !== undefined ? { name } : {}),
        ...(destinations !== undefined ? { destinations } : {}),
        ...(health !== undefined ? { health_check: health } : {}),
      });
    });
  }

  async delete(projectId: string, id: string): Promise<OperationRow> {
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.idle(trx, projectId, id);
      await this.peers.refs.assertFree(trx, id, `load balancer "${id}"`);
      const op = await this.begin(trx, row, 'lb.delete', {});
      await trx.updateTable('crusoe_load_balancers').set({ state: ResourceState.Deleting }).where('id', '=', id).execute();
      clientMoved(this.ctx.kernel, trx, LOAD_BALANCER_MACHINE, row, row.state, ResourceState.Deleting);
      return op;
    });
  }

  async find(trx: Executor, projectId: string, id: string): Promise<LoadBalancerRow | undefined> {
    return (await trx.selectFrom('crusoe_load_balancers').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()) as
      | LoadBalancerRow
      | undefined;
  }

  // -------------------------------------------------------------------------------------
  // Completion

  async complete(trx: Transaction<any>, op: OperationRow, at: number): Promise<unknown> {
    const row = await this.mine(trx, op);
    if (!row) return {};
    const release = { busy_operation_id: null, updated_at: at };
    switch (op.action) {
      case 'lb.create': {
        const set = { state: ResourceState.Available, ...release };
        await trx.updateTable('crusoe_load_balancers').set(set).where('id', '=', row.id).execute();
        await this.ctx.kernel.metering.open(trx, {
          accountId: row.account_id,
          cloud: CLOUD,
          scope: row.project_id,
          region: regionOf(row.location),
          resourceId: row.id,
          resourceType: LB_RESOURCE_TYPE,
          metric: LB_METRIC,
          rate: 1,
          at,
        });
        return this.peers.render.loadBalancer({ ...row, ...set });
      }
      case 'lb.update': {
        const params = parseJson<{ name?: string; destinations?: TargetInput[]; health_check?: HealthCheck | null }>(op.params) ?? {};
        const set: Partial<LoadBalancerRow> = { ...release };
        if (params.name !== undefined) set.name = params.name;
        if (params.destinations !== undefined) {
          set.destinations = JSON.stringify(params.destinations);
          // VMs named by the new targets that went away meanwhile are not held.
          const wanted = vmTargets(params.destinations);
          const present = wanted.length === 0 ? [] : (await trx.selectFrom('crusoe_vms').select('id').where('project_id', '=', row.project_id).where('id', 'in', wanted).execute()).map((v) => v.id as string);
          await this.peers.refs.set(trx, row.account_id, row.id, ReferrerKind.loadBalancer, present);
        }
        if (params.health_check !== undefined) set.health_check = params.health_check === null ? null : JSON.stringify(params.health_check);
        await trx.updateTable('crusoe_load_balancers').set(set).where('id', '=', row.id).execute();
        return this.peers.render.loadBalancer({ ...row, ...set });
      }
      case 'lb.delete':
        await this.remove(trx, row, at);
        return {};
      default:
        return {};
    }
  }

  async rollback(trx: Transaction<any>, op: OperationRow, at: number): Promise<void> {
    const row = await this.mine(trx, op);
    if (!row) return;
    if (op.action === 'lb.create') {
      await this.remove(trx, row, at);
      return;
    }
    await trx.updateTable('crusoe_load_balancers').set({ state: ResourceState.Available, busy_operation_id: null, updated_at: at }).where('id', '=', row.id).execute();
  }

  async purgeProject(trx: Transaction<any>, project: ProjectRow): Promise<void> {
    const rows = (await trx.selectFrom('crusoe_load_balancers').selectAll().where('project_id', '=', project.id).execute()) as LoadBalancerRow[];
    for (const row of rows) await this.remove(trx, row, this.ctx.kernel.clockFor(project.account_id).now());
  }

  // -------------------------------------------------------------------------------------

  private async remove(trx: Executor, row: LoadBalancerRow, at: number): Promise<void> {
    const { kernel } = this.ctx;
    await kernel.ipam.release(trx, row.id, [[subnetPool(row.subnet_id), row.private_ip]]);
    await kernel.metering.close(trx, row.id, at);
    await this.peers.refs.clear(trx, [row.id]);
    await trx.deleteFrom('crusoe_load_balancers').where('id', '=', row.id).execute();
  }

  /** Destinations: each a CIDR, or a VM of the project in the balancer's location (which governs when both are given); none twice. */
  private async targets(trx: Executor, projectId: string, location: string, list: TargetInput[]): Promise<TargetInput[]> {
    if (list.length === 0) throw badRequest('"destinations" must hold at least one VM (resource_id) or CIDR');
    const out: TargetInput[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < list.length; i++) {
      const field = `destinations.${i}`;
      const cidr = list[i]!.cidr?.trim() ?? '';
      const resourceId = list[i]!.resource_id?.trim() ?? '';
      if (cidr === '' && resourceId === '') throw badRequest(`"${field}": give a "resource_id" (a VM) or a "cidr"`);
      // Both given (as the seed's samples send them): the VM governs; the CIDR is kept as sent.
      const key = resourceId || cidr;
      if (seen.has(key)) throw badRequest(`"destinations" names ${key} more than once`);
      seen.add(key);
      if (cidr !== '') parseCidrLoose(cidr, `${field}.cidr`);
      if (resourceId === '') {
        out.push({ cidr });
        continue;
      }
      const vm = (await trx.selectFrom('crusoe_vms').select(['id', 'location', 'state']).where('id', '=', resourceId).where('project_id', '=', projectId).executeTakeFirst()) as
        | Pick<VmRow, 'id' | 'location' | 'state'>
        | undefined;
      if (!vm) throw badRequest(`"${field}.resource_id": VM "${resourceId}" not found in this project`);
      if (vm.location !== location) throw badRequest(`"${field}.resource_id": VM "${resourceId}" is in ${vm.location}, the load balancer in ${location}`);
      if (vm.state === VmState.Deleting) throw conflict(`"${field}.resource_id": VM "${resourceId}" is being deleted`);
      out.push(cidr === '' ? { resource_id: resourceId } : { cidr, resource_id: resourceId });
    }
    return out;
  }

  private readonly toChange = rowToChange<LoadBalancerRow>(() => this.ctx, 'crusoe_load_balancers');

  private async idle(trx: Executor, projectId: string, id: string): Promise<LoadBalancerRow> {
    const row = await this.toChange(trx, projectId, id);
    if (!row) throw notFound('load balancer', id);
    assertIdle(row, `load balancer "${id}"`);
    return row;
  }

  private begin(trx: Executor, row: LoadBalancerRow, action: string, params: Record<string, unknown>): Promise<OperationRow> {
    return this.peers.operations.startOn(trx, 'crusoe_load_balancers', Family.loadBalancers, row, action, params);
  }

  private mine(trx: Executor, op: OperationRow): Promise<LoadBalancerRow | undefined> {
    return this.peers.operations.heldBy(trx, 'crusoe_load_balancers', op);
  }

  private async checkNameFree(trx: Executor, projectId: string, name: string, except: string | null): Promise<void> {
    let query = trx.selectFrom('crusoe_load_balancers').select('id').where('project_id', '=', projectId).where('name', '=', name);
    if (except !== null) query = query.where('id', '!=', except);
    if (await query.executeTakeFirst()) throw conflict(`a load balancer named "${name}" already exists in this project`);
  }
}

const vmTargets = (list: TargetInput[]): string[] => list.map((t) => t.resource_id ?? '').filter((id) => id !== '');

/**
 * Health checking: `port` 0 turns it off (null); otherwise the port and the timings, each a
 * whole number (sent as the spec's strings or as numbers), with defaults for those left out.
 */
export function parseHealthCheck(input: HealthCheckInput | undefined): HealthCheck | null {
  if (input === undefined) return null;
  const whole = (value: Number_ | undefined, field: string, min: number, max: number, fallback?: string): string => {
    if (value === undefined || value === '') {
      if (fallback !== undefined) return fallback;
      throw badRequest(`"health_check.${field}" is required`);
    }
    const text = String(value).trim();
    const n = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
    if (!(n >= min && n <= max)) throw badRequest(`"health_check.${field}" must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
    return String(n);
  };
  const port = whole(input.port, 'port', 0, 65535);
  if (port === '0') return null;
  const check: HealthCheck = {
    port,
    interval: whole(input.interval, 'interval', 1, 3600, DEFAULT_HEALTH.interval),
    timeout: whole(input.timeout, 'timeout', 1, 3600, DEFAULT_HEALTH.timeout),
    success_count: whole(input.success_count, 'success_count', 1, 100, DEFAULT_HEALTH.success_count),
    failure_count: whole(input.failure_count, 'failure_count', 1, 100, DEFAULT_HEALTH.failure_count),
  };
  if (Number(check.timeout) > Number(check.interval)) {
    throw badRequest(`"health_check.timeout" (${check.timeout}) must not exceed "health_check.interval" (${check.interval})`);
  }
  return check;
}

/** The load balancer as a resource: its table and place in the fleet (kernel/resources.ts). */
export const loadBalancerResource: ResourceDef<CrusoeModel> = declareResource({
  cloud: CLOUD,
  kind: 'crusoe.load_balancer',
  table: 'crusoe_load_balancers',
  fleet: { collection: 'networking/internal-load-balancers', columns: { type: 'type' }, read: async (m, p, id) => m.render.loadBalancer(await m.loadBalancers.get(p, id)) },
});
