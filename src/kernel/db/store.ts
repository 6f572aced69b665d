import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';

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
  /** Tells every process on this store (this one included) that `topic` changed. */
  notify(topic: string): Promise<void>;
  /** Hears `notify` from any process; resolves to a function that stops listening. */
  listen(topic: string, handler: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** PostgreSQL connections per process. */
  poolSize?: number;
}

export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url, options.poolSize ?? 10);
  throw new Error(`HANGAR_DATABASE_URL must start with sqlite: or postgres:// (got "${url}")`);
}

// Counts and epoch milliseconds are int8 in PostgreSQL; they all fit a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * PostgreSQL through a pool. A `schema` query parameter (Hangar's own, not libpq's) puts
 * every table in that schema, created if missing: several Hangars, or test runs, can share
 * one database without seeing each other.
 */
async function openPostgres(url: string, poolSize: number): Promise<Store> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`HANGAR_DATABASE_URL: schema must be a lower-case identifier (got "${schema}")`);
  }
  const connectionString = parsed.toString();
  if (schema !== null) {
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      await client.query(`create schema if not exists "${schema}"`);
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    // Fail fast when the server is away: a request answers 503 instead of hanging.
    connectionTimeoutMillis: 2000,
    query_timeout: 30_000,
    ...(schema !== null ? { options: `-c search_path="${schema}"` } : {}),
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  const notifications = postgresNotifications(connectionString, schema ?? 'public', db);
  parsed.password = parsed.password ? '***' : '';
  return {
    db,
    engine: 'postgres',
    location: `postgres ${parsed.host}${parsed.pathname}${schema ? ` (schema ${schema})` : ''}`,
    schema: schema ?? 'public',
    ...notifications,
    // A session-level advisory lock on a connection of its own, keyed by schema and name.
    exclusive: (name, fn) =>
      db.connection().execute(async (connection) => {
        const key = `${schema ?? 'public'}:${name}`;
        await sql`select pg_advisory_lock(hashtext(${key}))`.execute(connection);
        try {
          return await fn();
        } finally {
          await sql`select pg_advisory_unlock(hashtext(${key}))`.execute(connection);
        }
      }),
    close: async () => {
      await notifications.stopAll();
      await db.destroy();
    },
  };
}

type Notifications = Pick<Store, 'notify' | 'listen'>;

/** One process per SQLite store: a notification is a call. */
function localNotifications(): Notifications {
  const handlers = new Map<string, Set<() => void>>();
  return {
    notify: async (topic) => {
      for (const handler of handlers.get(topic) ?? []) handler();
    },
    listen: async (topic, handler) => {
      const set = handlers.get(topic) ?? new Set();
      set.add(handler);
      handlers.set(topic, set);
      return async () => {
        set.delete(handler);
      };
    },
  };
}

/**
 * LISTEN/NOTIFY on a connection of its own, per schema, so replicas of one store hear each
 * other and nobody else. The connection comes back by itself after an outage, and a handler
 * is called on reconnection too: whatever was said meanwhile was missed, so reload.
 */
function postgresNotifications(connectionString: string, schema: string, db: Kysely<any>): Notifications & { stopAll(): Promise<void> } {
  const channel = (topic: string) => `hangar_${createHash('sha256').update(`${schema}:${topic}`).digest('hex').slice(0, 24)}`;
  const stops = new Set<() => Promise<void>>();
  return {
    notify: async (topic) => {
      await sql`select pg_notify(${channel(topic)}, '')`.execute(db);
    },
    listen: async (topic, handler) => {
      let client: pg.Client | null = null;
      let stopped = false;
      let retry: NodeJS.Timeout | null = null;
      const connect = async (): Promise<void> => {
        const next = new pg.Client({ connectionString });
        next.on('notification', () => handler());
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

  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  return {
    db,
    engine: 'sqlite',
    location: memory ? 'sqlite (in memory)' : `sqlite ${file}`,
    schema: null,
    exclusive: (_name, fn) => fn(),
    ...localNotifications(),
    close: () => db.destroy(),
  };
}

/**
 * Kysely prepares every statement it runs. Preparing is a large share of a small query's
 * cost in SQLite, and the same few hundred statements repeat all day, so keep them.
 * better-sqlite3 runs statements synchronously, so sharing one between requests is safe.
 */
function withStatementCache(raw: Database.Database) {
  const limit = 2000;
  const cache = new Map<string, Database.Statement>();
  return {
    prepare(sql: string): Database.Statement {
      let statement = cache.get(sql);
      if (statement === undefined) {
        if (cache.size >= limit) cache.clear();
        statement = raw.prepare(sql);
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
