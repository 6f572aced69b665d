// One replica versus several on one PostgreSQL (README: "Several replicas on PostgreSQL"). A
// store is filled with instances; three Hangars start on it; then, in alternating rounds, the
// same load (same connections in all) goes to the first replica alone and is spread evenly
// over all of them, as a round-robin proxy would: GET one instance, and POST create instance.
// Reported: the median requests per second of each, and the ratio.
import {
  AUTH,
  CREATE_BODY,
  GENESIS,
  fillStore,
  fmt,
  hangarEnv,
  load,
  log,
  median,
  postgresStore,
  quiesce,
  spread,
  startHangar,
  type LoadOptions,
  type LoadResult,
  type Server,
} from '../lib/common.js';

export interface ReplicasOptions {
  replicas: number;
  rows: number;
  connections: number;
  duration: number;
  warmup: number;
  rounds: number;
}

interface Figure {
  rps: number[];
  p99: number[];
  non2xx: number;
  medianRps: number;
  medianP99: number;
}

export interface ReplicasResult {
  options: ReplicasOptions;
  /** Per route ('get_instance', 'create'), per replica count ('1', '3'). */
  figures: Record<string, Record<string, Figure>>;
}

export async function replicas(options: ReplicasOptions): Promise<ReplicasResult> {
  const store = postgresStore('replicas');
  const servers: Server[] = [];
  try {
    log(`replicas: filling ${fmt.int(options.rows)} instances, then starting ${options.replicas} replicas on one PostgreSQL schema`);
    const { ids } = await fillStore(store, options.rows, 'active');
    // The first migrates and seeds the store; the others then start together and find it ready.
    const start = (i: number) => startHangar(`replica-${i + 1}`, hangarEnv(store), { probe: `${GENESIS}/instances/${ids[0]}` });
    servers.push(await start(0));
    servers.push(...(await Promise.all(Array.from({ length: options.replicas - 1 }, (_, i) => start(i + 1)))));
    const getPaths = spread(ids, 2000).map((id) => `${GENESIS}/instances/${id}`);
    const routes: Record<'get_instance' | 'create', Pick<LoadOptions, 'paths' | 'method' | 'body'>> = {
      get_instance: { paths: getPaths },
      create: { paths: [`${GENESIS}/instances`], method: 'POST', body: CREATE_BODY },
    };
    const counts = [1, options.replicas];
    const figures: ReplicasResult['figures'] = {};

    /** The load spread over the first `n` replicas, the connections divided between them. */
    const spreadLoad = async (route: keyof typeof routes, n: number, duration: number): Promise<{ rps: number; p99: number; non2xx: number }> => {
      const per = Math.floor(options.connections / n);
      const results: LoadResult[] = await Promise.all(
        servers.slice(0, n).map((server, i) =>
          load({ url: server.url, ...routes[route], connections: per + (i < options.connections % n ? 1 : 0), duration, headers: AUTH }),
        ),
      );
      return {
        rps: results.reduce((sum, r) => sum + r.rps, 0),
        // (the worst replica's p99: a client behind the proxy sees all of them)
        p99: Math.max(...results.map((r) => r.latency.p99)),
        non2xx: results.reduce((sum, r) => sum + r.non2xx + r.errors, 0),
      };
    };

    for (const route of Object.keys(routes) as (keyof typeof routes)[]) {
      figures[route] = {};
      for (const n of counts) figures[route]![String(n)] = { rps: [], p99: [], non2xx: 0, medianRps: NaN, medianP99: NaN };
      if (options.warmup > 0) for (const n of counts) await spreadLoad(route, n, options.warmup);
      for (let round = 1; round <= options.rounds; round++) {
        for (const n of round % 2 ? counts : [...counts].reverse()) {
          await quiesce();
          const r = await spreadLoad(route, n, options.duration);
          const f = figures[route]![String(n)]!;
          f.rps.push(r.rps);
          f.p99.push(r.p99);
          f.non2xx += r.non2xx;
          log(`  round ${round} ${route.padEnd(12)} ${n} replica${n > 1 ? 's' : ' '} ${fmt.int(r.rps).padStart(7)} req/s  p99 ${fmt.ms(r.p99)}${r.non2xx ? `  ${r.non2xx} non-2xx` : ''}`);
        }
      }
      for (const f of Object.values(figures[route]!)) {
        f.medianRps = median(f.rps);
        f.medianP99 = median(f.p99);
      }
    }
    return { options, figures };
  } finally {
    for (const server of servers) await server.stop();
    await store.drop();
  }
}
