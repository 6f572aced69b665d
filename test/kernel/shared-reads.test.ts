import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isStoreUnavailable } from '../../src/kernel/db/errors.js';
import { prepared } from '../../src/kernel/db/prepared.js';
import { openStore, type Store } from '../../src/kernel/db/store.js';
import { countDatabaseWrites } from '../helpers/database-writes.js';
import { testStore } from '../helpers/hangar.js';

const postgres = process.env.HANGAR_TEST_ENGINE === 'postgres' && Boolean(process.env.HANGAR_TEST_POSTGRES_URL);

// On PostgreSQL, prepared reads made outside a transaction go on two connections shared by
// every request, pipelined (shared-reads.ts): what a caller must still see is its own answer,
// every write committed before it asked, and only its own failure.
describe.runIf(postgres)('PostgreSQL reads on shared connections', () => {
  const spec = testStore();
  let store: Store;
  /** The backend that answers, and what it was asked (a cast that fails for what is not a number). */
  let backend: (executor: any, value: string) => Promise<{ pid: number; n: number }[]>;
  let things: (executor: any) => Promise<{ id: string }[]>;

  beforeAll(async () => {
    // (eight connections: two kept for shared reads, six pooled)
    store = await openStore(spec.url, { size: 8 });
    await store.db.schema.createTable('shared_things').addColumn('id', 'text', (c) => c.primaryKey()).execute();
    backend = prepared((value) => store.db.selectNoFrom([sql<number>`pg_backend_pid()`.as('pid'), sql<number>`${value}::int`.as('n')]));
    things = prepared(() => store.db.selectFrom('shared_things').select('id').orderBy('id'), 0);
  });
  afterAll(async () => {
    await store?.close();
    await spec.drop();
  });

  it('sends the reads asked for at once on the shared connections, in one socket write each, every caller its own answer', async () => {
    // (both connections open, the statement named on them: the second takes reads once the first has eight in flight)
    await Promise.all(Array.from({ length: 9 }, () => backend(store.db, '0')));
    const writes = countDatabaseWrites();
    try {
      // A few reads at once: one connection, one write.
      const few = await Promise.all(Array.from({ length: 5 }, (_, i) => backend(store.db, String(i))));
      expect(few.map(([row]) => row!.n)).toEqual([0, 1, 2, 3, 4]);
      expect(new Set(few.map(([row]) => row!.pid)).size).toBe(1);
      expect(writes.count).toBe(1);
      // More than one connection takes: both, one write each.
      writes.count = 0;
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => backend(store.db, String(i))));
      expect(many.map(([row]) => row!.n)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(new Set(many.map(([row]) => row!.pid)).size).toBe(2);
      expect(writes.count).toBe(2);
    } finally {
      writes.stop();
    }
    expect(store.poolStats!()).toMatchObject({ size: 6, shared: 2 });
  });

  it('reads what a transaction committed before the read was asked for, and a transaction reads its own writes on its connection', async () => {
    await store.db.transaction().execute(async (trx) => {
      await trx.insertInto('shared_things').values({ id: 'a' }).execute();
      // (inside the transaction: its connection, which sees the row not yet committed)
      expect(await things(trx)).toEqual([{ id: 'a' }]);
      expect(await things(store.db)).toEqual([]);
    });
    expect(await things(store.db)).toEqual([{ id: 'a' }]);
  });

  it('fails only the read that failed: the reads sent with it are answered', async () => {
    const results = await Promise.allSettled(['1', 'not a number', '3'].map((value) => backend(store.db, value)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: '22P02' });
    expect((results[2] as PromiseFulfilledResult<{ n: number }[]>).value[0]!.n).toBe(3);
  });

  it('takes a pooled connection for a read once every shared connection has its limit in flight', async () => {
    // (32 in flight on each fill both shared connections; the reads beyond them go to the pool's six)
    const slow = prepared((value) => store.db.selectNoFrom([sql<number>`pg_backend_pid()`.as('pid'), sql<number>`${value}::int + 0 * length(pg_sleep(0.02)::text)`.as('n')]));
    const answers = await Promise.all(Array.from({ length: 80 }, () => slow(store.db, '1')));
    expect(answers.every(([row]) => row!.n === 1)).toBe(true);
    expect(new Set(answers.map(([row]) => row!.pid)).size).toBeGreaterThan(2);
  });

  it('opens another connection after losing one: the reads in flight on it fail as the store unreachable, the next ones are answered', async () => {
    const { pid } = (await backend(store.db, '0'))[0]!;
    const outside = new pg.Client({ connectionString: process.env.HANGAR_TEST_POSTGRES_URL });
    await outside.connect();
    try {
      await outside.query('select pg_terminate_backend(pid) from pg_stat_activity where pid = any($1)', [[pid]]);
    } finally {
      await outside.end();
    }
    // Until the client has heard that its connection is gone, a read sent on it fails as unreachable.
    const pids = new Set<number>();
    for (let i = 0; i < 10; i++) {
      try {
        pids.add((await backend(store.db, '0'))[0]!.pid);
      } catch (error) {
        expect(isStoreUnavailable(error), String(error)).toBe(true);
      }
    }
    expect(pids.size).toBeGreaterThan(0);
    expect(pids.has(pid)).toBe(false);
  });
});
