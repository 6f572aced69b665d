import { sql } from 'kysely';
import type { Journal, JournalEntry } from '../http/journal.js';
import type { Kernel } from '../kernel/kernel.js';

/** A transition the lifecycle engine applied, as the audit log recorded it. */
export interface TransitionEvent {
  kind: string;
  resource_id: string;
  transition: string;
  from: string;
  to: string | null;
  /** On Hangar's clock. */
  due_at: string;
  applied_at: string;
}

export type FeedEvent =
  | { type: 'transitions'; data: { items: TransitionEvent[]; more: number } }
  | { type: 'request'; data: Record<string, unknown> }
  | { type: 'clock'; data: { now: string; frozen: boolean } };

/** Transitions sent per event at most; past that the event says how many more there were. */
const MAX_ITEMS = 200;
/** How far back a PostgreSQL tail looks again for entries committed after later ones. */
const LOOKBACK_MS = 5_000;

/**
 * What the console's live views follow: the transitions the lifecycle engine applies (read
 * from the audit log, so a transition applied by another replica sharing the store shows too),
 * the requests this replica answers (its journal), and the clock when it is moved.
 *
 * The log is tailed only while someone listens: woken at once by this process's own engine
 * (onApplied) and its journal, and polled every `pollMs` for other replicas' work. SQLite
 * tails by rowid (its writers are serialised, so rowids commit in order); PostgreSQL by the
 * entries' ids, which begin with the wall clock's milliseconds, looking back a few seconds for
 * transactions that committed after later ones and skipping entries already sent. A seeded
 * PostgreSQL store's ids are not time-ordered: there the feed follows the log's size instead
 * and sends transitions events without items (see tailCounting).
 */
export class EventFeed {
  private readonly listeners = new Set<(event: FeedEvent) => void>();
  private timer: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** SQLite: the last rowid sent. */
  private rowid: number | null = null;
  /** PostgreSQL: ids sent in the look-back window, by their milliseconds. */
  private readonly seen = new Map<string, number>();
  private newestMs = 0;
  /** PostgreSQL with seeded ids (not time-ordered): how many entries the log had at the last look. */
  private counted: number | null = null;
  private clockSeen: { now: number; frozen: boolean; wall: number } | null = null;

  constructor(
    private readonly kernel: Kernel,
    journal: Journal,
    private readonly pollMs = 2_000,
  ) {
    kernel.lifecycle.onApplied(() => this.wake());
    journal.onRecord((entry) => this.request(entry));
  }

  get listening(): number {
    return this.listeners.size;
  }

  /** Starts following (the tail begins now); returns how to stop. */
  async subscribe(listener: (event: FeedEvent) => void): Promise<() => void> {
    if (this.listeners.size === 0) await this.begin();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.end();
    };
  }

  clock(): { now: string; frozen: boolean } {
    return { now: this.kernel.clock.iso(), frozen: this.kernel.clock.frozen };
  }

  /** Reads what happened since the last look soon (a burst of wake-ups reads once). */
  wake(): void {
    if (this.listeners.size === 0 || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, 50);
  }

  /** Reads the log now (and the clock); resolves once what it found was sent. */
  async tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          this.checkClock();
          await this.tail();
        } catch (error) {
          this.kernel.log.warn({ err: error }, 'console feed: cannot read the audit log; will retry');
        }
      } while (this.again && this.listeners.size > 0);
    })().finally(() => (this.running = null));
    return this.running;
  }

  private emit(event: FeedEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private request(entry: JournalEntry): void {
    if (this.listeners.size === 0) return;
    this.emit({ type: 'request', data: { ...entry } });
  }

  private async begin(): Promise<void> {
    if (this.kernel.store.engine === 'sqlite') {
      const row = await sql<{ n: number | null }>`select max(rowid) as n from lifecycle_log`.execute(this.kernel.db);
      this.rowid = Number(row.rows[0]?.n ?? 0);
    } else if (this.kernel.ids.seeded !== null) {
      this.counted = await this.logSize();
    } else {
      this.newestMs = Date.now();
      this.seen.clear();
    }
    this.clockSeen = null;
    this.checkClock();
    this.poll = setInterval(() => void this.tick(), this.pollMs);
    this.poll.unref();
  }

  private end(): void {
    if (this.poll) clearInterval(this.poll);
    if (this.timer) clearTimeout(this.timer);
    this.poll = this.timer = null;
  }

  /** A clock event when the clock was frozen, resumed, or moved other than by running on. */
  private checkClock(): void {
    const clock = this.kernel.clock;
    const now = clock.now();
    const wall = Date.now();
    const seen = this.clockSeen;
    this.clockSeen = { now, frozen: clock.frozen, wall };
    if (seen === null) return;
    const expected = seen.frozen ? seen.now : seen.now + (wall - seen.wall);
    if (seen.frozen !== clock.frozen || Math.abs(now - expected) > 250) this.emit({ type: 'clock', data: this.clock() });
  }

  private async tail(): Promise<void> {
    if (this.listeners.size === 0) return;
    if (this.kernel.store.engine !== 'sqlite' && this.kernel.ids.seeded !== null) return this.tailCounting();
    const rows = this.kernel.store.engine === 'sqlite' ? await this.tailSqlite() : await this.tailPostgres();
    if (rows.length === 0) return;
    const items = rows.slice(-MAX_ITEMS).map(
      (r): TransitionEvent => ({
        kind: String(r.kind),
        resource_id: String(r.resource_id),
        transition: String(r.transition),
        from: String(r.from_state),
        to: r.to_state === null ? null : String(r.to_state),
        due_at: new Date(Number(r.due_at)).toISOString(),
        applied_at: new Date(Number(r.applied_at)).toISOString(),
      }),
    );
    this.emit({ type: 'transitions', data: { items, more: rows.length - items.length } });
  }

  /**
   * A seeded PostgreSQL store (HANGAR_ID_SEED): its audit entries' ids are seeded, not
   * time-ordered, so nothing says which entries are new. The log only grows (a reset empties
   * it), so its size does: a growth is sent as a transitions event without items (`more`
   * says how many), on which the console's views read again what they show.
   */
  private async tailCounting(): Promise<void> {
    const size = await this.logSize();
    const before = this.counted ?? size;
    this.counted = size;
    if (size > before) this.emit({ type: 'transitions', data: { items: [], more: size - before } });
  }

  private async logSize(): Promise<number> {
    const row = await this.kernel.db.selectFrom('lifecycle_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  private async tailSqlite(): Promise<Record<string, unknown>[]> {
    const db = this.kernel.db;
    // (a reset empties the log and rowids start again: follow it down)
    const top = Number((await sql<{ n: number | null }>`select max(rowid) as n from lifecycle_log`.execute(db)).rows[0]?.n ?? 0);
    if (top < this.rowid!) this.rowid = top;
    const { rows } = await sql<Record<string, unknown>>`
      select rowid as seq, kind, resource_id, transition, from_state, to_state, due_at, applied_at
      from lifecycle_log where rowid > ${this.rowid} order by rowid limit 5000`.execute(db);
    if (rows.length > 0) this.rowid = Number(rows[rows.length - 1]!.seq);
    return rows;
  }

  private async tailPostgres(): Promise<Record<string, unknown>[]> {
    const from = idAt(this.newestMs - LOOKBACK_MS);
    const rows = await this.kernel.db
      .selectFrom('lifecycle_log')
      .select(['id', 'kind', 'resource_id', 'transition', 'from_state', 'to_state', 'due_at', 'applied_at'])
      .where('id', '>=', from)
      .orderBy('id')
      .limit(5000)
      .execute();
    const fresh = rows.filter((r) => !this.seen.has(r.id));
    for (const r of fresh) {
      const ms = msOf(r.id);
      this.seen.set(r.id, ms);
      if (ms > this.newestMs && ms <= Date.now() + 60_000) this.newestMs = ms;
    }
    for (const [id, ms] of this.seen) if (ms < this.newestMs - LOOKBACK_MS || ms > Date.now() + 60_000) this.seen.delete(id);
    return fresh;
  }
}

/** The smallest version 7 id of this millisecond (ids sort by their leading milliseconds). */
function idAt(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8)}`;
}

function msOf(id: string): number {
  const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  return Number.isFinite(ms) ? ms : 0;
}
