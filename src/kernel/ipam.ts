import type { Kysely } from 'kysely';
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
  constructor(private readonly db: Kysely<any>) {}

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
  /** Transactions whose pool cursors move in memory until `flush` (see `defer`). */
  private readonly deferred = new WeakMap<Executor, Map<string, { cursor: number; cidr: string }>>();

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
    parseCidr(cidr);
    await trx
      .insertInto('ip_pools')
      .values({ name, cidr, cursor: 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }

  /**
   * From now until `flush`, allocations in this transaction read each pool's cursor once and
   * move it in memory: a batch of boots writes each pool's row once, not once per address.
   * The caller must flush before it commits.
   */
  defer(trx: Executor): void {
    this.deferred.set(trx, new Map());
  }

  /** Writes the cursors `defer` kept in memory, and ends the deferral. */
  async flush(trx: Executor): Promise<void> {
    const pools = this.deferred.get(trx);
    this.deferred.delete(trx);
    for (const [pool, { cursor }] of pools ?? []) await this.moveTo(trx, pool, cursor);
  }

  /** The pool's cursor, one step on, and its range; undefined for an unknown pool. */
  private async step(trx: Executor, pool: string): Promise<{ cursor: number; cidr: string } | undefined> {
    const pools = this.deferred.get(trx);
    if (pools === undefined) return (await this.advance(trx, pool))[0];
    let state = pools.get(pool);
    if (state === undefined) {
      const [row] = await this.hold(trx, pool);
      if (!row) return undefined;
      state = { cursor: Number(row.cursor), cidr: row.cidr };
      pools.set(pool, state);
    }
    state.cursor++;
    return state;
  }

  /** Removes a pool and its leases (the network it served is gone). */
  async dropPool(trx: Executor, name: string): Promise<void> {
    this.deferred.get(trx)?.delete(name);
    await trx.deleteFrom('ip_leases').where('pool', '=', name).execute();
    await trx.deleteFrom('ip_pools').where('name', '=', name).execute();
  }

  /** Leases the next free address of the pool to `owner`; null when the pool is exhausted. */
  async allocate(trx: Executor, pool: string, owner: string): Promise<string | null> {
    for (let attempt = 0; attempt < 64; attempt++) {
      const step = await this.step(trx, pool);
      if (!step) throw new Error(`unknown address pool ${pool}`);
      const { base, size } = parsedCidr(step.cidr);
      const offset = 2 + ((Number(step.cursor) - 1) % Math.max(1, size - 3));
      // Host addresses only, and none ending in .0 or .255, which some tools treat as special.
      if (offset < 2 || offset >= size - 1 || offset % 256 === 0 || offset % 256 === 255) continue;
      if ((await this.lease(trx, pool, base + offset, owner)) === 1) return formatIpv4(base + offset);
    }
    return null;
  }

  /** Leases one given address of the pool to `owner`; false when someone else holds it. */
  async claim(trx: Executor, pool: string, address: string, owner: string): Promise<boolean> {
    const value = ipv4Value(address);
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
    for (const [pool, address] of held) {
      if (address === null || address === undefined) continue;
      await this.unlease(trx, pool, ipv4Value(address), owner);
    }
  }
}
