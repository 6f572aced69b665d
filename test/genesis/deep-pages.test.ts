import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { AccountList } from '../../src/clouds/genesis/model/pagination.js';
import { openStore, type Store } from '../../src/kernel/db/store.js';
import { testStore } from '../helpers/hangar.js';

/**
 * AccountList starts deep pages from positions it remembers instead of walking an OFFSET.
 * Whatever happens to the rows (added, removed, reordered, seqs tied, written by another
 * connection), each page must be exactly the rows and order a plain OFFSET gives.
 */
interface Row {
  id: string;
  account_id: string;
  seq: number;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(url?: string): Promise<{ store: Store; list: AccountList<Row> }> {
  let store: Store;
  if (url) {
    store = await openStore(url);
    cleanups.push(() => store.close());
  } else {
    const target = testStore();
    store = await openStore(target.url);
    cleanups.push(async () => {
      await store.close();
      await target.drop();
    });
  }
  await sql`create table items (id text primary key, account_id text not null, seq bigint not null)`.execute(store.db);
  await sql`create index items_account_order on items (account_id, seq)`.execute(store.db);
  return { store, list: new AccountList<Row>(store.db, 'items', store.writeVersion) };
}

async function insert(store: Store, rows: Row[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await store.db.insertInto('items').values(rows.slice(i, i + 500)).execute();
}

/** Every page of the account at `perPage`, through the list and through a plain OFFSET. */
async function compare(store: Store, list: AccountList<Row>, account: string, perPage: number, pages: number[]): Promise<void> {
  for (const page of pages) {
    const got = await list.page(account, { page, perPage }, 0);
    const want = await store.db
      .selectFrom('items')
      .selectAll()
      .where('account_id', '=', account)
      .orderBy('seq')
      .limit(perPage)
      .offset((page - 1) * perPage)
      .execute();
    expect(got.items.map((r) => r.id), `page ${page} of ${perPage}`).toEqual(want.map((r) => r.id));
  }
}

const rows = (account: string, from: number, n: number, seq = (i: number) => 1_000_000 + i * 10): Row[] =>
  Array.from({ length: n }, (_, k) => ({ id: `${account}-${from + k}`, account_id: account, seq: seq(from + k) }));

describe('deep pages (AccountList)', () => {
  it('gives the rows OFFSET gives, page after page and at any page size, beside another account', async () => {
    const { store, list } = await open();
    await insert(store, [...rows('a', 0, 5_500), ...rows('b', 0, 1_200, (i) => 1_000_005 + i * 10)]);
    await compare(store, list, 'a', 100, [1, 10, 11, 12, 30, 55, 56, 57, 11]);
    await compare(store, list, 'a', 37, [27, 28, 100, 148, 149, 150]);
    await compare(store, list, 'b', 50, [20, 21, 24, 25]);
    // SQLite can tell when rows move, so deep pages seek; PostgreSQL cannot, so they never do.
    if (store.engine === 'sqlite') expect(list.seeks).toBeGreaterThan(10);
    else expect(list.seeks).toBe(0);
  });

  it('forgets what it knew when rows are added or removed anywhere, and reads the same rows as OFFSET', async () => {
    const { store, list } = await open();
    await insert(store, rows('a', 0, 4_000));
    await compare(store, list, 'a', 100, [35, 36]); // positions learnt
    await store.db.deleteFrom('items').where('id', 'in', ['a-10', 'a-1500', 'a-2999']).execute();
    await compare(store, list, 'a', 100, [35, 36, 12]);
    // A row slipped in the middle of the order (an import, or another replica's clock).
    await insert(store, [{ id: 'a-early', account_id: 'a', seq: 1_000_001 }]);
    await compare(store, list, 'a', 100, [35, 36, 12, 40]);
    // Appended at the end.
    await insert(store, rows('a', 4_000, 150));
    await compare(store, list, 'a', 100, [40, 41, 42]);
  });

  it('copes with runs of equal seqs across the remembered positions', async () => {
    const { store, list } = await open();
    // Seqs tie in runs of 7, so strides land inside runs.
    await insert(store, rows('a', 0, 3_500, (i) => 1_000_000 + Math.floor(i / 7)));
    await compare(store, list, 'a', 100, [11, 12, 20, 21, 35]);
    await compare(store, list, 'a', 999, [2, 3, 4]);
  });

  it('sees rows written by another connection to the same SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-deep-pages-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'store.db');
    const { store, list } = await open(`sqlite:${file}`);
    await insert(store, rows('a', 0, 3_000));
    await compare(store, list, 'a', 100, [25, 26]);
    const other = new Database(file);
    other.pragma('busy_timeout = 5000');
    other.prepare('delete from items where id = ?').run('a-5');
    other.prepare('insert into items (id, account_id, seq) values (?, ?, ?)').run('a-x', 'a', 1_000_003);
    other.close();
    await compare(store, list, 'a', 100, [25, 26, 30]);
  });
});
