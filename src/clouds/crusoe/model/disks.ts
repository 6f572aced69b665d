import { randomBytes } from 'node:crypto';
import { sql, type SelectQueryBuilder, type Transaction } from 'kysely';
import { byShape, heldInsert, heldWrite, paddedList } from '../../../kernel/db/prepared.js';
import type { Executor } from '../../../kernel/db/store.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { DiskAttachmentRow, DiskRow, OperationRow, ProjectRow, SnapshotRow, VmRow } from '../tables.js';
import type { DiskAttachmentInput } from '../wire.js';
import { CLOUD, Counter, parseJson, regionOf, type CrusoeContext } from './context.js';
import { Family, type OperationHandler, type Operations } from './operations.js';
import type { Renderers } from './renderers.js';
import { growth, type StorageQuota } from './quotas.js';
import { assertIdle, operationMachine, csv, resourceName, ResourceState, clientMoved, rowToChange } from './resource.js';
import { VmState } from './vm-states.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { CrusoeModel } from './index.js';

export const DISK_TYPES = ['persistent-ssd', 'shared-volume'] as const;
/** The seed's enum spelling of each disk type, accepted as an alias (`DISK_TYPE_PERSISTENT_SSD`). */
export const DISK_TYPE_ALIASES = { DISK_TYPE_PERSISTENT_SSD: 'persistent-ssd', DISK_TYPE_SHARED_VOLUME: 'shared-volume' } as const;
/** A disk type as sent (a name or its alias), as stored and shown. */
export const diskType = (type: string): (typeof DISK_TYPES)[number] =>
  (DISK_TYPE_ALIASES as Record<string, (typeof DISK_TYPES)[number]>)[type] ?? (type as (typeof DISK_TYPES)[number]);
export const DEFAULT_BLOCK_SIZE = 4096;
export const BLOCK_SIZES = [512, 4096] as const;
export const GIB = 1024 ** 3;
const MAX_DISK_GIB = 1000 * 1024;
/** What the ledger bills a disk in: its size for each hour it exists. */
export const DISK_METRIC = 'gib-hours';

/** A disk attached to a VM, with how it is attached. */
export interface AttachedDiskView {
  disk: DiskRow;
  attachment: DiskAttachmentRow;
}

/** A disk as the storage API shows it: with the VMs it is attached to. */
export interface DiskView {
  row: DiskRow;
  attachedTo: Pick<DiskAttachmentRow, 'vm_id' | 'attachment_type' | 'mode'>[];
}

export interface CreateDiskInput {
  name: string;
  size?: string;
  location?: string;
  snapshot_id?: string;
  type?: string;
  block_size?: number;
}

/**
 * "10GiB", "1TiB": the size format of the API, in whole GiB or TiB. Returns GiB; a bad value
 * is a 400 naming the field.
 */
export function parseSize(text: string, field: string): number {
  const match = /^([1-9][0-9]{0,6})(GiB|TiB)$/.exec(text.trim());
  const gib = match ? Number(match[1]) * (match[2] === 'TiB' ? 1024 : 1) : Number.NaN;
  if (!Number.isFinite(gib) || gib > MAX_DISK_GIB) {
    throw badRequest(`"${field}" must be a size such as "10GiB" or "1TiB", at most 1000TiB (got "${text}")`);
  }
  return gib;
}

/** A size as the API shows it: in GiB always, as the seed says ("1TiB" reads back "1024GiB"). */
export const formatSize = (gib: number): string => `${gib}GiB`;

interface Peers {
  operations: Operations;
  render: Renderers;
  quotas: StorageQuota;
}

/** A disk's machine (Hangar's own states: the wire shows none). */
export const DISK_MACHINE = operationMachine('crusoe.disk', 'crusoe_disks', Object.values(ResourceState), {
  create: { from: [], via: ResourceState.Creating, to: ResourceState.Available, transition: 'disk.create', after: { fast: 2_000, realistic: 15_000 } },
  resize: { from: [ResourceState.Available], transition: 'disk.resize', after: { fast: 1_000, realistic: 10_000 } },
  delete: { from: [ResourceState.Available], via: ResourceState.Deleting, to: null, transition: 'disk.delete', after: { fast: 1_000, realistic: 10_000 } },
});

/**
 * Disks: every VM's boot disk, disks made for VMs from a template's disk list, and disks of
 * the storage API (made empty in a location, or from a snapshot, which gives them its size).
 * The rules: a disk and its VM share a location; only a shared volume attaches to several
 * VMs; a disk attached read-write to a VM that is running cannot be deleted; disks only grow.
 * Every change answers with an operation, one at a time per disk.
 */
export class Disks implements OperationHandler {
  readonly machines = [DISK_MACHINE];

  constructor(
    private readonly ctx: CrusoeContext,
    private readonly peers: Peers,
  ) {}

  // -------------------------------------------------------------------------------------
  // The storage API

  async list(projectId: string, filter: { disk_ids?: string[]; location?: string; disk_names?: string[]; exclude_os?: boolean }): Promise<DiskView[]> {
    const { db } = this.ctx;
    let query = db.selectFrom('crusoe_disks').selectAll().where('project_id', '=', projectId);
    const ids = csv(filter.disk_ids);
    const names = csv(filter.disk_names);
    if (ids.length > 0) query = query.where('id', 'in', ids);
    if (names.length > 0) query = query.where('name', 'in', names);
    if (filter.location !== undefined && filter.location !== '') query = query.where('location', '=', filter.location);
    if (filter.exclude_os === true) query = query.where('is_os', '=', 0);
    const rows = (await query.orderBy('seq').orderBy('id').execute()) as DiskRow[];
    return this.views(db, rows);
  }

  async get(projectId: string, id: string): Promise<DiskView> {
    const row = await this.find(this.ctx.db, projectId, id);
    if (!row) throw notFound('disk', id);
    return (await this.views(this.ctx.db, [row]))[0]!;
  }

  async find(trx: Executor, projectId: string, id: string): Promise<DiskRow | undefined> {
    return (await trx.selectFrom('crusoe_disks').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()) as DiskRow | undefined;
  }

  /**
   * A new disk: `size` and `location`, or a `snapshot_id` (the disk takes the snapshot's
   * size, location and block size; a larger `size` may be asked for).
   */
  async create(accountId: string, projectId: string, input: CreateDiskInput): Promise<OperationRow> {
    const { catalog } = this.ctx;
    const name = resourceName(input.name);
    const type = diskType(input.type ?? 'persistent-ssd');
    if (input.block_size !== undefined && !(BLOCK_SIZES as readonly number[]).includes(input.block_size)) {
      throw badRequest(`"block_size" must be one of: ${BLOCK_SIZES.join(', ')} (got ${input.block_size})`);
    }
    const snapshotId = input.snapshot_id?.trim() || undefined;
    const requested = input.size === undefined || input.size === '' ? undefined : parseSize(input.size, 'size');
    if (snapshotId === undefined) {
      if (requested === undefined) throw badRequest('"size" is required (e.g. "10GiB"), unless the disk is made from a "snapshot_id"');
      if (input.location === undefined || input.location === '') throw badRequest('"location" is required, unless the disk is made from a "snapshot_id"');
    }
    if (input.location !== undefined && input.location !== '' && !catalog.locations.has(input.location)) {
      throw badRequest(`"location": "${input.location}" is not a location (known: ${[...catalog.locations.keys()].join(', ')})`);
    }
    return this.ctx.kernel.lifecycle.groupedTransaction(async (trx) => {
      let sizeGib = requested ?? 0;
      let location = input.location ?? '';
      let blockSize = input.block_size ?? DEFAULT_BLOCK_SIZE;
      if (snapshotId !== undefined) {
        const snapshot = (await trx.selectFrom('crusoe_disk_snapshots').selectAll().where('id', '=', snapshotId).where('project_id', '=', projectId).executeTakeFirst()) as
          | SnapshotRow
          | undefined;
        if (!snapshot) throw badRequest(`"snapshot_id": snapshot "${snapshotId}" not found in this project`);
        if (snapshot.state !== ResourceState.Available) throw conflict(`"snapshot_id": snapshot "${snapshotId}" is ${snapshot.state === ResourceState.Creating ? 'still being created' : 'being deleted'}`);
        const snapshotGib = Math.ceil(Number(snapshot.size_bytes) / GIB);
        if (requested !== undefined && requested < snapshotGib) {
          throw badRequest(`"size": a disk made from snapshot "${snapshotId}" needs at least ${formatSize(snapshotGib)} (got "${input.size}")`);
        }
        if (location !== '' && location !== snapshot.location) {
          throw badRequest(`"location": snapshot "${snapshotId}" is in ${snapshot.location}; a disk made from it is too (got ${location})`);
        }
        if (input.block_size !== undefined && input.block_size !== Number(snapshot.block_size)) {
          throw badRequest(`"block_size": snapshot "${snapshotId}" has block size ${snapshot.block_size}; a disk made from it has the same (got ${input.block_size})`);
        }
        sizeGib = requested ?? snapshotGib;
        location = snapshot.location;
        blockSize = Number(snapshot.block_size);
      }
      await this.checkNameFree(trx, projectId, name);
      await this.peers.quotas.takeStorage(trx, accountId, sizeGib);
      const row = await this.insert(trx, { accountId, projectId, name, type, sizeGib, location, isOs: false, ownerVmId: null, blockSize, snapshotId: snapshotId ?? null, state: ResourceState.Creating });
      clientMoved(this.ctx.kernel, trx, DISK_MACHINE, row, null, row.state);
      const op = await this.peers.operations.start(trx, { accountId, projectId, family: Family.disks, action: 'disk.create', resourceId: row.id, metadata: { id: row.id } });
      await trx.updateTable('crusoe_disks').set({ busy_operation_id: op.id }).where('id', '=', row.id).execute();
      return op;
    });
  }

  /** Grow only: the new size must be larger than the disk is. */
  async resize(projectId: string, id: string, size: string): Promise<OperationRow> {
    const gib = parseSize(size, 'size');
    return this.ctx.db.transaction().execute(async (trx) => {
      const disk = await this.idle(trx, projectId, id);
      if (gib <= Number(disk.size_gib)) {
        throw badRequest(`"size": disks only grow: disk "${id}" is ${formatSize(Number(disk.size_gib))}, so the new size must be larger (got "${size}")`);
      }
      await this.peers.quotas.takeStorage(trx, disk.account_id, gib - Number(disk.size_gib));
      return this.begin(trx, disk, 'disk.resize', { size_gib: gib });
    });
  }

  /**
   * A disk goes unless a running VM writes to it. A VM's boot disk goes with its VM; a disk
   * attached read-only, or to a stopped VM, is detached as it goes.
   */
  async delete(projectId: string, id: string): Promise<OperationRow> {
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const disk = await this.idle(trx, projectId, id);
      const what = `disk "${id}"`;
      if (disk.is_os) throw conflict(`${what} is the boot disk of VM "${disk.owner_vm_id ?? '?'}": it is deleted with its VM`);
      // A VM counts as running unless it is stopped with nothing in progress (a START may be on its way).
      const writers = await trx
        .selectFrom('crusoe_disk_attachments as a')
        .innerJoin('crusoe_vms as v', 'v.id', 'a.vm_id')
        .select(['v.id', 'v.state', 'v.busy_operation_id'])
        .where('a.disk_id', '=', id)
        .where('a.mode', '=', 'read-write')
        .where((eb) => eb.or([eb('v.state', '!=', VmState.Shutoff), eb('v.busy_operation_id', 'is not', null)]))
        .orderBy('v.id')
        .limit(1)
        .executeTakeFirst();
      if (writers) {
        const how = writers.state === VmState.Shutoff ? `${writers.state} with an operation in progress` : writers.state;
        throw conflict(`${what} is attached read-write to VM "${writers.id}", which is ${how}: stop the VM or detach the disk first`);
      }
      const making = await trx
        .selectFrom('crusoe_disk_snapshots')
        .select('id')
        .where('disk_id', '=', id)
        .where('state', '=', 'creating')
        .limit(1)
        .executeTakeFirst();
      if (making) throw conflict(`${what} has snapshot "${making.id}" being taken: wait for it to finish`);
      const op = await this.begin(trx, disk, 'disk.delete', {});
      await trx.updateTable('crusoe_disks').set({ state: ResourceState.Deleting }).where('id', '=', id).execute();
      clientMoved(this.ctx.kernel, trx, DISK_MACHINE, disk, disk.state, ResourceState.Deleting);
      return op;
    });
  }

  // -------------------------------------------------------------------------------------
  // Completion

  async complete(trx: Transaction<any>, op: OperationRow, at: number): Promise<unknown> {
    const disk = await this.mine(trx, op);
    if (!disk) return {};
    const params = parseJson<Record<string, any>>(op.params) ?? {};
    const release = { busy_operation_id: null, updated_at: at };
    switch (op.action) {
      case 'disk.create': {
        await trx.updateTable('crusoe_disks').set({ state: ResourceState.Available, ...release }).where('id', '=', disk.id).execute();
        await this.meter(trx, disk, at, true);
        break;
      }
      case 'disk.resize': {
        await trx.updateTable('crusoe_disks').set({ size_gib: params.size_gib, ...release }).where('id', '=', disk.id).execute();
        await this.meter(trx, { ...disk, size_gib: params.size_gib }, at);
        break;
      }
      case 'disk.delete': {
        await this.remove(trx, [disk], at);
        return {};
      }
      default:
        return {};
    }
    const [view] = await this.views(trx, [(await this.find(trx, disk.project_id, disk.id))!]);
    return this.peers.render.disk(view!);
  }

  async rollback(trx: Transaction<any>, op: OperationRow, at: number): Promise<void> {
    const disk = await this.mine(trx, op);
    if (!disk) return;
    if (op.action === 'disk.create') {
      await this.remove(trx, [disk], at);
      return;
    }
    if (op.action === 'disk.resize') await this.peers.quotas.giveStorage(trx, disk.account_id, growth(disk, op.params));
    await trx.updateTable('crusoe_disks').set({ state: ResourceState.Available, busy_operation_id: null, updated_at: at }).where('id', '=', disk.id).execute();
  }

  // -------------------------------------------------------------------------------------
  // For VMs

  private readonly insertRow = heldInsert<DiskRow>('crusoe_disks');

  /**
   * Creates a disk in the caller's transaction (counted in its project; billed once available).
   * The caller took its storage from the quota (takeStorage) first.
   */
  async insert(
    trx: Executor,
    input: {
      accountId: string;
      projectId: string;
      name: string;
      type: string;
      sizeGib: number;
      location: string;
      isOs: boolean;
      ownerVmId: string | null;
      blockSize?: number;
      snapshotId?: string | null;
      state?: string;
      /** False when the caller adds the project's count itself (a VM create does, last). */
      counted?: boolean;
    },
  ): Promise<DiskRow> {
    const { kernel } = this.ctx;
    const now = kernel.clockFor(input.accountId).now();
    const row: DiskRow = {
      id: kernel.ids.uuid(),
      account_id: input.accountId,
      project_id: input.projectId,
      name: input.name,
      type: input.type,
      size_gib: input.sizeGib,
      block_size: input.blockSize ?? DEFAULT_BLOCK_SIZE,
      location: input.location,
      serial_number: randomBytes(10).toString('hex').toUpperCase().slice(0, 19),
      is_os: input.isOs ? 1 : 0,
      owner_vm_id: input.ownerVmId,
      seq: kernel.ids.ordinal(now),
      created_at: now,
      updated_at: now,
      state: input.state ?? ResourceState.Available,
      snapshot_id: input.snapshotId ?? null,
      busy_operation_id: null,
    };
    await this.insertRow(trx, row);
    if (input.counted !== false) await kernel.counters.add(trx, input.accountId, Counter.projectDisks(input.projectId), 1);
    if (row.state === ResourceState.Available) await this.meter(trx, row, now, true);
    return row;
  }

  async attach(trx: Executor, vm: Pick<VmRow, 'id' | 'account_id'>, diskId: string, attachmentType: string, mode: string): Promise<void> {
    await this.insertAttachment(trx, diskId, vm.id, vm.account_id, attachmentType, mode, this.ctx.kernel.clockFor(vm.account_id).now());
  }
  private readonly insertAttachment = heldWrite((diskId, vmId, accountId, attachmentType, mode, attachedAt) =>
    this.ctx.db
      .insertInto('crusoe_disk_attachments')
      .values({ disk_id: diskId, vm_id: vmId, account_id: accountId, attachment_type: attachmentType, mode, attached_at: attachedAt })
      .onConflict((oc) => oc.columns(['disk_id', 'vm_id']).doNothing()),
  );

  /**
   * Checks disks a request wants attached to a VM (new or existing): they exist in the
   * project, are ready, sit in the VM's location, are data disks, appear once, and are not
   * held elsewhere (a shared volume may be attached to many VMs). On PostgreSQL the disks stay
   * locked until the transaction ends, so two requests naming one disk take turns and the
   * second sees the first's attachment or hold (see `holdForAttach`): never two VMs on it.
   */
  async checkAttachable(
    trx: Executor,
    projectId: string,
    location: string,
    vmId: string | null,
    wanted: readonly DiskAttachmentInput[],
    field: string,
  ): Promise<DiskRow[]> {
    if (wanted.length === 0) return [];
    const ids = wanted.map((w) => w.disk_id);
    const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
    if (duplicate !== undefined) throw badRequest(`"${field}" names disk "${duplicate}" more than once`);
    const rows = (await this.disksToAttach(trx, projectId, ids).execute()) as DiskRow[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const attachments = (await trx.selectFrom('crusoe_disk_attachments').selectAll().where('disk_id', 'in', ids).execute()) as DiskAttachmentRow[];
    return wanted.map((w, i) => {
      const disk = byId.get(w.disk_id);
      if (!disk) throw badRequest(`"${field}.${i}.disk_id": disk "${w.disk_id}" not found in this project`);
      if (w.attachment_type !== 'data' || disk.is_os) {
        throw badRequest(`"${field}.${i}": only data disks can be attached (attachment_type "data"); a VM's boot disk is created with it`);
      }
      if (disk.location !== location) {
        throw badRequest(`"${field}.${i}.disk_id": disk "${disk.id}" is in ${disk.location}, the VM in ${location}: a disk and its VM must share a location`);
      }
      assertIdle(disk, `disk "${disk.id}"`);
      const elsewhere = attachments.filter((a) => a.disk_id === disk.id);
      if (vmId !== null && elsewhere.some((a) => a.vm_id === vmId)) throw conflict(`disk "${disk.id}" is already attached to VM "${vmId}"`);
      if (disk.type !== 'shared-volume' && elsewhere.length > 0) {
        throw conflict(`disk "${disk.id}" is attached to VM "${elsewhere[0]!.vm_id}": detach it first (only shared volumes attach to several VMs)`);
      }
      return disk;
    });
  }

  /**
   * The disks a request names to attach, on PostgreSQL locked in id order (two requests naming
   * the same disks cannot each hold one and wait for the other). `no key update`: the
   * attachments a VM's completion inserts meanwhile (their key refers to the disk) do not wait.
   */
  private disksToAttach(trx: Executor, projectId: string, ids: string[]) {
    const rows = trx.selectFrom('crusoe_disks').selectAll().where('project_id', '=', projectId).where('id', 'in', ids).orderBy('id');
    return this.ctx.kernel.store.engine === 'postgres' ? rows.forNoKeyUpdate() : rows;
  }

  /**
   * An attach operation holds the disks it attaches until it ends (`releaseFromAttach`): its
   * attachment is written only then, and meanwhile no other VM, resize, snapshot or delete may
   * take them (409, busy). A shared volume is not held: many VMs attach it, at once too.
   */
  async holdForAttach(trx: Executor, disks: readonly DiskRow[], op: OperationRow): Promise<void> {
    const held = disks.filter((d) => d.type !== 'shared-volume').map((d) => d.id);
    if (held.length > 0) await trx.updateTable('crusoe_disks').set({ busy_operation_id: op.id }).where('id', 'in', held).execute();
  }

  /** The disks an attach operation held are free again (it completed, failed or was rolled back). */
  async releaseFromAttach(trx: Executor, op: OperationRow, diskIds: readonly string[]): Promise<void> {
    if (diskIds.length === 0) return;
    await trx.updateTable('crusoe_disks').set({ busy_operation_id: null }).where('id', 'in', [...diskIds]).where('busy_operation_id', '=', op.id).execute();
  }

  /** The disks attached to each VM: the boot disk first, then data disks in attachment order. */
  /** The disks attached to VMs (every VM a GET or list answers with), one prepared form per padded count of VMs. */
  private readonly attachedRows = byShape<number>((n) => [
    n,
    (...vmIds) =>
      this.withAttachedDisk(this.ctx.db.selectFrom('crusoe_disk_attachments as a'))
        .selectAll('d')
        .select(['a.vm_id as a_vm_id', 'a.attachment_type as a_attachment_type', 'a.mode as a_mode', 'a.attached_at as a_attached_at', 'a.account_id as a_account_id'])
        .where('a.vm_id', 'in', vmIds)
        .orderBy('a.vm_id')
        .orderBy('d.is_os', 'desc')
        .orderBy('a.attached_at')
        .orderBy('d.seq'),
  ]);

  /**
   * Each attachment's disk, looked up by its key. On PostgreSQL as a lateral subquery the
   * planner cannot flatten (`offset 0`): a plain join's plan (a named statement's, kept) could
   * hash every disk of the store when the tables' statistics lag behind a burst of creates,
   * which made a page of 50 VMs cost ten times as much at 8,700 VMs; this one looks up the
   * page's disks only, whatever the statistics say.
   */
  private withAttachedDisk(from: SelectQueryBuilder<any, any, any>): SelectQueryBuilder<any, any, any> {
    if (this.ctx.kernel.store.engine !== 'postgres') return from.innerJoin('crusoe_disks as d', 'd.id', 'a.disk_id');
    return from.innerJoinLateral(
      (eb) => eb.selectFrom('crusoe_disks as x').selectAll('x').whereRef('x.id', '=', 'a.disk_id').offset(sql<number>`0`).as('d'),
      (join) => join.onTrue(),
    );
  }

  async attachedTo(trx: Executor, vmIds: readonly string[]): Promise<Map<string, AttachedDiskView[]>> {
    const out = new Map<string, AttachedDiskView[]>();
    if (vmIds.length === 0) return out;
    const ids = paddedList(vmIds);
    const rows = await this.attachedRows(ids.length)(trx, ...ids);
    for (const r of rows as (DiskRow & { a_vm_id: string; a_attachment_type: string; a_mode: string; a_attached_at: number; a_account_id: string })[]) {
      const { a_vm_id, a_attachment_type, a_mode, a_attached_at, a_account_id, ...disk } = r;
      const view: AttachedDiskView = {
        disk: disk as DiskRow,
        attachment: { disk_id: disk.id, vm_id: a_vm_id, account_id: a_account_id, attachment_type: a_attachment_type, mode: a_mode, attached_at: a_attached_at },
      };
      const list = out.get(a_vm_id);
      if (list) list.push(view);
      else out.set(a_vm_id, [view]);
    }
    return out;
  }

  /**
   * A VM is going: the disks made for it (its boot disk, its template's disks) go with it;
   * other data disks are detached and stay.
   */
  async releaseFromVm(trx: Executor, vm: Pick<VmRow, 'id' | 'account_id' | 'project_id'>, at = this.ctx.kernel.clockFor(vm.account_id).now()): Promise<void> {
    await trx.deleteFrom('crusoe_disk_attachments').where('vm_id', '=', vm.id).execute();
    const owned = (await trx.selectFrom('crusoe_disks').selectAll().where('owner_vm_id', '=', vm.id).execute()) as DiskRow[];
    await this.remove(trx, owned, at);
  }

  /** Everything disk-shaped in a project goes with the project (billing stops now). */
  async purgeProject(trx: Transaction<any>, project: ProjectRow): Promise<void> {
    const disks = trx.selectFrom('crusoe_disks').select('id').where('project_id', '=', project.id);
    const ids = (await disks.execute()).map((d) => d.id as string);
    // Their storage goes back, with what disks growing took (their operations are still there).
    const sized = await trx
      .selectFrom('crusoe_disks as d')
      .leftJoin('crusoe_operations as o', (join) => join.onRef('o.id', '=', 'd.busy_operation_id').on('o.action', '=', 'disk.resize'))
      .select(['d.size_gib', 'o.params'])
      .where('d.project_id', '=', project.id)
      .execute();
    const gib = sized.reduce((sum, d) => sum + Number(d.size_gib) + (d.params === null ? 0 : growth(d, d.params)), 0);
    await this.peers.quotas.giveStorage(trx, project.account_id, gib);
    await this.ctx.kernel.metering.closeAll(trx, ids);
    await trx.deleteFrom('crusoe_disk_attachments').where('disk_id', 'in', disks).execute();
    await trx.deleteFrom('crusoe_disks').where('project_id', '=', project.id).execute();
  }

  // -------------------------------------------------------------------------------------

  /** Disks go: attachments, rows and counts, and their billing stops at `at`. */
  private async remove(trx: Executor, disks: readonly DiskRow[], at: number): Promise<void> {
    if (disks.length === 0) return;
    const ids = disks.map((d) => d.id);
    await this.ctx.kernel.metering.closeAll(trx, ids, at);
    await trx.deleteFrom('crusoe_disk_attachments').where('disk_id', 'in', ids).execute();
    await trx.deleteFrom('crusoe_disks').where('id', 'in', ids).execute();
    for (const disk of disks) await this.ctx.kernel.counters.add(trx, disk.account_id, Counter.projectDisks(disk.project_id), -1);
    const storage = new Map<string, number>();
    for (const disk of disks) storage.set(disk.account_id, (storage.get(disk.account_id) ?? 0) + Number(disk.size_gib));
    for (const [accountId, gib] of storage) await this.peers.quotas.giveStorage(trx, accountId, gib);
  }

  /** Bills the disk at its (new) size from `at` (`fresh`: billed for the first time). */
  private async meter(trx: Executor, disk: Pick<DiskRow, 'id' | 'account_id' | 'project_id' | 'location' | 'type' | 'size_gib'>, at: number, fresh = false): Promise<void> {
    await this.ctx.kernel.metering.open(trx, {
      fresh,
      accountId: disk.account_id,
      cloud: CLOUD,
      scope: disk.project_id,
      region: regionOf(disk.location),
      resourceId: disk.id,
      resourceType: disk.type,
      metric: DISK_METRIC,
      rate: Number(disk.size_gib),
      at,
    });
  }

  private async views(trx: Executor, rows: DiskRow[]): Promise<DiskView[]> {
    if (rows.length === 0) return [];
    const attachments = await trx
      .selectFrom('crusoe_disk_attachments')
      .select(['disk_id', 'vm_id', 'attachment_type', 'mode'])
      .where('disk_id', 'in', rows.map((r) => r.id))
      .orderBy('attached_at')
      .orderBy('vm_id')
      .execute();
    return rows.map((row) => ({
      row,
      attachedTo: attachments.filter((a) => a.disk_id === row.id).map((a) => ({ vm_id: a.vm_id as string, attachment_type: a.attachment_type as string, mode: a.mode as string })),
    }));
  }

  private readonly toChange = rowToChange<DiskRow>(() => this.ctx, 'crusoe_disks');

  private async idle(trx: Executor, projectId: string, id: string): Promise<DiskRow> {
    const disk = await this.toChange(trx, projectId, id);
    if (!disk) throw notFound('disk', id);
    assertIdle(disk, `disk "${id}"`);
    return disk;
  }

  private begin(trx: Executor, disk: DiskRow, action: string, params: Record<string, unknown>): Promise<OperationRow> {
    return this.peers.operations.startOn(trx, 'crusoe_disks', Family.disks, disk, action, params);
  }

  private mine(trx: Executor, op: OperationRow): Promise<DiskRow | undefined> {
    return this.peers.operations.heldBy(trx, 'crusoe_disks', op);
  }

  private async checkNameFree(trx: Executor, projectId: string, name: string): Promise<void> {
    const taken = await trx.selectFrom('crusoe_disks').select('id').where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
    if (taken) throw conflict(`a disk named "${name}" already exists in this project`);
  }
}

/** The disk as a resource: its table, counters and place in the fleet (kernel/resources.ts). */
export const diskResource: ResourceDef<CrusoeModel> = declareResource({
  cloud: CLOUD,
  kind: 'crusoe.disk',
  table: 'crusoe_disks',
  projectCounter: Counter.projectDisks,
  fleet: { collection: 'storage/disks', columns: { type: 'type' }, read: async (m, p, id) => m.render.disk(await m.disks.get(p, id)) },
});
