import type { Kysely } from 'kysely';
import { Capacity } from './capacity.js';
import { Clock, type TimeSource } from './clock.js';
import { AccountClock, AccountClocks, isGlobal, type ClockCommand } from './account-clocks.js';
import { Counters } from './counters.js';
import { Reservations } from './reservations.js';
import type { Transaction } from 'kysely';
import { Faults } from './faults.js';
import { StateStore, type StateDocument } from './state.js';
import { migrate, type Migrations } from './db/migrate.js';
import { kernelMigrations } from './db/schema.js';
import { openStore, POOL_DEFAULTS, type PoolOptions, type Store } from './db/store.js';
import { IdGenerator } from './ids.js';
import { Ipam } from './ipam.js';
import { GroupCommit } from './db/group-commit.js';
import { Metering } from './metering.js';
import { resolveSealingKey, SecretBox } from './secrets.js';
import { LifecycleEngine, type TimingProfile } from './lifecycle/engine.js';
import { Tenancy } from './tenancy/accounts.js';

export interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** The notification topic of shared controls (clock, lifecycle settings, fault rules). */
const CONTROLS = 'controls';

export interface KernelOptions {
  databaseUrl: string;
  timings: TimingProfile;
  clock?: Clock;
  idSeed?: string | null;
  /** HANGAR_SECRET_KEY: the key sealed secrets are kept under (see secrets.ts for the fallbacks). */
  secretKey?: string | null;
  /** PostgreSQL's connection pool (see db/store.ts). */
  pool?: PoolOptions;
  /** HANGAR_DATABASE_GROUP_COMMIT: writes that arrive together share a transaction (see db/group-commit.ts); on by default. */
  groupCommit?: boolean;
  log: Logger;
}

/**
 * The provider-neutral machinery every cloud shares: the store, the clock, ids, the lifecycle
 * engine, tenancy, counters and quotas, stock, and address pools. It knows nothing of HTTP
 * and nothing of any particular cloud.
 */
export class Kernel {
  readonly db: Kysely<any>;
  readonly ids: IdGenerator;
  readonly lifecycle: LifecycleEngine;
  readonly tenancy: Tenancy;
  readonly counters: Counters;
  readonly capacity: Capacity;
  readonly ipam: Ipam;
  readonly metering: Metering;
  readonly reservations: Reservations;
  readonly faults: Faults;
  readonly state: StateStore;
  /** Runs units of work that arrive together in one transaction where that saves commits (see db/group-commit.ts). */
  readonly grouped: GroupCommit;
  /** Seals secrets the server must read back in clear, such as HMAC keys (see secrets.ts). */
  readonly secrets: SecretBox;
  /** Accounts' own clocks (see account-clocks.ts). */
  readonly accountClocks: AccountClocks;
  private readonly seeders: ((trx: Transaction<any>) => Promise<void>)[] = [];
  /** Clouds whose public API an operator may turn off, and those turned off now (a shared control). */
  private readonly switchableApis = new Set<string>();
  private disabledApis = new Set<string>();
  private readonly recounters: ((trx: Transaction<any>) => Promise<void>)[] = [];
  private readonly accountCleanups: ((trx: Transaction<any>, accountId: string) => Promise<void>)[] = [];
  private unlisten: (() => Promise<void>) | null = null;

  private constructor(
    readonly store: Store,
    readonly clock: Clock,
    readonly log: Logger,
    /** HANGAR_ID_SEED: what a reset without a seed of its own goes back to. */
    private readonly idSeed: string | null,
    timings: TimingProfile,
    sealingKey: Buffer,
    /** The store's group commit (see `open`). */
    grouped: GroupCommit,
  ) {
    this.db = store.db;
    this.ids = new IdGenerator(idSeed);
    this.secrets = new SecretBox(sealingKey, () => this.ids.seeded !== null);
    this.faults = new Faults(this.db, this.ids, () => store.notify(CONTROLS));
    this.state = new StateStore(this.db, store.engine, store.schema);
    this.grouped = grouped;
    this.accountClocks = new AccountClocks(this.db, clock, store.engine);
    this.lifecycle = new LifecycleEngine(this.db, clock, this.ids, {
      clockFor: (accountId) => this.accountClocks.clockFor(accountId),
      anyAccountClock: () => this.accountClocks.any,
      profile: timings,
      faults: this.faults,
      engine: store.engine,
      onError: (error, timer) => log.error({ err: error, timer }, 'lifecycle transition failed; timer set aside'),
      onStoreError: (error) => log.warn({ err: error }, 'lifecycle engine cannot reach the store; will retry'),
      batchScope: {
        // Deferred, a pool costs four statements per batch; allocated one by one, an address
        // costs two. A boot takes two addresses: batches of one or two (a steady stream of
        // creates) allocate as they go.
        open: (trx, transitions) => {
          if (transitions > 2) this.ipam.defer(trx);
        },
        close: (trx) => this.ipam.flush(trx),
        end: (trx, committed) => this.ipam.end(trx, committed),
      },
      grouped: this.grouped,
    });
    this.tenancy = new Tenancy(this.db, this.accountClocks, this.ids, store);
    this.counters = new Counters(this.db);
    this.capacity = new Capacity(this.db);
    this.ipam = new Ipam(this.db, store.engine);
    this.metering = new Metering((accountId) => this.accountClocks.clockFor(accountId), this.ids);
    this.reservations = new Reservations(this.db, clock, this.ids);
  }

  /**
   * The clock of everything that belongs to the account: the global clock, unless a test took
   * control of the account's own (see account-clocks.ts). Costs a map lookup.
   */
  clockFor(accountId: string | null | undefined): TimeSource {
    return this.accountClocks.clockFor(accountId);
  }

  /** An account's clock as its row says (undefined when there is no such account). */
  async accountClock(accountId: string): Promise<{ now: string; frozen: boolean; follows_global: boolean } | undefined> {
    const setting = await this.accountClocks.read(accountId);
    if (setting === undefined) return undefined;
    const clock = new AccountClock(this.clock, setting);
    return { now: clock.iso(), frozen: clock.frozen, follows_global: setting.followsGlobal };
  }

  /**
   * Freezes, advances, resumes or releases an account's clock, for every replica (the setting
   * is on the account row), then applies the account's transitions that fell due: those
   * only. Undefined when there is no such account.
   */
  async commandAccountClock(accountId: string, command: ClockCommand): Promise<{ now: string; frozen: boolean; follows_global: boolean; applied: number } | undefined> {
    const changed = await this.db.transaction().execute((trx) => this.accountClocks.command(trx, accountId, command));
    if (changed === undefined) return undefined;
    this.accountClocks.take(accountId, changed.after);
    await this.store.notify(CONTROLS);
    // Released back to the global clock: its timers are the global clock's again.
    const applied = isGlobal(changed.after) ? await this.lifecycle.releaseDue() : await this.lifecycle.releaseDue(accountId);
    const clock = new AccountClock(this.clock, changed.after);
    return { now: clock.iso(), frozen: clock.frozen, follows_global: changed.after.followsGlobal, applied };
  }

  static async open(options: KernelOptions): Promise<Kernel> {
    const pool = { ...POOL_DEFAULTS, ...options.pool };
    const store = await openStore(options.databaseUrl, pool);
    let sealingKey: Buffer;
    try {
      await migrate(store.db, 'kernel', kernelMigrations, store.schema);
      sealingKey = resolveSealingKey({ secretKey: options.secretKey, databaseUrl: options.databaseUrl });
    } catch (error) {
      await store.close();
      throw error;
    }
    // (grouped creates wait for their group within the bounds a request waits for a connection)
    const grouping = options.groupCommit === false ? 'none' : store.engine === 'sqlite' ? 'savepoints' : 'pipelined';
    const grouped = new GroupCommit(store.db, grouping, { queueLimit: pool.queueLimit, queueTimeoutMs: pool.queueTimeoutMs });
    return new Kernel(store, options.clock ?? new Clock(), options.log, options.idSeed ?? null, options.timings, sealingKey, grouped);
  }

  /** Brings a module's tables up to date (each module keeps its own migration history). */
  async migrate(scope: string, migrations: Migrations): Promise<void> {
    await migrate(this.db, scope, migrations, this.store.schema);
  }

  /**
   * What a module puts into an empty store (stock lines, address pools): run at start-up,
   * where it must leave existing rows alone, and after a reset.
   */
  onSeed(seeder: (trx: Transaction<any>) => Promise<void>): void {
    this.seeders.push(seeder);
  }

  /**
   * Recomputes what a module derives from its rows (stock in use, resource counts) after rows
   * arrived or left in bulk: an import, an account deleted.
   */
  onRecount(recounter: (trx: Transaction<any>) => Promise<void>): void {
    this.recounters.push(recounter);
  }

  /**
   * What a module gives back when an account is deleted, as its own deletions would (addresses
   * leased, address pools of its networks, stock): run in the deletion's transaction before the
   * account's remaining rows are removed.
   */
  onAccountDeleted(cleanup: (trx: Transaction<any>, accountId: string) => Promise<void>): void {
    this.accountCleanups.push(cleanup);
  }

  async seed(): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const seeder of this.seeders) await seeder(trx);
    });
  }

  /**
   * Back to an empty store (catalog stock and pools re-seeded), wall-clock time, no faults,
   * default lifecycle progress, and ids from `seed` if given (else from the configured seed, as
   * at start-up). One transaction, so a request in flight sees the store either before or after.
   */
  async reset(seed: string | null = null, freezeAt: number | null = null): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await this.state.lockAccounts(trx, null);
      await this.state.clear(trx);
      for (const seeder of this.seeders) await seeder(trx);
    });
    this.ids.reseed(seed ?? this.idSeed);
    this.lifecycle.resetControls();
    this.disabledApis = new Set();
    this.clock.reset();
    this.accountClocks.clear();
    // An empty store has no timestamps to keep in order, so the clock may start anywhere.
    if (freezeAt !== null) this.clock.freeze(freezeAt);
    await this.faults.reload();
    await this.shareControls();
  }

  /**
   * Writes the emulator controls (clock, lifecycle profile, modes, durations) to the store and
   * tells the other replicas, which take them over: one clock for the whole installation.
   */
  async shareControls(): Promise<void> {
    const settings = { clock: this.clock.snapshot(), lifecycle: this.lifecycle.controls(), apis: { disabled: [...this.disabledApis].sort() } };
    await this.db.transaction().execute(async (trx) => {
      for (const [key, value] of Object.entries(settings)) {
        await trx
          .insertInto('control_settings')
          .values({ key, value: JSON.stringify(value) })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value) }))
          .execute();
      }
    });
    await this.store.notify(CONTROLS);
  }

  /** Takes over the controls and fault rules the store holds (at start-up, and when told they changed). */
  async loadControls(): Promise<void> {
    const rows = await this.db.selectFrom('control_settings').selectAll().execute();
    let disabled: string[] = [];
    for (const row of rows) {
      const value = JSON.parse(row.value as string);
      if (row.key === 'clock') this.clock.restore(value);
      if (row.key === 'lifecycle') this.lifecycle.setControls(value);
      if (row.key === 'apis' && Array.isArray(value?.disabled)) disabled = value.disabled;
    }
    await this.accountClocks.load();
    // (a store that never had the setting, such as one made before it existed: every API on)
    this.disabledApis = new Set(disabled);
    await this.faults.reload();
  }

  /** A cloud declares that its API honours the operator's on/off switch (see apiEnabled). */
  declareApiSwitch(cloud: string): void {
    this.switchableApis.add(cloud);
  }

  /** The clouds whose API can be switched, and whether each is on. */
  apiSwitches(): { cloud: string; enabled: boolean }[] {
    return [...this.switchableApis].sort().map((cloud) => ({ cloud, enabled: this.apiEnabled(cloud) }));
  }

  /** Read on every request of a switchable cloud: memory only, kept in step by shareControls. */
  apiEnabled(cloud: string): boolean {
    return !this.disabledApis.has(cloud);
  }

  /** Turns a cloud's public API on or off for every replica; false if the cloud has no switch. */
  async setApiEnabled(cloud: string, enabled: boolean): Promise<boolean> {
    if (!this.switchableApis.has(cloud)) return false;
    const next = new Set(this.disabledApis);
    if (enabled) next.delete(cloud);
    else next.add(cloud);
    this.disabledApis = next;
    await this.shareControls();
    return true;
  }

  async deleteAccount(accountId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      if (!(await this.state.lockAccounts(trx, accountId))) return false;
      for (const cleanup of this.accountCleanups) await cleanup(trx, accountId);
      await this.state.clearAccount(trx, accountId);
      for (const recount of this.recounters) await recount(trx);
      return true;
    }).then((deleted) => {
      if (deleted) this.accountClocks.forget(accountId);
      return deleted;
    });
  }

  async importState(doc: StateDocument): Promise<void> {
    await this.state.import(doc, async (trx) => {
      for (const recount of this.recounters) await recount(trx);
    });
    // A whole-store document brings its controls and fault rules along.
    await this.loadControls();
    await this.store.notify(CONTROLS);
    await this.lifecycle.runDue();
  }

  /** Starts the lifecycle engine; overdue transitions are applied before this resolves. */
  async start(): Promise<void> {
    await this.state.prepare();
    await this.loadControls();
    this.unlisten = await this.store.listen(CONTROLS, () => {
      this.loadControls()
        .then(() => this.lifecycle.wake())
        .catch((error: unknown) => this.log.warn({ err: error }, 'cannot reload shared controls'));
    });
    await this.lifecycle.start();
  }

  async close(): Promise<void> {
    await this.unlisten?.();
    await this.lifecycle.stop();
    await this.store.close();
  }
}
