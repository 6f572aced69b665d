import type { Executor } from '../../../kernel/db/store.js';
import { alreadyDeleting, badRequest, Code, genesisError, notFound } from '../errors.js';
import type { InstanceRow, SnapshotRow } from '../tables.js';
import type { CreateSnapshotInput } from '../wire.js';
import { CLOUD, Counter, type GenesisContext } from './context.js';
import { fetchPage, type Page, type PageRequest } from './pagination.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { GenesisModel } from './index.js';
import { renderSnapshot } from '../render.js';
import { simpleMachine } from '../lifecycles.js';

export const SNAPSHOT_KIND = 'genesis.snapshot';

/**
 * Snapshots: of an instance's boot disk, imported from an image URL, or cloned into another
 * region. A snapshot in use as an instance's image cannot be deleted.
 */
export class Snapshots {
  constructor(private readonly ctx: GenesisContext) {}

  async list(accountId: string, request: PageRequest): Promise<Page<SnapshotRow>> {
    const { db, kernel } = this.ctx;
    return fetchPage(
      db.selectFrom('genesis_snapshots').selectAll().where('account_id', '=', accountId),
      request,
      kernel.counters.get(db, accountId, Counter.snapshots),
    );
  }

  async listForInstance(accountId: string, instanceId: string, request: PageRequest): Promise<Page<SnapshotRow>> {
    const { db } = this.ctx;
    const base = db
      .selectFrom('genesis_snapshots')
      .where('source_instance_id', '=', instanceId)
      .where('account_id', '=', accountId);
    const total = base
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
    return fetchPage(base.selectAll(), request, total);
  }

  async get(accountId: string, id: string): Promise<SnapshotRow> {
    let row = await this.findOwned(this.ctx.db, accountId, id);
    if (row && (await this.ctx.kernel.lifecycle.noteRead(SNAPSHOT_KIND, id))) row = await this.findOwned(this.ctx.db, accountId, id);
    if (!row) throw notFound(Code.SnapshotNotFound, 'snapshot', id);
    return row;
  }

  async findOwned(trx: Executor, accountId: string, id: string): Promise<SnapshotRow | undefined> {
    return (await trx
      .selectFrom('genesis_snapshots')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', accountId)
      .executeTakeFirst()) as SnapshotRow | undefined;
  }

  /** Images of type snapshot: the account's snapshots that are ready to boot from. */
  async usable(accountId: string): Promise<SnapshotRow[]> {
    return (await this.ctx.db
      .selectFrom('genesis_snapshots')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('status', '=', 'created')
      .orderBy('seq')
      .execute()) as SnapshotRow[];
  }

  async createFromUrl(accountId: string, input: CreateSnapshotInput): Promise<SnapshotRow> {
    this.checkRegion(input.region, 'region');
    if (input.size < 1) throw badRequest('"size" must be at least 1 (GiB)');
    let url: URL;
    try {
      url = new URL(input.url);
    } catch {
      throw badRequest('"url" must be an absolute http(s) URL of a raw or zstd-compressed raw image');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw badRequest('"url" must be an absolute http(s) URL of a raw or zstd-compressed raw image');
    }
    return this.ctx.kernel.lifecycle.groupedTransaction(async (trx) => {
      await this.acquireQuota(trx, accountId, Code.MaxQuotaReached);
      return this.insert(trx, {
        account_id: accountId,
        name: input.name,
        size: input.size,
        region: input.region,
        os_type: input.os_type ?? 'linux',
        resource_id: '',
        source_instance_id: null,
        source_snapshot_id: null,
        source_url: input.url,
      });
    });
  }

  /** Called by the instance model with the instance locked in the same transaction. */
  async createFromInstance(trx: Executor, instance: InstanceRow, input: { name: string; replicated_region?: string }): Promise<SnapshotRow> {
    if (input.replicated_region !== undefined) this.checkRegion(input.replicated_region, 'replicated_region');
    const running = await trx
      .selectFrom('genesis_snapshots')
      .select('id')
      .where('source_instance_id', '=', instance.id)
      .where('status', '=', 'creating')
      .executeTakeFirst();
    if (running) {
      throw genesisError(Code.SnapshotInProgress, `a snapshot of instance "${instance.id}" is already being created ("${running.id}")`);
    }
    const copies = input.replicated_region !== undefined && input.replicated_region !== instance.region ? 2 : 1;
    await this.acquireQuota(trx, instance.account_id, Code.MaxSnapshotQuotaReached, copies);
    const fields = {
      account_id: instance.account_id,
      name: input.name,
      size: instance.disk_size,
      os_type: instance.os_type,
      resource_id: instance.id,
      source_instance_id: instance.id,
      source_url: null,
    };
    const snapshot = await this.insert(trx, { ...fields, region: instance.region, source_snapshot_id: null });
    if (copies === 2) await this.insert(trx, { ...fields, region: input.replicated_region!, source_snapshot_id: snapshot.id });
    return snapshot;
  }

  async clone(accountId: string, id: string, input: { name: string; region: string }): Promise<SnapshotRow> {
    this.checkRegion(input.region, 'region');
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const source = await this.findOwned(trx, accountId, id);
      if (!source) throw notFound(Code.SnapshotNotFound, 'snapshot', id);
      if (source.status !== 'created') throw genesisError(Code.NotAllowed, `snapshot "${id}" cannot be cloned while it is ${source.status}`);
      await this.acquireQuota(trx, accountId, Code.MaxQuotaReached);
      return this.insert(trx, {
        account_id: accountId,
        name: input.name,
        size: source.size,
        region: input.region,
        os_type: source.os_type,
        resource_id: source.resource_id,
        source_instance_id: null,
        source_snapshot_id: source.id,
        source_url: null,
      });
    });
  }

  async rename(accountId: string, id: string, name: string | undefined): Promise<SnapshotRow> {
    const { db, kernel } = this.ctx;
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.findOwned(trx, accountId, id);
      if (!row) throw notFound(Code.SnapshotNotFound, 'snapshot', id);
      if (name === undefined || name === row.name) return row;
      const now = kernel.clockFor(accountId).now();
      await trx.updateTable('genesis_snapshots').set({ name, updated_at: now }).where('id', '=', id).execute();
      // Instances booted from it show its name as their image's, as they do keys' and groups' names.
      await trx.updateTable('genesis_instances').set({ image_name: name }).where('image_id', '=', id).where('account_id', '=', accountId).execute();
      return { ...row, name, updated_at: now };
    });
  }

  async delete(accountId: string, id: string): Promise<void> {
    const { db, kernel } = this.ctx;
    await this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.findOwned(trx, accountId, id);
      if (!row) throw notFound(Code.SnapshotNotFound, 'snapshot', id);
      if (row.status === 'deleting' || row.status === 'pending_delete') throw alreadyDeleting(Code.NotAllowed, 'snapshot', id);
      if (row.status === 'creating') {
        throw genesisError(Code.NotAllowed, `snapshot "${id}" cannot be deleted while it is being created`);
      }
      const user = await trx
        .selectFrom('genesis_instances')
        .select('id')
        .where('image_id', '=', id)
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      if (user) {
        throw genesisError(Code.SnapshotInUse, `snapshot "${id}" cannot be deleted while in use by instance "${user.id}"`);
      }
      await kernel.lifecycle.cancel(trx, id);
      await trx.updateTable('genesis_snapshots').set({ status: 'deleting', updated_at: kernel.clockFor(accountId).now() }).where('id', '=', id).execute();
      await kernel.lifecycle.begin(trx, SNAPSHOT_KIND, id, 'delete', { from: row.status, accountId });
    });
  }

  private checkRegion(region: string, field: string): void {
    if (!this.ctx.catalog.regions.has(region)) {
      throw badRequest(`"${field}" must be one of: ${[...this.ctx.catalog.regions.keys()].join(', ')}`);
    }
  }

  private async acquireQuota(trx: Executor, accountId: string, code: string, n = 1): Promise<void> {
    const { kernel } = this.ctx;
    if (!(await kernel.counters.acquire(trx, accountId, Counter.snapshots, n))) {
      const limit = await kernel.counters.limit(trx, accountId, Counter.snapshots);
      throw genesisError(code, `max snapshot quota reached: this account may keep at most ${limit} snapshots`);
    }
  }

  private async insert(
    trx: Executor,
    fields: Omit<SnapshotRow, 'id' | 'status' | 'seq' | 'created_at' | 'updated_at'>,
  ): Promise<SnapshotRow> {
    const { kernel } = this.ctx;
    const now = kernel.clockFor(fields.account_id).now();
    const row: SnapshotRow = { id: kernel.ids.uuid(), status: 'creating', seq: kernel.ids.ordinal(now), created_at: now, updated_at: now, ...fields };
    await trx.insertInto('genesis_snapshots').values(row).execute();
    await kernel.lifecycle.begin(trx, SNAPSHOT_KIND, row.id, 'create', { from: null, accountId: row.account_id });
    return row;
  }
}

/** The snapshot as a resource: its table, counter, quota, machine and place in the fleet (kernel/resources.ts). */
export const snapshotResource: ResourceDef<GenesisModel> = declareResource({
  cloud: CLOUD,
  kind: SNAPSHOT_KIND,
  table: 'genesis_snapshots',
  counter: Counter.snapshots,
  quota: 1000,
  machine: (m) => simpleMachine(m.ctx, snapshotResource, [120, 10, 3, 1]),
  fleet: { collection: 'snapshots', read: async (m, a, id) => ({ snapshot: renderSnapshot(await m.snapshots.get(a, id)) }) },
});
