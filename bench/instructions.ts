// Instructions per request: the server run under valgrind's callgrind, which counts the
// instructions it executes, not seconds, so the figure is the same on a quiet machine and a
// busy one (seconds per request here vary by up to 2× between runs of the same build, see
// BENCHMARKS.md). Counts every thread of the server process (the SQLite checkpointer's too),
// not the database server's work on PostgreSQL. Every answer computed (read cache off).
// Under valgrind everything runs 20–50× slower: a route's load runs for `--seconds`, after a
// warm-up long enough for V8 to optimise the hot code.
//
//   node --import tsx bench/instructions.ts [--engines sqlite,postgres] [--routes get_instance,list_50]
//                                           [--seconds 30] [--warmup 60] [--connections 4]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hangarEnv, load, log, postgresAvailable, postgresStore, scratch, settle, sqliteStore, startHangar } from './lib/common.js';
import { ROUTES, prepare, routeLoad, type Route } from './suites/throughput.js';

const { values } = parseArgs({
  options: {
    engines: { type: 'string', default: 'sqlite,postgres' },
    routes: { type: 'string', default: 'get_instance,list_50' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '60' },
    connections: { type: 'string', default: '4' },
  },
});
const routes = values.routes!.split(',') as Route[];
for (const route of routes) if (!(ROUTES as readonly string[]).includes(route)) throw new Error(`unknown route ${route} (${ROUTES.join(', ')})`);
const dir = scratch('instructions');

// (valgrind names its control pipe after $USER and $HOST, and Hangar's environment sets HOST:
// the controller is given the server's)
const vgdbPrefix = join(dir, 'vgdb');
const controlEnv = { ...process.env, HOST: hangarEnv(sqliteStore(dir)).HOST };
const control = (command: string, pid: number) =>
  execFileSync('callgrind_control', [`--vgdb-prefix=${vgdbPrefix}`, command, String(pid)], { stdio: 'ignore', env: controlEnv });

/** The instructions counted since the last zeroing, read from the dump callgrind writes. */
function dumpedInstructions(pid: number, engine: string): number {
  const before = new Set(readdirSync(dir));
  control('--dump', pid);
  const dumps = readdirSync(dir).filter((f) => f.startsWith(`callgrind.out.${engine}.`) && !before.has(f));
  const newest = dumps.sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs)[0];
  if (newest === undefined) throw new Error('callgrind wrote no dump');
  const totals = /^(?:totals|summary):\s+(\d+)/m.exec(readFileSync(join(dir, newest), 'utf8'));
  if (!totals) throw new Error(`no totals in ${newest}`);
  return Number(totals[1]);
}

const rows: string[] = [];
for (const engine of values.engines!.split(',') as ('sqlite' | 'postgres')[]) {
  if (engine === 'postgres' && !(await postgresAvailable())) {
    log('PostgreSQL is not reachable: skipped');
    continue;
  }
  const store = engine === 'sqlite' ? sqliteStore(dir, `instructions-${process.pid}.db`) : postgresStore('instructions');
  const server = await startHangar(`hangar-${engine}`, hangarEnv(store, { HANGAR_READ_CACHE: '0' }), {
    wrapper: ['valgrind', '--tool=callgrind', '--smc-check=all-non-file', `--vgdb-prefix=${vgdbPrefix}`, `--callgrind-out-file=${join(dir, `callgrind.out.${engine}`)}`],
    timeoutMs: 600_000,
  });
  try {
    const paths = await prepare(server);
    await settle(server);
    for (const route of routes) {
      await load(routeLoad(server.url, route, paths[route], Number(values.connections), Number(values.warmup)));
      control('--zero', server.pid);
      const result = await load(routeLoad(server.url, route, paths[route], Number(values.connections), Number(values.seconds)));
      const instructions = dumpedInstructions(server.pid, engine);
      const row = `| ${route} | ${engine} | ${result.requests} | ${Math.round(instructions / Math.max(1, result.requests)).toLocaleString('en')} |`;
      log(row);
      rows.push(row);
    }
  } finally {
    await server.stop();
    await store.drop();
  }
}
console.log(['| route | engine | requests | instructions per request |', '| --- | --- | --- | --- |', ...rows].join('\n'));
