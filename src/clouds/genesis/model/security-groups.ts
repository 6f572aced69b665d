import type { Executor } from '../../../kernel/db/store.js';
import { prepared } from '../../../kernel/db/prepared.js';
import { parseCidr } from '../../../kernel/ipam.js';
import { alreadyDeleting, badRequest, Code, genesisError, GenesisError } from '../errors.js';
import type { SecurityGroupRow } from '../tables.js';
import type { CreateSecurityGroupInput, PutSecurityGroupInput, UpdateSecurityGroupInput } from '../wire.js';
import { CLOUD, Counter, type GenesisContext } from './context.js';
import { getOwned, linkedInstances, renameLinks } from './owned.js';
import { fetchPage, type Page, type PageRequest } from './pagination.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { GenesisModel } from './index.js';
import { renderSecurityGroup } from '../render.js';
import { simpleMachine } from '../lifecycles.js';

export const SECURITY_GROUP_KIND = 'genesis.security_group';
export const DEFAULT_GROUP_NAME = 'standard';
const MAX_RULES = 100;

export interface SecurityGroupRule {
  protocol: 'tcp' | 'udp' | 'icmp' | 'all';
  direction: 'ingress' | 'egress';
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string;
}

const ANYWHERE = '0.0.0.0/0';

/** The rules of each region's default group: SSH and ping in, everything out. */
const defaultRules: SecurityGroupRule[] = [
  { protocol: 'tcp', direction: 'ingress', port_range_min: 22, port_range_max: 22, remote_ip_prefix: ANYWHERE },
  { protocol: 'icmp', direction: 'ingress', port_range_min: null, port_range_max: null, remote_ip_prefix: ANYWHERE },
  { protocol: 'all', direction: 'egress', port_range_min: null, port_range_max: null, remote_ip_prefix: ANYWHERE },
];

/**
 * Checks a rule list as a whole; any problem is 02028 with the rule and field named. Ports
 * belong to tcp and udp only; null on both ends means every port.
 */
export function parseRules(input: unknown[]): SecurityGroupRule[] {
  if (input.length > MAX_RULES) throw invalidRule(`at most ${MAX_RULES} rules are allowed`);
  return input.map((value, index) => {
    const at = `rules.${index}`;
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalidRule(`"${at}" must be an object`);
    const rule = value as Record<string, unknown>;
    const protocol = rule.protocol;
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'icmp' && protocol !== 'all') {
      throw invalidRule(`"${at}.protocol" must be one of: tcp, udp, icmp, all`);
    }
    const direction = rule.direction;
    if (direction !== 'ingress' && direction !== 'egress') throw invalidRule(`"${at}.direction" must be one of: ingress, egress`);
    const min = rule.port_range_min ?? null;
    const max = rule.port_range_max ?? null;
    for (const [field, port] of [['port_range_min', min], ['port_range_max', max]] as const) {
      if (port === null) continue;
      if (protocol !== 'tcp' && protocol !== 'udp') throw invalidRule(`"${at}.${field}" is only allowed for tcp and udp rules`);
      if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
        throw invalidRule(`"${at}.${field}" must be an integer between 1 and 65535`);
      }
    }
    if ((min === null) !== (max === null)) throw invalidRule(`"${at}" must give both port_range_min and port_range_max, or neither`);
    if (min !== null && (min as number) > (max as number)) throw invalidRule(`"${at}.port_range_min" must not exceed port_range_max`);
    const prefix = rule.remote_ip_prefix ?? ANYWHERE;
    if (typeof prefix !== 'string' || !validCidr(prefix)) throw invalidRule(`"${at}.remote_ip_prefix" must be a CIDR such as 203.0.113.0/24`);
    return { protocol, direction, port_range_min: min as number | null, port_range_max: max as number | null, remote_ip_prefix: prefix };
  });
}

function validCidr(value: string): boolean {
  try {
    parseCidr(value);
    return true;
  } catch {
    return /^[0-9a-fA-F:]+\/\d{1,3}$/.test(value) && value.includes(':') && Number(value.split('/')[1]) <= 128;
  }
}

function invalidRule(message: string): GenesisError {
  return genesisError(Code.InvalidRules, `at least one of the provided rules is invalid: ${message}`);
}

/**
 * Security groups: each account has a default group ("standard") per region that cannot be
 * changed or deleted; other groups can be, unless an instance uses them.
 */
export class SecurityGroups {
  constructor(private readonly ctx: GenesisContext) {}

  async list(accountId: string, request: PageRequest): Promise<Page<SecurityGroupRow>> {
    const { db, kernel } = this.ctx;
    return fetchPage(
      db.selectFrom('genesis_security_groups').selectAll().where('account_id', '=', accountId),
      request,
      kernel.counters.get(db, accountId, Counter.securityGroups),
    ) as Promise<Page<SecurityGroupRow>>;
  }

  async get(accountId: string, id: string): Promise<SecurityGroupRow> {
    const read = () => getOwned(this.ctx.db, 'genesis_security_groups', accountId, id, Code.SecurityGroupNotFound, 'security group');
    const row = await read();
    return (await this.ctx.kernel.lifecycle.noteRead(SECURITY_GROUP_KIND, id)) ? read() : row;
  }

  async create(accountId: string, input: CreateSecurityGroupInput): Promise<SecurityGroupRow> {
    const { catalog, kernel, db } = this.ctx;
    const region = input.region ?? catalog.defaultRegion;
    if (!catalog.regions.has(region)) throw badRequest(`"region" must be one of: ${[...catalog.regions.keys()].join(', ')}`);
    const rules = parseRules(input.rules);
    return this.ctx.kernel.lifecycle.groupedTransaction(async (trx) => {
      const row = await this.insert(trx, accountId, {
        name: input.name,
        description: input.description ?? '',
        region,
        status: 'creating',
        is_default: 0,
        rules,
      });
      await kernel.lifecycle.begin(trx, SECURITY_GROUP_KIND, row.id, 'create', { from: null, accountId });
      return row;
    });
  }

  /**
   * The official 2023 spec's PUT: name and rules given in full (at least one rule), the
   * description where given; otherwise the same rules as a PATCH.
   */
  async put(accountId: string, id: string, input: PutSecurityGroupInput): Promise<SecurityGroupRow> {
    if (input.rules.length === 0) throw invalidRule('"rules" must hold at least one rule');
    return this.update(accountId, id, input);
  }

  async update(accountId: string, id: string, input: UpdateSecurityGroupInput): Promise<SecurityGroupRow> {
    const { db, kernel } = this.ctx;
    const rules = input.rules === undefined ? undefined : parseRules(input.rules);
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.lockable(trx, accountId, id, 'updated');
      const set: Partial<SecurityGroupRow> = {};
      if (input.name !== undefined && input.name !== row.name) {
        set.name = input.name;
        await renameLinks(trx, 'security_group', id, input.name);
      }
      if (input.description !== undefined) set.description = input.description;
      if (rules !== undefined) set.rules = JSON.stringify(rules);
      if (Object.keys(set).length > 0) {
        set.updated_at = kernel.clockFor(accountId).now();
        await trx.updateTable('genesis_security_groups').set(set).where('id', '=', id).execute();
      }
      return { ...row, ...set };
    });
  }

  async delete(accountId: string, id: string): Promise<void> {
    const { db, kernel } = this.ctx;
    await this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const group = await this.lockable(trx, accountId, id, 'deleted', true);
      const user = (await linkedInstances(trx, 'security_group', [id])).get(id)?.[0];
      if (user) {
        throw genesisError(Code.SecurityGroupInUse, `security group "${id}" is used by instance "${user.id}" and cannot be deleted`);
      }
      await trx
        .updateTable('genesis_security_groups')
        .set({ status: 'deleting', updated_at: kernel.clockFor(accountId).now() })
        .where('id', '=', id)
        .execute();
      await kernel.lifecycle.begin(trx, SECURITY_GROUP_KIND, id, 'delete', { from: group.status, accountId });
    });
  }

  /** A group that may be changed: not a default group, and not mid-transition. */
  private async lockable(trx: Executor, accountId: string, id: string, verb: string, deleting = false): Promise<SecurityGroupRow> {
    const row = await getOwned(trx, 'genesis_security_groups', accountId, id, Code.SecurityGroupNotFound, 'security group');
    if (row.is_default) throw genesisError(Code.DefaultSecurityGroup, `security group "${id}" is the default group of ${row.region} and cannot be ${verb}`);
    if (deleting && row.status === 'deleting') throw alreadyDeleting(Code.SecurityGroupLocked, 'security group', id);
    if (row.status !== 'created' && row.status !== 'error') {
      throw genesisError(Code.SecurityGroupLocked, `security group "${id}" is locked while it is ${row.status}`);
    }
    return row;
  }

  /** The account's default group in a region (`g`), for a statement to read from (an instance's create links it). */
  defaultIn(accountId: string, region: string) {
    return this.ctx.db.selectFrom('genesis_security_groups as g').where('g.account_id', '=', accountId).where('g.region', '=', region).where('g.is_default', '=', 1).limit(1);
  }

  /** Compiled once (see prepared.ts). */
  private readonly defaultOf = prepared<SecurityGroupRow>((accountId, region) => this.defaultIn(accountId, region).selectAll());

  private readonly defaultRefOf = prepared<Pick<SecurityGroupRow, 'id' | 'name'>>((accountId, region) => this.defaultIn(accountId, region).select(['g.id', 'g.name']));

  /** The account's default group in a region (what a link to it names), created on first need. */
  async ensureDefaultRef(trx: Executor, accountId: string, region: string): Promise<Pick<SecurityGroupRow, 'id' | 'name'>> {
    const [existing] = await this.defaultRefOf(trx, accountId, region);
    return existing ?? this.ensureDefault(trx, accountId, region);
  }

  /** The account's default group in a region, created on first need. */
  async ensureDefault(trx: Executor, accountId: string, region: string): Promise<SecurityGroupRow> {
    const [existing] = await this.defaultOf(trx, accountId, region);
    if (existing) return existing;
    return this.insert(trx, accountId, {
      name: DEFAULT_GROUP_NAME,
      description: 'Default security group',
      region,
      status: 'created',
      is_default: 1,
      rules: defaultRules,
    });
  }

  /** Every region's default group, for a new account. */
  async createDefaults(trx: Executor, accountId: string): Promise<void> {
    for (const region of this.ctx.catalog.regions.keys()) await this.ensureDefault(trx, accountId, region);
  }

  /**
   * Groups named for attachment to an instance in `region`: each must be the account's, in
   * that region, and settled (not being created or deleted).
   */
  async resolveForAttach(
    trx: Executor,
    accountId: string,
    region: string,
    ids: readonly string[],
    /** At creation an unknown group is the seed's 02007 "Invalid security group"; in a PATCH, 02030 (cannot be attached). */
    during: 'create' | 'update' = 'update',
  ): Promise<SecurityGroupRow[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    const rows = (await trx
      .selectFrom('genesis_security_groups')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('id', 'in', unique)
      .execute()) as SecurityGroupRow[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of unique) {
      const group = byId.get(id);
      if (!group) {
        if (during === 'create') throw genesisError(Code.InvalidSecurityGroup, `invalid security group: "${id}" is not one of this account's security groups`);
        throw genesisError(Code.SecurityGroupsNotAttachable, `security group "${id}" cannot be attached: it does not exist`);
      }
      if (group.region !== region) {
        throw genesisError(Code.RegionsMismatch, `regions mismatch (check security group "${id}": it is in ${group.region}, the instance in ${region})`);
      }
      if (group.status !== 'created') {
        throw genesisError(Code.SecurityGroupsNotAttachable, `security group "${id}" cannot be attached while it is ${group.status}`);
      }
    }
    return unique.map((id) => byId.get(id)!);
  }

  private async insert(
    trx: Executor,
    accountId: string,
    fields: { name: string; description: string; region: string; status: string; is_default: number; rules: SecurityGroupRule[] },
  ): Promise<SecurityGroupRow> {
    const { kernel } = this.ctx;
    const now = kernel.clockFor(accountId).now();
    const row: SecurityGroupRow = {
      id: kernel.ids.uuid(),
      account_id: accountId,
      ...fields,
      is_internal: 0,
      rules: JSON.stringify(fields.rules),
      seq: kernel.ids.ordinal(now),
      created_at: now,
      updated_at: now,
    };
    await trx.insertInto('genesis_security_groups').values(row).execute();
    await kernel.counters.add(trx, accountId, Counter.securityGroups, 1);
    return row;
  }
}

/** The security group as a resource: its table, counter, machine and place in the fleet (kernel/resources.ts). */
export const securityGroupResource: ResourceDef<GenesisModel> = declareResource({
  cloud: CLOUD,
  kind: SECURITY_GROUP_KIND,
  table: 'genesis_security_groups',
  counter: Counter.securityGroups,
  machine: (m) => simpleMachine(m.ctx, securityGroupResource, [5, 5]),
  fleet: { collection: 'security-groups', read: async (m, a, id) => ({ security_group: renderSecurityGroup(await m.securityGroups.get(a, id)) }) },
});
