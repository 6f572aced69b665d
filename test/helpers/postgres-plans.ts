import { sql, type Kysely } from 'kysely';
import { expect } from 'vitest';

/** Whether the suite runs on PostgreSQL (the plan tests are PostgreSQL's only). */
export const onPostgres = process.env.HANGAR_TEST_ENGINE === 'postgres' && Boolean(process.env.HANGAR_TEST_POSTGRES_URL);

/** `insert into <table> select …` copying its rows `copies` times, with the columns named in `changed` computed per copy (`i`): a burst of creates, not analysed. */
export async function copyRows(db: Kysely<any>, table: string, changed: Record<string, string>, copies = 4_000): Promise<void> {
  const { rows } = await sql<{ column_name: string }>`
    select column_name from information_schema.columns where table_schema = current_schema() and table_name = ${table} order by ordinal_position`.execute(db);
  const columns = rows.map((r) => r.column_name);
  const values = columns.map((c) => changed[c] ?? `t.${c}`);
  await sql.raw(`insert into ${table} (${columns.join(', ')}) select ${values.join(', ')} from ${table} t cross join generate_series(1, ${copies}) i`).execute(db);
}

/**
 * The plan kept for the last prepared statement whose text matches `like`: Hangar's sessions
 * keep the generic plan, made on first use (store.ts, SESSION_SETTINGS), the same whatever the
 * values, so each parameter is given as null. Run on the connection that prepared it (a
 * Hangar started with `HANGAR_DATABASE_POOL_SIZE=1`).
 */
export async function keptPlan(db: Kysely<any>, like: string): Promise<string> {
  const { rows } = await sql<{ name: string; parameters: number }>`
    select name, cardinality(parameter_types) as parameters from pg_prepared_statements where statement like ${like} order by prepare_time desc`.execute(db);
  expect(rows.length, like).toBeGreaterThan(0);
  const { name, parameters } = rows[0]!;
  const args = Array<string>(Number(parameters)).fill('null');
  return (await sql.raw<{ 'QUERY PLAN': string }>(`explain execute ${name}(${args.join(', ')})`).execute(db)).rows.map((r) => r['QUERY PLAN']).join('\n');
}

/**
 * The lines of `plan` under a `SubPlan`: a subquery PostgreSQL runs again for each row of the
 * node above it (each line of a node's subtree is indented deeper than the node).
 */
export function perRowLines(plan: string): string[] {
  const lines = plan.split('\n');
  const depth = (line: string) => line.length - line.trimStart().length;
  const found: string[] = [];
  lines.forEach((line, i) => {
    if (!/^\s*SubPlan\b/.test(line)) return;
    for (let j = i + 1; j < lines.length && depth(lines[j]!) > depth(line); j++) found.push(lines[j]!);
  });
  return found;
}
