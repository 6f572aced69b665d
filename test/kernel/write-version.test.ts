import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/kernel/db/store.js';

// The SQLite store tells a list whether its table's rows may have moved, from the queries Kysely
// compiled (never by reading SQL text), against the ordering columns the list declared.
describe('SQLite write versions of declared lists', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore('sqlite::memory:');
    for (const table of ['listed', 'other']) {
      await store.db.schema.createTable(table).addColumn('id', 'text', (c) => c.primaryKey()).addColumn('account_id', 'text').addColumn('seq', 'integer').addColumn('name', 'text').execute();
    }
    store.declareList!('listed', ['account_id', 'seq']);
  });
  afterAll(() => store.close());

  const moves = async (write: () => Promise<unknown>) => {
    const before = store.writeVersion!('listed');
    await write();
    return store.writeVersion!('listed') !== before;
  };

  it('moves on an insert or a delete of its rows, and on an update of its ordering columns', async () => {
    const { db } = store;
    expect(await moves(() => db.insertInto('listed').values({ id: 'a', account_id: 'x', seq: 1, name: 'one' }).execute())).toBe(true);
    expect(await moves(() => db.updateTable('listed').set({ seq: 2 }).where('id', '=', 'a').execute())).toBe(true);
    expect(await moves(() => db.updateTable('listed as l').set({ account_id: 'y' }).where('l.id', '=', 'a').execute())).toBe(true);
    expect(await moves(() => db.deleteFrom('listed').where('id', '=', 'a').execute())).toBe(true);
  });

  it('stays for an update of other columns, where its ordering columns only filter, and for writes to other tables', async () => {
    const { db } = store;
    await db.insertInto('listed').values({ id: 'b', account_id: 'x', seq: 1, name: 'two' }).execute();
    expect(await moves(() => db.updateTable('listed').set({ name: 'renamed' }).where('account_id', '=', 'x').where('seq', '=', 1).execute())).toBe(false);
    expect(await moves(() => db.insertInto('other').values({ id: 'c', account_id: 'x', seq: 1, name: 'three' }).execute())).toBe(false);
    expect(await moves(() => db.updateTable('other').set({ seq: 5 }).execute())).toBe(false);
    expect(await moves(() => db.selectFrom('listed').selectAll().execute())).toBe(false);
  });

  it('moves for a statement it cannot tell (raw SQL)', async () => {
    expect(await moves(() => sql`update other set name = 'raw'`.execute(store.db))).toBe(true);
  });
});

// What a cache of one table's rows (the credentials every request looks up) relies on: the
// table's version moves with any write to it, by this connection or another process's.
describe('SQLite table versions', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore('sqlite::memory:');
    for (const table of ['kept', 'other']) {
      await store.db.schema.createTable(table).addColumn('id', 'text', (c) => c.primaryKey()).addColumn('name', 'text').execute();
    }
  });
  afterAll(() => store.close());

  const moves = async (write: () => Promise<unknown>) => {
    const before = store.tableVersion!('kept');
    await write();
    return store.tableVersion!('kept') !== before;
  };

  it('moves on every insert, update and delete of the table, and on raw SQL', async () => {
    const { db } = store;
    expect(await moves(() => db.insertInto('kept').values({ id: 'a', name: 'one' }).execute())).toBe(true);
    expect(await moves(() => db.updateTable('kept').set({ name: 'renamed' }).where('id', '=', 'a').execute())).toBe(true);
    expect(await moves(() => db.updateTable('kept as k').set({ name: 'again' }).where('k.id', '=', 'a').execute())).toBe(true);
    expect(await moves(() => db.deleteFrom('kept').where('id', '=', 'a').execute())).toBe(true);
    expect(await moves(() => sql`update other set name = 'raw'`.execute(db))).toBe(true);
  });

  it('stays for reads and for writes to other tables', async () => {
    const { db } = store;
    expect(await moves(() => db.insertInto('other').values({ id: 'b', name: 'two' }).execute())).toBe(false);
    expect(await moves(() => db.updateTable('other').set({ name: 'x' }).execute())).toBe(false);
    expect(await moves(() => db.selectFrom('kept').selectAll().execute())).toBe(false);
  });
});
