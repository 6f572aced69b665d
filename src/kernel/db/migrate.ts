import { Migrator, type Kysely, type Migration } from 'kysely';

export type Migrations = Record<string, Migration>;

/**
 * Runs one module's migrations. The kernel and each cloud keep their own migration history
 * (their own bookkeeping table), so a cloud can add a migration without renumbering anyone
 * else's, and adding a third cloud adds a third history.
 */
export async function migrate(db: Kysely<any>, scope: string, migrations: Migrations, schema: string | null = null): Promise<void> {
  const migrator = new Migrator({
    db,
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
  let { error, results } = await migrator.migrateToLatest();
  // Kysely looks its bookkeeping table up among every schema's tables; a schema that another
  // Hangar (or test run) drops meanwhile in the same database can fail that lookup. Nothing
  // was applied (each attempt is a transaction): try again.
  for (let attempt = 1; error && schemaVanished(error) && attempt <= 5; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${scope}/${failed ?? '?'} failed: ${(error as Error).message ?? error}`, { cause: error });
  }
}

/** PostgreSQL's invalid_schema_name (3F000), or a catalog row gone mid-query. */
function schemaVanished(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '3F000' || (code === 'XX000' && /cache lookup failed/.test(String((error as Error).message)));
}
