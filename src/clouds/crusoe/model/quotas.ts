import type { Executor } from '../../../kernel/db/store.js';
import { CrusoeError, Reason } from '../errors.js';
import type { VmType } from '../catalog.js';
import { Counter, type CrusoeContext } from './context.js';
import type { Organizations } from './organizations.js';

/** What an instance family's quota counts: GPUs ("slices") for GPU types, vCPUs for CPU types. */
type Unit = 'gpus' | 'vcpus';

interface QuotaDef {
  /** The operator's quota key (/admin/v1/accounts/{id}/quotas). */
  key: string;
  /** The spec's `programmatic_name`: the instance family (product name before the dot), or a resource. */
  programmatic: string;
  category: string;
  description: string;
  /** The enum tail of the spec's `type` (after PROJECT_QUOTA_TYPE_ / ORG_QUOTA_TYPE_). */
  typeName: string;
  defaultMax: number;
}

export interface QuotaView {
  type: string;
  programmatic_name: string;
  category: string;
  description: string;
  max: number;
  used: number;
  available: number;
}

/** Generous defaults, so first use never trips them; an operator lowers them per account. */
const DEFAULT_GPUS = 512;
const DEFAULT_VCPUS = 16_384;
const DEFAULT_STORAGE_GIB = 1_048_576;

export const QuotaKey = {
  family: (family: string) => `crusoe.family.${family}`,
  storage: 'crusoe.storage_gib',
} as const;

const familyOf = (productName: string): string => productName.split('.')[0]!;
const unitOf = (type: VmType): Unit => (type.num_gpu > 0 ? 'gpus' : 'vcpus');
const unitsOf = (type: VmType): number => (type.num_gpu > 0 ? type.num_gpu : type.cpu_cores);
const enumName = (text: string): string => text.toUpperCase().replace(/[^A-Z0-9]+/g, '_');

/** What disks need of the quotas: the storage check. */
export interface StorageQuota {
  checkStorage(trx: Executor, accountId: string, gib: number): Promise<void>;
}

/**
 * Crusoe quotas (GET /projects/{id}/quotas and /organizations/{id}/quotas, as the Go client's
 * ListProjectQuotas/ListOrgQuotas and dstack's credential check call them): one per instance
 * family (GPUs of a GPU family, vCPUs of a CPU family), the VM count and disk storage in GiB.
 * `max` is the account's quota as an operator set it (or the default); `used` is what the
 * project (or the whole organization) holds now, counted from its rows. Creating VMs checks
 * the family's quota across the organization.
 */
export class Quotas implements StorageQuota {
  private readonly defs: QuotaDef[];
  private readonly familyDefs = new Map<string, QuotaDef & { unit: Unit }>();

  constructor(
    private readonly ctx: CrusoeContext,
    private readonly organizations: Organizations,
  ) {
    const defs: QuotaDef[] = [];
    for (const type of ctx.catalog.types.values()) {
      const family = familyOf(type.product_name);
      if (this.familyDefs.has(family)) continue;
      const unit = unitOf(type);
      const def = {
        key: QuotaKey.family(family),
        programmatic: family,
        category: unit === 'gpus' ? 'GPU Instance' : 'CPU Instance',
        description: unit === 'gpus' ? `${type.gpu_type} GPUs` : `${family} vCPUs`,
        typeName: unit === 'gpus' ? `MAXIMUM_VM_SLICES_${enumName(family)}` : `MAXIMUM_VCPUS_${enumName(family)}`,
        defaultMax: unit === 'gpus' ? DEFAULT_GPUS : DEFAULT_VCPUS,
        unit,
      };
      this.familyDefs.set(family, def);
      defs.push(def);
    }
    defs.push({ key: Counter.vms, programmatic: 'vms', category: 'Instance', description: 'VMs', typeName: 'MAXIMUM_VMS', defaultMax: 0 });
    defs.push({ key: QuotaKey.storage, programmatic: 'disk-storage-gib', category: 'Storage', description: 'Disk storage (GiB)', typeName: 'MAXIMUM_DISK_STORAGE_GIB', defaultMax: DEFAULT_STORAGE_GIB });
    this.defs = defs;
  }

  /** Registers the quota keys with the kernel, each with what it counts, so the admin API lists and sets them. */
  register(): void {
    const { counters } = this.ctx.kernel;
    for (const def of this.defs) {
      if (def.key === Counter.vms) continue; // defined with its live counter
      counters.defineQuota(def.key, def.defaultMax, (trx, accountId) => this.usedOf(trx, { accountId }, def));
    }
  }

  async project(projectId: string): Promise<QuotaView[]> {
    const project = await this.ctx.db.selectFrom('crusoe_projects').select('account_id').where('id', '=', projectId).executeTakeFirstOrThrow();
    return this.views('PROJECT_QUOTA_TYPE_', project.account_id, { projectId });
  }

  async organization(accountId: string, orgId: string): Promise<QuotaView[]> {
    await this.organizations.owned(this.ctx.db, accountId, orgId);
    return this.views('ORG_QUOTA_TYPE_', accountId, { accountId });
  }

  /**
   * Refuses VMs of a type beyond its family's quota (across the organization), or does nothing.
   * `replacing` is the type a VM leaves when an UPDATE changes it: its units are not counted twice.
   *
   * The check counts rows, so it first takes the account's lock (see `lockAccount`): two creates
   * of one account cannot both count the same rows and both take the last units. The same holds
   * for disk storage (`checkStorage`).
   */
  async checkFamily(trx: Executor, accountId: string, type: VmType, count: number, replacing?: VmType): Promise<void> {
    const def = this.familyDefs.get(familyOf(type.product_name));
    if (!def) return;
    await this.lockAccount(trx, accountId);
    const { counters } = this.ctx.kernel;
    const max = await counters.limit(trx, accountId, def.key);
    const used = (await this.usedOf(trx, { accountId }, def)) - (replacing ? this.unitsIn(def, replacing) : 0);
    const wanted = unitsOf(type) * count;
    if (used + wanted > max) {
      throw new CrusoeError(
        403,
        Reason.QuotaExceeded,
        `quota exceeded: ${count} ${type.product_name} VM(s) need ${wanted} ${def.unit} of the ${def.programmatic} quota; this organization uses ${used} of ${max}`,
      );
    }
  }

  /** Refuses `gib` more disk storage beyond the account's storage quota, or does nothing (same lock as the family check). */
  async checkStorage(trx: Executor, accountId: string, gib: number): Promise<void> {
    if (gib <= 0) return;
    await this.lockAccount(trx, accountId);
    const max = await this.ctx.kernel.counters.limit(trx, accountId, QuotaKey.storage);
    const used = (await this.storageGib(trx, { accountId })) + (await this.growing(trx, accountId));
    if (used + gib > max) {
      throw new CrusoeError(403, Reason.QuotaExceeded, `quota exceeded: ${gib} GiB more disk storage would pass the disk-storage-gib quota; this organization uses ${used} of ${max} GiB`);
    }
  }

  /** What disks being grown add until their resize completes (the row has the old size until then). */
  private async growing(trx: Executor, accountId: string): Promise<number> {
    const rows = await (trx as CrusoeContext['db'])
      .selectFrom('crusoe_disks as d')
      .innerJoin('crusoe_operations as o', 'o.id', 'd.busy_operation_id')
      .select(['d.size_gib', 'o.params'])
      .where('o.action', '=', 'disk.resize')
      .where('d.account_id', '=', accountId)
      .execute();
    return rows.reduce((sum, r) => sum + Math.max(0, Number((JSON.parse(r.params) as { size_gib?: number }).size_gib ?? 0) - Number(r.size_gib)), 0);
  }

  /**
   * Holds the account's row until the transaction ends (PostgreSQL; SQLite runs one transaction
   * at a time). Every family check takes it before counting, so a check sees the rows of every
   * create, bulk create and type change of the account that committed before it, and none is in
   * flight beside it. (Creates of one account already queued behind each other on their VM
   * counter's row: this adds no waiting to them.) `no key update` leaves inserts that refer to
   * the account free.
   */
  private async lockAccount(trx: Executor, accountId: string): Promise<void> {
    if (this.ctx.kernel.store.engine !== 'postgres') return;
    await trx.selectFrom('accounts').select('id').where('id', '=', accountId).forNoKeyUpdate().execute();
  }

  private unitsIn(def: QuotaDef, type: VmType): number {
    return familyOf(type.product_name) === def.programmatic ? unitsOf(type) : 0;
  }

  private async views(prefix: string, accountId: string, scope: { projectId?: string; accountId?: string }): Promise<QuotaView[]> {
    const { counters } = this.ctx.kernel;
    const db = this.ctx.db;
    const out: QuotaView[] = [];
    const perType = await this.vmsByType(db, scope);
    const storage = await this.storageGib(db, scope);
    for (const def of this.defs) {
      const max = await counters.limit(db, accountId, def.key);
      const used = this.count(def, perType, storage);
      out.push({
        type: prefix + def.typeName,
        programmatic_name: def.programmatic,
        category: def.category,
        description: def.description,
        max,
        used,
        available: Math.max(0, max - used),
      });
    }
    return out;
  }

  private async usedOf(trx: Executor, scope: { projectId?: string; accountId?: string }, def: QuotaDef): Promise<number> {
    if (def.key === QuotaKey.storage) return (await this.storageGib(trx, scope)) + (scope.accountId === undefined ? 0 : await this.growing(trx, scope.accountId));
    return this.count(def, await this.vmsByType(trx, scope, def.programmatic), 0) + (await this.changingType(trx, scope, def));
  }

  /**
   * What VMs whose UPDATE to another type is in flight add to a family: until it completes the
   * row has the old type, and the VM holds the larger of the two.
   */
  private async changingType(trx: Executor, scope: { projectId?: string; accountId?: string }, def: QuotaDef): Promise<number> {
    if (def.key === Counter.vms) return 0;
    let query = (trx as CrusoeContext['db'])
      .selectFrom('crusoe_vms as v')
      .innerJoin('crusoe_operations as o', 'o.id', 'v.busy_operation_id')
      .select(['v.type', 'o.params'])
      .where('o.action', '=', 'vm.update');
    query = scope.projectId !== undefined ? query.where('v.project_id', '=', scope.projectId) : query.where('v.account_id', '=', scope.accountId!);
    let extra = 0;
    for (const row of await query.execute()) {
      const next = this.ctx.catalog.types.get(String((JSON.parse(row.params) as { type?: string }).type ?? ''));
      const now = this.ctx.catalog.types.get(row.type);
      if (next && now) extra += Math.max(0, this.unitsIn(def, next) - this.unitsIn(def, now));
    }
    return extra;
  }

  private count(def: QuotaDef, perType: Map<string, number>, storage: number): number {
    if (def.key === QuotaKey.storage) return storage;
    let used = 0;
    for (const [name, n] of perType) {
      const type = this.ctx.catalog.types.get(name);
      if (def.key === Counter.vms) used += n;
      else if (type && familyOf(name) === def.programmatic) used += unitsOf(type) * n;
    }
    return used;
  }

  private async vmsByType(trx: Executor, scope: { projectId?: string; accountId?: string }, family?: string): Promise<Map<string, number>> {
    let query = (trx as CrusoeContext['db']).selectFrom('crusoe_vms').select(['type', (eb) => eb.fn.countAll<number>().as('n')]);
    if (scope.projectId !== undefined) query = query.where('project_id', '=', scope.projectId);
    else query = query.where('account_id', '=', scope.accountId!);
    if (family !== undefined) query = query.where((eb) => eb.or([eb('type', '=', family), eb('type', 'like', `${family}.%`)]));
    const rows = await query.groupBy('type').execute();
    return new Map(rows.map((r) => [r.type, Number(r.n)]));
  }

  private async storageGib(trx: Executor, scope: { projectId?: string; accountId?: string }): Promise<number> {
    let query = (trx as CrusoeContext['db']).selectFrom('crusoe_disks').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('size_gib'), eb.lit(0)).as('gib'));
    if (scope.projectId !== undefined) query = query.where('project_id', '=', scope.projectId);
    else query = query.where('account_id', '=', scope.accountId!);
    const row = await query.executeTakeFirst();
    return Number(row?.gib ?? 0);
  }
}
