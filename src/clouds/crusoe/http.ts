import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { cloudPlugin, failureRenderer } from '../../http/cloud-plugin.js';
import { ERROR_MEANINGS, type OperationShape } from '../../http/openapi.js';
import { projectIdOf, signedRequest } from './caller.js';
import { CrusoeError, reasonForStatus } from './errors.js';
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
 * The Crusoe Cloud API v1alpha5 as a Fastify plugin (http/cloud-plugin.ts): requests signed
 * with the account's access key (HMAC-SHA256, as the official clients sign them), project
 * membership checked before any project-scoped route runs, the Crusoe error body for every
 * failure, and the OpenAPI document generated from the routes' own schemas.
 */
export function crusoePlugin(model: CrusoeModel): FastifyPluginAsync {
  return cloudPlugin({
    cloud: CLOUD,
    prefix: PREFIX,
    openapi: {
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
    },
    faults: model.ctx.kernel.faults,
    errorClass: CrusoeError,
    renderFailure: crusoeFailure,
    codeForStatus: reasonForStatus,
    async authenticate(request) {
      const { config } = request.routeOptions;
      // A route that reads with the caller's key (`config.fused`, on PostgreSQL) checks it in
      // its statement (see caller.ts); a staged fault may be scoped to an account, which its
      // hook must know before the route runs.
      if (config.fused === true && model.ctx.kernel.store.engine === 'postgres' && model.ctx.kernel.faults.empty) {
        request.deferredCredential = model.tokens.presentedKey(signedRequest(request));
        return;
      }
      request.accountId = await model.tokens.authenticate(signedRequest(request), projectOf(request));
    },
    async completeDeferred(request) {
      request.deferredCredential = null;
      request.accountId = await model.tokens.authenticate(signedRequest(request), projectOf(request));
    },
    // Unexpected failures are logged with their error id.
    logged: (failure) => ({ error_id: failure.errorId }),
    errorBody: (failure, request) => (request.routeOptions.config?.grpcErrors ? rpcStatus(failure) : failure.toJSON()),
    extend: async (app) => {
      // Go clients' zero values on optional fields mean "not given" (see zero-values.ts).
      app.addHook('preValidation', async (request) => {
        const schema = request.routeOptions.schema?.body;
        if (schema && request.body !== null && typeof request.body === 'object') dropGoZeroValues(schema, request.body);
      });
    },
    routes(app) {
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
    },
  });
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

/** A project-scoped route's project (checked with the caller's key: see Tokens.authenticate), else null. */
function projectOf(request: FastifyRequest): string | null {
  return request.routeOptions.url?.startsWith(PROJECT_SCOPED) ? projectIdOf(request) : null;
}

/** A classified failure (http/failures.ts) as Crusoe answers it: the reason of its status. */
export const crusoeFailure = failureRenderer(CrusoeError, {
  codeForStatus: reasonForStatus,
  prefixes: { not_found: 'no such route: ', unavailable: 'service unavailable: ', busy: 'service unavailable: ' },
});
