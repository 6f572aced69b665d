import { timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ERROR_MEANINGS, OpenApiCollector, type OperationShape } from '../http/openapi.js';
import type { App } from '../http/types.js';
import { classifyFailure, plainFailureBody } from '../http/failures.js';
import { StateConflict, StateError } from '../kernel/state.js';
import { accountRoutes } from './accounts.js';
import { apiSwitchRoutes } from './api-switches.js';
import { clockRoutes } from './clock.js';
import { AdminError, invalid, notFound, type AdminDeps } from './common.js';
import { consoleRoutes } from './console-routes.js';
import { demoRoutes } from './demo.js';
import { faultRoutes } from './faults.js';
import { journalRoutes } from './journal.js';
import { lifecycleRoutes } from './lifecycle.js';
import { reservationRoutes } from './reservations.js';
import { resetRoutes, stateRoutes } from './state.js';
import { capacityRoutes, quotaRoutes } from './stock.js';

export { AdminError, type AdminDeps } from './common.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * The emulator controls under /admin/v1: accounts, reset, the clock, lifecycle progression,
 * faults, stock and quotas, state export/import, and the request journal. Bearer
 * HANGAR_ADMIN_TOKEN when set; without it, only callers on a loopback address get in.
 */
export function adminPlugin(deps: AdminDeps): FastifyPluginAsync {
  const expected = deps.adminToken === null ? null : Buffer.from(`Bearer ${deps.adminToken}`);

  return async (scope: FastifyInstance) => {
    const app = scope as unknown as App;

    const openapi = new OpenApiCollector('/admin/v1', {
      title: 'Hangar admin API',
      version: 'v1',
      description: 'The emulator controls: accounts, reset, the clock, lifecycle progression, faults, stock and quotas, state export and import, the request journal.',
      serverUrl: '/admin/v1',
      securitySchemes: { AdminToken: { type: 'http', scheme: 'bearer', description: 'HANGAR_ADMIN_TOKEN; without it set, the admin API answers only on a loopback address' } },
      security: [{ AdminToken: [] }, {}],
      errorSchema: Type.Object({ code: Type.String(), message: Type.String() }),
      errors: adminErrors,
    });
    openapi.collect(app);

    app.addHook('onRequest', async (request) => {
      if (request.routeOptions.config.doc?.public) return;
      if (expected === null) {
        if (!LOOPBACK.has(request.socket.remoteAddress ?? '')) {
          throw new AdminError(403, 'forbidden', 'the admin API answers only on loopback unless HANGAR_ADMIN_TOKEN is set');
        }
        return;
      }
      const presented = Buffer.from(request.headers.authorization ?? '');
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
        throw new AdminError(401, 'unauthorized', 'send "Authorization: Bearer <HANGAR_ADMIN_TOKEN>"');
      }
    });
    // A control call with nothing to say may come without a body (`curl -X POST …/admin/v1/reset`):
    // that is an empty object, not a malformed request.
    app.addHook('preValidation', async (request) => {
      if (request.body === undefined && (request.method === 'POST' || request.method === 'PUT')) request.body = {};
    });
    app.setErrorHandler((error: FastifyError | AdminError, request, reply) => {
      if (error instanceof AdminError) return reply.code(error.statusCode).send({ code: error.code, message: error.message });
      if (error instanceof StateConflict) return reply.code(409).send({ code: 'conflict', message: error.message });
      if (error instanceof StateError) return reply.code(400).send({ code: 'invalid_state', message: error.message });
      // Everything else as every API classifies it: a database outage is a 503, not a bad request.
      const failure = classifyFailure(error);
      if (failure.kind === 'internal') request.log.error({ err: error }, 'admin request failed');
      return reply.code(failure.status).send(plainFailureBody(failure));
    });
    app.setNotFoundHandler((request, reply) =>
      reply.code(404).send({ code: 'not_found', message: `no admin route ${request.method} ${request.url.split('?')[0]}` }),
    );

    openapi.serve(app);

    accountRoutes(app, deps);
    quotaRoutes(app, deps);
    demoRoutes(app, deps);
    apiSwitchRoutes(app, deps);
    resetRoutes(app, deps);
    clockRoutes(app, deps);
    lifecycleRoutes(app, deps);
    faultRoutes(app, deps);
    capacityRoutes(app, deps);
    reservationRoutes(app, deps);
    stateRoutes(app, deps);
    journalRoutes(app, deps);

    // --- the console's reads: fleet, one resource, pending transitions, events ------------
    consoleRoutes(app, { kernel: deps.kernel, journal: deps.journal, clouds: deps.clouds, demo: deps.demo, fleet: deps.fleet ?? [], projects: deps.projects ?? (async () => []), usage: deps.usage ?? [], notFound, invalid });
  };
}

/** The error statuses of an admin operation. */
function adminErrors(operation: OperationShape): Record<number, string> {
  const errors: Record<number, string> = {
    401: 'Unauthorized: HANGAR_ADMIN_TOKEN is set and the request did not send it as a Bearer token',
    403: 'Forbidden: HANGAR_ADMIN_TOKEN is not set and the caller is not on a loopback address',
  };
  if (operation.takesInput || operation.method !== 'GET') errors[400] = ERROR_MEANINGS[400];
  if (operation.path.includes('{') || operation.path === '/demo') errors[404] = ERROR_MEANINGS[404];
  if (operation.path === '/state' && operation.method === 'PUT') errors[409] = 'Conflict: the document does not fit this store';
  return errors;
}
