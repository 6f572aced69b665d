import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { heldWrite, prepared, together } from '../../src/kernel/db/prepared.js';
import { openStore, type Store } from '../../src/kernel/db/store.js';
import { countDatabaseWrites } from '../helpers/database-writes.js';
import { testStore } from '../helpers/hangar.js';

const postgres = process.env.HANGAR_TEST_ENGINE === 'postgres' && Boolean(process.env.HANGAR_TEST_POSTGRES_URL);

// On PostgreSQL a transaction's BEGIN, and the writes whose answers nobody reads (heldWrite),
// are held by the client and written with the next statement the transaction waits for: one
// socket write, where each was a round trip. What a client of the store must still see: the
// same rows, the same failures, nothing written by a transaction that failed.
describe.runIf(postgres)('PostgreSQL statements held for the next round trip', () => {
  const spec = testStore();
  let store: Store;
  let db: Kysely<any>;
  let put: (executor: Kysely<any>, id: string) => Promise<void>;
  let count: (executor: Kysely<any>) => Promise<{ n: number }[]>;
  let writes: ReturnType<typeof countDatabaseWrites>;

  beforeAll(async () => {
    store = await openStore(spec.url, { size: 2 });
    db = store.db;
    // (a table no other test uses: held statements are known by their text, per process)
    await db.schema.createTable('held_things').addColumn('id', 'text', (c) => c.primaryKey()).execute();
    put = heldWrite((id) => db.insertInto('held_things').values({ id })) as typeof put;
    count = prepared<{ n: number }>(() => db.selectFrom('held_things').select((eb) => eb.fn.countAll<number>().as('n'))) as typeof count;
    writes = countDatabaseWrites();
  });
  afterEach(async () => {
    await db.deleteFrom('held_things').execute();
  });
  afterAll(async () => {
    writes.stop();
    await store.close();
    await spec.drop();
  });

  const rows = async () => (await db.selectFrom('held_things').select('id').orderBy('id').execute()).map((r) => r.id);

  it('sends BEGIN and held writes with the next statement, which sees them; the last ones go with COMMIT', async () => {
    writes.count = 0;
    const seen = await db.transaction().execute(async (trx) => {
      await put(trx as Kysely<any>, 'a');
      await put(trx as Kysely<any>, 'b');
      const [{ n }] = (await count(trx as Kysely<any>)) as [{ n: number }];
      await put(trx as Kysely<any>, 'c');
      return n;
    });
    expect(Number(seen)).toBe(2);
    expect(writes.count).toBe(2); // BEGIN, a, b and the count; then c and COMMIT
    expect(await rows()).toEqual(['a', 'b', 'c']);
  });

  it('never holds a write whose SQL is also a prepared query whose answer is read', async () => {
    // The client knows held writes by their text: the same text prepared to be answered wins.
    // (Not `put`'s text: the sets are per process, and the other tests rely on `put` being held.)
    const insert = (id: unknown) => db.insertInto('held_things').values({ id: id as string }).onConflict((oc) => oc.column('id').doNothing());
    const heldPut = heldWrite(insert) as typeof put;
    const answeredPut = prepared(insert);
    writes.count = 0;
    await db.transaction().execute(async (trx) => {
      await heldPut(trx as Kysely<any>, 'x');
      expect(writes.count).toBe(0); // held: nothing written yet
    });
    await answeredPut(db, 'y');
    writes.count = 0;
    await db.transaction().execute(async (trx) => {
      await heldPut(trx as Kysely<any>, 'z');
      expect(writes.count).toBe(1); // BEGIN and z, written at once
    });
    expect(await rows()).toEqual(['x', 'y', 'z']);
  });

  it('writes statements run together at once, and gives each its own answer', async () => {
    writes.count = 0;
    const answers = await db.transaction().execute(async (trx) => {
      await put(trx as Kysely<any>, 'a');
      return together<[{ n: number }[], { n: number }[]]>(trx, (x) => count(x as Kysely<any>), async (x) => {
        await put(x as Kysely<any>, 'b'); // (outside the transaction's own turn: written at once, before the count)
        return count(x as Kysely<any>);
      });
    });
    expect(answers.map((rows) => Number(rows[0]!.n))).toEqual([1, 2]);
    expect(writes.count).toBe(2); // BEGIN, a, the first count, b and the second count; then COMMIT
    expect(await rows()).toEqual(['a', 'b']);
  });

  it('fails the transaction when a held write fails, and writes none of it', async () => {
    await put(db, 'taken'); // (outside a transaction: written at once)
    expect(await rows()).toEqual(['taken']);
    const attempt = db.transaction().execute(async (trx) => {
      await put(trx as Kysely<any>, 'fresh');
      await put(trx as Kysely<any>, 'taken'); // a duplicate key, found out at the next statement
      await count(trx as Kysely<any>);
    });
    await expect(attempt).rejects.toMatchObject({ code: '23505' });
    // The same as a failure found at COMMIT.
    await expect(
      db.transaction().execute(async (trx) => {
        await put(trx as Kysely<any>, 'fresh');
        await put(trx as Kysely<any>, 'taken');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await rows()).toEqual(['taken']);
    // The connections are fine afterwards.
    await db.transaction().execute(async (trx) => put(trx as Kysely<any>, 'after'));
    expect(await rows()).toEqual(['after', 'taken']);
  });

  it('sends nothing for a transaction that ran nothing, or rolled back before its first answer was needed', async () => {
    writes.count = 0;
    await db.transaction().execute(async () => undefined);
    await expect(
      db.transaction().execute(async (trx) => {
        await put(trx as Kysely<any>, 'never');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(writes.count).toBe(0);
    expect(await rows()).toEqual([]);
  });
});
