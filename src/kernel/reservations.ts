import type { Kysely } from 'kysely';
import type { Clock } from './clock.js';
import type { Executor } from './db/store.js';
import type { IdGenerator } from './ids.js';

/** A reservation as the store holds it: `capacity` units of one SKU in one region, for one account of one cloud. */
export interface Reservation {
  id: string;
  account_id: string;
  cloud: string;
  sku: string;
  region: string;
  capacity: number;
  /** Units the cloud counts against it now (VMs created or RESERVEd on it). */
  used: number;
  created_at: number;
}

/**
 * Reservations, an operator control for either cloud (`/admin/v1/reservations`): capacity an
 * account has reserved of one SKU in one region. The clouds count their resources against a
 * reservation in the transaction that creates, moves or removes them (`acquire`/`release`), so
 * `used` is exact and two creates cannot both take its last unit; what a reservation means to
 * a client (Genesis lists them, Crusoe VMs name them) is the cloud's business.
 */
export class Reservations {
  constructor(
    private readonly db: Kysely<any>,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
  ) {}

  async create(input: { accountId: string; cloud: string; sku: string; region: string; capacity: number }): Promise<Reservation> {
    const row: Reservation = {
      id: this.ids.uuid(),
      account_id: input.accountId,
      cloud: input.cloud,
      sku: input.sku,
      region: input.region,
      capacity: input.capacity,
      used: 0,
      created_at: this.clock.now(),
    };
    await this.db.insertInto('reservations').values(row).execute();
    return row;
  }

  async list(trx: Executor, filter: { accountId?: string; cloud?: string } = {}): Promise<Reservation[]> {
    let query = trx.selectFrom('reservations').selectAll();
    if (filter.accountId !== undefined) query = query.where('account_id', '=', filter.accountId);
    if (filter.cloud !== undefined) query = query.where('cloud', '=', filter.cloud);
    return ((await query.orderBy('created_at').orderBy('id').execute()) as Reservation[]).map(numbers);
  }

  /** One of an account's reservations in a cloud, or undefined (another account's is not found either). */
  async get(trx: Executor, accountId: string, cloud: string, id: string): Promise<Reservation | undefined> {
    const row = (await trx.selectFrom('reservations').selectAll().where('id', '=', id).where('account_id', '=', accountId).where('cloud', '=', cloud).executeTakeFirst()) as
      | Reservation
      | undefined;
    return row ? numbers(row) : undefined;
  }

  /** Counts `n` more units against a reservation; false, changing nothing, when it has no room. */
  async acquire(trx: Executor, id: string, n = 1): Promise<boolean> {
    const result = await trx
      .updateTable('reservations')
      .set((eb) => ({ used: eb('used', '+', n) }))
      .where('id', '=', id)
      .where((eb) => eb('used', '<=', eb('capacity', '-', n)))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async release(trx: Executor, id: string, n = 1): Promise<void> {
    await trx
      .updateTable('reservations')
      .set((eb) => ({ used: eb('used', '-', n) }))
      .where('id', '=', id)
      .execute();
  }

  /** Sets what a cloud counted from its rows (after an import or a bulk removal). */
  async setUsed(trx: Executor, cloud: string, used: ReadonlyMap<string, number>): Promise<void> {
    await trx.updateTable('reservations').set({ used: 0 }).where('cloud', '=', cloud).execute();
    for (const [id, n] of used) await trx.updateTable('reservations').set({ used: n }).where('id', '=', id).where('cloud', '=', cloud).execute();
  }

  /** Removes a reservation nothing counts against; 'in_use' leaves it. */
  async delete(id: string): Promise<'deleted' | 'not_found' | 'in_use'> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('reservations').select('used').where('id', '=', id).executeTakeFirst();
      if (!row) return 'not_found';
      if (Number(row.used) > 0) return 'in_use';
      await trx.deleteFrom('reservations').where('id', '=', id).execute();
      return 'deleted';
    });
  }
}

const numbers = (r: Reservation): Reservation => ({ ...r, capacity: Number(r.capacity), used: Number(r.used), created_at: Number(r.created_at) });
