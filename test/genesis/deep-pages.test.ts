import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { AccountList, listVersion } from '../../src/clouds/genesis/model/pagination.js';
import { Counters } from '../../src/kernel/counters.js';
import { migrate } from '../../src/kernel/db/migrate.js';
import { kernelMigrations } from '../../src/kernel/db/schema.js';
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

/** A store and its counters, which move with every insert and delete as Hangar's models do. */
interface Side {
  store: Store;
  counters: Counters;
}

const ACCOUNTS = ['a', 'b'];

/** A store with an `items` table and the kernel's tables, and a list of items over it. */
async function open(url?: string): Promise<Side & { list: AccountList<Row>; url: string }> {
  let store: Store;
  if (url) {
    store = await openStore(url);
    cleanups.push(() => store.close());
  } else {
    const target = testStore();
    url = target.url;
    store = await openStore(url);
    cleanups.push(async () => {
      await store.close();
      await target.drop();
    });
  }
  await migrate(store.db, 'kernel', kernelMigrations, store.schema);
  await store.db.insertInto('accounts').values(ACCOUNTS.map((id) => ({ id, name: id, created_at: 0 }))).execute();
  await sql`create table items (id text primary key, account_id text not null, seq bigint not null)`.execute(store.db);
  await sql`create index items_account_order on items (account_id, seq)`.execute(store.db);
  const counters = new Counters(store.db);
  const list = new AccountList<Row>(store.db, 'items', listVersion({ store, counters, db: store.db }, 'items', 'items'));
  return { store, counters, list, url };
}

/** Another process on the same store: a replica on PostgreSQL. */
async function replica(url: string): Promise<Side> {
  const store = await openStore(url);
  cleanups.push(() => store.close());
  return { store, counters: new Counters(store.db) };
}

async function insert({ store, counters }: Side, rows: Row[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await store.db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values(chunk).execute();
      for (const account of ACCOUNTS) {
        const n = chunk.filter((r) => r.account_id === account).length;
        if (n > 0) await counters.add(trx, account, 'items', n);
      }
    });
  }
}

async function remove({ store, counters }: Side, account: string, ids: string[]): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    const gone = await trx.deleteFrom('items').where('account_id', '=', account).where('id', 'in', ids).executeTakeFirst();
    await counters.add(trx, account, 'items', -Number(gone.numDeletedRows));
  });
}

/** Every page of the account at `perPage`, through the list and through a plain OFFSET. */
async function compare({ store }: Side, list: AccountList<Row>, account: string, perPage: number, pages: number[]): Promise<void> {
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
    const { list, ...side } = await open();
    await insert(side, [...rows('a', 0, 5_500), ...rows('b', 0, 1_200, (i) => 1_000_005 + i * 10)]);
    await compare(side, list, 'a', 100, [1, 10, 11, 12, 30, 55, 56, 57, 11]);
    await compare(side, list, 'a', 37, [27, 28, 100, 148, 149, 150]);
    await compare(side, list, 'b', 50, [20, 21, 24, 25]);
    expect(list.seeks).toBeGreaterThan(10);
  });

  it('gives every concurrent reader of the same deep pages the right rows', async () => {
    const { list, ...side } = await open();
    await insert(side, rows('a', 0, 6_000));
    await compare(side, list, 'a', 100, [12]); // a position learnt, the rest learnt concurrently
    const pages = [58, 12, 31, 58, 45, 12, 59, 20];
    const got = await Promise.all(pages.map((page) => list.page('a', { page, perPage: 100 }, 0)));
    got.forEach((result, i) => expect(result.items.map((r) => r.id)[0], `page ${pages[i]}`).toBe(`a-${(pages[i]! - 1) * 100}`));
    got.forEach((result) => expect(result.items).toHaveLength(100));
    await compare(side, list, 'a', 100, [58, 13, 59, 60]);
    expect(list.seeks).toBeGreaterThanOrEqual(pages.length);
  });

  it('forgets what it knew when rows are added or removed anywhere, and reads the same rows as OFFSET', async () => {
    const { list, ...side } = await open();
    await insert(side, rows('a', 0, 4_000));
    await compare(side, list, 'a', 100, [35, 36]); // positions learnt
    await remove(side, 'a', ['a-10', 'a-1500', 'a-2999']);
    await compare(side, list, 'a', 100, [35, 36, 12]);
    // A row slipped in the middle of the order (an import, or another replica's clock).
    await insert(side, [{ id: 'a-early', account_id: 'a', seq: 1_000_001 }]);
    await compare(side, list, 'a', 100, [35, 36, 12, 40]);
    // Appended at the end.
    await insert(side, rows('a', 4_000, 150));
    await compare(side, list, 'a', 100, [40, 41, 42]);
    // Every row removed (the count back at zero) and as many put back in another order.
    await remove(side, 'a', (await side.store.db.selectFrom('items').select('id').where('account_id', '=', 'a').execute()).map((r) => r.id));
    await insert(side, rows('a', 0, 4_150, (i) => 2_000_000 - i));
    await compare(side, list, 'a', 100, [35, 36, 40, 41, 42]);
  });

  it('reads the version once for a page whose positions it knows, and learns again when rows moved', async () => {
    const { list: _, ...side } = await open();
    const version = listVersion({ store: side.store, counters: side.counters, db: side.store.db }, 'items', 'items');
    let reads = 0;
    const list = new AccountList<Row>(side.store.db, 'items', (account) => (reads++, version(account)));
    await insert(side, rows('a', 0, 4_000));
    await compare(side, list, 'a', 100, [31]); // learns positions up to row 3,000: before and after
    expect(reads).toBe(2);
    const strides = list.strides;
    await compare(side, list, 'a', 100, [12, 25, 31]);
    expect(reads).toBe(5);
    expect(list.strides).toBe(strides);
    await remove(side, 'a', ['a-7']);
    await compare(side, list, 'a', 100, [25]); // the version after the page moved: learnt again
    expect(reads).toBe(7);
    expect(list.strides).toBeGreaterThan(strides);
    await compare(side, list, 'a', 100, [26]);
    expect(reads).toBe(8);
  });

  it('copes with runs of equal seqs across the remembered positions', async () => {
    const { list, ...side } = await open();
    // Seqs tie in runs of 7, so strides land inside runs.
    await insert(side, rows('a', 0, 3_500, (i) => 1_000_000 + Math.floor(i / 7)));
    await compare(side, list, 'a', 100, [11, 12, 20, 21, 35]);
    await compare(side, list, 'a', 999, [2, 3, 4]);
  });

  // (SQLite's counterpart, a second connection to the file, is the next test.)
  it.runIf(testStore().url.startsWith('postgres'))('sees rows written by another replica of the same store (PostgreSQL)', async () => {
    const { list, url, ...side } = await open();
    await insert(side, rows('a', 0, 3_000));
    await compare(side, list, 'a', 100, [25, 26]);
    const seeks = list.seeks;
    const other = await replica(url);
    await remove(other, 'a', ['a-5']);
    await compare(side, list, 'a', 100, [25, 26]);
    await insert(other, [{ id: 'a-x', account_id: 'a', seq: 1_000_003 }]);
    await compare(side, list, 'a', 100, [25, 26, 30]);
    expect(list.seeks).toBeGreaterThan(seeks);
    // A change to another account leaves what was learnt for this one.
    const strides = list.strides;
    await insert(other, rows('b', 0, 10));
    await compare(side, list, 'a', 100, [27]);
    expect(list.strides).toBe(strides);
    // A write that rolls back changes nothing, and what was learnt stays.
    await other.store.db
      .transaction()
      .execute(async (trx) => {
        await trx.deleteFrom('items').where('id', '=', 'a-1').execute();
        await other.counters.add(trx, 'a', 'items', -1);
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    await compare(side, list, 'a', 100, [28]);
    expect(list.strides).toBe(strides);
  });

  it('sees rows written by another connection to the same SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-deep-pages-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'store.db');
    const { list, ...side } = await open(`sqlite:${file}`);
    await insert(side, rows('a', 0, 3_000));
    await compare(side, list, 'a', 100, [25, 26]);
    const other = new Database(file);
    other.pragma('busy_timeout = 5000');
    other.prepare('delete from items where id = ?').run('a-5');
    other.prepare('insert into items (id, account_id, seq) values (?, ?, ?)').run('a-x', 'a', 1_000_003);
    other.close();
    await compare(side, list, 'a', 100, [25, 26, 30]);
  });
});
