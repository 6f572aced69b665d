import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerFactory, type RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { sql } from 'kysely';
import type { Logger as PinoLogger } from 'pino';
import type { Kernel } from '../kernel/kernel.js';
import type { CloudModule, CloudRuntime } from './cloud.js';
import { installValidators } from './validation.js';
import { ignoredFields, type Exchange, type Journal } from './journal.js';
import type { FastifyPluginAsync } from 'fastify';
import { landingPage } from './landing.js';
import { registerConsole } from './console.js';
import { registerDocs } from './docs.js';
import { ReadCache, type KeptAnswer } from './read-cache.js';
import { requestLogger, type LogFormat } from './logging.js';
import { dashboardMetrics } from './metrics.js';
import { classifyFailure, plainFailureBody, RequestFailure, type Failure } from './failures.js';
import { refuseNulInParts } from './nul.js';
import './types.js';

export interface ServerOptions {
  kernel: Kernel;
  logger: PinoLogger;
  /** How the one line per request is written (see logging.ts). */
  logFormat?: LogFormat;
  clouds: { module: CloudModule; runtime: CloudRuntime }[];
  journal: Journal;
  /** Registers the admin API (under /admin/v1). */
  admin: FastifyPluginAsync;
  /** Whether polled GETs may be answered from memory (HANGAR_READ_CACHE; the store must support it). */
  readCache?: boolean;
  /** How long a request (its headers and body) may take to arrive, in ms (0: no limit). */
  requestTimeoutMs?: number;
  /** How long a connection may stay silent, in ms (0: no limit). */
  connectionTimeoutMs?: number;
}

/**
 * Assembles the HTTP server: each cloud's plugin under its prefix, health and readiness
 * probes, Prometheus metrics, and the landing page.
 */
export async function buildServer(options: ServerOptions) {
  const { kernel, logger, logFormat = 'json', clouds, journal, admin, readCache: caching = true } = options;
  // Repeated reads are answered from memory where the store can tell that nothing changed
  // (SQLite); the routes clients poll opt in (config.cache), and the cloud's auth says until
  // when a credential's answers may be replayed (request.replayableUntil).
  const readVersion = caching ? kernel.store.readVersion : undefined;
  let closing = false;
  const readCache =
    readVersion === undefined
      ? null
      : new ReadCache({
          version: readVersion,
          // A staged fault may not fire (a probability) and then writes nothing: while one is
          // staged every GET must reach it. (Under the "reads" progression a GET writes, which
          // moves the version: nothing read in that mode is ever replayed.)
          open: () => !closing && kernel.faults.empty,
          now: () => kernel.clock.now(),
          replayed: (answer, request, startedAt) => recordReplay(answer, request, startedAt),
        });
  const answers = failureAnswers(clouds.map((c) => ({ prefix: c.module.prefix, render: c.runtime.renderFailure })));
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Fastify's two lines per request (received, completed) are replaced by one of ours
    // (logging.ts), written where the metrics and the journal record the answer.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    requestTimeout,
    connectionTimeout: options.connectionTimeoutMs ?? 0,
    // Requests that arrive while the server closes are answered 503 by the hook below, in the
    // body of the API they called (Fastify's own answer is in its shape).
    return503OnClosing: false,
    // A URL that does not decode, a path segment too long: answered before any route is found,
    // so in the body of the API whose prefix the path starts with.
    frameworkErrors: (error, request, reply) => answers.reply(error, request, reply),
    clientErrorHandler: (error, socket) => answers.clientError(error, socket),
    serverFactory: serving(readCache, requestTimeout),
  }).withTypeProvider<TypeBoxTypeProvider>();
  installValidators(app);
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new RequestFailure('unavailable', 503, 'the server is shutting down; retry shortly');
  });
  // No text the store reads or keeps may hold a NUL (PostgreSQL refuses it, SQLite would keep
  // it): path parameters and the query are checked before anything else runs, the body once read.
  app.addHook('onRequest', async (request) => refuseNulInParts(request, ['params', 'query']));
  app.addHook('preValidation', async (request) => refuseNulInParts(request, ['body']));
  // A request answered before its body arrived (refused by auth, say) keeps its connection
  // while the body trickles in; when the request timeout then cuts it off, it must not get a
  // second answer (a keep-alive client would take it for the next request's).
  app.addHook('onResponse', async (request) => {
    if (!request.raw.complete) answeredEarly.add(request.raw.socket);
    else answeredEarly.delete(request.raw.socket);
  });
  app.setErrorHandler((error, request, reply) => answers.reply(error, request, reply));
  // Many scripts send "Content-Type: application/json" on every call, bodyless DELETEs
  // included; an empty body is "no body", not malformed JSON.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    // Kept for the journal (which cuts and redacts it), as it came over the wire.
    request.journalBody = text;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(Object.assign(new SyntaxError((error as Error).message), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined);
    }
  });
  app.decorateRequest('accountId', '');
  app.decorateRequest('replayableUntil', 0);
  app.decorateRequest('readVersion', '');
  app.decorateRequest('journalBody', null);
  app.decorateRequest('journalAnswer', null);
  // The answer as sent, for the journal's detail (a reference: cut and redacted only if recorded).
  if (journal.keeps) {
    app.addHook('onSend', async (request, _reply, payload) => {
      if (typeof payload === 'string' || Buffer.isBuffer(payload)) request.journalAnswer = payload;
      return payload;
    });
  }
  if (readCache) {
    // The version is taken before the request reads anything: a write that lands while it
    // runs makes its answer out of date before it is kept.
    app.addHook('onRequest', async (request) => {
      if (request.routeOptions.config.cache === true && request.method === 'GET') request.readVersion = readVersion!();
    });
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.readVersion === '' || reply.statusCode !== 200 || request.replayableUntil <= kernel.clock.now()) return payload;
      if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
      readCache.keep(request.raw, {
        version: request.readVersion,
        until: request.replayableUntil,
        body: Buffer.from(payload),
        contentType: String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8'),
        route: request.routeOptions.url ?? 'unmatched',
        account: request.accountId,
      });
      return payload;
    });
  }

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hangar_' });
  // Replays are counted per route in plain numbers and folded into the counters when these are
  // read: prom-client checks and hashes the labels on every increment, which cost a replay as
  // much as its own answering did.
  const tallies = new Map<string, ReplayTally>();
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
  new Gauge({
    name: 'hangar_lifecycle_pending_transitions',
    help: 'Lifecycle transitions scheduled and not yet applied',
    registers: [registry],
    async collect() {
      this.set(await kernel.lifecycle.pending());
    },
  });
  const poolStats = kernel.store.poolStats;
  if (poolStats) {
    new Gauge({
      name: 'hangar_database_connections',
      help: 'PostgreSQL pool connections by state (waiting: requests queued for a free connection)',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const stats = poolStats();
        this.set({ state: 'open' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
  }
  const prefixes = clouds.map((c) => ({ name: c.module.name, prefix: c.module.prefix }));
  // Each metric's labelled series, kept by its label values: labelling per answer (prom-client
  // validates and hashes the labels each time) cost as much as the rest of a replay's bookkeeping.
  const series = new Map<string, unknown>();
  function seriesOf<T>(key: string, make: () => T): T {
    let found = series.get(key) as T | undefined;
    if (found === undefined) {
      found = make();
      series.set(key, found);
    }
    return found;
  }
  const cloudOf = (path: string) => prefixes.find((p) => path.startsWith(p.prefix))?.name ?? null;
  const logRequest = requestLogger(logger, logFormat);
  const dashboard = dashboardMetrics(registry, kernel);
  /** Counts an answer in the metrics and, for a cloud's API, records it in the journal. */
  function recordAnswer(answer: { method: string; path: string; route: string | null; status: number; account: string; ms: number; ignored: () => string[]; exchange: () => Exchange }): void {
    const { method, status } = answer;
    const route = answer.route ?? 'unmatched';
    seriesOf(`requests ${method} ${route} ${status}`, () => requests.labels(method, route, String(status))).inc();
    seriesOf(`latency ${method} ${route}`, () => latency.labels(method, route)).observe(answer.ms / 1000);
    const cloud = cloudOf(answer.path);
    dashboard.request(answer.account, cloud);
    logRequest(method, answer.path, status, answer.ms, answer.account, cloud ?? (answer.path.startsWith('/admin/') ? 'admin' : ''));
    if (cloud === null) return;
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
  }
  /** A replayed answer counts like any other (and in the replay counter too). */
  function recordReplay(answer: KeptAnswer, request: IncomingMessage, startedAt: bigint): void {
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
    journal.record({
      at: kernel.clock.now(),
      cloud: tally.cloud,
      method: 'GET',
      path: request.url ?? '',
      route: answer.route,
      account: answer.account || null,
      status: 200,
      latency_ms: Math.round(ms * 1000) / 1000,
      ignored_fields: [],
      exchange: journal.keeps ? { headers: request.headers, responseBody: answer.body, responseType: answer.contentType } : undefined,
    });
  }
  app.addHook('onResponse', async (request, reply) => {
    recordAnswer({
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

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await sql`select 1`.execute(kernel.db);
      return { status: 'ready' };
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', reason: (error as Error).message });
    }
  });
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(landingPage(clouds.map((c) => c.module))));

  for (const { module, runtime } of clouds) await app.register(runtime.plugin, { prefix: module.prefix });
  await app.register(admin, { prefix: '/admin/v1' });
  registerConsole(app);
  registerDocs(app, [
    ...clouds.map((c) => ({ name: c.module.title ?? c.module.name, url: `${c.module.prefix}/openapi.json` })),
    { name: 'Hangar admin API', url: '/admin/v1/openapi.json' },
  ]);

  app.setNotFoundHandler((request, reply) =>
    answers.reply(new RequestFailure('not_found', 404, `${request.method} ${request.url.split('?')[0]}`), request, reply),
  );
  return app;
}

type Render = (failure: Failure) => { status: number; body: unknown };

/**
 * Answers failures that no cloud's plugin handles (no route matched, the URL did not decode,
 * a request timed out, the server is closing): in the error body of the cloud whose prefix the
 * path is under (the prefix's first segment is enough: `/compute/` is Genesis's, as a client
 * normalising `/compute/v1/%2e%2e` sends it), and in Hangar's own `{code, message}` elsewhere.
 */
/** Connections whose current request was answered before its body had arrived (see the onResponse hook). */
const answeredEarly = new WeakSet<Socket>();

function failureAnswers(clouds: { prefix: string; render: Render }[]) {
  const bySegment = new Map(clouds.map((c) => [firstSegment(c.prefix), c.render]));
  const renderAt = (url: string | undefined, failure: Failure) => {
    const render = url === undefined ? undefined : bySegment.get(firstSegment(url));
    return render ? render(failure) : { status: failure.status, body: plainFailureBody(failure) };
  };
  return {
    reply(error: unknown, request: FastifyRequest, reply: FastifyReply) {
      const failure = classifyFailure(error);
      if (failure.kind === 'internal') request.log.error({ err: error }, 'request failed');
      const { status, body } = renderAt(request.raw.url, failure);
      return reply.code(status).send(body);
    },
    /**
     * A connection's trouble outside any request Fastify handles: a request that did not arrive
     * within the timeout, headers too large, bytes that are not HTTP. When a request's headers
     * were read, its URL says which API's body to answer in.
     */
    clientError(error: Error & { code?: string }, socket: Socket) {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const failure: Failure =
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? { kind: 'timeout', status: 408, message: 'the request did not arrive in full within the request timeout' }
          : error.code === 'HPE_HEADER_OVERFLOW'
            ? { kind: 'too_large', status: 431, message: 'the request headers are too large' }
            : { kind: 'malformed', status: 400, message: 'the request is not valid HTTP' };
      const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
      if (socket.writable && !pending?.headersSent && !answeredEarly.has(socket)) {
        const { status, body } = renderAt(pending?.req?.url, failure);
        const text = JSON.stringify(body);
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
        );
      }
      socket.destroy(error);
    },
  };
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

function firstSegment(url: string): string {
  const path = url.split('?')[0]!;
  return path.split('/')[1] ?? '';
}

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
 * The server Fastify would make itself, with the kept answers (if any) looked up before
 * Fastify's handler, and the request timeout checked often enough to hold: Node looks for
 * requests that overran it every `connectionsCheckingInterval` (30 s by default, which would
 * add up to 30 s to a short timeout).
 */
function serving(readCache: ReadCache | null, requestTimeout: number): FastifyServerFactory<RawServerDefault> {
  return (handler, options) => {
    const headersTimeout = requestTimeout === 0 ? 60_000 : Math.min(60_000, requestTimeout);
    const connectionsCheckingInterval = requestTimeout === 0 ? 30_000 : Math.min(30_000, Math.max(50, Math.floor(requestTimeout / 4)));
    const server = createServer(
      { requestTimeout, headersTimeout, connectionsCheckingInterval },
      readCache === null
        ? handler
        : (request, response) => {
            if (!readCache.serve(request, response)) handler(request, response);
          },
    );
    const timeouts = options as { keepAliveTimeout?: number; connectionTimeout?: number };
    server.keepAliveTimeout = timeouts.keepAliveTimeout ?? 72_000;
    server.setTimeout(timeouts.connectionTimeout ?? 0);
    return server;
  };
}
