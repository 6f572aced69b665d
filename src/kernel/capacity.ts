import type { Kysely } from 'kysely';
import type { Executor } from './db/store.js';
import { preparedWrite } from './db/prepared.js';

/** Stock lines per seeding statement (five values each, well under either engine's limit). */
const SEED_CHUNK = 500;

export interface Stock {
  region: string;
  sku: string;
  total: number;
  used: number;
}

/**
 * Sellable stock: how many units of a type exist in a region and how many are taken. The
 * catalog seeds the totals; an operator can change them to stage "out of stock".
 */
export class Capacity {
  constructor(private readonly db: Kysely<any>) {}

  // Every create and destroy moves stock: built and compiled once (see db/prepared.ts).
  private readonly take = preparedWrite((n, cloud, region, sku) =>
    this.db
      .updateTable('capacity')
      .set((eb) => ({ used: eb('used', '+', n) }))
      .where('cloud', '=', cloud)
      .where('region', '=', region)
      .where('sku', '=', sku)
      .where((eb) => eb(eb('used', '+', n), '<=', eb.ref('total'))),
  );
  private readonly giveBack = preparedWrite((n, cloud, region, sku) =>
    this.db
      .updateTable('capacity')
      .set((eb) => ({ used: eb('used', '-', n) }))
      .where('cloud', '=', cloud)
      .where('region', '=', region)
      .where('sku', '=', sku)
      .where('used', '>=', n),
  );

  /**
   * Adds the stock lines that are not there yet; an existing line keeps its (operator-set)
   * total. A few statements for a whole catalog: start-up seeds hundreds of lines, and on
   * PostgreSQL each statement is a round trip.
   */
  async seed(trx: Executor, cloud: string, lines: readonly { region: string; sku: string; total: number }[]): Promise<void> {
    for (let i = 0; i < lines.length; i += SEED_CHUNK) {
      await trx
        .insertInto('capacity')
        .values(lines.slice(i, i + SEED_CHUNK).map(({ region, sku, total }) => ({ cloud, region, sku, total, used: 0 })))
        .onConflict((oc) => oc.columns(['cloud', 'region', 'sku']).doNothing())
        .execute();
    }
  }

  async setTotal(trx: Executor, cloud: string, region: string, sku: string, total: number): Promise<void> {
    await trx
      .insertInto('capacity')
      .values({ cloud, region, sku, total, used: 0 })
      .onConflict((oc) => oc.columns(['cloud', 'region', 'sku']).doUpdateSet({ total }))
      .execute();
  }

  /** Takes `n` units if that many are free; returns false (and takes nothing) otherwise. */
  async acquire(trx: Executor, cloud: string, region: string, sku: string, n = 1): Promise<boolean> {
    return (await this.take(trx, n, cloud, region, sku)) === 1;
  }

  async release(trx: Executor, cloud: string, region: string, sku: string, n = 1): Promise<void> {
    await this.giveBack(trx, n, cloud, region, sku);
  }

  /**
   * Sets what is in use of a cloud's stock from what its resources hold (after a bulk change:
   * an import, a deletion of many): every line's `used` is the count given, or 0.
   */
  async recount(trx: Executor, cloud: string, inUse: readonly { region: string; sku: string; used: number }[]): Promise<void> {
    await trx.updateTable('capacity').set({ used: 0 }).where('cloud', '=', cloud).execute();
    for (const line of inUse) {
      await trx.updateTable('capacity').set({ used: line.used }).where('cloud', '=', cloud).where('region', '=', line.region).where('sku', '=', line.sku).execute();
    }
  }

  async list(trx: Executor, cloud: string, region?: string): Promise<Stock[]> {
    let query = trx.selectFrom('capacity').select(['region', 'sku', 'total', 'used']).where('cloud', '=', cloud);
    if (region !== undefined) query = query.where('region', '=', region);
    const rows = await query.orderBy('region').orderBy('sku').execute();
    return rows.map((r) => ({ region: r.region, sku: r.sku, total: Number(r.total), used: Number(r.used) }));
  }
}
