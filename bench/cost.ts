// What one request costs the server, route by route and engine by engine, in measures a busy
// machine does not distort much: the server process's CPU time per request (user + system,
// from /proc, over every request of a load), on PostgreSQL the database server's processes' CPU
// time per request too, and the statements it ran per request, counted at the driver, and on
// PostgreSQL the round trips (socket writes to the database). Every answer is computed (read
// cache off).
// Creates are counted with the boots they cause (the load, then until nothing is pending).
// HANGAR_BENCH_COUNT_SQL=1 also lists the statements run so far, most frequent first (the
// first 12, or HANGAR_BENCH_COUNT_TOP).
//
//   node --import tsx bench/cost.ts [--engines sqlite,postgres] [--seconds 5] [--connections 16]
//                                   [--routes get_instance,list_50,...]
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH, SCRATCH, cpuMs, hangarEnv, load, log, postgresAvailable, postgresCpuMs, postgresStore, scratch, settle, sleep, sqliteStore, startHangar, type Server } from './lib/common.js';
import { ROUTES, isCreate, prepare, routeLoad, type Route } from './suites/throughput.js';

const { values } = parseArgs({
  options: {
    engines: { type: 'string', default: 'sqlite,postgres' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    routes: { type: 'string', default: ROUTES.join(',') },
  },
});
const routes = values.routes!.split(',') as Route[];
const dir = scratch('cost');
const countFile = join(dir, 'counts.json');

/** The statements the server has run so far, on its engine, and (PostgreSQL) its round trips. */
async function statements(server: Server, engine: 'sqlite' | 'postgres'): Promise<[statements: number, roundTrips: number]> {
  rmSync(countFile, { force: true });
  process.kill(server.pid, 'SIGUSR2');
  for (let i = 0; i < 200 && !existsSync(countFile); i++) await sleep(10);
  await sleep(20);
  const counts = JSON.parse(readFileSync(countFile, 'utf8'));
  return [counts[engine], counts.roundTrips ?? 0];
}

const rows: string[] = [];
for (const engine of values.engines!.split(',') as ('sqlite' | 'postgres')[]) {
  if (engine === 'postgres' && !(await postgresAvailable())) {
    log('PostgreSQL is not reachable: skipped');
    continue;
  }
  const store = engine === 'sqlite' ? sqliteStore(dir, `cost-${process.pid}.db`) : postgresStore('cost');
  const server = await startHangar(`hangar-${engine}`, hangarEnv(store, { HANGAR_READ_CACHE: '0', HANGAR_BENCH_COUNT_FILE: countFile }), {
    flags: ['--import', pathToFileURL(join(BENCH, 'lib/count-statements.mjs')).href],
  });
  try {
    const paths = await prepare(server);
    await settle(server);
    for (const route of routes) {
      await load(routeLoad(server.url, route, paths[route], Number(values.connections), 1));
      if (isCreate(route)) await settle(server);
      const database = engine === 'postgres' ? postgresCpuMs : () => 0;
      const [cpu0, db0, n0] = [cpuMs(server.pid), database(), await statements(server, engine)];
      const result = await load(routeLoad(server.url, route, paths[route], Number(values.connections), Number(values.seconds)));
      if (isCreate(route)) await settle(server);
      const [cpu1, db1, n1] = [cpuMs(server.pid), database(), await statements(server, engine)];
      const requests = Math.max(1, result.requests);
      const perRequest = (ms: number) => `${((ms * 1000) / requests).toFixed(0)} µs`;
      const per = (a: number, b: number) => ((b - a) / requests).toFixed(2);
      const row = `| ${route} | ${engine} | ${result.requests} | ${perRequest(cpu1 - cpu0)} | ${engine === 'postgres' ? perRequest(db1 - db0) : '–'} | ${per(n0[0], n1[0])} | ${engine === 'postgres' ? per(n0[1], n1[1]) : '–'} |${result.non2xx + result.errors ? ` ${result.non2xx} non-2xx, ${result.errors} errors` : ''}`;
      log(row);
      rows.push(row);
      if (process.env.HANGAR_BENCH_COUNT_SQL === '1') {
        const bySql = Object.entries(JSON.parse(readFileSync(countFile, 'utf8')).bySql as Record<string, number>).sort((a, b) => b[1] - a[1]);
        for (const [sql, n] of bySql.slice(0, Number(process.env.HANGAR_BENCH_COUNT_TOP ?? 12))) log(`    ${n}  ${sql.replace(/\s+/g, ' ').slice(0, 240)}`);
      }
    }
  } finally {
    await server.stop();
    await store.drop();
  }
}
if (process.env.HANGAR_BENCH_KEEP !== '1') rmSync(SCRATCH, { recursive: true, force: true });
console.log(['| route | engine | requests | Hangar CPU per request | PostgreSQL CPU per request | statements per request | round trips per request |', '| --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n'));
