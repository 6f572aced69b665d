import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { byShape, paddedList, prepared, preparedWrite } from '../../src/kernel/db/prepared.js';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { testStore } from '../helpers/hangar.js';
import { gate } from '../helpers/gate.js';

// Prepared queries run through Kysely outside a transaction, and (on SQLite) straight on the
// connection inside one: either way they must behave as the query Kysely would have run.
describe('prepared queries', () => {
  let kernel: Kernel;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    const store = testStore();
    drop = store.drop;
    kernel = await Kernel.open({ databaseUrl: store.url, secretKey: 'hangar-test-sealing-key', timings: 'fast', clock: new Clock({ frozenAt: 0 }), log: { info: vi.fn(), warn: vi.fn(), error: vi.fn() } });
    await kernel.db.schema
      .createTable('things')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('n', 'integer', (c) => c.notNull())
      .execute();
  });
  afterEach(async () => {
    await kernel.close();
    await drop();
  });

  const insert = () => preparedWrite((id, n) => kernel.db.insertInto('things').values({ id, n }));
  const find = () => prepared<{ id: string; n: number }>((id) => kernel.db.selectFrom('things').selectAll().where('id', '=', id));
  const bump = () => prepared<{ n: number }>((id) => kernel.db.updateTable('things').set((eb) => ({ n: eb('n', '+', 1) })).where('id', '=', id).returning('n'));

  it('reads, writes and counts changed rows alike in and out of a transaction', async () => {
    const [add, get, inc] = [insert(), find(), bump()];
    expect(await add(kernel.db, 'a', 1)).toBe(1);
    await kernel.db.transaction().execute(async (trx) => {
      expect(await add(trx, 'b', 2)).toBe(1);
      expect(await get(trx, 'a')).toEqual([{ id: 'a', n: 1 }]);
      expect(await get(trx, 'b')).toEqual([{ id: 'b', n: 2 }]);
      expect(await inc(trx, 'b')).toEqual([{ n: 3 }]);
      expect(await inc(trx, 'missing')).toEqual([]);
    });
    expect(await get(kernel.db, 'b')).toEqual([{ id: 'b', n: 3 }]);
    const many = byShape<number, { id: string }>((n) => [n, (...ids) => kernel.db.selectFrom('things').select('id').where('id', 'in', ids).orderBy('id')]);
    const ids = paddedList(['a', 'b', 'c']);
    expect(ids).toEqual(['a', 'b', 'c', 'c']);
    expect(await kernel.db.transaction().execute((trx) => many(ids.length)(trx, ...ids))).toEqual([{ id: 'a' }, { id: 'b' }]);
  });

  it("runs inside the caller's transaction: a rollback undoes it, a failure rejects", async () => {
    const [add, get] = [insert(), find()];
    await expect(
      kernel.db.transaction().execute(async (trx) => {
        await add(trx, 'x', 1);
        expect(await get(trx, 'x')).toHaveLength(1);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await get(kernel.db, 'x')).toEqual([]);

    await add(kernel.db, 'y', 1);
    await expect(kernel.db.transaction().execute((trx) => add(trx, 'y', 2))).rejects.toThrow(/unique|duplicate/i);
    expect(await get(kernel.db, 'y')).toEqual([{ id: 'y', n: 1 }]);
  });

  it('returns rows with every column in order, a repeated name holding the later value, and new columns once added', async () => {
    await kernel.db.schema.createTable('others').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('n', 'integer').execute();
    await kernel.db.insertInto('things').values([{ id: 'a', n: 1 }, { id: 'b', n: 2 }]).execute();
    await kernel.db.insertInto('others').values({ id: 'a', n: 10 }).execute();
    const everything = () => kernel.db.selectFrom('things').selectAll().orderBy('id').execute();
    expect(await everything()).toEqual([{ id: 'a', n: 1 }, { id: 'b', n: 2 }]);
    const joined = await sql<Record<string, unknown>>`select t.id, t.n, o.n, o.id as other from things t join others o on o.id = t.id`.execute(kernel.db);
    expect(joined.rows).toEqual([{ id: 'a', n: 10, other: 'a' }]);
    expect(Object.keys(joined.rows[0]!)).toEqual(['id', 'n', 'other']);
    expect(Object.getPrototypeOf(joined.rows[0])).toBe(Object.prototype);

    await kernel.db.schema.alterTable('things').addColumn('label', 'text', (c) => c.notNull().defaultTo('-')).execute();
    expect(await everything()).toEqual([{ id: 'a', n: 1, label: '-' }, { id: 'b', n: 2, label: '-' }]);
    const [row] = await kernel.db.transaction().execute((trx) => find()(trx, 'b'));
    expect(row).toEqual({ id: 'b', n: 2, label: '-' });
  });

  it('never shows a read outside a transaction what an open transaction wrote, and runs it once that transaction ended', async () => {
    const [add, get] = [insert(), find()];
    await add(kernel.db, 'z', 1);
    const [held, release] = gate();
    const [wrote, written] = gate();
    const transaction = kernel.db.transaction().execute(async (trx) => {
      await add(trx, 'w', 1);
      written();
      await held; // (open, with an uncommitted row, while the read below is asked)
      throw new Error('rolled back');
    });
    await wrote;
    const outside = get(kernel.db, 'w');
    const before = get(kernel.db, 'z');
    release();
    await expect(transaction).rejects.toThrow('rolled back');
    expect(await outside).toEqual([]);
    expect(await before).toEqual([{ id: 'z', n: 1 }]);
    expect(await get(kernel.db, 'z')).toEqual([{ id: 'z', n: 1 }]);
  });

  it('moves the store read version with every write, in a transaction or not', async () => {
    const version = kernel.store.readVersion;
    if (version === undefined) return; // (PostgreSQL keeps no read version)
    const add = insert();
    const before = version();
    await kernel.db.transaction().execute((trx) => add(trx, 'v', 1));
    const after = version();
    expect(after).not.toBe(before);
    await find()(kernel.db, 'v');
    await kernel.db.transaction().execute((trx) => find()(trx, 'v'));
    expect(version()).toBe(after); // reads move nothing
  });

  it('gives a limit the value it is run with, in and out of a transaction; SQLite writes it into the statement', async () => {
    await kernel.db.insertInto('things').values(['a', 'b', 'c', 'd', 'e'].map((id, n) => ({ id, n }))).execute();
    const first = prepared<{ id: string }>((n) => kernel.db.selectFrom('things').select('id').orderBy('id').limit(n));
    const fromN = prepared<{ id: string }>((least, n) => kernel.db.selectFrom('things').select('id').where('n', '>=', least).orderBy('id').limit(n));
    // (a limit inside a subquery, as the list pages' are)
    const lastOfFirst = prepared<{ id: string }>((n) => kernel.db.selectFrom(kernel.db.selectFrom('things').select('id').orderBy('id').limit(n).as('t')).select('t.id').orderBy('t.id', 'desc').limit(1));
    const prepare = vi.spyOn(Database.prototype, 'prepare');
    const seen: string[] = [];
    try {
      expect(await first(kernel.db, 1)).toEqual([{ id: 'a' }]);
      expect(await first(kernel.db, 3)).toEqual([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
      await kernel.db.transaction().execute(async (trx) => {
        expect(await first(trx, 2)).toEqual([{ id: 'a' }, { id: 'b' }]);
        expect(await first(trx, 1)).toEqual([{ id: 'a' }]);
        expect(await fromN(trx, 2, 2)).toEqual([{ id: 'c' }, { id: 'd' }]);
      });
      expect(await fromN(kernel.db, 3, 5)).toEqual([{ id: 'd' }, { id: 'e' }]);
      expect(await lastOfFirst(kernel.db, 3)).toEqual([{ id: 'c' }]);
      expect(await kernel.db.transaction().execute((trx) => lastOfFirst(trx, 4))).toEqual([{ id: 'd' }]);
      expect(await kernel.db.selectFrom('things').select('id').orderBy('id', 'desc').limit(2).execute()).toEqual([{ id: 'e' }, { id: 'd' }]);
      seen.push(...prepare.mock.calls.map(([text]) => String(text)));
    } finally {
      prepare.mockRestore();
    }
    if (kernel.store.engine === 'sqlite') {
      expect(seen.filter((text) => /limit \?/i.test(text))).toEqual([]);
      expect(seen.filter((text) => /limit [0-9]/i.test(text)).length).toBeGreaterThanOrEqual(7);
    }
  });
});
