// Preloaded into a Hangar under measurement (`node --import`): counts the statements it runs
// at the driver (better-sqlite3's statement runs; node-postgres's client queries, each one
// round trip to the server) and writes the counts so far to $HANGAR_BENCH_COUNT_FILE on
// SIGUSR2, as one JSON line: {"sqlite": n, "postgres": n, "bySql": {sql: n}} (bySql only with
// HANGAR_BENCH_COUNT_SQL=1).
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';

const counts = { sqlite: 0, postgres: 0, bySql: {} };
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
process.on('SIGUSR2', () => writeFileSync(process.env.HANGAR_BENCH_COUNT_FILE, JSON.stringify(counts) + '\n'));
