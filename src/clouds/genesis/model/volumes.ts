import type { Executor } from '../../../kernel/db/store.js';
import { Code, GenesisError } from '../errors.js';
import type { VolumeRow } from '../tables.js';
import type { GenesisContext } from './context.js';

export class Volumes {
  constructor(private readonly ctx: GenesisContext) {}

  /**
   * Volumes named for attachment to `instanceId` in `region`: each must be the account's, in
   * that region, settled (not being created or deleted), and not attached to another instance.
   */
  async resolveForAttach(
    trx: Executor,
    accountId: string,
    region: string,
    ids: readonly string[],
    instanceId: string | null,
  ): Promise<VolumeRow[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    const rows = (await trx
      .selectFrom('genesis_volumes')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('id', 'in', unique)
      .execute()) as VolumeRow[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const holders = await trx
      .selectFrom('genesis_instance_links')
      .select(['target_id', 'instance_id'])
      .where('kind', '=', 'volume')
      .where('target_id', 'in', unique)
      .execute();
    for (const id of unique) {
      const volume = byId.get(id);
      if (!volume) throw new GenesisError(400, Code.VolumesNotAttachable, `volume "${id}" cannot be attached: it does not exist`);
      if (volume.region !== region) {
        throw new GenesisError(400, Code.RegionsMismatch, `regions mismatch (check volume "${id}": it is in ${volume.region}, the instance in ${region})`);
      }
      if (volume.status === 'creating') throw new GenesisError(400, Code.VolumeLocked, `volume "${id}" is locked while it is being created`);
      if (volume.status !== 'created') {
        throw new GenesisError(400, Code.VolumesNotAttachable, `volume "${id}" cannot be attached while it is ${volume.status}`);
      }
      const holder = holders.find((h) => h.target_id === id && h.instance_id !== instanceId);
      if (holder) {
        throw new GenesisError(400, Code.VolumesNotAttachable, `volume "${id}" cannot be attached: it is in use by instance "${holder.instance_id}"`);
      }
    }
    return unique.map((id) => byId.get(id)!);
  }
}
