// What a round trip to PostgreSQL costs, apart from its statement: the same transactions (a
// read, three inserts, a read, as a create's shape) with the inserts written at once (one round
// trip each) and held (sent with the next statement: see heldWrite in src/kernel/db/prepared.ts),
// in turns, on 4 connections; transactions per second and Hangar's (this process's) CPU per
// transaction.
//
//   node --import tsx bench/round-trips.ts [--transactions 4000] [--rounds 3]
import { parseArgs } from 'node:util';
import { heldWrite, prepared, preparedWrite } from '../src/kernel/db/prepared.js';
import { openStore } from '../src/kernel/db/store.js';
import { PG_BASE, log } from './lib/common.js';

const { values } = parseArgs({ options: { transactions: { type: 'string', default: '4000' }, rounds: { type: 'string', default: '3' } } });
const total = Number(values.transactions);
const schema = `hangar_bench_round_trips_${process.pid}`;
const store = await openStore(`${PG_BASE}${PG_BASE.includes('?') ? '&' : '?'}schema=${schema}`, { size: 4 });
const { db } = store;
try {
  await db.schema.createTable('things').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('n', 'integer').execute();
  const held = heldWrite((id, n) => db.insertInto('things').values({ id, n }));
  // (the same insert, another text: a prepared query of a held one's text would not be held)
  const atOnce = preparedWrite((id, n) => db.insertInto('things').values({ id, n }).onConflict((oc) => oc.column('id').doNothing()));
  const read = prepared((id) => db.selectFrom('things').select('id').where('id', '=', id));
  let next = 0;
  const run = async (put: (executor: typeof db, id: string, n: number) => Promise<unknown>) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    let begun = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (begun++ < total) {
          await db.transaction().execute(async (trx) => {
            await read(trx, 'none');
            for (let i = 0; i < 3; i++) await put(trx, `t${next++}`, i);
            await read(trx, 'none');
          });
        }
      }),
    );
    const used = process.cpuUsage(cpu);
    return `${Math.round((total / (performance.now() - started)) * 1000)} transactions/s, ${Math.round((used.user + used.system) / total)} µs of CPU each`;
  };
  for (let round = 1; round <= Number(values.rounds); round++) {
    log(`round ${round}: inserts at once: ${await run(atOnce)}`);
    log(`round ${round}: inserts held:    ${await run(held)}`);
  }
} finally {
  await db.schema.dropSchema(schema).ifExists().cascade().execute();
  await store.close();
}
