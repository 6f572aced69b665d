import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { LeaseConflict, formatIpv4, parseCidr } from '../../src/kernel/ipam.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { testStore } from '../helpers/hangar.js';
import { gate } from '../helpers/gate.js';

const log = { info() {}, warn() {}, error() {} };

describe('CIDR helpers', () => {
  it('parses a CIDR into its network address and size', () => {
    expect(parseCidr('10.0.0.0/29')).toEqual({ base: 10 * 2 ** 24, size: 8, prefix: 29 });
    // A host address inside the block is brought down to the network address.
    expect(parseCidr('192.168.1.77/24')).toEqual({ base: parseCidr('192.168.1.0/24').base, size: 256, prefix: 24 });
    expect(parseCidr('0.0.0.0/0').size).toBe(2 ** 32);
  });

  it.each(['10.0.0.0', '10.0.0/24', '256.0.0.0/8', '10.0.0.0/33', 'fe80::/64', ''])('refuses %j', (cidr) => {
    expect(() => parseCidr(cidr)).toThrow(RangeError);
  });

  it('formats addresses back', () => {
    expect(formatIpv4(parseCidr('10.96.3.4/32').base)).toBe('10.96.3.4');
    expect(formatIpv4(2 ** 32 - 1)).toBe('255.255.255.255');
  });
});

// Both run on the suite's engine (PostgreSQL writes a deferred transaction's leases as arrays).
describe('address pools', () => {
  let kernel: Kernel;
  let store: ReturnType<typeof testStore>;
  beforeEach(async () => {
    store = testStore();
    kernel = await Kernel.open({ databaseUrl: store.url, secretKey: 'hangar-test-sealing-key', timings: 'fast', clock: new Clock({ frozenAt: 0 }), log });
  });
  afterEach(async () => {
    await kernel.close();
    await store.drop();
  });

  it('hands out distinct host addresses, never .0, .1 or .255', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'p', '10.1.0.0/22');
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const address = await kernel.ipam.allocate(kernel.db, 'p', `owner-${i}`);
      expect(address).not.toBeNull();
      seen.add(address!);
    }
    expect(seen.size).toBe(600);
    for (const address of seen) {
      expect(address).toMatch(/^10\.1\.[0-3]\.\d+$/);
      expect(address).not.toMatch(/\.(0|255)$/);
      expect(address).not.toBe('10.1.0.1');
    }
  });

  it('returns null once a /29 is exhausted, and reuses a released address', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'small', '192.0.2.8/29');
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await kernel.ipam.allocate(kernel.db, 'small', `o${i}`))!);
    expect(got).toEqual(['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14']);
    expect(await kernel.ipam.allocate(kernel.db, 'small', 'late')).toBeNull();

    await kernel.ipam.release(kernel.db, 'o2', [['small', '192.0.2.12']]);
    expect(await kernel.ipam.allocate(kernel.db, 'small', 'late')).toBe('192.0.2.12');
    expect(await kernel.ipam.allocate(kernel.db, 'small', 'later')).toBeNull();
  });

  it('releases the addresses the owner holds and nothing else', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'a', '198.51.100.0/29');
    await kernel.ipam.ensurePool(kernel.db, 'b', '203.0.113.0/29');
    const xa = await kernel.ipam.allocate(kernel.db, 'a', 'x');
    const xb = await kernel.ipam.allocate(kernel.db, 'b', 'x');
    const ya = await kernel.ipam.allocate(kernel.db, 'a', 'y');
    // y's address named under x (as an instance names a floating IP's address it shows), and
    // none at all, change nothing.
    await kernel.ipam.release(kernel.db, 'x', [['a', ya], ['b', null]]);
    expect(await kernel.db.selectFrom('ip_leases').select('owner').orderBy('owner').execute()).toEqual([{ owner: 'x' }, { owner: 'x' }, { owner: 'y' }]);
    await kernel.ipam.release(kernel.db, 'x', [['a', xa], ['b', xb]]);
    const leases = await kernel.db.selectFrom('ip_leases').select(['pool', 'owner']).execute();
    expect(leases).toEqual([{ pool: 'a', owner: 'y' }]);
  });

  it('keeps the first definition of a pool and refuses a bad or unknown one', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'p', '192.0.2.0/29');
    await kernel.ipam.ensurePool(kernel.db, 'p', '10.0.0.0/8');
    expect(await kernel.ipam.allocate(kernel.db, 'p', 'o')).toMatch(/^192\.0\.2\./);
    await expect(kernel.ipam.ensurePool(kernel.db, 'bad', 'nonsense')).rejects.toThrow(RangeError);
    await expect(kernel.ipam.allocate(kernel.db, 'missing', 'o')).rejects.toThrow(/unknown address pool/);
  });

  it('adds many pools at once, keeping those already defined, and adds none if one is bad', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'p', '192.0.2.0/29');
    await kernel.ipam.ensurePools(kernel.db, [
      { name: 'p', cidr: '10.0.0.0/8' },
      { name: 'q', cidr: '198.51.100.0/30' },
    ]);
    expect(await kernel.ipam.allocate(kernel.db, 'p', 'o')).toMatch(/^192\.0\.2\./);
    expect(await kernel.ipam.allocate(kernel.db, 'q', 'o')).toMatch(/^198\.51\.100\./);
    await expect(kernel.ipam.ensurePools(kernel.db, [{ name: 'r', cidr: '203.0.113.0/30' }, { name: 'bad', cidr: 'nonsense' }])).rejects.toThrow(RangeError);
    expect((await kernel.db.selectFrom('ip_pools').select('name').orderBy('name').execute()).map((row) => row.name)).toEqual(['p', 'q']);
  });
});

// A batch of transitions allocates in memory and writes its leases at the end (Ipam.defer).
describe('deferred allocation', () => {
  let kernel: Kernel;
  let store: ReturnType<typeof testStore>;
  beforeEach(async () => {
    store = testStore();
    kernel = await Kernel.open({ databaseUrl: store.url, secretKey: 'hangar-test-sealing-key', timings: 'fast', clock: new Clock({ frozenAt: 0 }), log });
  });
  afterEach(async () => {
    await kernel.close();
    await store.drop();
  });

  const leases = async (pool: string) =>
    (await kernel.db.selectFrom('ip_leases').select(['address', 'owner']).where('pool', '=', pool).orderBy('address').execute()).map((l) => [formatIpv4(Number(l.address)), l.owner]);
  /** A deferred transaction of `on` (this test's kernel unless said), as the lifecycle engine runs a batch. */
  async function deferred<T>(work: (trx: any) => Promise<T>, on: Kernel = kernel, afterFlush?: () => Promise<void>): Promise<T> {
    let scoped: any;
    let committed = false;
    try {
      const result = await on.db.transaction().execute(async (trx) => {
        scoped = trx;
        on.ipam.defer(trx);
        const result = await work(trx);
        await on.ipam.flush(trx);
        await afterFlush?.();
        return result;
      });
      committed = true;
      return result;
    } finally {
      on.ipam.end(scoped, committed);
    }
  }

  it('hands out what allocating one by one would, skipping leased addresses, and writes leases and cursor on flush', async () => {
    for (const pool of ['one', 'many']) await kernel.ipam.ensurePool(kernel.db, pool, '10.20.0.0/16');
    // Leases already held, a stretch (1,024 addresses) and more ahead of the cursor.
    for (const pool of ['one', 'many']) for (const address of ['10.20.0.3', '10.20.0.4', '10.20.4.10', '10.20.4.11']) await kernel.ipam.claim(kernel.db, pool, address, 'static');
    await kernel.db.updateTable('ip_pools').set({ cursor: 1020 }).execute();

    const oneByOne: (string | null)[] = [];
    for (let i = 0; i < 40; i++) oneByOne.push(await kernel.ipam.allocate(kernel.db, 'one', `o${i}`));
    const together = await deferred(async (trx) => {
      const got: (string | null)[] = [];
      for (let i = 0; i < 40; i++) got.push(await kernel.ipam.allocate(trx, 'many', `o${i}`));
      // Nothing is written before the flush.
      expect(await trx.selectFrom('ip_leases').select('owner').where('pool', '=', 'many').where('owner', '!=', 'static').execute()).toEqual([]);
      return got;
    });
    expect(together).toEqual(oneByOne);
    expect(together).not.toContain('10.20.4.10');
    expect(together).not.toContain('10.20.4.11');
    expect(await leases('many')).toEqual(await leases('one'));
    const cursors = await kernel.db.selectFrom('ip_pools').select(['name', 'cursor']).orderBy('name').execute();
    expect(Number(cursors[0]!.cursor)).toBe(Number(cursors[1]!.cursor));
  });

  it('lets a release in the same transaction see the leases it has not written yet', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'p', '192.0.2.0/24');
    await deferred(async (trx) => {
      const a = await kernel.ipam.allocate(trx, 'p', 'a');
      const b = await kernel.ipam.allocate(trx, 'p', 'b');
      await kernel.ipam.release(trx, 'a', [['p', a]]);
      expect(await kernel.ipam.allocate(trx, 'p', 'c')).not.toBe(b);
    });
    expect(await leases('p')).toEqual([
      ['192.0.2.3', 'b'],
      ['192.0.2.4', 'c'],
    ]);
  });

  it('refuses to flush over an address leased meanwhile, and the transaction leaves nothing behind', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'p', '192.0.2.0/24');
    const attempt = deferred(async (trx) => {
      expect(await kernel.ipam.allocate(trx, 'p', 'mine')).toBe('192.0.2.2');
      // Another writer takes the address (as a claim on another connection would).
      await trx.insertInto('ip_leases').values({ pool: 'p', address: parseCidr('192.0.2.2/32').base, owner: 'theirs' }).execute();
    });
    await expect(attempt).rejects.toBeInstanceOf(LeaseConflict);
    expect(await leases('p')).toEqual([]);
    expect(await kernel.ipam.allocate(kernel.db, 'p', 'again')).toBe('192.0.2.2');
  });

  // PostgreSQL: this process's deferred transactions share a pool's lock (Ipam.defer).
  const onPostgres = process.env.HANGAR_TEST_ENGINE === 'postgres' && !!process.env.HANGAR_TEST_POSTGRES_URL;

  it.runIf(onPostgres)("lets this process's deferred transactions run side by side, never handing out one address twice", async () => {
    await kernel.ipam.ensurePool(kernel.db, 'p', '192.0.2.0/24');
    const [secondDone, letFirstFinish] = gate();
    const [firstHolds, firstAllocated] = gate();
    const first = deferred(async (trx) => {
      const got = [await kernel.ipam.allocate(trx, 'p', 'a1'), await kernel.ipam.allocate(trx, 'p', 'a2')];
      firstAllocated();
      await secondDone; // still open while the second one allocates, writes and commits
      got.push(await kernel.ipam.allocate(trx, 'p', 'a3'));
      return got;
    });
    // (the second begins once the first holds the pool: which of two started together gets
    // there first is the machine's to say)
    await firstHolds;
    // A lock on the pool held by the first would make the second fail here, not wait.
    const second = await deferred(async (trx) => {
      await sql`set local lock_timeout = '2s'`.execute(trx);
      return [await kernel.ipam.allocate(trx, 'p', 'b1'), await kernel.ipam.allocate(trx, 'p', 'b2')];
    });
    letFirstFinish();
    expect(second).toEqual(['192.0.2.4', '192.0.2.5']);
    expect(await first).toEqual(['192.0.2.2', '192.0.2.3', '192.0.2.6']);
    expect((await leases('p')).map(([, owner]) => owner)).toEqual(['a1', 'a2', 'b1', 'b2', 'a3']);
    // The cursor stands after the last address handed out, whichever committed last.
    expect(await kernel.ipam.allocate(kernel.db, 'p', 'next')).toBe('192.0.2.7');
  });

  /** Another process on the same store (a replica), for as long as `work` runs. */
  async function withReplica(work: (other: Kernel) => Promise<void>): Promise<void> {
    const other = await Kernel.open({ databaseUrl: store.url, secretKey: 'hangar-test-sealing-key', timings: 'fast', clock: new Clock({ frozenAt: 0 }), log });
    try {
      await work(other);
    } finally {
      await other.close();
    }
  }

  it.runIf(onPostgres)("keeps another process's deferred transactions waiting for the pool until this one's commit, then hands out what follows", async () => {
    await kernel.ipam.ensurePool(kernel.db, 'p', '192.0.2.0/24');
    await withReplica(async (other) => {
      const [committing, commit] = gate();
      const [mineAllocated, allocated] = gate();
      const mine = deferred(async (trx) => {
        const got = [await kernel.ipam.allocate(trx, 'p', 'a1'), await kernel.ipam.allocate(trx, 'p', 'a2')];
        allocated();
        await committing;
        return got;
      });
      await mineAllocated;
      const waiting = deferred(async (trx) => {
        await sql`set local lock_timeout = '300ms'`.execute(trx);
        return other.ipam.allocate(trx, 'p', 'theirs');
      }, other);
      await expect(waiting).rejects.toMatchObject({ code: '55P03' }); // lock_not_available: it waited
      commit();
      expect(await mine).toEqual(['192.0.2.2', '192.0.2.3']);
      expect(await deferred((trx) => other.ipam.allocate(trx, 'p', 'theirs'), other)).toBe('192.0.2.4');
    });
  });

  it.runIf(onPostgres)('writes the cursor past what a deferred transaction handed out under a holder that then rolled back', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'p', '192.0.2.0/24');
    const [givingUp, giveUp] = gate();
    const [holderAllocated, allocated] = gate();
    const holder = deferred(async (trx) => {
      await kernel.ipam.allocate(trx, 'p', 'gone');
      allocated();
      await givingUp;
      throw new Error('the holder rolls back');
    });
    await holderAllocated;
    const second = deferred(async (trx) => {
      const address = await kernel.ipam.allocate(trx, 'p', 'kept'); // under the holder's lock
      giveUp();
      await expect(holder).rejects.toThrow('the holder rolls back');
      return address;
    });
    expect(await second).toBe('192.0.2.3');
    expect(await leases('p')).toEqual([['192.0.2.3', 'kept']]);
    // Another process starts after it, not at the address the holder gave back and then that one.
    await withReplica(async (other) => {
      expect(await deferred(async (trx) => [await other.ipam.allocate(trx, 'p', 'x'), await other.ipam.allocate(trx, 'p', 'y')], other)).toEqual(['192.0.2.4', '192.0.2.5']);
    });
  });

  it.runIf(onPostgres)('writes the cursor past what a deferred transaction handed out under a holder that flushed, then rolled back', async () => {
    await kernel.ipam.ensurePool(kernel.db, 'p', '192.0.2.0/24');
    const [givingUp, giveUp] = gate();
    const [holderAllocated, allocated] = gate();
    const [holderFlushed, flushed] = gate();
    const holder = deferred(
      async (trx) => {
        await kernel.ipam.allocate(trx, 'p', 'gone');
        allocated();
        await givingUp;
      },
      kernel,
      async () => {
        flushed(); // its cursor, past the second's address too, is written: then undone
        throw new Error('the holder rolls back after its flush');
      },
    );
    await holderAllocated;
    const second = deferred(async (trx) => {
      const address = await kernel.ipam.allocate(trx, 'p', 'kept'); // under the holder's lock
      giveUp();
      await holderFlushed;
      await expect(holder).rejects.toThrow('the holder rolls back');
      return address;
    });
    expect(await second).toBe('192.0.2.3');
    await withReplica(async (other) => {
      expect(await deferred(async (trx) => [await other.ipam.allocate(trx, 'p', 'x'), await other.ipam.allocate(trx, 'p', 'y')], other)).toEqual(['192.0.2.4', '192.0.2.5']);
    });
  });
});
