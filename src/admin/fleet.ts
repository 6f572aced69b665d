import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { FleetSource } from '../http/cloud.js';

/** What the fleet table filters by; every field optional, all given ones must hold. */
export interface FleetFilter {
  cloud?: string;
  account?: string;
  /** A Crusoe project id. */
  project?: string;
  kind?: string;
  status?: string;
  region?: string;
  /** An id, exactly, or a part of a name (any case). */
  q?: string;
}

/** One line of the fleet table. */
export interface FleetLine {
  id: string;
  cloud: string;
  kind: string;
  name: string;
  status: string | null;
  region: string | null;
  account_id: string;
  project_id: string | null;
  type: string | null;
  created_at: string;
}

/** How many resources have each value of a column: what the console's filters offer. */
export interface FleetFacets {
  total: number;
  clouds: Record<string, number>;
  kinds: Record<string, number>;
  statuses: Record<string, number>;
  regions: Record<string, number>;
  accounts: Record<string, number>;
  projects: Record<string, number>;
}

const text = (column: string | null) => (column === null ? sql<string | null>`cast(null as text)` : sql.ref<string | null>(column));

/** A kind's status as its wire names it: the stored column, or a CASE over it where the wire renames states. */
function statusOf(source: FleetSource) {
  const column = source.columns.status;
  if (column === null || source.wireStatus === undefined) return text(column);
  const { map, otherwise } = source.wireStatus;
  const whens = Object.entries(map).map(([stored, wire]) => sql`when ${sql.lit(stored)} then ${sql.lit(wire)}`);
  return sql<string | null>`(case ${sql.ref(column)} ${sql.join(whens, sql` `)} else ${otherwise === undefined ? sql.ref(column) : sql.lit(otherwise)} end)`;
}

/**
 * Every resource of every cloud as one table: each kind's rows read from its own table with
 * its columns renamed to the fleet's, joined with UNION ALL, sorted and paged by the store.
 * The filters apply inside each kind's query (a kind without a status or region column drops
 * out when one is asked for), so an index on a kind's table is used where one fits.
 */
export class Fleet {
  constructor(
    private readonly db: Kysely<any>,
    readonly sources: readonly FleetSource[],
  ) {}

  kinds(): string[] {
    return this.sources.map((s) => s.kind);
  }

  private union(filter: FleetFilter): SelectQueryBuilder<any, any, any> | null {
    const queries: SelectQueryBuilder<any, any, any>[] = [];
    for (const source of this.sources) {
      const c = source.columns;
      if (filter.cloud !== undefined && source.cloud !== filter.cloud) continue;
      if (filter.kind !== undefined && source.kind !== filter.kind) continue;
      if ((filter.status !== undefined && c.status === null) || (filter.region !== undefined && c.region === null)) continue;
      if (filter.project !== undefined && c.project === null) continue;
      let query = this.db.selectFrom(source.table).select([
        sql.ref<string>('id').as('id'),
        sql.lit(source.cloud).as('cloud'),
        sql.lit(source.kind).as('kind'),
        sql.ref<string>(c.name).as('name'),
        statusOf(source).as('status'),
        text(c.region).as('region'),
        sql.ref<string>('account_id').as('account_id'),
        text(c.project).as('project_id'),
        text(c.type).as('type'),
        sql.ref<number>('created_at').as('created_at'),
      ]);
      if (filter.account !== undefined) query = query.where('account_id', '=', filter.account);
      if (filter.project !== undefined) query = query.where(c.project!, '=', filter.project);
      if (filter.status !== undefined) query = query.where(statusOf(source), '=', filter.status);
      if (filter.region !== undefined) query = query.where(c.region!, '=', filter.region);
      if (filter.q !== undefined && filter.q !== '') {
        const pattern = `%${filter.q.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
        const q = filter.q;
        query = query.where((eb) => eb.or([eb('id', '=', q), sql<boolean>`lower(${sql.ref(c.name)}) like ${pattern} escape '\\'`]));
      }
      queries.push(query);
    }
    if (queries.length === 0) return null;
    return queries.reduce((all, next) => all.unionAll(next));
  }

  /** A page of the filtered fleet, newest first, and how many match in all. */
  async page(filter: FleetFilter, offset: number, limit: number): Promise<{ total: number; resources: FleetLine[] }> {
    const union = this.union(filter);
    if (union === null) return { total: 0, resources: [] };
    const [count, rows] = await Promise.all([
      this.db
        .selectFrom(union.as('fleet'))
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow(),
      this.db.selectFrom(union.as('fleet')).selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit).offset(offset).execute(),
    ]);
    return { total: Number(count.n), resources: rows.map(line) };
  }

  /** Counts by cloud, kind, status, region, account and project over the whole fleet. */
  async facets(): Promise<FleetFacets> {
    const union = this.union({});
    const facets: FleetFacets = { total: 0, clouds: {}, kinds: {}, statuses: {}, regions: {}, accounts: {}, projects: {} };
    if (union === null) return facets;
    const rows = await this.db
      .selectFrom(union.as('fleet'))
      .select(['cloud', 'kind', 'status', 'region', 'account_id', 'project_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['cloud', 'kind', 'status', 'region', 'account_id', 'project_id'])
      .execute();
    const add = (into: Record<string, number>, key: unknown, n: number) => {
      if (key === null || key === undefined) return;
      into[String(key)] = (into[String(key)] ?? 0) + n;
    };
    for (const row of rows) {
      const n = Number(row.n);
      facets.total += n;
      add(facets.clouds, row.cloud, n);
      add(facets.kinds, row.kind, n);
      add(facets.statuses, row.status, n);
      add(facets.regions, row.region, n);
      add(facets.accounts, row.account_id, n);
      add(facets.projects, row.project_id, n);
    }
    return facets;
  }

  /** The resource with this id, of whichever kind holds it, with its stored row. */
  async find(id: string): Promise<{ source: FleetSource; row: Record<string, unknown> } | null> {
    for (const source of this.sources) {
      const row = await this.db.selectFrom(source.table).selectAll().where('id', '=', id).executeTakeFirst();
      if (row) return { source, row };
    }
    return null;
  }

  /** Fleet lines of these ids (those that exist). */
  async lines(ids: readonly string[]): Promise<FleetLine[]> {
    if (ids.length === 0) return [];
    const union = this.union({});
    if (union === null) return [];
    const rows = await this.db.selectFrom(union.as('fleet')).selectAll().where('id', 'in', ids).execute();
    return rows.map(line);
  }
}

function line(row: Record<string, unknown>): FleetLine {
  return {
    id: String(row.id),
    cloud: String(row.cloud),
    kind: String(row.kind),
    name: String(row.name),
    status: row.status === null ? null : String(row.status),
    region: row.region === null ? null : String(row.region),
    account_id: String(row.account_id),
    project_id: row.project_id === null ? null : String(row.project_id),
    type: row.type === null ? null : String(row.type),
    created_at: new Date(Number(row.created_at)).toISOString(),
  };
}
