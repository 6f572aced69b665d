// The lifecycle engine under a burst: `transitions` instances waiting to boot, every boot due
// at the same instant. A store is filled with the instances (status creating) and their boot
// timers set a day ahead; Hangar starts; GETs by id run from a separate process; then, through
// a connection of the bench's own, every timer is set due 2 s ahead. Measured: the time from
// that instant until every instance is active and no timer is left, and the GET latency of
// the requests answered while the burst drained.
//
// With `accountClocks` (--account-clocks 1000), that many accounts hold clocks of their own
// (running, as a parallel suite's workers would leave them) and the timers are spread over
// them: the drain then runs on their clocks. (The instances stay the demo account's, which the
// GETs read; what the engine's drain costs is the timers', and their accounts' clocks.)
import {
  AUTH,
  GENESIS,
  fillStore,
  fmt,
  hangarEnv,
  load,
  log,
  percentile,
  postgresStore,
  quiesce,
  scratch,
  sideConnection,
  sleep,
  spread,
  sqliteStore,
  startHangar,
  type Server,
  type StoreSpec,
} from '../lib/common.js';

export interface LifecycleOptions {
  engine: 'sqlite' | 'postgres';
  transitions: number;
  connections: number;
  /** Give up waiting after this long (ms). */
  timeoutMs: number;
  /** Accounts holding their own clocks, over which the timers are spread (0: the global clock). */
  accountClocks?: number;
}

export interface LifecycleResult {
  options: LifecycleOptions;
  fillMs: number;
  /** From the instant every timer was due until the last was applied. */
  drainMs: number;
  appliedPerSecond: number;
  allActive: boolean;
  before: { requests: number; p50: number; p99: number };
  during: { requests: number; rps: number; p50: number; p99: number; max: number };
  non2xx: number;
}

const LEAD_MS = 2000;

export async function lifecycle(options: LifecycleOptions): Promise<LifecycleResult> {
  const dir = scratch(`lifecycle-${options.engine}`);
  const store: StoreSpec = options.engine === 'sqlite' ? sqliteStore(dir, 'lifecycle.db') : postgresStore('lifecycle');
  let hangar: Server | null = null;
  const side = { conn: null as Awaited<ReturnType<typeof sideConnection>> | null };
  try {
    log(`lifecycle/${options.engine}: filling ${fmt.int(options.transitions)} instances waiting to boot`);
    const { ids, ms: fillMs } = await fillStore(store, options.transitions, 'creating', Date.now() + 86_400_000);
    if (options.accountClocks) await spreadOverAccountClocks(store, options.accountClocks);
    hangar = await startHangar(`hangar-${options.engine}-lifecycle`, hangarEnv(store), { probe: `${GENESIS}/instances/${ids[0]}` });
    side.conn = await sideConnection(store);
    const paths = spread(ids, 2000).map((id) => `${GENESIS}/instances/${id}`);
    await load({ url: hangar.url, paths, connections: options.connections, duration: 2, headers: AUTH });
    await quiesce();

    const abort = new AbortController();
    const running = load({ url: hangar.url, paths, connections: options.connections, duration: Math.ceil(options.timeoutMs / 1000) + 10, headers: AUTH, timeline: true, signal: abort.signal });
    await sleep(1000);
    const dueAt = Date.now() + LEAD_MS;
    await side.conn.query('update lifecycle_timers set due_at = ?', [dueAt]);
    log(`lifecycle/${options.engine}: ${fmt.int(options.transitions)} boots due at +${LEAD_MS} ms${options.accountClocks ? ` on ${fmt.int(options.accountClocks)} accounts' own clocks` : ''}`);
    let doneAt = NaN;
    // (cheap probes only: the bench shares the machine with the Hangar it measures)
    for (;;) {
      const [timers] = await side.conn.query<{ n: number }>('select exists (select 1 from lifecycle_timers) as n');
      if (Number(timers!.n) === 0) {
        const [creating] = await side.conn.query<{ n: number }>("select exists (select 1 from genesis_instances where status = 'creating') as n");
        if (Number(creating!.n) === 0) {
          doneAt = Date.now();
          break;
        }
      }
      if (Date.now() - dueAt > options.timeoutMs) break;
      await sleep(25);
    }
    await sleep(500);
    abort.abort();
    const result = await running;
    const [active] = await side.conn.query<{ n: number }>("select count(*) as n from genesis_instances where status = 'active'");
    const allActive = Number(active!.n) === options.transitions;
    const end = Number.isFinite(doneAt) ? doneAt : Date.now();
    // The worker's timeline: [ms since its start, latency ms] per response.
    const window = (from: number, to: number) =>
      Float64Array.from((result.timeline ?? []).filter(([t]) => result.started + t >= from && result.started + t <= to).map(([, l]) => l)).sort();
    const before = window(0, dueAt);
    const during = window(dueAt, end);
    const drainMs = end - dueAt;
    log(`lifecycle/${options.engine}: ${Number.isFinite(doneAt) ? `applied in ${fmt.s(drainMs)}` : `NOT drained within ${fmt.s(options.timeoutMs)}`}; GET while draining p50 ${fmt.ms(percentile(during, 50))} p99 ${fmt.ms(percentile(during, 99))} (${fmt.int(during.length)} requests)`);
    return {
      options,
      fillMs,
      drainMs: Number.isFinite(doneAt) ? drainMs : NaN,
      appliedPerSecond: Number.isFinite(doneAt) ? options.transitions / (drainMs / 1000) : NaN,
      allActive,
      before: { requests: before.length, p50: percentile(before, 50), p99: percentile(before, 99) },
      during: {
        requests: during.length,
        rps: during.length / Math.max(0.001, drainMs / 1000),
        p50: percentile(during, 50),
        p99: percentile(during, 99),
        max: during.length ? during[during.length - 1]! : NaN,
      },
      non2xx: result.non2xx + result.errors,
    };
  } finally {
    await side.conn?.close();
    if (hangar) await hangar.stop();
    await store.drop();
  }
}

/** `n` accounts with clocks of their own (running), and the timers spread over them. */
export async function spreadOverAccountClocks(store: StoreSpec, n: number): Promise<void> {
  const conn = await sideConnection(store);
  try {
    const columns = 'id, name, created_at, standing, clock_follows_global, clock_offset_ms, clock_frozen_at';
    const count = Math.floor(n); // (written into the statements: SQLite binds a JavaScript number as a real, "bench-clock-1.0")
    if (store.engine === 'sqlite') {
      await conn.query(
        `insert into accounts (${columns}) with recursive n(i) as (select 0 union all select i + 1 from n where i < ${count - 1}) select 'bench-clock-' || i, 'bench-clock-' || i, ?, 'active', 0, 0, null from n`,
        [Date.now()],
      );
      await conn.query(`update lifecycle_timers set own_clock = 1, account = 'bench-clock-' || (rowid % ${count})`);
    } else {
      await conn.query(`insert into accounts (${columns}) select 'bench-clock-' || i, 'bench-clock-' || i, ?, 'active', 0, 0, null from generate_series(0, ${count - 1}) i`, [Date.now()]);
      await conn.query(`update lifecycle_timers set own_clock = 1, account = 'bench-clock-' || (abs(hashtext(id)) % ${count})`);
      await conn.query('analyze lifecycle_timers');
    }
    log(`lifecycle: ${fmt.int(n)} accounts hold their own clocks; the timers are spread over them`);
  } finally {
    await conn.close();
  }
}
