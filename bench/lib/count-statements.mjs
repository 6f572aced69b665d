// Preloaded into a Hangar under measurement (`node --import`): counts the statements it runs
// at the driver (better-sqlite3's statement runs; node-postgres's client queries) and, on
// PostgreSQL, the socket writes to the database (round trips: statements Hangar holds back go
// out together with the next, see src/kernel/db/store.ts), and writes the counts so far to
// $HANGAR_BENCH_COUNT_FILE on SIGUSR2, as one JSON line:
// {"sqlite": n, "postgres": n, "roundTrips": n, "bySql": {sql: n}} (bySql only with
// HANGAR_BENCH_COUNT_SQL=1).
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import Database from 'better-sqlite3';
import pg from 'pg';

const counts = { sqlite: 0, postgres: 0, roundTrips: 0, bySql: {} };
const bySql = process.env.HANGAR_BENCH_COUNT_SQL === '1';
const tally = (sql) => {
  if (bySql) counts.bySql[sql] = (counts.bySql[sql] ?? 0) + 1;
};
const prepare = Database.prototype.prepare;
let patched = false;
Database.prototype.prepare = function (...args) {
  const statement = prepare.apply(this, args);
  if (!patched) {
    patched = true;
    const proto = Object.getPrototypeOf(statement);
    for (const method of ['all', 'get', 'run', 'iterate']) {
      const original = proto[method];
      proto[method] = function (...params) {
        counts.sqlite++;
        tally(this.source);
        return original.apply(this, params);
      };
    }
  }
  return statement;
};
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (...args) {
  counts.postgres++;
  tally(typeof args[0] === 'string' ? args[0] : args[0]?.text ?? args[0]?.name);
  return query.apply(this, args);
};
const url = process.env.HANGAR_DATABASE_URL ?? '';
const pgPort = /^postgres(ql)?:/.test(url) ? Number(new URL(url).port || 5432) : -1;
for (const method of ['_write', '_writev']) {
  const original = net.Socket.prototype[method];
  net.Socket.prototype[method] = function (...args) {
    if (this.remotePort === pgPort) counts.roundTrips++;
    return original.apply(this, args);
  };
}
process.on('SIGUSR2', () => writeFileSync(process.env.HANGAR_BENCH_COUNT_FILE, JSON.stringify(counts) + '\n'));
