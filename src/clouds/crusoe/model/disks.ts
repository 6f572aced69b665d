import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Executor } from '../../../kernel/db/store.js';
import { badRequest, conflict } from '../errors.js';
import type { DiskAttachmentRow, DiskRow, ProjectRow, VmRow } from '../tables.js';
import type { DiskAttachmentInput } from '../wire.js';
import { Counter, type CrusoeContext } from './context.js';

export const DISK_TYPES = ['persistent-ssd', 'shared-volume'] as const;
export const DEFAULT_BLOCK_SIZE = 4096;
const MAX_DISK_GIB = 1000 * 1024;

/** A disk attached to a VM, with how it is attached. */
export interface AttachedDiskView {
  disk: DiskRow;
  attachment: DiskAttachmentRow;
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

export const formatSize = (gib: number): string => (gib % 1024 === 0 && gib >= 1024 ? `${gib / 1024}TiB` : `${gib}GiB`);

/**
 * Disks, as far as VMs need them in this part of the API: every VM's boot disk, data disks
 * created for VMs from a template's disk list, and the rules for attaching and detaching
 * disks. (The disk endpoints themselves come with the storage API.)
 */
export class Disks {
  constructor(private readonly ctx: CrusoeContext) {}

  /** Creates a disk in the caller's transaction (counted in its project). */
  async insert(
    trx: Executor,
    input: { accountId: string; projectId: string; name: string; type: string; sizeGib: number; location: string; isOs: boolean; ownerVmId: string | null },
  ): Promise<DiskRow> {
    const { kernel } = this.ctx;
    const now = kernel.clock.now();
    const row: DiskRow = {
      id: kernel.ids.uuid(),
      account_id: input.accountId,
      project_id: input.projectId,
      name: input.name,
      type: input.type,
      size_gib: input.sizeGib,
      block_size: DEFAULT_BLOCK_SIZE,
      location: input.location,
      serial_number: randomBytes(10).toString('hex').toUpperCase().slice(0, 19),
      is_os: input.isOs ? 1 : 0,
      owner_vm_id: input.ownerVmId,
      seq: kernel.ids.ordinal(now),
      created_at: now,
      updated_at: now,
    };
    await trx.insertInto('crusoe_disks').values(row).execute();
    await kernel.counters.add(trx, input.accountId, Counter.projectDisks(input.projectId), 1);
    return row;
  }

  async attach(trx: Executor, vm: Pick<VmRow, 'id' | 'account_id'>, diskId: string, attachmentType: string, mode: string): Promise<void> {
    await trx
      .insertInto('crusoe_disk_attachments')
      .values({ disk_id: diskId, vm_id: vm.id, account_id: vm.account_id, attachment_type: attachmentType, mode, attached_at: this.ctx.kernel.clock.now() })
      .onConflict((oc) => oc.columns(['disk_id', 'vm_id']).doNothing())
      .execute();
  }

  /**
   * Checks disks a request wants attached to a VM (new or existing): they exist in the
   * project, sit in the VM's location, are data disks, appear once, and are not held
   * read-write elsewhere (a shared volume may be attached to many VMs).
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
    const rows = (await trx.selectFrom('crusoe_disks').selectAll().where('project_id', '=', projectId).where('id', 'in', ids).execute()) as DiskRow[];
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
      const elsewhere = attachments.filter((a) => a.disk_id === disk.id);
      if (vmId !== null && elsewhere.some((a) => a.vm_id === vmId)) throw conflict(`disk "${disk.id}" is already attached to VM "${vmId}"`);
      if (disk.type !== 'shared-volume' && elsewhere.length > 0) {
        throw conflict(`disk "${disk.id}" is attached to VM "${elsewhere[0]!.vm_id}": detach it first (only shared volumes attach to several VMs)`);
      }
      return disk;
    });
  }

  /** The disks attached to each VM: the boot disk first, then data disks in attachment order. */
  async attachedTo(trx: Executor, vmIds: readonly string[]): Promise<Map<string, AttachedDiskView[]>> {
    const out = new Map<string, AttachedDiskView[]>();
    if (vmIds.length === 0) return out;
    const rows = await trx
      .selectFrom('crusoe_disk_attachments as a')
      .innerJoin('crusoe_disks as d', 'd.id', 'a.disk_id')
      .selectAll('d')
      .select(['a.vm_id as a_vm_id', 'a.attachment_type as a_attachment_type', 'a.mode as a_mode', 'a.attached_at as a_attached_at', 'a.account_id as a_account_id'])
      .where('a.vm_id', 'in', [...vmIds])
      .orderBy('a.vm_id')
      .orderBy('d.is_os', 'desc')
      .orderBy('a.attached_at')
      .orderBy('d.seq')
      .execute();
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
  async releaseFromVm(trx: Executor, vm: Pick<VmRow, 'id' | 'account_id' | 'project_id'>): Promise<void> {
    await trx.deleteFrom('crusoe_disk_attachments').where('vm_id', '=', vm.id).execute();
    const owned = await trx.deleteFrom('crusoe_disks').where('owner_vm_id', '=', vm.id).executeTakeFirst();
    const n = Number(owned.numDeletedRows);
    if (n > 0) await this.ctx.kernel.counters.add(trx, vm.account_id, Counter.projectDisks(vm.project_id), -n);
  }

  /** Everything disk-shaped in a project goes with the project. */
  async purgeProject(trx: Transaction<any>, project: ProjectRow): Promise<void> {
    const disks = trx.selectFrom('crusoe_disks').select('id').where('project_id', '=', project.id);
    await trx.deleteFrom('crusoe_disk_attachments').where('disk_id', 'in', disks).execute();
    await trx.deleteFrom('crusoe_disks').where('project_id', '=', project.id).execute();
  }
}
