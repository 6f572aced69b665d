/**
 * `import { startHangar } from 'hangar/testing'`: a Hangar inside a test suite's own process,
 * on a free port and an in-memory store, with an account ready to use and the emulator's
 * controls as functions. The controls speak to the admin API over HTTP, as a test in another
 * language would, so what passes here passes there.
 */
import { createHangar, type Hangar } from './app.js';
import { decodeSecret, sign, SIGNATURE_VERSION, signedPath, signingMessage } from './clouds/crusoe/signing.js';
import { loadConfig } from './config.js';
import { Clock } from './kernel/clock.js';

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
  /** The Hangar itself, for what the functions above do not reach. */
  hangar: Hangar;
  stop(): Promise<void>;
}

export async function startHangar(options: StartHangarOptions = {}): Promise<RunningHangar> {
  const config = loadConfig(
    {
      HANGAR_DATABASE_URL: options.databaseUrl ?? 'sqlite::memory:',
      HANGAR_TIMINGS: options.timings ?? 'instant',
      HANGAR_RATE_LIMIT: '0',
      HANGAR_LOG_LEVEL: 'warn',
      HANGAR_LOG_FORMAT: 'json',
      HOST: '127.0.0.1',
      PORT: String(options.port ?? 0),
      ...(options.seed !== undefined ? { HANGAR_ID_SEED: options.seed } : {}),
      ...options.env,
    },
    false,
  );
  const clock = options.frozenAt === undefined ? new Clock() : new Clock({ frozenAt: instant(options.frozenAt) });
  const hangar = await createHangar(config, { clock });
  let url: string;
  try {
    url = await hangar.listen();
  } catch (error) {
    await hangar.close();
    throw error;
  }
  const controls = connectHangar(url, { adminToken: config.adminToken ?? undefined });
  const { admin } = controls;
  const demo = hangar.demo;
  const account = toAccount({ id: demo.accountId, name: 'demo', ...demo.credentials });
  return {
    ...controls,
    account,
    faults: {
      add: (rule) => admin('POST', '/faults', rule),
      list: async () => (await admin<{ faults: Fault[] }>('GET', '/faults')).faults,
      remove: async (id) => void (await admin('DELETE', `/faults/${encodeURIComponent(id)}`)),
      clear: async () => void (await admin('DELETE', '/faults')),
    },
    lifecycle: {
      set: (kind, settings) => admin('PUT', `/lifecycle/${encodeURIComponent(kind)}`, settings),
      advance: async (target = {}) => (await admin<{ applied: number }>('POST', '/lifecycle/advance', { kind: target.kind, resource_id: target.resourceId })).applied,
      profile: (profile) => admin('PUT', '/lifecycle', { profile }),
    },
    reset: async (resetOptions = {}) => {
      const frozenAt = resetOptions.frozenAt === undefined ? undefined : new Date(instant(resetOptions.frozenAt)).toISOString();
      await admin('POST', '/reset', { seed: resetOptions.seed, frozen_at: frozenAt });
    },
    crusoeHeaders: (method, target, who = account) => {
      const timestamp = new Date(hangar.kernel.clockFor(who.id).now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const resolved = new URL(target, url);
      const { path, rawQuery } = signedPath(resolved.pathname + resolved.search);
      const signature = sign(decodeSecret(who.crusoe.secretKey), signingMessage(path, rawQuery, method, timestamp));
      return { authorization: `Bearer ${SIGNATURE_VERSION}:${who.crusoe.accessKey}:${signature}`, 'x-crusoe-timestamp': timestamp };
    },
    admin,
    hangar,
    stop: () => hangar.close(),
  };
}

/**
 * The controls of a Hangar running elsewhere (started once for the whole suite, say in
 * vitest's globalSetup): what each parallel worker uses to make its own account and move its
 * own account's clock.
 */
export function connectHangar(url: string, options: { adminToken?: string } = {}): HangarControls {
  const base = url.replace(/\/+$/, '');
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (options.adminToken) headers.authorization = `Bearer ${options.adminToken}`;
    const res = await fetch(`${base}/admin/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`hangar: ${method} /admin/v1${path} answered ${res.status}: ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };
  const at = (when?: Date | string) => (when === undefined ? {} : { at: new Date(instant(when)).toISOString() });
  return {
    url: base,
    urls: { genesis: `${base}/compute/v1`, crusoe: `${base}/v1alpha5`, admin: `${base}/admin/v1` },
    createAccount: async (name = 'test') => toAccount(await admin('POST', '/accounts', { name })),
    clock: {
      get: () => admin('GET', '/clock'),
      freeze: (when) => admin('POST', '/clock/freeze', at(when)),
      resume: () => admin('POST', '/clock/resume'),
      advance: (by) => admin('POST', '/clock/advance', { by }),
    },
    accountClock: (account) => {
      const path = `/accounts/${encodeURIComponent(typeof account === 'string' ? account : account.id)}/clock`;
      return {
        get: () => admin('GET', path),
        freeze: (when) => admin('POST', `${path}/freeze`, at(when)),
        resume: () => admin('POST', `${path}/resume`),
        advance: (by) => admin('POST', `${path}/advance`, { by }),
        release: () => admin('POST', `${path}/release`),
      };
    },
    admin,
  };
}

function instant(at: Date | string): number {
  const ms = at instanceof Date ? at.getTime() : Date.parse(at);
  if (Number.isNaN(ms)) throw new Error(`hangar: not an instant: ${String(at)}`);
  return ms;
}

/** The admin API's account shape (snake_case, per cloud) as a TestAccount. */
function toAccount(raw: Record<string, any>): TestAccount {
  const crusoe = raw.crusoe ?? {};
  return {
    id: String(raw.id),
    name: String(raw.name),
    genesis: { token: String(raw.genesis?.token ?? '') },
    crusoe: {
      accessKey: String(crusoe.access_key ?? ''),
      secretKey: String(crusoe.secret_key ?? ''),
      organizationId: String(crusoe.organization_id ?? ''),
      projectId: String(crusoe.project_id ?? ''),
    },
  };
}
