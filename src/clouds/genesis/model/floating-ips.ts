import type { Executor } from '../../../kernel/db/store.js';
import { Code, GenesisError } from '../errors.js';
import type { FloatingIpRow } from '../tables.js';
import type { GenesisContext } from './context.js';

export class FloatingIps {
  constructor(private readonly ctx: GenesisContext) {}

  /** The floating IP named at instance creation: the account's, in the region, and free. */
  async resolveForAttach(trx: Executor, accountId: string, region: string, id: string, instanceId: string | null): Promise<FloatingIpRow> {
    const row = (await trx
      .selectFrom('genesis_floating_ips')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('id', '=', id)
      .executeTakeFirst()) as FloatingIpRow | undefined;
    if (!row) throw new GenesisError(400, Code.BadRequest, `floating ip "${id}" not found`);
    if (row.region !== region) {
      throw new GenesisError(400, Code.RegionsMismatch, `regions mismatch (check floating ip "${id}": it is in ${row.region}, the instance in ${region})`);
    }
    if (row.status !== 'created') throw new GenesisError(400, Code.BadRequest, `floating ip "${id}" cannot be attached while it is ${row.status}`);
    const holder = await trx
      .selectFrom('genesis_instance_links')
      .select('instance_id')
      .where('kind', '=', 'floating_ip')
      .where('target_id', '=', id)
      .executeTakeFirst();
    if (holder && holder.instance_id !== instanceId) {
      throw new GenesisError(400, Code.BadRequest, `floating ip "${id}" is attached to instance "${holder.instance_id}"`);
    }
    return row;
  }
}
