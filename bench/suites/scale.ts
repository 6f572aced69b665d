// Cost at scale: start-up on an empty store, then a store filled with `rows` instances on one
// account (through the store layer, bench/fill.ts): start-up to the first 200, resident
// memory, GET by id p50/p99 over ids spread across the whole table, and the first page of
// the instance list against a deep one (per_page 100; page 10,000 at a million rows), in
// alternating rounds.
import {
  AUTH,
  GENESIS,
  fillStore,
  fmt,
  hangarEnv,
  load,
  log,
  median,
  peakRssMiB,
  postgresStore,
  quiesce,
  rssMiB,
  scratch,
  spread,
  sqliteStore,
  startHangar,
  type Server,
  type StoreSpec,
} from '../lib/common.js';

export interface ScaleOptions {
  engine: 'sqlite' | 'postgres';
  rows: number;
  /** Hangar starts measured on each store (the median is reported). */
  starts: number;
  /** Starts on the empty store without a build (tsx), for comparison. */
  tsxStarts: number;
  rounds: number;
  duration: number;
  warmup: number;
  /** Connections for GET by id. */
  connections: number;
  /** Connections for the list pages (a latency comparison, so a few). */
  listConnections: number;
}

export interface ScaleResult {
  options: ScaleOptions;
  empty: { firstStartMs: number; startupMs: number[]; medianStartupMs: number; rssMiB: number; tsxStartupMs: number[]; medianTsxStartupMs: number };
  fillMs: number;
  startupMs: number[];
  medianStartupMs: number;
  rssAfterStartMiB: number;
  rssAfterLoadMiB: number;
  peakRssMiB: number;
  getById: { rps: number[]; p50: number[]; p99: number[]; medianRps: number; medianP50: number; medianP99: number };
  deepPage: number;
  /** The deep page's very first request after start-up (nothing cached yet). */
  deepPageColdMs: number;
  list: Record<'first' | 'deep', { rps: number[]; p50: number[]; p99: number[]; medianRps: number; medianP50: number; medianP99: number }>;
  deepOverFirst: number;
}

export async function scale(options: ScaleOptions): Promise<ScaleResult> {
  const dir = scratch(`scale-${options.engine}`);
  const makeStore = (tag: string): StoreSpec => (options.engine === 'sqlite' ? sqliteStore(dir, `${tag}.db`) : postgresStore(`scale_${tag}`));
  const stores: StoreSpec[] = [];
  let hangar: Server | null = null;
  try {
    // Empty store: the first start creates it; the following ones are plain restarts.
    const emptyStore = makeStore('empty');
    stores.push(emptyStore);
    const emptyStarts: number[] = [];
    let emptyRss = NaN;
    for (let i = 0; i <= options.starts; i++) {
      const server = await startHangar(`hangar-${options.engine}-empty`, hangarEnv(emptyStore));
      emptyStarts.push(server.startupMs);
      emptyRss = rssMiB(server.pid);
      await server.stop();
    }
    const [firstStartMs, ...restarts] = emptyStarts;
    log(`scale/${options.engine}: empty store start-up ${fmt.ms(firstStartMs!)} (creating it), then ${restarts.map((ms) => fmt.ms(ms)).join(', ')}`);
    // The same without a build: bin/hangar.js compiles the TypeScript sources through tsx.
    const tsxStarts: number[] = [];
    for (let i = 0; i < options.tsxStarts; i++) {
      const server = await startHangar(`hangar-${options.engine}-empty-tsx`, hangarEnv(emptyStore, { HANGAR_NO_BUILD: '1' }));
      tsxStarts.push(server.startupMs);
      await server.stop();
    }
    log(`scale/${options.engine}: empty store start-up without a build (tsx) ${tsxStarts.map((ms) => fmt.ms(ms)).join(', ')}`);

    const store = makeStore('filled');
    stores.push(store);
    log(`scale/${options.engine}: filling ${fmt.int(options.rows)} instances through the store layer`);
    const { ids, ms: fillMs } = await fillStore(store, options.rows, 'active');
    log(`scale/${options.engine}: filled in ${fmt.s(fillMs)}`);

    const perPage = 100;
    const deepPage = Math.max(2, Math.ceil(options.rows / perPage));
    const probe = `${GENESIS}/instances/${ids[ids.length - 1]}`;
    const deepPath = `${GENESIS}/instances?page=${deepPage}&per_page=${perPage}`;
    const firstPath = `${GENESIS}/instances?page=1&per_page=${perPage}`;
    const startupMs: number[] = [];
    let rssAfterStart = NaN;
    let deepPageColdMs = NaN;
    for (let i = 0; i < options.starts; i++) {
      if (hangar) await hangar.stop();
      await quiesce();
      // Every answer computed: the figures are the store's cost at this size, not replays of
      // answers kept from the previous round (a client paging through a million rows asks
      // for each page once).
      hangar = await startHangar(`hangar-${options.engine}-filled`, hangarEnv(store, { HANGAR_READ_CACHE: '0' }), { probe });
      startupMs.push(hangar.startupMs);
      rssAfterStart = rssMiB(hangar.pid);
      if (i === options.starts - 1) {
        const t = performance.now();
        const res = await fetch(hangar.url + deepPath, { headers: AUTH });
        await res.arrayBuffer();
        deepPageColdMs = performance.now() - t;
        if (res.status !== 200) throw new Error(`deep page answered ${res.status}`);
      }
    }
    log(`scale/${options.engine}: start-up with ${fmt.int(options.rows)} instances ${startupMs.map((ms) => fmt.ms(ms)).join(', ')}; RSS ${fmt.mib(rssAfterStart)}; deep page cold ${fmt.ms(deepPageColdMs)}`);
    const server = hangar!;

    const idPaths = spread(ids, 2000).map((id) => `${GENESIS}/instances/${id}`);
    if (options.warmup > 0) await load({ url: server.url, paths: idPaths, connections: options.connections, duration: options.warmup, headers: AUTH });
    const getById = { rps: [] as number[], p50: [] as number[], p99: [] as number[] };
    const list = { first: { rps: [] as number[], p50: [] as number[], p99: [] as number[] }, deep: { rps: [] as number[], p50: [] as number[], p99: [] as number[] } };
    if (options.warmup > 0) for (const path of [firstPath, deepPath]) await load({ url: server.url, paths: [path], connections: options.listConnections, duration: options.warmup, headers: AUTH });
    for (let round = 1; round <= options.rounds; round++) {
      await quiesce();
      const byId = await load({ url: server.url, paths: idPaths, connections: options.connections, duration: options.duration, headers: AUTH });
      assertOk(byId, 'GET by id');
      getById.rps.push(byId.rps);
      getById.p50.push(byId.latency.p50);
      getById.p99.push(byId.latency.p99);
      log(`  round ${round} GET by id        ${fmt.int(byId.rps).padStart(7)} req/s  p50 ${fmt.ms(byId.latency.p50)}  p99 ${fmt.ms(byId.latency.p99)}`);
      for (const [key, path] of [['first', firstPath], ['deep', deepPath]] as const) {
        await quiesce();
        const r = await load({ url: server.url, paths: [path], connections: options.listConnections, duration: options.duration, headers: AUTH });
        assertOk(r, `list ${key}`);
        list[key].rps.push(r.rps);
        list[key].p50.push(r.latency.p50);
        list[key].p99.push(r.latency.p99);
        log(`  round ${round} list page ${key === 'first' ? '1'.padEnd(6) : String(deepPage).padEnd(6)} ${fmt.int(r.rps).padStart(7)} req/s  p50 ${fmt.ms(r.latency.p50)}  p99 ${fmt.ms(r.latency.p99)}`);
      }
    }
    const rssAfterLoad = rssMiB(server.pid);
    const peak = peakRssMiB(server.pid);
    const withMedians = <T extends { rps: number[]; p50: number[]; p99: number[] }>(f: T) => ({ ...f, medianRps: median(f.rps), medianP50: median(f.p50), medianP99: median(f.p99) });
    const first = withMedians(list.first);
    const deep = withMedians(list.deep);
    return {
      options,
      empty: { firstStartMs: firstStartMs!, startupMs: restarts, medianStartupMs: median(restarts), rssMiB: emptyRss, tsxStartupMs: tsxStarts, medianTsxStartupMs: median(tsxStarts) },
      fillMs,
      startupMs,
      medianStartupMs: median(startupMs),
      rssAfterStartMiB: rssAfterStart,
      rssAfterLoadMiB: rssAfterLoad,
      peakRssMiB: peak,
      getById: withMedians(getById),
      deepPage,
      deepPageColdMs,
      list: { first, deep },
      deepOverFirst: deep.medianP50 / first.medianP50,
    };
  } finally {
    if (hangar) await hangar.stop();
    for (const store of stores) await store.drop();
  }
}

function assertOk(result: { non2xx: number; errors: number; statuses: Record<string, number> }, what: string): void {
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${what}: ${result.non2xx} non-2xx, ${result.errors} errors (${JSON.stringify(result.statuses)})`);
}
