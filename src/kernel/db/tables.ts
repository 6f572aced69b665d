import { sql, type Kysely } from 'kysely';
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
  const tables = (await db.introspection.getTables())
    .filter((t) => !t.isView && !/_migrations(_lock)?$/.test(t.name) && (schema === null || t.schema === schema))
    .map((t) => ({ name: t.name, columns: t.columns.map((c) => c.name), parents: [] as string[] }));
  for (const table of tables) table.parents = await foreignParents(db, engine, table.name);
  return topological(tables);
}

async function foreignParents(db: Kysely<any>, engine: Engine, table: string): Promise<string[]> {
  if (engine === 'sqlite') {
    const rows = await sql<{ table: string }>`select "table" from pragma_foreign_key_list(${table})`.execute(db);
    return [...new Set(rows.rows.map((r) => r.table))];
  }
  const rows = await sql<{ parent: string }>`
    select distinct ccu.table_name as parent
    from information_schema.table_constraints tc
    join information_schema.constraint_column_usage ccu on ccu.constraint_name = tc.constraint_name and ccu.table_schema = tc.table_schema
    where tc.constraint_type = 'FOREIGN KEY' and tc.table_name = ${table} and tc.table_schema = current_schema()`.execute(db);
  return rows.rows.map((r) => r.parent);
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
