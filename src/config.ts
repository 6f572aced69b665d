import type { LogFormat } from './http/logging.js';
import { parseDuration } from './kernel/clock.js';
import { timingProfiles, type TimingProfile } from './kernel/lifecycle/engine.js';

/** Everything Hangar reads from its environment, parsed once at start-up. */
export interface Config {
  host: string;
  port: number;
  databaseUrl: string;
  /** PostgreSQL connections per process (HANGAR_DATABASE_POOL_SIZE). */
  databasePoolSize: number;
  /** How long opening one PostgreSQL connection may take, in ms (HANGAR_DATABASE_CONNECT_TIMEOUT). */
  databaseConnectTimeoutMs: number;
  /** How long a request may wait for a free PostgreSQL connection, in ms (HANGAR_DATABASE_QUEUE_TIMEOUT). */
  databaseQueueTimeoutMs: number;
  /** How many requests may wait for a free PostgreSQL connection at once (HANGAR_DATABASE_QUEUE_LIMIT). */
  databaseQueueLimit: number;
  /** Whether repeated PostgreSQL queries run as named statements (HANGAR_DATABASE_NAMED_STATEMENTS). */
  databaseNamedStatements: boolean;
  /** HANGAR_DATABASE_GROUP_COMMIT: creates that arrive together share one transaction and one commit. */
  databaseGroupCommit: boolean;
  /** How long a request's headers and body may take to arrive, in ms; 0: no limit (HANGAR_REQUEST_TIMEOUT). */
  requestTimeoutMs: number;
  /** How long a connection may stay silent, in ms; 0: no limit (HANGAR_CONNECTION_TIMEOUT). */
  connectionTimeoutMs: number;
  timings: TimingProfile;
  /** Genesis API requests per second per token; 0 turns the limit off. */
  rateLimit: number;
  /** The span the Genesis rate limit counts requests over, in milliseconds (the real cloud's is one second). */
  rateLimitWindowMs: number;
  /** HANGAR_REDIS_URL: where replicas share rate-limit counters (per process when unset). */
  redisUrl: string | null;
  logLevel: string;
  /** HANGAR_LOG_FORMAT: `pretty` (readable lines) or `json`; pretty by default when stdout is a terminal. */
  logFormat: LogFormat;
  adminToken: string | null;
  idSeed: string | null;
  /** How many recent API requests the journal keeps. */
  journalSize: number;
  /** HANGAR_READ_CACHE: replay unchanged answers to polled GETs from memory (SQLite; see http/read-cache.ts). */
  readCache: boolean;
  /** HANGAR_SECRET_KEY: the key sealed secrets (Crusoe HMAC keys) are kept under. */
  secretKey: string | null;
  demo: {
    genesisToken: string | null;
    /** HANGAR_DEMO_CRUSOE_ACCESS_KEY / _SECRET_KEY: pin the demo account's Crusoe key pair (both or neither). */
    crusoeAccessKey: string | null;
    crusoeSecretKey: string | null;
  };
  catalogs: {
    genesis: string | null;
    crusoe: string | null;
  };
  /** Default Genesis quotas for every account, e.g. {instances: 5} from HANGAR_GENESIS_QUOTAS="instances=5". */
  genesisQuotas: Record<string, number>;
  /** What running instances are (see src/fabric): rows only (`simulated`), or machines you can SSH into (`sandbox`). */
  fabric: FabricConfig;
}

export interface FabricConfig {
  /** HANGAR_FABRIC: `simulated` (the default) or `sandbox`. */
  kind: 'simulated' | 'sandbox';
  /** HANGAR_SANDBOX_PUBLIC_CIDR: the loopback range public addresses are drawn from in sandbox mode. */
  publicCidr: string;
  /** HANGAR_SANDBOX_DIR: where instances' files live (default: beside an SQLite file store, else .hangar/sandbox). */
  dir: string | null;
  /** HANGAR_SANDBOX_SSH_PORT: the port instances' SSH listens on; null: 22, or 2222 where 22 cannot be bound. */
  sshPort: number | null;
  /** HANGAR_SANDBOX_STOP_TIMEOUT: how long a stopping instance's shutdown script may run before its processes are killed. */
  stopTimeoutMs: number;
  /** HANGAR_GPU_DEVICES: host GPU device files handed to running instances, each to one at a time. */
  gpuDevices: string[];
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, terminal = process.stdout.isTTY === true): Config {
  const timings = (env.HANGAR_TIMINGS ?? 'fast') as TimingProfile;
  if (!timingProfiles.includes(timings)) {
    throw new ConfigError(`HANGAR_TIMINGS must be one of ${timingProfiles.join(', ')} (got "${env.HANGAR_TIMINGS}")`);
  }
  return {
    host: env.HOST ?? '127.0.0.1',
    port: integer(env, 'PORT', 8080, 0, 65535),
    databaseUrl: databaseUrl(env),
    databasePoolSize: integer(env, 'HANGAR_DATABASE_POOL_SIZE', 10, 1, 1000),
    databaseConnectTimeoutMs: duration(env, 'HANGAR_DATABASE_CONNECT_TIMEOUT', 5_000, 1),
    databaseQueueTimeoutMs: duration(env, 'HANGAR_DATABASE_QUEUE_TIMEOUT', 30_000, 1),
    databaseQueueLimit: integer(env, 'HANGAR_DATABASE_QUEUE_LIMIT', 1000, 1, 1_000_000),
    databaseNamedStatements: integer(env, 'HANGAR_DATABASE_NAMED_STATEMENTS', 1, 0, 1) === 1,
    databaseGroupCommit: integer(env, 'HANGAR_DATABASE_GROUP_COMMIT', 1, 0, 1) === 1,
    requestTimeoutMs: duration(env, 'HANGAR_REQUEST_TIMEOUT', 30_000, 0),
    connectionTimeoutMs: duration(env, 'HANGAR_CONNECTION_TIMEOUT', 0, 0),
    timings,
    rateLimit: integer(env, 'HANGAR_RATE_LIMIT', 10, 0, 1_000_000),
    rateLimitWindowMs: duration(env, 'HANGAR_RATE_LIMIT_WINDOW', 1_000, 1),
    redisUrl: nonEmpty(env.HANGAR_REDIS_URL),
    logLevel: logLevel(env),
    logFormat: oneOf(env, 'HANGAR_LOG_FORMAT', ['pretty', 'json'] as const, terminal ? 'pretty' : 'json'),
    adminToken: nonEmpty(env.HANGAR_ADMIN_TOKEN),
    idSeed: nonEmpty(env.HANGAR_ID_SEED),
    journalSize: integer(env, 'HANGAR_JOURNAL_SIZE', 1000, 0, 1_000_000),
    readCache: integer(env, 'HANGAR_READ_CACHE', 1, 0, 1) === 1,
    secretKey: secretKey(env),
    demo: { genesisToken: nonEmpty(env.HANGAR_DEMO_GENESIS_TOKEN), ...crusoeDemoKeys(env) },
    catalogs: { genesis: nonEmpty(env.HANGAR_GENESIS_CATALOG), crusoe: nonEmpty(env.HANGAR_CRUSOE_CATALOG) },
    genesisQuotas: quotaList(env, 'HANGAR_GENESIS_QUOTAS'),
    fabric: fabricConfig(env),
  };
}

function fabricConfig(env: NodeJS.ProcessEnv): FabricConfig {
  const publicCidr = nonEmpty(env.HANGAR_SANDBOX_PUBLIC_CIDR) ?? '127.100.0.0/16';
  const match = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(publicCidr);
  if (!match || match.slice(1, 4).some((o) => Number(o) > 255) || Number(match[4]) < 8 || Number(match[4]) > 24) {
    throw new ConfigError(`HANGAR_SANDBOX_PUBLIC_CIDR must be a loopback range of /8 to /24, such as 127.100.0.0/16 (got "${publicCidr}")`);
  }
  const devices = (nonEmpty(env.HANGAR_GPU_DEVICES) ?? '').split(',').map((d) => d.trim()).filter((d) => d !== '');
  for (const device of devices) {
    if (!device.startsWith('/dev/')) throw new ConfigError(`HANGAR_GPU_DEVICES must list device files such as /dev/nvidia0,/dev/nvidia1 (got "${device}")`);
  }
  if (new Set(devices).size !== devices.length) throw new ConfigError('HANGAR_GPU_DEVICES lists a device twice');
  const port = nonEmpty(env.HANGAR_SANDBOX_SSH_PORT);
  return {
    kind: oneOf(env, 'HANGAR_FABRIC', ['simulated', 'sandbox'] as const, 'simulated'),
    publicCidr,
    dir: nonEmpty(env.HANGAR_SANDBOX_DIR),
    sshPort: port === null ? null : integer(env, 'HANGAR_SANDBOX_SSH_PORT', 22, 1, 65535),
    stopTimeoutMs: duration(env, 'HANGAR_SANDBOX_STOP_TIMEOUT', 30_000, 1),
    gpuDevices: devices,
  };
}

/** "instances=5,volumes=10" → {instances: 5, volumes: 10}. */
function quotaList(env: NodeJS.ProcessEnv, name: string): Record<string, number> {
  const raw = nonEmpty(env[name]);
  if (raw === null) return {};
  const quotas: Record<string, number> = {};
  for (const part of raw.split(',')) {
    const match = /^\s*([a-z_]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!match) throw new ConfigError(`${name} must look like "instances=5,volumes=10" (got "${raw}")`);
    quotas[match[1]!] = Number(match[2]);
  }
  return quotas;
}

/**
 * The pinned Crusoe key pair: both halves or neither. The access key travels inside the
 * Authorization header between colons; the secret is base64url without padding, as the
 * official clients decode it (base64.RawURLEncoding), of at least 16 bytes.
 */
function crusoeDemoKeys(env: NodeJS.ProcessEnv): { crusoeAccessKey: string | null; crusoeSecretKey: string | null } {
  const accessKey = nonEmpty(env.HANGAR_DEMO_CRUSOE_ACCESS_KEY);
  const secretKey = nonEmpty(env.HANGAR_DEMO_CRUSOE_SECRET_KEY);
  if ((accessKey === null) !== (secretKey === null)) {
    throw new ConfigError('HANGAR_DEMO_CRUSOE_ACCESS_KEY and HANGAR_DEMO_CRUSOE_SECRET_KEY must be set together');
  }
  if (accessKey !== null && !/^[A-Za-z0-9._~+/=-]{8,128}$/.test(accessKey)) {
    throw new ConfigError('HANGAR_DEMO_CRUSOE_ACCESS_KEY must be 8 to 128 characters, without spaces or colons');
  }
  if (secretKey !== null && (!/^[A-Za-z0-9_-]+$/.test(secretKey) || secretKey.length % 4 === 1 || Buffer.from(secretKey, 'base64url').length < 16)) {
    throw new ConfigError('HANGAR_DEMO_CRUSOE_SECRET_KEY must be base64url without padding, of at least 16 bytes (22 characters)');
  }
  return { crusoeAccessKey: accessKey, crusoeSecretKey: secretKey };
}

/** The store's URL, refused here when no store could ever open it. */
function databaseUrl(env: NodeJS.ProcessEnv): string {
  const url = nonEmpty(env.HANGAR_DATABASE_URL) ?? 'sqlite:.hangar/hangar.db';
  if (url.startsWith('sqlite:') || url.startsWith('postgres://') || url.startsWith('postgresql://')) return url;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw new ConfigError(
    `HANGAR_DATABASE_URL: ${scheme ? `"${scheme}:" is not a store Hangar can use` : `"${redactUrl(url)}" is not a store URL`}; ` +
      'use sqlite:<path>, sqlite::memory: or postgres://user:password@host:5432/database',
  );
}

/** A PostgreSQL store is shared by replicas, which must all open the secrets sealed in it. */
function secretKey(env: NodeJS.ProcessEnv): string | null {
  const key = nonEmpty(env.HANGAR_SECRET_KEY);
  if (key === null && /^postgres(ql)?:\/\//.test(env.HANGAR_DATABASE_URL ?? '')) {
    throw new ConfigError(
      'HANGAR_SECRET_KEY is not set: a PostgreSQL store needs it (Crusoe secret keys are sealed under it); ' +
        'set it to one long random string, the same for every replica (e.g. HANGAR_SECRET_KEY=$(openssl rand -hex 32))',
    );
  }
  return key;
}

/** A URL fit to print: its password replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(env: NodeJS.ProcessEnv): string {
  return oneOf(env, 'HANGAR_LOG_LEVEL', LOG_LEVELS, 'info');
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const raw = nonEmpty(env[name]);
  if (raw === null) return fallback;
  if (!values.includes(raw as T)) throw new ConfigError(`${name} must be one of ${values.join(', ')} (got "${raw}")`);
  return raw as T;
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
  }
  return value;
}

/** A duration such as "30s", "500ms" or "2m" (a bare number is milliseconds), at least `min` ms. */
function duration(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  let value: number;
  try {
    value = parseDuration(raw);
  } catch {
    value = Number.NaN;
  }
  if (!(value >= min) || value > 2_147_483_647) {
    throw new ConfigError(`${name} must be a duration such as "30s", "500ms" or "2m"${min > 0 ? ', more than 0' : ' (0 turns it off)'} (got "${raw}")`);
  }
  return value;
}
