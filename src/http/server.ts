import { createServer } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyPluginAsync, type FastifyServerFactory, type RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import type { Logger as PinoLogger } from 'pino';
import type { Kernel } from '../kernel/kernel.js';
import type { CloudModule, CloudRuntime } from './cloud.js';
import { installValidators } from './validation.js';
import type { Journal } from './journal.js';
import { landingPage } from './landing.js';
import { registerConsole } from './console.js';
import { registerDocs } from './docs.js';
import { installReadCache, ReadCache } from './read-cache.js';
import type { LogFormat } from './logging.js';
import { requestMetrics } from './request-metrics.js';
import { RequestFailure } from './failures.js';
import { failureAnswers, trackEarlyAnswers } from './failure-answers.js';
import { refuseNulInParts } from './nul.js';
import type { App } from './types.js';
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
 * probes, Prometheus metrics (request-metrics.ts), answers replayed from memory
 * (read-cache.ts), and the landing page.
 */
export async function buildServer(options: ServerOptions) {
  const { kernel, clouds } = options;
  let closing = false;
  const metrics = requestMetrics({
    kernel,
    logger: options.logger,
    logFormat: options.logFormat ?? 'json',
    journal: options.journal,
    clouds: clouds.map((c) => ({ name: c.module.name, prefix: c.module.prefix })),
  });
  // Repeated reads are answered from memory where the store can tell that nothing changed (SQLite).
  const readVersion = options.readCache !== false ? kernel.store.readVersion : undefined;
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
          replayed: metrics.replayed,
        });
  const answers = failureAnswers(clouds.map((c) => ({ prefix: c.module.prefix, render: c.runtime.renderFailure })));
  const app = createApp(options, answers, readCache);
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
  trackEarlyAnswers(app);
  app.setErrorHandler((error, request, reply) => answers.reply(error, request, reply));
  acceptEmptyJson(app);
  app.decorateRequest('accountId', '');
  app.decorateRequest('replayableUntil', 0);
  app.decorateRequest('readVersion', '');
  app.decorateRequest('deferredCredential', null);
  if (readCache) installReadCache(app, readCache, { version: readVersion!, now: () => kernel.clock.now() });
  metrics.install(app);
  await routes(app, options);
  app.setNotFoundHandler((request, reply) =>
    answers.reply(new RequestFailure('not_found', 404, `${request.method} ${request.url.split('?')[0]}`), request, reply),
  );
  return app;
}

/** The Fastify instance, with Hangar's validators, its log line and its failure answers. */
function createApp(options: ServerOptions, answers: ReturnType<typeof failureAnswers>, readCache: ReadCache | null) {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Fastify's two lines per request (received, completed) are replaced by one of ours
    // (logging.ts), written where the metrics and the journal record the answer.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    requestTimeout,
    connectionTimeout: options.connectionTimeoutMs ?? 0,
    // Requests that arrive while the server closes are answered 503 by a hook of buildServer's,
    // in the body of the API they called (Fastify's own answer is in its shape).
    return503OnClosing: false,
    // A URL that does not decode, a path segment too long: answered before any route is found,
    // so in the body of the API whose prefix the path starts with.
    frameworkErrors: (error, request, reply) => answers.reply(error, request, reply),
    clientErrorHandler: (error, socket) => answers.clientError(error, socket),
    serverFactory: serving(readCache, requestTimeout),
  }).withTypeProvider<TypeBoxTypeProvider>();
  installValidators(app);
  return app;
}

/**
 * Many scripts send "Content-Type: application/json" on every call, bodyless DELETEs
 * included; an empty body is "no body", not malformed JSON.
 */
function acceptEmptyJson(app: App): void {
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
}

/** The probes, the landing page, each cloud's API under its prefix, the admin API and the reference pages. */
async function routes(app: App, options: ServerOptions): Promise<void> {
  const { kernel, clouds } = options;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await sql`select 1`.execute(kernel.db);
      return { status: 'ready' };
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', reason: (error as Error).message });
    }
  });
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(landingPage(clouds.map((c) => c.module))));

  for (const { module, runtime } of clouds) await app.register(runtime.plugin, { prefix: module.prefix });
  await app.register(options.admin, { prefix: '/admin/v1' });
  registerConsole(app);
  registerDocs(app, [
    ...clouds.map((c) => ({ name: c.module.title ?? c.module.name, url: `${c.module.prefix}/openapi.json` })),
    { name: 'Hangar admin API', url: '/admin/v1/openapi.json' },
  ]);
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
