// What Hangar's framework costs on its own: the server's CPU per request, every answer computed,
// on routes that do almost nothing beside one that reads, measured after the server has warmed
// up. `GET /healthz` has no credential and no store (Fastify with Hangar's global hooks); a kept
// GET of one instance runs no statement; a GET of an unknown instance answers 404.
//
//   node --import tsx bench/floor.ts [--seconds 4] [--connections 16]
import { parseArgs } from 'node:util';
import { AUTH, GENESIS, cpuMs, hangarEnv, load, log, scratch, settle, sqliteStore, startHangar } from './lib/common.js';
import { prepare } from './suites/throughput.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '4' }, connections: { type: 'string', default: '16' } } });
const store = sqliteStore(scratch('floor'), `floor-${process.pid}.db`);
const server = await startHangar('hangar', hangarEnv(store, { HANGAR_READ_CACHE: '0' }));
try {
  const paths = await prepare(server);
  await settle(server);
  const routes: Record<string, string> = {
    'GET /healthz': '/healthz',
    'GET one instance': paths.get_instance,
    'GET an unknown instance (404)': `${GENESIS}/instances/00000000-0000-0000-0000-000000000000`,
  };
  const rows: string[] = [];
  for (const [name, path] of Object.entries(routes)) {
    const options = { url: server.url, paths: [path], connections: Number(values.connections), headers: AUTH };
    await load({ ...options, duration: 2 }); // (warm-up: the first seconds after start-up cost about twice as much)
    const before = cpuMs(server.pid);
    const result = await load({ ...options, duration: Number(values.seconds) });
    const perRequest = ((cpuMs(server.pid) - before) * 1000) / Math.max(1, result.requests);
    rows.push(`| ${name} | ${result.requests} | ${perRequest.toFixed(0)} µs |`);
    log(rows[rows.length - 1]!);
  }
  console.log(['| route | requests | Hangar CPU per request |', '| --- | --- | --- |', ...rows].join('\n'));
} finally {
  await server.stop();
  await store.drop();
}
