import { CompiledQuery, LimitNode, SelectQueryNode, ValueNode, type Compilable, type Kysely, type OperationNode, type QueryResult, type RootOperationNode } from 'kysely';
import type { SharedReads } from './shared-reads.js';
import type { Executor } from './store.js';

/** A SQLite connection's statements, as a store hands them out (prepared once, kept). */
export interface DirectStatements {
  prepare(sql: string): { reader: boolean; readonly: boolean; all(...params: unknown[]): unknown[]; run(...params: unknown[]): { changes: number } };
  /** Whether a transaction is open on the connection (begun and not yet ended). */
  inTransaction(): boolean;
}

/**
 * SQLite stores whose transactions' prepared queries skip Kysely's executor, keyed by the
 * dialect adapter every Transaction shares with its Kysely instance. Kysely's path (executor,
 * connection provider, its queue, result plugins) costs more per statement than SQLite takes
 * to run most of them, and a burst of transitions runs several per transition (the figures
 * are in BENCHMARKS.md).
 */
const direct = new WeakMap<object, DirectStatements>();

/**
 * Lets prepared queries run directly on this SQLite store's one connection: inside a
 * transaction, which holds the connection, so a statement run on it is the transaction's; and
 * outside one, reads only, while no transaction is open on the connection. Such a read sees
 * what is committed, as it would after waiting its turn in Kysely's queue: better-sqlite3
 * runs it to the end before anything else can. While a transaction is open (between its
 * awaits), a read outside it waits in the queue as before, so it never sees uncommitted rows.
 */
export function runDirectlyInTransactions(db: Kysely<any>, statements: DirectStatements): void {
  direct.set(db.getExecutor().adapter, statements);
}

/** PostgreSQL stores whose prepared reads outside a transaction go on shared connections (see SharedReads), by adapter as `direct`. */
const shared = new WeakMap<object, SharedReads>();

/** Sends this PostgreSQL store's prepared reads made outside a transaction on `reads`' connections. */
export function readOnSharedConnections(db: Kysely<any>, reads: SharedReads): void {
  shared.set(db.getExecutor().adapter, reads);
}

/** Where a run's argument goes among a compiled query's parameters. */
class Slot {
  constructor(readonly index: number) {}
}

/**
 * A query Kysely builds and compiles once, then runs many times with new argument values.
 * Building and compiling a query costs more than SQLite takes to run a simple one, and the
 * hot paths (a credential lookup on every request, an instance by id, a page of a list) run
 * the same few queries all day. The SQL is the one Kysely would have produced for the engine
 * in use ($n placeholders on PostgreSQL, ? on SQLite), compiled on first use.
 *
 * `build` receives one placeholder per argument (as many as it declares, or `arity`) and must
 * use each as a plain value (a comparison operand, a limit, an inserted value), never to shape
 * the query (a list whose length varies, a column name): such queries get one prepared form per
 * shape (see `byShape`).
 *
 *   const find = prepared((id, account) => db.selectFrom('t').selectAll().where('id', '=', id).where('account_id', '=', account));
 *   const rows = await find(trx, id, accountId);
 */
export function prepared<R = Record<string, any>>(
  build: (...args: any[]) => Compilable<any>,
  arity = build.length,
): (executor: Executor, ...args: unknown[]) => Promise<R[]> {
  const run = compileOnce(build, arity);
  return async (executor, ...args) => (await run(executor, args)).rows as R[];
}

/** A prepared insert, update or delete: resolves to the number of rows it changed. */
export function preparedWrite(build: (...args: any[]) => Compilable<any>, arity = build.length): (executor: Executor, ...args: unknown[]) => Promise<number> {
  const run = compileOnce(build, arity);
  return async (executor, ...args) => {
    const result = await run(executor, args);
    return Number(result.numAffectedRows ?? 0n);
  };
}

/**
 * A prepared insert, update or delete whose answer nobody reads: the row it writes is the
 * transaction's, and a failure fails the transaction. Inside a transaction on PostgreSQL it is
 * held and written with the transaction's next statement (or its COMMIT), in one socket write,
 * so a create's inserts cost no round trip each (see store.ts). Its error, if any, fails that
 * next statement instead. On SQLite, and outside a transaction, it runs at once.
 */
export function heldWrite(build: (...args: any[]) => Compilable<any>, arity = build.length): (executor: Executor, ...args: unknown[]) => Promise<void> {
  const run = compileOnce(build, arity, true);
  return async (executor, ...args) => {
    await run(executor, args);
  };
}

/**
 * A held insert of one row into `table` (see `heldWrite`), compiled on first use, by the
 * executor given (a Kysely instance or transaction, not a `together` part's), from the row's
 * columns: every row passed must have those same keys (rows made by one object literal).
 */
export function heldInsert<Row extends object>(table: string): (executor: Executor, row: Row) => Promise<void> {
  let form: { columns: string[]; write: (executor: Executor, ...args: unknown[]) => Promise<void> } | null = null;
  return (executor, row) => {
    if (form === null) {
      const columns = Object.keys(row);
      form = { columns, write: heldWrite((...values) => executor.insertInto(table).values(Object.fromEntries(columns.map((c, i) => [c, values[i]]))), columns.length) };
    }
    return form.write(executor, ...form.columns.map((c) => (row as Record<string, unknown>)[c]));
  };
}

/**
 * Runs prepared statements together, each part given an executor to run its statements on:
 * on PostgreSQL, in a transaction, they are written at once (with whatever the transaction
 * holds) and answered together, one round trip where each would wait for the one before.
 * Every part runs to its end whatever the others' answers, so only statements whose effects
 * the caller judges afterwards belong here (a refusal throws, and the transaction undoes them
 * all). Parts may run prepared statements only (this file's), not Kysely's builders.
 */
export async function together<T extends unknown[]>(executor: Executor, ...parts: { [K in keyof T]: (executor: Executor) => Promise<T[K]> }): Promise<T> {
  if (!runsTogether(executor)) {
    const results: unknown[] = [];
    for (const part of parts) results.push(await part(executor));
    return results as T;
  }
  // Kysely runs a transaction's queries one after the other; inside one turn of it, its
  // connection takes them all at once (the pool's clients pipeline, see store.ts).
  return executor.getExecutor().provideConnection(async (connection) => {
    const onConnection = { isTransaction: true, getExecutor: () => executor.getExecutor(), executeQuery: (query: CompiledQuery) => connection.executeQuery(query) } as unknown as Executor;
    const settled = await Promise.allSettled(parts.map((part) => part(onConnection)));
    const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as T;
  });
}

/** Whether `together` sends its parts' statements at once here (a PostgreSQL transaction), or one after the other. */
export function runsTogether(executor: Executor): boolean {
  return executor.isTransaction && !direct.has(executor.getExecutor().adapter);
}

/**
 * A write that sent statements `together` found it must take its rows one after the other
 * instead (see Counters.acquireAllThen): its transaction is undone and the caller does it again,
 * in turn.
 */
export class TakeInTurn extends Error {
  constructor() {
    super('the write must take its rows in turn: done again');
  }
}

/** Runs a write that takes rows `together`, and runs it again with `inTurn` if it throws TakeInTurn. */
export async function togetherOrInTurn<T>(write: (inTurn: boolean) => Promise<T>): Promise<T> {
  try {
    return await write(false);
  } catch (error) {
    if (!(error instanceof TakeInTurn)) throw error;
  }
  return write(true);
}

/** The SQL of every `heldWrite`: the PostgreSQL client holds these back inside a transaction. */
const heldStatements = new Set<string>();
/** The SQL of every other prepared query: one of the same text whose answer is read is never held. */
const answeredStatements = new Set<string>();

export function isHeldWrite(sql: string): boolean {
  return heldStatements.has(sql) && !answeredStatements.has(sql);
}

/**
 * The SQL of every prepared query, each with a name of its own: PostgreSQL connections keep
 * them as named statements (parsed and planned once per connection, see store.ts), where
 * other queries are parsed and planned again each time they run.
 */
const statementNames = new Map<string, string>();

/** The name of a prepared query's SQL (undefined for any other query). */
export function statementName(sql: string): string | undefined {
  return statementNames.get(sql);
}

interface Template {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

function compileOnce(build: (...args: any[]) => Compilable<any>, arity: number, held = false) {
  const slots = Array.from({ length: arity }, (_, i) => new Slot(i));
  const remember = (compiled: CompiledQuery): Template => {
    if (!statementNames.has(compiled.sql)) statementNames.set(compiled.sql, `hangar_${statementNames.size + 1}`);
    (held ? heldStatements : answeredStatements).add(compiled.sql);
    return { sql: compiled.sql, parameters: compiled.parameters };
  };
  let template: Template | null = null;
  /** Whether the query only reads (a select): outside a transaction, it may go on a shared connection. */
  let reads = false;
  /** The arguments limits take (a subquery's too), and the forms made for their values (SQLite: see below). */
  let limits: Slot[] = [];
  const byLimit = new Map<string, Template>();
  return (executor: Executor, args: unknown[]): Promise<QueryResult<unknown>> => {
    if (template === null) {
      const compiled = build(...slots).compile();
      limits = limitSlots(compiled.query);
      reads = SelectQueryNode.is(compiled.query);
      template = remember(compiled);
    }
    // (getExecutor is marked internal in Kysely's typings; it is how a Transaction reaches its adapter)
    const { adapter } = executor.getExecutor();
    const statements = direct.get(adapter);
    // SQLite prepares a statement again each time a value is bound to a limit (see store.ts,
    // TargetsCompiler): there, each set of limit values gets a form of its own, the values in its SQL.
    let form = template;
    if (limits.length > 0 && statements !== undefined && limits.every((slot) => Number.isSafeInteger(args[slot.index]))) {
      const key = limits.map((slot) => args[slot.index]).join(' ');
      let made = byLimit.get(key);
      if (made === undefined) {
        if (byLimit.size >= LIMIT_FORMS) byLimit.clear();
        made = remember(build(...slots.map((slot) => (limits.includes(slot) ? args[slot.index] : slot))).compile());
        byLimit.set(key, made);
      }
      form = made;
    }
    const parameters = form.parameters.map((p) => (p instanceof Slot ? args[p.index] : p));
    if (statements === undefined) {
      const read = reads && !executor.isTransaction ? shared.get(adapter)?.read(form.sql, parameters) : null;
      return read ?? executor.executeQuery(CompiledQuery.raw(form.sql, parameters));
    }
    if (!executor.isTransaction && statements.inTransaction()) return executor.executeQuery(CompiledQuery.raw(form.sql, parameters));
    try {
      const statement = statements.prepare(form.sql);
      if (!executor.isTransaction && !statement.readonly) return executor.executeQuery(CompiledQuery.raw(form.sql, parameters));
      if (statement.reader) return Promise.resolve({ rows: statement.all(...parameters) });
      return Promise.resolve({ rows: [], numAffectedRows: BigInt(statement.run(...parameters).changes) });
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

/** Forms of one prepared query kept by limit values, at most (page sizes are few). */
const LIMIT_FORMS = 128;

/** The arguments given as limits anywhere in a query (a subquery's included). */
function limitSlots(query: RootOperationNode): Slot[] {
  const found = new Set<Slot>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object' || typeof (node as OperationNode).kind !== 'string') return;
    if (LimitNode.is(node as OperationNode)) {
      const { limit } = node as LimitNode;
      if (ValueNode.is(limit) && limit.value instanceof Slot) found.add(limit.value);
    }
    for (const child of Object.values(node)) if (typeof child === 'object') visit(child);
  };
  visit(query);
  return [...found];
}

/**
 * Prepared forms of a query whose shape depends on something other than its values (the
 * number of ids in an `in` list, say): one per shape key, made on first use. `make` returns
 * the builder and how many arguments it takes.
 */
export function byShape<K, R = Record<string, any>>(make: (key: K) => [arity: number, build: (...args: any[]) => Compilable<any>], limit = 256) {
  return shaped(make, limit, (build, arity) => prepared<R>(build, arity));
}

/** `byShape` for writes whose answer nobody reads (see `heldWrite`). */
export function heldByShape<K>(make: (key: K) => [arity: number, build: (...args: any[]) => Compilable<any>], limit = 256) {
  return shaped(make, limit, heldWrite);
}

function shaped<K, F>(make: (key: K) => [arity: number, build: (...args: any[]) => Compilable<any>], limit: number, form: (build: (...args: any[]) => Compilable<any>, arity: number) => F) {
  const forms = new Map<K, F>();
  return (key: K): F => {
    let made = forms.get(key);
    if (made === undefined) {
      if (forms.size >= limit) forms.clear();
      const [arity, build] = make(key);
      made = form(build, arity);
      forms.set(key, made);
    }
    return made;
  };
}

/**
 * A list for a `byShape` form: the items, the last repeated up to the next power of two, so a
 * few forms serve every length. Only for statements where a repeat changes nothing (an id in
 * an `in` list, a row of new values set again).
 */
export function paddedList<T>(items: readonly T[]): T[] {
  const length = 2 ** Math.ceil(Math.log2(Math.max(1, items.length)));
  return [...items, ...Array<T>(length - items.length).fill(items[items.length - 1]!)];
}
