import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import type { Transaction } from 'kysely';
import { TakeInTurn, togetherOrInTurn } from '../../src/kernel/db/prepared.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { testStore } from '../helpers/hangar.js';

const log = { info() {}, warn() {}, error() {} };

describe('counters and quotas', () => {
  let kernel: Kernel;
  let a: string;
  let b: string;
  beforeEach(async () => {
    kernel = await Kernel.open({ databaseUrl: 'sqlite::memory:', timings: 'fast', clock: new Clock({ frozenAt: 0 }), log });
    a = (await kernel.tenancy.create('a')).account.id;
    b = (await kernel.tenancy.create('b')).account.id;
  });
  afterEach(() => kernel.close());

  it('counts up and down per account and key', async () => {
    const { counters, db } = kernel;
    expect(await counters.get(db, a, 'things')).toBe(0);
    await counters.add(db, a, 'things', 3);
    await counters.add(db, a, 'things', -1);
    await counters.add(db, b, 'things', 5);
    await counters.add(db, a, 'others', 7);
    expect(await counters.get(db, a, 'things')).toBe(2);
    expect(await counters.get(db, b, 'things')).toBe(5);
    expect(await counters.get(db, a, 'others')).toBe(7);
  });

  it('moves several counts of an account in one go, a count back at zero leaving no row', async () => {
    const { counters, db } = kernel;
    await counters.add(db, a, 'things', 2);
    await counters.addAll(db, a, [
      ['things', 3],
      ['others', 4],
      ['unmoved', 0],
    ]);
    expect([await counters.get(db, a, 'things'), await counters.get(db, a, 'others')]).toEqual([5, 4]);
    await counters.addAll(db, a, [
      ['things', -5],
      ['others', -1],
    ]);
    expect([await counters.get(db, a, 'things'), await counters.get(db, a, 'others'), await counters.get(db, b, 'things')]).toEqual([0, 3, 0]);
    const keys = (await db.selectFrom('counters').select('key').where('account_id', '=', a).execute()).map((r) => r.key).sort();
    expect(keys).toEqual(['others']);
  });

  it('acquires up to the default quota and refuses beyond it, changing nothing', async () => {
    const { counters, db } = kernel;
    counters.defineQuota('vms', 2);
    expect(await counters.limit(db, a, 'vms')).toBe(2);
    expect(await counters.acquire(db, a, 'vms')).toBe(true);
    expect(await counters.acquire(db, a, 'vms')).toBe(true);
    expect(await counters.acquire(db, a, 'vms')).toBe(false);
    expect(await counters.get(db, a, 'vms')).toBe(2);
    // Another account has its own allowance.
    expect(await counters.acquire(db, b, 'vms')).toBe(true);
  });

  it('takes several units at once or none', async () => {
    const { counters, db } = kernel;
    counters.defineQuota('ips', 3);
    expect(await counters.acquire(db, a, 'ips', 2)).toBe(true);
    expect(await counters.acquire(db, a, 'ips', 2)).toBe(false);
    expect(await counters.get(db, a, 'ips')).toBe(2);
    expect(await counters.acquire(db, a, 'ips', 1)).toBe(true);
  });

  it('acquires several counters at once, or names the first without room (counters made on first use, quotas set per account)', async () => {
    const { counters, db } = kernel;
    counters.defineQuota('gpus', 8);
    counters.defineQuota('gib', 100);
    counters.defineQuota('vms', 3);
    const values = async (account: string) => [await counters.get(db, account, 'gpus'), await counters.get(db, account, 'gib'), await counters.get(db, account, 'vms')];
    // As a create takes them: in its transaction, rolled back (with whatever was counted) on a refusal.
    const take = async (account: string, gpus: number, gib: number, vms: number): Promise<string | null> => {
      let refused: string | null = null;
      await db
        .transaction()
        .execute(async (trx) => {
          refused = await counters.acquireAll(trx, account, [
            ['gpus', gpus],
            ['gib', gib],
            ['vms', vms],
          ]);
          if (refused !== null) throw new Error('refused');
        })
        .catch((error: Error) => {
          if (refused === null) throw error;
        });
      return refused;
    };
    // No counter yet: each is made. Then all three have counters and are counted in one statement.
    expect(await take(a, 4, 40, 1)).toBeNull();
    expect(await take(a, 2, 20, 1)).toBeNull();
    expect(await values(a)).toEqual([6, 60, 2]);
    // The first without room is named, in the order given (gib before vms, both short here), and nothing stays counted.
    expect(await take(a, 1, 50, 2)).toBe('gib');
    expect(await take(a, 4, 1, 1)).toBe('gpus');
    expect(await take(a, 1, 1, 2)).toBe('vms');
    expect(await values(a)).toEqual([6, 60, 2]);
    // An operator's quota for the account is what counts; a unit asked for nothing is not counted.
    await counters.setQuota(db, a, 'vms', 10);
    expect(await take(a, 0, 0, 5)).toBeNull();
    expect(await values(a)).toEqual([6, 60, 7]);
    // Another account has its own counters.
    expect(await take(b, 8, 100, 3)).toBeNull();
    expect(await values(b)).toEqual([8, 100, 3]);
    expect(await take(b, 0, 0, 1)).toBe('vms');
    expect(await values(b)).toEqual([8, 100, 3]);
  });

  it("lets an operator set one account's limit, and clear it back to the default", async () => {
    const { counters, db } = kernel;
    counters.defineQuota('vms', 1);
    await counters.setQuota(db, a, 'vms', 3);
    expect(await counters.limit(db, a, 'vms')).toBe(3);
    expect(await counters.limit(db, b, 'vms')).toBe(1);
    for (let i = 0; i < 3; i++) expect(await counters.acquire(db, a, 'vms')).toBe(true);
    expect(await counters.acquire(db, a, 'vms')).toBe(false);

    await counters.setQuota(db, a, 'vms', 0);
    expect(await counters.acquire(db, a, 'vms')).toBe(false);
    await counters.setQuota(db, a, 'vms', null);
    expect(await counters.limit(db, a, 'vms')).toBe(1);

    counters.setDefaultQuota('vms', 10);
    expect(await counters.limit(db, b, 'vms')).toBe(10);
  });

  it('has no limit for a key without a quota', async () => {
    const { counters, db } = kernel;
    expect(await counters.limit(db, a, 'unlimited')).toBe(Number.MAX_SAFE_INTEGER);
    expect(await counters.acquire(db, a, 'unlimited', 1_000_000)).toBe(true);
  });

  it('rolls back with the transaction it ran in', async () => {
    const { counters, db } = kernel;
    counters.defineQuota('vms', 5);
    await expect(
      db.transaction().execute(async (trx) => {
        expect(await counters.acquire(trx, a, 'vms')).toBe(true);
        throw new Error('create failed later');
      }),
    ).rejects.toThrow('create failed later');
    expect(await counters.get(db, a, 'vms')).toBe(0);
  });
});

describe('stock', () => {
  let kernel: Kernel;
  beforeEach(async () => {
    kernel = await Kernel.open({ databaseUrl: 'sqlite::memory:', timings: 'fast', clock: new Clock({ frozenAt: 0 }), log });
  });
  afterEach(() => kernel.close());

  it('sells up to the total, takes it back on release, and never goes below zero', async () => {
    const { capacity, db } = kernel;
    await capacity.seed(db, 'c', [{ region: 'R1', sku: 'gpu', total: 2 }]);
    expect(await capacity.acquire(db, 'c', 'R1', 'gpu')).toBe(true);
    expect(await capacity.acquire(db, 'c', 'R1', 'gpu')).toBe(true);
    expect(await capacity.acquire(db, 'c', 'R1', 'gpu')).toBe(false);
    expect(await capacity.acquire(db, 'c', 'R2', 'gpu')).toBe(false); // not stocked there
    await capacity.release(db, 'c', 'R1', 'gpu');
    expect(await capacity.list(db, 'c')).toEqual([{ region: 'R1', sku: 'gpu', total: 2, used: 1 }]);
    await capacity.release(db, 'c', 'R1', 'gpu');
    await capacity.release(db, 'c', 'R1', 'gpu');
    expect((await capacity.list(db, 'c', 'R1'))[0]!.used).toBe(0);
  });

  it('keeps an operator-set total when the catalog seeds again', async () => {
    const { capacity, db } = kernel;
    await capacity.seed(db, 'c', [{ region: 'R1', sku: 'gpu', total: 10 }]);
    await capacity.acquire(db, 'c', 'R1', 'gpu');
    await capacity.setTotal(db, 'c', 'R1', 'gpu', 1);
    await capacity.seed(db, 'c', [{ region: 'R1', sku: 'gpu', total: 10 }]);
    expect(await capacity.list(db, 'c')).toEqual([{ region: 'R1', sku: 'gpu', total: 1, used: 1 }]);
    expect(await capacity.acquire(db, 'c', 'R1', 'gpu')).toBe(false);
  });

  it('seeds a catalog of more lines than one statement takes, keeping the lines already there', async () => {
    const { capacity, db } = kernel;
    await capacity.setTotal(db, 'c', 'R7', 'gpu-7', 3);
    const lines = Array.from({ length: 1201 }, (_, i) => ({ region: `R${i}`, sku: `gpu-${i}`, total: i + 1 }));
    await capacity.seed(db, 'c', lines);
    const stock = await capacity.list(db, 'c');
    expect(stock).toHaveLength(1201);
    expect(stock.find((line) => line.region === 'R1200')).toEqual({ region: 'R1200', sku: 'gpu-1200', total: 1201, used: 0 });
    expect(stock.find((line) => line.region === 'R7')).toEqual({ region: 'R7', sku: 'gpu-7', total: 3, used: 0 });
    expect(await capacity.list(db, 'other')).toEqual([]);
  });
});

// A create's last takes (its counts, then its stock) on the suite's engine: on PostgreSQL sent
// together, and a create whose counts fall short is done again in turn, so that no two creates
// lock the rows in opposite orders.
describe('counts, then a row every create takes (acquireAllThen)', () => {
  const spec = testStore();
  let kernel: Kernel;
  let a: string;
  beforeEach(async () => {
    kernel = await Kernel.open({ databaseUrl: spec.url, secretKey: 'hangar-test-sealing-key', timings: 'fast', clock: new Clock({ frozenAt: 0 }), log });
    a = (await kernel.tenancy.create('a')).account.id;
  });
  afterEach(async () => {
    await kernel.close();
    await spec.drop();
  });
  const inTransaction = <T>(fn: (trx: Transaction<any>) => Promise<T>) => kernel.db.transaction().execute(fn);
  const postgres = () => kernel.store.engine === 'postgres';

  it('counts and runs `then` when every count has room, in either mode', async () => {
    const { counters } = kernel;
    await counters.add(kernel.db, a, 'vms', 1); // (the account's counter exists)
    for (const inTurn of [false, true]) {
      const taken = await inTransaction((trx) => counters.acquireAllThen(trx, inTurn, a, [['vms', 1]], async () => 'stock taken'));
      expect(taken).toEqual({ refused: null, then: 'stock taken' });
    }
    expect(await counters.get(kernel.db, a, 'vms')).toBe(3);
  });

  it('asks for the create again in turn when a count falls short together (PostgreSQL); in turn, refuses without running `then`', async () => {
    const { counters } = kernel;
    await counters.setQuota(kernel.db, a, 'vms', 1);
    await counters.add(kernel.db, a, 'vms', 1); // (full)
    const ran: string[] = [];
    const then = async () => {
      ran.push('then');
      return true;
    };
    const together = inTransaction((trx) => counters.acquireAllThen(trx, false, a, [['vms', 1]], then));
    if (postgres()) {
      await expect(together).rejects.toBeInstanceOf(TakeInTurn);
      expect(ran).toEqual(['then']); // (sent with the count, undone with the transaction)
    } else {
      expect(await together).toEqual({ refused: 'vms' }); // (SQLite: one after the other anyway)
    }
    ran.length = 0;
    expect(await inTransaction((trx) => counters.acquireAllThen(trx, true, a, [['vms', 1]], then))).toEqual({ refused: 'vms' });
    expect(ran).toEqual([]);
    expect(await counters.get(kernel.db, a, 'vms')).toBe(1);
  });

  it("asks for the account's first count in turn (PostgreSQL), which makes its counter", async () => {
    const { counters } = kernel;
    const attempt = inTransaction((trx) => counters.acquireAllThen(trx, false, a, [['disks', 2]], async () => true));
    if (postgres()) await expect(attempt).rejects.toBeInstanceOf(TakeInTurn);
    else expect(await attempt).toEqual({ refused: null, then: true });
    const again = await togetherOrInTurn((inTurn) => inTransaction((trx) => counters.acquireAllThen(trx, inTurn, a, [['disks', 2]], async () => true)));
    expect(again).toEqual({ refused: null, then: true });
    expect(await counters.get(kernel.db, a, 'disks')).toBe(postgres() ? 2 : 4);
  });
});
