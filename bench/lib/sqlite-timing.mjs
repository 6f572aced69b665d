// Times every SQLite statement a Hangar process runs, by its SQL: load it into Hangar with
//
//   HANGAR_BENCH_NODE_FLAGS="--import ./bench/lib/sqlite-timing.mjs" node --import tsx bench/cost.ts --engines sqlite --routes create
//
// and read bench/results/sqlite-statements.txt (or HANGAR_BENCH_SQL_TIMES): the statements that
// took the most time in all, with their count and time each, rewritten every 2 s and at exit.
// The timing costs a little itself; compare statements within one run, not runs with and without it.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const out = process.env.HANGAR_BENCH_SQL_TIMES ?? fileURLToPath(new URL('../results/sqlite-statements.txt', import.meta.url));
const probe = new Database(':memory:');
const Statement = Object.getPrototypeOf(probe.prepare('select 1'));
probe.close();

// HANGAR_BENCH_SQL_CLOCK=cpu: the process's CPU time (all its threads) rather than the wall clock,
// which also counts the time the thread waited for a core.
const cpuClock = process.env.HANGAR_BENCH_SQL_CLOCK === 'cpu';
const cpuMicros = (usage) => usage.user + usage.system;

/** SQL (whitespace folded) → [runs, µs]. */
const times = new Map();
for (const method of ['run', 'all', 'get', 'iterate']) {
  const original = Statement[method];
  Statement[method] = function timed(...args) {
    const start = cpuClock ? process.cpuUsage() : process.hrtime.bigint();
    try {
      return original.apply(this, args);
    } finally {
      const us = cpuClock ? cpuMicros(process.cpuUsage(start)) : Number(process.hrtime.bigint() - start) / 1000;
      const sql = this.source.replace(/\s+/g, ' ');
      const entry = times.get(sql) ?? [0, 0];
      entry[0]++;
      entry[1] += us;
      times.set(sql, entry);
    }
  };
}

function write() {
  const top = [...times].sort((a, b) => b[1][1] - a[1][1]).slice(0, 40);
  writeFileSync(out, top.map(([sql, [runs, us]]) => `${Math.round(us)} µs in all, ${runs} runs, ${(us / runs).toFixed(1)} µs each: ${sql.slice(0, 300)}`).join('\n') + '\n');
}
process.on('exit', write);
setInterval(write, 2000).unref();
