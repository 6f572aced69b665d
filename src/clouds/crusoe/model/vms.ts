import { sql, type SelectQueryBuilder, type Transaction } from 'kysely';
import { KeptReads } from '../../../kernel/db/kept-reads.js';
import { joinedVersions, rowsById, rowVersion, VersionedTexts, type RowTexts, type ShownRows, type WatchedTables } from '../../../kernel/db/row-texts.js';
import { byShape, heldInsert, heldWrite, prepared, togetherOrInTurn } from '../../../kernel/db/prepared.js';
import type { Engine, Executor } from '../../../kernel/db/store.js';
import { badRequest, conflict, type CrusoeError, notFound } from '../errors.js';
import type { VmType } from '../catalog.js';
import type { OperationRow, ProjectRow, SubnetRow, TemplateRow, VmRow } from '../tables.js';
import type { BulkCreateInput, CreateInstanceInput, DiskAttachmentInput, DiskTemplateInput, ListInstancesQueryInput, UpdateInstanceInput } from '../wire.js';
import { ACCESS_KEY_KIND, CLOUD, Counter, parseJson, privatePool, publicPool, regionOf, subnetPool, type CrusoeContext } from './context.js';
import { parseSize, type AttachedDiskView, type Disks } from './disks.js';
import type { InstanceGroups } from './groups.js';
import type { Networks } from './networks.js';
import { OperationState, VM_FAMILY, type OperationError, type OperationBatch, type OperationHandler, type Operations, type OperationStart } from './operations.js';
import type { References } from './references.js';
import type { Quotas } from './quotas.js';
import type { Rules } from './rules.js';
import { parsePublicKey } from './ssh-keys.js';
import type { Templates } from './templates.js';
import { normalizeState, VM_MACHINE, VmState } from './vm-states.js';
import { vmJson } from './vm-json.js';
import { assertIdle, csv, rowToChange } from './resource.js';
import { allows } from '../../../kernel/lifecycle/machine.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { CrusoeModel } from './index.js';
import type { FusedRead } from '../../../kernel/tenancy/accounts.js';
import type { ReadWithKey } from '../caller.js';
import { ownedProject } from './projects.js';

export interface VmView {
  row: VmRow;
  disks: AttachedDiskView[];
  /** The port `ssh_destination` names (the sandbox fabric's SSH port; 22 otherwise). */
  sshPort?: number;
}

export interface VmPage {
  /** Each VM as its wire JSON, written by the store (see vm-json.ts), or as a view for renderVm to write. */
  items: (string | Buffer | VmView)[];
  next: string;
  prev: string;
}

/** GET's read of a VM: its id (null: no such VM) and wire JSON (null: renderVm writes it). */
export interface WireRow {
  vm_id: string | null;
  wire: string | null;
}

/**
 * A listed VM: what its page is ordered by, and its wire JSON (null: renderVm writes it, or its
 * kept text is used), or on PostgreSQL its version (see VersionedTexts) where its JSON is kept.
 */
type ListedVm = Pick<VmRow, 'id' | 'name' | 'seq'> & { wire: string | Buffer | null; version?: string | null };

/** What a VM's JSON shows (vm-json.ts): its row, its attachments, and the disks they name. */
const VM_TEXT_SOURCES: WatchedTables = {
  crusoe_vms: 'id',
  crusoe_disk_attachments: 'vm_id',
  crusoe_disks: { column: 'id', via: 'crusoe_disk_attachments', on: 'disk_id', key: 'vm_id' },
};

/** What a VM's version shows besides its row (see rowVersion): its attachments' and their disks' writers (what VM_TEXT_SOURCES watches on SQLite). */
const VM_SHOWN: readonly ShownRows[] = [
  { alias: 'a', from: sql`crusoe_disk_attachments a`, owner: 'a.vm_id' },
  // (each disk by its key whatever the statistics say, as vm-json.ts reads them)
  { alias: 'd', from: sql`crusoe_disk_attachments da join lateral (select xmin from crusoe_disks x where x.id = da.disk_id offset 0) d on true`, owner: 'da.vm_id' },
];

/** Turns a VM into what an operation's result shows (the wire shape; injected by the HTTP side). */
export type RenderVm = (view: VmView) => unknown;

const VM = VM_MACHINE.actions;
/** The operations' transitions (`vm.create`, ...) that complete VM actions. */
export type VmAction = (typeof VM)[keyof typeof VM]['transition'];

const SORTS = ['created_at', 'name'] as const;
type Sort = (typeof SORTS)[number];
const MAX_PAGE = 1000;
const MAX_BULK = 1000;

interface Cursor {
  s: Sort;
  v: string | number;
  i: string;
}

interface Peers {
  renderVm: RenderVm;
  rules: Rules;
  disks: Disks;
  operations: Operations;
  templates: Templates;
  groups: InstanceGroups;
  networks: Networks;
  refs: References;
  quotas: Quotas;
}

/** What the ledger bills a VM in while it runs: its GPUs, or its vCPUs for a CPU-only type. */
export const GPU_METRIC = 'gpu-hours';
export const CPU_METRIC = 'cpu-hours';

/** A VM about to be created: everything decided, nothing written yet. */
interface VmPlan {
  name: string;
  type: VmType;
  location: string;
  image: string;
  sshPublicKey: string;
  startupScript: string;
  shutdownScript: string;
  maintenancePolicy: string;
  virtualization: string | null;
  subnet: Pick<SubnetRow, 'id' | 'network_id'>;
  publicIpType: string;
  partition: { id: string; ib_network_id: string } | null;
  templateId: string | null;
  groupId: string | null;
  attach: DiskAttachmentInput[];
  newDisks: DiskTemplateInput[];
  /** The reservation the VM counts against, if any. */
  reservationId: string | null;
}

/** A create found no stock: its transaction is undone, and an operation that fails is recorded instead (Vms.madeOrOutOfStock). */
class OutOfStock extends Error {
  constructor(
    readonly start: OperationStart,
    readonly error: OperationError,
  ) {
    super(error.message);
  }
}

const outOfStock = (type: string, location: string, n: number): OperationError => ({
  code: 'out_of_stock',
  message: `out of stock: not enough ${type} capacity in ${location} for ${n} VM${n === 1 ? '' : 's'}`,
});

/**
 * The rules of Crusoe VMs: what a create must carry, which state allows which action, and how
 * a VM holds stock, quota, addresses and disks. Every change answers with an operation; the
 * lifecycle engine completes it through `complete` (or rolls it back through `rollback`).
 */
export class Vms implements OperationHandler {
  readonly machines = [VM_MACHINE];

  constructor(
    private readonly ctx: CrusoeContext,
    private readonly peers: Peers,
  ) {
    // (SQLite: a VM's JSON is written again only after it, its disks or their attachments change)
    this.texts = ctx.kernel.store.rowTexts?.('crusoe_vms', VM_TEXT_SOURCES) ?? null;
    // An unfiltered page's VMs (ids and the columns its cursors are made of) stay the same while
    // no VM is added, removed, renamed or moved to another project; state changes keep them.
    ctx.kernel.store.declareList?.('crusoe_vms', ['project_id', 'seq', 'name']);
    this.keptPages = new KeptReads(ctx.kernel.store, [{ rowsOf: 'crusoe_vms' }], 1_000);
    // (PostgreSQL: a page finds its VMs' ids and versions, and only the JSON of those whose
    // version moved since they were last listed is written again)
    this.versioned = ctx.kernel.store.engine === 'postgres' ? new VersionedTexts() : null;
  }

  /** The VMs' wire JSON kept between reads (SQLite; see RowTexts). */
  private readonly texts: RowTexts | null;
  /** The VMs' wire JSON kept between pages on PostgreSQL, under their versions (see VersionedTexts). */
  private readonly versioned: VersionedTexts | null;
  /** Unfiltered pages' VMs as found, by project, shape and cursor (SQLite): see `list`. */
  private readonly keptPages: KeptReads<ListedVm[]>;

  // -------------------------------------------------------------------------------------
  // Reads

  async get(projectId: string, id: string): Promise<VmView> {
    const row = await this.find(this.ctx.db, projectId, id);
    return (await this.withDisks(this.ctx.db, [row]))[0]!;
  }

  /**
   * GET's answer: the VM's wire JSON as the store writes it, in one statement (see vm-json.ts),
   * or its view where renderVm writes it.
   */
  async wire(projectId: string, id: string): Promise<string | Buffer | VmView> {
    const [kept] = (await this.keptTexts(projectId, [id])) ?? [];
    if (kept) return kept;
    const [row] = await this.wireById(this.ctx.kernel.ipam.sshPort)(this.ctx.db, id, projectId);
    return this.wireIn(row, projectId, id);
  }

  /**
   * The project's VMs' JSON as kept since they last changed, or written now (SQLite, see
   * RowTexts): null where nothing is kept, or a VM is not the project's (any more); a VM the
   * store does not write (see vm-json.ts) is null.
   */
  private async keptTexts(projectId: string, ids: readonly string[]): Promise<(Buffer | null)[] | null> {
    if (this.texts === null) return null;
    const { sshPort } = this.ctx.kernel.ipam;
    // (the texts name the SSH port: kept under it too)
    return this.texts.textsOf(`${projectId} ${sshPort}`, ids, (missing) => this.textsById(sshPort)(this.ctx.db, JSON.stringify(missing), projectId));
  }

  /**
   * A page's VMs' JSON where it is kept between reads: as kept since they last changed, or
   * written now (SQLite, see RowTexts), or kept under the versions the page found them at
   * (PostgreSQL, see VersionedTexts). Null where a VM is not the project's (any more); a VM
   * the store does not write (see vm-json.ts) is null.
   */
  private pageTexts(projectId: string, rows: readonly ListedVm[]): Promise<(Buffer | null)[] | null> {
    const { versioned } = this;
    if (versioned === null) return this.keptTexts(projectId, rows.map((row) => row.id));
    const { sshPort } = this.ctx.kernel.ipam;
    const found = rows.map((row) => ({ id: row.id, version: row.version! }));
    return versioned.textsOf(`${projectId} ${sshPort}`, found, (missing) => this.versionedTextsById(sshPort)(this.ctx.db, JSON.stringify(missing), projectId));
  }

  /** The wire JSON of a project's VMs by id with their versions (PostgreSQL), one prepared form per SSH port (see vmJson). */
  private readonly versionedTextsById = byShape<number, { id: string; version: string; text: string | null }>((sshPort) => [
    2,
    (ids, projectId) => rowsById(this.ctx.db, 'crusoe_vms as v', 'v.id', 'v.project_id', ids, projectId, 'postgres').select(['v.id', rowVersion('v', VM_SHOWN).as('version'), vmJson('postgres', sshPort).as('text')]),
  ]);

  /** The wire JSON of a project's VMs by id, one prepared form per SSH port (see vmJson). */
  private readonly textsById = byShape<number, { id: string; text: string | null }>((sshPort) => [
    2,
    (ids, projectId) => rowsById(this.ctx.db, 'crusoe_vms as v', 'v.id', 'v.project_id', ids, projectId).select(['v.id', vmJson(this.ctx.kernel.store.engine, sshPort).as('text')]),
  ]);

  /** GET's answer from its statement's row (`vm_id` null or no row: no such VM). */
  async wireIn(row: WireRow | undefined, projectId: string, id: string): Promise<string | VmView> {
    if (row === undefined || row.vm_id === null) throw notFound('VM', id);
    return row.wire ?? this.get(projectId, id);
  }

  /** A VM's wire JSON by id in its project, one prepared form per SSH port (see vmJson). */
  private readonly wireById = byShape<number, WireRow>((sshPort) => [
    2,
    (id, projectId) =>
      this.ctx.db
        .selectFrom('crusoe_vms as v')
        .select(['v.id as vm_id', vmJson(this.ctx.kernel.store.engine, sshPort).as('wire')])
        .where('v.id', '=', id)
        .where('v.project_id', '=', projectId),
  ]);

  /**
   * GET's read made with the caller's access key (PostgreSQL, see Tenancy.fused; null on
   * SQLite): a row while the project is the key's account's, whose `vm_id` is null where the
   * project has no such VM.
   */
  wireAsCaller(projectId: string, id: string): ReadWithKey<WireRow, string | VmView> | null {
    const read = this.wireWithKey();
    return read && { read, args: [projectId, id], use: ([row]) => this.wireIn(row, projectId, id) };
  }

  private wireWithKey(): FusedRead<WireRow> | null {
    const { engine } = this.ctx.kernel.store;
    if (engine !== 'postgres') return null;
    const { sshPort } = this.ctx.kernel.ipam;
    let read = this.wiresAsCaller.get(sshPort);
    if (read === undefined) {
      read = this.ctx.kernel.tenancy.fused(CLOUD, [ACCESS_KEY_KIND], 'project_id', [], (account, projectId, id) =>
        ownedProject(this.ctx.db, projectId, account)
          // (the VM found by its key alone, then checked to be the project's: joined on both, a
          // plan made while the store was small found it among its project's VMs by an index
          // led by the project, and a GET then cost as much as the project held)
          .leftJoinLateral(sql<VmRow>`(select * from crusoe_vms x where x.id = ${id} offset 0)`.as('v'), (join) => join.onRef('v.project_id', '=', 'p.id'))
          .select(['p.id as project_id', 'v.id as vm_id', vmJson(engine, sshPort).as('wire')]),
      );
      this.wiresAsCaller.set(sshPort, read);
    }
    return read;
  }
  private readonly wiresAsCaller = new Map<number, FusedRead<WireRow>>();

  /** VMs by id, in the order given (missing ones skipped). */
  async views(trx: Executor, ids: readonly string[]): Promise<VmView[]> {
    const byId = new Map((await this.rows(trx, ids)).map((r) => [r.id, r]));
    return this.withDisks(
      trx,
      ids.map((id) => byId.get(id)).filter((r): r is VmRow => r !== undefined),
    );
  }

  /**
   * One page of a project's VMs. Keyset paging on (sort key, id) with opaque tokens, so pages
   * neither repeat nor skip VMs when others are created or deleted between requests; a VM
   * created meanwhile lands after the existing ones in creation order.
   */
  async list(projectId: string, query: ListInstancesQueryInput, keeps = this.texts !== null || this.versioned !== null): Promise<VmPage> {
    const page = pageQuery(query);
    const { db } = this.ctx;
    const { engine } = this.ctx.kernel.store;
    const { sshPort } = this.ctx.kernel.ipam;
    // Without filters (what clients polling a project ask) the statements are prepared once;
    // with filters, whose lists vary in length, they are built for the request. Where the VMs'
    // JSON is kept, the page's statement finds them (on PostgreSQL with their versions), and
    // only the JSON not kept is written.
    const shape = `${page.sort}|${page.from ?? ''}|${sshPort}|${keeps}`;
    const unfiltered = () => this.unfilteredPage(shape)(db, projectId, page.limit + 1, ...page.cursorArgs);
    const rows = !page.unfiltered
      ? ((await vmPage(db, engine, keeps ? null : sshPort, projectId, page.filters, page.sort, page.from, page.cursor, page.limit + 1).execute()) as ListedVm[])
      : keeps
        ? (await this.keptPages.get(`${projectId}|${shape}|${page.limit}|${JSON.stringify(page.cursorArgs)}`, unfiltered))!
        : await unfiltered();
    return keeps ? this.pageOfKept(projectId, query, page, rows) : this.pageOf(projectId, page, rows);
  }

  /** A page from its statement's rows, found without their JSON: the JSON kept for them (see pageTexts). */
  private async pageOfKept(projectId: string, query: ListInstancesQueryInput, page: PageQuery, rows: ListedVm[]): Promise<VmPage> {
    const texts = await this.pageTexts(projectId, rows.slice(0, page.limit));
    if (texts === null) return this.list(projectId, query, false); // (a VM went meanwhile: the page read again with its JSON)
    return this.pageOf(projectId, page, rows.map((row, i) => ({ ...row, wire: texts[i] ?? null })));
  }

  /**
   * The list's statement made with the caller's access key (PostgreSQL, see Tenancy.fused), for
   * a list without filters: rows while the project is the key's account's. Null on SQLite and
   * for a filtered list (its statement is built for the request).
   */
  listAsCaller(projectId: string, query: ListInstancesQueryInput): ReadWithKey<ListedVm, VmPage> | null {
    // (fused reads are PostgreSQL's, where the VMs' texts are kept under versions: the page's
    // statement reads their versions, whatever the SSH port their texts name)
    if (this.versioned === null) return null;
    const page = pageQuery(query);
    if (!page.unfiltered) return null;
    const shape = `${page.sort}|${page.from ?? ''}`;
    let read = this.unfilteredPagesAsCaller.get(shape);
    if (read === undefined) {
      const [sort, from] = shape.split('|') as [Sort, Side | ''];
      // (the rows of a lateral join come in no promised order: ordered again as the page is)
      const direction = from === 'before' ? 'desc' : 'asc';
      read = this.ctx.kernel.tenancy.fused(
        CLOUD,
        [ACCESS_KEY_KIND],
        'project_id',
        [
          [sort === 'name' ? 'name' : 'seq', direction],
          ['id', direction],
        ],
        (account, projectId, limit, v, i) =>
          ownedProject(this.ctx.db, projectId, account)
            .leftJoinLateral(vmPage(this.ctx.db, 'postgres', null, projectId, NO_FILTERS, sort, from === '' ? null : from, from === '' ? null : { v, i }, limit).as('page'), (join) => join.onTrue())
            .select(['p.id as project_id', 'page.id', 'page.name', 'page.seq', 'page.wire', 'page.version']),
        from === '' ? 2 : 4,
        { aggregated: true },
      );
      this.unfilteredPagesAsCaller.set(shape, read);
    }
    // (a project without VMs is one row without a VM)
    return { read, args: [projectId, page.limit + 1, ...page.cursorArgs], use: (rows) => this.pageOfKept(projectId, query, page, rows.filter((r) => r.id !== null)) };
  }
  private readonly unfilteredPagesAsCaller = new Map<string, FusedRead<ListedVm>>();

  /** A page from its statement's rows (one more than the page holds, if there are more), in the order read. */
  private async pageOf(projectId: string, page: PageQuery, read: ListedVm[]): Promise<VmPage> {
    const { db } = this.ctx;
    const { sort, filters, cursor, limit } = page;
    const backward = page.from === 'before';
    const more = read.length > limit;
    const rows = read.slice(0, limit);
    if (backward) rows.reverse();

    const exists = async (side: Side, c: Position) =>
      (page.unfiltered ? await this.unfilteredExists(`${sort}|${side}`)(db, projectId, c.v, c.i) : await vmsBeyond(db, projectId, filters, sort, side, c).execute()).length > 0;
    let hasBefore = false;
    let hasAfter = false;
    if (rows.length > 0) {
      const first = positionOf(sort, rows[0]!);
      const last = positionOf(sort, rows[rows.length - 1]!);
      hasBefore = backward ? more : cursor !== null && (await exists('before', first));
      hasAfter = backward ? await exists('after', last) : more;
    }
    // (the few VMs the store does not write, read in full for renderVm; one deleted meanwhile is left out)
    const rendered = rows.filter((r) => r.wire === null).map((r) => r.id);
    const views = new Map((rendered.length === 0 ? [] : await this.withDisks(db, await this.rows(db, rendered))).map((view) => [view.row.id, view]));
    return {
      items: rows.flatMap((r) => r.wire ?? views.get(r.id) ?? []),
      next: hasAfter ? encodeCursor(positionOf(sort, rows[rows.length - 1]!)) : '',
      prev: hasBefore ? encodeCursor(positionOf(sort, rows[0]!)) : '',
    };
  }

  /** A page of a project's VMs with no filter, by sort, side of the cursor and SSH port ("created_at|after|22"). */
  private readonly unfilteredPage = byShape<string, ListedVm>((shape) => {
    const [sort, from, port, keeps] = shape.split('|') as [Sort, Side | '', string, string];
    const { engine } = this.ctx.kernel.store;
    const sshPort = keeps === 'true' ? null : Number(port);
    return [
      from === '' ? 2 : 4,
      (projectId, limit, v, i) => vmPage(this.ctx.db, engine, sshPort, projectId, NO_FILTERS, sort, from === '' ? null : from, from === '' ? null : { v, i }, limit),
    ];
  });

  /** Whether the project has a VM beyond a cursor, with no filter ("name|before"). */
  private readonly unfilteredExists = byShape<string>((shape) => {
    const [sort, side] = shape.split('|') as [Sort, Side];
    return [3, (projectId, v, i) => vmsBeyond(this.ctx.db, projectId, NO_FILTERS, sort, side, { v, i })];
  });

  // -------------------------------------------------------------------------------------
  // Writes: each answers with an operation

  async create(accountId: string, projectId: string, input: CreateInstanceInput): Promise<OperationRow> {
    const { db } = this.ctx;
    const { rules } = this.peers;
    const name = rules.vmName(input.name);
    const type = rules.type(input.type);
    const location = rules.location(type, input.location);
    const image = rules.image(input.image, location);
    if (input.custom_image !== undefined && input.custom_image !== '') throw badRequest(`"custom_image": custom image "${input.custom_image}" not found`);
    const key = parsePublicKey(input.ssh_public_key, 'ssh_public_key');
    checkCommitment(input.commitment_period);
    const nic = rules.networkInterface(input.network_interfaces);
    if ((input.host_channel_adapters?.length ?? 0) > 1) throw badRequest('"host_channel_adapters" may hold one adapter');

    // (on PostgreSQL, creates that take the same quota, stock and project rows share a
    // commit; one that attaches disks, claimed by reading them, has a transaction of its own)
    const attaching = (input.disks?.length ?? 0) > 0;
    const group = attaching ? undefined : `crusoe.vms ${accountId} ${projectId} ${location} ${type.product_name} ${input.reservation_specification?.id ?? ''}`;
    return this.madeOrOutOfStock(group, async (trx, inTurn) => {
      const subnet = await this.peers.networks.resolveSubnet(
        trx,
        { id: projectId, account_id: accountId },
        location,
        { subnet: nic.subnet, network: nic.network },
        { subnet: 'network_interfaces.0.subnet', network: 'network_interfaces.0.network' },
      );
      const partition = await rules.partition(trx, projectId, type, location, input.host_channel_adapters?.[0]?.ib_partition_id, 'host_channel_adapters.0.ib_partition_id');
      const attach = input.disks ?? [];
      await this.peers.disks.checkAttachable(trx, projectId, location, null, attach, 'disks');
      const plan: VmPlan = {
        name,
        type,
        location,
        image,
        sshPublicKey: key.line,
        startupScript: rules.script(input.startup_script, 'startup_script'),
        shutdownScript: rules.script(input.shutdown_script, 'shutdown_script'),
        maintenancePolicy: rules.maintenancePolicy(input.maintenance_policy),
        virtualization: input.virtualization_features ? JSON.stringify(input.virtualization_features) : null,
        subnet,
        publicIpType: nic.publicIpType,
        partition,
        templateId: null,
        groupId: null,
        attach,
        newDisks: [],
        reservationId: await rules.reservation(trx, accountId, input.reservation_specification, type, location, 'reservation_specification.id'),
      };
      await this.checkNamesFree(trx, projectId, [name]);
      const vmId = this.ctx.kernel.ids.uuid();
      const opId = this.ctx.kernel.ids.uuid();
      const start = { id: opId, accountId, projectId, family: VM_FAMILY, action: VM.create.transition, resourceId: vmId, metadata: { id: vmId } };
      const disks = await this.insertVm(trx, accountId, projectId, vmId, opId, plan);
      const op = await this.peers.operations.start(trx, start);
      // Last (see madeOrOutOfStock): what every create of the organization, the type, the project updates.
      await this.admit(trx, inTurn, start, type, location);
      if (plan.reservationId !== null) await rules.holdReservation(trx, plan.reservationId, 1, 'reservation_specification.id');
      await this.countInProject(trx, accountId, projectId, 1, disks);
      return op;
    });
  }

  /**
   * Runs a create: its rows are written first, and what every create of the organization (its
   * quotas' counters), of the type (its stock) and of the project (its counts) updates comes
   * last, just before the commit. Each such row is held from its update to the commit: taken
   * first, the next create would wait for this one's inserts as well. Out of stock, the create
   * throws `OutOfStock`: its transaction is undone and another records the operation that
   * fails in its place (the real cloud answers 200 with an operation that fails).
   */
  private async madeOrOutOfStock(group: string | undefined, create: (trx: Transaction<any>, inTurn: boolean) => Promise<OperationRow>): Promise<OperationRow> {
    const { lifecycle } = this.ctx.kernel;
    try {
      // (creates arrive in bursts: one commit for those that arrive together, see `group`)
      return await togetherOrInTurn((inTurn) => lifecycle.groupedTransaction((trx) => create(trx, inTurn), group));
    } catch (error) {
      if (!(error instanceof OutOfStock)) throw error;
      return lifecycle.transaction((trx) => this.peers.operations.startFailing(trx, error.start, error.error));
    }
  }

  /** A VM create's quotas, then its stock (`inTurn`: see Counters.acquireAllThen). */
  private async admit(trx: Transaction<any>, inTurn: boolean, start: OperationStart, type: VmType, location: string): Promise<void> {
    const { quotas } = this.peers;
    const { counters, capacity } = this.ctx.kernel;
    const gib = this.ctx.catalog.osDiskGib;
    const wants = quotas.newVmWants(type, 1, gib);
    const taken = await counters.acquireAllThen(trx, inTurn, start.accountId, wants, (x) => capacity.acquire(x, CLOUD, location, type.product_name));
    if (taken.refused !== null) throw await quotas.newVmsRefusal(trx, start.accountId, type, 1, gib, taken.refused);
    if (!taken.then) throw new OutOfStock(start, outOfStock(type.product_name, location, 1));
  }

  /** The project's counts of VMs and disks, moved last in a create (see madeOrOutOfStock). */
  private async countInProject(trx: Executor, accountId: string, projectId: string, vms: number, disks: number): Promise<void> {
    await this.ctx.kernel.counters.addAll(trx, accountId, [
      [Counter.projectVms(projectId), vms],
      [Counter.projectDisks(projectId), disks],
    ]);
  }

  /**
   * Bulk create: `count` VMs in each location, named `<prefix>-1`, `-2`, … from an inline
   * template, a template id, or the group's template, optionally into an instance group.
   */
  async bulkCreate(accountId: string, projectId: string, input: BulkCreateInput): Promise<OperationRow> {
    const { db, kernel } = this.ctx;
    const { rules } = this.peers;
    if (!Number.isInteger(input.count) || input.count < 1 || input.count > MAX_BULK) throw badRequest(`"count" must be between 1 and ${MAX_BULK}`);
    if (input.instance_template && input.instance_template_id) throw badRequest('send "instance_template" or "instance_template_id", not both');

    return this.madeOrOutOfStock(undefined, async (trx) => {
      const { group, template } = await this.bulkTemplate(trx, accountId, projectId, input);

      const type = rules.type(template.type, 'instance_template.type');
      const targets = this.bulkTargets(input, template, type);
      const newDisks = parseJson<DiskTemplateInput[]>(template.disks) ?? [];
      const plans: VmPlan[] = [];
      let index = 0;
      for (const target of targets) {
        const image = rules.image(template.image_name || undefined, target.location, 'instance_template.image_name');
        const subnet = await this.peers.networks.resolveSubnet(
          trx,
          { id: projectId, account_id: accountId },
          target.location,
          { subnet: target.subnet || undefined },
          { subnet: `${target.field}.subnet_id`, network: `${target.field}.subnet_id` },
        );
        const partition = await rules.partition(trx, projectId, type, target.location, target.partition || undefined, `${target.field}.ib_partition_id`);
        // The request's reservation, or the template's.
        const reservationSpec = input.reservation_specification ?? (template.reservation_id ? { id: template.reservation_id } : undefined);
        const reservationId = await rules.reservation(trx, accountId, reservationSpec, type, target.location, input.reservation_specification ? 'reservation_specification.id' : 'instance_template.reservation_id');
        for (let k = 0; k < input.count; k++) {
          index++;
          plans.push({
            name: rules.vmName(`${input.name_prefix}-${index}`, 'name_prefix'),
            type,
            location: target.location,
            image,
            sshPublicKey: template.ssh_public_key,
            startupScript: template.startup_script,
            shutdownScript: template.shutdown_script,
            maintenancePolicy: template.maintenance_policy,
            virtualization: template.virtualization,
            subnet,
            publicIpType: template.public_ip_address_type || 'dynamic',
            partition,
            templateId: template.id,
            groupId: group?.id ?? null,
            attach: [],
            newDisks,
            reservationId,
          });
        }
      }
      await this.checkNamesFree(trx, projectId, plans.map((p) => p.name));
      const perVm = this.ctx.catalog.osDiskGib + newDisks.reduce((sum, d, j) => sum + parseSize(d.size, `instance_template.disks.${j}.size`), 0);

      const opId = kernel.ids.uuid();
      const vmIds = plans.map(() => kernel.ids.uuid());
      const metadata = { ids: vmIds, ...(group ? { instance_group_id: group.id } : {}), instance_template_id: template.id };
      const start = { id: opId, accountId, projectId, family: VM_FAMILY, action: VM.bulk.transition, resourceId: '', metadata, params: { ids: vmIds } };
      let disks = 0;
      for (let i = 0; i < plans.length; i++) disks += await this.insertVm(trx, accountId, projectId, vmIds[i]!, opId, plans[i]!);
      const op = await this.peers.operations.start(trx, start);
      // Last (see madeOrOutOfStock); out of stock in any location, none is made.
      await this.peers.quotas.takeForNewVms(trx, accountId, type, plans.length, perVm * plans.length);
      for (const target of targets) {
        if (!(await kernel.capacity.acquire(trx, CLOUD, target.location, type.product_name, input.count))) {
          throw new OutOfStock({ ...start, metadata: { ids: [] } }, outOfStock(type.product_name, target.location, input.count));
        }
      }
      const held = new Map<string, number>();
      for (const plan of plans) if (plan.reservationId !== null) held.set(plan.reservationId, (held.get(plan.reservationId) ?? 0) + 1);
      for (const [id, n] of held) await rules.holdReservation(trx, id, n, 'reservation_specification.id');
      await this.countInProject(trx, accountId, projectId, plans.length, disks);
      return op;
    });
  }

  /** Where a bulk create puts its VMs: the locations asked for (each once), or the template's. */
  private bulkTargets(input: BulkCreateInput, template: TemplateRow, type: VmType) {
    const { rules } = this.peers;
    const targets =
      input.locations && input.locations.length > 0
        ? input.locations.map((l, i) => ({ location: rules.location(type, l.location, `locations.${i}.location`), subnet: l.subnet_id, partition: l.ib_partition_id, field: `locations.${i}` }))
        : [{ location: rules.location(type, template.location || undefined, 'instance_template.location'), subnet: template.subnet_id, partition: template.ib_partition_id, field: 'instance_template' }];
    const seen = new Set<string>();
    for (const t of targets) {
      if (seen.has(t.location)) throw badRequest(`"locations" names ${t.location} more than once`);
      seen.add(t.location);
    }
    return targets;
  }

  /** A bulk create's template (inline, by id, or its group's) and group. */
  private async bulkTemplate(trx: Transaction<any>, accountId: string, projectId: string, input: BulkCreateInput) {
    const { templates, groups } = this.peers;
    const group = input.instance_group_id ? await groups.find(trx, projectId, input.instance_group_id) : null;
    if (input.instance_group_id && !group) throw badRequest(`"instance_group_id": instance group "${input.instance_group_id}" not found in this project`);
    let template: TemplateRow | undefined;
    if (input.instance_template) template = await templates.insert(trx, accountId, projectId, input.instance_template, 'instance_template.');
    else if (input.instance_template_id) {
      template = await templates.find(trx, projectId, input.instance_template_id);
      if (!template) throw badRequest(`"instance_template_id": instance template "${input.instance_template_id}" not found in this project`);
    } else if (group) template = await templates.find(trx, projectId, group.template_id);
    if (!template) throw badRequest('"instance_template" or "instance_template_id" is required (or an "instance_group_id" whose group has a template)');
    return { group, template };
  }

  /** A VM goes unless a load balancer or a firewall rule names it. */
  async delete(projectId: string, id: string): Promise<OperationRow> {
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const vm = await this.idle(trx, projectId, id);
      await this.peers.refs.assertFree(trx, vm.id, `VM "${vm.id}"`);
      const op = await this.begin(trx, vm, VM.delete.transition, { prev_state: vm.state });
      await this.set(trx, vm.id, { state: VM.delete.via, busy_operation_id: op.id });
      this.entered(trx, vm, VM.delete.via);
      return op;
    });
  }

  /** PATCH: START, STOP, RESET (async), RESERVE / UNRESERVE (done with the request), UPDATE. */
  async update(accountId: string, projectId: string, id: string, input: UpdateInstanceInput): Promise<OperationRow> {
    const { kernel } = this.ctx;
    const { rules, operations } = this.peers;
    checkCommitment(input.commitment_period);
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const vm = await this.idle(trx, projectId, id);
      switch (input.action) {
        case 'START': {
          if (!allows(VM_MACHINE, 'start', vm.state)) throw this.wrongState(vm, 'started', 'stopped');
          const opId = kernel.ids.uuid();
          const start = { id: opId, accountId, projectId, family: VM_FAMILY, action: VM.start.transition, resourceId: vm.id, metadata: { id: vm.id } };
          await this.set(trx, vm.id, { busy_operation_id: opId });
          if (!(await kernel.capacity.acquire(trx, CLOUD, vm.location, vm.type))) {
            return operations.startFailing(trx, start, outOfStock(vm.type, vm.location, 1));
          }
          await this.set(trx, vm.id, { holds_capacity: 1 });
          return operations.start(trx, start);
        }
        case 'STOP': {
          if (!allows(VM_MACHINE, 'stop', vm.state)) throw this.wrongState(vm, 'stopped', 'running');
          const op = await this.begin(trx, vm, VM.stop.transition);
          await this.set(trx, vm.id, { state: VM.stop.via, busy_operation_id: op.id });
          this.entered(trx, vm, VM.stop.via);
          return op;
        }
        case 'RESET': {
          if (!allows(VM_MACHINE, 'reset', vm.state)) throw this.wrongState(vm, 'reset', 'running');
          const op = await this.begin(trx, vm, VM.reset.transition);
          await this.set(trx, vm.id, { busy_operation_id: op.id });
          return op;
        }
        case 'RESERVE': {
          if (input.reservation_id === undefined || input.reservation_id === '') throw badRequest('"reservation_id" is required to RESERVE a VM');
          if (vm.reservation_id === input.reservation_id) throw badRequest(`VM "${vm.id}" is on reservation "${vm.reservation_id}" already`);
          if (vm.reservation_id !== null) throw badRequest(`VM "${vm.id}" is on reservation "${vm.reservation_id}": UNRESERVE it first`);
          const type = this.ctx.catalog.types.get(vm.type)!;
          const reservationId = (await rules.reservation(trx, accountId, { id: input.reservation_id }, type, vm.location, 'reservation_id'))!;
          await rules.holdReservation(trx, reservationId, 1, 'reservation_id');
          await this.set(trx, vm.id, { reservation_id: reservationId });
          const [view] = await this.views(trx, [vm.id]);
          const metadata = { id: vm.id };
          return operations.succeeded(trx, { accountId, projectId, family: VM_FAMILY, action: 'vm.reserve', resourceId: vm.id, metadata }, this.peers.renderVm(view!));
        }
        case 'UNRESERVE': {
          if (vm.reservation_id !== null) await kernel.reservations.release(trx, vm.reservation_id);
          await this.set(trx, vm.id, { reservation_id: null });
          const [view] = await this.views(trx, [vm.id]);
          const metadata = { id: vm.id };
          return operations.succeeded(trx, { accountId, projectId, family: VM_FAMILY, action: 'vm.unreserve', resourceId: vm.id, metadata }, this.peers.renderVm(view!));
        }
        case 'UPDATE': {
          const params = await this.checkUpdate(trx, vm, input);
          const op = await this.begin(trx, vm, VM.update.transition, params);
          await this.set(trx, vm.id, { busy_operation_id: op.id });
          return op;
        }
      }
    });
  }

  async attachDisks(projectId: string, id: string, attach: DiskAttachmentInput[]): Promise<OperationRow> {
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const vm = await this.idle(trx, projectId, id);
      const disks = await this.peers.disks.checkAttachable(trx, projectId, vm.location, vm.id, attach, 'attach_disks');
      const op = await this.begin(trx, vm, VM.attach.transition, { attach });
      await this.set(trx, vm.id, { busy_operation_id: op.id });
      // The attachment is written as the operation completes: until then no other VM takes the disks.
      await this.peers.disks.holdForAttach(trx, disks, op);
      return op;
    });
  }

  async detachDisks(projectId: string, id: string, detach: string[]): Promise<OperationRow> {
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const vm = await this.idle(trx, projectId, id);
      const attached = (await this.peers.disks.attachedTo(trx, [vm.id])).get(vm.id) ?? [];
      detach.forEach((diskId, i) => {
        const found = attached.find((a) => a.disk.id === diskId);
        if (!found) throw badRequest(`"detach_disks.${i}": disk "${diskId}" is not attached to VM "${vm.id}"`);
        if (found.disk.is_os) throw badRequest(`"detach_disks.${i}": disk "${diskId}" is the VM's boot disk and cannot be detached`);
      });
      const op = await this.begin(trx, vm, VM.detach.transition, { detach: [...new Set(detach)] });
      await this.set(trx, vm.id, { busy_operation_id: op.id });
      return op;
    });
  }

  // -------------------------------------------------------------------------------------
  // Completion (in the lifecycle transition's transaction)

  /** Applies what a finished operation did; returns its result (the VM or VMs as they now are). */
  async complete(trx: Transaction<any>, op: OperationRow, at: number, batch?: OperationBatch): Promise<unknown> {
    // A batch's creates read their VMs, and their disks to answer with, once for all of them
    // (each VM changes only through its own create, after that read; a boot leaves disks alone).
    const creates = op.action === VM.create.transition ? batch : undefined;
    const outcome = await this.apply(trx, op, at, creates);
    if (outcome === null) return {};
    const views = outcome.rows ? await this.withDisks(trx, outcome.rows, creates) : await this.views(trx, outcome.vmIds);
    return outcome.many ? views.map(this.peers.renderVm) : views[0] ? this.peers.renderVm(views[0]) : {};
  }

  private async apply(trx: Transaction<any>, op: OperationRow, at: number, creates: OperationBatch | undefined): Promise<Outcome | null> {
    const params = parseJson<Record<string, any>>(op.params) ?? {};
    if (op.action === VM.create.transition || op.action === VM.bulk.transition) return this.completeCreate(trx, op, at, params, creates);
    const complete = this.completions[op.action as Exclude<VmAction, 'vm.create' | 'vm.bulk'>];
    if (complete === undefined) return null;
    const vm = await this.mine(trx, op);
    const outcome = vm ? await complete(trx, vm, at, params) : null;
    // An attach's disks go free as it completes even had its VM gone meanwhile: else they stay busy for good.
    if (op.action === VM.attach.transition) await this.freeAttachDisks(trx, op, params);
    return outcome;
  }

  /** The VMs a create or bulk create made come up: addresses, state, billing. */
  private async completeCreate(trx: Transaction<any>, op: OperationRow, at: number, params: Record<string, any>, creates: OperationBatch | undefined): Promise<Outcome> {
    const bulk = op.action === VM.bulk.transition;
    const ids: string[] = bulk ? (params.ids ?? []) : [op.resource_id];
    const now = new Map<string, VmRow>();
    const done: string[] = [];
    let rows: VmRow[];
    if (creates !== undefined) {
      const batchRows = await creates.shared('vm rows', async () => new Map((await this.rows(trx, createdVms(creates))).map((vm) => [vm.id, vm])));
      rows = batchRows.has(op.resource_id) ? [batchRows.get(op.resource_id)!] : [];
    } else rows = await this.rows(trx, ids);
    for (const vm of rows) {
      now.set(vm.id, vm);
      if (vm.state !== VM.create.via || vm.busy_operation_id !== op.id) continue;
      const up: VmRow = { ...vm, ...(await this.addresses(trx, vm)), state: VM.create.to, busy_operation_id: null, updated_at: at };
      await this.setUp(trx, vm.id, up.private_ip, up.public_ip, up.public_ip_id, up.state, at);
      now.set(vm.id, up);
      await this.meter(trx, vm, at, true);
      done.push(vm.id);
    }
    const vmIds = bulk ? ids : done;
    return { vmIds, many: bulk, rows: vmIds.flatMap((id) => now.get(id) ?? []) };
  }

  /** What completing each other action does to the VM its operation holds (see VM_MACHINE). */
  private readonly completions: Record<Exclude<VmAction, 'vm.create' | 'vm.bulk'>, (trx: Transaction<any>, vm: VmRow, at: number, params: Record<string, any>) => Promise<Outcome | null>> = {
    'vm.start': async (trx, vm, at) => {
      await this.set(trx, vm.id, { ...(await this.addresses(trx, vm)), state: VM.start.to, holds_capacity: 1, busy_operation_id: null, updated_at: at });
      await this.meter(trx, vm, at);
      return one(vm);
    },
    'vm.stop': async (trx, vm, at) => {
      const set: Partial<VmRow> = { state: VM.stop.to, holds_capacity: 0, busy_operation_id: null, updated_at: at };
      if (vm.holds_capacity) await this.ctx.kernel.capacity.release(trx, CLOUD, vm.location, vm.type);
      // A dynamic public address goes back to the pool; a static one stays with the VM.
      if (vm.public_ip_type === 'dynamic' && vm.public_ip !== null) {
        await this.ctx.kernel.ipam.release(trx, vm.id, [[publicPool(vm.location), vm.public_ip]]);
        Object.assign(set, { public_ip: null, public_ip_id: null });
      }
      await this.set(trx, vm.id, set);
      await this.ctx.kernel.metering.close(trx, vm.id, at);
      return one(vm);
    },
    'vm.reset': async (trx, vm, at) => {
      await this.set(trx, vm.id, { busy_operation_id: null, updated_at: at });
      return one(vm);
    },
    'vm.delete': async (trx, vm, at) => {
      await this.remove(trx, vm, at);
      return null;
    },
    'vm.attach': async (trx, vm, at, params) => {
      const wanted = (params.attach ?? []) as DiskAttachmentInput[];
      const present = await trx.selectFrom('crusoe_disks').select('id').where('project_id', '=', vm.project_id).where('id', 'in', wanted.length ? wanted.map((w) => w.disk_id) : ['']).execute();
      const exists = new Set(present.map((p) => p.id as string));
      for (const w of wanted) if (exists.has(w.disk_id)) await this.peers.disks.attach(trx, vm, w.disk_id, w.attachment_type, w.mode);
      await this.set(trx, vm.id, { busy_operation_id: null, updated_at: at });
      return one(vm);
    },
    'vm.detach': async (trx, vm, at, params) => {
      const ids = (params.detach ?? []) as string[];
      if (ids.length > 0) await trx.deleteFrom('crusoe_disk_attachments').where('vm_id', '=', vm.id).where('disk_id', 'in', ids).execute();
      await this.set(trx, vm.id, { busy_operation_id: null, updated_at: at });
      return one(vm);
    },
    'vm.update': async (trx, vm, at, params) => {
      const set: Partial<VmRow> = { busy_operation_id: null, updated_at: at };
      if (params.type !== undefined) {
        set.type = params.type;
        await this.peers.quotas.typeChanged(trx, vm.account_id, vm.type, params.type, 'completed');
      }
      if (params.maintenance_policy !== undefined) set.maintenance_policy = params.maintenance_policy;
      if (params.public_ip_type !== undefined) set.public_ip_type = params.public_ip_type;
      if (params.ib_partition !== undefined) Object.assign(set, { ib_partition_id: params.ib_partition?.id ?? null, ib_network_id: params.ib_partition?.ib_network_id ?? null });
      await this.set(trx, vm.id, set);
      return one(vm);
    },
  };

  /** An operation that was decided to fail at request time ends: its VM (and an attach's disks) is free again. */
  async failed(trx: Transaction<any>, op: OperationRow, at: number): Promise<void> {
    await trx.updateTable('crusoe_vms').set({ busy_operation_id: null, updated_at: at }).where('busy_operation_id', '=', op.id).execute();
    if (op.action === VM.attach.transition) await this.freeAttachDisks(trx, op, parseJson<Record<string, any>>(op.params) ?? {});
  }

  /** The disks an attach operation held (Disks.holdForAttach) are free again: it completed, failed or was rolled back. */
  private async freeAttachDisks(trx: Executor, op: OperationRow, params: Record<string, any>): Promise<void> {
    const attach = (params.attach ?? []) as DiskAttachmentInput[];
    await this.peers.disks.releaseFromAttach(trx, op, attach.map((a) => a.disk_id));
  }

  /** An operation failed on its way (an operator's injected fault): undo what the request began. */
  async rollback(trx: Transaction<any>, op: OperationRow, at: number): Promise<void> {
    const params = parseJson<Record<string, any>>(op.params) ?? {};
    const release = { busy_operation_id: null, updated_at: at };
    switch (op.action as VmAction) {
      case 'vm.create':
      case 'vm.bulk': {
        const ids: string[] = op.action === 'vm.bulk' ? (params.ids ?? []) : [op.resource_id];
        for (const vm of await this.rows(trx, ids)) if (vm.busy_operation_id === op.id) await this.remove(trx, vm, at);
        return;
      }
      case 'vm.start': {
        const vm = await this.mine(trx, op);
        if (vm?.holds_capacity) await this.ctx.kernel.capacity.release(trx, CLOUD, vm.location, vm.type);
        if (vm) await this.set(trx, vm.id, { holds_capacity: 0, ...release });
        return;
      }
      case 'vm.stop':
        await this.failed(trx, op, at);
        await trx.updateTable('crusoe_vms').set({ state: VM.stop.from[0] }).where('id', '=', op.resource_id).where('state', '=', VM.stop.via).execute();
        return;
      case 'vm.update': {
        const vm = await this.mine(trx, op);
        if (vm && params.type !== undefined) await this.peers.quotas.typeChanged(trx, vm.account_id, vm.type, params.type, 'undone');
        await this.failed(trx, op, at);
        return;
      }
      case 'vm.delete':
        await trx
          .updateTable('crusoe_vms')
          .set({ state: String(params.prev_state ?? VmState.Running), ...release })
          .where('id', '=', op.resource_id)
          .where('busy_operation_id', '=', op.id)
          .execute();
        return;
      default:
        await this.failed(trx, op, at);
    }
  }

  /** Deleting a project takes its VMs with it at once: stock, addresses and quota go back. */
  async purgeProject(trx: Transaction<any>, project: ProjectRow): Promise<void> {
    const { kernel } = this.ctx;
    const vms = (await trx.selectFrom('crusoe_vms').selectAll().where('project_id', '=', project.id).execute()) as VmRow[];
    for (const vm of vms) {
      this.entered(trx, vm, null);
      if (vm.holds_capacity) await kernel.capacity.release(trx, CLOUD, vm.location, vm.type);
      if (vm.reservation_id !== null) await kernel.reservations.release(trx, vm.reservation_id);
      await this.releaseAddresses(trx, vm);
      await kernel.metering.close(trx, vm.id);
    }
    // (the operations themselves go last: Operations.purgeProject)
    const changing = (await trx
      .selectFrom('crusoe_operations')
      .selectAll()
      .where('project_id', '=', project.id)
      .where('state', '=', OperationState.InProgress)
      .where('action', '=', VM.update.transition)
      .execute()) as OperationRow[];
    if (vms.length > 0) {
      // Type changes in flight are undone first (what they took goes back), then every VM's units.
      const byId = new Map(vms.map((vm) => [vm.id, vm]));
      for (const op of changing) {
        const vm = byId.get(op.resource_id);
        const to = parseJson<{ type?: string }>(op.params)?.type;
        if (vm && vm.busy_operation_id === op.id && to !== undefined) await this.peers.quotas.typeChanged(trx, vm.account_id, vm.type, to, 'undone');
      }
      await this.peers.quotas.giveVms(trx, project.account_id, vms.map((vm) => vm.type));
      await kernel.counters.add(trx, project.account_id, Counter.vms, -vms.length);
      await trx.deleteFrom('crusoe_vms').where('project_id', '=', project.id).execute();
    }
  }

  // -------------------------------------------------------------------------------------

  /** Writes a VM's rows: the VM, its boot disk and template disks, its attachments. Returns the number of disks made (counted by the caller, last). */
  private async insertVm(trx: Transaction<any>, accountId: string, projectId: string, id: string, opId: string, plan: VmPlan): Promise<number> {
    const { kernel } = this.ctx;
    const now = kernel.clockFor(accountId).now();
    const row: VmRow = {
      id,
      account_id: accountId,
      project_id: projectId,
      name: plan.name,
      type: plan.type.product_name,
      location: plan.location,
      image: plan.image,
      state: VM.create.via,
      ssh_public_key: plan.sshPublicKey,
      startup_script: plan.startupScript,
      shutdown_script: plan.shutdownScript,
      reservation_id: plan.reservationId,
      commitment_period: 0,
      maintenance_policy: plan.maintenancePolicy,
      virtualization: plan.virtualization,
      instance_group_id: plan.groupId,
      instance_template_id: plan.templateId,
      nic_id: kernel.ids.uuid(),
      mac_address: macAddress(id),
      network_id: plan.subnet.network_id,
      subnet_id: plan.subnet.id,
      private_ip: null,
      public_ip: null,
      public_ip_id: null,
      public_ip_type: plan.publicIpType,
      ib_partition_id: plan.partition?.id ?? null,
      ib_network_id: plan.partition?.ib_network_id ?? null,
      holds_capacity: 1,
      busy_operation_id: opId,
      seq: kernel.ids.ordinal(now),
      created_at: now,
      updated_at: now,
    };
    await this.insertRow(trx, row);
    kernel.lifecycle.entered(trx, { kind: VM_MACHINE.kind, resourceId: id, accountId, from: null, to: row.state, transition: null });
    const { disks } = this.peers;
    const boot = await disks.insert(trx, { accountId, projectId, name: `${plan.name}-os`, type: 'persistent-ssd', sizeGib: this.ctx.catalog.osDiskGib, location: plan.location, isOs: true, ownerVmId: id, counted: false });
    await disks.attach(trx, row, boot.id, 'os', 'read-write');
    for (const a of plan.attach) await disks.attach(trx, row, a.disk_id, a.attachment_type, a.mode);
    for (let j = 0; j < plan.newDisks.length; j++) {
      const spec = plan.newDisks[j]!;
      const disk = await disks.insert(trx, {
        accountId,
        projectId,
        name: `${plan.name}-disk-${j + 1}`,
        type: spec.type,
        sizeGib: parseSize(spec.size, `disks.${j}.size`),
        location: plan.location,
        isOs: false,
        ownerVmId: id,
        counted: false,
      });
      await disks.attach(trx, row, disk.id, 'data', 'read-write');
    }
    return 1 + plan.newDisks.length;
  }

  /** A VM goes: stock, addresses, boot disk and counts are given back, data disks detached, billing stops. */
  private async remove(trx: Transaction<any>, vm: VmRow, at: number): Promise<void> {
    const { kernel } = this.ctx;
    if (vm.holds_capacity) await kernel.capacity.release(trx, CLOUD, vm.location, vm.type);
    if (vm.reservation_id !== null) await kernel.reservations.release(trx, vm.reservation_id);
    await this.releaseAddresses(trx, vm);
    await kernel.metering.close(trx, vm.id, at);
    await this.peers.disks.releaseFromVm(trx, vm, at);
    await trx.deleteFrom('crusoe_vms').where('id', '=', vm.id).execute();
    await this.peers.quotas.giveVms(trx, vm.account_id, [vm.type]);
    await kernel.counters.add(trx, vm.account_id, Counter.vms, -1);
    await kernel.counters.add(trx, vm.account_id, Counter.projectVms(vm.project_id), -1);
  }

  /**
   * Gives back a VM's addresses. Its private one is its subnet's, or, in a store made before
   * subnets were served and not yet moved, its location's: whichever pool the VM holds it in.
   */
  private async releaseAddresses(trx: Executor, vm: VmRow): Promise<void> {
    const { ipam } = this.ctx.kernel;
    await ipam.release(trx, vm.id, [
      [subnetPool(vm.subnet_id), vm.private_ip],
      [privatePool(vm.location), vm.private_ip],
      [publicPool(vm.location), vm.public_ip],
    ]);
  }

  /** A VM's addresses as it comes up, keeping any it already holds. */
  private async addresses(trx: Transaction<any>, vm: VmRow): Promise<Partial<VmRow>> {
    const { kernel } = this.ctx;
    const privateIp = vm.private_ip ?? (await this.peers.networks.allocate(trx, vm.subnet_id, vm.id));
    if (vm.public_ip !== null) return { private_ip: privateIp };
    const publicIp = await kernel.ipam.allocate(trx, publicPool(vm.location), vm.id);
    return { private_ip: privateIp, public_ip: publicIp, public_ip_id: publicIp === null ? null : kernel.ids.uuid() };
  }

  /** Bills the VM's running from `at`: its GPUs per hour, or its vCPUs for a CPU-only type (`fresh`: billed for the first time). */
  private async meter(trx: Executor, vm: VmRow, at: number, fresh = false): Promise<void> {
    const type = this.ctx.catalog.types.get(vm.type);
    const gpus = type?.num_gpu ?? 0;
    await this.ctx.kernel.metering.open(trx, {
      fresh,
      accountId: vm.account_id,
      cloud: CLOUD,
      scope: vm.project_id,
      region: regionOf(vm.location),
      resourceId: vm.id,
      resourceType: vm.type,
      metric: gpus > 0 ? GPU_METRIC : CPU_METRIC,
      rate: gpus > 0 ? gpus : (type?.cpu_cores ?? 0),
      at,
    });
  }

  private async checkUpdate(trx: Executor, vm: VmRow, input: UpdateInstanceInput): Promise<Record<string, unknown>> {
    const { rules } = this.peers;
    const params: Record<string, unknown> = {};
    let type = this.ctx.catalog.types.get(vm.type)!;
    if (input.type !== undefined && input.type !== '' && input.type !== vm.type) {
      type = rules.type(input.type);
      rules.location(type, vm.location, 'type');
      if (vm.state !== VmState.Shutoff) throw badRequest(`"type": VM "${vm.id}" must be stopped to change its type (it is ${vm.state})`);
      if (vm.reservation_id !== null) throw badRequest(`"type": VM "${vm.id}" is on reservation "${vm.reservation_id}" of its type: UNRESERVE it first`);
      await this.peers.quotas.takeFamily(trx, vm.account_id, type, 1, this.ctx.catalog.types.get(vm.type));
      params.type = type.product_name;
      if (!type.infiniband && vm.ib_partition_id !== null) params.ib_partition = null;
    }
    if (input.maintenance_policy !== undefined) params.maintenance_policy = rules.maintenancePolicy(input.maintenance_policy);
    const publicType = input.network_interfaces?.[0]?.ips?.[0]?.public_ipv4?.type;
    if (publicType !== undefined && publicType !== '') {
      params.public_ip_type = rules.publicIpType(publicType, 'network_interfaces.0.ips.0.public_ipv4.type');
    }
    const partitionId = input.host_channel_adapters?.[0]?.ib_partition_id;
    if (partitionId !== undefined && partitionId !== '' && partitionId !== vm.ib_partition_id) {
      const partition = await rules.partition(trx, vm.project_id, type, vm.location, partitionId, 'host_channel_adapters.0.ib_partition_id');
      params.ib_partition = partition ? { id: partition.id, ib_network_id: partition.ib_network_id } : null;
    }
    if (input.reservation_id !== undefined && input.reservation_id !== '') {
      throw badRequest('"reservation_id" is for RESERVE: send {"action": "RESERVE", "reservation_id": …}');
    }
    if (Object.keys(params).length === 0) {
      throw badRequest('UPDATE changes nothing: send "type", "maintenance_policy", "network_interfaces" (public_ipv4.type) or "host_channel_adapters"');
    }
    return params;
  }

  private async begin(trx: Executor, vm: VmRow, action: VmAction, params: Record<string, unknown> = {}): Promise<OperationRow> {
    return this.peers.operations.start(trx, {
      accountId: vm.account_id,
      projectId: vm.project_id,
      family: VM_FAMILY,
      action,
      resourceId: vm.id,
      metadata: { id: vm.id },
      params,
    });
  }

  /** A client's write moved the VM (told once it commits: see LifecycleEngine.entered). */
  private entered(trx: Executor, vm: VmRow, to: string | null): void {
    this.ctx.kernel.lifecycle.entered(trx, { kind: VM_MACHINE.kind, resourceId: vm.id, accountId: vm.account_id, from: vm.state, to, transition: null });
  }

  /** The VM, free of any operation in progress (one at a time, as on the real cloud). */
  private async idle(trx: Executor, projectId: string, id: string): Promise<VmRow> {
    const vm = await this.toChange(trx, projectId, id);
    if (!vm) throw notFound('VM', id);
    assertIdle(vm, `VM "${id}"`, { deleting: VM.delete.via, creating: null });
    return vm;
  }

  private readonly toChange = rowToChange<VmRow>(() => this.ctx, 'crusoe_vms');
  private readonly insertRow = heldInsert<VmRow>('crusoe_vms');
  /** A created VM comes up: its addresses and state (a held write: nothing reads its answer). */
  private readonly setUp = heldWrite((id, privateIp, publicIp, publicIpId, state, at) =>
    this.ctx.db
      .updateTable('crusoe_vms')
      .set({ private_ip: privateIp, public_ip: publicIp, public_ip_id: publicIpId, state, busy_operation_id: null, updated_at: at })
      .where('id', '=', id),
  );

  private wrongState(vm: VmRow, verb: string, needed: string): CrusoeError {
    return badRequest(`VM "${vm.id}" cannot be ${verb} while it is ${vm.state}: it must be ${needed}`);
  }

  private async checkNamesFree(trx: Executor, projectId: string, names: string[]): Promise<void> {
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate !== undefined) throw badRequest(`the VM name "${duplicate}" would be used twice`);
    for (let i = 0; i < names.length; i += 500) {
      const taken = await trx.selectFrom('crusoe_vms').select('name').where('project_id', '=', projectId).where('name', 'in', names.slice(i, i + 500)).executeTakeFirst();
      if (taken) throw conflict(`a VM named "${taken.name}" already exists in this project`);
    }
  }

  private async find(trx: Executor, projectId: string, id: string): Promise<VmRow> {
    const [row] = await this.byId(trx, id, projectId);
    if (!row) throw notFound('VM', id);
    return row;
  }

  /** A VM by id in its project: every GET and change reads it (built and compiled once). */
  private readonly byId = prepared<VmRow>((id, projectId) => this.ctx.db.selectFrom('crusoe_vms').selectAll().where('id', '=', id).where('project_id', '=', projectId));

  /** The operation's VM if it is still the one the operation holds. */
  private mine(trx: Executor, op: OperationRow): Promise<VmRow | undefined> {
    return this.peers.operations.heldBy(trx, 'crusoe_vms', op);
  }

  private async rows(trx: Executor, ids: readonly string[]): Promise<VmRow[]> {
    if (ids.length === 0) return [];
    return (await trx.selectFrom('crusoe_vms').selectAll().where('id', 'in', [...ids]).execute()) as VmRow[];
  }

  private async set(trx: Executor, id: string, set: Partial<VmRow>): Promise<void> {
    await trx.updateTable('crusoe_vms').set(set).where('id', '=', id).execute();
  }

  /** The VMs with their disks (`creates`: read for all the batch's creates at once, see `complete`). */
  private async withDisks(trx: Executor, rows: VmRow[], creates?: OperationBatch): Promise<VmView[]> {
    const disks = creates
      ? await creates.shared('vm disks', () => this.peers.disks.attachedTo(trx, createdVms(creates)))
      : await this.peers.disks.attachedTo(trx, rows.map((r) => r.id));
    const sshPort = this.ctx.kernel.ipam.sshPort;
    return rows.map((row) => ({ row, disks: disks.get(row.id) ?? [], sshPort }));
  }
}

/** The filters of a list of VMs, each a list of values (empty: no filter). */
interface VmFilters {
  ids: string[];
  names: string[];
  types: string[];
  locations: string[];
  states: string[];
  nvlinkDomains: string[];
}

const NO_FILTERS: VmFilters = { ids: [], names: [], types: [], locations: [], states: [], nvlinkDomains: [] };

/** A position in a list of VMs: the sort column's value and the id (ties broken by id). */
interface Position {
  v: unknown;
  i: unknown;
}

type Side = 'after' | 'before';

/** A project's VMs that pass the filters. */
function filteredVms(db: Executor, projectId: unknown, filters: VmFilters) {
  let q = db.selectFrom('crusoe_vms as v').where('project_id', '=', projectId);
  if (filters.ids.length > 0) q = q.where('id', 'in', filters.ids);
  if (filters.names.length > 0) q = q.where('name', 'in', filters.names);
  if (filters.types.length > 0) q = q.where('type', 'in', filters.types);
  if (filters.locations.length > 0) q = q.where('location', 'in', filters.locations);
  if (filters.states.length > 0) q = q.where('state', 'in', filters.states);
  // VMs in Hangar belong to no NVLink domain, so naming any finds none.
  if (filters.nvlinkDomains.length > 0) q = q.where('id', '=', '');
  return q;
}

/**
 * Creation order is the creation ordinal (created_at to the microsecond, strictly rising
 * within a process), so VMs made in the same millisecond still page in the order they came.
 */
const sortColumn = (sort: Sort) => (sort === 'name' ? 'name' : 'seq');

/** VMs strictly after (or before) a cursor in the sort's order. */
function beyond(sort: Sort, side: Side, c: Position) {
  const column = sortColumn(sort);
  const [strictly, tie] = side === 'after' ? (['>', '>'] as const) : (['<', '<'] as const);
  return (eb: any) => eb.or([eb(column, strictly, c.v), eb.and([eb(column, '=', c.v), eb('id', tie, c.i)])]);
}

/**
 * A page's query: `limit` VMs from the cursor on, in the order the page is read. With `sshPort`
 * null its rows have no JSON (`wire` null): the VMs' kept texts are used instead, and on
 * PostgreSQL the rows carry their versions, under which those texts are kept.
 */
function vmPage(db: Executor, engine: Engine, sshPort: number | null, projectId: unknown, filters: VmFilters, sort: Sort, from: Side | null, cursor: Position | null, limit: unknown): SelectQueryBuilder<any, any, any> {
  const column = sortColumn(sort);
  const ordered = <Q extends SelectQueryBuilder<any, any, any>>(query: Q): Q => (from === 'before' ? query.orderBy(column, 'desc').orderBy('id', 'desc') : query.orderBy(column).orderBy('id')) as Q;
  let found = filteredVms(db, projectId, filters);
  if (from !== null && cursor !== null) found = found.where(beyond(sort, from, cursor));
  if (sshPort === null && engine === 'postgres') {
    // (the page's VMs found first, then what their versions show read once for all of them: see joinedVersions)
    const rows = ordered(found.select(['v.id', 'v.name', 'v.seq', 'v.xmin'])).limit(limit as number);
    const versions = joinedVersions(db.with('found', () => rows).selectFrom('found as v'), 'v', VM_SHOWN, sql`select id from found`);
    return ordered(versions.query.select(['v.id', 'v.name', 'v.seq', sql<null>`null`.as('wire'), versions.version.as('version')]));
  }
  const wire = sshPort === null ? sql<null>`null` : vmJson(engine, sshPort);
  return ordered(found.select(['v.id', 'v.name', 'v.seq', wire.as('wire'), sql<null>`null`.as('version')])).limit(limit as number);
}

/** One VM beyond a cursor, if any: whether there is a page on that side. */
function vmsBeyond(db: Executor, projectId: unknown, filters: VmFilters, sort: Sort, side: Side, cursor: Position) {
  return filteredVms(db, projectId, filters).select('id').where(beyond(sort, side, cursor)).limit(1);
}

/** What a completed operation reports: the VMs it touched, one or (a bulk create) a list. */
interface Outcome {
  vmIds: string[];
  many: boolean;
  /** The VMs as they now are, when the completion has them (not read again to answer). */
  rows?: VmRow[];
}
const one = (vm: VmRow): Outcome => ({ vmIds: [vm.id], many: false });
/** The VMs a batch of (single) creates brings up. */
const createdVms = (creates: OperationBatch): string[] => creates.batch.map((op) => op.resource_id);

/** A request for a page of VMs, parsed: 400 for anything it cannot be. */
interface PageQuery {
  filters: VmFilters;
  unfiltered: boolean;
  limit: number;
  sort: Sort;
  /** Which side of the cursor the page is on (null: the first page). */
  from: Side | null;
  cursor: Position | null;
  /** The cursor as the page's statement takes it (none for the first page). */
  cursorArgs: unknown[];
}

function pageQuery(query: ListInstancesQueryInput): PageQuery {
  const filters: VmFilters = {
    ids: csv(query.ids),
    names: csv(query.names),
    types: csv(query.types),
    locations: csv(query.locations),
    states: csv(query.states).map((s) => normalizeState(s)),
    nvlinkDomains: csv(query.nvlink_domain_ids),
  };
  const limit = parseLimit(query.limit);
  const sort = parseSort(query.sort);
  if (query.next_token && query.prev_token) throw badRequest('send "next_token" or "prev_token", not both');
  const backward = Boolean(query.prev_token);
  const cursor = query.next_token ? decodeCursor(query.next_token, 'next_token', sort) : query.prev_token ? decodeCursor(query.prev_token, 'prev_token', sort) : null;
  return {
    filters,
    unfiltered: Object.values(filters).every((values) => values.length === 0),
    limit,
    sort,
    from: cursor === null ? null : backward ? 'before' : 'after',
    cursor,
    cursorArgs: cursor === null ? [] : [cursor.v, cursor.i],
  };
}

/** Where a listed VM is in its page's order. */
function positionOf(sort: Sort, vm: ListedVm): Cursor {
  return { s: sort, v: sort === 'name' ? vm.name : Number(vm.seq), i: vm.id };
}

function parseLimit(limit: string | undefined): number {
  if (limit === undefined || limit === '') return MAX_PAGE;
  if (!/^\d+$/.test(limit) || Number(limit) < 1) throw badRequest(`"limit" must be a positive integer (got "${limit}")`);
  return Math.min(Number(limit), MAX_PAGE);
}

function parseSort(sort: string | undefined): Sort {
  if (sort === undefined || sort === '') return 'created_at';
  if (!(SORTS as readonly string[]).includes(sort)) throw badRequest(`"sort" must be one of: ${SORTS.join(', ')} (got "${sort}")`);
  return sort as Sort;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.s, cursor.v, cursor.i])).toString('base64url');
}

function decodeCursor(token: string, field: string, sort: Sort): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[2] !== 'string' || (typeof parsed[1] !== 'string' && typeof parsed[1] !== 'number')) {
    throw badRequest(`"${field}" is not a page token this API issued`);
  }
  if (parsed[0] !== sort) throw badRequest(`"${field}" was issued for sort=${String(parsed[0])}; send the same "sort" with it`);
  if (typeof parsed[1] !== (sort === 'name' ? 'string' : 'number')) throw badRequest(`"${field}" is not a page token this API issued`);
  return { s: sort, v: parsed[1], i: parsed[2] };
}

function checkCommitment(period: number | undefined): void {
  if (period !== undefined && period !== 0) throw badRequest('"commitment_period" is no longer supported: use reservations instead');
}

/** A locally administered MAC address derived from the VM id. */
function macAddress(id: string): string {
  const hex = id.replace(/-/g, '');
  return ['02', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4, 6), hex.slice(6, 8), hex.slice(8, 10)].join(':');
}

/** The vm as a resource: its table, counters and place in the fleet (kernel/resources.ts). */
export const vmResource: ResourceDef<CrusoeModel> = declareResource({
  cloud: CLOUD,
  kind: 'crusoe.vm',
  table: 'crusoe_vms',
  counter: Counter.vms,
  projectCounter: Counter.projectVms,
  quota: 1000,
  fleet: { collection: 'compute/vms/instances', columns: { type: 'type' }, read: async (m, p, id) => m.render.vm(await m.vms.get(p, id)) },
});
