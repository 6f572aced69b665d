// Throughput on the same routes from three kinds of server: the ceiling (bare node:http,
// Hangar's own bytes), Prism mocking Hangar's OpenAPI document (Genesis routes only), and
// Hangar itself (SQLite, and PostgreSQL when a server is reachable). The routes: Genesis's GET
// one instance, GET a page of 50 and POST create, and Crusoe's GET one VM, list VMs (limit 50)
// and create VM, every Crusoe request signed by the load generator as it is sent. Every (server, route) pair is warmed up
// once (discarded), then measured in alternating rounds, A B C … A B C …, so a drift in the
// machine's speed hits every server alike; the figure is the median over the rounds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AUTH,
  CREATE_BODY,
  CRUSOE,
  CRUSOE_CREATE_BODY,
  CRUSOE_KEYS,
  GENESIS,
  api,
  crusoeApi,
  cpuMs,
  ensurePrism,
  fmt,
  hangarEnv,
  load,
  log,
  median,
  settle,
  postgresAvailable,
  postgresStore,
  quiesce,
  stealMeter,
  scratch,
  sqliteStore,
  startCeiling,
  startHangar,
  startPrism,
  type LoadOptions,
  type LoadResult,
  type Server,
  type StoreSpec,
} from '../lib/common.js';

export interface ThroughputOptions {
  rounds: number;
  duration: number;
  warmup: number;
  connections: number;
  prism: boolean;
  postgres: boolean;
}

export interface RouteFigures {
  rps: number[];
  p50: number[];
  p99: number[];
  /** The server's CPU time (user + system) per request answered, in microseconds. */
  cpuUs: number[];
  /** The share of the machine's CPU time the hypervisor took for other guests (steal). */
  steal: number[];
  non2xx: number;
}

export interface ThroughputResult {
  options: ThroughputOptions;
  servers: string[];
  routes: string[];
  /** server → route → per-round figures and their medians */
  figures: Record<string, Record<string, RouteFigures & { medianRps: number; medianP50: number; medianP99: number; medianCpuUs: number }>>;
  notes: string[];
}

export const ROUTES = ['get_instance', 'list_50', 'create', 'crusoe_get_vm', 'crusoe_list_50', 'crusoe_create'] as const;
export type Route = (typeof ROUTES)[number];
/** The Genesis routes (the only ones Prism mocks: it is given Genesis's document). */
const GENESIS_ROUTES = new Set<Route>(['get_instance', 'list_50', 'create']);
export const isCreate = (route: Route) => route === 'create' || route === 'crusoe_create';

export async function throughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const dir = scratch('throughput');
  const notes: string[] = [];
  const servers: { server: Server; store?: StoreSpec; paths: Partial<Record<Route, string>> }[] = [];
  try {
    // Hangar on SQLite: an instance to read and a page of 50 to list (created over HTTP, booted).
    const sqlite = sqliteStore(dir);
    const hangar = await startHangar('hangar-sqlite', hangarEnv(sqlite));
    const paths = await prepare(hangar);
    servers.push({ server: hangar, store: sqlite, paths });
    // The same Hangar computing every answer (HANGAR_READ_CACHE=0): a GET that is not a repeat
    // of one nothing has changed since, as every GET is while anything is being written.
    const computedStore = sqliteStore(dir, 'computed.db');
    const computed = await startHangar('hangar-sqlite-computed', hangarEnv(computedStore, { HANGAR_READ_CACHE: '0' }));
    servers.push({ server: computed, store: computedStore, paths: await prepare(computed) });

    // The ceiling answers with the bytes Hangar answered with.
    const fixtures = join(dir, 'fixtures.json');
    const vms = paths.crusoe_create!.slice(CRUSOE.length);
    const [one, list, created, vm, vmList, vmCreated] = await Promise.all([
      api(hangar.url, 'GET', paths.get_instance!),
      api(hangar.url, 'GET', paths.list_50!),
      api(hangar.url, 'POST', `${GENESIS}/instances`, CREATE_BODY),
      crusoeApi(hangar.url, 'GET', paths.crusoe_get_vm!.slice(CRUSOE.length)),
      crusoeApi(hangar.url, 'GET', paths.crusoe_list_50!.slice(CRUSOE.length)),
      crusoeApi(hangar.url, 'POST', vms, { ...CRUSOE_CREATE_BODY, name: 'bench-fixture' }),
    ]);
    const fixture = (method: string, prefix: string, exact: boolean, res: Awaited<ReturnType<typeof api>>) => ({
      method,
      prefix,
      exact,
      status: res.status,
      contentType: res.contentType,
      body: res.raw.toString('base64'),
    });
    writeFileSync(
      fixtures,
      JSON.stringify([
        fixture('GET', `${GENESIS}/instances`, true, list),
        fixture('GET', `${GENESIS}/instances/`, false, one),
        fixture('POST', `${GENESIS}/instances`, true, created),
        fixture('GET', paths.crusoe_create!, true, vmList),
        fixture('GET', `${paths.crusoe_create!}/`, false, vm),
        fixture('POST', paths.crusoe_create!, true, vmCreated),
      ]),
    );
    servers.unshift({ server: await startCeiling(fixtures), paths });

    if (options.prism) {
      const bin = ensurePrism();
      if (bin) {
        const openapi = join(dir, 'openapi.yaml');
        writeFileSync(openapi, (await api(hangar.url, 'GET', `${GENESIS}/openapi.yaml`)).raw);
        const prism = await startPrism(bin, openapi);
        if (prism) {
          // Prism serves the document's paths (its server URL is the /compute/v1 prefix).
          const probe = await fetch(`${prism.url}${paths.get_instance}`, { headers: AUTH });
          await probe.arrayBuffer();
          const base = probe.status === 200 ? '' : 'strip';
          const strip = (p: string) => (base === 'strip' ? p.slice(GENESIS.length) : p);
          servers.splice(1, 0, {
            server: prism,
            paths: { get_instance: strip(paths.get_instance!), list_50: strip(paths.list_50!), create: strip(paths.create!) },
          });
        } else notes.push('Prism did not start: left out');
      } else notes.push('Prism could not be installed: left out');
    }

    if (options.postgres) {
      if (await postgresAvailable()) {
        const store = postgresStore('tp');
        const pgHangar = await startHangar('hangar-postgres', hangarEnv(store));
        servers.push({ server: pgHangar, store, paths: await prepare(pgHangar) });
      } else notes.push('PostgreSQL is not reachable: Hangar on PostgreSQL left out');
    }

    const figures: ThroughputResult['figures'] = {};
    const run = async (entry: (typeof servers)[number], route: Route, duration: number): Promise<LoadResult> =>
      load(routeLoad(entry.server.url, route, entry.paths[route]!, options.connections, duration));

    log(`throughput: ${servers.map((s) => s.server.name).join(', ')}; warm-up ${options.warmup}s each, then ${options.rounds} round(s) of ${options.duration}s at ${options.connections} connections`);
    for (const entry of servers) {
      if (options.warmup > 0) for (const route of ROUTES) if (entry.paths[route]) await run(entry, route, options.warmup);
      if (entry.store) await settle(entry.server);
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const route of ROUTES) {
        for (const entry of servers) {
          if (!entry.paths[route]) continue;
          const busy = await quiesce();
          if (busy >= 0.15) notes.push(`round ${round} ${route} ${entry.server.name}: other processes were using ${fmt.pct(busy)} of a core`);
          const cpuBefore = cpuMs(entry.server.pid);
          const steal = stealMeter();
          const result = await run(entry, route, options.duration);
          const cpu = cpuMs(entry.server.pid) - cpuBefore;
          const stolen = steal();
          // Creates leave boots behind; let them finish before the next server is measured.
          if (isCreate(route) && entry.store) await settle(entry.server);
          const f = ((figures[entry.server.name] ??= {} as never)[route] ??= { rps: [], p50: [], p99: [], cpuUs: [], steal: [], non2xx: 0 } as never) as RouteFigures;
          f.rps.push(result.rps);
          f.p50.push(result.latency.p50);
          f.p99.push(result.latency.p99);
          f.cpuUs.push((cpu * 1000) / Math.max(1, result.requests));
          f.steal.push(stolen);
          f.non2xx += result.non2xx + result.errors;
          log(`  round ${round} ${route.padEnd(12)} ${entry.server.name.padEnd(22)} ${fmt.int(result.rps).padStart(7)} req/s  p50 ${fmt.ms(result.latency.p50)}  p99 ${fmt.ms(result.latency.p99)}  ${((cpu * 1000) / Math.max(1, result.requests)).toFixed(0)} µs CPU/req  steal ${fmt.pct(stolen)}${result.non2xx + result.errors ? `  (${result.non2xx} non-2xx, ${result.errors} errors)` : ''}`);
        }
      }
    }
    for (const byRoute of Object.values(figures)) {
      for (const f of Object.values(byRoute)) Object.assign(f, { medianRps: median(f.rps), medianP50: median(f.p50), medianP99: median(f.p99), medianCpuUs: median(f.cpuUs) });
    }
    const rounds = Object.entries(figures).flatMap(([server, byRoute]) =>
      Object.entries(byRoute).flatMap(([route, f]) => f.steal.map((share, i) => ({ share, label: `round ${i + 1} ${route} ${server}` }))),
    );
    if (rounds.length > 0) {
      const worst = rounds.reduce((a, b) => (b.share > a.share ? b : a));
      notes.push(`steal (CPU time the host gave other virtual machines) over the rounds: median ${fmt.pct(median(rounds.map((r) => r.share)))}, highest ${fmt.pct(worst.share)} (${worst.label})`);
    }
    return { options, servers: servers.map((s) => s.server.name), routes: [...ROUTES], figures, notes };
  } finally {
    for (const { server } of servers) await server.stop();
    for (const { store } of servers) await store?.drop();
  }
}

/** The load of one route: its method, body and authentication (Crusoe's signed per request). */
export function routeLoad(url: string, route: Route, path: string, connections: number, duration: number): LoadOptions {
  return {
    url,
    paths: [path],
    connections,
    duration,
    ...(GENESIS_ROUTES.has(route) ? { headers: AUTH } : { crusoe: CRUSOE_KEYS }),
    ...(route === 'create' ? { method: 'POST', body: CREATE_BODY } : {}),
    ...(route === 'crusoe_create' ? { method: 'POST', body: CRUSOE_CREATE_BODY, uniqueNames: true } : {}),
  };
}

/**
 * 60 booted instances and 60 running VMs on the demo account; the paths of one of each, of a
 * page of 50 of each, and of their creation.
 */
export async function prepare(hangar: Server): Promise<Record<Route, string>> {
  return { ...(await prepareGenesis(hangar)), ...(await prepareCrusoe(hangar)) };
}

async function prepareGenesis(hangar: Server): Promise<Record<'get_instance' | 'list_50' | 'create', string>> {
  const ids: string[] = [];
  for (let i = 0; i < 60; i++) {
    const res = await api(hangar.url, 'POST', `${GENESIS}/instances`, CREATE_BODY);
    if (res.status !== 201) throw new Error(`${hangar.name}: create answered ${res.status}: ${JSON.stringify(res.body)}`);
    ids.push(res.body.instance.id);
  }
  // Wait until they are active, so every server answers about the same settled instance.
  for (let i = 0; ; i++) {
    const res = await api(hangar.url, 'GET', `${GENESIS}/instances/${ids[ids.length - 1]}`);
    if (res.body?.instance?.status === 'active') break;
    if (i > 600) throw new Error(`${hangar.name}: instances did not become active`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { get_instance: `${GENESIS}/instances/${ids[0]}`, list_50: `${GENESIS}/instances`, create: `${GENESIS}/instances` };
}

export async function prepareCrusoe(hangar: Server): Promise<Record<'crusoe_get_vm' | 'crusoe_list_50' | 'crusoe_create', string>> {
  // The VM quota (1,000 by default), the family's vCPUs (16,384: 8,192 of the created type) and
  // disk storage (1 PiB: 8,192 boot disks of 128 GiB) would stop the create rounds: lift them on
  // every account.
  const { accounts } = (await api(hangar.url, 'GET', '/admin/v1/accounts')).body as { accounts: { id: string }[] };
  for (const { id } of accounts) {
    const family = `crusoe.family.${CRUSOE_CREATE_BODY.type.split('.')[0]}`;
    const res = await api(hangar.url, 'PUT', `/admin/v1/accounts/${id}/quotas`, { 'crusoe.vms': 100_000_000, [family]: 100_000_000, 'crusoe.storage_gib': 100_000_000_000 });
    if (res.status !== 200) throw new Error(`${hangar.name}: setting the VM quota answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  const projects = await crusoeApi(hangar.url, 'GET', '/organizations/projects');
  const projectId = projects.body?.items?.[0]?.id;
  if (typeof projectId !== 'string') throw new Error(`${hangar.name}: no Crusoe project: ${JSON.stringify(projects.body)}`);
  const vms = `/projects/${projectId}/compute/vms/instances`;
  let last = '';
  for (let i = 0; i < 60; i++) {
    const res = await crusoeApi(hangar.url, 'POST', vms, { ...CRUSOE_CREATE_BODY, name: `bench-seed-${i}` });
    if (res.status !== 200) throw new Error(`${hangar.name}: create VM answered ${res.status}: ${JSON.stringify(res.body)}`);
    last = res.body.operation.operation_id;
  }
  for (let i = 0; ; i++) {
    const res = await crusoeApi(hangar.url, 'GET', `${vms}/operations/${last}`);
    if (res.body?.state === 'SUCCEEDED') break;
    if (i > 600) throw new Error(`${hangar.name}: VMs were not created: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const page = await crusoeApi(hangar.url, 'GET', `${vms}?limit=50`);
  const id: string = page.body.items[0].id;
  return { crusoe_get_vm: `${CRUSOE}${vms}/${id}`, crusoe_list_50: `${CRUSOE}${vms}?limit=50`, crusoe_create: `${CRUSOE}${vms}` };
}
