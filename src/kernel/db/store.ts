import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, type Transaction } from 'kysely';

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
  close(): Promise<void>;
}

export function openStore(url: string): Store {
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    throw new Error('HANGAR_DATABASE_URL: PostgreSQL is not supported by this build yet; use sqlite:<path> or sqlite::memory:');
  }
  throw new Error(`HANGAR_DATABASE_URL must start with sqlite: or postgres:// (got "${url}")`);
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
