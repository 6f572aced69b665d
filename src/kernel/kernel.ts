import type { Kysely } from 'kysely';
import { Capacity } from './capacity.js';
import { Clock } from './clock.js';
import { Counters } from './counters.js';
import { migrate, type Migrations } from './db/migrate.js';
import { kernelMigrations } from './db/schema.js';
import { openStore, type Store } from './db/store.js';
import { IdGenerator } from './ids.js';
import { Ipam } from './ipam.js';
import { LifecycleEngine, type TimingProfile } from './lifecycle/engine.js';
import { Tenancy } from './tenancy/accounts.js';

export interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export interface KernelOptions {
  databaseUrl: string;
  timings: TimingProfile;
  clock?: Clock;
  idSeed?: string | null;
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

  private constructor(
    readonly store: Store,
    readonly clock: Clock,
    readonly log: Logger,
    idSeed: string | null,
    timings: TimingProfile,
  ) {
    this.db = store.db;
    this.ids = new IdGenerator(idSeed);
    this.lifecycle = new LifecycleEngine(this.db, clock, this.ids, {
      profile: timings,
      onError: (error, timer) => log.error({ err: error, timer }, 'lifecycle transition failed; timer set aside'),
    });
    this.tenancy = new Tenancy(this.db, clock, this.ids);
    this.counters = new Counters(this.db);
    this.capacity = new Capacity(this.db);
    this.ipam = new Ipam(this.db);
  }

  static async open(options: KernelOptions): Promise<Kernel> {
    const store = openStore(options.databaseUrl);
    try {
      await migrate(store.db, 'kernel', kernelMigrations);
    } catch (error) {
      await store.close();
      throw error;
    }
    return new Kernel(store, options.clock ?? new Clock(), options.log, options.idSeed ?? null, options.timings);
  }

  /** Brings a module's tables up to date (each module keeps its own migration history). */
  async migrate(scope: string, migrations: Migrations): Promise<void> {
    await migrate(this.db, scope, migrations);
  }

  /** Starts the lifecycle engine; overdue transitions are applied before this resolves. */
  async start(): Promise<void> {
    await this.lifecycle.start();
  }

  async close(): Promise<void> {
    await this.lifecycle.stop();
    await this.store.close();
  }
}
