import type { Executor } from '../../../kernel/db/store.js';
import { alreadyDeleting, badRequest, Code, genesisError } from '../errors.js';
import type { VolumeRow } from '../tables.js';
import type { CreateVolumeInput, UpdateVolumeInput } from '../wire.js';
import { CLOUD, Counter, type GenesisContext } from './context.js';
import { getOwned, linkedInstances, renameLinks } from './owned.js';
import { fetchPage, type Page, type PageRequest } from './pagination.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { GenesisModel } from './index.js';
import { renderVolume } from '../render.js';
import { simpleMachine } from '../lifecycles.js';

export const VOLUME_KIND = 'genesis.volume';
export const MIN_VOLUME_GIB = 1;
export const MAX_VOLUME_GIB = 20_480;

export interface VolumeView {
  row: VolumeRow;
  instances: { id: string; name: string }[];
}

/**
 * Block volumes: created in one region, attached to instances of that region through the
 * instance (create or PATCH), grown but never shrunk, and never deleted while attached.
 */
export class Volumes {
  constructor(private readonly ctx: GenesisContext) {}

  async list(accountId: string, request: PageRequest): Promise<Page<VolumeView>> {
    const { db, kernel } = this.ctx;
    const page = await fetchPage(
      db.selectFrom('genesis_volumes').selectAll().where('account_id', '=', accountId),
      request,
      kernel.counters.get(db, accountId, Counter.volumes),
    );
    return { ...page, items: await this.views(db, page.items as VolumeRow[]) };
  }

  async get(accountId: string, id: string): Promise<VolumeView> {
    let row = await this.find(this.ctx.db, accountId, id);
    if (await this.ctx.kernel.lifecycle.noteRead(VOLUME_KIND, id)) row = await this.find(this.ctx.db, accountId, id);
    return (await this.views(this.ctx.db, [row]))[0]!;
  }

  async create(accountId: string, input: CreateVolumeInput): Promise<VolumeView> {
    const { catalog, kernel, db } = this.ctx;
    const region = catalog.regions.get(input.region ?? catalog.defaultRegion);
    if (!region) throw badRequest(`"region" must be one of: ${[...catalog.regions.keys()].join(', ')}`);
    const type = input.type ?? 'ssd';
    if (!region.volume_types.includes(type)) {
      throw genesisError(Code.VolumeTypeUnavailable, `volume type "${type}" is not available in ${region.id} (available: ${region.volume_types.join(', ')})`);
    }
    checkSize(input.size);
    return this.ctx.kernel.lifecycle.groupedTransaction(async (trx) => {
      if (!(await kernel.counters.acquire(trx, accountId, Counter.volumes))) {
        const limit = await kernel.counters.limit(trx, accountId, Counter.volumes);
        throw genesisError(Code.MaxQuotaReached, `max quota reached: this account may keep at most ${limit} volumes`);
      }
      const now = kernel.clockFor(accountId).now();
      const row: VolumeRow = {
        id: kernel.ids.uuid(),
        account_id: accountId,
        name: input.name,
        description: input.description ?? '',
        type,
        size: input.size,
        region: region.id,
        status: 'creating',
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('genesis_volumes').values(row).execute();
      await kernel.lifecycle.begin(trx, VOLUME_KIND, row.id, 'create', { from: null, accountId });
      return { row, instances: [] };
    });
  }

  async update(accountId: string, id: string, input: UpdateVolumeInput): Promise<VolumeView> {
    const { db, kernel } = this.ctx;
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.find(trx, accountId, id);
      if (row.status !== 'created') throw genesisError(Code.VolumeLocked, `volume "${id}" is locked while it is ${row.status}`);
      const set: Partial<VolumeRow> = {};
      if (input.name !== undefined && input.name !== row.name) {
        set.name = input.name;
        await renameLinks(trx, 'volume', id, input.name);
      }
      if (input.description !== undefined) set.description = input.description;
      if (input.size !== undefined && input.size !== row.size) {
        if (input.size < row.size) throw badRequest(`"size" can only be increased (the volume has ${row.size} GiB)`);
        checkSize(input.size);
        set.size = input.size;
      }
      if (Object.keys(set).length > 0) {
        set.updated_at = kernel.clockFor(accountId).now();
        await trx.updateTable('genesis_volumes').set(set).where('id', '=', id).execute();
      }
      return (await this.views(trx, [{ ...row, ...set }]))[0]!;
    });
  }

  async delete(accountId: string, id: string): Promise<void> {
    const { db, kernel } = this.ctx;
    await this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.find(trx, accountId, id);
      if (row.status === 'deleting') throw alreadyDeleting(Code.VolumeLocked, 'volume', id);
      const holder = (await linkedInstances(trx, 'volume', [id])).get(id)?.[0];
      if (holder) {
        throw genesisError(Code.VolumeAttached, `volume "${id}" is attached to instance "${holder.id}": detach it before deleting`);
      }
      if (row.status !== 'created' && row.status !== 'error') {
        throw genesisError(Code.VolumeLocked, `volume "${id}" is locked while it is ${row.status}`);
      }
      await trx.updateTable('genesis_volumes').set({ status: 'deleting', updated_at: kernel.clockFor(accountId).now() }).where('id', '=', id).execute();
      await kernel.lifecycle.begin(trx, VOLUME_KIND, id, 'delete', { from: row.status, accountId });
    });
  }

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
    const holders = await linkedInstances(trx, 'volume', unique);
    for (const id of unique) {
      const volume = byId.get(id);
      if (!volume) throw genesisError(Code.VolumesNotAttachable, `volume "${id}" cannot be attached: it does not exist`);
      if (volume.region !== region) {
        throw genesisError(Code.RegionsMismatch, `regions mismatch (check volume "${id}": it is in ${volume.region}, the instance in ${region})`);
      }
      if (volume.status === 'creating') throw genesisError(Code.VolumeLocked, `volume "${id}" is locked while it is being created`);
      if (volume.status !== 'created') {
        throw genesisError(Code.VolumesNotAttachable, `volume "${id}" cannot be attached while it is ${volume.status}`);
      }
      const holder = holders.get(id)?.find((h) => h.id !== instanceId);
      if (holder) {
        throw genesisError(Code.VolumesNotAttachable, `volume "${id}" cannot be attached: it is in use by instance "${holder.id}"`);
      }
    }
    return unique.map((id) => byId.get(id)!);
  }

  private async find(trx: Executor, accountId: string, id: string): Promise<VolumeRow> {
    return getOwned(trx, 'genesis_volumes', accountId, id, Code.VolumeNotFound, 'volume');
  }

  private async views(trx: Executor, rows: VolumeRow[]): Promise<VolumeView[]> {
    const instances = await linkedInstances(
      trx,
      'volume',
      rows.map((r) => r.id),
    );
    return rows.map((row) => ({ row, instances: instances.get(row.id) ?? [] }));
  }
}

function checkSize(size: number): void {
  if (size < MIN_VOLUME_GIB || size > MAX_VOLUME_GIB) throw badRequest(`"size" must be between ${MIN_VOLUME_GIB} and ${MAX_VOLUME_GIB} (GiB)`);
}

/** The volume as a resource: its table, counter, quota, machine and place in the fleet (kernel/resources.ts). */
export const volumeResource: ResourceDef<GenesisModel> = declareResource({
  cloud: CLOUD,
  kind: VOLUME_KIND,
  table: 'genesis_volumes',
  counter: Counter.volumes,
  quota: 1000,
  machine: (m) => simpleMachine(m.ctx, volumeResource, [20, 10]),
  fleet: { collection: 'volumes', columns: { type: 'type' }, read: async (m, a, id) => ({ volume: renderVolume(await m.volumes.get(a, id)) }) },
});
