import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Faults } from '../kernel/faults.js';
import { classifyFailure, type Failure, type FailureKind } from './failures.js';
import { OpenApiCollector, type OpenApiInfo } from './openapi.js';
import type { App } from './types.js';

/** What every cloud's own error class has: a status, a code in the cloud's terms, and a body. */
export interface CloudError extends Error {
  readonly statusCode: number;
  toJSON(): unknown;
}

/** The constructor of a cloud's error class: `new E(status, code, message)`. */
export type CloudErrorClass<E extends CloudError> = new (status: number, code: string, message: string) => E;

/**
 * How a cloud words a classified failure (http/failures.ts): the code it gives each status,
 * the kinds whose code is not the status's, and the words a kind's message starts with.
 */
export interface FailureWording {
  codeForStatus(status: number): string;
  codes?: Partial<Record<FailureKind, string>>;
  /** Prefixed to the message of a failure of that kind, unless the message already starts with it. */
  prefixes?: Partial<Record<FailureKind, string>>;
}

/** A cloud's refusals that a reference deleted meanwhile can cause: bad request, not found, conflict. */
const REFERENCE_REFUSALS = new Set([400, 404, 409]);

/** A classified failure as a cloud answers it, in its own error class. */
export function failureRenderer<E extends CloudError>(errorClass: CloudErrorClass<E>, wording: FailureWording): (failure: Failure) => E {
  const { codeForStatus, codes = {}, prefixes = {} } = wording;
  return ({ kind, status, message }) => {
    const prefix = prefixes[kind];
    const text = prefix === undefined || message.startsWith(prefix) ? message : `${prefix}${message}`;
    return new errorClass(status, codes[kind] ?? codeForStatus(status), text);
  };
}

export interface CloudPluginOptions<E extends CloudError> {
  /** The cloud's name, as faults and logs know it. */
  cloud: string;
  prefix: string;
  openapi: OpenApiInfo;
  faults: Faults;
  errorClass: CloudErrorClass<E>;
  /** The cloud's error for a classified failure (see failureRenderer). */
  renderFailure(failure: Failure): E;
  /** The code an injected fault carries when the operator named only a status. */
  codeForStatus(status: number): string;
  /**
   * Checks the request's credentials and sets `request.accountId` (and `replayableUntil`);
   * throws the cloud's error to refuse it. Not called for unknown paths and public routes.
   */
  authenticate(request: FastifyRequest): Promise<void>;
  /**
   * Checks a credential whose check `authenticate` left to the route (`request.deferredCredential`),
   * when the request failed before its route could: a caller without a valid credential hears
   * that first, whatever else was wrong with the request. Throws the cloud's error to refuse it.
   */
  completeDeferred?(request: FastifyRequest): Promise<void>;
  /** The body of an error answer (default: the error's own JSON). */
  errorBody?(error: E, request: FastifyRequest): unknown;
  /** Fields logged beside an unexpected failure. */
  logged?(error: E): Record<string, unknown>;
  /** Anything the cloud adds before its routes (a rate limit, say). */
  extend?(app: App): Promise<void>;
  routes(app: App): void;
}

/**
 * A cloud's API as a Fastify plugin: its authentication, the faults an operator staged
 * through the admin API, the cloud's error body for every failure (its own errors as they
 * are, the rest classified by http/failures.ts and worded by the cloud), and the OpenAPI
 * document generated from the routes' own schemas. Each cloud supplies only what differs.
 */
export function cloudPlugin<E extends CloudError>(options: CloudPluginOptions<E>): FastifyPluginAsync {
  const { cloud, errorClass, renderFailure, faults } = options;
  const body = options.errorBody ?? ((error: E) => error.toJSON());
  return async (scope: FastifyInstance) => {
    const app = scope as unknown as App;
    const openapi = new OpenApiCollector(options.prefix, options.openapi);
    openapi.collect(app);

    app.addHook('onRequest', async (request) => {
      if (request.is404 || request.routeOptions.config.doc?.public) return;
      await options.authenticate(request);
    });

    // Faults an operator staged through the admin API, rendered as this cloud's errors.
    app.addHook('onRequest', async (request) => {
      if (faults.empty) return;
      const fault = await faults.forRequest({ cloud, method: request.method, path: request.url.split('?')[0]!, accountId: request.accountId || null });
      if (!fault) return;
      if (fault.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
      if (fault.failure) {
        const { status, code, message } = fault.failure;
        throw new errorClass(status, code ?? options.codeForStatus(status), message);
      }
    });

    if (options.extend) await options.extend(app);

    /** Checks the request's credential (and, for Crusoe, its project) again, as authenticate did. */
    const readmit = async (request: FastifyRequest): Promise<void> => {
      await options.authenticate(request);
      if (request.deferredCredential !== null) await options.completeDeferred?.(request);
    };

    app.setErrorHandler(async (failed: FastifyError | E, request, reply) => {
      let error: unknown = failed;
      if (request.deferredCredential !== null && options.completeDeferred) {
        try {
          await options.completeDeferred(request);
        } catch (refused) {
          error = refused;
        }
      }
      let classified = error instanceof errorClass ? null : classifyFailure(error);
      // Something the request refers to was deleted meanwhile, or was not found: whether it was
      // the caller's account or (Crusoe) its project, admitting the request again tells, and
      // the cloud's own refusal (401, 403) is what the caller would hear had it asked a moment
      // later. (A create whose account is deleted while it runs, or just before it runs again
      // alone: see db/group-commit.ts, must not hear that its SSH key is not its account's.)
      const refusedByModel = classified === null && REFERENCE_REFUSALS.has((error as E).statusCode);
      if ((classified?.kind === 'gone' || refusedByModel) && request.accountId) {
        try {
          await readmit(request);
        } catch (refused) {
          error = refused;
          classified = refused instanceof errorClass ? null : classifyFailure(refused);
        }
      }
      const own = classified === null;
      const failure = classified === null ? (error as E) : renderFailure(classified);
      // Deliberate answers (out of stock, an injected fault) and an unreachable store (503) are not bugs.
      if (failure.statusCode === 500 && !own) request.log.error({ err: error, ...options.logged?.(failure) }, `${cloud} request failed`);
      return reply.code(failure.statusCode).send(body(failure, request));
    });
    app.setNotFoundHandler((request, reply) => {
      const failure = renderFailure({ kind: 'not_found', status: 404, message: `${request.method} ${request.url.split('?')[0]}` });
      return reply.code(404).send(body(failure, request));
    });

    openapi.serve(app);
    options.routes(app);
  };
}
