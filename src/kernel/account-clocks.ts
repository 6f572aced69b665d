import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Clock, TimeSource } from './clock.js';
import type { Executor } from './db/store.js';

/**
 * Per-account clocks, like Stripe's test clocks: a test that owns an account can freeze and
 * move that account's time without moving anybody else's, so parallel test workers (one
 * account each) each control their own time.
 *
 * An account follows the global clock until a test takes control of it (freezes or advances
 * it). Its setting lives on its account row, so every replica reads the same one: a request's
 * credential lookup reads it with the account's standing (no extra statement), and the
 * lifecycle engine computes each account's "now" in SQL from the row. An account that follows
 * the global clock with no lead is not kept in memory and reads the global clock: it pays
 * nothing.
 */
export interface ClockSetting {
  /** The account follows the global clock, `offsetMs` ahead of it (a lead kept by `release`). */
  followsGlobal: boolean;
  /** Following: the lead over the global clock. Own and running: the offset from the wall clock. */
  offsetMs: number;
  /** Own and frozen: the instant it shows. */
  frozenAt: number | null;
}

export const FOLLOWING: ClockSetting = Object.freeze({ followsGlobal: true, offsetMs: 0, frozenAt: null });

/** The account row's columns that hold its clock. */
export interface ClockColumns {
  clock_follows_global: number | boolean | null;
  clock_offset_ms: number | string | null;
  clock_frozen_at: number | string | null;
}

export function settingOf(row: ClockColumns): ClockSetting {
  return {
    followsGlobal: row.clock_follows_global === null || row.clock_follows_global === undefined || Number(row.clock_follows_global) === 1,
    offsetMs: Number(row.clock_offset_ms ?? 0),
    frozenAt: row.clock_frozen_at === null || row.clock_frozen_at === undefined ? null : Number(row.clock_frozen_at),
  };
}

/** Whether the setting is the global clock itself (what needs no clock of its own). */
export function isGlobal(setting: ClockSetting): boolean {
  return setting.followsGlobal && setting.offsetMs === 0;
}

function same(a: ClockSetting, b: ClockSetting): boolean {
  return a.followsGlobal === b.followsGlobal && a.offsetMs === b.offsetMs && a.frozenAt === b.frozenAt;
}

/** An account's clock: its own time, or the global clock's plus a lead. */
export class AccountClock implements TimeSource {
  constructor(
    private readonly global: Clock,
    readonly setting: ClockSetting,
  ) {}

  now(): number {
    const { followsGlobal, offsetMs, frozenAt } = this.setting;
    if (followsGlobal) return this.global.now() + offsetMs;
    return frozenAt ?? Date.now() + offsetMs;
  }

  iso(): string {
    return new Date(this.now()).toISOString();
  }

  get frozen(): boolean {
    return this.setting.followsGlobal ? this.global.frozen : this.setting.frozenAt !== null;
  }
}

/** What an operator asks of an account's clock. */
export type ClockCommand = { op: 'freeze'; at?: number } | { op: 'advance'; by: number } | { op: 'resume' } | { op: 'release' };

/** The setting after `command`, from `current` (whose time is `now`) and the global clock's. */
export function applyCommand(current: ClockSetting, command: ClockCommand, now: number, global: Clock): ClockSetting {
  switch (command.op) {
    case 'freeze':
      return { followsGlobal: false, offsetMs: 0, frozenAt: command.at ?? now };
    case 'advance': {
      if (!Number.isFinite(command.by) || command.by < 0) throw new RangeError('the clock only moves forward');
      const frozen = current.followsGlobal ? global.frozen : current.frozenAt !== null;
      const to = now + command.by;
      // (an account taking control keeps running, or stays stopped, as the clock it followed)
      return frozen ? { followsGlobal: false, offsetMs: 0, frozenAt: to } : { followsGlobal: false, offsetMs: to - Date.now(), frozenAt: null };
    }
    case 'resume':
      if (current.followsGlobal || current.frozenAt === null) return current;
      return { followsGlobal: false, offsetMs: current.frozenAt - Date.now(), frozenAt: null };
    case 'release':
      // Back to the global clock; an account ahead of it keeps its lead (time never goes back).
      return { followsGlobal: true, offsetMs: Math.max(0, now - global.now()), frozenAt: null };
  }
}

/**
 * An account's "now" computed in SQL from its row (aliased `a`), given the global clock's and
 * the wall clock's: what the lifecycle engine compares timers' due times with.
 */
export function accountNowSql(globalNow: number, wallNow: number, alias = 'a'): RawBuilder<number> {
  const col = (c: string) => sql.ref(`${alias}.${c}`);
  return sql<number>`(case when ${col('clock_follows_global')} = 1 then ${globalNow} + ${col('clock_offset_ms')}
    when ${col('clock_frozen_at')} is not null then ${col('clock_frozen_at')}
    else ${wallNow} + ${col('clock_offset_ms')} end)`;
}

/** The accounts' own clocks this process knows of, kept in step with the account rows. */
export class AccountClocks {
  private readonly own = new Map<string, AccountClock>();

  constructor(
    private readonly db: Kysely<any>,
    private readonly global: Clock,
    private readonly engine: 'sqlite' | 'postgres',
  ) {}

  /** The account's clock: the global clock itself unless the account has a clock of its own. */
  clockFor(accountId: string | null | undefined): TimeSource {
    if (accountId === null || accountId === undefined || this.own.size === 0) return this.global;
    return this.own.get(accountId) ?? this.global;
  }

  /** Whether any account has a clock of its own. */
  get any(): boolean {
    return this.own.size > 0;
  }

  /** Takes an account's setting as read from its row (a request's credential lookup reads it). */
  observe(accountId: string, row: ClockColumns): void {
    const setting = settingOf(row);
    if (isGlobal(setting)) {
      this.own.delete(accountId);
      return;
    }
    const known = this.own.get(accountId);
    if (known === undefined || !same(known.setting, setting)) this.own.set(accountId, new AccountClock(this.global, setting));
  }

  forget(accountId: string): void {
    this.own.delete(accountId);
  }

  /** Reads every account's setting (at start-up, after an import or reset, when told they changed). */
  async load(): Promise<void> {
    const rows = await this.db
      .selectFrom('accounts')
      .select(['id', 'clock_follows_global', 'clock_offset_ms', 'clock_frozen_at'])
      .where((eb) => eb.or([eb('clock_follows_global', '=', 0), eb('clock_offset_ms', '!=', 0)]))
      .execute();
    this.own.clear();
    for (const row of rows) this.observe(row.id as string, row as ClockColumns);
  }

  /** Reads one account's setting from its row (undefined when there is no such account). */
  async read(accountId: string, trx: Executor = this.db, lock = false): Promise<ClockSetting | undefined> {
    let query = trx.selectFrom('accounts').select(['id', 'clock_follows_global', 'clock_offset_ms', 'clock_frozen_at']).where('id', '=', accountId);
    if (lock && this.engine === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (!row) return undefined;
    this.observe(accountId, row as ClockColumns);
    return settingOf(row as ClockColumns);
  }

  /**
   * Applies an operator's command to the account's clock in `trx` (the row locked on
   * PostgreSQL, so two replicas' commands apply one after the other). Returns the new
   * setting, and whether the account's timers change clocks (they are marked in the same
   * transaction). Undefined when there is no such account.
   */
  async command(trx: Executor, accountId: string, command: ClockCommand): Promise<{ before: ClockSetting; after: ClockSetting } | undefined> {
    const before = await this.read(accountId, trx, true);
    if (before === undefined) return undefined;
    const now = new AccountClock(this.global, before).now();
    if (command.op === 'freeze' && command.at !== undefined && command.at < now) throw new RangeError('"at" must not be earlier than the clock: it only moves forward');
    const after = applyCommand(before, command, now, this.global);
    await trx
      .updateTable('accounts')
      .set({ clock_follows_global: after.followsGlobal ? 1 : 0, clock_offset_ms: after.offsetMs, clock_frozen_at: after.frozenAt })
      .where('id', '=', accountId)
      .execute();
    if (isGlobal(before) !== isGlobal(after)) {
      await trx
        .updateTable('lifecycle_timers')
        .set({ own_clock: isGlobal(after) ? 0 : 1 })
        .where('account', '=', accountId)
        .execute();
    }
    return { before, after };
  }

  /** Takes a committed setting into memory. */
  take(accountId: string, setting: ClockSetting): void {
    this.observe(accountId, { clock_follows_global: setting.followsGlobal ? 1 : 0, clock_offset_ms: setting.offsetMs, clock_frozen_at: setting.frozenAt });
  }

  clear(): void {
    this.own.clear();
  }
}
