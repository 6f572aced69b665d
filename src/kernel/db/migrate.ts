import { Migrator, type DatabaseIntrospector, type Kysely, type Migration, type TableMetadata } from 'kysely';
import { tablesOf } from './tables.js';

export type Migrations = Record<string, Migration>;

/**
 * Runs one module's migrations. The kernel and each cloud keep their own migration history
 * (their own bookkeeping table), so a cloud can add a migration without renumbering anyone
 * else's, and adding a third cloud adds a third history.
 */
export async function migrate(db: Kysely<any>, scope: string, migrations: Migrations, schema: string | null = null): Promise<void> {
  const migrator = new Migrator({
    db: schema === null ? db : withSchemaIntrospection(db, schema),
    // On PostgreSQL the bookkeeping is looked up in our own schema, not in any schema that
    // happens to hold a table of that name.
    ...(schema !== null ? { migrationTableSchema: schema } : {}),
    provider: { getMigrations: async () => migrations },
    migrationTableName: `${scope}_migrations`,
    migrationLockTableName: `${scope}_migrations_lock`,
    // Modules grow their histories independently; a migration merged later may sort before one
    // a store already ran.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${scope}/${failed ?? '?'} failed: ${(error as Error).message ?? error}`, { cause: error });
  }
}

/**
 * The same Kysely, but its introspection (what the Migrator asks to learn whether its
 * bookkeeping tables exist) lists only our schema's tables. Kysely's own PostgreSQL
 * introspector reads every schema of the database, and fails when another schema's tables
 * change meanwhile (another Hangar migrating or dropping its schema on the same database:
 * replicas of other installations, concurrent test runs).
 */
function withSchemaIntrospection(db: Kysely<any>, schema: string): Kysely<any> {
  const introspection: DatabaseIntrospector = {
    getSchemas: async () => [{ name: schema }],
    getTables: async () => (await tablesOf(db, 'postgres', schema)).map((t): TableMetadata => ({ name: t.name, schema, isView: false, columns: [] })),
    getMetadata: async () => ({ tables: await introspection.getTables() }),
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === 'introspection') return introspection;
      const value = Reflect.get(target, property, target);
      // (Kysely's methods use private fields: they must run on the instance itself)
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
