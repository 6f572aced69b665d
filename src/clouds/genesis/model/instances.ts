import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder, type Transaction } from 'kysely';
import type { Executor } from '../../../kernel/db/store.js';
import { KeptReads } from '../../../kernel/db/kept-reads.js';
import { joinedVersions, rowsById, rowVersion, VersionedTexts, type RowTexts } from '../../../kernel/db/row-texts.js';
import { byShape, heldByShape, heldWrite, prepared, togetherOrInTurn } from '../../../kernel/db/prepared.js';
import { counterWriter } from '../../../kernel/counters.js';
import { allows } from '../../../kernel/lifecycle/machine.js';
import { alreadyDeleting, badRequest, Code, genesisError, missing, notFound } from '../errors.js';
import type { Reservation } from '../../../kernel/reservations.js';
import type { InstanceType } from '../catalog.js';
import type { InstanceLinkRow, InstanceRow, SnapshotRow } from '../tables.js';
import type { CreateInstanceInput, UpdateInstanceInput } from '../wire.js';
import { publicPool } from './addresses.js';
import { CLOUD, Counter, fromBool, READ_TOKEN_KIND, TOKEN_KIND, type GenesisContext } from './context.js';
import type { AsCaller, ReadAsCaller } from '../auth.js';
import type { FusedRead } from '../../../kernel/tenancy/accounts.js';
import type { FloatingIps } from './floating-ips.js';
import { AccountList, listVersion, type Page, type PageRequest } from './pagination.js';
import type { SecurityGroups } from './security-groups.js';
import type { Snapshots } from './snapshots.js';
import type { SshKeys } from './ssh-keys.js';
import type { Volumes } from './volumes.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { GenesisModel } from './index.js';
import { renderInstance } from '../render.js';
import { instanceMachine } from '../lifecycles.js';
import { instanceJson } from './instance-json.js';

export const INSTANCE_KIND = 'genesis.instance';
export const MIN_DISK_GIB = 80;
export const MAX_DISK_GIB = 16_384;
export const MIN_PASSWORD_LENGTH = 16;
export const MAX_STARTUP_SCRIPT_BYTES = 64 * 1024;

/** An instance row with its links to keys, groups, volumes and floating IP, ready to render. */
export interface InstanceView {
  row: InstanceRow;
  links: InstanceLinkRow[];
}

/** The columns an instance's wire shape shows (renderInstance's; a page of the list has the store build the same, see instance-json.ts). */
const WIRE_COLUMNS = [
  'id',
  'name',
  'hostname',
  'dns_name',
  'reservation_id',
  'type',
  'os_type',
  'public_ip',
  'public_ip_type',
  'private_ip',
  'status',
  'image_id',
  'image_name',
  'region',
  'disk_size',
  'placement_option',
  'is_protected',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof InstanceRow)[];

/** What an instance's wire shape is made from: its shown columns and its links in order. */
export interface InstanceWireView {
  row: Pick<InstanceRow, (typeof WIRE_COLUMNS)[number]>;
  links: readonly Pick<InstanceLinkRow, 'kind' | 'target_id' | 'target_name'>[];
}

/**
 * A row of a page of the list: the instance's wire JSON (built by the store, see instance-json.ts),
 * the list order, and the account's instance count (null when it has none).
 */
type ListedRow = { wire: string; seq: number; total: number | null };
type ListedIds = { ids: string; total: number | null };
/** A row of a page of the list on PostgreSQL: the instance's id and version (see VersionedTexts), the list order and the count. */
type ListedVersion = { id: string; version: string; seq: number; total: number | null };
/** An instance's version, and its JSON where the version read is not the one kept. */
type VersionedText = { id: string; version: string; text: string | null };

/** A link's columns beside its instance's (null when the instance has no link). */
interface LinkColumns {
  link_kind: InstanceLinkRow['kind'] | null;
  link_target_id: string | null;
  link_target_name: string | null;
  link_position: number | null;
}

const s = 1000;

/**
 * The instance's machine, as the seeds describe it: creating → active (addresses assigned),
 * active → stopping → stopped → starting → active, active or error → resetting → active, and
 * deleting → gone. Durations: `fast` keeps a client's wait loop honest in seconds;
 * `realistic` is close to the real cloud. (What each state lets a client do is
 * `allowedActions` below; the checks there name the seed's error codes.)
 */
export const INSTANCE_STATES = ['creating', 'active', 'stopping', 'stopped', 'starting', 'resetting', 'deleting', 'error', 'pending_payment'] as const;
export const INSTANCE_ACTIONS = {
  create: { from: [], via: 'creating', to: 'active', transition: 'boot', after: { fast: 3 * s, realistic: 90 * s }, failTo: 'error' },
  start: { from: ['stopped'], via: 'starting', to: 'active', after: { fast: 3 * s, realistic: 45 * s }, failTo: 'error' },
  stop: { from: ['active'], via: 'stopping', to: 'stopped', after: { fast: 2 * s, realistic: 20 * s } },
  // A reset comes up as a boot does: an instance reset out of `error` (a failed boot holds
  // no addresses) gets its addresses and DNS name; one that holds them keeps them.
  reset: { from: ['active', 'error'], via: 'resetting', to: 'active', after: { fast: 2 * s, realistic: 30 * s } },
  delete: { from: ['active', 'stopped', 'error', 'pending_payment'], via: 'deleting', to: null, transition: 'destroy', after: { fast: 2 * s, realistic: 15 * s } },
} as const;
const INSTANCE = { actions: INSTANCE_ACTIONS };

/** What each status lets a client do, in the order the seed lists them. */
export function allowedActions(status: string): string[] {
  switch (status) {
    case 'active':
      return ['reset', 'stop'];
    case 'stopped':
      return ['start'];
    case 'error':
      return ['reset'];
    default:
      return [];
  }
}

/** Billing types paid in advance for a term: such instances are termination protected. */
export const LONG_TERM_BILLING: readonly string[] = ['prepaid-monthly', 'prepaid-3-month', 'prepaid-6-month', 'prepaid-12-month'];

/**
 * The boot disk: as asked, or by default the seed's 80 GiB, or the snapshot's size where the
 * instance boots from a larger snapshot. Never smaller than the snapshot it holds.
 */
function bootDiskSize(asked: number | undefined, image: { id: string; minDisk: number }): number {
  const size = asked ?? Math.max(MIN_DISK_GIB, image.minDisk);
  if (size < image.minDisk) throw badRequest(`"disk_size" must be at least ${image.minDisk} GiB to hold snapshot "${image.id}"`);
  if (size > MAX_DISK_GIB) throw badRequest(`"disk_size" must not exceed ${MAX_DISK_GIB} (GiB): snapshot "${image.id}" is larger`);
  return size;
}

/** Statuses in which attached resources and the boot disk may change. */
const RECONFIGURABLE = new Set(['active', 'stopped']);

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

type ListChange = string[] | { attach: string } | { detach: string };

interface Collaborators {
  sshKeys: SshKeys;
  securityGroups: SecurityGroups;
  volumes: Volumes;
  floatingIps: FloatingIps;
  snapshots: Snapshots;
}

/** A page read with a credential nobody holds (readAsCaller refuses it: the page is never sent). */
function refused(request: PageRequest): AsCaller<Page<string>> {
  return { credential: undefined, value: { items: [], total: 0, page: request.page, perPage: request.perPage } };
}

/**
 * GET on PostgreSQL: the instance's version, and its JSON only where that version is not the
 * one kept (`kept`, VersionedTexts.keptVersion). The version is worked out once, in a subquery
 * the planner cannot fold into the two places that use it. The instance is found by its key
 * alone, then checked to be the account's: with both in one where clause, a plan made for a
 * small store, analysed, walked the account's index instead, and a GET cost as much as the
 * store held (BENCHMARKS.md, issue 23, seventeenth round).
 */
function versionedTextQuery(db: Kysely<any>, version: RawBuilder<string>) {
  const byId = (id: unknown) => sql<InstanceRow>`(select x.*, x.xmin from genesis_instances x where x.id = ${id} offset 0)`.as('genesis_instances');
  return (account: unknown, id: unknown, kept: unknown) =>
    db
      .selectFrom(byId(id))
      .innerJoinLateral(sql<{ version: string }>`(select ${version} as version offset 0)`.as('v'), (join) => join.onTrue())
      .where('account_id', '=', account as string)
      .select(['id', 'v.version', sql<string | null>`case when v.version = ${kept} then null else ${instanceJson('postgres', 'genesis_instances')} end`.as('text')]);
}

/**
 * The rules of Genesis instances: what a create must carry, which state allows which action,
 * and how an instance holds stock, quota, addresses and links to other resources.
 */
export class Instances {
  /**
   * Deep pages of a big account start from remembered positions instead of an OFFSET walk. A
   * page is one statement: each instance's JSON (with its links) and the account's count. Read
   * where no text is kept, or an instance went while the texts were written.
   */
  private readonly pages: AccountList<ListedRow>;
  /** The instances' wire JSON kept between pages (SQLite; see RowTexts), with the pages of ids and the statement that writes what is not kept. */
  private readonly texts: RowTexts | null;
  private readonly idPages: AccountList<ListedIds>;
  /** Pages of ids as found, by account, page and size (SQLite): see `list`. */
  private readonly keptIdPages: KeptReads<Page<string>>;
  private readonly textsById;
  /** The instances' wire JSON kept between pages on PostgreSQL, under their versions (see VersionedTexts), with the pages of versions and the statement that writes what is not kept. */
  private readonly versioned: VersionedTexts | null;
  private readonly versionPages: AccountList<ListedVersion>;
  private readonly versionedTextsById;

  constructor(
    private readonly ctx: GenesisContext,
    private readonly peers: Collaborators,
  ) {
    const { engine } = ctx.kernel.store;
    const version = listVersion(ctx.kernel, 'genesis_instances', Counter.instances);
    const total = (account: unknown) => sql<number | null>`(select c.value from counters c where c.account_id = ${account} and c.key = ${Counter.instances})`.as('total');
    this.pages = new AccountList<ListedRow>(ctx.db, 'genesis_instances', version, (query, account) =>
      query.select([
        instanceJson(engine, 'genesis_instances').as('wire'),
        'seq', // (what a page read with the credential is ordered by, outside its subquery)
        total(account),
      ]),
    );
    // (SQLite: a page finds its instances' ids, and only those changed since they were last
    // listed have their JSON written again)
    this.texts = ctx.kernel.store.rowTexts?.('genesis_instances', { genesis_instances: 'id', genesis_instance_links: 'instance_id' }) ?? null;
    // (a page of ids is one row, the ids in a JSON array: SQLite makes one value, not 50 rows)
    this.idPages = new AccountList<ListedIds>(
      ctx.db,
      'genesis_instances',
      version,
      (query, account) => query.select([sql<string>`json_group_array(id order by seq)`.as('ids'), total(account)]),
      ['id'],
    );
    // A page's ids (and the total beside them) stay right while no instance is added, removed
    // or moved in the list, and no counter changes; transitions, which update instances, keep
    // them. (Every account's creates move the versions: kept per store, not per account.)
    this.keptIdPages = new KeptReads(ctx.kernel.store, [{ rowsOf: 'genesis_instances' }, 'counters'], 1_000);
    this.textsById = prepared<{ id: string; text: string }>((ids, account) =>
      rowsById(ctx.db, 'genesis_instances', 'id', 'account_id', ids, account).select(['id', instanceJson(engine, 'genesis_instances').as('text')]),
    );
    // (PostgreSQL: a page finds its instances' ids and versions, and only those whose version
    // moved since they were last listed have their JSON written again; each version is the
    // instance row's and its links' writers)
    this.versioned = engine === 'postgres' ? new VersionedTexts() : null;
    const shown = [{ alias: 'l', from: sql`genesis_instance_links l`, owner: 'l.instance_id' }];
    const textVersion = (table: string) => rowVersion(table, shown);
    this.versionPages = new AccountList<ListedVersion>(
      ctx.db,
      'genesis_instances',
      version,
      (query, account, ids) => {
        const versions = joinedVersions(query, 'genesis_instances', shown, ids);
        return versions.query.select(['genesis_instances.id', versions.version.as('version'), 'seq', total(account)]);
      },
      ['id', 'xmin'],
    );
    this.versionedTextsById = prepared<{ id: string; version: string; text: string }>((ids, account) =>
      rowsById(ctx.db, 'genesis_instances', 'id', 'account_id', ids, account, engine).select(['id', textVersion('genesis_instances').as('version'), instanceJson(engine, 'genesis_instances').as('text')]),
    );
    const { tenancy } = ctx.kernel;
    const tokens = [TOKEN_KIND, READ_TOKEN_KIND];
    this.firstVersionsAsCaller = tenancy.fused(CLOUD, tokens, 'seq', ['seq'], (account, limit, offset) => this.versionPages.offsetQuery(account, limit, offset), 2, { aggregated: true });
    // (a deep page from a remembered position, with the list's version (see listVersion) read in the same statement)
    this.deepVersionsAsCaller = tenancy.fused(
      CLOUD,
      tokens,
      'seq',
      ['seq'],
      (account, seq, limit, offset) => this.versionPages.seekQuery(account, seq, limit, offset).select(counterWriter(account, Counter.instances).as('list_version')),
      3,
      { aggregated: true },
    );
    const versionedText = versionedTextQuery(ctx.db, textVersion('genesis_instances'));
    this.versionedText = prepared<VersionedText>((id, account, kept) => versionedText(account, id, kept));
    this.versionedTextAsCaller = tenancy.fused(CLOUD, tokens, 'id', [], (account, id, kept) => versionedText(account, id, kept));
  }

  // The reads of list and GET made with the caller's credential (PostgreSQL: see Tenancy.fused).
  private readonly firstVersionsAsCaller: FusedRead<ListedVersion>;
  private readonly deepVersionsAsCaller: FusedRead<ListedVersion & { list_version: string }>;
  /** Whose a credential is, by lookup, as the reads made with it found (a deep page needs the account's positions before its statement). */
  private readonly callers = new Map<string, string>();
  private readonly versionedTextAsCaller: FusedRead<VersionedText>;
  private readonly versionedText;

  /** A page of the list, each instance as its wire JSON (see instance-json.ts). */
  async list(accountId: string, request: PageRequest): Promise<Page<string> | Page<Buffer>> {
    if (this.texts !== null) {
      const found = (await this.keptIdPages.get(`${accountId} ${request.page} ${request.perPage}`, () => this.idPage(accountId, request)))!;
      const texts = await this.textsOf(this.texts, accountId, found.items);
      if (texts !== null) return { ...found, items: texts };
    }
    if (this.versioned !== null) {
      const found = await this.versionPages.page(accountId, request, (rows) => this.totalOf(accountId, rows));
      const texts = await this.versionedTextsOf(this.versioned, accountId, found.items);
      if (texts !== null) return { ...found, items: texts };
    }
    return this.wirePage(accountId, request);
  }

  /** A page with each instance's JSON written by its statement (nothing kept, or a row went while its text was written). */
  private async wirePage(accountId: string, request: PageRequest): Promise<Page<string>> {
    const page = await this.pages.page(accountId, request, (rows) => this.totalOf(accountId, rows));
    return { ...page, items: page.items.map(wireOf) };
  }

  /** A page's instance ids, found by one statement (their JSON is kept apart: see `list`). */
  private async idPage(accountId: string, request: PageRequest): Promise<Page<string>> {
    const found = await this.idPages.page(accountId, request, (rows) => this.totalOf(accountId, rows));
    return { ...found, items: JSON.parse(found.items[0]!.ids) as string[] };
  }

  /**
   * A page read with the caller's credential in one statement (see Tenancy.fused): the pages a
   * client walks from the start, and a deep page where the account's remembered positions
   * reach it (AccountList.rememberedStart). A deep page they do not reach yet is read as
   * without a credential, after one to learn whose it is.
   */
  listAsCaller(lookup: string, request: PageRequest): ReturnType<ReadAsCaller<Page<Buffer> | Page<string>>> {
    const offset = (request.page - 1) * request.perPage;
    const { versioned } = this;
    // (fused reads are PostgreSQL's, where the texts are kept under versions)
    if (versioned === null) return null;
    if (offset >= this.versionPages.stride) return this.deepPageAsCaller(versioned, lookup, request, offset);
    return (async () => {
      const { credential, rows } = await this.firstVersionsAsCaller(lookup, request.perPage, offset);
      if (credential === undefined) return refused(request);
      this.remember(lookup, credential.accountId);
      return { credential, value: await this.pageOfVersions(versioned, credential.accountId, request, rows) };
    })();
  }

  /** listAsCaller for a page past the first remembered position. */
  private async deepPageAsCaller(versioned: VersionedTexts, lookup: string, request: PageRequest, offset: number): Promise<AsCaller<Page<Buffer> | Page<string>>> {
    const accountId = this.callers.get(lookup);
    const start = accountId === undefined ? null : this.versionPages.rememberedStart(accountId, offset);
    if (start === null) {
      // (no rows: only the credential, and whose it is)
      const { credential } = await this.firstVersionsAsCaller(lookup, 0, 0);
      if (credential === undefined) return refused(request);
      this.remember(lookup, credential.accountId);
      return { credential, value: await this.list(credential.accountId, request) };
    }
    const { credential, rows } = await this.deepVersionsAsCaller(lookup, start.seq, request.perPage, start.offset);
    if (credential === undefined) return refused(request);
    // The page is the one asked for only if the positions still hold (nothing was added or
    // removed since they were learnt: the version read with it) and are the caller's account's.
    if (credential.accountId !== accountId || rows.length === 0 || rows[0]!.list_version !== start.version) {
      this.remember(lookup, credential.accountId);
      return { credential, value: await this.list(credential.accountId, request) };
    }
    this.versionPages.servedFrom(accountId);
    return { credential, value: await this.pageOfVersions(versioned, accountId, request, rows) };
  }

  /** A page from its instances' versions: their JSON as kept, or written now. */
  private async pageOfVersions(versioned: VersionedTexts, accountId: string, request: PageRequest, rows: readonly ListedVersion[]): Promise<Page<Buffer> | Page<string>> {
    const [texts, total] = await Promise.all([this.versionedTextsOf(versioned, accountId, rows), this.totalOf(accountId, rows)]);
    // (an instance went while the texts were written: the page read again, with its JSON)
    return texts === null ? this.wirePage(accountId, request) : { items: texts, total, page: request.page, perPage: request.perPage };
  }

  /** Records whose a credential is (see `callers`). */
  private remember(lookup: string, accountId: string): void {
    if (this.callers.get(lookup) === accountId) return;
    if (this.callers.size >= 10_000) this.callers.clear();
    this.callers.set(lookup, accountId);
  }

  /** The account's instance count, as a page's rows carry it (a page past the end has no row to). */
  private totalOf(accountId: string, rows: readonly { total: number | null }[]): number | Promise<number> {
    return rows.length > 0 ? Number(rows[0]!.total ?? 0) : this.ctx.kernel.counters.get(this.ctx.db, accountId, Counter.instances);
  }

  /** The account's instances' wire JSON, as kept or written now (see RowTexts); null if one is not the account's (any more). */
  private textsOf(texts: RowTexts, accountId: string, ids: readonly string[]): Promise<Buffer[] | null> {
    return texts.textsOf(accountId, ids, (missing) => this.textsById(this.ctx.db, JSON.stringify(missing), accountId));
  }

  /** The account's instances' wire JSON, as kept for their versions or written now (see VersionedTexts); null if one is not the account's (any more). */
  private versionedTextsOf(texts: VersionedTexts, accountId: string, rows: readonly { id: string; version: string }[]): Promise<Buffer[] | null> {
    return texts.textsOf(accountId, rows, (missing) => this.versionedTextsById(this.ctx.db, JSON.stringify(missing), accountId));
  }

  /**
   * GET's answer: the account's instance as its wire JSON, or null if it has no such instance.
   * SQLite keeps the JSON until the instance changes (RowTexts), PostgreSQL for the instance's
   * version (VersionedTexts).
   */
  async text(accountId: string, id: string): Promise<Buffer | null> {
    if (this.texts !== null) return (await this.textsOf(this.texts, accountId, [id]))?.[0] ?? null;
    return this.versionedTextNow(accountId, id, this.versioned!.keptVersion(id));
  }

  /** `text` read with the caller's credential in one statement (PostgreSQL, see Tenancy.fused); null on SQLite. */
  textAsCaller(lookup: string, id: string): ReturnType<ReadAsCaller<Buffer | null>> {
    const { versioned } = this;
    if (versioned === null) return null;
    return (async () => {
      const { credential, rows } = await this.versionedTextAsCaller(lookup, id, versioned.keptVersion(id));
      const row = rows[0];
      if (credential === undefined || row === undefined) return { credential, value: null };
      return { credential, value: await this.textOfRow(credential.accountId, id, row) };
    })();
  }

  /** The instance's text on PostgreSQL, its JSON written unless its version is `kept`; null: no such instance. */
  private async versionedTextNow(accountId: string, id: string, kept: string): Promise<Buffer | null> {
    const [row] = await this.versionedText(this.ctx.db, id, accountId, kept);
    return row === undefined ? null : this.textOfRow(accountId, id, row);
  }

  /** The text a GET's row gives (VersionedTexts.textOf), read again with its JSON where another read replaced the kept text meanwhile. */
  private async textOfRow(accountId: string, id: string, row: VersionedText): Promise<Buffer | null> {
    return this.versioned!.textOf(accountId, id, row.version, row.text) ?? this.versionedTextNow(accountId, id, '');
  }

  /** The text GET found (404 if none), read again if the read moved the instance on (see `seenAs`). */
  seenText(accountId: string, id: string, text: Buffer | null): Promise<Buffer> {
    return this.seenAs(id, text, () => this.text(accountId, id));
  }

  async get(accountId: string, id: string): Promise<InstanceView> {
    return this.seen(accountId, id, await this.read(accountId, id));
  }

  /** The instance with its links, or null (a GET answers it through `seen`). */
  async read(accountId: string, id: string): Promise<InstanceView | null> {
    const joined = await this.byIdWithLinks(this.ctx.db, id, accountId);
    return joined.length === 0 ? null : viewOfJoined(joined);
  }

  /**
   * An instance read as a GET reads it (404 if none; the fleet view reads this way): under the
   * "reads" progression a read may move it on, and then it is read again.
   */
  seen(accountId: string, id: string, view: InstanceView | null): Promise<InstanceView> {
    return this.seenAs(id, view, () => this.read(accountId, id));
  }

  /**
   * What a read of one instance found, as its caller sees it: 404 if nothing (another account's
   * instance is not found, and not moved on by the read); under the "reads" progression the
   * read may move the instance on, and then `again` reads it as it is now.
   */
  private async seenAs<T>(id: string, found: T | null, again: () => Promise<T | null>): Promise<T> {
    if (found === null) throw notFound(Code.InstanceNotFound, 'instance', id);
    if (!(await this.ctx.kernel.lifecycle.noteRead(INSTANCE_KIND, id))) return found;
    const now = await again();
    if (now === null) throw notFound(Code.InstanceNotFound, 'instance', id);
    return now;
  }

  async create(accountId: string, input: CreateInstanceInput): Promise<InstanceView> {
    const { kernel } = this.ctx;
    const { region, type, billing, placement, sshKeyIds, reservationId } = this.checkCreate(input);

    // Creates arrive in bursts: one commit for those that arrive together. On PostgreSQL,
    // those that take the same counter, stock and reservation rows and nothing else that
    // another create could claim (a volume, a floating IP: checked by reading) share it.
    const exclusive = (input.volumes?.length ?? 0) > 0 || input.floating_ip !== undefined;
    const group = exclusive ? undefined : `genesis.instances ${accountId} ${region} ${type.id} ${reservationId ?? ''}`;
    return togetherOrInTurn((inTurn) => kernel.lifecycle.groupedTransaction(async (trx) => {
      const image = await this.resolveImage(trx, accountId, input.image, type, region);
      const diskSize = bootDiskSize(input.disk_size, image);
      const keys = await this.peers.sshKeys.resolve(trx, accountId, sshKeyIds);
      // (no groups named: the region's default, linked below with one statement that reads it)
      const groups = input.security_groups === undefined ? null : await this.peers.securityGroups.resolveForAttach(trx, accountId, region, input.security_groups, 'create');
      const volumes = await this.peers.volumes.resolveForAttach(trx, accountId, region, input.volumes ?? [], null);
      const floating =
        input.floating_ip === undefined
          ? null
          : await this.peers.floatingIps.resolveForAttach(trx, accountId, region, input.floating_ip, null);
      const reservation = reservationId === null ? null : await this.reservationFor(trx, accountId, reservationId, type.id, region);

      const now = kernel.clockFor(accountId).now();
      const row: InstanceRow = {
        id: kernel.ids.uuid(),
        account_id: accountId,
        name: input.name,
        hostname: input.hostname,
        type: type.id,
        region,
        placement_option: placement,
        image_id: image.id,
        image_name: image.name,
        os_type: image.osType,
        status: INSTANCE_ACTIONS.create.via,
        private_ip: null,
        public_ip: null,
        public_ip_type: input.public_ip_type ?? 'dynamic',
        dns_name: '',
        // (the seed: "Set to true automatically for long-term billed instances")
        is_protected: fromBool(input.is_protected === true || LONG_TERM_BILLING.includes(billing)),
        disk_size: diskSize,
        destroy_on_shutdown: fromBool(input.destroy_on_shutdown),
        public_ipv6: fromBool(input.public_ipv6),
        billing_type: billing,
        reservation_id: reservation?.id ?? null,
        metadata: JSON.stringify(input.metadata ?? {}),
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await this.insertRow(trx, ...INSTANCE_COLUMNS.map((c) => row[c]));
      // The sandbox fabric sets the password inside the instance; nothing else keeps it.
      if (input.password !== undefined && this.ctx.config.fabric.kind === 'sandbox') {
        // (a column outside InstanceRow: see migration 0004_i21_instance_password)
        await (trx as Executor).updateTable('genesis_instances').set({ password_sealed: kernel.secrets.seal(input.password) }).where('id', '=', row.id).execute();
      }
      const links: InstanceLinkRow[] = [
        ...keys.map((k, i) => link(row.id, 'ssh_key', k.id, k.name, i)),
        ...(groups ?? []).map((g, i) => link(row.id, 'security_group', g.id, g.name, i)),
        ...volumes.map((v, i) => link(row.id, 'volume', v.id, v.name, i)),
        ...(floating ? [link(row.id, 'floating_ip', floating.id, floating.name, 0)] : []),
      ];
      if (links.length > 0) await this.insertLinks(links.length)(trx, ...links.flatMap((l) => LINK_COLUMNS.map((c) => l[c])));
      if (groups === null) links.splice(keys.length, 0, await this.linkDefaultGroup(trx, row.id, accountId, region));
      await kernel.lifecycle.schedule(trx, INSTANCE_KIND, row.id, INSTANCE_ACTIONS.create.transition, { account: accountId });
      await this.admit(trx, inTurn, accountId, region, type.id, reservation);
      kernel.lifecycle.entered(trx, { kind: INSTANCE_KIND, resourceId: row.id, accountId, from: null, to: row.status, transition: null });
      return { row, links };
    }, group));
  }

  /**
   * A create's last writes, just before its commit: the account's count, the type's stock (and
   * the reservation's units) are rows every create of the account (of the type) updates, each
   * held from its update to the commit; taken last, the next create waits for one commit, not
   * for this one's inserts too. A refusal throws, and the inserts are rolled back. (`inTurn`:
   * see Counters.acquireAllThen.)
   */
  private async admit(trx: Executor, inTurn: boolean, accountId: string, region: string, typeId: string, reservation: Reservation | null): Promise<void> {
    const { kernel } = this.ctx;
    const taken = await kernel.counters.acquireAllThen(trx, inTurn, accountId, [[Counter.instances, 1]], (x) => kernel.capacity.acquire(x, CLOUD, region, typeId));
    if (taken.refused !== null) {
      const limit = await kernel.counters.limit(trx, accountId, Counter.instances);
      throw genesisError(Code.MaxQuotaReached, `max quota reached: this account may run at most ${limit} instances`);
    }
    if (!taken.then) throw genesisError(Code.OutOfStock, `instance type ${typeId} is temporarily out of stock in ${region}`);
    if (reservation !== null) await this.holdReservation(trx, reservation);
  }

  /** What a create asks for, checked before anything is read: the region, type, billing and placement it comes to. */
  private checkCreate(input: CreateInstanceInput) {
    const { catalog } = this.ctx;
    const region = input.region ?? catalog.defaultRegion;
    const type = this.checkTypeAndRegion(input.type, region);
    const billing = input.billing_type ?? (input.reservation_id ? 'reserved' : 'on-demand');
    if (type.long_term_only && billing === 'on-demand') {
      throw genesisError(Code.OnDemandNotAllowed, `on-demand billing is not allowed with instance type ${type.id}: choose a long-term "billing_type" (${LONG_TERM_BILLING.join(', ')})`);
    }
    const placement = input.placement_option ?? 'AUTO';
    if (!catalog.placementOptions.includes(placement)) {
      throw genesisError(Code.InvalidPlacementOption, `"placement_option" must be one of: ${catalog.placementOptions.join(', ')}`);
    }
    if (!HOSTNAME.test(input.hostname)) {
      throw badRequest('"hostname" must be a valid host name (letters, digits and hyphens, dot-separated labels of at most 63 characters)');
    }
    const sshKeyIds = input.ssh_keys ?? [];
    if (sshKeyIds.length > 0 && input.password !== undefined) {
      throw badRequest('only one of "ssh_keys" or "password" can be provided');
    }
    if (sshKeyIds.length === 0 && input.password === undefined) {
      throw missing('"ssh_keys" is required (or "password" for password authentication)');
    }
    if (input.password !== undefined && input.password.length < MIN_PASSWORD_LENGTH) {
      throw genesisError(Code.WeakPassword, `"password" must be at least ${MIN_PASSWORD_LENGTH} characters long`);
    }
    if (input.disk_size !== undefined && (input.disk_size < MIN_DISK_GIB || input.disk_size > MAX_DISK_GIB)) {
      throw badRequest(`"disk_size" must be between ${MIN_DISK_GIB} and ${MAX_DISK_GIB} (GiB)`);
    }
    const script = input.metadata?.startup_script;
    if (script !== undefined && Buffer.byteLength(script, 'utf8') > MAX_STARTUP_SCRIPT_BYTES) {
      throw badRequest(`"metadata.startup_script" must not exceed 64 KiB (got ${Buffer.byteLength(script, 'utf8')} bytes)`);
    }
    const reservationId = input.reservation_id === undefined || input.reservation_id === '' ? null : input.reservation_id;
    if (reservationId === null && input.billing_type === 'reserved') throw missing('"reservation_id" is required with "billing_type" "reserved"');
    if (reservationId !== null && input.billing_type !== undefined && input.billing_type !== 'reserved') {
      throw badRequest(`"billing_type" must be "reserved" (or left out) for an instance on reservation "${reservationId}" (got "${input.billing_type}")`);
    }
    return { region, type, billing, placement, sshKeyIds, reservationId };
  }

  async destroy(accountId: string, id: string): Promise<void> {
    const { db, kernel } = this.ctx;
    await this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.find(trx, accountId, id);
      if (row.is_protected) {
        throw genesisError(Code.TerminationProtected, `instance "${id}" is termination protected: set "is_protected" to false first`);
      }
      if (row.status === 'deleting') throw alreadyDeleting(Code.OnlyActiveCanBeDeleted, 'instance', id);
      if (!allows(INSTANCE, 'delete', row.status)) {
        throw genesisError(Code.OnlyActiveCanBeDeleted, `instance "${id}" cannot be destroyed while it is ${row.status}`);
      }
      await kernel.lifecycle.cancel(trx, id);
      await trx
        .updateTable('genesis_instances')
        .set({ status: INSTANCE_ACTIONS.delete.via, updated_at: kernel.clockFor(accountId).now() })
        .where('id', '=', id)
        .execute();
      await kernel.lifecycle.begin(trx, INSTANCE_KIND, id, 'delete', { from: row.status, accountId });
    });
  }

  async update(accountId: string, id: string, input: UpdateInstanceInput): Promise<InstanceView> {
    const { db, kernel } = this.ctx;
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.find(trx, accountId, id);
      if (row.status === 'deleting') {
        throw genesisError(Code.InstanceCannotBeUpdated, `instance "${id}" cannot be updated while it is being destroyed`);
      }
      const reconfigures =
        input.disk_size !== undefined || input.security_groups !== undefined || input.volumes !== undefined || input.floating_ip !== undefined;
      if (reconfigures && !RECONFIGURABLE.has(row.status)) {
        throw genesisError(Code.OnlyActiveCanBeUpdated, `instance "${id}" can only be reconfigured when active or stopped (it is ${row.status})`);
      }
      const set: Partial<InstanceRow> = {};
      if (input.name !== undefined) set.name = input.name;
      if (input.is_protected !== undefined) set.is_protected = fromBool(input.is_protected);
      if (input.reservation_id !== undefined) Object.assign(set, await this.changeReservation(trx, row, input.reservation_id === '' ? null : input.reservation_id));
      if (input.disk_size !== undefined) {
        if (input.disk_size < row.disk_size) {
          throw badRequest(`"disk_size" can only be increased (the boot disk has ${row.disk_size} GiB)`);
        }
        if (input.disk_size > MAX_DISK_GIB) throw badRequest(`"disk_size" must not exceed ${MAX_DISK_GIB} (GiB)`);
        set.disk_size = input.disk_size;
      }
      if (input.security_groups !== undefined) await this.changeSecurityGroups(trx, row, input.security_groups);
      if (input.volumes !== undefined) await this.changeVolumes(trx, row, input.volumes);
      if (input.floating_ip !== undefined) set.public_ip = await this.changeFloatingIp(trx, row, input.floating_ip);
      set.updated_at = kernel.clockFor(accountId).now();
      await trx.updateTable('genesis_instances').set(set).where('id', '=', id).execute();
      const updated = await this.find(trx, accountId, id);
      return (await this.withLinks([updated], trx))[0]!;
    });
  }

  async actions(accountId: string, id: string): Promise<string[]> {
    return allowedActions((await this.find(this.ctx.db, accountId, id)).status);
  }

  async perform(accountId: string, id: string, action: 'start' | 'stop' | 'reset'): Promise<void> {
    const { db, kernel } = this.ctx;
    await this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.find(trx, accountId, id);
      const next = this.transitionFor(row, action);
      await trx
        .updateTable('genesis_instances')
        .set({ status: next.status, updated_at: kernel.clockFor(accountId).now() })
        .where('id', '=', id)
        .execute();
      await kernel.lifecycle.begin(trx, INSTANCE_KIND, id, action, { from: row.status, accountId });
    });
  }

  /** The status the action shows meanwhile and the transition that finishes it, if the instance's status allows it. */
  private transitionFor(row: InstanceRow, action: 'start' | 'stop' | 'reset'): { status: string; transition: string } {
    const { id, status } = row;
    if (!allows(INSTANCE, action, status)) {
      if (action === 'start' && status === 'active') throw genesisError(Code.AlreadyStarted, `instance "${id}" is already started`);
      const verb = { start: 'started', stop: 'stopped', reset: 'reset' }[action];
      throw genesisError(action === 'start' ? Code.CannotBeStarted : Code.NotAllowed, `instance "${id}" cannot be ${verb} while it is ${status}`);
    }
    return { status: INSTANCE_ACTIONS[action].via, transition: action };
  }

  async snapshot(accountId: string, id: string, input: { name: string; replicated_region?: string }): Promise<SnapshotRow> {
    const { db } = this.ctx;
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.find(trx, accountId, id);
      if (row.status !== 'active') {
        throw genesisError(Code.OnlyActiveCanBeSnapshotted, `instance "${id}" must be active to be snapshotted (it is ${row.status})`);
      }
      return this.peers.snapshots.createFromInstance(trx, row, input);
    });
  }

  async snapshots(accountId: string, id: string, request: PageRequest): Promise<Page<SnapshotRow>> {
    await this.find(this.ctx.db, accountId, id);
    return this.peers.snapshots.listForInstance(accountId, id, request);
  }

  async userMetadata(accountId: string, id: string): Promise<Record<string, unknown>> {
    const row = await this.find(this.ctx.db, accountId, id);
    return JSON.parse(row.metadata) as Record<string, unknown>;
  }

  // -------------------------------------------------------------------------------------

  // The reads every GET and list makes, built and compiled once (see kernel/db/prepared.ts).
  private readonly byId = prepared<InstanceRow>((id, accountId) =>
    this.ctx.db.selectFrom('genesis_instances').selectAll().where('id', '=', id).where('account_id', '=', accountId),
  );
  private readonly insertRow = heldWrite(
    (...values) => this.ctx.db.insertInto('genesis_instances').values(Object.fromEntries(INSTANCE_COLUMNS.map((c, i) => [c, values[i]])) as InstanceRow),
    INSTANCE_COLUMNS.length,
  );
  private readonly insertLinks = heldByShape<number>((n) => [
    n * LINK_COLUMNS.length,
    (...values) =>
      this.ctx.db
        .insertInto('genesis_instance_links')
        .values(Array.from({ length: n }, (_, r) => Object.fromEntries(LINK_COLUMNS.map((c, i) => [c, values[r * LINK_COLUMNS.length + i]])) as InstanceLinkRow)),
  ]);
  /**
   * Links the region's default group to a new instance, the group made first where the account
   * has none. On PostgreSQL it is read and linked in one statement (a create's round trip less);
   * on SQLite a read of its id and name and a plain insert cost a third less than that statement
   * (its RETURNING: 45 µs against 28 µs under load, BENCHMARKS.md).
   */
  private async linkDefaultGroup(trx: Executor, instanceId: string, accountId: string, region: string): Promise<InstanceLinkRow> {
    if (this.ctx.kernel.store.engine === 'postgres') {
      const [linked] = await this.linkDefault(trx, instanceId, accountId, region);
      if (linked) return link(instanceId, 'security_group', linked.target_id, linked.target_name, 0);
    }
    const group = await this.peers.securityGroups.ensureDefaultRef(trx, accountId, region);
    const made = link(instanceId, 'security_group', group.id, group.name, 0);
    await this.insertLinks(1)(trx, ...LINK_COLUMNS.map((c) => made[c]));
    return made;
  }
  private readonly linkDefault = prepared<Pick<InstanceLinkRow, 'target_id' | 'target_name'>>((instanceId, accountId, region) =>
    this.ctx.db
      .insertInto('genesis_instance_links')
      .columns(['instance_id', 'kind', 'target_id', 'target_name', 'position'])
      .expression((eb) =>
        this.peers.securityGroups
          .defaultIn(accountId, region)
          .select([eb.val(instanceId).as('instance_id'), sql.lit('security_group').as('kind'), 'g.id', 'g.name', sql.lit(0).as('position')]),
      )
      .returning(['target_id', 'target_name']),
  );
  private readonly linksOf = byShape<number, InstanceLinkRow>((n) => [
    n,
    (...ids) => this.ctx.db.selectFrom('genesis_instance_links').selectAll().where('instance_id', 'in', ids).orderBy('position'),
  ]);

  /**
   * The instance and its links in one statement (one round trip on PostgreSQL): the row
   * joined to each of its links in order, or once with no link.
   */
  private readonly byIdWithLinks = prepared<InstanceRow & LinkColumns>((id, accountId) => this.instanceWithLinks(id, accountId));

  private instanceWithLinks(id: unknown, accountId: unknown) {
    return this.ctx.db
      .selectFrom('genesis_instances as i')
      .leftJoin('genesis_instance_links as l', 'l.instance_id', 'i.id')
      .selectAll('i')
      .select(['l.kind as link_kind', 'l.target_id as link_target_id', 'l.target_name as link_target_name', 'l.position as link_position'])
      .where('i.id', '=', id as string)
      .where('i.account_id', '=', accountId as string)
      .orderBy('l.position') as SelectQueryBuilder<any, any, InstanceRow & LinkColumns>;
  }

  private async find(trx: Executor, accountId: string, id: string): Promise<InstanceRow> {
    const [row] = await this.byId(trx, id, accountId);
    if (!row) throw notFound(Code.InstanceNotFound, 'instance', id);
    return row;
  }

  private async withLinks(rows: InstanceRow[], trx: Executor = this.ctx.db): Promise<InstanceView[]> {
    if (rows.length === 0) return [];
    const links = await this.linksOf(rows.length)(trx, ...rows.map((r) => r.id));
    const byInstance = new Map<string, InstanceLinkRow[]>();
    for (const l of links) {
      const list = byInstance.get(l.instance_id);
      if (list) list.push(l);
      else byInstance.set(l.instance_id, [l]);
    }
    return rows.map((row) => ({ row, links: byInstance.get(row.id) ?? [] }));
  }

  private checkTypeAndRegion(typeId: string, region: string): InstanceType {
    const { catalog } = this.ctx;
    if (!catalog.regions.has(region)) {
      throw genesisError(Code.ConfigNotAllowed, `region "${region}" is not allowed (known regions: ${[...catalog.regions.keys()].join(', ')})`);
    }
    const type = catalog.types.get(typeId);
    if (!type) throw genesisError(Code.ConfigNotAllowed, `instance type "${typeId}" is not allowed: no such type`);
    if (type.era === 'legacy-large-disk') {
      throw genesisError(Code.LegacyLargeDisk, `legacy large disk instance types are currently not supported ("${typeId}"): choose a type with an 80 GiB boot disk and set "disk_size"`);
    }
    if (type.stock[region] === undefined) {
      throw genesisError(Code.ConfigNotAllowed, `instance type "${typeId}" is not offered in region ${region}`);
    }
    return type;
  }

  /** An image by id, slug or slug:version, or one of the account's snapshots by id. */
  private async resolveImage(
    trx: Transaction<any>,
    accountId: string,
    reference: string,
    type: InstanceType,
    region: string,
  ): Promise<{ id: string; name: string; osType: string; minDisk: number }> {
    const { catalog } = this.ctx;
    const image = catalog.findImage(reference);
    if (image) {
      if (!image.regions.includes(region)) {
        throw genesisError(Code.RegionsMismatch, `regions mismatch (check image "${reference}": it is available in ${image.regions.join(', ')}, not ${region})`);
      }
      const why = catalog.incompatibility(image, type);
      if (why) throw genesisError(Code.ImageNotRunnable, `the selected image cannot be run on this instance: ${why}`);
      return { id: image.id, name: image.name, osType: image.os_type, minDisk: 0 };
    }
    const snapshot = await this.peers.snapshots.findOwned(trx, accountId, reference);
    if (!snapshot) throw genesisError(Code.InvalidImage, `invalid image: "${reference}" is not an image id, slug, slug:version or snapshot id`);
    if (snapshot.status !== 'created') {
      throw genesisError(Code.InvalidImage, `invalid image: snapshot "${reference}" is ${snapshot.status}, not ready to boot from`);
    }
    if (snapshot.region !== region) {
      throw genesisError(Code.RegionsMismatch, `regions mismatch (check image "${reference}": the snapshot is in ${snapshot.region}, not ${region})`);
    }
    return { id: snapshot.id, name: snapshot.name, osType: snapshot.os_type, minDisk: snapshot.size };
  }

  /**
   * One of the account's Genesis reservations (an operator makes them: /admin/v1/reservations),
   * which must be for the instance's type (02020, the "type and/or region" code) and region
   * (02051, as for every resource of another region).
   */
  private async reservationFor(trx: Executor, accountId: string, id: string, type: string, region: string): Promise<Reservation> {
    const found = await this.ctx.kernel.reservations.get(trx, accountId, CLOUD, id);
    if (!found) throw badRequest(`"reservation_id": reservation "${id}" not found`);
    if (found.sku !== type) {
      throw genesisError(Code.ConfigNotAllowed, `instance type "${type}" is not allowed on reservation "${id}": it reserves ${found.sku}`);
    }
    if (found.region !== region) {
      throw genesisError(Code.RegionsMismatch, `regions mismatch (check reservation "${id}": it is in ${found.region}, not ${region})`);
    }
    return found;
  }

  /** Counts the instance against the reservation, in the caller's transaction; a full one is the reservation's quota reached (403 02010). */
  private async holdReservation(trx: Executor, reservation: Reservation): Promise<void> {
    if (await this.ctx.kernel.reservations.acquire(trx, reservation.id)) return;
    const now = await this.ctx.kernel.reservations.get(trx, reservation.account_id, CLOUD, reservation.id);
    throw genesisError(
      Code.MaxQuotaReached,
      `max quota reached: reservation "${reservation.id}" is full (${now?.used ?? reservation.capacity} of ${reservation.capacity} ${reservation.sku} in use)`,
    );
  }

  /**
   * PATCH reservation_id: onto a reservation (the unit it held elsewhere given back), or off it
   * with null. Billing follows: "reserved" on one, "on-demand" off it; a long-term subscription
   * stays as it is and cannot move onto a reservation.
   */
  private async changeReservation(trx: Executor, row: InstanceRow, id: string | null): Promise<Partial<InstanceRow>> {
    const { kernel, catalog } = this.ctx;
    if (id === row.reservation_id) return {};
    if (id !== null && LONG_TERM_BILLING.includes(row.billing_type)) {
      throw badRequest(`instance "${row.id}" is billed ${row.billing_type}: it cannot move onto reservation "${id}"`);
    }
    if (id === null && catalog.types.get(row.type)?.long_term_only) {
      throw genesisError(Code.OnDemandNotAllowed, `instance "${row.id}" cannot leave its reservation: on-demand billing is not allowed with instance type ${row.type}`);
    }
    const next = id === null ? null : await this.reservationFor(trx, row.account_id, id, row.type, row.region);
    if (row.reservation_id !== null) await kernel.reservations.release(trx, row.reservation_id);
    if (next !== null) await this.holdReservation(trx, next);
    const billing = next !== null ? 'reserved' : row.billing_type === 'reserved' ? 'on-demand' : row.billing_type;
    return { reservation_id: next?.id ?? null, billing_type: billing };
  }

  private async changeSecurityGroups(trx: Transaction<any>, row: InstanceRow, change: ListChange): Promise<void> {
    const current = await this.linked(trx, row.id, 'security_group');
    const wanted = applyListChange(change, current, 'security_groups', (id) => {
      throw genesisError(Code.SecurityGroupsNotDetachable, `security group "${id}" cannot be detached: it is not attached to instance "${row.id}"`);
    });
    const groups = await this.peers.securityGroups.resolveForAttach(trx, row.account_id, row.region, wanted);
    await this.replaceLinks(trx, row.id, 'security_group', groups);
  }

  private async changeVolumes(trx: Transaction<any>, row: InstanceRow, change: ListChange): Promise<void> {
    const current = await this.linked(trx, row.id, 'volume');
    const wanted = applyListChange(change, current, 'volumes', (id) => {
      throw genesisError(Code.VolumesNotDetachable, `volume "${id}" cannot be detached: it is not attached to instance "${row.id}"`);
    });
    const volumes = await this.peers.volumes.resolveForAttach(trx, row.account_id, row.region, wanted, row.id);
    await this.replaceLinks(trx, row.id, 'volume', volumes);
  }

  /**
   * Attaches a floating IP (replacing any other) or detaches it; returns the instance's
   * public address afterwards. A running instance swaps its dynamic address for the floating
   * one, and gets a fresh dynamic one when the floating IP leaves.
   */
  private async changeFloatingIp(trx: Transaction<any>, row: InstanceRow, id: string | null): Promise<string | null> {
    const { kernel } = this.ctx;
    const current = (await this.linked(trx, row.id, 'floating_ip'))[0];
    const running = row.status === 'active';
    if (id === null) {
      if (current === undefined) return row.public_ip;
      await this.replaceLinks(trx, row.id, 'floating_ip', []);
      return running ? kernel.ipam.allocate(trx, publicPool(row.region), row.id) : null;
    }
    const floating = await this.peers.floatingIps.resolveForAttach(trx, row.account_id, row.region, id, row.id);
    await this.replaceLinks(trx, row.id, 'floating_ip', [floating]);
    await kernel.ipam.release(trx, row.id, [[publicPool(row.region), row.public_ip]]);
    return running || row.public_ip !== null ? floating.ip_address : null;
  }

  private async linked(trx: Transaction<any>, instanceId: string, kind: InstanceLinkRow['kind']): Promise<string[]> {
    const rows = await trx
      .selectFrom('genesis_instance_links')
      .select('target_id')
      .where('instance_id', '=', instanceId)
      .where('kind', '=', kind)
      .orderBy('position')
      .execute();
    return rows.map((r) => r.target_id as string);
  }

  private async replaceLinks(
    trx: Transaction<any>,
    instanceId: string,
    kind: InstanceLinkRow['kind'],
    targets: { id: string; name: string }[],
  ): Promise<void> {
    await trx.deleteFrom('genesis_instance_links').where('instance_id', '=', instanceId).where('kind', '=', kind).execute();
    if (targets.length > 0) {
      await trx
        .insertInto('genesis_instance_links')
        .values(targets.map((t, i) => link(instanceId, kind, t.id, t.name, i)))
        .execute();
    }
  }
}

/**
 * The columns of an instance row and of a link row, in the order the prepared inserts take
 * them. (Every column, or the compiler says which is missing.)
 */
const INSTANCE_COLUMNS = columnsOf<InstanceRow>({
  id: 1, account_id: 1, name: 1, hostname: 1, type: 1, region: 1, placement_option: 1, image_id: 1, image_name: 1, os_type: 1,
  status: 1, private_ip: 1, public_ip: 1, public_ip_type: 1, dns_name: 1, is_protected: 1, disk_size: 1, destroy_on_shutdown: 1,
  public_ipv6: 1, billing_type: 1, reservation_id: 1, metadata: 1, seq: 1, created_at: 1, updated_at: 1,
});
const LINK_COLUMNS = columnsOf<InstanceLinkRow>({ instance_id: 1, kind: 1, target_id: 1, target_name: 1, position: 1 });

function columnsOf<Row>(all: Record<keyof Row, 1>): readonly (keyof Row)[] {
  return Object.keys(all) as (keyof Row)[];
}

function link(instanceId: string, kind: InstanceLinkRow['kind'], targetId: string, name: string, position: number): InstanceLinkRow {
  return { instance_id: instanceId, kind, target_id: targetId, target_name: name, position };
}

/** An instance read joined to each of its links (instanceWithLinks) as a view. */
function viewOfJoined(joined: readonly (InstanceRow & LinkColumns)[]): InstanceView {
  const { link_kind: _kind, link_target_id: _target, link_target_name: _name, link_position: _position, ...row } = joined[0]!;
  const links: InstanceLinkRow[] = [];
  for (const j of joined) {
    if (j.link_kind !== null) links.push({ instance_id: row.id, kind: j.link_kind, target_id: j.link_target_id!, target_name: j.link_target_name!, position: j.link_position! });
  }
  return { row, links };
}

const wireOf = (row: ListedRow) => row.wire;

/**
 * The list an instance should end up with: a full replacement list (the seed's form), or the
 * current list plus one (`{"attach": id}`) or minus one (`{"detach": id}`), the clients' form.
 */
export function applyListChange(change: unknown, current: string[], field: string, notAttached: (id: string) => never): string[] {
  if (Array.isArray(change)) {
    const bad = change.findIndex((id) => typeof id !== 'string');
    if (bad >= 0) throw badRequest(`"${field}.${bad}" must be a string`);
    return change as string[];
  }
  if (change && typeof change === 'object') {
    const keys = Object.keys(change);
    const value = (change as Record<string, unknown>)[keys[0] ?? ''];
    if (keys.length === 1 && (keys[0] === 'attach' || keys[0] === 'detach') && typeof value === 'string') {
      if (keys[0] === 'attach') return current.includes(value) ? current : [...current, value];
      if (!current.includes(value)) notAttached(value);
      return current.filter((id) => id !== value);
    }
  }
  throw badRequest(`"${field}" must be a list of ids, {"attach": "<id>"} or {"detach": "<id>"}`);
}

/** The instance as a resource: its table, counter, quota, machine and place in the fleet (kernel/resources.ts). */
export const instanceResource: ResourceDef<GenesisModel> = declareResource({
  cloud: CLOUD,
  kind: INSTANCE_KIND,
  table: 'genesis_instances',
  counter: Counter.instances,
  quota: 1000,
  machine: (m) => instanceMachine(m.ctx),
  fleet: { collection: 'instances', columns: { type: 'type' }, read: async (m, a, id) => ({ instance: renderInstance(await m.instances.get(a, id)) }) },
});
