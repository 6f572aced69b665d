import type { Kysely, SelectQueryBuilder } from 'kysely';
import { prepared } from '../../../kernel/db/prepared.js';

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

/** How many rows apart the positions an AccountList remembers are. */
const STRIDE = 1000;
/** Accounts whose positions are remembered, per list. */
const REMEMBERED = 64;

interface Positions {
  /** The store's write version of the table when these were learnt. */
  version: string;
  /** seqs[i] is the seq of the row at position i × STRIDE, the first row of that seq. */
  seqs: number[];
  /** A tie of seqs sat at the next stride: no positions can be learnt beyond the last. */
  ended: boolean;
}

/**
 * One account's rows of a table in list order (`seq`), a page at a time, like fetchPage, but
 * without OFFSET's cost on deep pages: OFFSET walks every row before the page, so page 10,000
 * of a million instances costs a hundred times page 1. The list remembers the seq found every
 * STRIDE rows and starts each page from the nearest one (`seq >= ?`, then a short OFFSET).
 *
 * What it remembers holds only while the table's rows stay put, so it is checked against the
 * store's write version (Store.writeVersion) before and after every read: a row added or
 * removed anywhere in the table (by this process or another) makes the list forget and fall
 * back to OFFSET, and the pages are the same rows in the same order either way. Positions are
 * learnt on the way to a deep page (a first deep page costs what OFFSET costs), only at rows
 * that start a run of equal seqs, and never on a store that cannot say when rows moved
 * (PostgreSQL): there, every page is an OFFSET.
 */
export class AccountList<T> {
  /** Pages served from a remembered position (the rest were OFFSET walks). */
  seeks = 0;
  private readonly remembered = new Map<string, Positions>();
  private readonly offsetPage;
  private readonly seekPage;
  private readonly firstSeq;
  private readonly strideSeqs;

  constructor(
    private readonly db: Kysely<any>,
    private readonly table: string,
    private readonly writeVersion: ((table: string) => string) | undefined,
  ) {
    this.offsetPage = prepared<T>((account, limit, offset) =>
      db.selectFrom(table).selectAll().where('account_id', '=', account).orderBy('seq').limit(limit).offset(offset),
    );
    this.seekPage = prepared<T>((account, seq, limit, offset) =>
      db.selectFrom(table).selectAll().where('account_id', '=', account).where('seq', '>=', seq).orderBy('seq').limit(limit).offset(offset),
    );
    this.firstSeq = prepared<{ seq: number }>((account) => db.selectFrom(table).select('seq').where('account_id', '=', account).orderBy('seq').limit(1));
    // The rows just before and at the next stride: their seqs tell whether the second starts a run.
    this.strideSeqs = prepared<{ seq: number }>((account, seq) =>
      db.selectFrom(table).select('seq').where('account_id', '=', account).where('seq', '>=', seq).orderBy('seq').limit(2).offset(STRIDE - 1),
    );
  }

  /**
   * A page, read outside any transaction (what a transaction wrote and then rolled back must
   * never be remembered).
   */
  async page(accountId: string, request: PageRequest, total: number | Promise<number>): Promise<Page<T>> {
    const offset = (request.page - 1) * request.perPage;
    const items = (offset >= STRIDE ? await this.seek(accountId, offset, request.perPage) : null) ?? (await this.offsetPage(this.db, accountId, request.perPage, offset));
    return { items, total: await total, page: request.page, perPage: request.perPage };
  }

  /** The page from the nearest remembered position; null when the rows moved meanwhile. */
  private async seek(accountId: string, offset: number, limit: number): Promise<T[] | null> {
    const executor = this.db;
    if (this.writeVersion === undefined) return null;
    const version = this.writeVersion(this.table);
    let known = this.remembered.get(accountId);
    if (known === undefined || known.version !== version) {
      const [first] = await this.firstSeq(executor, accountId);
      if (first === undefined) return null;
      known = { version, seqs: [Number(first.seq)], ended: false };
    }
    const unchanged = () => this.writeVersion!(this.table) === version;
    let k = Math.min(Math.floor(offset / STRIDE), known.seqs.length - 1);
    while (k < Math.floor(offset / STRIDE) && !known.ended) {
      const [before, at] = await this.strideSeqs(executor, accountId, known.seqs[k]);
      if (!unchanged()) return null;
      if (at === undefined || Number(before!.seq) === Number(at.seq)) {
        known.ended = true; // past the end, or a tie: the page starts from the last position known
        break;
      }
      known.seqs.push(Number(at.seq));
      k++;
    }
    const items = await this.seekPage(executor, accountId, known.seqs[k], limit, offset - k * STRIDE);
    if (!unchanged()) return null;
    this.seeks++;
    this.remembered.delete(accountId);
    this.remembered.set(accountId, known);
    if (this.remembered.size > REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!);
    return items;
  }
}
