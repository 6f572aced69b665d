// Profiles Hangar on one route: starts it under `node --cpu-prof`, loads the route from a
// separate process, stops it (the profile is written on exit) and prints the summary.
//
//   node --import tsx bench/profile.ts <get_instance|list_50|list_deep|create> [--seconds 10]
//        [--connections 16] [--url <HANGAR_DATABASE_URL of a filled store>] [--page N]
//        [--computed]  (read cache off: every answer computed, as during a burst of writes)
//
// Without --url it profiles a fresh SQLite store holding 60 booted instances.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AUTH, CREATE_BODY, GENESIS, RESULTS, api, cpuMs, hangarEnv, load, log, quiesce, scratch, settle, sleep, sqliteStore, startHangar, summarizeProfile, type StoreSpec } from './lib/common.js';

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
  },
});
const route = positionals[0] ?? 'get_instance';
const dir = join(RESULTS, 'profiles', `${route}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(dir, { recursive: true });
const store: StoreSpec = values.url ? { engine: values.url.startsWith('sqlite:') ? 'sqlite' : 'postgres', url: values.url, drop: async () => undefined } : sqliteStore(scratch('profile'));
const profiling = !values['no-prof'];
const hangar = await startHangar('hangar', hangarEnv(store, { HANGAR_TIMINGS: values.timings!, ...(values.computed ? { HANGAR_READ_CACHE: '0' } : {}) }), { flags: profiling ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [] });
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
  log(`${profiling ? 'profiling' : 'loading'} ${route} (${paths[route]}) for ${values.seconds}s at ${values.connections} connections`);
  const run = (duration: number) =>
    load({
      url: hangar.url,
      paths: [paths[route]!],
      connections: Number(values.connections),
      duration,
      headers: AUTH,
      ...(route === 'create' ? { method: 'POST', body: CREATE_BODY } : {}),
    });
  if (!profiling) await run(2);
  const split = () => { const f = readFileSync(`/proc/${hangar.pid}/stat`, "utf8").slice(0).split(") ")[1]!.split(" "); return [Number(f[11]) * 10, Number(f[12]) * 10]; };
  for (let round = 0; round < Number(values.rounds); round++) {
    await quiesce();
    const before = cpuMs(hangar.pid);
    const [u0, s0] = split();
    const result = await run(Number(values.seconds));
    const [u1, s1] = split();
    log(`during the load: user ${(((u1! - u0!) * 1000) / result.requests).toFixed(0)} µs/req, system ${(((s1! - s0!) * 1000) / result.requests).toFixed(0)} µs/req`);
    if (route === 'create') await settle(hangar);
    const cpu = cpuMs(hangar.pid) - before;
    log(`${Math.round(result.rps)} req/s, p50 ${result.latency.p50?.toFixed(2)} ms, p99 ${result.latency.p99?.toFixed(2)} ms, non-2xx ${result.non2xx}; ${((cpu * 1000) / result.requests).toFixed(0)} µs CPU/req${route === 'create' ? ' (boots included)' : ''}`);
  }
} finally {
  await hangar.stop();
  await sleep(200);
}
if (!profiling) process.exit(0);
summarizeProfile(dir, 25);
