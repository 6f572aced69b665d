import rateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { hashToken, type AccountStanding } from '../../kernel/tenancy/accounts.js';
import type { Kernel } from '../../kernel/kernel.js';
import { cloudPlugin, failureRenderer } from '../../http/cloud-plugin.js';
import { ERROR_MEANINGS, type OperationShape } from '../../http/openapi.js';
import { Code, GenesisError } from './errors.js';
import type { GenesisModel } from './model/index.js';
import { CLOUD } from './model/context.js';
import { ErrorBody } from './wire.js';
import { imageRoutes } from './routes/images.js';
import { instanceRoutes } from './routes/instances.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { sshKeyRoutes } from './routes/ssh-keys.js';
import { catalogRoutes } from './routes/catalog.js';
import { networkingRoutes } from './routes/networking.js';
import { storageRoutes } from './routes/storage.js';

export const PREFIX = '/compute/v1';
export const TOKEN_KIND = 'token';
/** A token that may read but not change anything (issued through the admin API). */
export const READ_TOKEN_KIND = 'read-token';

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
 * standing. Answers to the token may be replayed until it expires, unless a rate limit must
 * count every request (`replayable` false).
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
  const match = await kernel.tenancy.findCredential(CLOUD, TOKEN_KIND, lookup);
  const readOnly = match === undefined ? await kernel.tenancy.findCredential(CLOUD, READ_TOKEN_KIND, lookup) : undefined;
  const found = match ?? readOnly;
  if (!found) throw new GenesisError(401, Code.PermissionDeniedAuth, 'permission denied: the API token is not valid');
  // (routeOptions is built afresh on each read: only looked at for an account in bad standing)
  if (found.standing !== 'active') refuseByStanding(found.standing, request.method, request.routeOptions.url ?? '');
  if (readOnly && request.method !== 'GET' && request.method !== 'HEAD') {
    throw new GenesisError(403, Code.PermissionDenied, `permission denied: this API token may only read (${request.method} is a change)`);
  }
  request.accountId = found.accountId;
  // (The expiry is on the account's clock, the replay's check on the global one: shifted by
  // the account's lead, so an account clock ahead of it stops the replays when it should.)
  if (replayable) {
    request.replayableUntil = found.expiresAt === null ? Number.POSITIVE_INFINITY : found.expiresAt - (kernel.clockFor(found.accountId).now() - kernel.clock.now());
  }
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

/**
 * What an account's standing refuses, with the seed's codes: a suspended, banned or disabled
 * account gets nothing; an unverified one may read but not change anything; one that needs a
 * payment method may do anything but create (every POST but an instance action).
 */
function refuseByStanding(standing: AccountStanding, method: string, route: string): void {
  switch (standing) {
    case 'active':
      return;
    case 'suspended':
      throw new GenesisError(403, Code.AccountSuspended, 'your account is suspended');
    case 'banned':
      throw new GenesisError(403, Code.AccountBanned, 'your account is banned');
    case 'disabled':
      throw new GenesisError(403, Code.AccountDisabled, 'your account is disabled');
    case 'unverified':
      if (method === 'GET' || method === 'HEAD') return;
      throw new GenesisError(403, Code.AccountNotVerified, 'account not verified: verify your account before making changes');
    case 'payment_method_required':
      if (method !== 'POST' || route.endsWith('/actions')) return;
      throw new GenesisError(403, Code.PaymentMethodRequired, 'payment method required: add a payment method before creating resources');
  }
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
    account_gone: 'permission denied: ',
    unavailable: 'service unavailable: ',
    busy: 'service unavailable: ',
  },
});

/** The rate-limit window in words: "second" for the real cloud's, else its length. */
function perWindow(ms: number): string {
  return ms === 1000 ? 'second' : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
