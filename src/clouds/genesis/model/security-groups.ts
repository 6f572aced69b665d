import type { Executor } from '../../../kernel/db/store.js';
import { Code, GenesisError } from '../errors.js';
import type { SecurityGroupRow } from '../tables.js';
import { Counter, type GenesisContext } from './context.js';

export interface SecurityGroupRule {
  protocol: 'tcp' | 'udp' | 'icmp' | 'all';
  direction: 'ingress' | 'egress';
  port_range_min: number | null;
  port_range_max: number | null;
}

export const DEFAULT_GROUP_NAME = 'standard';

/** The rules of each region's default group: SSH and ping in, everything out. */
const defaultRules: SecurityGroupRule[] = [
  { protocol: 'tcp', direction: 'ingress', port_range_min: 22, port_range_max: 22 },
  { protocol: 'icmp', direction: 'ingress', port_range_min: null, port_range_max: null },
  { protocol: 'all', direction: 'egress', port_range_min: null, port_range_max: null },
];

export class SecurityGroups {
  constructor(private readonly ctx: GenesisContext) {}

  /** The account's default group in a region, created on first need. */
  async ensureDefault(trx: Executor, accountId: string, region: string): Promise<SecurityGroupRow> {
    const existing = await trx
      .selectFrom('genesis_security_groups')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('region', '=', region)
      .where('is_default', '=', 1)
      .executeTakeFirst();
    if (existing) return existing as SecurityGroupRow;
    const { kernel } = this.ctx;
    const now = kernel.clock.now();
    const row: SecurityGroupRow = {
      id: kernel.ids.uuid(),
      account_id: accountId,
      name: DEFAULT_GROUP_NAME,
      description: 'Default security group',
      region,
      status: 'created',
      is_default: 1,
      is_internal: 0,
      rules: JSON.stringify(defaultRules),
      created_at: now,
      updated_at: now,
    };
    await trx.insertInto('genesis_security_groups').values(row).execute();
    await kernel.counters.add(trx, accountId, Counter.securityGroups, 1);
    return row;
  }

  /** Every region's default group, for a new account. */
  async createDefaults(trx: Executor, accountId: string): Promise<void> {
    for (const region of this.ctx.catalog.regions.keys()) await this.ensureDefault(trx, accountId, region);
  }

  /**
   * Groups named for attachment to an instance in `region`: each must be the account's, in
   * that region, and settled (not being created or deleted).
   */
  async resolveForAttach(trx: Executor, accountId: string, region: string, ids: readonly string[]): Promise<SecurityGroupRow[]> {
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
      if (!group) throw new GenesisError(400, Code.SecurityGroupsNotAttachable, `security group "${id}" cannot be attached: it does not exist`);
      if (group.region !== region) {
        throw new GenesisError(400, Code.RegionsMismatch, `regions mismatch (check security group "${id}": it is in ${group.region}, the instance in ${region})`);
      }
      if (group.status !== 'created') {
        throw new GenesisError(400, Code.SecurityGroupsNotAttachable, `security group "${id}" cannot be attached while it is ${group.status}`);
      }
    }
    return unique.map((id) => byId.get(id)!);
  }
}
