import { sql, type Kysely } from 'kysely';
import type { Executor } from './db/store.js';
import { prepared, preparedWrite } from './db/prepared.js';

/** An IPv4 CIDR as numbers: the network address and how many addresses it spans. */
export function parseCidr(cidr: string): { base: number; size: number; prefix: number } {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!match) throw new RangeError(`not an IPv4 CIDR: ${cidr}`);
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) throw new RangeError(`not an IPv4 CIDR: ${cidr}`);
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  return { base: address - (address % size), size, prefix };
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** A dotted IPv4 address as the number leases store. */
function ipv4Value(address: string): number {
  return address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** An address an owner holds, as the owner's row records it: its pool, and the address or null. */
export type Held = readonly [pool: string, address: string | null | undefined];

/** Leases written per statement when a deferred transaction flushes on SQLite (three parameters each). */
const LEASES_PER_INSERT = 500;
/** Addresses whose leases a deferred allocation reads at once, from the cursor on. */
const STRETCH = 1024;

/**
 * PostgreSQL: a pool as this process's open deferred transactions share it (see `Ipam.defer`).
 * One of them holds the pool's row lock for all; the others take addresses from the shared
 * cursor without touching the row, and the holder's flush writes the cursor past them all.
 */
interface SharedPool {
  /** The pool's range (as its row holds it, read by the first holder). */
  cidr: string;
  /** The highest cursor any of them has taken. */
  cursor: number;
  /** The highest cursor a holder's flush has written, and that holder (its write stands unless it rolls back). */
  covered: number;
  coveredBy: Executor | null;
  /** The transaction holding the row lock, until its flush; null: none does now. */
  holder: Executor | null;
  /** A transaction waiting for the row lock on behalf of all (see `Ipam.holdShared`). */
  taking: Promise<void> | null;
  /** The deferred transactions using the pool, flushed or not, whose transaction is not over. */
  users: number;
}

/** A pool as a deferred transaction (see `Ipam.defer`) keeps it in memory. */
interface DeferredPool {
  cursor: number;
  base: number;
  size: number;
  /** The stretch of addresses [from, to) whose leases `held` holds: the store's, and this transaction's. */
  from: number;
  to: number;
  held: Set<number>;
  /** Leases handed out and not written yet: address, owner. */
  pending: [number, string][];
  /** PostgreSQL: the pool as this process's deferred transactions share it (`cursor` is then this one's highest). */
  shared?: SharedPool;
}

/** A deferred transaction's lease was taken by another meanwhile: do the work again without deferral. */
export class LeaseConflict extends Error {
  constructor(pool: string) {
    super(`an address of pool ${pool} was leased by another transaction meanwhile`);
  }
}

/** An allocation named a pool the store does not hold. */
export class UnknownPool extends Error {
  constructor(pool: string) {
    super(`unknown address pool ${pool}`);
  }
}

/** parseCidr, remembered (a CIDR string always parses the same; pools are few). */
const parsed = new Map<string, ReturnType<typeof parseCidr>>();
function parsedCidr(cidr: string): ReturnType<typeof parseCidr> {
  let result = parsed.get(cidr);
  if (result === undefined) {
    if (parsed.size >= 4096) parsed.clear();
    result = parseCidr(cidr);
    parsed.set(cidr, result);
  }
  return result;
}

/**
 * Address management: hands out IPv4 addresses from named pools, never the same address to
 * two owners at once. Allocation walks a cursor through the pool, so addresses are handed out
 * in a predictable order and a released one is only reused after the pool wraps.
 */
export class Ipam {
  /** Where public pools (named `…:public`) take their addresses instead of their catalog CIDR (see `usePublicRange`). */
  private publicRange: string | null = null;
  /** The port public addresses answer SSH on (the sandbox fabric's; 22 otherwise). */
  sshPort = 22;

  constructor(
    private readonly db: Kysely<any>,
    private readonly engine: 'sqlite' | 'postgres' = 'sqlite',
  ) {}

  /**
   * From now on, public pools (every cloud names them `<cloud>:<region>:public`) are carved out
   * of `cidr` instead of their catalog ranges: the sandbox fabric gives instances loopback
   * addresses the host can reach. Each pool gets one of 64 equal slices, kept in its row, so a
   * restart finds the same ones; a pool created elsewhere before is moved into a free slice
   * (its old leases stay, outside every slice).
   */
  usePublicRange(cidr: string | null, sshPort = 22): void {
    if (cidr !== null) parseCidr(cidr);
    this.publicRange = cidr;
    this.sshPort = sshPort;
  }

  /** The pools with public ones placed in the public range, moving existing ones that lie outside it. */
  private async placePublic(trx: Executor, pools: readonly { name: string; cidr: string }[]): Promise<{ name: string; cidr: string }[]> {
    const range = parseCidr(this.publicRange!);
    const prefix = Math.min(30, range.prefix + 6);
    const sliceSize = 2 ** (32 - prefix);
    const inRange = (cidr: string) => {
      const { base } = parseCidr(cidr);
      return base >= range.base && base < range.base + range.size;
    };
    const existing = new Map((await trx.selectFrom('ip_pools').select(['name', 'cidr']).execute()).map((row) => [String(row.name), String(row.cidr)]));
    const taken = new Set([...existing.values()].filter(inRange).map((cidr) => parseCidr(cidr).base));
    const placed: { name: string; cidr: string }[] = [];
    for (const pool of pools) {
      const current = existing.get(pool.name);
      if (!pool.name.endsWith(':public') || (current !== undefined && inRange(current))) {
        placed.push(pool);
        continue;
      }
      let base = range.base;
      while (taken.has(base) && base < range.base + range.size) base += sliceSize;
      if (base >= range.base + range.size) throw new Error(`the public range ${this.publicRange} has no free slice left for pool ${pool.name}`);
      taken.add(base);
      const cidr = `${formatIpv4(base)}/${prefix}`;
      if (current !== undefined) await trx.updateTable('ip_pools').set({ cidr, cursor: 0 }).where('name', '=', pool.name).execute();
      placed.push({ name: pool.name, cidr });
    }
    return placed;
  }

  // Every instance that boots allocates twice: built and compiled once (see db/prepared.ts).
  // The cursor moves and the pool's range comes back in one statement.
  private readonly advance = prepared<{ cursor: number; cidr: string }>((pool) =>
    this.db
      .updateTable('ip_pools')
      .set((eb) => ({ cursor: eb('cursor', '+', 1) }))
      .where('name', '=', pool)
      .returning(['cursor', 'cidr']),
  );
  /** Locks the pool's row for the transaction (other runners wait, as for `advance`) and reads it. */
  private readonly hold = prepared<{ cursor: number; cidr: string }>((pool) =>
    this.db
      .updateTable('ip_pools')
      .set((eb) => ({ cursor: eb.ref('cursor') }))
      .where('name', '=', pool)
      .returning(['cursor', 'cidr']),
  );
  private readonly moveTo = preparedWrite((pool, cursor) => this.db.updateTable('ip_pools').set({ cursor }).where('name', '=', pool));
  /** The addresses leased in a stretch of a pool (see `DeferredPool.held`). */
  private readonly leasedBetween = prepared<{ address: number }>((pool, from, to) =>
    this.db.selectFrom('ip_leases').select('address').where('pool', '=', pool).where('address', '>=', from).where('address', '<', to),
  );
  /** Transactions whose allocations are kept in memory until `flush` (see `defer`). */
  private readonly deferred = new WeakMap<Executor, Map<string, DeferredPool>>();
  /** Transactions flushed whose transaction is not over yet (see `end`). */
  private readonly flushed = new WeakMap<Executor, Map<string, DeferredPool>>();
  /** PostgreSQL: pools in use by this process's deferred transactions (see `SharedPool`). */
  private readonly sharedPools = new Map<string, SharedPool>();

  private readonly lease = preparedWrite((pool, address, owner) =>
    this.db
      .insertInto('ip_leases')
      .values({ pool, address, owner })
      .onConflict((oc) => oc.columns(['pool', 'address']).doNothing()),
  );

  private readonly unlease = preparedWrite((pool, address, owner) =>
    this.db.deleteFrom('ip_leases').where('pool', '=', pool).where('address', '=', address).where('owner', '=', owner),
  );

  async ensurePool(trx: Executor, name: string, cidr: string): Promise<void> {
    await this.ensurePools(trx, [{ name, cidr }]);
  }

  /** Adds the pools that are not there yet, in one statement (an existing pool is left as it is). */
  async ensurePools(trx: Executor, pools: readonly { name: string; cidr: string }[]): Promise<void> {
    if (pools.length === 0) return;
    if (this.publicRange !== null) pools = await this.placePublic(trx, pools);
    for (const { cidr } of pools) parseCidr(cidr);
    await trx
      .insertInto('ip_pools')
      .values(pools.map(({ name, cidr }) => ({ name, cidr, cursor: 0 })))
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }

  /**
   * From now until `flush`, allocations in this transaction are made in memory: each pool's
   * cursor is read (and its row locked) once, the leases near it are read a stretch at a time,
   * and the new leases are written together by `flush`. A batch of boots then costs a few
   * statements per pool, not two per instance. The caller must flush before it commits; if
   * flush finds an address taken meanwhile (a lease `claim`ed by another transaction), it
   * throws `LeaseConflict` and the transaction must be rolled back and done without deferral.
   * The caller tells `end` once the transaction is over.
   *
   * The pool's row lock keeps other transactions from reading its cursor until the commit. On
   * PostgreSQL, this process's deferred transactions share it (`SharedPool`): the first to
   * use a pool locks its row, and the others take addresses from the cursor in memory rather
   * than waiting for that whole transaction (the lifecycle engine runs two batches at once).
   * Only once the holder has flushed does the next one lock the row (and wait for the commit).
   */
  defer(trx: Executor): void {
    this.deferred.set(trx, new Map());
  }

  /** Writes the leases and cursors `defer` kept in memory, and ends the deferral. */
  async flush(trx: Executor): Promise<void> {
    const pools = this.deferred.get(trx);
    if (pools === undefined) return;
    this.deferred.delete(trx);
    this.flushed.set(trx, pools);
    await this.writePending(trx, pools);
    for (const [pool, state] of pools) {
      const { shared } = state;
      if (shared === undefined) {
        await this.moveTo(trx, pool, state.cursor);
        continue;
      }
      // Another's flush wrote (or, holding the lock still, will write) the cursor past this
      // one's addresses; unless that holder gave up (rolled back): then lock, and write it here.
      if (shared.holder !== trx && (state.cursor <= shared.covered || shared.holder !== null)) continue;
      await this.holdShared(trx, pool, shared);
      if (shared.holder !== trx) continue;
      await this.moveTo(trx, pool, shared.cursor);
      shared.covered = shared.cursor;
      shared.coveredBy = trx;
      shared.holder = null;
    }
  }

  /** Forgets a deferral once its transaction is over, committed or rolled back, flushed or not. */
  end(trx: Executor, committed: boolean): void {
    const pools = this.deferred.get(trx) ?? this.flushed.get(trx);
    this.deferred.delete(trx);
    this.flushed.delete(trx);
    for (const [pool, state] of pools ?? []) {
      // A cursor this one wrote for all is undone: the others must write theirs (see `flush`).
      if (!committed && state.shared?.coveredBy === trx) state.shared.covered = 0;
      this.leave(trx, pool, state);
    }
  }

  /** A deferred transaction stops using a shared pool: it no longer holds it, nor counts among its users. */
  private leave(trx: Executor, pool: string, { shared }: DeferredPool): void {
    if (shared === undefined) return;
    if (shared.holder === trx) shared.holder = null;
    if (--shared.users === 0) this.sharedPools.delete(pool);
  }

  /**
   * PostgreSQL: a pool's leases as two arrays, in one prepared statement whatever their number
   * (a batch's 768 leases as 2,304 bound values cost more to build and bind than to insert).
   */
  private readonly leaseAll = prepared<{ address: number }>(
    (pool, addresses, owners) => ({
      compile: () =>
        sql`insert into ip_leases (pool, address, owner) select ${pool}, v.address, v.owner from unnest(${addresses}::bigint[], ${owners}::text[]) as v(address, owner)
          on conflict (pool, address) do nothing returning address`.compile(this.db),
    }),
  );

  /** Writes the leases a deferred transaction has handed out so far. */
  private async writePending(trx: Executor, pools: Map<string, DeferredPool>): Promise<void> {
    for (const [pool, state] of pools) {
      if (this.engine === 'postgres' && state.pending.length > 0) {
        const written = await this.leaseAll(trx, pool, state.pending.map(([address]) => address), state.pending.map(([, owner]) => owner));
        if (written.length !== state.pending.length) throw new LeaseConflict(pool);
        state.pending = [];
        continue;
      }
      for (let i = 0; i < state.pending.length; i += LEASES_PER_INSERT) {
        const rows = state.pending.slice(i, i + LEASES_PER_INSERT).map(([address, owner]) => ({ pool, address, owner }));
        const written = await trx
          .insertInto('ip_leases')
          .values(rows)
          .onConflict((oc) => oc.columns(['pool', 'address']).doNothing())
          .returning('address')
          .execute();
        if (written.length !== rows.length) throw new LeaseConflict(pool);
      }
      state.pending = [];
    }
  }

  /**
   * A deferred transaction's state of the pool, read on first use with its row locked (on
   * PostgreSQL, unless another deferred transaction of this process holds it: see `defer`);
   * undefined for an unknown pool.
   */
  private async deferredPool(trx: Executor, pools: Map<string, DeferredPool>, pool: string): Promise<DeferredPool | undefined> {
    let state = pools.get(pool);
    if (state !== undefined) return state;
    if (this.engine === 'postgres') return this.sharedPool(trx, pools, pool);
    const [row] = await this.hold(trx, pool);
    if (!row) return undefined;
    const { base, size } = parsedCidr(row.cidr);
    state = { cursor: Number(row.cursor), base, size, from: 0, to: 0, held: new Set(), pending: [] };
    pools.set(pool, state);
    return state;
  }

  /** PostgreSQL: `deferredPool` for a pool this process's deferred transactions share. */
  private async sharedPool(trx: Executor, pools: Map<string, DeferredPool>, pool: string): Promise<DeferredPool | undefined> {
    let shared = this.sharedPools.get(pool);
    if (shared === undefined) {
      shared = { cidr: '', cursor: 0, covered: 0, coveredBy: null, holder: null, taking: null, users: 0 };
      this.sharedPools.set(pool, shared);
    }
    shared.users++;
    try {
      await this.holdShared(trx, pool, shared);
    } catch (error) {
      if (--shared.users === 0) this.sharedPools.delete(pool);
      if (error instanceof UnknownPool) return undefined;
      throw error;
    }
    const { base, size } = parsedCidr(shared.cidr);
    const state: DeferredPool = { cursor: 0, base, size, from: 0, to: 0, held: new Set(), pending: [], shared };
    pools.set(pool, state);
    return state;
  }

  /**
   * Makes sure a shared pool's row is locked by one of this process's deferred transactions,
   * locking it from `trx` if none does (one waits for the lock on behalf of all).
   */
  private async holdShared(trx: Executor, pool: string, shared: SharedPool): Promise<void> {
    while (shared.holder === null) {
      if (shared.taking !== null) {
        await shared.taking.catch(() => undefined);
        continue;
      }
      shared.taking = (async () => {
        const [row] = await this.hold(trx, pool);
        if (!row) throw new UnknownPool(pool);
        shared.cidr = row.cidr;
        shared.cursor = Math.max(shared.cursor, Number(row.cursor));
        shared.holder = trx;
      })().finally(() => (shared.taking = null));
      await shared.taking;
    }
  }

  /** A deferred transaction's next cursor: on PostgreSQL, the shared one's, under a holder's lock. */
  private async nextCursor(trx: Executor, pool: string, state: DeferredPool): Promise<number> {
    const { shared } = state;
    if (shared === undefined) return ++state.cursor;
    if (shared.holder === null) await this.holdShared(trx, pool, shared);
    return (state.cursor = ++shared.cursor);
  }

  /** Reads which addresses are leased from `address` on, a stretch at a time. */
  private async readStretch(trx: Executor, pool: string, state: DeferredPool, address: number): Promise<void> {
    state.from = address;
    state.to = Math.min(address + STRETCH, state.base + state.size);
    state.held = new Set((await this.leasedBetween(trx, pool, state.from, state.to)).map((l) => Number(l.address)));
    for (const [pending] of state.pending) state.held.add(pending);
  }

  /** Removes a pool and its leases (the network it served is gone). */
  async dropPool(trx: Executor, name: string): Promise<void> {
    const pools = this.deferred.get(trx);
    if (pools) {
      await this.writePending(trx, pools);
      const state = pools.get(name);
      if (state !== undefined) this.leave(trx, name, state);
      pools.delete(name);
    }
    await trx.deleteFrom('ip_leases').where('pool', '=', name).execute();
    await trx.deleteFrom('ip_pools').where('name', '=', name).execute();
  }

  /** Leases the next free address of the pool to `owner`; null when the pool is exhausted (UnknownPool when there is none). */
  async allocate(trx: Executor, pool: string, owner: string): Promise<string | null> {
    const pools = this.deferred.get(trx);
    const state = pools === undefined ? undefined : await this.deferredPool(trx, pools, pool);
    if (pools !== undefined && state === undefined) throw new UnknownPool(pool);
    for (let attempt = 0; attempt < 64; attempt++) {
      let cursor: number;
      let base: number;
      let size: number;
      if (state !== undefined) {
        cursor = await this.nextCursor(trx, pool, state);
        ({ base, size } = state);
      } else {
        const [step] = await this.advance(trx, pool);
        if (!step) throw new UnknownPool(pool);
        cursor = Number(step.cursor);
        ({ base, size } = parsedCidr(step.cidr));
      }
      const offset = 2 + ((cursor - 1) % Math.max(1, size - 3));
      // Host addresses only, and none ending in .0 or .255, which some tools treat as special.
      if (offset < 2 || offset >= size - 1 || offset % 256 === 0 || offset % 256 === 255) continue;
      const address = base + offset;
      if (state === undefined) {
        if ((await this.lease(trx, pool, address, owner)) === 1) return formatIpv4(address);
        continue;
      }
      if (address < state.from || address >= state.to) await this.readStretch(trx, pool, state, address);
      if (state.held.has(address)) continue;
      state.held.add(address);
      state.pending.push([address, owner]);
      return formatIpv4(address);
    }
    return null;
  }

  /** Leases one given address of the pool to `owner`; false when someone else holds it. */
  async claim(trx: Executor, pool: string, address: string, owner: string): Promise<boolean> {
    const value = ipv4Value(address);
    const pools = this.deferred.get(trx);
    if (pools) {
      await this.writePending(trx, pools);
      pools.get(pool)?.held.add(value);
    }
    const inserted = await trx
      .insertInto('ip_leases')
      .values({ pool, address: value, owner })
      .onConflict((oc) => oc.columns(['pool', 'address']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return true;
    const holder = await trx.selectFrom('ip_leases').select('owner').where('pool', '=', pool).where('address', '=', value).executeTakeFirst();
    return holder?.owner === owner;
  }

  /**
   * Gives back addresses the owner holds, as its own row records them (a null address: none
   * held). Leases are found by pool and address, not by owner: an owner index would be keyed
   * by random resource ids, and writing a random page of it for every lease was the largest
   * single cost of a burst of boots. An address the owner does not hold (another resource's,
   * a floating IP's) is left alone.
   */
  async release(trx: Executor, owner: string, held: Iterable<Held>): Promise<void> {
    const pools = this.deferred.get(trx);
    if (pools) await this.writePending(trx, pools);
    for (const [pool, address] of held) {
      if (address === null || address === undefined) continue;
      const value = ipv4Value(address);
      if ((await this.unlease(trx, pool, value, owner)) === 1) pools?.get(pool)?.held.delete(value);
    }
  }
}
