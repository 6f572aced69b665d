import type { Kysely } from 'kysely';
import type { Migrations } from './migrate.js';
import { storeShape } from './tables.js';
import type { MeterInterval } from '../metering.js';

/**
 * The kernel's own tables. Times are integer milliseconds since the epoch (read from the
 * kernel clock); flags are 0/1 integers; structured values are JSON text. Those three rules
 * keep every column portable between SQLite and PostgreSQL.
 */
export interface KernelTables {
  /** `standing` is one of ACCOUNT_STANDINGS (tenancy/accounts.ts): what the operator says of the account. */
  accounts: {
    id: string;
    name: string;
    created_at: number;
    standing: string;
    /** The account's clock (account-clocks.ts): 1 while it follows the global clock. */
    clock_follows_global: number;
    /** Following: its lead over the global clock; its own running clock: its offset from the wall clock. */
    clock_offset_ms: number;
    /** Its own clock, frozen: the instant it shows. */
    clock_frozen_at: number | null;
  };
  credentials: {
    id: string;
    account_id: string;
    cloud: string;
    kind: string;
    /** What a request presents, hashed (tokens) or in clear (public access-key ids). */
    lookup: string;
    /** A secret the server must read back (e.g. an HMAC key), sealed; null for hashed tokens. */
    secret_sealed: string | null;
    label: string;
    created_at: number;
    expires_at: number | null;
  };
  /** Live resource counts per account: quota checks and list totals read these, never COUNT(*). */
  counters: { account_id: string; key: string; value: number };
  /** Per-account quota limits set by an operator; absent rows fall back to the configured default. */
  quotas: { account_id: string; key: string; limit: number };
  /** Stock of a sellable unit (an instance type) in a region, and how much of it is taken. */
  capacity: { cloud: string; region: string; sku: string; total: number; used: number };
  ip_pools: { name: string; cidr: string; cursor: number };
  ip_leases: { pool: string; address: number; owner: string };
  lifecycle_timers: {
    id: string;
    kind: string;
    resource_id: string;
    transition: string;
    due_at: number;
    created_at: number;
    /** 1 while an operator holds the timer back (manual or read-counting lifecycle modes). */
    held: number;
    /** For the read-counting mode: reads of the resource still needed before it moves on. */
    reads_left: number | null;
    /**
     * The account whose resource the timer moves, whose clock it is due on (null for timers of
     * no account, and those written before accounts had clocks). Not `account_id`: state
     * documents scope timers by their resource, as before.
     */
    account: string | null;
    /** 1 while that account has a clock of its own: the timer is due on that clock, not the global one. */
    own_clock: number;
  };
  /** Audit trail: every transition the engine applied, once. */
  lifecycle_log: {
    id: string;
    kind: string;
    resource_id: string;
    transition: string;
    from_state: string;
    to_state: string | null;
    due_at: number;
    applied_at: number;
  };
  /** Fault rules (faults.ts), shared by every replica; `fired` is spent atomically. */
  fault_rules: { id: string; position: number; rule: string; max_fires: number | null; fired: number };
  /** Emulator controls every replica follows: the clock, lifecycle profile, modes and durations. */
  control_settings: { key: string; value: string };
  /** The metering ledger (metering.ts): billable intervals of resources, per account. */
  metering_intervals: MeterInterval;
  /** Reservations (reservations.ts): capacity an account reserved of one SKU in one region. */
  reservations: { id: string; account_id: string; cloud: string; sku: string; region: string; capacity: number; used: number; created_at: number };
}

export const kernelMigrations: Migrations = {
  '0001_kernel': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('cloud', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('lookup', 'text', (c) => c.notNull())
        .addColumn('secret_sealed', 'text')
        .addColumn('label', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .execute();
      await db.schema.createIndex('credentials_lookup').unique().on('credentials').columns(['cloud', 'kind', 'lookup']).execute();
      await db.schema.createIndex('credentials_account').on('credentials').column('account_id').execute();

      await db.schema
        .createTable('counters')
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('counters_pk', ['account_id', 'key'])
        .execute();

      await db.schema
        .createTable('quotas')
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('limit', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('quotas_pk', ['account_id', 'key'])
        .execute();

      await db.schema
        .createTable('capacity')
        .addColumn('cloud', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('sku', 'text', (c) => c.notNull())
        .addColumn('total', 'bigint', (c) => c.notNull())
        .addColumn('used', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('capacity_pk', ['cloud', 'region', 'sku'])
        .execute();

      await db.schema
        .createTable('ip_pools')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('cidr', 'text', (c) => c.notNull())
        .addColumn('cursor', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('ip_leases')
        .addColumn('pool', 'text', (c) => c.notNull())
        .addColumn('address', 'bigint', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('ip_leases_pk', ['pool', 'address'])
        .execute();
      await db.schema.createIndex('ip_leases_owner').on('ip_leases').column('owner').execute();

      await db.schema
        .createTable('lifecycle_timers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('transition', 'text', (c) => c.notNull())
        .addColumn('due_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('held', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('reads_left', 'integer')
        .execute();
      await db.schema.createIndex('lifecycle_timers_due').on('lifecycle_timers').columns(['held', 'due_at', 'id']).execute();
      await db.schema.createIndex('lifecycle_timers_resource').on('lifecycle_timers').columns(['resource_id']).execute();

      await db.schema
        .createTable('lifecycle_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('transition', 'text', (c) => c.notNull())
        .addColumn('from_state', 'text', (c) => c.notNull())
        .addColumn('to_state', 'text')
        .addColumn('due_at', 'bigint', (c) => c.notNull())
        .addColumn('applied_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('lifecycle_log_resource').on('lifecycle_log').columns(['resource_id']).execute();
    },
  },
  '0002_metering': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('metering_intervals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('cloud', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('rate', 'double precision', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .execute();
      // Reports read an account's intervals by start time; lifecycle effects close a resource's open ones.
      await db.schema.createIndex('metering_intervals_account').on('metering_intervals').columns(['account_id', 'cloud', 'started_at']).execute();
      await db.schema.createIndex('metering_intervals_resource').on('metering_intervals').columns(['resource_id', 'ended_at']).execute();
    },
  },
  '0003_controls': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('fault_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('position', 'bigint', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('max_fires', 'bigint')
        .addColumn('fired', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('control_settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0004_lean_lifecycle_log': {
    // Every transition writes an audit entry and no request reads them back: an index on the
    // resource (random ids) cost a random page per entry, the largest single cost of a burst
    // of transitions. An operator looking up one resource's history can afford a scan.
    async up(db: Kysely<any>) {
      await db.schema.dropIndex('lifecycle_log_resource').execute();
    },
  },
  '0005_leases_by_address': {
    // Owners record the addresses they hold and give them back by pool and address (see
    // Ipam.release): the owner index, keyed by random resource ids, cost a random page for
    // every lease a boot took.
    async up(db: Kysely<any>) {
      await db.schema.dropIndex('ip_leases_owner').execute();
    },
  },
  /**
   * 0001_kernel was edited in place after it first landed (lifecycle timers gained `held` and
   * `reads_left`, and their due index `held` first), so a store created by the first Hangar
   * never got them. This adds what such a store lacks and leaves an up-to-date one alone.
   * (Named to run right after 0001 on such a store; migrations are append-only from here on,
   * see test/kernel/migrations.test.ts.)
   */
  '0001_kernel_catch_up': {
    async up(db: Kysely<any>) {
      const shape = await storeShape(db);
      if (!shape.hasColumn('lifecycle_timers', 'held')) {
        await db.schema.alterTable('lifecycle_timers').addColumn('held', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        // (the due index of that schema is on (due_at, id): the claim query wants held first)
        await db.schema.dropIndex('lifecycle_timers_due').ifExists().execute();
        await db.schema.createIndex('lifecycle_timers_due').on('lifecycle_timers').columns(['held', 'due_at', 'id']).execute();
      }
      if (!shape.hasColumn('lifecycle_timers', 'reads_left')) {
        await db.schema.alterTable('lifecycle_timers').addColumn('reads_left', 'integer').execute();
      }
    },
  },
  '0006_account_standing': {
    // Whether an account may use the clouds (suspended, banned, unverified, …): an operator
    // control, read with the credential on every request (one statement, no extra round trip).
    async up(db: Kysely<any>) {
      await db.schema.alterTable('accounts').addColumn('standing', 'text', (c) => c.notNull().defaultTo('active')).execute();
    },
  },
  '0007_reservations': {
    // Reservations an operator makes for an account (issue 19): either cloud counts its
    // resources against them.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('reservations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('cloud', 'text', (c) => c.notNull())
        .addColumn('sku', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('capacity', 'integer', (c) => c.notNull())
        .addColumn('used', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('reservations_account').on('reservations').columns(['account_id', 'cloud']).execute();
    },
  },
  '0008_account_clocks': {
    // Per-account clocks (account-clocks.ts): the setting on the account row, and on each
    // timer its account and whether it runs on that account's clock. The due index leads with
    // `own_clock`, so the global clock's claim never walks timers of accounts with their own.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('accounts').addColumn('clock_follows_global', 'integer', (c) => c.notNull().defaultTo(1)).execute();
      await db.schema.alterTable('accounts').addColumn('clock_offset_ms', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('accounts').addColumn('clock_frozen_at', 'bigint').execute();
      await db.schema.alterTable('lifecycle_timers').addColumn('account', 'text').execute();
      await db.schema.alterTable('lifecycle_timers').addColumn('own_clock', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.dropIndex('lifecycle_timers_due').ifExists().execute();
      await db.schema.createIndex('lifecycle_timers_due').on('lifecycle_timers').columns(['own_clock', 'held', 'due_at', 'id']).execute();
      await db.schema.createIndex('lifecycle_timers_account').on('lifecycle_timers').columns(['account', 'own_clock', 'held', 'due_at']).execute();
    },
  },
};
