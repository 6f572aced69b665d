import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ERROR_MEANINGS, OpenApiCollector, type OperationShape } from '../../http/openapi.js';
import type { App } from '../../http/types.js';
import { classifyFailure, type Failure } from '../../http/failures.js';
import { CrusoeError, Reason, reasonForStatus } from './errors.js';
import { CLOUD } from './model/context.js';
import type { CrusoeModel } from './model/index.js';
import { catalogRoutes } from './routes/catalog.js';
import { groupRoutes } from './routes/groups.js';
import { networkingRoutes } from './routes/networking.js';
import { storageRoutes } from './routes/storage.js';
import { usageRoutes } from './routes/usage.js';
import { organizationRoutes } from './routes/organizations.js';
import { quotaRoutes } from './routes/quotas.js';
import { templateRoutes } from './routes/templates.js';
import { userRoutes } from './routes/users.js';
import { vmRoutes } from './routes/vms.js';
import { ErrorBody } from './wire.js';
import { dropGoZeroValues } from './zero-values.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers errors as grpc-gateway's rpcStatus (`{code: <int>, message, details}`), as the spec says of it. */
    grpcErrors?: boolean;
  }
}

export const PREFIX = '/v1alpha5';
const PROJECT_SCOPED = `${PREFIX}/projects/:project_id`;

/**
 * The Crusoe Cloud API v1alpha5 as a Fastify plugin: requests signed with the account's
 * access key (HMAC-SHA256, as the official clients sign them), project membership checked
 * before any project-scoped route runs, the Crusoe error body for every failure, and the
 * OpenAPI document generated from the routes' own schemas.
 */
export function crusoePlugin(model: CrusoeModel): FastifyPluginAsync {
  return async (scope: FastifyInstance) => {
    const app = scope as unknown as App;
    const openapi = new OpenApiCollector(PREFIX, {
      title: 'Crusoe Cloud API Gateway (served by Hangar)',
      version: 'v1alpha5',
      serverUrl: PREFIX,
      securitySchemes: {
        CrusoeSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'Bearer 1.0:<access key>:<base64url HMAC-SHA256 of "<path>\\n<canonical query>\\n<METHOD>\\n<X-Crusoe-Timestamp>\\n" keyed with the base64url-decoded secret>; send X-Crusoe-Timestamp (RFC 3339) too',
        },
      },
      security: [{ CrusoeSignature: [] }],
      errorSchema: ErrorBody,
      otherErrorSchemas: { RpcStatus: RpcStatusBody },
      errorSchemaOf: (config) => (config.grpcErrors === true ? 'RpcStatus' : undefined),
      errors: crusoeErrors,
    });
    openapi.collect(app);

    app.addHook('onRequest', async (request) => {
      if (request.is404 || request.routeOptions.config.doc?.public) return;
      const { accountId } = await model.tokens.authenticate({
        method: request.method,
        url: request.raw.url ?? request.url,
        authorization: request.headers.authorization,
        timestamp: request.headers['x-crusoe-timestamp'],
      });
      request.accountId = accountId;
      if (request.routeOptions.url?.startsWith(PROJECT_SCOPED)) {
        await model.projects.member(model.ctx.db, accountId, projectIdOf(request));
      }
    });

    // Go clients' zero values on optional fields mean "not given" (see zero-values.ts).
    app.addHook('preValidation', async (request) => {
      const schema = request.routeOptions.schema?.body;
      if (schema && request.body !== null && typeof request.body === 'object') dropGoZeroValues(schema, request.body);
    });

    // Faults an operator staged through the admin API, rendered as Crusoe errors.
    app.addHook('onRequest', async (request) => {
      const { faults } = model.ctx.kernel;
      if (faults.empty) return;
      const fault = await faults.forRequest({ cloud: CLOUD, method: request.method, path: request.url.split('?')[0]!, accountId: request.accountId || null });
      if (!fault) return;
      if (fault.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
      if (fault.failure) {
        const { status, code, message } = fault.failure;
        throw new CrusoeError(status, code ?? reasonForStatus(status), message);
      }
    });

    app.setErrorHandler((error: FastifyError | CrusoeError, request, reply) => {
      const failure = toCrusoeError(error);
      // Unexpected failures are logged with their error id; Crusoe errors raised on purpose are not.
      if (failure.statusCode === 500 && !(error instanceof CrusoeError)) request.log.error({ err: error, error_id: failure.errorId }, 'crusoe request failed');
      if (request.routeOptions.config?.grpcErrors) return reply.code(failure.statusCode).send(rpcStatus(failure));
      return reply.code(failure.statusCode).send(failure.toJSON());
    });
    app.setNotFoundHandler((request, reply) => {
      const failure = crusoeFailure({ kind: 'not_found', status: 404, message: `${request.method} ${request.url.split('?')[0]}` });
      return reply.code(404).send(failure.toJSON());
    });

    openapi.serve(app);

    userRoutes(app, model);
    organizationRoutes(app, model);
    catalogRoutes(app, model);
    vmRoutes(app, model);
    templateRoutes(app, model);
    groupRoutes(app, model);
    storageRoutes(app, model);
    networkingRoutes(app, model);
    usageRoutes(app, model);
    quotaRoutes(app, model);
  };
}

/** The error statuses a Crusoe operation can answer (a route adds its own). */
function crusoeErrors(operation: OperationShape): Record<number, string> {
  const errors: Record<number, string> = {
    401: 'Unauthorized: the request is not signed with a valid access key, or its X-Crusoe-Timestamp is outside the five-minute window',
    500: ERROR_MEANINGS[500],
    503: ERROR_MEANINGS[503],
  };
  if (operation.takesInput) errors[400] = ERROR_MEANINGS[400];
  if (operation.path.startsWith('/projects/{project_id}')) errors[403] = 'Forbidden: the project does not exist or the caller is not a member of it';
  if (operation.path.includes('{')) errors[404] = ERROR_MEANINGS[404];
  if (operation.method !== 'GET') errors[409] = ERROR_MEANINGS[409];
  return errors;
}

/** The body of a grpc-gateway route's errors (see rpcStatus). */
const RpcStatusBody = Type.Object({
  code: Type.Integer({ description: 'the gRPC status code' }),
  message: Type.String(),
  details: Type.Array(Type.Unknown()),
  reason: Type.String(),
  error_id: Type.String(),
});

/** gRPC status codes for the HTTP statuses Hangar answers with (grpc-gateway's mapping, reversed). */
const GRPC_CODES: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 413: 11, 429: 8, 500: 13, 501: 12, 503: 14 };

/**
 * The error body of a grpc-gateway route (the spec's `rpcStatus`): an integer gRPC `code`,
 * `message` and `details`, with Hangar's `reason` and `error_id` beside them.
 */
export function rpcStatus(failure: CrusoeError) {
  return { code: GRPC_CODES[failure.statusCode] ?? 2, message: failure.message, details: [] as unknown[], reason: failure.reason, error_id: failure.errorId };
}

function projectIdOf(request: FastifyRequest): string {
  return String((request.params as { project_id?: string }).project_id ?? '');
}

/** Any failure, in Crusoe terms: its own errors as they are, the rest classified (http/failures.ts) and given the nearest reason. */
export function toCrusoeError(error: unknown): CrusoeError {
  if (error instanceof CrusoeError) return error;
  return crusoeFailure(classifyFailure(error));
}

/** A classified failure as Crusoe answers it. */
export function crusoeFailure(failure: Failure): CrusoeError {
  const { status, message } = failure;
  switch (failure.kind) {
    case 'invalid':
    case 'missing':
    case 'malformed':
    case 'too_large':
    case 'timeout':
      return new CrusoeError(status, Reason.BadRequest, message);
    case 'not_found':
      return new CrusoeError(status, Reason.NotFound, `no such route: ${message}`);
    case 'account_gone':
      return new CrusoeError(status, Reason.BadCredential, message);
    case 'conflict':
      return new CrusoeError(status, Reason.Conflict, message);
    case 'unavailable':
    case 'busy':
      return new CrusoeError(status, Reason.Internal, `service unavailable: ${message}`);
    case 'client':
      return new CrusoeError(status, reasonForStatus(status), message);
    case 'internal':
      return new CrusoeError(500, Reason.Internal, message);
  }
}
