import { sql, type Compilable, type Kysely, type RawBuilder } from 'kysely';
import type { Executor } from '../db/store.js';
import { byShape, heldByShape, heldWrite, paddedList, prepared, preparedWrite } from '../db/prepared.js';

/** An audit entry's values, in the order of LOG_COLUMNS. */
export type LogValues = [id: string, kind: string, resourceId: string, transition: string, from: string, to: string | null, dueAt: number, appliedAt: number];
const LOG_COLUMNS = ['id', 'kind', 'resource_id', 'transition', 'from_state', 'to_state', 'due_at', 'applied_at'] as const;
/** The columns' types, as a PostgreSQL insert of column arrays casts them. */
const LOG_TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint'] as const;

/**
 * The lifecycle engine's SQL: the statements every transition runs and those a batch writes
 * its rows and audit entries with, each built and compiled once per shape (see db/prepared.ts).
 */
export class EngineStatements {
  constructor(
    private readonly db: Kysely<any>,
    private readonly engine: 'sqlite' | 'postgres' = 'sqlite',
  ) {}

  /** SQLite: claims (deletes) a batch's timers; resolves with the ids it deleted. (PostgreSQL's batch claims its timers as it picks them.) */
  claim(trx: Executor, ids: string[]): Promise<Record<string, any>[]> {
    const list = paddedList(ids);
    return this.claimTimers(list.length)(trx, ...list);
  }

  /** The rows of `table` with these ids. */
  rows(trx: Executor, table: string, ids: string[]): Promise<Record<string, any>[]> {
    if (this.engine === 'postgres') return this.rowsIn(table)(trx, ids);
    const list = paddedList(ids);
    return this.rowsOf(`${table} ${list.length}`)(trx, ...list);
  }

  /** A batch's audit entries, in one statement. */
  async insertLogs(trx: Executor, logs: LogValues[]): Promise<void> {
    if (logs.length === 0) return;
    if (this.engine === 'postgres') await this.logsFromArrays(trx, ...LOG_COLUMNS.map((_, i) => logs.map((entry) => entry[i])));
    else await this.logsFromValues(logs.length)(trx, ...logs.flat());
  }

  // The statements every transition runs, built and compiled once (see db/prepared.ts); the
  // row's table, and the columns a transition sets, give each its own form.
  readonly insertTimer = heldWrite((id, kind, resourceId, transition, dueAt, createdAt, held, readsLeft, accountId, ownClock) =>
    this.db.insertInto('lifecycle_timers').values({
      id,
      kind,
      resource_id: resourceId,
      transition,
      due_at: dueAt,
      created_at: createdAt,
      held,
      reads_left: readsLeft,
      account: accountId,
      own_clock: ownClock,
    }),
  );
  readonly claimTimer = preparedWrite((id) => this.db.deleteFrom('lifecycle_timers').where('id', '=', id));
  readonly rowOf = byShape<string>((table) => [1, (id) => this.db.selectFrom(table).selectAll().where('id', '=', id)]);
  // SQLite: the batch forms take lists padded to a power of two (a handful of forms, not one per length)
  private readonly claimTimers = byShape<number>((n) => [n, (...ids) => this.db.deleteFrom('lifecycle_timers').where('id', 'in', ids).returning('id')]);
  private readonly rowsOf = byShape<string>((shape) => {
    const [table, n] = shape.split(' ');
    return [Number(n), (...ids) => this.db.selectFrom(table!).selectAll().where('id', 'in', ids)];
  });
  readonly deleteRow = byShape<string>((table) => [1, (id) => this.db.deleteFrom(table).where('id', '=', id)]);
  /** SQLite: `n` rows' new values, each an id and then the columns', joined to the table from a `values` list. */
  readonly updateRows = byShape<string>((key) => {
    const parts = key.split(' ');
    const [table, n] = [parts[0]!, Number(parts[parts.length - 1])];
    const columns = parts.slice(1, -1);
    return [
      n * (columns.length + 1),
      (...values) => {
        const rows = Array.from({ length: n }, (_, r) => sql`(${sql.join(values.slice(r * (columns.length + 1), (r + 1) * (columns.length + 1)))})`);
        return this.compilable(
          sql`with v(${sql.join(['id', ...columns].map((c) => sql.id(c)))}) as (values ${sql.join(rows)})
            update ${sql.table(table)} set ${sql.join(columns.map((c) => sql`${sql.id(c)} = v.${sql.id(c)}`))}
            from v where ${sql.table(table)}.id = v.id`,
        );
      },
    ];
  });
  /** PostgreSQL: the rows' new values as one JSON list, typed by the table's own row type. */
  readonly updateRowsFromJson = heldByShape<string>((shape) => {
    const [table, ...columns] = shape.split(' ') as [string, ...string[]];
    return [
      1,
      (records) =>
        this.compilable(
          sql`update ${sql.table(table)} set ${sql.join(columns.map((c) => sql`${sql.id(c)} = v.${sql.id(c)}`))}
            from json_populate_recordset(null::${sql.table(table)}, ${records}::json) as v where ${sql.table(table)}.id = v.id`,
        ),
    ];
  });
  /** A raw statement as the prepared forms take it. */
  private compilable(query: RawBuilder<unknown>): Compilable<unknown> {
    return { compile: () => query.compile(this.db) };
  }
  // PostgreSQL: a batch's lists as arrays, one parameter each. A statement of 768 ids (or of
  // 768 audit entries' 6,144 values) binds and plans as one of a single id does.
  private readonly rowsIn = byShape<string>((table) => [1, (ids) => this.compilable(sql`select * from ${sql.table(table)} where id = any(${ids}::text[])`)]);
  private readonly logsFromArrays = heldWrite((...columns) =>
    this.compilable(
      sql`insert into lifecycle_log (${sql.join(LOG_COLUMNS.map((c) => sql.id(c)))})
        select * from unnest(${sql.join(columns.map((c, i) => sql`${c}::${sql.raw(LOG_TYPES[i]!)}[]`))})`,
    ),
    LOG_COLUMNS.length,
  );
  private readonly logsFromValues = byShape<number>((n) => [
    n * LOG_COLUMNS.length,
    (...values) =>
      this.db.insertInto('lifecycle_log').values(Array.from({ length: n }, (_, r) => Object.fromEntries(LOG_COLUMNS.map((c, i) => [c, values[r * LOG_COLUMNS.length + i]])))),
  ]);
}
