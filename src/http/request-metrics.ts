import type { IncomingMessage } from 'node:http';
import type { Logger as PinoLogger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Kernel } from '../kernel/kernel.js';
import { ignoredFields, type Exchange, type Journal } from './journal.js';
import { requestLogger, type LogFormat } from './logging.js';
import { dashboardMetrics } from './metrics.js';
import type { KeptAnswer } from './read-cache.js';
import type { App } from './types.js';

export interface RequestMetricsOptions {
  kernel: Kernel;
  logger: PinoLogger;
  logFormat: LogFormat;
  journal: Journal;
  /** The clouds' prefixes, so an answer is journalled and counted as its cloud's. */
  clouds: { name: string; prefix: string }[];
}

/** An answer as the metrics, the log and the journal record it. */
interface Answer {
  method: string;
  path: string;
  route: string | null;
  status: number;
  account: string;
  ms: number;
  ignored: () => string[];
  /** What was sent and answered, for the journal's detail (asked only when the journal keeps entries). */
  exchange: () => Exchange;
}

/** Labelled series made once and found again by key. */
function seriesCache(): <T>(key: string, make: () => T) => T {
  const series = new Map<string, unknown>();
  return <T>(key: string, make: () => T): T => {
    let found = series.get(key) as T | undefined;
    if (found === undefined) {
      found = make();
      series.set(key, found);
    }
    return found;
  };
}

const noFields = (): string[] => [];

/** What a route's replays add to the metrics; see `tallies`. */
interface ReplayTally {
  route: string;
  /** The cloud whose API the route is part of, for the journal (null: not a cloud's). */
  cloud: string | null;
  /** Replays not yet added to hangar_http_requests_total and hangar_http_replayed_total. */
  unfolded: { requests: number; replays: number };
  latency: { observe(seconds: number): void };
}

/**
 * Every answer, counted: Prometheus metrics (served at /metrics), the one log line per request,
 * and, for a cloud's API, the request journal. `install` hooks it into the server; `replayed`
 * records an answer the read cache gave before the framework saw the request.
 */
export function requestMetrics(options: RequestMetricsOptions) {
  const { kernel, journal, clouds } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hangar_' });
  // Replays are counted per route in plain numbers and folded into the counters when these are
  // read: prom-client checks and hashes the labels on every increment, which would make a
  // replay's bookkeeping cost as much as its answering.
  const tallies = new Map<string, ReplayTally>();
  const { requests, latency } = httpMetrics(registry, kernel, tallies);
  // Each metric's labelled series, kept by its label values, for the same reason.
  const seriesOf = seriesCache();
  const cloudOf = (path: string) => clouds.find((p) => path.startsWith(p.prefix))?.name ?? null;
  const logRequest = requestLogger(options.logger, options.logFormat);
  const dashboard = dashboardMetrics(registry, kernel);
  const journalled = (cloud: string, answer: Answer) =>
    journal.record({
      at: kernel.clock.now(),
      cloud,
      method: answer.method,
      path: answer.path,
      route: answer.route,
      account: answer.account || null,
      status: answer.status,
      latency_ms: Math.round(answer.ms * 1000) / 1000,
      ignored_fields: answer.ignored(),
      exchange: journal.keeps ? answer.exchange() : undefined,
    });

  /** Counts an answer in the metrics and, for a cloud's API, records it in the journal. */
  function answered(answer: Answer): void {
    const { method, status } = answer;
    const route = answer.route ?? 'unmatched';
    seriesOf(`requests ${method} ${route} ${status}`, () => requests.labels(method, route, String(status))).inc();
    seriesOf(`latency ${method} ${route}`, () => latency.labels(method, route)).observe(answer.ms / 1000);
    const cloud = cloudOf(answer.path);
    dashboard.request(answer.account, cloud);
    logRequest(method, answer.path, status, answer.ms, answer.account, cloud ?? (answer.path.startsWith('/admin/') ? 'admin' : ''));
    if (cloud !== null) journalled(cloud, answer);
  }

  /** A replayed answer counts like any other (and in the replay counter too). */
  function replayed(answer: KeptAnswer, request: IncomingMessage, startedAt: bigint): void {
    let tally = tallies.get(answer.route);
    if (tally === undefined) {
      tally = { route: answer.route, cloud: cloudOf(answer.route), unfolded: { requests: 0, replays: 0 }, latency: latency.labels('GET', answer.route) };
      tallies.set(answer.route, tally);
    }
    tally.unfolded.requests++;
    tally.unfolded.replays++;
    const ms = Number(process.hrtime.bigint() - startedAt) / 1e6;
    tally.latency.observe(ms / 1000);
    dashboard.request(answer.account, tally.cloud);
    logRequest('GET', request.url ?? '', 200, ms, answer.account, tally.cloud ?? '');
    if (tally.cloud === null) return;
    // (the raw header lines: a replay never builds request.headers, which costs it much)
    const exchange = () => ({ headers: request.rawHeaders, responseBody: answer.body, responseType: answer.contentType });
    journalled(tally.cloud, { method: 'GET', path: request.url ?? '', route: answer.route, status: 200, account: answer.account, ms, ignored: noFields, exchange });
  }

  const install = (app: App) => installHooks(app, journal, registry, answered);

  return { registry, replayed, install };
}

/** Counts every answer the framework gives (`answered`), and keeps what was sent for the journal's detail; serves /metrics. */
function installHooks(app: App, journal: Journal, registry: Registry, answered: (answer: Answer) => void): void {
  app.addHook('onResponse', async (request, reply) => {
    answered({
      method: request.method,
      path: request.url,
      route: request.routeOptions.url ?? null,
      status: reply.statusCode,
      account: request.accountId,
      ms: reply.elapsedTime,
      ignored: () => ignoredFields(request.body, (request.routeOptions.schema as { body?: unknown } | undefined)?.body),
      exchange: () => ({
        headers: request.headers,
        requestBody: request.journalBody,
        requestType: request.headers['content-type'] ?? null,
        responseBody: request.journalAnswer,
        responseType: String(reply.getHeader('content-type') ?? '') || null,
      }),
    });
  });
  // The answer as sent, for the journal's detail (a reference: cut and redacted only if recorded).
  app.decorateRequest('journalBody', null);
  app.decorateRequest('journalAnswer', null);
  if (journal.keeps) {
    app.addHook('onSend', async (request, _reply, payload) => {
      if (typeof payload === 'string' || Buffer.isBuffer(payload)) request.journalAnswer = payload;
      return payload;
    });
  }
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}

/** The HTTP and store metrics: requests and their latency, replays, pending transitions, pool connections. */
function httpMetrics(registry: Registry, kernel: Kernel, tallies: Map<string, ReplayTally>) {
  const requests = new Counter({
    name: 'hangar_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
    collect() {
      for (const tally of tallies.values()) {
        if (tally.unfolded.requests === 0) continue;
        this.inc({ method: 'GET', route: tally.route, status: '200' }, tally.unfolded.requests);
        tally.unfolded.requests = 0;
      }
    },
  });
  const latency = new Histogram({
    name: 'hangar_http_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  new Counter({
    name: 'hangar_http_replayed_total',
    help: 'GET answers replayed from memory because nothing they were read from had changed (counted in hangar_http_requests_total too)',
    labelNames: ['route'] as const,
    registers: [registry],
    collect() {
      for (const tally of tallies.values()) {
        if (tally.unfolded.replays === 0) continue;
        this.inc({ route: tally.route }, tally.unfolded.replays);
        tally.unfolded.replays = 0;
      }
    },
  });
  storeMetrics(registry, kernel);
  return { requests, latency };
}

function storeMetrics(registry: Registry, kernel: Kernel): void {
  new Gauge({
    name: 'hangar_lifecycle_pending_transitions',
    help: 'Lifecycle transitions scheduled and not yet applied',
    registers: [registry],
    async collect() {
      this.set(await kernel.lifecycle.pending());
    },
  });
  const poolStats = kernel.store.poolStats;
  if (!poolStats) return;
  new Gauge({
    name: 'hangar_database_connections',
    help: 'PostgreSQL connections by state (open, idle: the pool\'s; waiting: requests queued for a free one; shared: open connections kept for reads shared by every request)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const stats = poolStats();
      this.set({ state: 'open' }, stats.total);
      this.set({ state: 'idle' }, stats.idle);
      this.set({ state: 'waiting' }, stats.waiting);
      this.set({ state: 'shared' }, stats.shared);
    },
  });
}
