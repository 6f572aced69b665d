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
/** How long a pool whose deferred leases met another process's is locked by deferred transactions again (see `Ipam.defer`). */
const CONTENDED_MS = 60_000;

/**
 * PostgreSQL: the highest cursor this process's open deferred transactions (`users` of them)
 * have taken from a pool, ahead of the one stored. A second deferred transaction, or a single
 * allocation, starts past it instead of handing out the same addresses.
 */
interface InFlight {
  cursor: number;
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
  /** PostgreSQL: the pool's cursor as this process's deferred transactions share it. */
  flight?: InFlight;
}

/** A deferred transaction's lease was taken by another meanwhile: do the work again (see `Ipam.defer`). */
export class LeaseConflict extends Error {
  constructor(readonly pool: string) {
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
  /** Advances past this process's open deferred transactions' addresses (see `InFlight`). */
  private readonly advancePast = prepared<{ cursor: number; cidr: string }>((pool, floor) =>
    this.db
      .updateTable('ip_pools')
      .set({ cursor: sql`${this.greatest}(cursor, ${floor}) + 1` })
      .where('name', '=', pool)
      .returning(['cursor', 'cidr']),
  );
  /** Reads the pool's row without locking it (see `defer`). */
  private readonly peek = prepared<{ cursor: number; cidr: string }>((pool) => this.db.selectFrom('ip_pools').select(['cursor', 'cidr']).where('name', '=', pool));
  /** Moves the cursor forward only: another transaction may have committed one further on. */
  private readonly moveTo = preparedWrite((pool, cursor) =>
    this.db
      .updateTable('ip_pools')
      .set({ cursor: sql`${this.greatest}(cursor, ${cursor})` })
      .where('name', '=', pool),
  );
  private get greatest() {
    return this.engine === 'postgres' ? sql.raw('greatest') : sql.raw('max');
  }
  /** PostgreSQL: pools with open deferred transactions of this process (see `InFlight`). */
  private readonly inFlight = new Map<string, InFlight>();
  /** PostgreSQL: pools whose deferred leases met another process's, until when they are locked again. */
  private readonly contended = new Map<string, number>();
  /** The addresses leased in a stretch of a pool (see `DeferredPool.held`). */
  private readonly leasedBetween = prepared<{ address: number }>((pool, from, to) =>
    this.db.selectFrom('ip_leases').select('address').where('pool', '=', pool).where('address', '>=', from).where('address', '<', to),
  );
  /** Transactions whose allocations are kept in memory until `flush` (see `defer`). */
  private readonly deferred = new WeakMap<Executor, Map<string, DeferredPool>>();
  /** Transactions flushed and not yet over (see `end`). */
  private readonly flushed = new WeakMap<Executor, Map<string, DeferredPool>>();

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
   * throws `LeaseConflict` and the transaction must be rolled back and done again.
   *
   * On PostgreSQL the pool's row is read, not locked: a lock held until commit made every
   * other batch booting into the pool (the lifecycle engine runs two at once) wait for the
   * whole of this one. This process's deferred transactions share each pool's cursor in
   * memory instead (`InFlight`), so they never hand out the same address; another process's
   * may, and the loser's flush throws `LeaseConflict`. The pool is then locked again by this
   * process's deferred transactions for a while (CONTENDED_MS), as replicas draining one
   * burst would otherwise keep colliding.
   */
  defer(trx: Executor): void {
    this.deferred.set(trx, new Map());
  }

  /** Writes the leases and cursors `defer` kept in memory, and ends the deferral (what the transaction allocates next is written at once). */
  async flush(trx: Executor): Promise<void> {
    const pools = this.deferred.get(trx);
    if (pools === undefined) return;
    this.deferred.delete(trx);
    this.flushed.set(trx, pools);
    try {
      await this.writePending(trx, pools);
    } catch (error) {
      if (error instanceof LeaseConflict && this.engine === 'postgres') this.contended.set(error.pool, Date.now() + CONTENDED_MS);
      throw error;
    }
    for (const [pool, { cursor }] of pools) await this.moveTo(trx, pool, cursor);
  }

  /**
   * Forgets a deferral once its transaction is over, committed or rolled back, flushed or not.
   * (Not at `flush`: until the commit, a transaction reading the pool would not see the cursor
   * moved, so this process's next ones must still start past it.)
   */
  end(trx: Executor): void {
    const pools = this.deferred.get(trx) ?? this.flushed.get(trx);
    if (pools === undefined) return;
    this.deferred.delete(trx);
    this.flushed.delete(trx);
    for (const [pool, { flight }] of pools) {
      if (flight !== undefined && --flight.users === 0) this.inFlight.delete(pool);
    }
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
   * A deferred transaction's state of the pool, read on first use (its row locked, but on
   * PostgreSQL only while the pool is contended: see `defer`); undefined for an unknown pool.
   */
  private async deferredPool(trx: Executor, pools: Map<string, DeferredPool>, pool: string): Promise<DeferredPool | undefined> {
    let state = pools.get(pool);
    if (state === undefined) {
      const shared = this.engine === 'postgres';
      const [row] = shared && !this.isContended(pool) ? await this.peek(trx, pool) : await this.hold(trx, pool);
      if (!row) return undefined;
      const { base, size } = parsedCidr(row.cidr);
      state = { cursor: Number(row.cursor), base, size, from: 0, to: 0, held: new Set(), pending: [] };
      if (shared) {
        state.flight = this.inFlight.get(pool) ?? { cursor: state.cursor, users: 0 };
        state.flight.users++;
        this.inFlight.set(pool, state.flight);
      }
      pools.set(pool, state);
    }
    return state;
  }

  private isContended(pool: string): boolean {
    const until = this.contended.get(pool);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.contended.delete(pool);
    return false;
  }

  /** The deferred transaction's next cursor: past every address this process's open ones have taken. */
  private static nextCursor(state: DeferredPool): number {
    if (state.flight === undefined) return ++state.cursor;
    state.cursor = state.flight.cursor = Math.max(state.cursor, state.flight.cursor) + 1;
    return state.cursor;
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
        cursor = Ipam.nextCursor(state);
        ({ base, size } = state);
      } else {
        const flight = this.inFlight.get(pool);
        const [step] = flight === undefined ? await this.advance(trx, pool) : await this.advancePast(trx, pool, flight.cursor);
        if (!step) throw new UnknownPool(pool);
        cursor = Number(step.cursor);
        // (A deferred transaction begun before this commits will not see it: at worst, it
        // hands out the same address, and whichever writes it second starts again.)
        if (flight !== undefined) flight.cursor = Math.max(flight.cursor, cursor);
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
