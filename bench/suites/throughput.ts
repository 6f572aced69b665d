// Throughput on the same three routes from three kinds of server: the ceiling (bare
// node:http, Hangar's own bytes), Prism mocking Hangar's OpenAPI document, and Hangar itself
// (SQLite, and PostgreSQL when a server is reachable). Every (server, route) pair is warmed up
// once (discarded), then measured in alternating rounds, A B C … A B C …, so a drift in the
// machine's speed hits every server alike; the figure is the median over the rounds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AUTH,
  CREATE_BODY,
  GENESIS,
  api,
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

const ROUTES = ['get_instance', 'list_50', 'create'] as const;
type Route = (typeof ROUTES)[number];

export async function throughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const dir = scratch('throughput');
  const notes: string[] = [];
  const servers: { server: Server; store?: StoreSpec; paths: Record<Route, string> }[] = [];
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
    const [one, list, created] = await Promise.all([
      api(hangar.url, 'GET', paths.get_instance),
      api(hangar.url, 'GET', paths.list_50),
      api(hangar.url, 'POST', `${GENESIS}/instances`, CREATE_BODY),
    ]);
    writeFileSync(
      fixtures,
      JSON.stringify([
        { method: 'GET', prefix: `${GENESIS}/instances`, exact: true, status: list.status, contentType: list.contentType, body: list.raw.toString('base64') },
        { method: 'GET', prefix: `${GENESIS}/instances/`, status: one.status, contentType: one.contentType, body: one.raw.toString('base64') },
        { method: 'POST', prefix: `${GENESIS}/instances`, exact: true, status: created.status, contentType: created.contentType, body: created.raw.toString('base64') },
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
            paths: { get_instance: strip(paths.get_instance), list_50: strip(paths.list_50), create: strip(paths.create) },
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
      load({
        url: entry.server.url,
        paths: [entry.paths[route]],
        connections: options.connections,
        duration,
        headers: AUTH,
        ...(route === 'create' ? { method: 'POST', body: CREATE_BODY } : {}),
      });

    log(`throughput: ${servers.map((s) => s.server.name).join(', ')}; warm-up ${options.warmup}s each, then ${options.rounds} round(s) of ${options.duration}s at ${options.connections} connections`);
    for (const entry of servers) {
      if (options.warmup > 0) for (const route of ROUTES) await run(entry, route, options.warmup);
      if (entry.store) await settle(entry.server);
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const route of ROUTES) {
        for (const entry of servers) {
          const busy = await quiesce();
          if (busy >= 0.15) notes.push(`round ${round} ${route} ${entry.server.name}: other processes were using ${fmt.pct(busy)} of a core`);
          const cpuBefore = cpuMs(entry.server.pid);
          const steal = stealMeter();
          const result = await run(entry, route, options.duration);
          const cpu = cpuMs(entry.server.pid) - cpuBefore;
          const stolen = steal();
          // Creates leave boots behind; let them finish before the next server is measured.
          if (route === 'create' && entry.store) await settle(entry.server);
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

/** 60 booted instances on the demo account; the paths of one instance and of a page of 50. */
async function prepare(hangar: Server): Promise<Record<Route, string>> {
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
