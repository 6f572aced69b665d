import rateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { hashToken } from '../../kernel/tenancy/accounts.js';
import { admit, findToken } from './auth.js';
import type { Kernel } from '../../kernel/kernel.js';
import { cloudPlugin, failureRenderer } from '../../http/cloud-plugin.js';
import { ERROR_MEANINGS, type OperationShape } from '../../http/openapi.js';
import { Code, GenesisError } from './errors.js';
import type { GenesisModel } from './model/index.js';
import { CLOUD, READ_TOKEN_KIND, TOKEN_KIND } from './model/context.js';
import { ErrorBody } from './wire.js';
import { imageRoutes } from './routes/images.js';
import { instanceRoutes } from './routes/instances.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { sshKeyRoutes } from './routes/ssh-keys.js';
import { catalogRoutes } from './routes/catalog.js';
import { networkingRoutes } from './routes/networking.js';
import { storageRoutes } from './routes/storage.js';

export const PREFIX = '/compute/v1';

/**
 * The Genesis Cloud Compute v1 API as a Fastify plugin (http/cloud-plugin.ts): bearer-token
 * auth (and the deprecated X-Auth-Token header), a per-token rate limit, the Genesis error body
 * for every failure, and the OpenAPI document generated from the routes' own schemas.
 */
export function genesisPlugin(model: GenesisModel, options: { rateLimit: number; rateLimitWindowMs: number; redis: Redis | null }): FastifyPluginAsync {
  const { kernel } = model.ctx;
  return cloudPlugin({
    cloud: CLOUD,
    prefix: PREFIX,
    openapi: {
      title: 'Genesis Cloud Compute API (served by Hangar)',
      version: 'v1',
      serverUrl: PREFIX,
      securitySchemes: {
        BearerAuth: { type: 'http', scheme: 'bearer' },
        ApiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' },
      },
      security: [{ BearerAuth: [] }, { ApiKeyAuth: [] }],
      errorSchema: ErrorBody,
      errors: genesisErrors,
    },
    faults: kernel.faults,
    errorClass: GenesisError,
    renderFailure: genesisFailure,
    codeForStatus,
    authenticate: (request) => authenticate(kernel, request, options.rateLimit === 0),
    completeDeferred: (request) => completeDeferred(kernel, request),
    extend: async (app) => {
      if (options.rateLimit > 0) await app.register(rateLimit, rateLimitOptions(options));
    },
    routes(app) {
      instanceRoutes(app, model);
      snapshotRoutes(app, model);
      imageRoutes(app, model);
      sshKeyRoutes(app, model);
      catalogRoutes(app, model);
      storageRoutes(app, model);
      networkingRoutes(app, model);
    },
  });
}

/**
 * Who a request is: the token it shows (either header), read-only or not, and its account's
 * standing (see auth.ts). On a route that reads with the credential (`config.fused`, on
 * PostgreSQL), the lookup is left to the route's statement, which checks it with `admit`.
 */
async function authenticate(kernel: Kernel, request: FastifyRequest, replayable: boolean): Promise<void> {
  // `/instances/` (a trailing slash) is no instance: the route exists only with an id in it.
  if (hasEmptyParam(request.params)) throw invalidRoute(request.method, request.url);
  // The operator turned the whole public API off: every caller hears so, signed in or not.
  if (!kernel.apiEnabled(CLOUD)) {
    throw new GenesisError(503, Code.ApiDisabled, 'Genesis Cloud public api is currently disabled. Please visit the status page for more information');
  }
  const token = presentedToken(request.headers.authorization, request.headers['x-auth-token']);
  if (token === undefined) {
    throw new GenesisError(401, Code.AuthTokenNotProvided, 'auth token not provided: send "Authorization: Bearer <token>"');
  }
  const lookup = hashToken(token);
  // (a staged fault may be scoped to an account, which its hook must know before the route runs)
  if (kernel.store.engine === 'postgres' && kernel.faults.empty && request.routeOptions.config.fused === true) {
    request.deferredCredential = lookup;
    return;
  }
  admit(kernel, request, await findToken(kernel, lookup), replayable);
}

/** Checks a credential the route would have read itself (see authenticate), when the request failed before the route ran. */
async function completeDeferred(kernel: Kernel, request: FastifyRequest): Promise<void> {
  const lookup = request.deferredCredential!;
  request.deferredCredential = null;
  admit(kernel, request, await findToken(kernel, lookup), false);
}

/**
 * The per-token rate limit. With Redis, every replica counts against the same allowance; if
 * Redis is away, requests go through rather than fail.
 */
function rateLimitOptions(options: { rateLimit: number; rateLimitWindowMs: number; redis: Redis | null }): RateLimitPluginOptions {
  return {
    max: options.rateLimit,
    timeWindow: options.rateLimitWindowMs,
    ...(options.redis ? { redis: options.redis, nameSpace: 'hangar:genesis:rate:', skipOnError: true } : {}),
    // Keyed by the token itself, not the header text, so re-spelling the header ("bearer",
    // extra spaces, X-Auth-Token) does not buy a fresh allowance.
    keyGenerator: (request) => presentedToken(request.headers.authorization, request.headers['x-auth-token']) ?? request.ip,
    allowList: (request) => request.is404 || request.routeOptions.config.doc?.public === true,
    errorResponseBuilder: (_request, context) =>
      new GenesisError(
        429,
        Code.NotAllowed,
        `too many requests: the limit is ${context.max} per ${perWindow(options.rateLimitWindowMs)}; retry after ${Math.ceil(context.ttl / 1000)} s`,
      ),
  };
}

/** The error statuses a Genesis operation can answer (a route adds its own, such as 403 for a quota). */
function genesisErrors(operation: OperationShape): Record<number, string> {
  const errors: Record<number, string> = {
    401: 'Unauthorized: the API token is missing or not valid (codes 01203, 01204)',
    429: 'Too many requests: more than the per-token rate limit (10 per second by default)',
    500: ERROR_MEANINGS[500],
    503: ERROR_MEANINGS[503],
  };
  if (operation.takesInput) errors[400] = ERROR_MEANINGS[400];
  if (operation.path.includes('{')) errors[404] = ERROR_MEANINGS[404];
  return errors;
}

/** The code an injected fault carries when the operator named only a status. */
function codeForStatus(status: number): string {
  if (status === 401) return Code.PermissionDeniedAuth;
  if (status === 403) return Code.PermissionDenied;
  if (status === 404) return Code.InvalidRoute;
  if (status === 429) return Code.NotAllowed;
  if (status >= 500) return Code.Internal;
  return Code.BadRequest;
}

/**
 * The token a request shows: a Bearer `Authorization` first (the seed's way), else the
 * deprecated `X-Auth-Token` (the Go client's way). An `Authorization` that is not a Bearer
 * token (Basic credentials a proxy added, say) does not hide a valid `X-Auth-Token`.
 */
function presentedToken(authorization: string | undefined, legacy: string | string[] | undefined): string | undefined {
  const bearer = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (bearer) return bearer[1];
  const value = Array.isArray(legacy) ? legacy[0] : legacy;
  return value?.trim() || undefined;
}

function invalidRoute(method: string, url: string): GenesisError {
  return genesisFailure({ kind: 'not_found', status: 404, message: `${method} ${url.split('?')[0]}` });
}

function hasEmptyParam(params: unknown): boolean {
  if (!params || typeof params !== 'object') return false;
  for (const value of Object.values(params)) if (value === '') return true;
  return false;
}

/** A classified failure (http/failures.ts) as Genesis answers it: the nearest code of its table. */
export const genesisFailure = failureRenderer(GenesisError, {
  codeForStatus,
  codes: { missing: Code.MissingParameters, malformed: Code.MalformedRequest, too_large: Code.MalformedRequest, timeout: Code.MalformedRequest },
  prefixes: {
    malformed: 'malformed request: ',
    too_large: 'malformed request: ',
    timeout: 'malformed request: ',
    not_found: 'invalid route: ',
    unavailable: 'service unavailable: ',
    busy: 'service unavailable: ',
  },
});

/** The rate-limit window in words: "second" for the real cloud's, else its length. */
function perWindow(ms: number): string {
  return ms === 1000 ? 'second' : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
