import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import { prepared } from '../../../kernel/db/prepared.js';
import type { Kernel } from '../../../kernel/kernel.js';

export interface PageRequest {
  page: number;
  perPage: number;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  perPage: number;
}

/**
 * One page of an account's resources in creation order (their `seq`). Totals come from the account's
 * counters (kept in step with every insert and delete), not from a COUNT over the table.
 */
export async function fetchPage<T>(
  query: SelectQueryBuilder<any, any, T>,
  request: PageRequest,
  total: number | Promise<number>,
): Promise<Page<T>> {
  const items = await query
    .orderBy('seq')
    .limit(request.perPage)
    .offset((request.page - 1) * request.perPage)
    .execute();
  return { items, total: await total, page: request.page, perPage: request.perPage };
}

export function pageRequest(query: { page?: number; per_page?: number }): PageRequest {
  return { page: query.page ?? 1, perPage: query.per_page ?? 50 };
}

/** What an account's list is ordered within: its account, then creation order (declared to the store, see listVersion). */
const LIST_ORDER = ['account_id', 'seq'] as const;

/** How many rows apart the positions an AccountList remembers are. */
const STRIDE = 1000;
/** Accounts whose positions are remembered, per list. */
const REMEMBERED = 64;
/** What a page's statement calls its rows (see AccountList). */
const PAGE = 'page';

/**
 * A token that changes whenever rows of an account's list may have been added or removed, by
 * anyone: a reader that saw the same token before and after its queries saw the same rows.
 */
export type ListVersion = (accountId: string) => string | Promise<string>;

/**
 * The list version of `table`, whose rows `counterKey` counts. On SQLite, the store's write
 * version of the table (every account's writes move it; read from memory, and other processes'
 * commits are seen in the file). On PostgreSQL, which replicas write without telling each other,
 * the transaction that last moved the account's counter (Counters.writer): it moves in the same
 * transaction as every insert and delete, and takes no lock a writer would wait for.
 */
export function listVersion(kernel: Pick<Kernel, 'store' | 'counters' | 'db'>, table: string, counterKey: string): ListVersion {
  const { writeVersion } = kernel.store;
  kernel.store.declareList?.(table, LIST_ORDER);
  if (writeVersion) return () => writeVersion(table);
  return (accountId) => kernel.counters.writer(kernel.db, accountId, counterKey);
}

interface Positions {
  /** The account's list version when these were learnt. */
  version: string;
  /** seqs[i] is the seq of the row at position i × STRIDE, the first row of that seq. */
  seqs: readonly number[];
  /** A tie of seqs sat at the next stride: no positions can be learnt beyond the last. */
  ended: boolean;
}

/**
 * One account's rows of a table in list order (`seq`), a page at a time, like fetchPage, but
 * without OFFSET's cost on deep pages: OFFSET walks every row before the page, so page 10,000
 * of a million instances costs a hundred times page 1. The list remembers the seq found every
 * STRIDE rows and starts each page from the nearest one (`seq >= ?`, then a short OFFSET).
 *
 * What it remembers holds only while the account's rows stay put, so it is checked against the
 * list's version (see listVersion): positions are learnt between two reads of the same version,
 * and a page from them is served only if the version read after it is still theirs. A row added
 * or removed (by this process or another, a replica's included) makes the list learn again or
 * fall back to OFFSET, and the pages are the same rows in the same order either way. Positions are learnt on the way to
 * a deep page (a first deep page costs what OFFSET costs), and only at rows that start a run of
 * equal seqs.
 */
export class AccountList<T> {
  /** Pages served from a remembered position (the rest were OFFSET walks). */
  seeks = 0;
  /** Positions read from the store on the way to deep pages. */
  strides = 0;
  /** How many rows apart the remembered positions are: pages before the first are OFFSET pages. */
  readonly stride = STRIDE;
  /** The query of a page `offset` rows in, with no remembered position (for a statement of the caller's own). */
  readonly offsetQuery: (account: unknown, limit: unknown, offset: unknown) => SelectQueryBuilder<any, any, T>;
  /** The query of a page `offset` rows past the first row of `seq` (a remembered position: see `rememberedStart`). */
  readonly seekQuery: (account: unknown, seq: unknown, limit: unknown, offset: unknown) => SelectQueryBuilder<any, any, T>;
  private readonly remembered = new Map<string, Positions>();
  private readonly offsetPage;
  private readonly seekPage;
  private readonly firstSeq;
  private readonly strideSeqs;

  /**
   * `select` says what a page's rows hold (every column by default): a list can read just the
   * columns its answer shows, and what it joins to them, in the page's one statement. It gets
   * the account's placeholder, for a subquery of the account's own, and a statement giving the
   * page's ids, to read what they show for all of them at once. `columns` are those of the
   * table it reads (all by default; `seq` always).
   */
  constructor(
    private readonly db: Kysely<any>,
    table: string,
    private readonly listVersion: ListVersion,
    select: (query: SelectQueryBuilder<any, any, {}>, account: unknown, ids: RawBuilder<unknown>) => SelectQueryBuilder<any, any, T> = (query) => query.selectAll() as SelectQueryBuilder<any, any, T>,
    columns?: readonly string[],
  ) {
    // `select` shapes the page's own rows only: its columns are computed over the page, never
    // over the rows an OFFSET skips (PostgreSQL computes a row's columns before skipping it).
    // (The page is a common table expression, read under the table's name: both engines read
    // one used once as the subquery it was, and one read again is found once.)
    const shaped = (page: SelectQueryBuilder<any, any, any>, account: unknown) =>
      select(db.with(PAGE, () => page).selectFrom(`${PAGE} as ${table}`), account, sql`select id from ${sql.table(PAGE)}`).orderBy('seq');
    const from = (account: unknown) => db.selectFrom(table).where('account_id', '=', account).orderBy('seq');
    const rows = columns === undefined ? (account: unknown) => from(account).selectAll() : (account: unknown) => from(account).select(['seq', ...columns]);
    this.offsetQuery = (account, limit, offset) => shaped(rows(account).limit(limit as number).offset(offset as number), account);
    this.offsetPage = prepared<T>((account, limit, offset) => this.offsetQuery(account, limit, offset));
    this.seekQuery = (account, seq, limit, offset) => shaped(rows(account).where('seq', '>=', seq).limit(limit as number).offset(offset as number), account);
    this.seekPage = prepared<T>((account, seq, limit, offset) => this.seekQuery(account, seq, limit, offset));
    this.firstSeq = prepared<{ seq: number }>((account) => db.selectFrom(table).select('seq').where('account_id', '=', account).orderBy('seq').limit(1));
    // The rows just before and at the next stride: their seqs tell whether the second starts a run.
    this.strideSeqs = prepared<{ seq: number }>((account, seq) =>
      db.selectFrom(table).select('seq').where('account_id', '=', account).where('seq', '>=', seq).orderBy('seq').limit(2).offset(STRIDE - 1),
    );
  }

  /**
   * A page, read outside any transaction (what a transaction wrote and then rolled back must
   * never be remembered). `total` may be worked out from the page's rows (when they carry it).
   */
  async page(accountId: string, request: PageRequest, total: number | Promise<number> | ((items: T[]) => number | Promise<number>)): Promise<Page<T>> {
    const offset = (request.page - 1) * request.perPage;
    const items = (offset >= STRIDE ? await this.seek(accountId, offset, request.perPage) : null) ?? (await this.offsetPage(this.db, accountId, request.perPage, offset));
    return { items, total: await (typeof total === 'function' ? total(items) : total), page: request.page, perPage: request.perPage };
  }

  /** The page from the nearest remembered position; null when the rows moved meanwhile. */
  private async seek(accountId: string, offset: number, limit: number): Promise<T[] | null> {
    const wanted = Math.floor(offset / STRIDE);
    let known = this.remembered.get(accountId);
    let version: string;
    if (known !== undefined && (wanted < known.seqs.length || known.ended)) {
      // Every position this page needs is known: the page, then one read of the version. The
      // version was known.version when the positions were learnt, and a version that moved
      // never comes back, so finding it still the same after the page means no row had moved
      // when the page was read. (One statement less than learning: deep pages are polled.)
      const items = await this.pageFrom(known.seqs, wanted, accountId, offset, limit);
      version = await this.listVersion(accountId);
      if (version === known.version) return this.served(accountId, known, items);
      known = undefined; // rows moved: learn again, from the version just read
    } else version = await this.listVersion(accountId);
    if (known === undefined || known.version !== version) {
      const [first] = await this.firstSeq(this.db, accountId);
      if (first === undefined) return null;
      known = { version, seqs: [Number(first.seq)], ended: false };
    }
    // Learnt into a copy: concurrent pages of the account each learn their own, and what is
    // kept is a whole set learnt under one version.
    const seqs = [...known.seqs];
    let ended = known.ended;
    while (seqs.length - 1 < wanted && !ended) {
      const [before, at] = await this.strideSeqs(this.db, accountId, seqs[seqs.length - 1]);
      this.strides++;
      if (at === undefined || Number(before!.seq) === Number(at.seq)) ended = true; // past the end, or a tie: pages start from the last position known
      else seqs.push(Number(at.seq));
    }
    const items = await this.pageFrom(seqs, wanted, accountId, offset, limit);
    // Every read above happened between two reads of the same version: no row moved meanwhile.
    if ((await this.listVersion(accountId)) !== version) {
      this.remembered.delete(accountId);
      return null;
    }
    return this.served(accountId, { version, seqs, ended }, items);
  }

  /**
   * Where the page `offset` rows in starts, when the account's remembered positions reach it:
   * the seq to read it from and the offset past that seq's first row (`seekQuery`), and the
   * list version the positions hold for. A caller reading the page in a statement of its own
   * reads the version in it too, and uses the page only if that version is this one (then
   * telling `servedFrom`). Null: `page` learns the positions.
   */
  rememberedStart(accountId: string, offset: number): { seq: number; offset: number; version: string } | null {
    const known = this.remembered.get(accountId);
    const wanted = Math.floor(offset / STRIDE);
    if (known === undefined || offset < STRIDE || !(wanted < known.seqs.length || known.ended)) return null;
    const k = Math.min(wanted, known.seqs.length - 1);
    return { seq: known.seqs[k]!, offset: offset - k * STRIDE, version: known.version };
  }

  /** A page read from `rememberedStart` was served: counted, its positions kept as the account's most recently used. */
  servedFrom(accountId: string): void {
    const known = this.remembered.get(accountId);
    if (known !== undefined) this.served(accountId, known, []);
  }

  /** The page at `offset`, read from the nearest of `seqs` at or before it. */
  private pageFrom(seqs: readonly number[], wanted: number, accountId: string, offset: number, limit: number): Promise<T[]> {
    const k = Math.min(wanted, seqs.length - 1);
    return this.seekPage(this.db, accountId, seqs[k], limit, offset - k * STRIDE);
  }

  /** Keeps `positions` as the account's most recently used, and counts the page served. */
  private served(accountId: string, positions: Positions, items: T[]): T[] {
    this.seeks++;
    this.remembered.delete(accountId);
    this.remembered.set(accountId, positions);
    if (this.remembered.size > REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!);
    return items;
  }
}
