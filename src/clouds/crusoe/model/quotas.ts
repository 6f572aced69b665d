import type { Kysely } from 'kysely';
import { Counters } from '../../../kernel/counters.js';
import type { Migrations } from '../../../kernel/db/migrate.js';
import type { Executor } from '../../../kernel/db/store.js';
import { CrusoeError, Reason, projectForbidden } from '../errors.js';
import type { CrusoeCatalog, VmType } from '../catalog.js';
import { Counter, parseJson, type CrusoeContext } from './context.js';
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

/** What a disk growing holds beyond its size until the resize completes (from its operation's params). */
export function growth(disk: { size_gib: number | string }, params: string): number {
  return Math.max(0, Number(parseJson<{ size_gib?: number }>(params)?.size_gib ?? 0) - Number(disk.size_gib));
}

/** What disks need of the quotas: storage taken and given back. */
export interface StorageQuota {
  takeStorage(trx: Executor, accountId: string, gib: number): Promise<void>;
  giveStorage(trx: Executor, accountId: string, gib: number): Promise<void>;
}

/** The counter keys whose values quota use keeps (see Quotas): every family's, and storage. */
const USE_KEYS = [{ prefix: 'crusoe.family.' }, QuotaKey.storage] as const;

/**
 * Crusoe quotas (GET /projects/{id}/quotas and /organizations/{id}/quotas, as the Go client's
 * ListProjectQuotas/ListOrgQuotas and dstack's credential check call them): one per instance
 * family (GPUs of a GPU family, vCPUs of a CPU family), the VM count and disk storage in GiB.
 * `max` is the account's quota as an operator set it (or the default); `used` is what the
 * project holds, counted from its rows, or what the whole organization holds.
 *
 * What the organization holds of each family and of storage is kept in a counter (the quota's
 * key), which a create takes from in one conditional update: a create costs the same
 * with ten VMs or a hundred thousand, and two creates side by side cannot both take the last
 * units. A VM holds its type's units from its create until its row goes, a disk its size; a
 * change in flight holds the larger of before and after (an UPDATE to a bigger type, a disk
 * growing) until it completes or is undone.
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

  /** Registers the quota keys (each its own counter) with the kernel, so the admin API lists and sets them. */
  register(): void {
    const { counters } = this.ctx.kernel;
    for (const def of this.defs) {
      if (def.key === Counter.vms) continue; // defined with its live counter
      counters.defineQuota(def.key, def.defaultMax);
    }
  }

  async project(projectId: string): Promise<QuotaView[]> {
    const project = await this.ctx.db.selectFrom('crusoe_projects').select('account_id').where('id', '=', projectId).executeTakeFirst();
    // (the caller was a member when the request came in; a project deleted since is answered as any other it cannot see)
    if (!project) throw projectForbidden(projectId);
    return this.views('PROJECT_QUOTA_TYPE_', project.account_id, projectId);
  }

  async organization(accountId: string, orgId: string): Promise<QuotaView[]> {
    await this.organizations.owned(this.ctx.db, accountId, orgId);
    return this.views('ORG_QUOTA_TYPE_', accountId, null);
  }

  /**
   * Takes `count` VMs' units of a type from its family's quota (across the organization), or
   * refuses them (403), taking nothing. `replacing` is the type a VM leaves when an UPDATE
   * changes it: the VM holds its units already, so only what the new type adds is taken now
   * (the rest moves when the change completes: `typeChanged`).
   */
  async takeFamily(trx: Executor, accountId: string, type: VmType, count: number, replacing?: VmType): Promise<void> {
    const def = this.familyDefs.get(familyOf(type.product_name));
    if (!def) return;
    const wanted = unitsOf(type) * count;
    const replaced = replacing ? this.unitsIn(def, replacing) : 0;
    if (wanted <= replaced || (await this.ctx.kernel.counters.acquire(trx, accountId, def.key, wanted - replaced))) return;
    throw await this.familyRefusal(trx, accountId, def, type, count, replaced);
  }

  /** Takes `gib` more disk storage from the account's storage quota, or refuses it (403), taking nothing. */
  async takeStorage(trx: Executor, accountId: string, gib: number): Promise<void> {
    if (gib <= 0 || (await this.ctx.kernel.counters.acquire(trx, accountId, QuotaKey.storage, gib))) return;
    throw await this.storageRefusal(trx, accountId, gib);
  }

  /**
   * Takes what `count` new VMs of a type hold (their family's units, `gib` of disk storage for
   * the disks made with them, the VM count) in one statement, or refuses them (403) naming the
   * first quota without room, in that order; the caller's transaction gives back what was taken.
   */
  async takeForNewVms(trx: Executor, accountId: string, type: VmType, count: number, gib: number): Promise<void> {
    const refused = await this.ctx.kernel.counters.acquireAll(trx, accountId, this.newVmWants(type, count, gib));
    if (refused !== null) throw await this.newVmsRefusal(trx, accountId, type, count, gib, refused);
  }

  /** Why new VMs were refused, `refused` being the first of newVmWants's keys without room. */
  async newVmsRefusal(trx: Executor, accountId: string, type: VmType, count: number, gib: number, refused: string): Promise<CrusoeError> {
    const def = this.familyDefs.get(familyOf(type.product_name));
    if (def && refused === def.key) return this.familyRefusal(trx, accountId, def, type, count, 0);
    if (refused === QuotaKey.storage) return this.storageRefusal(trx, accountId, gib);
    return new CrusoeError(403, Reason.QuotaExceeded, `quota exceeded: this organization may have at most ${await this.ctx.kernel.counters.limit(trx, accountId, Counter.vms)} VMs`);
  }

  /** What new VMs count against, in the order a refusal names the first without room. */
  newVmWants(type: VmType, count: number, gib: number): [string, number][] {
    const def = this.familyDefs.get(familyOf(type.product_name));
    const wants: [string, number][] = [[QuotaKey.storage, gib], [Counter.vms, count]];
    if (def) wants.unshift([def.key, unitsOf(type) * count]);
    return wants;
  }

  private async familyRefusal(trx: Executor, accountId: string, def: QuotaDef & { unit: Unit }, type: VmType, count: number, replaced: number): Promise<CrusoeError> {
    // (what the organization uses beside the VM being changed)
    const { used, max } = await this.use(trx, accountId, def.key, replaced);
    const wanted = unitsOf(type) * count;
    return new CrusoeError(
      403,
      Reason.QuotaExceeded,
      `quota exceeded: ${count} ${type.product_name} VM(s) need ${wanted} ${def.unit} of the ${def.programmatic} quota; this organization uses ${used} of ${max}`,
    );
  }

  private async storageRefusal(trx: Executor, accountId: string, gib: number): Promise<CrusoeError> {
    const { used, max } = await this.use(trx, accountId, QuotaKey.storage);
    return new CrusoeError(403, Reason.QuotaExceeded, `quota exceeded: ${gib} GiB more disk storage would pass the disk-storage-gib quota; this organization uses ${used} of ${max} GiB`);
  }

  /** Disk storage given back: disks gone, or a growth undone. */
  async giveStorage(trx: Executor, accountId: string, gib: number): Promise<void> {
    if (gib > 0) await this.ctx.kernel.counters.add(trx, accountId, QuotaKey.storage, -gib);
  }

  /** VMs gone: their types' units go back to their families. */
  async giveVms(trx: Executor, accountId: string, types: readonly string[]): Promise<void> {
    const back = new Map<string, number>();
    for (const name of types) {
      const type = this.ctx.catalog.types.get(name);
      const def = type && this.familyDefs.get(familyOf(name));
      if (def) back.set(def.key, (back.get(def.key) ?? 0) + unitsOf(type));
    }
    for (const [key, units] of back) await this.ctx.kernel.counters.add(trx, accountId, key, -units);
  }

  /**
   * A type change ended. Completed: the VM now holds only its new type's units (what the old
   * type held beyond them goes back). Undone: it holds its old type's again (what `takeFamily`
   * took for the new one goes back).
   */
  async typeChanged(trx: Executor, accountId: string, from: string, to: string, outcome: 'completed' | 'undone'): Promise<void> {
    const before = this.ctx.catalog.types.get(from);
    const after = this.ctx.catalog.types.get(to);
    if (!before || !after) return;
    for (const family of new Set([familyOf(from), familyOf(to)])) {
      const def = this.familyDefs.get(family);
      if (!def) continue;
      const delta = this.unitsIn(def, after) - this.unitsIn(def, before);
      const back = outcome === 'completed' ? Math.min(0, delta) : -Math.max(0, delta);
      if (back !== 0) await this.ctx.kernel.counters.add(trx, accountId, def.key, back);
    }
  }

  /**
   * What every account holds of each family and of storage, recounted from the rows (after an
   * import, and once for a store made before these counters were kept), changes in flight
   * included. Replaces every such counter.
   */
  static async recount(trx: Executor, catalog: CrusoeCatalog, counters: Pick<Counters, 'replaceAll'>): Promise<void> {
    const held = new Map<string, number>();
    const hold = (accountId: string, key: string, n: number) => {
      const at = `${accountId}\u0000${key}`;
      held.set(at, (held.get(at) ?? 0) + n);
    };
    const units = (name: string): [key: string, n: number] | null => {
      const type = catalog.types.get(name);
      return type ? [QuotaKey.family(familyOf(name)), unitsOf(type)] : null;
    };
    const db = trx as CrusoeContext['db'];
    const vms = await db.selectFrom('crusoe_vms').select(['account_id', 'type', (eb) => eb.fn.countAll<number>().as('n')]).groupBy(['account_id', 'type']).execute();
    for (const row of vms) {
      const found = units(row.type);
      if (found) hold(row.account_id, found[0], found[1] * Number(row.n));
    }
    const changing = await db
      .selectFrom('crusoe_vms as v')
      .innerJoin('crusoe_operations as o', 'o.id', 'v.busy_operation_id')
      .select(['v.account_id', 'v.type', 'o.params'])
      .where('o.action', '=', 'vm.update')
      .execute();
    for (const row of changing) {
      const next = units(String(parseJson<{ type?: string }>(row.params)?.type ?? ''));
      const now = units(row.type);
      if (next) hold(row.account_id, next[0], Math.max(0, next[1] - (now && now[0] === next[0] ? now[1] : 0)));
    }
    const disks = await db.selectFrom('crusoe_disks').select(['account_id', (eb) => eb.fn.sum<number>('size_gib').as('gib')]).groupBy('account_id').execute();
    for (const row of disks) hold(row.account_id, QuotaKey.storage, Number(row.gib));
    const growing = await db
      .selectFrom('crusoe_disks as d')
      .innerJoin('crusoe_operations as o', 'o.id', 'd.busy_operation_id')
      .select(['d.account_id', 'd.size_gib', 'o.params'])
      .where('o.action', '=', 'disk.resize')
      .execute();
    for (const row of growing) hold(row.account_id, QuotaKey.storage, growth(row, row.params));
    const counts = [...held].map(([at, value]) => {
      const [accountId, key] = at.split('\u0000') as [string, string];
      return { accountId, key, value };
    });
    await counters.replaceAll(trx, USE_KEYS, counts);
  }

  /** What the account holds of a quota's counter, and its limit (for a refusal's message). */
  private async use(trx: Executor, accountId: string, key: string, besides = 0): Promise<{ used: number; max: number }> {
    const { counters } = this.ctx.kernel;
    return { used: (await counters.get(trx, accountId, key)) - besides, max: await counters.limit(trx, accountId, key) };
  }

  private unitsIn(def: QuotaDef, type: VmType): number {
    return familyOf(type.product_name) === def.programmatic ? unitsOf(type) : 0;
  }

  /**
   * A project's quotas count its rows; the organization's read the counters the quotas are
   * taken from (a change in flight holds the larger of before and after, as a create sees it).
   */
  private async views(prefix: string, accountId: string, projectId: string | null): Promise<QuotaView[]> {
    const { counters } = this.ctx.kernel;
    const db = this.ctx.db;
    const out: QuotaView[] = [];
    const rows = projectId !== null ? { perType: await this.vmsByType(db, projectId), storage: await this.storageGib(db, projectId) } : null;
    for (const def of this.defs) {
      const max = await counters.limit(db, accountId, def.key);
      const used = rows ? this.count(def, rows.perType, rows.storage) : await counters.get(db, accountId, def.key);
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

  private async vmsByType(trx: Executor, projectId: string): Promise<Map<string, number>> {
    const rows = await (trx as CrusoeContext['db'])
      .selectFrom('crusoe_vms')
      .select(['type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('project_id', '=', projectId)
      .groupBy('type')
      .execute();
    return new Map(rows.map((r) => [r.type, Number(r.n)]));
  }

  private async storageGib(trx: Executor, projectId: string): Promise<number> {
    const row = await (trx as CrusoeContext['db'])
      .selectFrom('crusoe_disks')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('size_gib'), eb.lit(0)).as('gib'))
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return Number(row?.gib ?? 0);
  }
}

/**
 * Migrations that need the catalog (a type's family and units), with a history of their own
 * (scope `crusoe_quotas`) beside the tables' (tables.ts). Append-only, as every migration.
 */
export const quotaMigrations: Record<string, { up(db: Kysely<any>, catalog: CrusoeCatalog): Promise<void> }> = {
  // A store made before quota use was kept in counters: counted once from its rows.
  '0001_quota_use_counters': { up: (db, catalog) => Quotas.recount(db, catalog, new Counters(db)) },
};

/** The migrations as the kernel runs them, given the catalog. */
export function withCatalog(migrations: typeof quotaMigrations, catalog: CrusoeCatalog): Migrations {
  return Object.fromEntries(Object.entries(migrations).map(([name, m]) => [name, { up: (db: Kysely<any>) => m.up(db, catalog) }]));
}
