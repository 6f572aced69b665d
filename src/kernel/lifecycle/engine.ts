import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { Clock, TimeSource } from '../clock.js';
import { accountNowSql } from '../account-clocks.js';
import type { IdGenerator } from '../ids.js';
import type { Executor } from '../db/store.js';
import type { Faults } from '../faults.js';
import { isStoreUnavailable, retryingAborted } from '../db/errors.js';
import { paddedList } from '../db/prepared.js';
import type { GroupCommit } from '../db/group-commit.js';
import { EngineStatements, type LogValues } from './statements.js';
import { transitionOf, type Machine } from './machine.js';

/**
 * The lifecycle engine. Each resource kind declares its states and the timed transitions
 * between them; a pending transition is a row in `lifecycle_timers`, so it survives a
 * restart. The engine applies each due timer exactly once: the timer row is deleted in the
 * same transaction that changes the resource, and the change only happens if the resource is
 * still in the state the transition starts from.
 *
 * Nobody has to poll: the engine arms one timer for the earliest due row, and re-arms when a
 * nearer one is scheduled or the clock moves.
 */

export type TimingProfile = 'instant' | 'fast' | 'realistic';
export const timingProfiles: readonly TimingProfile[] = ['instant', 'fast', 'realistic'];

/** How long a transition takes under each profile, in milliseconds (`instant` is always 0). */
export interface Durations {
  fast: number;
  realistic: number;
}

export interface TransitionContext<Row = Record<string, unknown>> {
  readonly trx: Transaction<any>;
  /** The resource row as it was before the transition. */
  readonly row: Row;
  /** The instant the transition was due: what the resource records as its update time. */
  readonly at: number;
  /**
   * Tells the listeners (`onEntered`), once the batch commits, that a resource entered a state:
   * what a carried machine's resources do as their carrier's transition applies (a Crusoe VM
   * as its operation completes). The transition's own row is told without this.
   */
  entered(event: Omit<EnteredState, 'transition' | 'at'>): void;
  /** Whether anyone listens for entered states (an effect skips reading what it would tell otherwise). */
  readonly watched: boolean;
  /** Schedules a follow-up transition, timed from `at` so chains keep their pace when the clock jumps (same account). */
  schedule(transition: string, options?: { kind?: string; resourceId?: string }): Promise<void>;
  /**
   * The rows this transition moves in the same batch (this one's included), as read before
   * the batch's first transition applied.
   */
  readonly batch: readonly Row[];
  /**
   * What `compute` gives, computed once for the batch's transitions of this kind and name: one
   * lookup for all of `batch` instead of one per transition. What it reads must be something
   * no transition of the batch changes.
   */
  shared<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

export interface TransitionDef<Row = Record<string, unknown>> {
  from: string | readonly string[];
  /** The state after the transition; null removes the resource row. */
  to: string | null;
  after: Durations;
  /**
   * Runs in the transition's transaction; may return more columns to set on the row. It may
   * write anything except the rows of other resources that have lifecycles, and must not read
   * them expecting this batch's changes: the engine reads all the rows a batch moves before
   * its first transition applies, and writes their new states after its last.
   */
  effect?: (ctx: TransitionContext<Row>) => Promise<Partial<Row> | Record<string, unknown> | void>;
  /** Where an injected fault sends the resource instead (e.g. `error`); without it the transition cannot fail. */
  failTo?: string;
  /** Runs when the transition fails; may return more columns to set. */
  onFail?: (ctx: TransitionContext<Row>) => Promise<Partial<Row> | Record<string, unknown> | void>;
}

/**
 * A resource entered a state: through a timed transition (`transition` names it) or a client's
 * write (`transition` null: a create inserts it, a delete or stop starts its action). What the
 * sandbox fabric and the console follow; `kind` is the resource's (its machine's) kind.
 */
export interface EnteredState {
  kind: string;
  resourceId: string;
  accountId: string | null;
  /** The state it left; null: it was just made. */
  from: string | null;
  /** The state it is in now; null: it is gone. */
  to: string | null;
  transition: string | null;
  at: number;
}

/**
 * How a kind progresses, like moto's state-transition modes: on the clock (the timing
 * profile), after the resource has been read N times, or only when an operator says so
 * (an admin call, or moving the clock past the transition's due time).
 */
export type ProgressMode = { mode: 'time' } | { mode: 'reads'; reads: number } | { mode: 'manual' };

/** A kind's timed transitions over the rows of its table (`Row`: what its effects read, without casts). */
export interface LifecycleDef<Row = any> {
  kind: string;
  table: string;
  statusColumn: string;
  /** The column naming a row's account (what a fault rule for one account matches); null: none. */
  accountColumn: string | null;
  /** The column a transition stamps with its due time; null: none. */
  updatedAtColumn: string | null;
  transitions: Record<string, TransitionDef<Row>>;
}

/** A kind as `GET /admin/v1/lifecycle` shows it. */
export interface KindView {
  kind: string;
  mode: ProgressMode;
  /** The states its machine declares (absent for a kind declared without one). */
  states?: string[];
  /** Its timed transitions; a carried kind's are its actions, timed by its carrier's transitions. */
  transitions: { name: string; from: string[]; to?: string | null; ms: number }[];
  /** What a client asks for, as its machine declares it. */
  actions?: { name: string; from: string[]; via?: string; to?: string | null; transition: string; ms: number }[];
  /** The kind whose timers finish this kind's actions. */
  carrier?: string;
}

/** What a batch writes once its transitions have run (see `LifecycleEngine.write`). */
interface BatchWrites {
  logs: LogValues[];
  /** Each audit entry's account (what the applied-transition listeners are told). */
  accounts: (string | null)[];
  /** States resources entered, told to the listeners once the batch commits (kept only while someone listens). */
  entered: EnteredState[];
  /** Row updates by table and the columns they set ("table column column"): each the row's id, then the values. */
  updates: Map<string, unknown[][]>;
}
const newWrites = (): BatchWrites => ({ logs: [], accounts: [], entered: [], updates: new Map() });

/** The rows a batch moves through one kind's transition, and what their effects computed once for all. */
interface BatchPeers {
  rows: Record<string, unknown>[];
  shared: Map<string, Promise<unknown>>;
}

/** A batch's claimed rows grouped by kind and transition ("kind.transition"). */
function peersOf(batch: readonly TimerRow[], rows: Map<string, Record<string, unknown> | undefined>): Map<string, BatchPeers> {
  const peers = new Map<string, BatchPeers>();
  for (const timer of batch) {
    const row = rows.get(timer.id);
    if (row === undefined) continue;
    const key = `${timer.kind}.${timer.transition}`;
    const group: BatchPeers = peers.get(key) ?? { rows: [], shared: new Map() };
    group.rows.push(row);
    peers.set(key, group);
  }
  return peers;
}

/** A transition applied (or failed by a staged fault), as the metrics count it and the fabric follows it. */
export interface AppliedTransition {
  kind: string;
  transition: string;
  resourceId: string;
  accountId: string | null;
  /** The state the resource left, and the one it is in now (null: the resource is gone). */
  from: string;
  to: string | null;
  /** An injected fault sent the resource to the transition's failure state. */
  failed: boolean;
  /** How long after its due time it was applied, on Hangar's clock (a clock moved forward shows here). */
  lagMs: number;
}

interface TimerRow {
  id: string;
  kind: string;
  resource_id: string;
  transition: string;
  due_at: number;
  account: string | null;
}

/** Where a timer is due: the account it belongs to (null: timers of no account). */
export interface ScheduleOptions {
  /** The instant the waiting starts (the clock's now unless a chained transition passes its own due time). */
  from?: number;
  /** The account whose resource it is: the timer is due on that account's clock. */
  account?: string | null;
}

/**
 * Which timers a drain takes: those on the global clock, those on accounts' own clocks (all,
 * or one account's).
 */
type Scope = { clock: 'global' } | { clock: 'own'; account?: string };

/** Work a batch's transitions share (see `LifecycleEngineOptions.batchScope`). */
export interface BatchScope {
  open(trx: Transaction<any>, transitions: number): void;
  /** Makes the shared work's writes; the batch commits after. */
  close(trx: Transaction<any>): Promise<void>;
  /** The batch's transaction is over: committed, or rolled back (before `close`, or after). */
  end(trx: Transaction<any>, committed: boolean): void;
}

export interface LifecycleEngineOptions {
  profile: TimingProfile;
  /** Per `kind.transition` durations in ms that win over the profile (operator overrides). */
  overrides?: Map<string, number>;
  onError?: (error: unknown, timer: TimerRow) => void;
  /** Safety net for timers written by another process; local schedules arm precisely. */
  pollIntervalMs?: number;
  faults?: Faults;
  engine?: 'sqlite' | 'postgres';
  /** A background run could not reach the store. */
  onStoreError?: (error: unknown) => void;
  /** An account's clock (see account-clocks.ts); the global clock for every account without it. */
  clockFor?: (accountId: string | null) => TimeSource;
  /**
   * Whether any account has a clock of its own: without one, the engine never looks for
   * timers on accounts' clocks (an installation that uses none pays nothing for them).
   */
  anyAccountClock?: () => boolean;
  /**
   * Work a batch's transitions share: opened as a batch's transaction begins, closed (its
   * writes made) before it commits. The address pools' cursors, say.
   */
  batchScope?: BatchScope;
  /** The store's group commit, which `groupedTransaction` writes through. */
  grouped?: GroupCommit;
}

/**
 * Timers applied per transaction, by engine.
 *
 * SQLite: small enough that requests waiting for the store (it has one connection) wait a few
 * milliseconds, not the whole burst: the engine yields to them between batches. Smaller
 * batches drain slower, larger ones raise the waiting GETs' p99 without draining faster.
 *
 * PostgreSQL: requests have connections of their own and do not wait for a batch, whose cost
 * is mostly round trips, about the same for 192 rows as for 768; larger batches gain little
 * and raise the GETs' p99. (The measured drains are in BENCHMARKS.md, "Lifecycle batches by
 * engine".)
 */
const BATCH = { sqlite: 192, postgres: 768 } as const;
/** Batches a PostgreSQL drain applies at once, at most (see `drain`; three drained no faster than two). */
const RUNNERS = 2;
const MAX_DELAY = 2 ** 31 - 1;
const TIME: ProgressMode = { mode: 'time' };
/** Row updates written per statement at a batch's end (SQLite: bound values each; PostgreSQL: one JSON list for all). */
const UPDATES_PER_STATEMENT = 256;
/** Lets pending I/O (requests) run: SQLite queries resolve at once, so a drain never would. */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Set while reads are made that no client made (see LifecycleEngine.unobserved). */
const unobserved = new AsyncLocalStorage<boolean>();

export class LifecycleEngine {
  private readonly defs = new Map<string, LifecycleDef>();
  private readonly statements: EngineStatements;
  private readonly batchSize: number;
  private readonly machines = new Map<string, Machine<any>>();
  /** A timer's `kind.transition` → the machine actions it finishes ([machine kind, action]). */
  private readonly aliases = new Map<string, [string, string][]>();
  private readonly appliedListeners: ((applied: AppliedTransition) => void)[] = [];
  private readonly enteredListeners: ((entered: EnteredState) => void)[] = [];
  /** The states clients' writes entered, by the transaction they were made in (see `transaction`). */
  private readonly pendingEntered = new WeakMap<object, EnteredState[]>();
  private readonly overrides: Map<string, number>;
  private readonly modes = new Map<string, ProgressMode>();
  private profile: TimingProfile;
  private handle: NodeJS.Timeout | null = null;
  private armedFor = Number.POSITIVE_INFINITY;
  private poll: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private rerun = false;
  private started = false;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly db: Kysely<any>,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly options: LifecycleEngineOptions,
  ) {
    this.profile = options.profile;
    this.overrides = options.overrides ?? new Map();
    this.statements = new EngineStatements(db, options.engine);
    this.batchSize = BATCH[options.engine ?? 'sqlite'];
  }

  register(def: LifecycleDef): void {
    if (this.defs.has(def.kind)) throw new Error(`lifecycle kind ${def.kind} registered twice`);
    this.defs.set(def.kind, def);
  }

  /**
   * Registers a resource's declared machine: its actions become names fault rules, durations
   * and modes can use, and the admin API shows its states. A machine timed by its own rows
   * brings its lifecycle (`lifecycleOf`); a carried one's transitions are its carrier's.
   */
  registerMachine(machine: Machine<any>, def?: LifecycleDef): void {
    if (this.machines.has(machine.kind)) throw new Error(`lifecycle machine ${machine.kind} registered twice`);
    if (def !== undefined) this.register(def);
    this.machines.set(machine.kind, machine);
    for (const [name, action] of Object.entries(machine.actions)) {
      const timer = `${machine.carrier ?? machine.kind}.${transitionOf(name, action)}`;
      const aliases = this.aliases.get(timer) ?? [];
      aliases.push([machine.kind, name]);
      this.aliases.set(timer, aliases);
    }
  }

  /** The declared machines (what the events name as kinds). */
  machine(kind: string): Machine<any> | undefined {
    return this.machines.get(kind);
  }

  get timingProfile(): TimingProfile {
    return this.profile;
  }

  setProfile(profile: TimingProfile): void {
    this.profile = profile;
  }

  setOverride(kind: string, transition: string, ms: number | null): void {
    const [timerKind, timerTransition] = this.resolve(kind, transition) ?? [kind, transition];
    const key = `${timerKind}.${timerTransition}`;
    if (ms === null) this.overrides.delete(key);
    else this.overrides.set(key, ms);
  }

  /**
   * The timer (kind and transition) a name stands for: a kind's own transition, or a machine's
   * action (its own transition, or its carrier's).
   */
  private resolve(kind: string, name: string): [string, string] | undefined {
    if (this.defs.get(kind)?.transitions[name] !== undefined) return [kind, name];
    const machine = this.machines.get(kind);
    const action = machine?.actions[name];
    return action === undefined ? undefined : [machine!.carrier ?? kind, transitionOf(name, action)];
  }

  /** The kinds and their transitions, with durations and modes as they stand (carried machines after the rest). */
  describe(): KindView[] {
    const kinds = [...this.defs.keys(), ...[...this.machines.values()].filter((m) => m.carrier !== undefined).map((m) => m.kind)];
    return kinds.map((kind) => this.view(kind));
  }

  private view(kind: string): KindView {
    const def = this.defs.get(kind);
    const machine = this.machines.get(kind);
    const view: KindView = { kind, mode: this.modes.get(kind) ?? { mode: 'time' }, transitions: [] };
    if (machine) view.states = [...machine.states];
    view.transitions = def
      ? Object.entries(def.transitions).map(([name, t]) => ({ name, from: typeof t.from === 'string' ? [t.from] : [...t.from], to: t.to, ms: this.durationOf(kind, name) }))
      : Object.entries(machine!.actions).map(([name, a]) => ({ name, from: a.via !== undefined ? [a.via] : [...a.from], ...(a.to !== undefined ? { to: a.to } : {}), ms: this.durationOf(kind, name) }));
    if (machine) {
      view.actions = Object.entries(machine.actions).map(([name, a]) => ({
        name,
        from: [...a.from],
        ...(a.via !== undefined ? { via: a.via } : {}),
        ...(a.to !== undefined ? { to: a.to } : {}),
        transition: transitionOf(name, a),
        ms: this.durationOf(kind, name),
      }));
    }
    if (machine?.carrier !== undefined) view.carrier = machine.carrier;
    return view;
  }

  knows(kind: string, transition?: string): boolean {
    if (!this.defs.has(kind) && !this.machines.has(kind)) return false;
    return transition === undefined || this.resolve(kind, transition) !== undefined;
  }

  /**
   * The transitions of a kind that an injected fault can make fail (those with a `failTo`):
   * its own, then its machine's actions finished by one.
   */
  failable(kind: string): string[] {
    const def = this.defs.get(kind);
    const names = def ? Object.keys(def.transitions).filter((name) => def.transitions[name]!.failTo !== undefined) : [];
    for (const name of Object.keys(this.machines.get(kind)?.actions ?? {})) {
      const [timerKind, timerTransition] = this.resolve(kind, name)!;
      if (!names.includes(name) && this.defs.get(timerKind)?.transitions[timerTransition]?.failTo !== undefined) names.push(name);
    }
    return names;
  }

  setMode(kind: string, mode: ProgressMode): void {
    if (mode.mode === 'time') this.modes.delete(kind);
    else this.modes.set(kind, mode);
  }

  /** How a timer's transition progresses: its machine's mode when a carried machine has one, else its kind's. */
  private modeOf(kind: string, transition: string): ProgressMode {
    if (this.modes.size === 0) return TIME;
    for (const [machine] of this.aliases.get(`${kind}.${transition}`) ?? []) {
      const mode = machine !== kind ? this.modes.get(machine) : undefined;
      if (mode !== undefined) return mode;
    }
    return this.modes.get(kind) ?? TIME;
  }

  /** The names a fault rule can give a timer's transition besides its own: the machine actions it finishes. */
  private aliasesOf(kind: string, transition: string): readonly (readonly [string, string])[] {
    return this.aliases.get(`${kind}.${transition}`) ?? [];
  }

  /** The operator's settings (profile, modes, durations), to share with other replicas. */
  controls(): { profile: TimingProfile; modes: [string, ProgressMode][]; overrides: [string, number][] } {
    return { profile: this.profile, modes: [...this.modes], overrides: [...this.overrides] };
  }

  /** Takes the settings another replica shared. */
  setControls(controls: { profile: TimingProfile; modes: [string, ProgressMode][]; overrides: [string, number][] }): void {
    this.profile = controls.profile;
    this.modes.clear();
    for (const [kind, mode] of controls.modes) this.modes.set(kind, mode);
    this.overrides.clear();
    for (const [key, ms] of controls.overrides) this.overrides.set(key, ms);
  }

  /** Back to the configured profile's timings and time-driven progress for every kind. */
  resetControls(): void {
    this.profile = this.options.profile;
    this.modes.clear();
    this.overrides.clear();
  }

  durationOf(kind: string, transition: string): number {
    if (this.defs.get(kind)?.transitions[transition] === undefined) [kind, transition] = this.resolve(kind, transition) ?? [kind, transition];
    const override = this.overrides.get(`${kind}.${transition}`);
    if (override !== undefined) return override;
    if (this.profile === 'instant') return 0;
    const def = this.transition(kind, transition);
    return def.after[this.profile];
  }

  private accountClocksInUse(): boolean {
    return this.options.anyAccountClock?.() ?? true;
  }

  /** The clock a timer of this account is due on. */
  private clockOf(accountId: string | null): TimeSource {
    return accountId === null || this.options.clockFor === undefined ? this.clock : this.options.clockFor(accountId);
  }

  /**
   * Records a pending transition in the caller's transaction, due on the account's clock.
   * `from` is the instant the waiting starts (the clock's now unless a chained transition
   * passes its own due time); a bare number is `from`.
   */
  async schedule(trx: Executor, kind: string, resourceId: string, transition: string, options: number | ScheduleOptions = {}): Promise<number> {
    // Checked in every timing profile: under `instant` (no duration looked up) a misspelled
    // name would otherwise be queued and silently dropped when it fell due.
    this.transition(kind, transition);
    const { from, account = null } = typeof options === 'number' ? { from: options } : options;
    const clock = this.clockOf(account);
    const now = clock.now();
    const due = (from ?? now) + this.durationOf(kind, transition);
    const mode = this.modeOf(kind, transition);
    const held = mode.mode === 'time' ? 0 : 1;
    const own = clock === this.clock ? 0 : 1;
    await this.statements.insertTimer(trx, this.ids.sequential(), kind, resourceId, transition, due, now, held, mode.mode === 'reads' ? mode.reads : null, account, own);
    if (!held) this.hint(due, clock, own ? account : null);
    return due;
  }

  /**
   * A client's write starts a machine's action: the resource entered the state the action
   * shows meanwhile (told once the write commits, see `transaction`), and the transition that
   * finishes it is scheduled.
   */
  async begin(trx: Executor, kind: string, resourceId: string, action: string, was: { from: string | null; accountId: string | null }): Promise<number> {
    const machine = this.machines.get(kind);
    const declared = machine?.carrier === undefined ? machine?.actions[action] : undefined;
    if (declared === undefined) throw new Error(`unknown lifecycle action ${kind}.${action} (or one its carrier times)`);
    const at = this.clockOf(was.accountId).now();
    if (declared.via !== undefined && declared.via !== was.from) this.entered(trx, { kind, resourceId, accountId: was.accountId, from: was.from, to: declared.via, transition: null, at });
    return this.schedule(trx, kind, resourceId, transitionOf(action, declared), { account: was.accountId });
  }

  /**
   * Runs `read` as no client's read: under the read-counting mode, what it reads is not moved
   * on (the console showing a resource must not advance a client's wait loop).
   */
  unobserved<T>(read: () => Promise<T>): Promise<T> {
    return unobserved.run(true, read);
  }

  /**
   * A client read a resource. Under the read-counting mode its pending transition moves on
   * once it has been read often enough; otherwise this costs nothing.
   */
  async noteRead(kind: string, resourceId: string): Promise<boolean> {
    if (this.modes.size === 0 || ![...this.modes].some(([k, m]) => m.mode === 'reads' && (k === kind || this.machines.get(k)?.carrier === kind))) return false;
    if (unobserved.getStore() === true) return false;
    await this.db
      .updateTable('lifecycle_timers')
      .set((eb) => ({ reads_left: eb('reads_left', '-', 1) }))
      .where('resource_id', '=', resourceId)
      .where('held', '=', 1)
      .where('reads_left', 'is not', null)
      .execute();
    const released = await this.db
      .updateTable('lifecycle_timers')
      .set({ held: 0, due_at: this.nowOfTimer() })
      .where('resource_id', '=', resourceId)
      .where('held', '=', 1)
      .where('reads_left', '<=', 0)
      .executeTakeFirst();
    if (Number(released.numUpdatedRows) === 0) return false;
    await this.runDue();
    return true;
  }

  /**
   * Lets held transitions go now: all of them, or those of one kind or resource. Returns how
   * many transitions were applied as a result (chained ones included).
   */
  async release(filter: { kind?: string; resourceId?: string } = {}): Promise<number> {
    let query = this.db.updateTable('lifecycle_timers').set({ held: 0, due_at: this.nowOfTimer() }).where('held', '=', 1);
    const carried = filter.kind === undefined ? undefined : this.machines.get(filter.kind);
    if (carried?.carrier !== undefined) {
      const transitions = Object.entries(carried.actions).map(([name, action]) => transitionOf(name, action));
      query = query.where('kind', '=', carried.carrier).where('transition', 'in', transitions);
    } else if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind);
    if (filter.resourceId !== undefined) query = query.where('resource_id', '=', filter.resourceId);
    await query.execute();
    return this.runDue();
  }

  /**
   * After the clock moved: manual-mode transitions whose due time has passed go too (on the
   * global clock, or on one account's own clock after it moved).
   */
  async releaseDue(accountId?: string): Promise<number> {
    let query = this.db
      .updateTable('lifecycle_timers')
      .set({ held: 0 })
      .where('held', '=', 1)
      .where('reads_left', 'is', null)
      .where(sql<boolean>`due_at <= ${this.nowOfTimer()}`);
    if (accountId !== undefined) query = query.where('account', '=', accountId);
    await query.execute();
    return accountId === undefined ? this.runDue() : this.runDueFor(accountId);
  }

  /** A timer's clock's now, in SQL (for statements on `lifecycle_timers` rows). */
  private nowOfTimer(): RawBuilder<number> {
    return sql<number>`(case when own_clock = 1 then ${this.accountNow()} else ${this.clock.now()} end)`;
  }

  /** The now of the account a `lifecycle_timers` row belongs to, in SQL, read from its row. */
  private accountNow(): RawBuilder<number> {
    return sql<number>`(select ${accountNowSql(this.clock.now(), Date.now())} from accounts a where a.id = lifecycle_timers.account)`;
  }

  /** Drops every pending transition of a resource (it was deleted, or moved to another path). */
  async cancel(trx: Executor, resourceId: string): Promise<void> {
    await trx.deleteFrom('lifecycle_timers').where('resource_id', '=', resourceId).execute();
  }

  /**
   * Resources of each kind by status (what a dashboard shows), one grouped count per kind's
   * table. (The kinds' tables are small next to what a scrape interval allows; a
   * million-instance store takes a few hundred milliseconds, so scrape it no more than every
   * few seconds: see http/metrics.ts.)
   */
  async countByStatus(): Promise<{ kind: string; status: string; count: number }[]> {
    const counts: { kind: string; status: string; count: number }[] = [];
    for (const def of this.defs.values()) {
      const rows = await this.db
        .selectFrom(def.table)
        .select([sql.ref<string>(def.statusColumn).as('status'), (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy(def.statusColumn)
        .execute();
      for (const row of rows) counts.push({ kind: def.kind, status: String(row.status), count: Number(row.n) });
    }
    return counts;
  }

  /** Tells `listener` of each transition applied, once its transaction has committed. */
  onApplied(listener: (applied: AppliedTransition) => void): void {
    this.appliedListeners.push(listener);
  }

  /**
   * Tells `listener` of each state a resource of any kind enters, once the change has
   * committed: timed transitions, their carried machines' resources, and clients' writes made
   * through `transaction` (see `entered`).
   */
  onEntered(listener: (entered: EnteredState) => void): void {
    this.enteredListeners.push(listener);
  }

  /** Whether anyone listens for entered states (callers skip building events when nobody does). */
  get watched(): boolean {
    return this.enteredListeners.length > 0;
  }

  /**
   * Records, in a write's transaction, that a resource entered a state; told to the listeners
   * when the transaction made by `transaction` or `groupedTransaction` commits (never, if it rolls back).
   */
  entered(trx: Executor, event: Omit<EnteredState, 'at'> & { at?: number }): void {
    if (this.enteredListeners.length === 0) return;
    const told = { ...event, at: event.at ?? this.clock.now() };
    const pending = this.pendingEntered.get(trx);
    // (a write made outside `transaction` is told at once, before it commits)
    if (pending === undefined) this.tell([told]);
    else pending.push(told);
  }

  /** Runs a client's write in a transaction; the states it recorded (`entered`) are told once it commits. */
  transaction<T>(fn: (trx: Transaction<any>) => Promise<T>): Promise<T> {
    return this.telling((work) => retryingAborted(() => this.db.transaction().execute(work)), fn);
  }

  /**
   * As `transaction`, in the store's group commit (`options.grouped`): the writes that arrive
   * together share one transaction and one commit (see db/group-commit.ts). What each records
   * is its own (on SQLite they run one after another; on PostgreSQL each has a transaction
   * object of its own): it is told once the shared commit is made, and nothing of a write that
   * was rolled back is. On PostgreSQL only writes given the same `key` are grouped (the rows
   * they contend for: see GroupCommit), and a write may be run again, alone, when its group is
   * undone: it must be repeatable as a retried transaction is.
   */
  groupedTransaction<T>(fn: (trx: Transaction<any>) => Promise<T>, key?: string): Promise<T> {
    const grouped = this.options.grouped;
    return grouped === undefined ? this.transaction(fn) : this.telling((work) => grouped.run(work, key), fn);
  }

  /** Runs `fn` through `run`, collecting the states it records, and tells them once `run` resolves (committed). */
  private async telling<T>(run: (work: (trx: Transaction<any>) => Promise<T>) => Promise<T>, fn: (trx: Transaction<any>) => Promise<T>): Promise<T> {
    const events: EnteredState[] = [];
    const result = await run((trx) => {
      // (a grouped write may be run again, alone, after its group was undone: only the last run counts)
      events.length = 0;
      this.pendingEntered.set(trx, events);
      return fn(trx);
    });
    this.tell(events);
    return result;
  }

  private tell(events: readonly EnteredState[]): void {
    for (const event of events) for (const listener of this.enteredListeners) listener(event);
  }

  /** After a commit: the transitions it applied, and the states entered, to the listeners. */
  private committed(writes: BatchWrites): void {
    this.tell(writes.entered);
    if (this.appliedListeners.length === 0) return;
    writes.logs.forEach(([, kind, resourceId, transition, from, to, dueAt, appliedAt], i) => {
      const failed = to !== null && this.defs.get(kind)?.transitions[transition]?.failTo === to;
      const lagMs = Math.max(0, Number(appliedAt) - Number(dueAt));
      const applied: AppliedTransition = { kind, transition, resourceId, accountId: writes.accounts[i] ?? null, from, to, failed, lagMs };
      for (const listener of this.appliedListeners) listener(applied);
    });
  }

  async pending(resourceId?: string): Promise<number> {
    let query = this.db.selectFrom('lifecycle_timers').select((eb) => eb.fn.countAll<number>().as('n'));
    // (held timers count as pending too: they are waiting for an operator)
    if (resourceId !== undefined) query = query.where('resource_id', '=', resourceId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Applies overdue transitions (those that fell due while Hangar was down) and starts the timers. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.unsubscribe = this.clock.onChange(() => {
      this.disarm();
      this.kick();
    });
    const interval = this.options.pollIntervalMs ?? 1000;
    if (interval > 0) {
      this.poll = setInterval(() => {
        if (!this.running) this.rearm().catch((error: unknown) => this.report(error));
      }, interval);
      this.poll.unref();
    }
    await this.runDue();
  }

  /** Another replica changed the clocks: look again for what is due, and when the next is. */
  wake(): void {
    if (!this.started) return;
    this.disarm();
    this.kick();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    this.disarm();
    if (this.running) await this.running.catch(() => 0);
  }

  /** Applies every transition due at the clock's current instant, in due order; resolves when done. */
  runDue(): Promise<number> {
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    const run = (async () => {
      let applied = 0;
      do {
        this.rerun = false;
        applied += await this.drain({ clock: 'global' });
        if (this.accountClocksInUse()) applied += await this.drain({ clock: 'own' });
      } while (this.rerun);
      return applied;
    })();
    this.running = run.finally(() => {
      this.running = null;
      if (this.started) this.rearm().catch((error: unknown) => this.report(error));
    });
    return this.running;
  }

  /**
   * Applies every transition due on one account's own clock (after it moved); resolves when
   * done. Other accounts' timers are left to their own clocks.
   */
  async runDueFor(accountId: string): Promise<number> {
    const applied = await this.drain({ clock: 'own', account: accountId });
    if (this.started) this.rearm().catch((error: unknown) => this.report(error));
    return applied;
  }

  /**
   * Drains what is due. On PostgreSQL, once a batch comes back full (more is due), a second
   * runner takes batches beside the first (each claims its own, skipping the other's): one
   * batch's statements run in the database while the other's transitions are worked out here,
   * both cores busy instead of each waiting for the other. A trickle stays with one runner.
   */
  private async drain(scope: Scope): Promise<number> {
    if (this.options.engine !== 'postgres') return this.drainBatches(scope);
    // (each settled as it starts: a runner that fails while another runs is not an unhandled rejection)
    const runs: Promise<PromiseSettledResult<number>[]>[] = [];
    const more = () => {
      if (runs.length < RUNNERS) runs.push(Promise.allSettled([this.drainBatches(scope, more)]));
    };
    more();
    const settled: PromiseSettledResult<number>[] = [];
    for (let i = 0; i < runs.length; i++) settled.push(...(await runs[i]!)); // (runs grows meanwhile)
    const failed = settled.find((run): run is PromiseRejectedResult => run.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.reduce((sum, run) => sum + (run as PromiseFulfilledResult<number>).value, 0);
  }

  /** Applies due batches one after another until none is left; `more` is told when a batch came back full. */
  private async drainBatches(scope: Scope, more?: () => void): Promise<number> {
    let applied = 0;
    for (;;) {
      let batch: TimerRow[] = [];
      let claimed = false;
      try {
        // Counted apart and added on commit: a rolled-back batch applied nothing.
        let committed = 0;
        let done = newWrites();
        let scoped: Transaction<any> | undefined;
        let over = false;
        try {
          await this.db.transaction().execute(async (trx) => {
            scoped = trx;
            batch = await this.dueBatch(trx, scope);
            claimed = true;
            if (batch.length === this.batchSize) more?.();
            const rows = await this.claimBatch(trx, batch);
            const writes = newWrites();
            committed = await this.applyBatch(trx, batch, rows, writes);
            done = writes;
            await this.write(trx, writes);
          });
          over = true;
        } finally {
          if (scoped !== undefined) this.options.batchScope?.end(scoped, over);
        }
        if (batch.length === 0) return applied;
        applied += committed;
        this.committed(done);
        await yieldToIo();
      } catch (error) {
        if (!claimed) throw error;
        applied += await this.applyEach(batch);
      }
    }
  }

  /** Applies a claimed batch's transitions with the batch scope's shared work; returns how many applied. */
  private async applyBatch(trx: Transaction<any>, batch: readonly TimerRow[], rows: Map<string, Record<string, unknown> | undefined>, writes: BatchWrites): Promise<number> {
    const scope = this.options.batchScope;
    scope?.open(trx, rows.size);
    let applied = 0;
    const moved = new Set<string>();
    const peers = peersOf(batch, rows);
    for (const timer of batch) {
      if (!rows.has(timer.id)) continue;
      // A resource's second timer in the batch must see the row as its first left it.
      let row = rows.get(timer.id);
      if (moved.has(timer.resource_id)) {
        await this.writeUpdates(trx, writes);
        row = await this.rowFor(trx, timer);
      }
      moved.add(timer.resource_id);
      const group = peers.get(`${timer.kind}.${timer.transition}`);
      if (row !== undefined && (await this.applyTo(trx, timer, row, writes, group))) applied++;
    }
    await scope?.close(trx);
    return applied;
  }

  /**
   * One bad transition must not hold back the others: a batch that failed is retried one
   * timer at a time, and a timer whose transition keeps failing is set aside (logged and dropped).
   */
  private async applyEach(batch: readonly TimerRow[]): Promise<number> {
    let applied = 0;
    for (const timer of batch) {
      try {
        let writes = newWrites();
        let done = false;
        // (a deadlock with another runner is not the timer's fault: run again, not set aside)
        await retryingAborted(() =>
          this.db.transaction().execute(async (trx) => {
            writes = newWrites();
            done = await this.applyOne(trx, timer, writes);
            await this.write(trx, writes);
          }),
        );
        if (done) applied++;
        this.committed(writes);
      } catch (error) {
        if (isStoreUnavailable(error)) throw error; // the store is away, not the timer at fault
        this.options.onError?.(error, timer);
        await this.db.deleteFrom('lifecycle_timers').where('id', '=', timer.id).execute();
      }
    }
    return applied;
  }

  /**
   * The next timers due, oldest first. On PostgreSQL they are claimed (deleted) as they are
   * picked, and rows another replica (or batch) holds are skipped, so runners share the work
   * instead of queueing on each other; a deleted timer is applied by the transaction that
   * deleted it, once. A timer whose resource has an earlier one pending waits for it: two
   * batches (or replicas) at once must not apply one resource's transitions out of order.
   * On SQLite they are only read: `claimBatch` deletes them.
   */
  private async dueBatch(trx: Transaction<any>, scope: Scope): Promise<TimerRow[]> {
    let query = trx
      .selectFrom('lifecycle_timers as t')
      .select(['t.id', 't.kind', 't.resource_id', 't.transition', 't.due_at', 't.account'])
      .where('t.own_clock', '=', scope.clock === 'global' ? 0 : 1)
      .where('t.held', '=', 0);
    if (scope.clock === 'global') {
      query = query.where('t.due_at', '<=', this.clock.now());
    } else {
      // Each account's timers against its own clock, read from its row (as every replica sees it).
      // That comparison alone cannot bound the due index's range: with nothing due, the query
      // would walk every pending timer on an account's clock (tens of ms per 100,000, on the
      // one SQLite connection, each drain). The latest of the accounts' nows (one, read once
      // per statement) bounds it; the per-row comparison then decides.
      const globalNow = this.clock.now();
      const wallNow = Date.now();
      let latest = trx.selectFrom('accounts as b').select(sql<number>`max(${accountNowSql(globalNow, wallNow, 'b')})`.as('now'));
      if (scope.account !== undefined) latest = latest.where('b.id', '=', scope.account);
      query = query
        .innerJoin('accounts as a', 'a.id', 't.account')
        .where('t.due_at', '<=', latest)
        .where(sql<boolean>`${sql.ref('t.due_at')} <= ${accountNowSql(globalNow, wallNow)}`);
      if (scope.account !== undefined) query = query.where('t.account', '=', scope.account);
    }
    query = query
      .orderBy('t.due_at')
      .orderBy('t.id')
      .limit(this.batchSize);
    // SQLite has one connection and this one runner, which takes timers strictly in due order:
    // a resource's earlier timer is always applied first, in this batch or an earlier one.
    if (this.options.engine !== 'postgres') return (await query.execute()) as TimerRow[];
    const due = query.clearSelect().select('t.id').where(({ not, exists, selectFrom, eb, or, and }) =>
      not(
        exists(
          selectFrom('lifecycle_timers as e')
            .select('e.id')
            .whereRef('e.resource_id', '=', 't.resource_id')
            // (one held by an operator does not hold back the rest). The unary plus keeps the
            // planner on the resource index: offered the due index here, it may walk every
            // earlier timer for each candidate, which makes a burst quadratic.
            .where(sql`+${sql.ref('e.held')}`, '=', 0)
            .where(or([eb('e.due_at', '<', eb.ref('t.due_at')), and([eb('e.due_at', '=', eb.ref('t.due_at')), eb('e.id', '<', eb.ref('t.id'))])])),
        ),
      ),
    );
    // Picked and claimed (deleted) in one statement: a timer another runner holds is skipped.
    // The picked ids as one array, looked up by the primary key: offered `id in (…)`, the
    // planner joins by hashing every timer in the table, which makes each batch of a burst
    // cost as much as the whole burst's timers (BENCHMARKS.md, fifteenth round).
    const claimed = (await trx
      .deleteFrom('lifecycle_timers')
      .where(sql<boolean>`${sql.ref('id')} = any(array(${due.forUpdate('t').skipLocked()}))`)
      .returning(['id', 'kind', 'resource_id', 'transition', 'due_at', 'account'])
      .execute()) as TimerRow[];
    return claimed.sort((a, b) => Number(a.due_at) - Number(b.due_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Claims a batch's timers (deletes them: a timer another runner took already is not
   * returned) and reads the rows they move, a statement per table rather than two per timer.
   * Returns the claimed timers' ids, each with its resource's row (undefined when it is gone).
   */
  private async claimBatch(trx: Transaction<any>, batch: TimerRow[]): Promise<Map<string, Record<string, unknown> | undefined>> {
    const claimed = new Map<string, Record<string, unknown> | undefined>();
    if (batch.length === 0) return claimed;
    // (on PostgreSQL, dueBatch claimed them as it picked them)
    const ids = this.options.engine === 'postgres' ? batch.map((t) => t.id) : (await this.statements.claim(trx, batch.map((t) => t.id))).map((row) => row.id as string);
    for (const id of ids) claimed.set(id, undefined);
    const byTable = new Map<string, string[]>();
    for (const timer of batch) {
      const table = this.defs.get(timer.kind)?.table;
      if (table === undefined || !claimed.has(timer.id)) continue;
      const ids = byTable.get(table) ?? [];
      ids.push(timer.resource_id);
      byTable.set(table, ids);
    }
    const rows = new Map<string, Record<string, unknown>>();
    for (const [table, ids] of byTable) {
      for (const row of await this.statements.rows(trx, table, ids)) rows.set(`${table} ${row.id as string}`, row);
    }
    for (const timer of batch) {
      const table = this.defs.get(timer.kind)?.table;
      if (table !== undefined && claimed.has(timer.id)) claimed.set(timer.id, rows.get(`${table} ${timer.resource_id}`));
    }
    return claimed;
  }

  /** Sets columns of a row: at the batch's end with the other rows setting the same columns (see `writeUpdates`). */
  private async update(trx: Transaction<any>, writes: BatchWrites, table: string, id: string, set: Record<string, unknown>): Promise<void> {
    const columns = Object.keys(set).filter((c) => set[c] !== undefined); // (as Kysely's set() leaves them out)
    // An expression among the values (not a plain value) shapes the statement: build that one, now.
    if (columns.some((c) => typeof set[c] === 'object' && set[c] !== null)) {
      await this.writeUpdates(trx, writes);
      await trx.updateTable(table).set(set).where('id', '=', id).execute();
      return;
    }
    const shape = [table, ...columns].join(' ');
    const rows = writes.updates.get(shape) ?? [];
    rows.push([id, ...columns.map((c) => set[c])]);
    writes.updates.set(shape, rows);
  }

  /**
   * Writes the row updates a batch has staged: a statement per table and set of columns (and
   * per UPDATES_PER_STATEMENT rows), where one per row cost a round trip each on PostgreSQL.
   */
  private async writeUpdates(trx: Transaction<any>, writes: BatchWrites): Promise<void> {
    const perStatement = this.options.engine === 'postgres' ? Number.POSITIVE_INFINITY : UPDATES_PER_STATEMENT;
    for (const [shape, rows] of writes.updates) {
      for (let i = 0; i < rows.length; i += perStatement) {
        const chunk = rows.slice(i, i + perStatement);
        if (this.options.engine === 'postgres') {
          const [, ...columns] = shape.split(' ');
          const records = chunk.map(([id, ...values]) => Object.fromEntries([['id', id], ...columns.map((c, j) => [c, values[j]])]));
          await this.statements.updateRowsFromJson(shape)(trx, JSON.stringify(records));
        } else {
          const padded = paddedList(chunk);
          await this.statements.updateRows(`${shape} ${padded.length}`)(trx, ...padded.flat());
        }
      }
    }
    writes.updates.clear();
  }

  /** Writes what a batch staged: its rows' new states, then its audit entries. */
  private async write(trx: Transaction<any>, writes: BatchWrites): Promise<void> {
    await this.writeUpdates(trx, writes);
    await this.statements.insertLogs(trx, writes.logs); // (in one statement: nothing reads the log while transitions apply)
  }

  /** Claims one timer and applies its transition; what it writes joins `writes`. */
  private async applyOne(trx: Transaction<any>, timer: TimerRow, writes: BatchWrites): Promise<boolean> {
    if ((await this.statements.claimTimer(trx, timer.id)) !== 1) return false; // applied elsewhere already
    const row = await this.rowFor(trx, timer);
    return row !== undefined && this.applyTo(trx, timer, row, writes);
  }

  /** The row a timer moves, as it stands (undefined when it, or its kind, is gone). */
  private async rowFor(trx: Transaction<any>, timer: TimerRow): Promise<Record<string, unknown> | undefined> {
    const table = this.defs.get(timer.kind)?.table;
    return table === undefined ? undefined : (await this.statements.rowOf(table)(trx, timer.resource_id))[0];
  }

  /**
   * Applies a claimed timer's transition to its resource's row; the row's new state and the
   * audit entry join `writes`, written with the batch's.
   */
  private async applyTo(
    trx: Transaction<any>,
    timer: TimerRow,
    row: Record<string, unknown>,
    writes: BatchWrites,
    peers: BatchPeers = { rows: [row], shared: new Map() },
  ): Promise<boolean> {
    const def = this.defs.get(timer.kind);
    const transition = def?.transitions[timer.transition];
    if (!def || !transition) return false; // a kind this build no longer knows: drop it
    const state = String(row[def.statusColumn]);
    const from = typeof transition.from === 'string' ? [transition.from] : transition.from;
    if (!from.includes(state)) return false; // the resource moved on; this timer is stale

    const at = Number(timer.due_at);
    const ctx: TransitionContext = {
      trx,
      row,
      at,
      schedule: async (next, options = {}) => {
        await this.schedule(trx, options.kind ?? timer.kind, options.resourceId ?? timer.resource_id, next, { from: at, account: timer.account });
      },
      batch: peers.rows,
      entered: (event) => {
        if (this.enteredListeners.length > 0) writes.entered.push({ ...event, transition: timer.transition, at });
      },
      watched: this.enteredListeners.length > 0,
      shared: <T>(key: string, compute: () => Promise<T>) => {
        let result = peers.shared.get(key) as Promise<T> | undefined;
        if (result === undefined) {
          result = compute();
          peers.shared.set(key, result);
        }
        return result;
      },
    };
    const account = def.accountColumn === null ? null : row[def.accountColumn];
    const accountId = typeof account === 'string' ? account : null;
    const fails =
      transition.failTo !== undefined &&
      this.options.faults !== undefined &&
      !this.options.faults.empty &&
      (await this.options.faults.forTransition(trx, timer.kind, timer.transition, accountId, this.aliasesOf(timer.kind, timer.transition)));
    if (fails) {
      const changes = (await transition.onFail?.(ctx)) ?? {};
      const set: Record<string, unknown> = { ...changes, [def.statusColumn]: transition.failTo };
      if (def.updatedAtColumn !== null) set[def.updatedAtColumn] = at;
      await this.update(trx, writes, def.table, timer.resource_id, set);
      this.logged(writes, timer, state, transition.failTo!, at, accountId);
      return true;
    }
    const changes = (await transition.effect?.(ctx)) ?? {};
    if (transition.to === null) {
      await this.statements.deleteRow(def.table)(trx, timer.resource_id);
    } else {
      const set: Record<string, unknown> = { ...changes, [def.statusColumn]: transition.to };
      if (def.updatedAtColumn !== null) set[def.updatedAtColumn] = at;
      await this.update(trx, writes, def.table, timer.resource_id, set);
    }
    this.logged(writes, timer, state, transition.to, at, accountId);
    return true;
  }

  /** A transition applied: its audit entry, and the state entered for whoever listens. */
  private logged(writes: BatchWrites, timer: TimerRow, from: string, to: string | null, at: number, accountId: string | null): void {
    writes.logs.push([this.ids.sequential(), timer.kind, timer.resource_id, timer.transition, from, to, at, this.clockOf(timer.account).now()]);
    writes.accounts.push(accountId);
    if (this.enteredListeners.length > 0) writes.entered.push({ kind: timer.kind, resourceId: timer.resource_id, accountId, from, to, transition: timer.transition, at });
  }

  private transition(kind: string, name: string): TransitionDef {
    const transition = this.defs.get(kind)?.transitions[name];
    if (!transition) throw new Error(`unknown lifecycle transition ${kind}.${name}`);
    return transition;
  }

  /**
   * Runs due transitions in the background. A failure (the store unreachable, say) is reported
   * and retried by the next timer or poll, never left to crash the process.
   */
  private kick(): void {
    this.runDue().catch((error: unknown) => this.report(error));
  }

  private report(error: unknown): void {
    this.options.onStoreError?.(error);
  }

  /** A timer was scheduled, due at `due` on `clock` (an account's own clock when `account` is given). */
  private hint(due: number, clock: TimeSource = this.clock, account: string | null = null): void {
    if (!this.started) return;
    if (clock.frozen) {
      // A frozen clock never reaches a later instant, but what falls due at the instant it
      // shows (the `instant` profile, a zero duration) is due now. It must run after the
      // caller's transaction commits: on SQLite a run started now waits for that (the one
      // connection is the caller's until then); a pooled store's other connections do not
      // wait, so look again a moment later.
      if (due <= clock.now()) {
        const run = account === null ? () => this.kick() : () => this.kickFor(account);
        run();
        if (this.options.engine === 'postgres') setTimeout(run, 20).unref();
      }
      return;
    }
    const wallDue = Date.now() + (due - clock.now());
    if (wallDue < this.armedFor) this.arm(wallDue);
  }

  private kickFor(accountId: string): void {
    this.runDueFor(accountId).catch((error: unknown) => this.report(error));
  }

  /** Arms the timer for `due`, an instant on the wall clock. */
  private arm(due: number): void {
    this.disarm();
    if (!Number.isFinite(due)) return;
    this.armedFor = due;
    const delay = Math.min(Math.max(0, due - Date.now()), MAX_DELAY);
    this.handle = setTimeout(() => {
      this.handle = null;
      this.armedFor = Number.POSITIVE_INFINITY;
      this.kick();
    }, delay);
  }

  private disarm(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = null;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  /** Arms for the earliest timer due, on the wall clock: the global clock's, or a running account clock's. */
  private async rearm(): Promise<void> {
    if (!this.started) return;
    let wallDue = Number.POSITIVE_INFINITY;
    if (!this.clock.frozen) {
      const next = await this.db
        .selectFrom('lifecycle_timers')
        .select((eb) => eb.fn.min<number>('due_at').as('due'))
        .where('own_clock', '=', 0)
        .where('held', '=', 0)
        .executeTakeFirst();
      if (next?.due !== null && next?.due !== undefined) wallDue = Date.now() + (Number(next.due) - this.clock.now());
    }
    if (!this.accountClocksInUse()) {
      if (Number.isFinite(wallDue) && this.started) this.arm(wallDue);
      return;
    }
    // Accounts whose own clocks run (a frozen one never reaches a later instant): how far each
    // one's first timer is from its now. One statement; each account's minimum is an index lookup.
    const globalNow = this.clock.now();
    const wallNow = Date.now();
    const own = await this.db
      .selectFrom('accounts as a')
      .select(sql<number>`(select min(t.due_at) from lifecycle_timers t where t.account = a.id and t.own_clock = 1 and t.held = 0) - ${accountNowSql(globalNow, wallNow)}`.as('wait'))
      .where((eb) => {
        const running = eb.and([eb('a.clock_follows_global', '=', 0), eb('a.clock_frozen_at', 'is', null)]);
        // (one that follows the global clock with a lead runs when the global clock does)
        return this.clock.frozen ? running : eb.or([running, eb.and([eb('a.clock_follows_global', '=', 1), eb('a.clock_offset_ms', '!=', 0)])]);
      })
      .execute();
    for (const row of own) if (row.wait !== null && row.wait !== undefined) wallDue = Math.min(wallDue, wallNow + Number(row.wait));
    if (Number.isFinite(wallDue) && this.started) this.arm(wallDue);
  }
}
