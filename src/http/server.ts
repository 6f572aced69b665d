import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { sql } from 'kysely';
import type { Logger as PinoLogger } from 'pino';
import type { Kernel } from '../kernel/kernel.js';
import type { CloudModule, CloudRuntime } from './cloud.js';
import { installValidators } from './validation.js';
import { ignoredFields, type Journal } from './journal.js';
import type { FastifyPluginAsync } from 'fastify';
import { landingPage } from './landing.js';
import './types.js';

export interface ServerOptions {
  kernel: Kernel;
  logger: PinoLogger;
  clouds: { module: CloudModule; runtime: CloudRuntime }[];
  journal: Journal;
  /** Registers the admin API (under /admin/v1). */
  admin: FastifyPluginAsync;
}

/**
 * Assembles the HTTP server: each cloud's plugin under its prefix, health and readiness
 * probes, Prometheus metrics, and the landing page.
 */
export async function buildServer({ kernel, logger, clouds, journal, admin }: ServerOptions) {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One log line per request costs more than the request itself; the journal and the
    // metrics say what happened instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();
  installValidators(app);
  // Many scripts send "Content-Type: application/json" on every call, bodyless DELETEs
  // included; an empty body is "no body", not malformed JSON.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(Object.assign(new SyntaxError((error as Error).message), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined);
    }
  });
  app.decorateRequest('accountId', '');

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hangar_' });
  const requests = new Counter({
    name: 'hangar_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'hangar_http_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  new Gauge({
    name: 'hangar_lifecycle_pending_transitions',
    help: 'Lifecycle transitions scheduled and not yet applied',
    registers: [registry],
    async collect() {
      this.set(await kernel.lifecycle.pending());
    },
  });
  const prefixes = clouds.map((c) => ({ name: c.module.name, prefix: c.module.prefix }));
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    const cloud = prefixes.find((p) => request.url.startsWith(p.prefix));
    if (cloud) {
      journal.record({
        at: new Date(kernel.clock.now()).toISOString(),
        cloud: cloud.name,
        method: request.method,
        path: request.url,
        route: request.routeOptions.url ?? null,
        account: request.accountId || null,
        status: reply.statusCode,
        latency_ms: Math.round(reply.elapsedTime * 1000) / 1000,
        ignored_fields: ignoredFields(request.body, (request.routeOptions.schema as { body?: unknown } | undefined)?.body),
      });
    }
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

  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not found', path: request.url.split('?')[0] }));
  return app;
}
