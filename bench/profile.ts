// Profiles Hangar on one route: starts it under `node --cpu-prof`, loads the route from a
// separate process, stops it (the profile is written on exit) and prints the summary.
//
//   node --import tsx bench/profile.ts <get_instance|list_50|list_deep|create|crusoe_get_vm|crusoe_list_50|crusoe_create> [--seconds 10]
//        [--connections 16] [--url <HANGAR_DATABASE_URL of a filled store>] [--page N]
//        [--computed]  (read cache off: every answer computed, as during a burst of writes)
//        [--ceiling]   (also load the ceiling, answering with the same bytes, round for round)
//
// Without --url it profiles a fresh SQLite store holding 60 booted instances.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareCrusoe, routeLoad, type Route } from './suites/throughput.js';
import { AUTH, CREATE_BODY, GENESIS, RESULTS, api, cpuMs, hangarEnv, load, log, quiesce, scratch, settle, sleep, sqliteStore, startCeiling, startHangar, type Server, summarizeProfile, type StoreSpec } from './lib/common.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    url: { type: 'string' },
    page: { type: 'string', default: '10000' },
    timings: { type: 'string', default: 'fast' },
    'no-prof': { type: 'boolean', default: false },
    computed: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
    ceiling: { type: 'boolean', default: false },
  },
});
const route = positionals[0] ?? 'get_instance';
const dir = join(RESULTS, 'profiles', `${route}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(dir, { recursive: true });
const store: StoreSpec = values.url ? { engine: values.url.startsWith('sqlite:') ? 'sqlite' : 'postgres', url: values.url, drop: async () => undefined } : sqliteStore(scratch('profile'));
const profiling = !values['no-prof'];
const hangar = await startHangar('hangar', hangarEnv(store, { HANGAR_TIMINGS: values.timings!, ...(values.computed ? { HANGAR_READ_CACHE: '0' } : {}) }), { flags: profiling ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [] });
let ceiling: Server | undefined;
let requests = 0;
try {
  let id: string;
  const first = await api(hangar.url, 'GET', `${GENESIS}/instances?per_page=1`);
  if (first.body.total_count < 60) {
    for (let i = 0; i < 60; i++) id = (await api(hangar.url, 'POST', `${GENESIS}/instances`, CREATE_BODY)).body.instance.id;
    await settle(hangar);
  }
  id = (await api(hangar.url, 'GET', `${GENESIS}/instances?per_page=1`)).body.instances[0].id;
  const paths: Record<string, string> = {
    get_instance: `${GENESIS}/instances/${id}`,
    list_50: `${GENESIS}/instances`,
    list_deep: `${GENESIS}/instances?page=${values.page}&per_page=100`,
    list_first: `${GENESIS}/instances?page=1&per_page=100`,
    create: `${GENESIS}/instances`,
  };
  // The Crusoe routes (signed requests): the throughput suite's VMs and load.
  const crusoe = route.startsWith('crusoe_') ? ((await prepareCrusoe(hangar)) as Record<string, string>) : null;
  if (crusoe) Object.assign(paths, crusoe);
  log(`${profiling ? 'profiling' : 'loading'} ${route} (${paths[route]}) for ${values.seconds}s at ${values.connections} connections`);
  const run = (server: Server, duration: number) =>
    crusoe
      ? load(routeLoad(server.url, route as Route, paths[route]!, Number(values.connections), duration))
      : load({
          url: server.url,
          paths: [paths[route]!],
          connections: Number(values.connections),
          duration,
          headers: AUTH,
          ...(route === 'create' ? { method: 'POST', body: CREATE_BODY } : {}),
        });
  // The ceiling answers with the bytes Hangar answered this route with (see bench/lib/ceiling.mjs).
  if (values.ceiling) {
    const sample = await api(hangar.url, route === 'create' ? 'POST' : 'GET', paths[route]!, route === 'create' ? CREATE_BODY : undefined);
    const path = paths[route]!.split('?', 1)[0]!;
    const fixtures = join(dir, 'fixtures.json');
    writeFileSync(fixtures, JSON.stringify([{ method: route === 'create' ? 'POST' : 'GET', prefix: path, exact: true, status: sample.status, contentType: sample.contentType, body: sample.raw.toString('base64') }]));
    ceiling = await startCeiling(fixtures);
  }
  const servers = ceiling ? [ceiling, hangar] : [hangar];
  if (!profiling) for (const server of servers) await run(server, 2);
  // User and system CPU time of a process so far, in milliseconds (/proc/<pid>/stat, 10 ms ticks).
  const times = (pid: number) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return [Number(fields[11]) * 10, Number(fields[12]) * 10] as const;
  };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const server of servers) {
      await quiesce();
      const before = cpuMs(server.pid);
      const [user0, system0] = times(server.pid);
      const result = await run(server, Number(values.seconds));
      if (server === hangar) requests += result.requests;
      const [user1, system1] = times(server.pid);
      if (route === 'create' && server === hangar) await settle(hangar);
      const cpu = cpuMs(server.pid) - before;
      const perRequest = (ms: number) => ((ms * 1000) / Math.max(1, result.requests)).toFixed(0);
      log(
        `${server.name.padEnd(8)} ${Math.round(result.rps)} req/s, p50 ${result.latency.p50?.toFixed(2)} ms, p99 ${result.latency.p99?.toFixed(2)} ms, non-2xx ${result.non2xx}; ` +
          `${perRequest(cpu)} µs CPU/req (user ${perRequest(user1 - user0)}, system ${perRequest(system1 - system0)})${route === 'create' && server === hangar ? ' (boots included)' : ''}`,
      );
    }
  }
} finally {
  await ceiling?.stop();
  await hangar.stop();
  await sleep(200);
}
if (!profiling) process.exit(0);
summarizeProfile(dir, 25, requests);
