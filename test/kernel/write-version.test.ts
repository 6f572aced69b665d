import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/kernel/db/store.js';

// The SQLite store tells readers whether a table may have changed, from the queries Kysely
// compiled (never by reading SQL text): a list's write version (rows added, removed, or moved
// in the order the list declared), and a table's version (any write at all), which a cache of
// one table's rows (the credentials every request looks up) relies on.
describe('SQLite write and table versions', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore('sqlite::memory:');
    for (const table of ['listed', 'other']) {
      await store.db.schema.createTable(table).addColumn('id', 'text', (c) => c.primaryKey()).addColumn('account_id', 'text').addColumn('seq', 'integer').addColumn('name', 'text').execute();
    }
    store.declareList!('listed', ['account_id', 'seq']);
  });
  afterAll(() => store.close());

  /** Whether `write` moved the version `of` gives for the table `listed`. */
  const moves = async (of: 'writeVersion' | 'tableVersion', write: () => Promise<unknown>) => {
    const before = store[of]!('listed');
    await write();
    return store[of]!('listed') !== before;
  };
  const listMoves = (write: () => Promise<unknown>) => moves('writeVersion', write);
  const tableMoves = (write: () => Promise<unknown>) => moves('tableVersion', write);

  it('moves a list on an insert or a delete of its rows, and on an update of its ordering columns', async () => {
    const { db } = store;
    expect(await listMoves(() => db.insertInto('listed').values({ id: 'a', account_id: 'x', seq: 1, name: 'one' }).execute())).toBe(true);
    expect(await listMoves(() => db.updateTable('listed').set({ seq: 2 }).where('id', '=', 'a').execute())).toBe(true);
    expect(await listMoves(() => db.updateTable('listed as l').set({ account_id: 'y' }).where('l.id', '=', 'a').execute())).toBe(true);
    expect(await listMoves(() => db.deleteFrom('listed').where('id', '=', 'a').execute())).toBe(true);
  });

  it('keeps a list for an update of other columns, where its ordering columns only filter, and for writes to other tables', async () => {
    const { db } = store;
    await db.insertInto('listed').values({ id: 'b', account_id: 'x', seq: 1, name: 'two' }).execute();
    expect(await listMoves(() => db.updateTable('listed').set({ name: 'renamed' }).where('account_id', '=', 'x').where('seq', '=', 1).execute())).toBe(false);
    expect(await listMoves(() => db.insertInto('other').values({ id: 'c', account_id: 'x', seq: 1, name: 'three' }).execute())).toBe(false);
    expect(await listMoves(() => db.updateTable('other').set({ seq: 5 }).execute())).toBe(false);
    expect(await listMoves(() => db.selectFrom('listed').selectAll().execute())).toBe(false);
  });

  it('moves a table on every insert, update and delete of it, an update of any column included', async () => {
    const { db } = store;
    expect(await tableMoves(() => db.insertInto('listed').values({ id: 'd', account_id: 'x', seq: 9, name: 'four' }).execute())).toBe(true);
    expect(await tableMoves(() => db.updateTable('listed').set({ name: 'renamed' }).where('id', '=', 'd').execute())).toBe(true);
    expect(await tableMoves(() => db.updateTable('listed as l').set({ name: 'again' }).where('l.id', '=', 'd').execute())).toBe(true);
    expect(await tableMoves(() => db.deleteFrom('listed').where('id', '=', 'd').execute())).toBe(true);
  });

  it('keeps a table for reads and for writes to other tables', async () => {
    const { db } = store;
    expect(await tableMoves(() => db.insertInto('other').values({ id: 'e', account_id: 'x', seq: 1, name: 'five' }).execute())).toBe(false);
    expect(await tableMoves(() => db.updateTable('other').set({ name: 'x' }).execute())).toBe(false);
    expect(await tableMoves(() => db.selectFrom('listed').selectAll().execute())).toBe(false);
  });

  it('moves both for a statement it cannot tell (raw SQL)', async () => {
    expect(await listMoves(() => sql`update other set name = 'raw'`.execute(store.db))).toBe(true);
    expect(await tableMoves(() => sql`update other set name = 'raw again'`.execute(store.db))).toBe(true);
  });
});
