import type { TimeSource } from './clock.js';
import { heldInsert } from './db/prepared.js';
import type { Executor } from './db/store.js';
import type { IdGenerator } from './ids.js';

/**
 * The metering ledger: every billable interval of every resource, provider-neutral. An
 * interval says "from `started_at` to `ended_at` (still open while null), this resource used
 * `rate` units of `metric` per hour": a VM of two GPUs running is rate 2 of `gpu-hours`, a
 * 100 GiB disk is rate 100 of `gib-hours`. A cloud opens and closes intervals from its
 * lifecycle effects, in the same transaction as the change they bill, with instants on the
 * kernel clock (a transition's due time), so moving the clock moves usage with it.
 *
 * Usage reports are computed from the intervals (see `split` and `quantity`); nothing is
 * pre-aggregated, so a report for any range and any grouping is always consistent.
 */
export interface MeterInterval {
  id: string;
  account_id: string;
  /** The cloud the resource belongs to (`crusoe`, …). */
  cloud: string;
  /** The cloud's grouping of resources, e.g. a project id. */
  scope: string;
  region: string;
  resource_id: string;
  /** What the cloud sells: a VM type, a disk type, … */
  resource_type: string;
  /** The unit of usage, per hour: `gpu-hours`, `gib-hours`, … */
  metric: string;
  /** Units of `metric` per hour while the interval is open. */
  rate: number;
  started_at: number;
  ended_at: number | null;
}

export interface MeterOpen {
  accountId: string;
  cloud: string;
  scope: string;
  region: string;
  resourceId: string;
  resourceType: string;
  metric: string;
  rate: number;
  /** When usage starts; the clock's now when absent. */
  at?: number;
  /** The resource was just made: nothing of it is billed yet, so there is no interval to close first. */
  fresh?: boolean;
}

export interface MeterQuery {
  accountId: string;
  cloud: string;
  /** [from, to): intervals overlapping it are returned. */
  from: number;
  to: number;
  scopes?: readonly string[];
  regions?: readonly string[];
  resourceTypes?: readonly string[];
  resourceIds?: readonly string[];
}

const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export class Metering {
  private readonly insertRow = heldInsert<MeterInterval>('metering_intervals');

  constructor(
    /** The clock of an account (see account-clocks.ts). */
    private readonly clockFor: (accountId: string | null) => TimeSource,
    private readonly ids: IdGenerator,
  ) {}

  /**
   * Starts billing a resource. An interval of the same resource and metric still open is
   * closed at the same instant first, so a resource never bills twice for one thing.
   */
  async open(trx: Executor, input: MeterOpen): Promise<void> {
    const at = input.at ?? this.clockFor(input.accountId).now();
    if (!input.fresh) await this.close(trx, input.resourceId, at, input.metric);
    if (!(input.rate > 0)) return;
    const row: MeterInterval = {
      id: this.ids.uuid(),
      account_id: input.accountId,
      cloud: input.cloud,
      scope: input.scope,
      region: input.region,
      resource_id: input.resourceId,
      resource_type: input.resourceType,
      metric: input.metric,
      rate: input.rate,
      started_at: at,
      ended_at: null,
    };
    await this.insertRow(trx, row);
  }

  /**
   * Stops billing a resource (every open interval of it, or those of one metric). An interval
   * closed at or before its start bills nothing and is dropped rather than kept empty.
   */
  async close(trx: Executor, resourceId: string, at?: number, metric?: string): Promise<void> {
    let open = trx.selectFrom('metering_intervals').select(['id', 'started_at', 'account_id']).where('resource_id', '=', resourceId).where('ended_at', 'is', null);
    if (metric !== undefined) open = open.where('metric', '=', metric);
    for (const row of await open.execute()) {
      // (by default now on the account's clock)
      const end = at ?? this.clockFor(row.account_id).now();
      if (Number(row.started_at) >= end) await trx.deleteFrom('metering_intervals').where('id', '=', row.id).execute();
      else await trx.updateTable('metering_intervals').set({ ended_at: end }).where('id', '=', row.id).execute();
    }
  }

  /** Closes every open interval of these resources (resources going away in bulk). */
  async closeAll(trx: Executor, resourceIds: readonly string[], at?: number): Promise<void> {
    for (const id of resourceIds) await this.close(trx, id, at);
  }

  /** The intervals of an account that overlap [from, to), oldest first. */
  async intervals(trx: Executor, query: MeterQuery): Promise<MeterInterval[]> {
    let q = trx
      .selectFrom('metering_intervals')
      .selectAll()
      .where('account_id', '=', query.accountId)
      .where('cloud', '=', query.cloud)
      .where('started_at', '<', query.to)
      .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', query.from)]));
    if (query.scopes && query.scopes.length > 0) q = q.where('scope', 'in', [...query.scopes]);
    if (query.regions && query.regions.length > 0) q = q.where('region', 'in', [...query.regions]);
    if (query.resourceTypes && query.resourceTypes.length > 0) q = q.where('resource_type', 'in', [...query.resourceTypes]);
    if (query.resourceIds && query.resourceIds.length > 0) q = q.where('resource_id', 'in', [...query.resourceIds]);
    const rows = await q.orderBy('started_at').orderBy('id').execute();
    return rows.map(normalize);
  }

  /** The account's earliest instant of usage in a cloud, or null when it has none. */
  async firstUsage(trx: Executor, accountId: string, cloud: string): Promise<number | null> {
    const row = await trx
      .selectFrom('metering_intervals')
      .select((eb) => eb.fn.min<number>('started_at').as('first'))
      .where('account_id', '=', accountId)
      .where('cloud', '=', cloud)
      .executeTakeFirst();
    return row?.first === null || row?.first === undefined ? null : Number(row.first);
  }

  /** Distinct values of a column over an account's intervals (what a usage filter can offer). */
  async distinct(trx: Executor, accountId: string, cloud: string, column: 'scope' | 'region' | 'resource_type' | 'metric'): Promise<string[]> {
    const rows = await trx
      .selectFrom('metering_intervals')
      .select(column)
      .distinct()
      .where('account_id', '=', accountId)
      .where('cloud', '=', cloud)
      .orderBy(column)
      .execute();
    return rows.map((r) => String((r as Record<string, unknown>)[column]));
  }
}

/**
 * How much of an interval falls in each period of [from, to): periods start at `from` and
 * are `periodMs` long (a day by default, so with `from` at midnight UTC they are UTC days).
 * An open interval runs until `now`. Returns [period start, milliseconds] pairs with time in them.
 */
export function split(interval: Pick<MeterInterval, 'started_at' | 'ended_at'>, from: number, to: number, now: number, periodMs = DAY_MS): [number, number][] {
  const start = Math.max(interval.started_at, from);
  const end = Math.min(interval.ended_at ?? now, to);
  const out: [number, number][] = [];
  if (end <= start) return out;
  let period = from + Math.floor((start - from) / periodMs) * periodMs;
  while (period < end) {
    const next = period + periodMs;
    const ms = Math.min(end, next) - Math.max(start, period);
    if (ms > 0) out.push([period, ms]);
    period = next;
  }
  return out;
}

/** Units of an interval's metric for `ms` milliseconds of it. */
export function quantity(rate: number, ms: number): number {
  return (rate * ms) / HOUR_MS;
}

function normalize(row: Record<string, unknown>): MeterInterval {
  return {
    id: String(row.id),
    account_id: String(row.account_id),
    cloud: String(row.cloud),
    scope: String(row.scope),
    region: String(row.region),
    resource_id: String(row.resource_id),
    resource_type: String(row.resource_type),
    metric: String(row.metric),
    rate: Number(row.rate),
    started_at: Number(row.started_at),
    ended_at: row.ended_at === null || row.ended_at === undefined ? null : Number(row.ended_at),
  };
}
