import { sql, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { prepared } from '../../src/kernel/db/prepared.js';
import { openStore } from '../../src/kernel/db/store.js';
import { testStore } from '../helpers/hangar.js';

const postgres = process.env.HANGAR_TEST_ENGINE === 'postgres' && Boolean(process.env.HANGAR_TEST_POSTGRES_URL);

/** The named statements the store's one connection holds (a pool of one: every query runs on it). */
async function namedOnConnection(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(db);
  return rows.map((r) => r.name);
}

// On PostgreSQL the queries Hangar repeats run as named statements, which the connection
// parses and plans once; HANGAR_DATABASE_NAMED_STATEMENTS=0 turns that off, for a connection
// pooler that cannot keep them.
describe.runIf(postgres)('PostgreSQL named statements', () => {
  for (const named of [true, false]) {
    it(named ? 'names prepared queries at once and other queries once they repeat' : 'names nothing when turned off', async () => {
      const spec = testStore();
      // (a table no other test uses: names are per process, and the suite's forks run many
      // files, so another file's prepared query of the same text would be named here too)
      const store = await openStore(spec.url, { size: 1, namedStatements: named });
      try {
        await store.db.schema.createTable('named_things').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('n', 'integer').execute();
        await store.db.insertInto('named_things').values({ id: 'a', n: 1 }).execute();
        const find = prepared<{ id: string; n: number }>((id) => store.db.selectFrom('named_things').selectAll().where('id', '=', id));
        expect(await find(store.db, 'a')).toEqual([{ id: 'a', n: 1 }]);
        for (let i = 0; i < 3; i++) expect(await store.db.selectFrom('named_things').select('n').where('n', '>', i - 10).execute()).toEqual([{ n: 1 }]);
        const names = await namedOnConnection(store.db);
        if (!named) {
          expect(names).toEqual([]);
          return;
        }
        expect(names.filter((name) => /^hangar_\d+_\d+$/.test(name))).toHaveLength(1);
        expect(names.filter((name) => /^hangar_q\d+_\d+$/.test(name))).toHaveLength(1);

        // A column added: the prepared query runs under a new name and returns it.
        await store.db.schema.alterTable('named_things').addColumn('label', 'text', (c) => c.notNull().defaultTo('-')).execute();
        expect(await find(store.db, 'a')).toEqual([{ id: 'a', n: 1, label: '-' }]);
      } finally {
        await store.close();
        await spec.drop();
      }
    });
  }
});
