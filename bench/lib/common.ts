// Shared pieces of the benchmarks: starting and stopping the servers under test (each in a
// process of its own), running the load generator, and the statistics.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { crusoeHeaders } from './crusoe-sign.mjs';
import { vacuumCatalogs } from '../../scripts/catalogs.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BENCH = join(ROOT, 'bench');
export const RESULTS = join(BENCH, 'results');
export const TOOLS = join(BENCH, '.tools');
export const GENESIS = '/compute/v1';
/** The demo account's token in every bench store (HANGAR_DEMO_GENESIS_TOKEN). */
export const TOKEN = 'bench0000000000000000000000000001';
export const AUTH = { authorization: `Bearer ${TOKEN}` };
export const PG_BASE = process.env.HANGAR_BENCH_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
/** Instances are created in one region with a CPU type and a base image every region has. */
export const REGION = 'EUC-DE-MUC-1';
export const CREATE_BODY = {
  name: 'bench',
  hostname: 'bench',
  type: 'vcpu-4_memory-8g',
  image: 'ubuntu-22.04',
  region: REGION,
  password: 'bench-password-0123456789',
};

/** Crusoe's API: the demo account's pinned key pair in every bench store, and a VM to create. */
export const CRUSOE = '/v1alpha5';
export const CRUSOE_KEYS = { accessKey: 'benchcrusoe0001', secret: Buffer.alloc(32, 7).toString('base64url') };
export const CRUSOE_LOCATION = 'us-east1-a';
/** An OpenSSH ed25519 public key (a fixed one: the bench never logs in). */
const BENCH_SSH_KEY = `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 9)]).toString('base64')} bench@hangar`;
export const CRUSOE_CREATE_BODY = { name: 'bench', type: 'c1a.2x', location: CRUSOE_LOCATION, ssh_public_key: BENCH_SSH_KEY };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The run's scratch folder (stores, fixtures, the bench catalog), shared with child processes. */
export const SCRATCH = process.env.HANGAR_BENCH_SCRATCH ?? join(tmpdir(), `hangar-bench-${process.pid}`);
process.env.HANGAR_BENCH_SCRATCH = SCRATCH;

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** A scratch folder for stores and fixtures, removed by the caller when it is done. */
export function scratch(name: string): string {
  const dir = join(SCRATCH, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The built-in catalog with room for a million instances: stock of 100 million per type and
 * region, and /8 address pools (the built-in /12 and /13 pools hold about a million and half
 * a million addresses). Passed to Hangar as HANGAR_GENESIS_CATALOG.
 */
export function benchCatalog(): string {
  const path = join(SCRATCH, 'catalog.json');
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const catalog = JSON.parse(readFileSync(join(ROOT, 'src/clouds/genesis/data/catalog.json'), 'utf8'));
  catalog.regions.forEach((region: Record<string, unknown>, i: number) => {
    region.private_cidr = `${10 + i}.0.0.0/8`;
    region.public_cidr = `${100 + i}.0.0.0/8`;
  });
  for (const type of catalog.instance_types) for (const region of Object.keys(type.stock)) type.stock[region] = 100_000_000;
  writeFileSync(path, JSON.stringify(catalog));
  return path;
}

/** Crusoe's built-in catalog with room for a million VMs (stock and /8 address pools). */
export function benchCrusoeCatalog(): string {
  const path = join(SCRATCH, 'crusoe-catalog.json');
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const catalog = JSON.parse(readFileSync(join(ROOT, 'src/clouds/crusoe/data/catalog.json'), 'utf8'));
  catalog.locations.forEach((location: Record<string, unknown>, i: number) => {
    location.private_cidr = `${30 + i}.0.0.0/8`;
    location.public_cidr = `${130 + i}.0.0.0/8`;
  });
  for (const type of catalog.vm_types) for (const location of Object.keys(type.stock)) type.stock[location] = 100_000_000;
  writeFileSync(path, JSON.stringify(catalog));
  return path;
}

export interface StoreSpec {
  engine: 'sqlite' | 'postgres';
  url: string;
  /** Drops the store (the PostgreSQL schema; SQLite files go with the scratch folder). */
  drop(): Promise<void>;
}

export function sqliteStore(dir: string, name = 'hangar.db'): StoreSpec {
  return { engine: 'sqlite', url: `sqlite:${join(dir, name)}`, drop: async () => undefined };
}

export function postgresStore(tag: string): StoreSpec {
  const schema = `hangar_bench_${tag}_${process.pid}`;
  return {
    engine: 'postgres',
    url: `${PG_BASE}${PG_BASE.includes('?') ? '&' : '?'}schema=${schema}`,
    async drop() {
      const client = new pg.Client({ connectionString: PG_BASE });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${schema}" cascade`);
        // (else the dropped schemas' dead rows slow every later suite: figures taken hours apart would not compare)
        const failed = await vacuumCatalogs(client);
        if (failed !== null) log(`PostgreSQL: the system catalogs could not be vacuumed (${failed})`);
      } finally {
        await client.end();
      }
    },
  };
}

export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The environment every bench Hangar runs with: authenticated, no rate limit, quiet. */
export function hangarEnv(store: StoreSpec, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HANGAR_DATABASE_URL: store.url,
    HANGAR_RATE_LIMIT: '0',
    HANGAR_LOG_LEVEL: "warn",
    HANGAR_DEMO_GENESIS_TOKEN: TOKEN,
    HANGAR_GENESIS_CATALOG: benchCatalog(),
    HANGAR_GENESIS_QUOTAS: 'instances=100000000',
    HANGAR_DEMO_CRUSOE_ACCESS_KEY: CRUSOE_KEYS.accessKey,
    HANGAR_DEMO_CRUSOE_SECRET_KEY: CRUSOE_KEYS.secret,
    HANGAR_CRUSOE_CATALOG: benchCrusoeCatalog(),
    HANGAR_SECRET_KEY: 'hangar-bench-sealing-key-0123456789',
    HANGAR_TIMINGS: process.env.HANGAR_BENCH_TIMINGS ?? 'fast',
    HOST: '127.0.0.1',
    PORT: '0',
    ...extra,
  };
}

export interface Server {
  name: string;
  url: string;
  pid: number;
  process: ChildProcess;
  /** Milliseconds from spawn to the first 200 of the probe request. */
  startupMs: number;
  stop(): Promise<void>;
}

/** Extra node flags for Hangar (e.g. --cpu-prof) from HANGAR_BENCH_NODE_FLAGS. */
function nodeFlags(): string[] {
  return (process.env.HANGAR_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
}

/**
 * Starts `node bin/hangar.js serve` (what `npm start` runs) and waits for the first 200 on
 * `probe` (an authenticated Genesis GET): that wait is the start-up time.
 */
export async function startHangar(
  name: string,
  env: Record<string, string>,
  options: { probe?: string; flags?: string[]; timeoutMs?: number; /** A command Node runs under (valgrind, say). */ wrapper?: string[] } = {},
): Promise<Server> {
  const started = performance.now();
  const [command, ...wrapped] = [...(options.wrapper ?? []), process.execPath];
  const child = spawn(command!, [...wrapped, ...nodeFlags(), ...(options.flags ?? []), process.env.HANGAR_BENCH_BIN || join(ROOT, 'bin/hangar.js'), 'serve'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await waitForLine(child, /Hangar is serving on http:\/\/[^:]+:(\d+)/, options.timeoutMs ?? 120_000, name);
  const url = `http://127.0.0.1:${port}`;
  await waitFor200(url + (options.probe ?? `${GENESIS}/instances?per_page=1`), AUTH, options.timeoutMs ?? 120_000);
  const startupMs = performance.now() - started;
  return { name, url, pid: child.pid!, process: child, startupMs, stop: () => stopProcess(child) };
}

export async function startCeiling(fixtures: string): Promise<Server> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(BENCH, 'lib/ceiling.mjs'), fixtures, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await waitForLine(child, /listening (\d+)/, 10_000, 'ceiling');
  return { name: 'ceiling', url: `http://127.0.0.1:${port}`, pid: child.pid!, process: child, startupMs: performance.now() - started, stop: () => stopProcess(child) };
}

export const PRISM_VERSION = '5.14.2';

/**
 * Installs Prism on demand into bench/.tools (kept out of the project's dependencies: it is
 * large, and its newest releases want Node 24). Returns its binary, or null when it cannot be
 * installed here (no registry, say), with the reason logged.
 */
export function ensurePrism(): string | null {
  const bin = join(TOOLS, 'node_modules/.bin/prism');
  if (existsSync(bin)) return bin;
  if (process.env.HANGAR_BENCH_NO_INSTALL === '1') {
    log('Prism is not installed in bench/.tools and HANGAR_BENCH_NO_INSTALL=1: skipping Prism');
    return null;
  }
  log(`installing @stoplight/prism-cli@${PRISM_VERSION} into bench/.tools (once)`);
  mkdirSync(TOOLS, { recursive: true });
  if (!existsSync(join(TOOLS, 'package.json'))) writeFileSync(join(TOOLS, 'package.json'), JSON.stringify({ name: 'hangar-bench-tools', private: true }) + '\n');
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `@stoplight/prism-cli@${PRISM_VERSION}`], {
    cwd: TOOLS,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.status !== 0 || !existsSync(bin)) {
    log(`Prism could not be installed, skipping it: ${(result.stderr || result.error?.message || 'unknown error').trim().split('\n').slice(-3).join(' / ')}`);
    return null;
  }
  return bin;
}

/** Prism mocking Hangar's own OpenAPI document (fetched from a running Hangar beforehand). */
export async function startPrism(bin: string, openapiFile: string): Promise<Server | null> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const started = performance.now();
  const child = spawn(bin, ['mock', '-h', '127.0.0.1', '-p', String(port), openapiFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  try {
    await waitForLine(child, /Prism is listening on/, 60_000, 'prism');
  } catch (error) {
    log(`Prism did not start, skipping it: ${(error as Error).message}`);
    await stopProcess(child);
    return null;
  }
  return { name: 'prism', url: `http://127.0.0.1:${port}`, pid: child.pid!, process: child, startupMs: performance.now() - started, stop: () => stopProcess(child) };
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number, name: string): Promise<string> {
  return new Promise((resolvePort, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${seen.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // Keep draining the pipes so the child never blocks on a full one.
        child.stdout?.resume();
        resolvePort(match[1] ?? '');
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (process.env.HANGAR_BENCH_VERBOSE === '1') process.stderr.write(`[${name}] ${chunk}`);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${seen.slice(-2000)}`));
    });
  });
}

export async function waitFor200(url: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no 200 from ${url} within ${timeoutMs} ms`);
    await sleep(5);
  }
}

export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Resident memory of a process, in MiB (VmRSS). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

export interface LoadOptions {
  url: string;
  paths: string[];
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeline?: boolean;
  /** Keep the id each response body starts with (the created resources'). */
  collectIds?: boolean;
  /** Stops the load before its duration is up (the results so far are returned). */
  signal?: AbortSignal;
  /** Signs every request with Crusoe's HMAC as it is sent. */
  crusoe?: { accessKey: string; secret: string };
  /** Makes the body's "name" unique per request. */
  uniqueNames?: boolean;
}

export interface LoadResult {
  started: number;
  duration: number;
  requests: number;
  rps: number;
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  non2xx: number;
  timeline?: [number, number][];
  ids?: string[];
}

/** Runs autocannon in a separate process and returns its figures. */
export function load(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolveResult, reject) => {
    const headers = { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
    const { signal, ...rest } = options;
    const child = spawn(process.execPath, [join(BENCH, 'lib/load-worker.mjs'), JSON.stringify({ ...rest, headers })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    signal?.addEventListener('abort', () => child.kill('SIGTERM'), { once: true });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited ${code}`));
      try {
        resolveResult(JSON.parse(out.trim().split('\n').pop()!));
      } catch (error) {
        reject(error);
      }
    });
  });
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function api(base: string, method: string, path: string, body?: unknown, auth: Record<string, string> = AUTH): Promise<{ status: number; body: any; raw: Buffer; contentType: string }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const raw = Buffer.from(await res.arrayBuffer());
  const text = raw.toString();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, raw, contentType: res.headers.get('content-type') ?? '' };
}

/** A request to Crusoe's API, signed with the demo key pair. */
export function crusoeApi(base: string, method: string, path: string, body?: unknown): ReturnType<typeof api> {
  return api(base, method, CRUSOE + path, body, crusoeHeaders(CRUSOE_KEYS, method, CRUSOE + path));
}

export const fmt = {
  int: (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a'),
  ms: (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toString()) + ' ms' : 'n/a'),
  x: (n: number) => (Number.isFinite(n) ? n.toFixed(2) + '×' : 'n/a'),
  pct: (n: number) => (Number.isFinite(n) ? (n * 100).toFixed(0) + '%' : 'n/a'),
  mib: (n: number) => (Number.isFinite(n) ? Math.round(n) + ' MiB' : 'n/a'),
  s: (n: number) => (Number.isFinite(n) ? (n / 1000).toFixed(2) + ' s' : 'n/a'),
};

/** Waits until a Hangar has no lifecycle transition left to apply (its /metrics gauge). */
export async function settle(server: Server, timeoutMs = 300_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const pending = Number(/^hangar_lifecycle_pending_transitions (\S+)$/m.exec(text)?.[1] ?? NaN);
    if (pending === 0) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${server.name}: ${pending} transitions still pending after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** CPU time a process has used so far (user + system), in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line (11 and 12 after the command name)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * CPU time (ms) of every PostgreSQL server process on this machine, those gone included as far
 * as /proc still shows them: what the database did for a load, beside Hangar's own figure.
 */
export function postgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      total += cpuMs(Number(entry));
    } catch {
      // (gone meanwhile)
    }
  }
  return total;
}

/**
 * Waits (up to `maxMs`) until the machine is quiet: other processes (a test suite running
 * beside the bench, say) busy less than `threshold` of one core over half a second. Returns
 * the busy share last seen, for the record.
 */
export async function quiesce(maxMs = quiesceBudget.ms, threshold = 0.15): Promise<number> {
  const sample = () => {
    const cpu = machineTicks();
    // (time stolen by the hypervisor is not other processes': waiting for it is no use)
    return { idle: cpu.idle + cpu.steal, total: cpu.total };
  };
  if (maxMs <= 0) return 0;
  const deadline = Date.now() + maxMs;
  let busy = 0;
  for (;;) {
    const a = sample();
    await sleep(500);
    const b = sample();
    const ticks = b.total - a.total;
    // busy share of one core (the machine has several)
    busy = ticks > 0 ? ((ticks - (b.idle - a.idle)) / ticks) * cpuCount() : 0;
    if (busy < threshold || Date.now() > deadline) return busy;
  }
}
/** The machine's CPU ticks since boot (/proc/stat), all cores together. */
function machineTicks(): { idle: number; steal: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is counted in user already)
  const first8 = cpu.slice(0, 8);
  return { idle: cpu[3]! + (cpu[4] ?? 0), steal: cpu[7] ?? 0, total: first8.reduce((a, b) => a + b, 0) };
}

/**
 * Starts measuring steal: the share of this virtual machine's CPU time the hypervisor gave to
 * other guests. The returned function gives the share since the start. On a shared host it
 * comes and goes, and it takes CPU from every process here alike while it lasts: a round
 * measured under heavy steal is slower whatever the code, which is why rounds alternate.
 */
export function stealMeter(): () => number {
  const start = machineTicks();
  return () => {
    const end = machineTicks();
    return (end.steal - start.steal) / Math.max(1, end.total - start.total);
  };
}

/** How long quiesce() waits at most (the quick run waits little). */
export const quiesceBudget = { ms: 30_000 };
function cpuCount(): number {
  return readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d/.test(l)).length || 1;
}

/**
 * A connection of the bench's own to a store, beside Hangar's: to set timers due, and to
 * count what Hangar has done, without going through the API being measured.
 */
export interface SideConnection {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function sideConnection(store: Pick<StoreSpec, 'engine' | 'url'>): Promise<SideConnection> {
  if (store.engine === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(store.url.slice('sqlite:'.length));
    db.pragma('busy_timeout = 10000');
    return {
      async query<T>(sql: string, params: unknown[] = []) {
        const statement = db.prepare(sql);
        return (statement.reader ? statement.all(...params) : (statement.run(...params), [])) as T[];
      },
      async close() {
        db.close();
      },
    };
  }
  const url = new URL(store.url);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString(), ...(schema ? { options: `-c search_path="${schema}"` } : {}) });
  await client.connect();
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      let i = 0;
      return (await client.query(sql.replace(/\?/g, () => `$${++i}`), params)).rows as T[];
    },
    async close() {
      await client.end();
    },
  };
}

/** Fills a store in a separate process (bench/fill.ts); returns the ids written, in order. */
export async function fillStore(store: Pick<StoreSpec, 'url'>, count: number, status: 'active' | 'creating', dueAt?: number): Promise<{ ids: string[]; ms: number }> {
  const idsFile = join(SCRATCH, `ids-${Date.now()}.txt`);
  mkdirSync(dirname(idsFile), { recursive: true });
  const args = ['--import', 'tsx', join(BENCH, 'fill.ts'), '--url', store.url, '--count', String(count), '--status', status, '--ids-out', idsFile];
  if (dueAt !== undefined) args.push('--due-at', String(dueAt));
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`fill failed (${result.status})`);
  const ids = readFileSync(idsFile, 'utf8').trim().split('\n');
  return { ids, ms: performance.now() - started };
}

/** `n` entries picked evenly across a list. */
export function spread<T>(items: T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(items[Math.floor((i * items.length) / n)]!);
  return out;
}

/** Peak resident memory of a process so far, in MiB (VmHWM). */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/** Prints the summary of the CPU profile a process wrote into `dir` (`--cpu-prof-dir`). */
export function summarizeProfile(dir: string, top: number, requests = 0): void {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  log(`profile: ${join(dir, file)}`);
  spawnSync(process.execPath, [join(BENCH, 'profile-summary.mjs'), join(dir, file), String(top), String(requests)], { stdio: 'inherit' });
}
