import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { GroupCommit } from '../../src/kernel/db/group-commit.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { countDatabaseWrites } from '../helpers/database-writes.js';
import { testStore } from '../helpers/hangar.js';

const postgres = process.env.HANGAR_TEST_ENGINE === 'postgres' && Boolean(process.env.HANGAR_TEST_POSTGRES_URL);

// On PostgreSQL the writes queued together (a burst of creates) run at once in one
// transaction, their statements pipelined, and commit once; if anything in the group fails,
// it is undone and each write runs again alone. What each caller must see is its own outcome,
// as if it had run alone: its own error, its rows kept exactly when it succeeded.
describe.runIf(postgres)('PostgreSQL group commit, pipelined', () => {
  const spec = testStore();
  let kernel: Kernel;
  let group: GroupCommit;
  let writes: ReturnType<typeof countDatabaseWrites>;

  beforeAll(async () => {
    kernel = await Kernel.open({ databaseUrl: spec.url, secretKey: 'hangar-test-sealing-key', timings: 'fast', clock: new Clock({ frozenAt: 0 }), log: { info: vi.fn(), warn: vi.fn(), error: vi.fn() } });
    group = new GroupCommit(kernel.db, 'pipelined');
    await kernel.db.schema.createTable('piped_parents').addColumn('id', 'text', (c) => c.primaryKey()).execute();
    // (checked at the commit: a write the commit refuses)
    await sql`create table piped_things (id text primary key, parent text references piped_parents (id) deferrable initially deferred)`.execute(kernel.db);
    writes = countDatabaseWrites();
  });
  afterEach(async () => {
    await kernel.db.deleteFrom('piped_things').execute();
  });
  afterAll(async () => {
    writes.stop();
    await kernel.close();
    await spec.drop();
  });

  /** The units' grouping key: the rows they contend for, as a caller would name them. */
  const KEY = 'things';
  const things = async () => (await kernel.db.selectFrom('piped_things').select('id').orderBy('id').execute()).map((r) => r.id);
  /** A unit that inserts `id` and answers its transaction's id; `runs` counts its runs. */
  const insert = (id: string, runs: Record<string, number>, parent: string | null = null) => async (trx: any) => {
    runs[id] = (runs[id] ?? 0) + 1;
    const [row] = await trx.insertInto('piped_things').values({ id, parent }).returning(sql<string>`txid_current()::text`.as('txid')).execute();
    return row.txid as string;
  };

  it('runs the units queued together in one transaction, their statements sent in one round trip, committed once', async () => {
    const runs: Record<string, number> = {};
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    writes.count = 0;
    const txids = await Promise.all(ids.map((id) => group.run(insert(id, runs), KEY)));
    // BEGIN and the eight inserts in one socket write, then the COMMIT; alone, two each.
    expect(writes.count).toBe(2);
    expect(new Set(txids).size).toBe(1);
    expect(runs).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
    expect(await things()).toEqual(ids);
  });

  it('groups only units given the same key: others, and those given none, run in transactions of their own', async () => {
    const runs: Record<string, number> = {};
    const txids = await Promise.all([
      group.run(insert('a', runs), KEY),
      group.run(insert('b', runs), KEY),
      group.run(insert('c', runs), 'other things'),
      group.run(insert('d', runs)),
    ]);
    expect(txids[0]).toBe(txids[1]);
    expect(new Set(txids).size).toBe(3);
    expect(await things()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('undoes the group when a unit throws, and runs each again alone: that one rejects with its error, the others keep their rows', async () => {
    const runs: Record<string, number> = {};
    const results = await Promise.allSettled([
      group.run(insert('a', runs), KEY),
      group.run(async (trx) => {
        await insert('b', runs)(trx);
        throw new Error('b changed its mind');
      }, KEY),
      group.run(insert('c', runs), KEY),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('b changed its mind'));
    // Alone, each in a transaction of its own.
    const [a, , c] = results.map((r) => (r.status === 'fulfilled' ? r.value : null));
    expect(a).not.toBe(c);
    expect(runs).toEqual({ a: 2, b: 2, c: 2 });
    expect(await things()).toEqual(['a', 'c']);
  });

  it('undoes the group when a statement fails, even one its unit caught: the others are not lost to a failed transaction', async () => {
    await kernel.db.insertInto('piped_things').values({ id: 'taken', parent: null }).execute();
    const runs: Record<string, number> = {};
    let inserted!: () => void;
    const yInserted = new Promise<void>((resolve) => (inserted = resolve));
    const results = await Promise.all([
      group.run(async (trx) => {
        runs.dup = (runs.dup ?? 0) + 1;
        // Last in its group (after y's insert is answered), so nothing after it fails: a
        // duplicate key still fails the whole transaction on PostgreSQL, and its COMMIT would
        // silently roll y back.
        if (runs.dup === 1) await yInserted;
        return trx
          .insertInto('piped_things')
          .values({ id: 'taken', parent: null })
          .execute()
          .then(
            () => 'inserted',
            () => 'taken already',
          );
      }, KEY),
      group.run(async (trx) => {
        const txid = await insert('y', runs)(trx);
        inserted();
        return txid;
      }, KEY),
    ]);
    expect(results[0]).toBe('taken already');
    expect(runs).toEqual({ dup: 2, y: 2 });
    expect(await things()).toEqual(['taken', 'y']);
  });

  it('runs each unit again alone when the commit refuses a write: only that unit rejects', async () => {
    const runs: Record<string, number> = {};
    const results = await Promise.allSettled([group.run(insert('fine', runs), KEY), group.run(insert('orphan', runs, 'nobody'), KEY)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/foreign key/);
    expect(runs).toEqual({ fine: 2, orphan: 2 });
    expect(await things()).toEqual(['fine']);
  });

  it('keeps a key\'s queue to the pool\'s bounds: a unit beyond the limit, or one that waited too long, is told the store is busy and never runs', async () => {
    const runs: Record<string, number> = {};
    const limited = new GroupCommit(kernel.db, 'pipelined', { queueLimit: 2, queueTimeoutMs: Number.POSITIVE_INFINITY });
    const beyond = await Promise.allSettled(['a', 'b', 'c'].map((id) => limited.run(insert(id, runs), KEY)));
    expect(beyond.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(String((beyond[2] as PromiseRejectedResult).reason)).toMatch(/busy: 2 like writes wait/);

    const brief = new GroupCommit(kernel.db, 'pipelined', { queueLimit: 100, queueTimeoutMs: 50 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = brief.run(async (trx) => {
      await held;
      return insert('d', runs)(trx);
    }, KEY);
    // Queued behind it once it runs (its group has begun by the next turn of the event loop).
    await new Promise((resolve) => setImmediate(resolve));
    const late = brief.run(insert('e', runs), KEY);
    // It waits for longer than the limit however slow the machine: the first goes on only then.
    await new Promise((resolve) => setTimeout(resolve, 120));
    release();
    await expect(first).resolves.toBeTypeOf('string');
    await expect(late).rejects.toThrow(/busy: this write waited \d+ ms for the one before it, more than 50 ms/);
    expect(runs.e).toBeUndefined();
    expect(await things()).toEqual(['a', 'b', 'd']);
  });

  it('tells the states each grouped write entered once, after its commit, whether it ran once or again alone', async () => {
    const told: string[] = [];
    kernel.lifecycle.onEntered((event) => told.push(event.resourceId));
    const make = (id: string, fail = false) =>
      kernel.lifecycle.groupedTransaction(async (trx) => {
        await trx.insertInto('piped_things').values({ id, parent: null }).execute();
        kernel.lifecycle.entered(trx, { kind: 'thing', resourceId: id, accountId: null, from: null, to: 'made', transition: null });
        expect(told).not.toContain(id); // nothing before its commit
        if (fail) throw new Error(`${id} failed`);
        return id;
      }, KEY);
    const together = await Promise.allSettled([make('a'), make('b'), make('c')]);
    expect(together.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(told.sort()).toEqual(['a', 'b', 'c']);
    told.length = 0;
    const again = await Promise.allSettled([make('d'), make('e', true), make('f')]);
    expect(again.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(told.sort()).toEqual(['d', 'f']);
    expect(await things()).toEqual(['a', 'b', 'c', 'd', 'f']);
  });

  it('runs a write again when PostgreSQL ends it to break a deadlock: both writes that met succeed, one of them twice', async () => {
    await kernel.db.insertInto('piped_parents').values([{ id: 'x' }, { id: 'y' }]).onConflict((oc) => oc.column('id').doNothing()).execute();
    const runs: Record<string, number> = {};
    let bothHoldOne: () => void;
    const held = new Promise<void>((resolve) => (bothHoldOne = resolve));
    let holding = 0;
    // Each locks one parent, waits until the other holds its own, then wants the other's.
    const crossing = (id: string, first: string, second: string) => async (trx: any) => {
      runs[id] = (runs[id] ?? 0) + 1;
      await trx.updateTable('piped_parents').set({ id: first }).where('id', '=', first).execute();
      if (++holding === 2) bothHoldOne();
      await held;
      await trx.updateTable('piped_parents').set({ id: second }).where('id', '=', second).execute();
      await trx.insertInto('piped_things').values({ id, parent: first }).execute();
      return id;
    };
    // (no key: each in a transaction of its own, as a write that must wait for row locks runs)
    const results = await Promise.allSettled([group.run(crossing('a', 'x', 'y')), group.run(crossing('b', 'y', 'x'))]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'fulfilled', value: 'b' },
    ]);
    expect(runs.a! + runs.b!).toBe(3);
    expect(await things()).toEqual(['a', 'b']);
  });
});
