import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { clouds as allClouds } from './clouds/index.js';
import type { Config } from './config.js';
import type { CloudModule, CloudRuntime } from './http/cloud.js';
import { buildServer } from './http/server.js';
import { createLogger } from './http/logging.js';
import { Journal } from './http/journal.js';
import { adminPlugin } from './admin/routes.js';
import type { Clock } from './kernel/clock.js';
import { Kernel } from './kernel/kernel.js';
import { createFabric, type Fabric } from './fabric/index.js';

export interface HangarOptions {
  clock?: Clock;
  logger?: Logger;
  clouds?: readonly CloudModule[];
}

export interface Hangar {
  readonly kernel: Kernel;
  readonly app: Awaited<ReturnType<typeof buildServer>>;
  /** The demo account's id and its credentials per cloud, as far as they are known (renewed by a reset). */
  demo: { accountId: string | null; credentials: Record<string, Record<string, unknown>> };
  readonly journal: Journal;
  /** What running instances are: rows only (simulated) or machines (sandbox; see src/fabric). */
  readonly fabric: Fabric;
  /** An account with credentials for every cloud: `{id, name, genesis: {...}, crusoe: {...}}`. */
  createAccount(name: string): Promise<Record<string, unknown>>;
  /**
   * Back to an empty store with the catalog and the demo account, which keeps its id, project
   * and credentials (those printed at start-up stay valid) unless `renewDemo` asks for new ones.
   */
  reset(seed?: string | null, freezeAt?: number | null, renewDemo?: boolean): Promise<void>;
  /** Base URL once listening. */
  url: string;
  listen(): Promise<string>;
  banner(): string[];
  close(): Promise<void>;
}

export const DEMO_ACCOUNT_NAME = 'demo';

/**
 * Builds a complete Hangar (store, kernel, every cloud, HTTP server) without listening yet.
 * `npm start`, the CLI and the tests all come through here.
 */
export async function createHangar(config: Config, options: HangarOptions = {}): Promise<Hangar> {
  const logger = options.logger ?? createLogger(config.logLevel, config.logFormat);
  const kernel = await openKernel(config, logger, options.clock);
  let fabric: Fabric | null = null;
  try {
    fabric = await createFabric(config, kernel, logger);
    // Public addresses the host can reach (and the port their SSH answers on), before any pool is made.
    if (config.fabric.kind === 'sandbox') kernel.ipam.usePublicRange(config.fabric.publicCidr, fabric.sshPort);
    const runtimes: { module: CloudModule; runtime: CloudRuntime }[] = [];
    for (const module of options.clouds ?? allClouds) runtimes.push({ module, runtime: await module.setup(kernel, config) });

    await kernel.seed();
    const demo = await kernel.store.exclusive('bootstrap', () => ensureDemoAccount(kernel, config, runtimes));
    await kernel.start();
    await fabric.start();
    const journal = new Journal(config.journalSize);
    const createAccount = (name: string) => accountCreator(kernel, name);
    const reset = async (seed: string | null = null, freezeAt: number | null = null, renewDemo = false) => {
      const { accountId, credentials } = hangar.demo;
      const previous = !renewDemo && accountId !== null ? { accountId, clouds: credentials } : undefined;
      await kernel.reset(seed, freezeAt);
      hangar.demo = await kernel.store.exclusive('bootstrap', () => ensureDemoAccount(kernel, config, runtimes, previous));
      await hangar.fabric.resync();
    };
    const served = runtimes.map(({ module }) => ({ name: module.name, prefix: module.prefix }));
    const admin = adminPlugin({ kernel, journal, adminToken: config.adminToken, clouds: served, createAccount, reset, demo: () => hangar.demo, fleet: runtimes.flatMap(({ runtime }) => runtime.fleet ?? []), usage: runtimes.flatMap(({ module, runtime }) => (runtime.usage ? [{ cloud: module.name, usage: runtime.usage }] : [])), projects: async (accountId) => (await Promise.all(runtimes.map(({ runtime }) => runtime.projects?.(accountId) ?? []))).flat() });
    const app = await buildServer({
      kernel,
      logger,
      logFormat: config.logFormat,
      clouds: runtimes,
      journal,
      admin,
      readCache: config.readCache,
      requestTimeoutMs: config.requestTimeoutMs,
      connectionTimeoutMs: config.connectionTimeoutMs,
    });
    await app.ready();

    const hangar: Hangar = {
      kernel,
      app,
      demo,
      journal,
      fabric,
      createAccount,
      reset,
      url: '',
      async listen() {
        await app.listen({ host: config.host, port: config.port });
        const address = app.server.address();
        const port = typeof address === 'object' && address ? address.port : config.port;
        const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
        hangar.url = `http://${host}:${port}`;
        return hangar.url;
      },
      banner: () => bannerLines(config, hangar, runtimes),
      async close() {
        // Stop accepting, let requests in flight finish, and close keep-alive connections as
        // they fall idle (a client holding one open must not keep a stopping server alive).
        const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
        }
        await hangar.fabric.close();
        await kernel.close();
        for (const { runtime } of runtimes) await runtime.close?.();
      },
    };
    return hangar;
  } catch (error) {
    await fabric?.close();
    await kernel.close();
    throw error;
  }
}

/** A new account with its credentials for every cloud, as the admin API answers it. */
async function accountCreator(kernel: Kernel, name: string) {
  const { account, clouds } = await kernel.tenancy.create(name);
  return { id: account.id, name: account.name, ...clouds };
}

/** The kernel over the configured store. */
function openKernel(config: Config, logger: Logger, clock: HangarOptions['clock']): Promise<Kernel> {
  return Kernel.open({
    databaseUrl: config.databaseUrl,
    timings: config.timings,
    clock,
    idSeed: config.idSeed,
    secretKey: config.secretKey,
    pool: {
      size: config.databasePoolSize,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      queueTimeoutMs: config.databaseQueueTimeoutMs,
      queueLimit: config.databaseQueueLimit,
      namedStatements: config.databaseNamedStatements,
    },
    groupCommit: config.databaseGroupCommit,
    log: logger,
  });
}

/** What the server prints as it starts: where it serves, the admin API, each cloud's demo credentials. */
function bannerLines(config: Config, hangar: Hangar, runtimes: { module: CloudModule; runtime: CloudRuntime }[]): string[] {
  const admin = config.adminToken === null ? 'loopback only; HANGAR_ADMIN_TOKEN opens it to the network' : 'send Authorization: Bearer $HANGAR_ADMIN_TOKEN';
  const lines = [
    `Hangar is serving on ${hangar.url}  (store: ${hangar.kernel.store.location}; timings: ${config.timings})`,
    `Console             ${hangar.url}/console/`,
    `API reference       ${hangar.url}/docs`,
    `Admin API           ${hangar.url}/admin/v1   (${admin})`,
    `  cli               npx hangar demo | reset | clock advance 5m | faults add …   (run here it finds this server; elsewhere set:)`,
    `  HANGAR_URL=${hangar.url}`,
  ];
  for (const { module, runtime } of runtimes) lines.push(...(runtime.banner?.(hangar.demo.credentials[module.name] ?? {}, hangar.url) ?? []));
  lines.push(...hangar.fabric.banner());
  return lines;
}

/**
 * On an empty store, creates the demo account (as it was before a reset, given `previous`) and
 * keeps its credentials beside an SQLite file store (credentials are stored hashed, so they
 * could not be shown again otherwise). On a
 * store that has accounts, adds credentials pinned by the environment.
 */
async function ensureDemoAccount(
  kernel: Kernel,
  config: Config,
  runtimes: { module: CloudModule; runtime: CloudRuntime }[],
  previous?: { accountId: string; clouds: Record<string, Record<string, unknown>> },
) {
  const file = demoFile(config.databaseUrl);
  if ((await kernel.tenancy.count()) === 0) {
    const { account, clouds } = await kernel.tenancy.create(DEMO_ACCOUNT_NAME, { demo: true, previous });
    if (file) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ account_id: account.id, ...clouds }, null, 2), { mode: 0o600 });
    }
    return { accountId: account.id, credentials: clouds };
  }
  let saved: Record<string, any> = {};
  if (file) {
    try {
      saved = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      saved = {};
    }
  }
  const accountId: string | null = saved.account_id ?? (await kernel.tenancy.findByName(DEMO_ACCOUNT_NAME))?.id ?? null;
  const credentials: Record<string, Record<string, unknown>> = {};
  for (const { module, runtime } of runtimes) {
    const pinned = accountId && runtime.pinDemoCredentials ? await runtime.pinDemoCredentials(accountId) : null;
    credentials[module.name] = pinned ?? saved[module.name] ?? {};
  }
  return { accountId, credentials };
}

function demoFile(databaseUrl: string): string | null {
  if (!databaseUrl.startsWith('sqlite:')) return null;
  const path = databaseUrl.slice('sqlite:'.length);
  if (path === '' || path === ':memory:') return null;
  return join(dirname(resolve(path)), 'demo-credentials.json');
}
