import type { Transaction } from 'kysely';
import type { Executor } from '../../../kernel/db/store.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { DiskRow, OperationRow, ProjectRow, SnapshotRow } from '../tables.js';
import { CLOUD, Counter, regionOf, type CrusoeContext } from './context.js';
import { DISK_METRIC, GIB } from './disks.js';
import { Family, type OperationHandler, type Operations } from './operations.js';
import type { Renderers } from './renderers.js';
import { assertIdle, operationMachine, resourceName, ResourceState, clientMoved, rowToChange } from './resource.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { CrusoeModel } from './index.js';

/** Snapshot states: creating → ready → deleting. */
/** A disk snapshot's machine. */
export const SNAPSHOT_MACHINE = operationMachine('crusoe.snapshot', 'crusoe_disk_snapshots', Object.values(ResourceState), {
  create: { from: [], via: ResourceState.Creating, to: ResourceState.Available, transition: 'snapshot.create', after: { fast: 2_000, realistic: 30_000 } },
  delete: { from: [ResourceState.Available], via: ResourceState.Deleting, to: null, transition: 'snapshot.delete', after: { fast: 1_000, realistic: 10_000 } },
});
/** What the ledger calls a snapshot's storage. */
export const SNAPSHOT_RESOURCE_TYPE = 'disk-snapshot';

interface Peers {
  operations: Operations;
  render: Renderers;
}

/**
 * Disk snapshots: a point-in-time copy of a disk, its size in bytes (the disk's size when it
 * was taken, which a disk made from it takes). Taking one holds the disk (no resize or
 * delete meanwhile); a snapshot a disk is being made from cannot be deleted.
 */
export class Snapshots implements OperationHandler {
  readonly machines = [SNAPSHOT_MACHINE];

  constructor(
    private readonly ctx: CrusoeContext,
    private readonly peers: Peers,
  ) {}

  async list(projectId: string): Promise<SnapshotRow[]> {
    return (await this.ctx.db.selectFrom('crusoe_disk_snapshots').selectAll().where('project_id', '=', projectId).orderBy('seq').orderBy('id').execute()) as SnapshotRow[];
  }

  async get(projectId: string, id: string): Promise<SnapshotRow> {
    const row = await this.find(this.ctx.db, projectId, id);
    if (!row) throw notFound('snapshot', id);
    return row;
  }

  /** `name` is optional, as in the seed (today's clients send one): a default is made from the disk's. */
  async create(accountId: string, projectId: string, input: { disk_id: string; name?: string }): Promise<OperationRow> {
    const { kernel } = this.ctx;
    const given = input.name === undefined || input.name === '' ? undefined : resourceName(input.name);
    return kernel.lifecycle.groupedTransaction(async (trx) => {
      const disk = await this.diskToChange(trx, projectId, input.disk_id); // (held by the snapshot's operation below)
      if (!disk) throw badRequest(`"disk_id": disk "${input.disk_id}" not found in this project`);
      assertIdle(disk, `disk "${disk.id}"`);
      const now = kernel.clockFor(accountId).now();
      const id = kernel.ids.uuid();
      const name = given ?? `${disk.name}-snapshot-${id.slice(0, 8)}`.slice(-63).replace(/^[^A-Za-z0-9]+/, '');
      const taken = await trx.selectFrom('crusoe_disk_snapshots').select('id').where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
      if (taken) throw conflict(`a snapshot named "${name}" already exists in this project`);
      const row: SnapshotRow = {
        id,
        account_id: accountId,
        project_id: projectId,
        name,
        disk_id: disk.id,
        size_bytes: Number(disk.size_gib) * GIB,
        block_size: Number(disk.block_size),
        location: disk.location,
        state: ResourceState.Creating,
        busy_operation_id: null,
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('crusoe_disk_snapshots').values(row).execute();
      clientMoved(kernel, trx, SNAPSHOT_MACHINE, row, null, row.state);
      await kernel.counters.add(trx, accountId, Counter.projectSnapshots(projectId), 1);
      const op = await this.peers.operations.start(trx, {
        accountId,
        projectId,
        family: Family.snapshots,
        action: 'snapshot.create',
        resourceId: id,
        metadata: { id, disk_id: disk.id },
      });
      await trx.updateTable('crusoe_disk_snapshots').set({ busy_operation_id: op.id }).where('id', '=', id).execute();
      // The disk is held while the snapshot is taken.
      await trx.updateTable('crusoe_disks').set({ busy_operation_id: op.id }).where('id', '=', disk.id).execute();
      return op;
    });
  }

  private readonly toChange = rowToChange<SnapshotRow>(() => this.ctx, 'crusoe_disk_snapshots');
  private readonly diskToChange = rowToChange<DiskRow>(() => this.ctx, 'crusoe_disks');

  async delete(projectId: string, id: string): Promise<OperationRow> {
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.toChange(trx, projectId, id);
      if (!row) throw notFound('snapshot', id);
      const what = `snapshot "${id}"`;
      assertIdle(row, what);
      const disk = await trx.selectFrom('crusoe_disks').select('id').where('snapshot_id', '=', id).where('state', '=', ResourceState.Creating).limit(1).executeTakeFirst();
      if (disk) throw conflict(`${what} is in use: disk "${disk.id}" is being made from it; wait for its operation to finish`);
      const op = await this.peers.operations.start(trx, {
        accountId: row.account_id,
        projectId,
        family: Family.snapshots,
        action: 'snapshot.delete',
        resourceId: id,
        metadata: { id },
      });
      await trx.updateTable('crusoe_disk_snapshots').set({ state: ResourceState.Deleting, busy_operation_id: op.id }).where('id', '=', id).execute();
      clientMoved(this.ctx.kernel, trx, SNAPSHOT_MACHINE, row, row.state, ResourceState.Deleting);
      return op;
    });
  }

  async find(trx: Executor, projectId: string, id: string): Promise<SnapshotRow | undefined> {
    return (await trx.selectFrom('crusoe_disk_snapshots').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()) as
      | SnapshotRow
      | undefined;
  }

  async complete(trx: Transaction<any>, op: OperationRow, at: number): Promise<unknown> {
    const row = await this.mine(trx, op);
    if (!row) return {};
    if (op.action === 'snapshot.create') {
      const set = { state: ResourceState.Available, busy_operation_id: null, updated_at: at };
      await trx.updateTable('crusoe_disk_snapshots').set(set).where('id', '=', row.id).execute();
      await this.releaseDisk(trx, op);
      await this.ctx.kernel.metering.open(trx, {
        accountId: row.account_id,
        cloud: CLOUD,
        scope: row.project_id,
        region: regionOf(row.location),
        resourceId: row.id,
        resourceType: SNAPSHOT_RESOURCE_TYPE,
        metric: DISK_METRIC,
        rate: Number(row.size_bytes) / GIB,
        at,
      });
      return this.peers.render.snapshot({ ...row, ...set });
    }
    await this.remove(trx, row, at);
    return {};
  }

  async rollback(trx: Transaction<any>, op: OperationRow, at: number): Promise<void> {
    const row = await this.mine(trx, op);
    if (!row) return;
    if (op.action === 'snapshot.create') {
      await this.releaseDisk(trx, op);
      await this.remove(trx, row, at);
      return;
    }
    await trx.updateTable('crusoe_disk_snapshots').set({ state: ResourceState.Available, busy_operation_id: null, updated_at: at }).where('id', '=', row.id).execute();
  }

  async purgeProject(trx: Transaction<any>, project: ProjectRow): Promise<void> {
    const ids = (await trx.selectFrom('crusoe_disk_snapshots').select('id').where('project_id', '=', project.id).execute()).map((r) => r.id as string);
    await this.ctx.kernel.metering.closeAll(trx, ids);
    await trx.deleteFrom('crusoe_disk_snapshots').where('project_id', '=', project.id).execute();
  }

  private async remove(trx: Executor, row: SnapshotRow, at: number): Promise<void> {
    await this.ctx.kernel.metering.close(trx, row.id, at);
    await trx.deleteFrom('crusoe_disk_snapshots').where('id', '=', row.id).execute();
    await this.ctx.kernel.counters.add(trx, row.account_id, Counter.projectSnapshots(row.project_id), -1);
  }

  /** The disk the snapshot was taken from is free again (taking a snapshot does not change it). */
  private async releaseDisk(trx: Executor, op: OperationRow): Promise<void> {
    await trx.updateTable('crusoe_disks').set({ busy_operation_id: null }).where('busy_operation_id', '=', op.id).execute();
  }

  private mine(trx: Executor, op: OperationRow): Promise<SnapshotRow | undefined> {
    return this.peers.operations.heldBy(trx, 'crusoe_disk_snapshots', op);
  }
}

/** The snapshot as a resource: its table, counters and place in the fleet (kernel/resources.ts). */
export const snapshotResource: ResourceDef<CrusoeModel> = declareResource({
  cloud: CLOUD,
  kind: 'crusoe.snapshot',
  table: 'crusoe_disk_snapshots',
  projectCounter: Counter.projectSnapshots,
  fleet: { collection: 'storage/snapshots', read: async (m, p, id) => m.render.snapshot(await m.snapshots.get(p, id)) },
});
