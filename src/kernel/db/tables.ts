import { PostgresAdapter, sql, type Kysely } from 'kysely';
import type { Engine } from './store.js';

export interface TableInfo {
  name: string;
  columns: string[];
  /** Tables this one's foreign keys point at. */
  parents: string[];
}

/**
 * The store's data tables (every module's, migration bookkeeping excluded), ordered so that
 * a table comes after the tables it references: insert in this order, delete in reverse.
 */
export async function dataTables(db: Kysely<any>, engine: Engine, schema: string | null): Promise<TableInfo[]> {
  const tables = (await tablesOf(db, engine, schema))
    .filter((t) => !/_migrations(_lock)?$/.test(t.name))
    .map((t) => ({ ...t, parents: [] as string[] }));
  const parents = await foreignParents(db, engine, schema);
  for (const table of tables) table.parents = [...(parents.get(table.name) ?? [])];
  return topological(tables);
}

/**
 * Every table of the store with its columns in order. On PostgreSQL only our schema's catalog
 * rows are read: Kysely's introspector reads every schema's, and fails when another schema of
 * the database is dropped meanwhile (another Hangar's, or another test run's).
 */
export async function tablesOf(db: Kysely<any>, engine: Engine, schema: string | null): Promise<{ name: string; columns: string[] }[]> {
  const rows =
    engine === 'sqlite'
      ? await sql<{ table: string; column: string }>`
          select m.name as "table", c.name as "column"
          from sqlite_master m join pragma_table_info(m.name) c
          where m.type = 'table' and m.name not like 'sqlite_%'
          order by m.name, c.cid`.execute(db)
      : await sql<{ table: string; column: string }>`
          select c.relname as "table", a.attname as "column"
          from pg_catalog.pg_class c
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          join pg_catalog.pg_attribute a on a.attrelid = c.oid
          where n.nspname = ${schema ?? 'public'} and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
          order by c.relname, a.attnum`.execute(db);
  const tables = new Map<string, string[]>();
  for (const row of rows.rows) {
    const columns = tables.get(row.table) ?? [];
    columns.push(row.column);
    tables.set(row.table, columns);
  }
  return [...tables].map(([name, columns]) => ({ name, columns }));
}

/** Every table's foreign key targets, read in one query (on PostgreSQL each is a round trip). */
async function foreignParents(db: Kysely<any>, engine: Engine, schema: string | null): Promise<Map<string, Set<string>>> {
  const rows =
    engine === 'sqlite'
      ? await sql<{ child: string; parent: string }>`
          select m.name as child, f."table" as parent
          from sqlite_master m join pragma_foreign_key_list(m.name) f
          where m.type = 'table'`.execute(db)
      : // (pg_catalog, not information_schema, whose views check privileges on every schema's rows)
        await sql<{ child: string; parent: string }>`
          select distinct c.relname as child, p.relname as parent
          from pg_catalog.pg_constraint k
          join pg_catalog.pg_class c on c.oid = k.conrelid
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          join pg_catalog.pg_class p on p.oid = k.confrelid
          where k.contype = 'f' and n.nspname = ${schema ?? 'public'}`.execute(db);
  const parents = new Map<string, Set<string>>();
  for (const { child, parent } of rows.rows) parents.set(child, (parents.get(child) ?? new Set()).add(parent));
  return parents;
}

function topological(tables: TableInfo[]): TableInfo[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const done = new Set<string>();
  const out: TableInfo[] = [];
  const visit = (t: TableInfo, path: Set<string>) => {
    if (done.has(t.name) || path.has(t.name)) return;
    path.add(t.name);
    for (const parent of [...t.parents].sort()) {
      const p = byName.get(parent);
      if (p && p !== t) visit(p, path);
    }
    done.add(t.name);
    out.push(t);
  };
  for (const t of [...tables].sort((a, b) => a.name.localeCompare(b.name))) visit(t, new Set());
  return out;
}

/**
 * What a store holds now, for migrations that must find out before they change it (one that
 * brings a store made by an older schema up to date adds only what is missing). Reads the
 * current schema on PostgreSQL (the search path a store's connections have).
 */
export async function storeShape(db: Kysely<any>): Promise<StoreShape> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const columns = postgres
    ? await sql<{ table: string; column: string }>`
        select table_name as "table", column_name as "column" from information_schema.columns where table_schema = current_schema()`.execute(db)
    : await sql<{ table: string; column: string }>`
        select m.name as "table", c.name as "column" from sqlite_master m join pragma_table_info(m.name) c where m.type = 'table'`.execute(db);
  const indexes = postgres
    ? await sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = current_schema()`.execute(db)
    : await sql<{ name: string }>`select name from sqlite_master where type = 'index'`.execute(db);
  const tables = new Map<string, Set<string>>();
  for (const { table, column } of columns.rows) tables.set(table, (tables.get(table) ?? new Set()).add(column));
  const indexNames = new Set(indexes.rows.map((r) => r.name));
  return {
    hasTable: (table) => tables.has(table),
    hasColumn: (table, column) => tables.get(table)?.has(column) ?? false,
    hasIndex: (name) => indexNames.has(name),
  };
}

export interface StoreShape {
  hasTable(table: string): boolean;
  hasColumn(table: string, column: string): boolean;
  hasIndex(name: string): boolean;
}
