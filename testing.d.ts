// Types of `hangar/testing` (package.json "exports"), written out so that a test suite's
// compiler never reads Hangar's sources. test/testing/entry.test.ts checks at compile time that
// src/testing.ts still fits them.
export interface StartHangarOptions {
  /** How long transitions take: `instant` (the default here: next tick), `fast`, `realistic`. */
  timings?: 'instant' | 'fast' | 'realistic';
  /** Start with the clock frozen at this instant. */
  frozenAt?: Date | string;
  /** Make generated ids reproducible from this seed (HANGAR_ID_SEED). */
  seed?: string;
  /** Port to listen on (default: a free one). */
  port?: number;
  /** The store (default `sqlite::memory:`); a `postgres://…` URL needs `env.HANGAR_SECRET_KEY`. */
  databaseUrl?: string;
  /** Any other setting, as the environment would give it (e.g. `{HANGAR_RATE_LIMIT: '10'}`). */
  env?: Record<string, string>;
}

/** An account's credentials in both clouds. */
export interface TestAccount {
  id: string;
  name: string;
  genesis: { token: string };
  crusoe: { accessKey: string; secretKey: string; organizationId: string; projectId: string };
}

/** A fault rule, as the admin API takes it (see README "What you can stage"). */
export interface FaultRule {
  cloud?: 'genesis' | 'crusoe';
  method?: string;
  /** `*` matches one path segment, `**` the rest. */
  path?: string;
  account?: string;
  count?: number;
  probability?: number;
  status?: number;
  code?: string;
  message?: string;
  latency_ms?: number;
  /** A lifecycle fault: the resource kind (e.g. `genesis.instance`) and its transition (e.g. `boot`). */
  kind?: string;
  transition?: string;
}

export interface Fault extends FaultRule {
  id: string;
  fired: number;
}

export interface ClockView {
  now: string;
  frozen: boolean;
}

export interface AccountClockView extends ClockView {
  /** True until a test freezes or advances the account's clock, and again after `release()`. */
  follows_global: boolean;
}

/**
 * One account's own clock (a parallel test worker's): it moves that account's resources and
 * nobody else's. The account follows the global clock until the first `freeze` or `advance`.
 */
export interface AccountClock {
  get(): Promise<AccountClockView>;
  /** Stops the account's clock, now or at a later instant. */
  freeze(at?: Date | string): Promise<AccountClockView>;
  resume(): Promise<AccountClockView>;
  /** Moves the account's clock forward; that account's due transitions are applied before it resolves. */
  advance(by: string | number): Promise<AccountClockView & { applied: number }>;
  /** Follows the global clock again (an account ahead of it keeps its lead: time never goes back). */
  release(): Promise<AccountClockView>;
}

/** The controls of a Hangar, spoken over its admin API: what `startHangar` and `connectHangar` give. */
export interface HangarControls {
  /** The base URL, e.g. `http://127.0.0.1:41231`. */
  url: string;
  /** Where each API lives: point a client's endpoint setting here. */
  urls: { genesis: string; crusoe: string; admin: string };
  /** Another account, with credentials of its own. */
  createAccount(name?: string): Promise<TestAccount>;
  /** The global clock: every account that has no clock of its own follows it. */
  clock: {
    get(): Promise<ClockView>;
    /** Stops the clock, now or at a later instant. */
    freeze(at?: Date | string): Promise<ClockView>;
    resume(): Promise<ClockView>;
    /** Moves the clock forward ("90s", "5m", or milliseconds); due transitions are applied before it resolves. */
    advance(by: string | number): Promise<ClockView & { applied: number }>;
  };
  /** An account's own clock: one per parallel test worker. */
  accountClock(account: TestAccount | string): AccountClock;
  /** Any other admin API call (`/admin/v1` + path). */
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export interface RunningHangar extends HangarControls {
  /** A fresh account made for this Hangar (it keeps its credentials across `reset()`). */
  account: TestAccount;
  faults: {
    add(rule: FaultRule): Promise<Fault>;
    list(): Promise<Fault[]>;
    remove(id: string): Promise<void>;
    clear(): Promise<void>;
  };
  lifecycle: {
    /** How a kind (e.g. `genesis.instance`) progresses: on time, after N reads, or when advanced. */
    set(kind: string, settings: { mode?: 'time' | 'reads' | 'manual'; reads?: number; durations?: Record<string, string | number | null> }): Promise<unknown>;
    /** Applies held transitions now (all, one kind's, or one resource's); resolves to how many. */
    advance(target?: { kind?: string; resourceId?: string }): Promise<number>;
    /** The timing profile for every kind. */
    profile(profile: 'instant' | 'fast' | 'realistic'): Promise<unknown>;
  };
  /** Back to an empty store; `account` keeps its credentials. */
  reset(options?: { seed?: string; frozenAt?: Date | string }): Promise<void>;
  /**
   * The headers that sign a Crusoe request as the official clients sign it, timestamped with
   * Hangar's clock (the account's own, when it has one): `fetch(url, {headers})`.
   */
  crusoeHeaders(method: string, url: string, account?: TestAccount): Record<string, string>;
  /** The Hangar itself (src/app.ts), for what the functions above do not reach. */
  hangar: object;
  stop(): Promise<void>;
}

export declare function startHangar(options?: StartHangarOptions): Promise<RunningHangar>;

/**
 * The controls of a Hangar running elsewhere (started once for the whole suite, say in
 * vitest's globalSetup): what each parallel worker uses to make its own account and move its
 * own account's clock.
 */
export declare function connectHangar(url: string, options?: { adminToken?: string }): HangarControls;
