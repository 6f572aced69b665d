import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { GroupCommit } from '../../src/kernel/db/group-commit.js';
import { Kernel } from '../../src/kernel/kernel.js';

/** Units of work queued in the same turn share one SQLite transaction, each as if alone. */
describe('group commit', () => {
  let kernel: Kernel;
  beforeEach(async () => {
    kernel = await Kernel.open({ databaseUrl: 'sqlite::memory:', timings: 'fast', clock: new Clock({ frozenAt: 0 }), log: { info: vi.fn(), warn: vi.fn(), error: vi.fn() } });
    await kernel.db.schema.createTable('parents').addColumn('id', 'text', (c) => c.primaryKey()).execute();
    await kernel.db.schema
      .createTable('things')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('parent', 'text', (c) => c.references('parents.id'))
      .execute();
  });
  afterEach(() => kernel.close());

  const names = async () => (await kernel.db.selectFrom('things').select('id').orderBy('id').execute()).map((r) => r.id);

  it('commits the units queued together once; one that throws is undone alone and rejects with its error', async () => {
    const group = new GroupCommit(kernel.db, 'savepoints');
    const transactions = vi.spyOn(kernel.db, 'transaction');
    const insert = (id: string) => (trx: any) => trx.insertInto('things').values({ id, parent: null }).execute().then(() => id);
    const results = await Promise.allSettled([
      group.run(insert('a')),
      group.run(async (trx) => {
        await insert('b')(trx);
        throw new Error('b changed its mind');
      }),
      group.run(async (trx) => {
        // A unit sees what the units before it in the group wrote, as if they had committed.
        const before = await trx.selectFrom('things').select('id').execute();
        await insert('c')(trx);
        return before.map((r: any) => r.id);
      }),
    ]);
    expect(transactions).toHaveBeenCalledTimes(1);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'rejected', reason: new Error('b changed its mind') },
      { status: 'fulfilled', value: ['a'] },
    ]);
    expect(await names()).toEqual(['a', 'c']);
  });

  it('rejects every unit of a group whose commit fails, and keeps none of their writes', async () => {
    const group = new GroupCommit(kernel.db, 'savepoints');
    const results = await Promise.allSettled([
      group.run((trx) => trx.insertInto('things').values({ id: 'fine', parent: null }).execute()),
      group.run(async (trx) => {
        // A deferred foreign key is only checked at the commit, which then fails.
        await sql`pragma defer_foreign_keys = on`.execute(trx);
        await trx.insertInto('things').values({ id: 'orphan', parent: 'nobody' }).execute();
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(await names()).toEqual([]);
  });

  it('runs each unit in a transaction of its own where grouping is off (a pooled store)', async () => {
    const group = new GroupCommit(kernel.db, 'none');
    const transactions = vi.spyOn(kernel.db, 'transaction');
    await Promise.all(['x', 'y'].map((id) => group.run((trx) => trx.insertInto('things').values({ id, parent: null }).execute())));
    expect(transactions).toHaveBeenCalledTimes(2);
    expect(await names()).toEqual(['x', 'y']);
  });
  it("tells the states each grouped write entered once the shared commit is made, and none of a write that was undone", async () => {
    const told: string[] = [];
    kernel.lifecycle.onEntered((event) => told.push(event.resourceId));
    const transactions = vi.spyOn(kernel.db, 'transaction');
    const make = (id: string, fail = false) =>
      kernel.lifecycle.groupedTransaction(async (trx) => {
        await trx.insertInto('things').values({ id, parent: null }).execute();
        kernel.lifecycle.entered(trx, { kind: 'thing', resourceId: id, accountId: null, from: null, to: 'made', transition: null });
        // Nothing is told before the commit.
        expect(told).toEqual([]);
        if (fail) throw new Error(`${id} failed`);
        return id;
      });
    const results = await Promise.allSettled([make('a'), make('b', true), make('c')]);
    expect(transactions).toHaveBeenCalledTimes(1);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(told).toEqual(['a', 'c']);
    expect(await names()).toEqual(['a', 'c']);
  });
});
