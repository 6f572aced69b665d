import type { Transaction } from 'kysely';
import type { Executor } from '../../../kernel/db/store.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { FirewallRuleRow, OperationRow, ProjectRow } from '../tables.js';
import { CLOUD, parseJson, type CrusoeContext } from './context.js';
import { parseCidrLoose, parsePorts, parseProtocols } from './net.js';
import type { Networks } from './networks.js';
import { Family, type OperationHandler, type Operations } from './operations.js';
import { ReferrerKind, type References } from './references.js';
import type { Renderers } from './renderers.js';
import { assertIdle, operationMachine, resourceName, ResourceState, clientMoved, rowToChange } from './resource.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { CrusoeModel } from './index.js';

export const FIREWALL_ACTIONS = ['allow', 'deny'] as const;
export const DIRECTIONS = ['ingress', 'egress'] as const;
/** A firewall rule's machine (the wire shows `available` as active, any other state as inactive). */
export const FIREWALL_RULE_MACHINE = operationMachine('crusoe.firewall_rule', 'crusoe_firewall_rules', Object.values(ResourceState), {
  create: { from: [], via: ResourceState.Creating, to: ResourceState.Available, transition: 'firewall.create', after: { fast: 1_000, realistic: 10_000 } },
  update: { from: [ResourceState.Available], transition: 'firewall.update', after: { fast: 1_000, realistic: 10_000 } },
  delete: { from: [ResourceState.Available], via: ResourceState.Deleting, to: null, transition: 'firewall.delete', after: { fast: 1_000, realistic: 10_000 } },
});

/** A source or destination: an IPv4 CIDR or the id of a resource in the project. */
export interface EndpointInput {
  cidr?: string;
  resource_id?: string;
}
export type ListInput = string | (string | number)[];

export interface CreateRuleInput {
  name: string;
  action: (typeof FIREWALL_ACTIONS)[number];
  direction: (typeof DIRECTIONS)[number];
  vpc_network_id: string;
  protocols: ListInput;
  sources: EndpointInput[];
  destinations: EndpointInput[];
  source_ports?: ListInput;
  destination_ports?: ListInput;
}

export interface PatchRuleInput {
  name?: string;
  protocols?: ListInput;
  sources?: EndpointInput[];
  destinations?: EndpointInput[];
  source_ports?: ListInput;
  destination_ports?: ListInput;
}

/** What resource ids a firewall rule may name: the project's VMs, subnets, networks and load balancers. */
const NAMEABLE = [
  ['crusoe_vms', 'VM'],
  ['crusoe_vpc_subnets', 'VPC subnet'],
  ['crusoe_vpc_networks', 'VPC network'],
  ['crusoe_load_balancers', 'load balancer'],
] as const;

interface Peers {
  operations: Operations;
  refs: References;
  networks: Networks;
  render: Renderers;
}

interface RuleFields {
  name: string;
  protocols: string[];
  source_ports: string[];
  destination_ports: string[];
  sources: EndpointInput[];
  destinations: EndpointInput[];
}

/**
 * VPC firewall rules: allow or deny, ingress or egress, protocols, ports and port ranges,
 * sources and destinations as CIDRs or resource ids, in one VPC network. A rule is
 * `inactive` until its create operation completes and again while it is being deleted. A
 * resource a rule names cannot be deleted while the rule stands.
 */
export class FirewallRules implements OperationHandler {
  readonly machines = [FIREWALL_RULE_MACHINE];

  constructor(
    private readonly ctx: CrusoeContext,
    private readonly peers: Peers,
  ) {}

  async list(projectId: string): Promise<FirewallRuleRow[]> {
    return (await this.ctx.db.selectFrom('crusoe_firewall_rules').selectAll().where('project_id', '=', projectId).orderBy('seq').orderBy('id').execute()) as FirewallRuleRow[];
  }

  async get(projectId: string, id: string): Promise<FirewallRuleRow> {
    const row = await this.find(this.ctx.db, projectId, id);
    if (!row) throw notFound('firewall rule', id);
    return row;
  }

  async create(accountId: string, projectId: string, input: CreateRuleInput): Promise<OperationRow> {
    const { kernel } = this.ctx;
    return kernel.lifecycle.groupedTransaction(async (trx) => {
      const network = await this.peers.networks.usableNetwork(trx, projectId, input.vpc_network_id, 'vpc_network_id');
      const fields = await this.fields(trx, projectId, input, null);
      await this.checkNameFree(trx, network.id, fields.name, null);
      const now = kernel.clockFor(accountId).now();
      const row: FirewallRuleRow = {
        id: kernel.ids.uuid(),
        account_id: accountId,
        project_id: projectId,
        network_id: network.id,
        name: fields.name,
        action: input.action,
        direction: input.direction,
        protocols: JSON.stringify(fields.protocols),
        source_ports: JSON.stringify(fields.source_ports),
        destination_ports: JSON.stringify(fields.destination_ports),
        sources: JSON.stringify(fields.sources),
        destinations: JSON.stringify(fields.destinations),
        state: ResourceState.Creating,
        busy_operation_id: null,
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('crusoe_firewall_rules').values(row).execute();
      clientMoved(kernel, trx, FIREWALL_RULE_MACHINE, row, null, row.state);
      await this.peers.refs.set(trx, accountId, row.id, ReferrerKind.firewallRule, targets(fields));
      return this.begin(trx, row, 'firewall.create', {});
    });
  }

  /** PATCH: the fields sent replace the rule's, when the operation completes. */
  async update(projectId: string, id: string, input: PatchRuleInput): Promise<OperationRow> {
    if (Object.values(input).every((v) => v === undefined)) {
      throw badRequest('the request changes nothing: send "name", "protocols", "sources", "destinations", "source_ports" or "destination_ports"');
    }
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await this.idle(trx, projectId, id);
      const fields = await this.fields(trx, projectId, input, row);
      if (fields.name !== row.name) await this.checkNameFree(trx, row.network_id, fields.name, row.id);
      return this.begin(trx, row, 'firewall.update', { fields });
    });
  }

  async delete(projectId: string, id: string): Promise<OperationRow> {
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.idle(trx, projectId, id);
      const op = await this.begin(trx, row, 'firewall.delete', {});
      await trx.updateTable('crusoe_firewall_rules').set({ state: ResourceState.Deleting }).where('id', '=', id).execute();
      clientMoved(this.ctx.kernel, trx, FIREWALL_RULE_MACHINE, row, row.state, ResourceState.Deleting);
      return op;
    });
  }

  async find(trx: Executor, projectId: string, id: string): Promise<FirewallRuleRow | undefined> {
    return (await trx.selectFrom('crusoe_firewall_rules').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()) as
      | FirewallRuleRow
      | undefined;
  }

  // -------------------------------------------------------------------------------------
  // Completion

  async complete(trx: Transaction<any>, op: OperationRow, at: number): Promise<unknown> {
    const row = await this.mine(trx, op);
    if (!row) return {};
    const release = { busy_operation_id: null, updated_at: at };
    switch (op.action) {
      case 'firewall.create': {
        const set = { state: ResourceState.Available, ...release };
        await trx.updateTable('crusoe_firewall_rules').set(set).where('id', '=', row.id).execute();
        return this.peers.render.firewallRule({ ...row, ...set });
      }
      case 'firewall.update': {
        const fields = (parseJson<{ fields: RuleFields }>(op.params)?.fields ?? {}) as RuleFields;
        const set = {
          name: fields.name,
          protocols: JSON.stringify(fields.protocols),
          source_ports: JSON.stringify(fields.source_ports),
          destination_ports: JSON.stringify(fields.destination_ports),
          sources: JSON.stringify(fields.sources),
          destinations: JSON.stringify(fields.destinations),
          ...release,
        };
        await trx.updateTable('crusoe_firewall_rules').set(set).where('id', '=', row.id).execute();
        // Resources named by the new version that went away meanwhile are not held.
        await this.peers.refs.set(trx, row.account_id, row.id, ReferrerKind.firewallRule, await this.existing(trx, row.project_id, targets(fields)));
        return this.peers.render.firewallRule({ ...row, ...set });
      }
      case 'firewall.delete':
        await this.remove(trx, [row.id]);
        return {};
      default:
        return {};
    }
  }

  async rollback(trx: Transaction<any>, op: OperationRow, at: number): Promise<void> {
    const row = await this.mine(trx, op);
    if (!row) return;
    if (op.action === 'firewall.create') {
      await this.remove(trx, [row.id]);
      return;
    }
    await trx.updateTable('crusoe_firewall_rules').set({ state: ResourceState.Available, busy_operation_id: null, updated_at: at }).where('id', '=', row.id).execute();
  }

  async purgeProject(trx: Transaction<any>, project: ProjectRow): Promise<void> {
    const ids = (await trx.selectFrom('crusoe_firewall_rules').select('id').where('project_id', '=', project.id).execute()).map((r) => r.id as string);
    await this.remove(trx, ids);
  }

  // -------------------------------------------------------------------------------------

  /** The rule's fields after a create or a PATCH (unsent PATCH fields keep the rule's), all checked. */
  private async fields(trx: Executor, projectId: string, input: PatchRuleInput, current: FirewallRuleRow | null): Promise<RuleFields> {
    const keep = <T>(column: string): T => parseJson<T>((current as unknown as Record<string, string>)[column]!) as T;
    const protocols = input.protocols !== undefined || !current ? parseProtocols(input.protocols, 'protocols') : keep<string[]>('protocols');
    const sourcePorts = input.source_ports !== undefined || !current ? parsePorts(input.source_ports, 'source_ports') : keep<string[]>('source_ports');
    const destinationPorts = input.destination_ports !== undefined || !current ? parsePorts(input.destination_ports, 'destination_ports') : keep<string[]>('destination_ports');
    if (!protocols.some((p) => p === 'tcp' || p === 'udp' || p === 'all')) {
      if (sourcePorts.length > 0) throw badRequest('"source_ports": ports apply to tcp and udp only; this rule\'s protocols are ' + protocols.join(', '));
      if (destinationPorts.length > 0) throw badRequest('"destination_ports": ports apply to tcp and udp only; this rule\'s protocols are ' + protocols.join(', '));
    }
    const sources = input.sources !== undefined || !current ? await this.endpoints(trx, projectId, input.sources ?? [], 'sources') : keep<EndpointInput[]>('sources');
    const destinations =
      input.destinations !== undefined || !current ? await this.endpoints(trx, projectId, input.destinations ?? [], 'destinations') : keep<EndpointInput[]>('destinations');
    return {
      name: input.name !== undefined ? resourceName(input.name) : current ? current.name : resourceName(''),
      protocols,
      source_ports: sourcePorts,
      destination_ports: destinationPorts,
      sources,
      destinations,
    };
  }

  /**
   * Sources or destinations: each a CIDR or a resource id of the project, at least one. With
   * both (the seed's samples send both), the resource governs and the CIDR is kept as sent.
   */
  private async endpoints(trx: Executor, projectId: string, list: EndpointInput[], field: string): Promise<EndpointInput[]> {
    if (list.length === 0) throw badRequest(`"${field}" must hold at least one CIDR or resource id`);
    const out: EndpointInput[] = [];
    for (let i = 0; i < list.length; i++) {
      const cidr = list[i]!.cidr?.trim() ?? '';
      const resourceId = list[i]!.resource_id?.trim() ?? '';
      if (cidr === '' && resourceId === '') throw badRequest(`"${field}.${i}": give a "cidr" (e.g. "10.0.0.0/16") or a "resource_id"`);
      if (cidr !== '') parseCidrLoose(cidr, `${field}.${i}.cidr`);
      if (resourceId === '') {
        out.push({ cidr });
        continue;
      }
      if (!(await this.nameable(trx, projectId, resourceId))) {
        throw badRequest(`"${field}.${i}.resource_id": no VM, VPC subnet, VPC network or load balancer "${resourceId}" in this project`);
      }
      // Both given (as every seed sample does): the resource governs; the CIDR is kept as sent.
      out.push(cidr === '' ? { resource_id: resourceId } : { cidr, resource_id: resourceId });
    }
    return out;
  }

  private async nameable(trx: Executor, projectId: string, id: string): Promise<boolean> {
    for (const [table] of NAMEABLE) {
      const found = await trx.selectFrom(table).select('id').where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst();
      if (found) return true;
    }
    return false;
  }

  private async existing(trx: Executor, projectId: string, ids: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const id of ids) if (await this.nameable(trx, projectId, id)) out.push(id);
    return out;
  }

  private async remove(trx: Executor, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.peers.refs.clear(trx, ids);
    await trx.deleteFrom('crusoe_firewall_rules').where('id', 'in', ids).execute();
  }

  private readonly toChange = rowToChange<FirewallRuleRow>(() => this.ctx, 'crusoe_firewall_rules');

  private async idle(trx: Executor, projectId: string, id: string): Promise<FirewallRuleRow> {
    const row = await this.toChange(trx, projectId, id);
    if (!row) throw notFound('firewall rule', id);
    assertIdle(row, `firewall rule "${id}"`);
    return row;
  }

  private begin(trx: Executor, row: FirewallRuleRow, action: string, params: Record<string, unknown>): Promise<OperationRow> {
    return this.peers.operations.startOn(trx, 'crusoe_firewall_rules', Family.firewallRules, row, action, params);
  }

  private mine(trx: Executor, op: OperationRow): Promise<FirewallRuleRow | undefined> {
    return this.peers.operations.heldBy(trx, 'crusoe_firewall_rules', op);
  }

  private async checkNameFree(trx: Executor, networkId: string, name: string, except: string | null): Promise<void> {
    let query = trx.selectFrom('crusoe_firewall_rules').select('id').where('network_id', '=', networkId).where('name', '=', name);
    if (except !== null) query = query.where('id', '!=', except);
    if (await query.executeTakeFirst()) throw conflict(`a firewall rule named "${name}" already exists in this VPC network`);
  }
}

function targets(fields: Pick<RuleFields, 'sources' | 'destinations'>): string[] {
  return [...fields.sources, ...fields.destinations].map((e) => e.resource_id ?? '').filter((id) => id !== '');
}

/** The firewall rule as a resource: its table and place in the fleet (kernel/resources.ts). */
export const firewallRuleResource: ResourceDef<CrusoeModel> = declareResource({
  cloud: CLOUD,
  kind: 'crusoe.firewall_rule',
  table: 'crusoe_firewall_rules',
  fleet: { collection: 'networking/vpc-firewall-rules', columns: { region: null }, wireStatus: { map: { [ResourceState.Available]: 'active' }, otherwise: 'inactive' }, read: async (m, p, id) => m.render.firewallRule(await m.firewallRules.get(p, id)) },
});
