// Sustained creates: POST /instances from `connections` connections for `duration` seconds
// (after a discarded warm-up), on a fresh store. Then: every 201 must be an instance in the
// store (none lost, none extra), and every instance must reach active (the lifecycle engine
// boots them on the configured timing profile while the creates go on).
import {
  AUTH,
  CREATE_BODY,
  GENESIS,
  api,
  fmt,
  hangarEnv,
  load,
  log,
  postgresStore,
  quiesce,
  scratch,
  sideConnection,
  sleep,
  sqliteStore,
  startHangar,
  type Server,
  type StoreSpec,
} from '../lib/common.js';

export interface CreatesOptions {
  engine: 'sqlite' | 'postgres';
  duration: number;
  connections: number;
  warmup: number;
  timings: 'instant' | 'fast';
  timeoutMs: number;
}

export interface CreatesResult {
  options: CreatesOptions;
  created: number;
  perSecond: number;
  p50: number;
  p99: number;
  failed: number;
  statuses: Record<string, number>;
  /** Instances in the store after the run, and as the API counts them. */
  stored: number;
  apiTotal: number;
  lost: number;
  /** Instances created by requests still in flight when the load generator stopped. */
  inFlight: number;
  allActive: boolean;
  /** From the end of the load until every instance was active. */
  settleMs: number;
}

export async function creates(options: CreatesOptions): Promise<CreatesResult> {
  const dir = scratch(`creates-${options.engine}`);
  const store: StoreSpec = options.engine === 'sqlite' ? sqliteStore(dir, 'creates.db') : postgresStore('creates');
  let hangar: Server | null = null;
  let side: Awaited<ReturnType<typeof sideConnection>> | null = null;
  try {
    hangar = await startHangar(`hangar-${options.engine}-creates`, hangarEnv(store, { HANGAR_TIMINGS: options.timings }));
    side = await sideConnection(store);
    const url = hangar.url;
    const post = { url, paths: [`${GENESIS}/instances`], method: 'POST', body: CREATE_BODY, headers: AUTH };
    if (options.warmup > 0) await load({ ...post, connections: options.connections, duration: options.warmup });
    const before = (await api(url, 'GET', `${GENESIS}/instances?per_page=1`)).body.total_count as number;
    await quiesce();
    log(`creates/${options.engine}: POST /instances for ${options.duration}s at ${options.connections} connections (timings ${options.timings})`);
    const result = await load({ ...post, connections: options.connections, duration: options.duration, collectIds: true });
    const loadEnded = performance.now();
    const created = result.statuses['201'] ?? 0;
    const failed = result.requests - created + result.errors;

    let allActive = false;
    let stored = NaN;
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const rows = await side.query<{ status: string; n: number }>('select status, count(*) as n from genesis_instances group by status');
      stored = rows.reduce((sum, r) => sum + Number(r.n), 0);
      const active = Number(rows.find((r) => r.status === 'active')?.n ?? 0);
      if (active === stored) {
        allActive = true;
        break;
      }
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    const settleMs = performance.now() - loadEnded;
    const apiTotal = (await api(url, 'GET', `${GENESIS}/instances?per_page=1`)).body.total_count as number;
    // Lost: an instance answered 201 that is not in the store (or not active).
    const ids = result.ids ?? [];
    let lost = created - ids.length; // a 201 whose id could not be read counts as lost
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const [found] = await side.query<{ n: number }>(
        `select count(*) as n from genesis_instances where status = 'active' and id in (${chunk.map(() => '?').join(',')})`,
        chunk,
      );
      lost += chunk.length - Number(found!.n);
    }
    // Creates still in flight when the load stopped were made but never counted as answered.
    const inFlight = stored - before - created;
    log(`creates/${options.engine}: ${fmt.int(created)} created (${fmt.int(created / result.duration)}/s), ${failed} failed, ${lost} lost, ${inFlight} in flight at the stop; ${allActive ? `all active ${fmt.s(settleMs)} after the load` : 'NOT all active'}`);
    return {
      options,
      created,
      perSecond: created / result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      failed,
      statuses: result.statuses,
      stored,
      apiTotal,
      lost,
      inFlight,
      allActive,
      settleMs,
    };
  } finally {
    await side?.close();
    if (hangar) await hangar.stop();
    await store.drop();
  }
}
