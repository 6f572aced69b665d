import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { AliasNode, ColumnNode, Kysely, PostgresDialect, SqliteDialect, SqliteQueryCompiler, TableNode, ValueNode, sql, type CompiledQuery, type LimitNode, type OperationNode, type QueryCompiler, type QueryId, type RootOperationNode, type SqliteDialectConfig, type Transaction } from 'kysely';
import type pgModule from 'pg';
import { StoreBusy } from './errors.js';
import { isHeldWrite, readOnSharedConnections, runDirectlyInTransactions, statementName } from './prepared.js';
import { ROW_CHANGED_FUNCTION, RowTexts, type WatchedTables } from './row-texts.js';
import { SharedReads } from './shared-reads.js';
import { commitWatcher } from './wal-index.js';

/**
 * The store: one Kysely instance over the configured engine. Cloud code receives a Kysely
 * handle and never learns which engine sits behind it, so the same code runs on SQLite (the
 * embedded default) and on PostgreSQL.
 */
export type Engine = 'sqlite' | 'postgres';

/** A handle queries run on: the store itself or an open transaction. */
export type Executor = Kysely<any> | Transaction<any>;

export interface Store {
  readonly db: Kysely<any>;
  readonly engine: Engine;
  /** Where the data lives, for start-up messages (never contains a password). */
  readonly location: string;
  /** The PostgreSQL schema the tables live in (null on SQLite). */
  readonly schema: string | null;
  /**
   * Runs `fn` while holding a lock named `name` across every process on this store (replicas
   * starting together must not both bootstrap an empty store). SQLite has one process.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Competes for `role` with every other process on this store, for as long as this process
   * runs: `gained` runs once this process holds it, `lost` once it no longer does (its
   * PostgreSQL session ended, or it gave the role up); a process without it tries again every
   * `retryMs`, so another takes over when the holder goes away. SQLite has one process: it
   * holds every role at once. Resolves after the first try (and its `gained`), to a function
   * that gives the role up.
   */
  lead(role: string, handlers: RoleHandlers, retryMs?: number): Promise<() => Promise<void>>;
  /** Tells every other process on this store that `topic` changed. */
  notify(topic: string): Promise<void>;
  /** Hears `notify` from the other processes; resolves to a function that stops listening. */
  listen(topic: string, handler: () => void): Promise<() => Promise<void>>;
  /**
   * Declares a list over `table` ordered within `ordering` (e.g. an account's rows by `seq`:
   * `['account_id', 'seq']`): an update that sets one of these columns moves rows in the list,
   * and so moves `writeVersion(table)` as an insert or a delete does. Undefined where
   * `writeVersion` is.
   */
  declareList?(table: string, ordering: readonly string[]): void;
  /**
   * A token that changes whenever rows of `table` may have been added or removed (or moved in
   * a declared list's order, see declareList) by anyone since it was last read. A reader that saw the same token
   * before and after its queries knows they saw the same rows, and can keep what it learnt of
   * their positions. Undefined where the engine cannot tell (PostgreSQL, whose replicas write
   * without telling each other).
   */
  writeVersion?(table: string): string;
  /**
   * A token that changes whenever anything in `table` may have changed (any insert, update or
   * delete, by this process or another): what was read from the table is still right while
   * it is the same. Undefined where the engine cannot tell (PostgreSQL).
   */
  tableVersion?(table: string): string;
  /**
   * Changes whenever anything in the store may have changed: any write statement run on this
   * process's connection, or a commit by another connection. An answer computed from reads
   * that began at one version is still right while the version is the same. Undefined where
   * the engine cannot tell (PostgreSQL).
   */
  readVersion?(): string;
  /**
   * The wire texts of `table`'s rows, kept between reads (see row-texts.ts): `watched` names
   * each table whose changes make a row's text stale, and how a changed row names the rows it
   * belongs to (see WatchedTables). One set per table. Undefined where the
   * engine cannot tell when a row changed (PostgreSQL, whose replicas write without telling
   * each other).
   */
  rowTexts?(table: string, watched: WatchedTables): RowTexts;
  /** The connection pool as it stands (PostgreSQL; undefined on SQLite, which has one connection). */
  poolStats?(): { size: number; total: number; idle: number; waiting: number; shared: number };
  close(): Promise<void>;
}

/** What a process does when it gains or loses a role (see Store.lead). */
export interface RoleHandlers {
  gained(): Promise<void>;
  lost(): Promise<void>;
}

/** How often a process without a role tries again to take it. */
const ROLE_RETRY_MS = 2_000;

/**
 * PostgreSQL's connection pool. Opening a connection and waiting for a free one are bounded
 * apart: a connection that cannot be opened within `connectTimeoutMs` means the database is
 * unreachable (503), while a burst that finds every connection in use queues for one, up to
 * `queueLimit` requests waiting at once for up to `queueTimeoutMs` each, and then succeeds.
 */
export interface PoolOptions {
  /** Connections per process (HANGAR_DATABASE_POOL_SIZE). */
  size?: number;
  connectTimeoutMs?: number;
  queueTimeoutMs?: number;
  queueLimit?: number;
  /**
   * Whether queries that repeat run as named statements (HANGAR_DATABASE_NAMED_STATEMENTS):
   * off for a connection pooler that cannot keep them between transactions (PgBouncer in
   * transaction mode before 1.21).
   */
  namedStatements?: boolean;
}

export const POOL_DEFAULTS = { size: 10, connectTimeoutMs: 5_000, queueTimeoutMs: 30_000, queueLimit: 1_000, namedStatements: true } as const;

export async function openStore(url: string, options: PoolOptions = {}): Promise<Store> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url, { ...POOL_DEFAULTS, ...options });
  throw new Error(`HANGAR_DATABASE_URL must start with sqlite: or postgres:// (got "${url}")`);
}

type Pg = typeof pgModule;
let pgLoaded: Pg | null = null;

/** The PostgreSQL driver, loaded on first use (an SQLite run never needs it; start-up counts). */
async function loadPg(): Promise<Pg> {
  if (pgLoaded) return pgLoaded;
  const pg = (await import('pg')).default;
  // Counts and epoch milliseconds are int8 in PostgreSQL; they all fit a JS number.
  pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
  return (pgLoaded = pg);
}

/**
 * PostgreSQL through a pool. A `schema` query parameter (Hangar's own, not libpq's) puts
 * every table in that schema, created if missing: several Hangars, or test runs, can share
 * one database without seeing each other.
 */
/**
 * How PostgreSQL plans Hangar's statements (PostgreSQL 12 or later), set on each connection.
 * - Named statements are planned once per connection. By default PostgreSQL plans one again
 *   at each execution while a plan for its values looks cheaper than the generic one, and for
 *   a page of a list (a LIMIT and an OFFSET it cannot see) it always did: planning cost more
 *   than running (~250 of ~450 µs of PostgreSQL's CPU per page; BENCHMARKS.md, issue 23,
 *   twelfth round).
 * - No sequential scan where an index serves. A plan made while a table was small and
 *   analysed (autovacuum analyses a table from its 50th row) reads the whole table, cheapest
 *   at that size, and is kept until the table is analysed again, which a burst of creates
 *   outruns: lookups that read the whole of a grown table. Every statement Hangar runs on a
 *   request has its index (test/genesis/page-plan.test.ts, test/crusoe/page-plan.test.ts);
 *   one without still scans.
 * - No JIT compilation. A generic plan cannot see a LIMIT's value and costs a page as a tenth
 *   of the account's rows, which on an account of a million instances passes the cost at which
 *   PostgreSQL compiles a query: 0.7 s of compiling for a page that reads 50 rows.
 */
const SESSION_SETTINGS = ['plan_cache_mode=force_generic_plan', 'enable_seqscan=off', 'jit=off'];

/**
 * Connections kept for reads outside a transaction, shared by every request (see
 * shared-reads.ts), at most. They are taken from the pool's size, one per four connections (a
 * pool of one to three has none: every query then runs on its connections). Under a GET load
 * on this 2-core machine, one connection answered 20–30% more reads a second than two taking
 * turns (BENCHMARKS.md, issue 23, seventeenth round): the second takes what the first cannot.
 */
const SHARED_READ_CONNECTIONS = 2;
/** Reads in flight on a shared connection before the next takes the reads that follow. */
const SHARED_READS_SPILL = 8;
/** Reads in flight on a shared connection at most: beyond it on each, a read takes a pooled connection. */
const SHARED_READS_IN_FLIGHT = 32;

async function openPostgres(url: string, options: Required<PoolOptions>): Promise<Store> {
  const pg = await loadPg();
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`HANGAR_DATABASE_URL: schema must be a lower-case identifier (got "${schema}")`);
  }
  const connectionString = parsed.toString();
  const connectionTimeoutMillis = options.connectTimeoutMs;
  if (schema !== null) {
    const client = new pg.Client({ connectionString, connectionTimeoutMillis });
    await client.connect();
    try {
      await client.query(`create schema if not exists "${schema}"`);
    } finally {
      await client.end();
    }
  }
  // pg-pool bounds both the wait for a free connection and the opening of a new one by its
  // connectionTimeoutMillis: here that is the queue's bound, and each connection is opened
  // with its own, shorter, connect timeout (a database that does not answer fails fast).
  const PoolClient = clientClass(pg, connectionTimeoutMillis, options.namedStatements);
  const session = { connectionString, query_timeout: 30_000, options: [...(schema !== null ? [`search_path="${schema}"`] : []), ...SESSION_SETTINGS].map((setting) => `-c ${setting}`).join(' ') };
  // (of the process's `size` connections, one in four, at most SHARED_READ_CONNECTIONS, is kept for shared reads)
  const sharedConnections = Math.min(SHARED_READ_CONNECTIONS, Math.floor(options.size / 4));
  const pool = new pg.Pool({ ...session, max: options.size - sharedConnections, connectionTimeoutMillis: options.queueTimeoutMs, Client: PoolClient });
  // A client losing its server must not crash the process, idle (the pool reports it) or
  // checked out (the client itself does; its query fails and the request answers 503). The
  // pool replaces broken clients, so Hangar reconnects by itself.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const pooled = { ...options, size: options.size - sharedConnections };
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: queueing(pool, pooled) }) });
  const openShared = async () => {
    const client = new PoolClient(session);
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  const reads = sharedConnections > 0 ? new SharedReads(openShared, { connections: sharedConnections, spill: SHARED_READS_SPILL, limit: SHARED_READS_IN_FLIGHT }) : null;
  if (reads !== null) readOnSharedConnections(db, reads);
  const notifications = postgresNotifications(pg, connectionString, connectionTimeoutMillis, schema ?? 'public', db);
  parsed.password = parsed.password ? '***' : '';
  return {
    db,
    engine: 'postgres',
    location: `postgres ${parsed.host}${parsed.pathname}${schema ? ` (schema ${schema})` : ''}`,
    schema: schema ?? 'public',
    ...notifications,
    // A session-level advisory lock on a connection of its own, outside the pool (what `fn`
    // does needs the pool's connections, all of them with a pool of one), keyed by schema and name.
    exclusive: async (name, fn) => {
      const client = new pg.Client({ connectionString, connectionTimeoutMillis });
      client.on('error', () => undefined);
      await client.connect();
      try {
        const key = `${schema ?? 'public'}:${name}`;
        await client.query('select pg_advisory_lock(hashtext($1))', [key]);
        return await fn();
      } finally {
        await client.end().catch(() => undefined); // ending the session releases its lock
      }
    },
    lead: (role, handlers, retryMs = ROLE_RETRY_MS) => postgresRole(pg, connectionString, connectionTimeoutMillis, `${schema ?? 'public'}:role:${role}`, handlers, retryMs),
    poolStats: () => ({ size: pooled.size, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, shared: reads?.open ?? 0 }),
    close: async () => {
      await notifications.stopAll();
      await reads?.close();
      await db.destroy();
    },
  };
}

/**
 * The pool's client: every connection opened with its own, shorter, connect timeout (a
 * database that does not answer fails fast), and (unless `named` is off) queries that run
 * again and again run as named statements (see namedStatements).
 */
function clientClass(pg: Pg, connectionTimeoutMillis: number, named: boolean) {
  const PipelinedClient = pipelinedClientClass(pg, connectionTimeoutMillis);
  if (!named) return PipelinedClient;
  return class NamingClient extends PipelinedClient {
    // Queries that run again and again run as named statements: the connection parses and
    // plans each once, where an unnamed one is parsed and planned on every run (which cost
    // PostgreSQL more CPU than the run itself: BENCHMARKS.md). A change of schema (DDL) gives
    // every statement a new name, so none runs on a plan made for tables as they were.
    override query(...args: any[]): any {
      const [text, values] = args;
      if (args.length === 2 && typeof text === 'string' && Array.isArray(values)) {
        const name = namedStatements.nameOf(text);
        if (name !== undefined) return super.query({ name: `${name}_${schemaEpoch.value}`, text, values });
        if (DDL.test(text)) schemaEpoch.value++;
      }
      return (super.query as (...args: any[]) => any)(...args);
    }
  };
}

/**
 * The pool's client as it talks to the server: opened with its own connect timeout, and
 * pipelined, holding back what nothing waits for until the next statement (see `query`).
 */
function pipelinedClientClass(pg: Pg, connectionTimeoutMillis: number) {
  class PipelinedClient extends pg.Client {
    /**
     * Where the connection's transaction stands as the server knows it: none, begun here but
     * BEGIN not sent yet (`held`), or open. Statements held back (`heldWrite`s, and a held
     * BEGIN) go out together with the next statement the transaction waits for.
     */
    private transaction: 'none' | 'held' | 'open' = 'none';
    private readonly heldWrites: unknown[][] = [];
    /** Whether the socket is corked until the end of this turn of the event loop (see corkForTick). */
    private corked = false;

    constructor(config?: pgModule.ClientConfig) {
      // Pipelined: a query is written without waiting for the one before it to be answered.
      // Only held statements and `together` (prepared.ts) use that: the pool hands a connection
      // to one user at a time, and Kysely runs a transaction's statements one after the other.
      super({ ...config, connectionTimeoutMillis, pipeline: true } as pgModule.ClientConfig);
    }

    // Every round trip costs Hangar a socket write, a wake-up and a read: a large share of a
    // write request's CPU on PostgreSQL (BENCHMARKS.md). A transaction's BEGIN, and the writes
    // whose answers nobody reads (prepared.ts, heldWrite), are held and written with the
    // statement after them, in one socket write; their answers come back with its answer, and
    // the first failure among them fails it. A transaction that ran nothing sends nothing, and
    // a rollback drops what was held. (BEGIN fails only with its connection, which then fails
    // the statements sent with it too.)
    override query(...args: any[]): any {
      const [first, values] = args;
      const text: unknown = typeof first === 'string' ? first : first?.text;
      if (typeof text !== 'string') return (super.query as (...args: any[]) => any)(...args);
      if (args.length === 2 && Array.isArray(values) && values.length === 0) {
        if (text === 'begin') {
          this.transaction = 'held';
          return answered('BEGIN');
        }
        if (text === 'rollback') this.heldWrites.length = 0;
        if ((text === 'commit' || text === 'rollback') && this.transaction === 'held' && this.heldWrites.length === 0) {
          this.transaction = 'none';
          return answered(text.toUpperCase());
        }
      }
      if (this.transaction !== 'none' && isHeldWrite(text)) {
        this.heldWrites.push(args);
        return answered('HELD');
      }
      const ends = text === 'commit' || text === 'rollback';
      this.corkForTick();
      if (this.transaction !== 'held' && this.heldWrites.length === 0) {
        if (ends) this.transaction = 'none';
        return (super.query as (...args: any[]) => any)(...args);
      }
      const before = [...(this.transaction === 'held' ? [['begin']] : []), ...this.heldWrites.splice(0)];
      this.transaction = ends ? 'none' : 'open';
      const sent: Promise<unknown>[] = before.map((held) => (super.query as (...args: any[]) => any)(...held));
      const result: Promise<unknown> = (super.query as (...args: any[]) => any)(...args);
      return Promise.all([...sent, result]).then((answers) => answers[answers.length - 1]);
    }

    /**
     * Queries sent in one turn of the event loop (held ones and the statement after them, or
     * `together`'s) leave in one socket write: the connection's socket is corked until the turn ends.
     */
    private corkForTick(): void {
      if (this.corked) return;
      const stream = (this as unknown as { connection: { stream: { cork?(): void; uncork?(): void } } }).connection.stream;
      if (stream.cork === undefined || stream.uncork === undefined) return;
      stream.cork();
      this.corked = true;
      process.nextTick(() => {
        this.corked = false;
        stream.uncork!();
      });
    }
  }
  return PipelinedClient;
}

/** What the client answers at once for a statement it holds back (or need not send at all). */
function answered(command: string): Promise<{ command: string; rowCount: null; rows: never[] }> {
  return Promise.resolve({ command, rowCount: null, rows: [] });
}

/** Moves whenever this process changes the schema (see clientClass): named statements are made again. */
const schemaEpoch = { value: 0 };
const DDL = /^\s*(create|alter|drop|truncate)\s/i;

/**
 * Which queries run as named statements on PostgreSQL: every prepared query (prepared.ts), and
 * any other query once it has run a few times (a create's statements, built anew for each
 * request, have the same text each time). Names are capped: a query whose text varies (an
 * `in` list of any length) must not make every connection keep statements without end.
 */
const namedStatements = {
  seen: new Map<string, number>(),
  names: new Map<string, string>(),
  nameOf(text: string): string | undefined {
    const prepared = statementName(text);
    if (prepared !== undefined) return prepared;
    const name = this.names.get(text);
    if (name !== undefined || this.names.size >= NAMED_STATEMENTS || !NAMEABLE.test(text)) return name;
    const runs = (this.seen.get(text) ?? 0) + 1;
    if (runs < RUNS_BEFORE_NAMED) {
      if (this.seen.size >= NAMED_STATEMENTS * 4) this.seen.clear();
      this.seen.set(text, runs);
      return undefined;
    }
    this.seen.delete(text);
    const named = `hangar_q${this.names.size + 1}`;
    this.names.set(text, named);
    return named;
  },
};
/** Statements named beside the prepared ones, at most (each connection keeps those it ran). */
const NAMED_STATEMENTS = 2_000;
/** Runs of the same text before it is named (one-off queries stay unnamed). */
const RUNS_BEFORE_NAMED = 3;
/** What a named statement may be: a query or a change of rows, not a transaction's or a session's command. */
const NAMEABLE = /^\s*(select|insert|update|delete|with)\s/i;

/**
 * A role held as a session-level advisory lock (pg_try_advisory_lock) on a connection of its
 * own: the lock lasts as long as the session, so a process that dies or loses its server
 * loses the role, and another process's next try takes it. `gained` and `lost` run one after
 * the other, never together.
 */
async function postgresRole(
  pg: typeof pgModule,
  connectionString: string,
  connectionTimeoutMillis: number,
  key: string,
  handlers: RoleHandlers,
  retryMs: number,
): Promise<() => Promise<void>> {
  let session: pgModule.Client | null = null;
  let held = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let work: Promise<void> = Promise.resolve();
  const then = (fn: () => Promise<void>) => (work = work.then(fn).catch(() => undefined));
  const later = () => {
    if (stopped) return;
    timer = setTimeout(() => void attempt(), retryMs);
    timer.unref();
  };
  const attempt = async (): Promise<void> => {
    if (stopped) return;
    const client = new pg.Client({ connectionString, connectionTimeoutMillis });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ held: boolean }>('select pg_try_advisory_lock(hashtext($1)) as held', [key]);
      if (!rows[0]?.held || stopped) throw new Error('held elsewhere');
    } catch {
      await client.end().catch(() => undefined);
      later();
      return;
    }
    session = client;
    held = true;
    client.once('end', () => {
      if (session !== client) return;
      session = null;
      held = false;
      then(handlers.lost);
      later();
    });
    await then(handlers.gained);
  };
  await attempt();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    const client = session;
    session = null;
    await work;
    if (held) {
      held = false;
      await handlers.lost().catch(() => undefined);
    }
    // (ending the session releases the lock, once the role's work has stopped)
    await client?.end().catch(() => undefined);
  };
}

/**
 * The pool as Kysely sees it: a query that finds every connection in use queues for one
 * (pg-pool's queue, bounded in time by its connectionTimeoutMillis) unless `queueLimit`
 * requests already wait; either bound reached is a busy store (StoreBusy), not an outage.
 */
function queueing(pool: pgModule.Pool, options: Required<PoolOptions>) {
  return {
    connect: async () => {
      if (pool.waitingCount >= options.queueLimit) {
        throw new StoreBusy(`the store is busy: all ${options.size} connections are in use and ${options.queueLimit} requests wait for one; retry shortly`);
      }
      try {
        return await pool.connect();
      } catch (error) {
        if (/timeout exceeded when trying to connect/.test((error as Error).message)) {
          throw new StoreBusy(`the store is busy: no connection came free within ${options.queueTimeoutMs} ms; retry shortly`);
        }
        throw error;
      }
    },
    end: () => pool.end(),
  };
}

type Notifications = Pick<Store, 'notify' | 'listen'>;

/** An SQLite store has one process: there is nobody else to tell. */
function localNotifications(): Notifications {
  return {
    notify: async () => undefined,
    listen: async () => async () => undefined,
  };
}

/**
 * LISTEN/NOTIFY on a connection of its own, per schema, so replicas of one store hear each
 * other and nobody else. The connection comes back by itself after an outage, and a handler
 * is called on reconnection too: whatever was said meanwhile was missed, so reload.
 */
function postgresNotifications(pg: Pg, connectionString: string, connectionTimeoutMillis: number, schema: string, db: Kysely<any>): Notifications & { stopAll(): Promise<void> } {
  const channel = (topic: string) => `hangar_${createHash('sha256').update(`${schema}:${topic}`).digest('hex').slice(0, 24)}`;
  const stops = new Set<() => Promise<void>>();
  // Our own notifications come back to us too; they carry this id so we can ignore them (the
  // change is already made here, and reloading it late could undo a newer local change).
  const self = randomUUID();
  return {
    notify: async (topic) => {
      await sql`select pg_notify(${channel(topic)}, ${self})`.execute(db);
    },
    listen: async (topic, handler) => {
      let client: pgModule.Client | null = null;
      let stopped = false;
      let retry: NodeJS.Timeout | null = null;
      const connect = async (): Promise<void> => {
        const next = new pg.Client({ connectionString, connectionTimeoutMillis });
        next.on('notification', (message) => {
          if (message.payload !== self) handler();
        });
        next.on('error', () => undefined);
        next.on('end', () => {
          if (!stopped) retry = setTimeout(() => void connect().then(handler, () => undefined), 1000);
        });
        try {
          await next.connect();
          await next.query(`listen ${channel(topic)}`);
          client = next;
        } catch (error) {
          await next.end().catch(() => undefined);
          if (stopped) return;
          throw error;
        }
      };
      await connect();
      const stop = async () => {
        stopped = true;
        if (retry) clearTimeout(retry);
        stops.delete(stop);
        await client?.end().catch(() => undefined);
      };
      stops.add(stop);
      return stop;
    },
    stopAll: async () => {
      for (const stop of [...stops]) await stop();
    },
  };
}

function openSqlite(path: string): Store {
  const memory = path === ':memory:' || path === '';
  const file = memory ? ':memory:' : resolve(path);
  if (!memory) mkdirSync(dirname(file), { recursive: true });
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  raw.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  // A file store's log is copied back into the database by a thread of its own (below); the
  // connection only does it itself if that thread falls far behind.
  const checkpoints = memory ? null : backgroundCheckpoints(file);
  if (checkpoints) raw.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);

  const database = withStatementCache(raw);
  const db = new Kysely<any>({ dialect: new TargetsDialect({ database }, database.targets) });
  runDirectlyInTransactions(db, database);
  // Commits by any connection, this one's too: cheaper to tell, and enough for the read version,
  // which this connection's own writes move anyway. An in-memory store has no other connection.
  const commits = memory ? null : commitWatcher(raw, file);
  const commitGeneration = commits ? askedOncePerStretch(() => commits.generation()) : () => 0;
  // Commits by other connections to the same file (another process) show in data_version, a
  // statement and two file-lock calls: asked only when some commit happened since it was last
  // asked (every commit, anyone's, moves the generation first).
  const dataVersionStatement = raw.prepare('pragma data_version').pluck();
  let dataVersionAt = { generation: -1, value: 0 };
  const dataVersion = memory
    ? () => 0
    : (): number => {
        const generation = commitGeneration();
        if (generation !== dataVersionAt.generation) dataVersionAt = { generation, value: dataVersionStatement.get() as number };
        return dataVersionAt.value;
      };
  return {
    db,
    engine: 'sqlite',
    location: memory ? 'sqlite (in memory)' : `sqlite ${file}`,
    schema: null,
    exclusive: (_name, fn) => fn(),
    lead: async (_role, handlers) => {
      await handlers.gained();
      return () => handlers.lost();
    },
    ...localNotifications(),
    declareList: (table, ordering) => void database.ordering.set(table, ordering),
    writeVersion: (table) => `${dataVersion()}:${database.writes.get('*') ?? 0}:${database.writes.get(table) ?? 0}`,
    tableVersion: (table) => `${dataVersion()}:${database.touched.get('*') ?? 0}:${database.touched.get(table) ?? 0}`,
    readVersion: () => `${commitGeneration()}:${database.changes.count}`,
    rowTexts: rowTextsOn(raw, dataVersion),
    close: async () => {
      await checkpoints?.stop();
      await db.destroy();
      commits?.close();
    },
  };
}

/**
 * `ask`, asked once per stretch of code that runs without a pause (until the microtasks queued
 * when it was asked have run), its answer reused meanwhile. For the WAL index's header, read by
 * every check of a kept read (the credential's two tables, a row's text, a page's ids): a
 * stretch is answered as of its first check. Nothing the stretch finds kept can be older than
 * that; what it reads from the store may be newer, and is then kept under the older answer,
 * so the next stretch's check finds it stale and reads again: never stale, at worst read twice.
 */
function askedOncePerStretch(ask: () => number): () => number {
  let answer: number | null = null;
  const forget = () => {
    answer = null;
  };
  return () => {
    if (answer === null) {
      answer = ask();
      queueMicrotask(forget);
    }
    return answer;
  };
}

/**
 * Store.rowTexts on a SQLite connection: temporary triggers (this connection's own, in no file)
 * that forget a row's text whenever a watched row changes, whatever statement changed it (a
 * cascade's deletes included).
 */
function rowTextsOn(raw: Database.Database, dataVersion: () => number): (table: string, watched: WatchedTables) => RowTexts {
  const sets = new Map<string, RowTexts>();
  raw.function(ROW_CHANGED_FUNCTION, { deterministic: false }, (table, id) => {
    sets.get(table as string)?.forget(id as string);
    return null;
  });
  return (table, watched) => {
    const known = sets.get(table);
    if (known !== undefined) return known;
    const texts = new RowTexts(dataVersion);
    for (const [source, how] of Object.entries(watched)) {
      // (each statement forgets the texts of the rows the changed row belongs to)
      const forget = (row: 'old' | 'new') =>
        typeof how === 'string'
          ? `select ${ROW_CHANGED_FUNCTION}('${table}', ${row}."${how}");`
          : `select ${ROW_CHANGED_FUNCTION}('${table}', x."${how.key}") from main."${how.via}" x where x."${how.on}" = ${row}."${how.column}";`;
      const triggers = { insert: forget('new'), update: `${forget('old')} ${forget('new')}`, delete: forget('old') };
      for (const [event, body] of Object.entries(triggers)) {
        raw.exec(`create temp trigger "hangar_texts_${table}_${source}_${event}" after ${event} on main."${source}" begin ${body} end`);
      }
    }
    sets.set(table, texts);
    return texts;
  };
}

/**
 * The connection's page cache, in KiB. SQLite's default (2 MiB) holds a few thousand pages: a
 * burst of transitions, which reads and writes index pages keyed by random ids all over a
 * store of 100,000 instances, then reads most of them back from the file system again and
 * again. 16 MiB keeps such a burst's indexes in memory; larger caches were measured no faster
 * (BENCHMARKS.md).
 */
const PAGE_CACHE_KIB = 16 * 1024;

/** Log pages after which the connection checkpoints by itself (SQLite's default is 1,000). */
const BACKSTOP_PAGES = 10_000;
/**
 * How often the checkpoint thread copies the log back: often, so that each copy (and the
 * fsync that ends it, which stalls the file system's other writers, the log's appends
 * included) stays small.
 */
const CHECKPOINT_EVERY_MS = 20;

/**
 * Checkpoints from a worker thread with a connection of its own. In WAL mode every commit
 * appends the pages it changed to the log, and a checkpoint copies them back into the
 * database file and syncs it: by default the committing connection does that every 1,000
 * pages, so every few dozen creates one of them (and every request queued behind it) pays for
 * a copy and an fsync. A PASSIVE checkpoint never blocks the writer, so it can run beside it.
 */
function backgroundCheckpoints(file: string): { stop(): Promise<void> } {
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: { module: createRequire(import.meta.url).resolve('better-sqlite3'), file, intervalMs: CHECKPOINT_EVERY_MS },
  });
  worker.on('error', () => undefined); // losing it leaves the connection's own checkpoints
  worker.unref();
  return {
    stop: () =>
      new Promise<void>((done) => {
        if (worker.threadId === -1) return done();
        const timer = setTimeout(() => void worker.terminate(), 5000);
        worker.once('exit', () => {
          clearTimeout(timer);
          done();
        });
        worker.postMessage('stop');
      }),
  };
}

const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.close();
});
`;

/**
 * Kysely prepares every statement it runs. Preparing is a large share of a small query's
 * cost in SQLite, and the same few hundred statements repeat all day, so keep them.
 * better-sqlite3 runs statements synchronously, so sharing one between requests is safe.
 */
function withStatementCache(raw: Database.Database) {
  const limit = 2000;
  const cache = new Map<string, SqliteStatement>();
  /** Statements run that may have added or removed rows, per table ('*': any table). */
  const writes = new Map<string, number>();
  /** Statements run that may have changed anything in a table, per table ('*': any table). */
  const touched = new Map<string, number>();
  /** Statements run that may have changed anything at all. */
  const changes = { count: 0 };
  /** What each statement Kysely compiled writes, by its SQL (see TargetsDialect). */
  const targets = new Map<string, WriteTarget | null>();
  /** The ordering columns of each table's declared lists (Store.declareList). */
  const ordering = new Map<string, readonly string[]>();
  return {
    writes,
    touched,
    changes,
    targets,
    ordering,
    inTransaction: () => raw.inTransaction,
    prepare(sql: string): SqliteStatement {
      let statement = cache.get(sql);
      if (statement === undefined) {
        if (cache.size >= limit) cache.clear();
        const compiled = raw.prepare(sql);
        const target = targets.get(sql) ?? ANY_TABLE;
        statement = countingWrites(compiled.reader ? builtRows(compiled) : compiled, compiled.readonly, moves(target, ordering, writes, touched), changes);
        cache.set(sql, statement);
      }
      return statement;
    },
    close(): void {
      cache.clear();
      raw.close();
    },
  };
}

/**
 * What a statement writes, read from the query Kysely compiled (never from its SQL text): the
 * table whose rows it may add or remove (`columns` null), or, for an update, the table and the
 * columns it sets. `*`: it cannot be told (raw SQL, schema changes); null: it writes nothing.
 */
interface WriteTarget {
  readonly table: string;
  readonly columns: readonly string[] | null;
}

const ANY_TABLE: WriteTarget = { table: '*', columns: null };
/** Distinct statements whose targets are remembered (more than the statement cache holds). */
const TARGETS_KEPT = 10_000;

function writeTarget(node: RootOperationNode): WriteTarget | null {
  switch (node.kind) {
    case 'SelectQueryNode':
      return null;
    case 'InsertQueryNode':
      return rowsOf(tableOf(node.into));
    case 'DeleteQueryNode':
      return rowsOf(node.from.froms.length === 1 ? tableOf(node.from.froms[0]) : null);
    case 'UpdateQueryNode': {
      const table = tableOf(node.table);
      const columns = (node.updates ?? []).map((u) => (ColumnNode.is(u.column) ? u.column.column.name : '*'));
      return table === null || columns.includes('*') ? ANY_TABLE : { table, columns };
    }
    default:
      return ANY_TABLE;
  }
}

const rowsOf = (table: string | null): WriteTarget => (table === null ? ANY_TABLE : { table, columns: null });

function tableOf(node: OperationNode | undefined): string | null {
  if (node === undefined) return null;
  if (AliasNode.is(node)) return tableOf(node.node);
  return TableNode.is(node) ? node.table.identifier.name : null;
}

/**
 * Kysely's SQLite compiler, remembering what each statement it compiles writes (see WriteTarget),
 * and writing a limit given as a number into the SQL.
 */
class TargetsCompiler extends SqliteQueryCompiler {
  constructor(private readonly targets: Map<string, WriteTarget | null>) {
    super();
  }

  // SQLite plans a `limit ?` for the value bound to it, and so prepares the statement again
  // each time a value is bound: a few microseconds for the simplest select, more for a larger
  // one (BENCHMARKS.md, fifteenth round). A limit written into the SQL is planned once. Limits
  // are few (a page size, 1, a batch size), and the statement cache keeps one statement each.
  // (A prepared query's limit is a placeholder here; prepared.ts gives it its value first.)
  protected override visitLimit(node: LimitNode): void {
    if (ValueNode.is(node.limit) && Number.isSafeInteger(node.limit.value)) this.append(`limit ${node.limit.value as number}`);
    else super.visitLimit(node);
  }

  override compileQuery(node: RootOperationNode, queryId: QueryId): CompiledQuery {
    const compiled = super.compileQuery(node, queryId);
    if (!this.targets.has(compiled.sql)) {
      if (this.targets.size >= TARGETS_KEPT) this.targets.clear();
      this.targets.set(compiled.sql, writeTarget(node));
    }
    return compiled;
  }
}

class TargetsDialect extends SqliteDialect {
  constructor(
    config: SqliteDialectConfig,
    private readonly targets: Map<string, WriteTarget | null>,
  ) {
    super(config);
  }

  override createQueryCompiler(): QueryCompiler {
    return new TargetsCompiler(this.targets);
  }
}

/**
 * What running a writing statement moves: its table's write count when it adds or removes
 * rows, or sets a column a list over the table is ordered within, and its table's touch count
 * whatever it writes; '*' when it cannot be told.
 */
function moves(target: WriteTarget | null, ordering: ReadonlyMap<string, readonly string[]>, writes: Map<string, number>, touched: Map<string, number>): () => void {
  if (target === null) return () => {};
  const { table } = target;
  const touch = () => void touched.set(table, (touched.get(table) ?? 0) + 1);
  const bump = () => {
    touch();
    writes.set(table, (writes.get(table) ?? 0) + 1);
  };
  if (target.columns === null) return bump;
  const columns = target.columns;
  return () => {
    const order = ordering.get(table);
    if (order !== undefined && columns.some((c) => order.includes(c))) bump();
    else touch();
  };
}

type SqliteStatement = Pick<Database.Statement, 'reader' | 'readonly' | 'all' | 'run' | 'iterate'>;

/**
 * A statement that returns rows, its rows made by a function compiled for its columns.
 * better-sqlite3 builds a row object one property at a time, which for a wide row costs as much
 * as reading it (measured in BENCHMARKS.md); built this way it costs a fraction. The objects are the same: the columns in order, a later column
 * of the same name overwriting an earlier one's value.
 */
function builtRows(statement: Database.Statement): SqliteStatement {
  let width = -1;
  let make: (values: unknown[]) => Record<string, unknown> = () => ({});
  const compile = () => {
    const names = statement.columns().map((c) => c.name);
    width = names.length;
    // (a literal with fixed keys gets one shape for every row; '__proto__' would set the prototype)
    make = names.includes('__proto__')
      ? (values) => Object.fromEntries(names.map((name, i) => [name, values[i]]))
      : (new Function('v', `return { ${names.map((name, i) => `${JSON.stringify(name)}: v[${i}]`).join(', ')} };`) as typeof make);
  };
  const rowOf = (values: unknown[]) => {
    // (a statement is prepared again by SQLite when the schema changes: `select *` may widen)
    if (values.length !== width) compile();
    return make(values);
  };
  statement.raw(true);
  return {
    reader: true,
    readonly: statement.readonly,
    all: (...params: unknown[]) => {
      const rows = statement.all(...params) as unknown[][];
      const out = new Array<Record<string, unknown>>(rows.length);
      for (let i = 0; i < rows.length; i++) out[i] = rowOf(rows[i]!);
      return out;
    },
    run: (...params: unknown[]) => statement.run(...params),
    iterate: function* (...params: unknown[]) {
      for (const values of statement.iterate(...params)) yield rowOf(values as unknown[]);
    } as SqliteStatement['iterate'],
  };
}

function countingWrites(statement: SqliteStatement, readonly: boolean, moved: () => void, changes: { count: number }): SqliteStatement {
  if (readonly) return statement; // (reads, and transaction boundaries, change nothing)
  const count = () => {
    changes.count++;
    moved();
  };
  return {
    reader: statement.reader,
    readonly: false,
    all: (...params: unknown[]) => {
      count();
      return statement.all(...params);
    },
    run: (...params: unknown[]) => {
      count();
      return statement.run(...params);
    },
    iterate: (...params: unknown[]) => {
      count();
      return statement.iterate(...params);
    },
  };
}
