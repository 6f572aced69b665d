/**
 * Each PostgreSQL test or bench store is a schema made and dropped: thousands of rows in the
 * system catalogs per run, left dead. Where autovacuum is off (as on the project's machines)
 * they pile up run after run (pg_attribute grew to 212 MB in one session) and every later
 * run's DDL and planning slows with them (the tests' PostgreSQL pass went from 180 s to 294 s).
 * Vacuuming them starts the next run clean. Returns the error's message when it could not
 * (a user who may not vacuum them), null when done: callers go on either way.
 */
export async function vacuumCatalogs(client) {
  try {
    await client.query('vacuum pg_catalog.pg_attribute, pg_catalog.pg_class, pg_catalog.pg_depend, pg_catalog.pg_type, pg_catalog.pg_index, pg_catalog.pg_constraint');
    return null;
  } catch (error) {
    return error.message;
  }
}
