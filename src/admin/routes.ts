import { timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { FleetSource } from '../http/cloud.js';
import type { Journal } from '../http/journal.js';
import { ERROR_MEANINGS, OpenApiCollector, type OperationShape } from '../http/openapi.js';
import type { App } from '../http/types.js';
import { classifyFailure, plainFailureBody } from '../http/failures.js';
import { parseDuration } from '../kernel/clock.js';
import type { Kernel } from '../kernel/kernel.js';
import { timingProfiles, type ProgressMode, type TimingProfile } from '../kernel/lifecycle/engine.js';
import { StateConflict, StateError, type StateDocument } from '../kernel/state.js';
import { patternReaches, type FaultRuleInput } from '../kernel/faults.js';
import { consoleRoutes } from './console-routes.js';
import { journalRoutes } from './journal-routes.js';
import { ACCOUNT_STANDINGS, CredentialOptionError, type AccountStanding } from '../kernel/tenancy/accounts.js';

/** What the admin API drives beyond the kernel: account creation and reset include the demo account. */
export interface AdminDeps {
  kernel: Kernel;
  journal: Journal;
  adminToken: string | null;
  /** The clouds served and their prefixes: what a fault rule's `cloud` and `path` may name. */
  clouds: readonly { name: string; prefix: string }[];
  createAccount(name: string): Promise<Record<string, unknown>>;
  reset(seed: string | null, freezeAt: number | null, renewDemo: boolean): Promise<void>;
  /** The demo account and the credentials this process knows for it. */
  demo(): { accountId: string | null; credentials: Record<string, Record<string, unknown>> };
  /** The clouds' kinds of resource, as the console's fleet lists them. */
  fleet?: readonly FleetSource[];
}

export class AdminError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (what: string, id: string) => new AdminError(404, 'not_found', `${what} "${id}" not found`);
const invalid = (message: string) => new AdminError(400, 'invalid_request', message);

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function duration(value: string | number, field: string): number {
  try {
    return parseDuration(value);
  } catch {
    throw invalid(`"${field}" must be a duration such as "90s", "5m" or a number of milliseconds (got ${JSON.stringify(value)})`);
  }
}

/**
 * The emulator controls under /admin/v1: accounts, reset, the clock, lifecycle progression,
 * faults, stock and quotas, state export/import, and the request journal. Bearer
 * HANGAR_ADMIN_TOKEN when set; without it, only callers on a loopback address get in.
 */
export function adminPlugin(deps: AdminDeps): FastifyPluginAsync {
  const { kernel, journal } = deps;
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

    const AccountParams = Type.Object({ account_id: Type.String() });

    // --- accounts -------------------------------------------------------------------------
    app.post('/accounts', { config: { doc: { operationId: 'createAccount', summary: 'Create an account (prints its credentials for every cloud)', tags: ['Accounts'] } }, schema: { body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }) } }, async (req, reply) =>
      reply.code(201).send(await deps.createAccount(req.body.name)),
    );
    app.get('/accounts', { config: { doc: { operationId: 'listAccounts', summary: 'List accounts and their credentials (ids only, never secrets)', tags: ['Accounts'] } } }, async () => ({
      accounts: await Promise.all((await kernel.tenancy.list()).map((a) => describeAccount(kernel, a.id, a.name, a.createdAt, a.standing))),
    }));
    app.get('/accounts/:account_id', { config: { doc: { operationId: 'getAccount', summary: 'Get an account', tags: ['Accounts'] } }, schema: { params: AccountParams } }, async (req) => {
      const account = await kernel.tenancy.get(req.params.account_id);
      if (!account) throw notFound('account', req.params.account_id);
      return describeAccount(kernel, account.id, account.name, account.createdAt, account.standing);
    });
    app.delete('/accounts/:account_id', { config: { doc: { operationId: 'deleteAccount', summary: 'Delete an account and everything it owns', tags: ['Accounts'], noContent: true } }, schema: { params: AccountParams } }, async (req, reply) => {
      if (!(await kernel.deleteAccount(req.params.account_id))) throw notFound('account', req.params.account_id);
      return reply.code(204).send();
    });
    app.post(
      '/accounts/:account_id/credentials',
      {
        config: { doc: { operationId: 'issueCredential', summary: "Issue one more credential of a cloud's kind to an account", tags: ['Accounts'] } },
        schema: {
          params: AccountParams,
          // read_only: a credential that may read but not change anything (where the cloud has such credentials)
          body: Type.Object({ cloud: Type.String(), read_only: Type.Optional(Type.Boolean()) }),
        },
      },
      async (req, reply) => {
        if (!(await kernel.tenancy.get(req.params.account_id))) throw notFound('account', req.params.account_id);
        const { cloud, ...options } = req.body;
        let issued: Record<string, unknown> | undefined;
        try {
          issued = await kernel.tenancy.issueCredential(req.params.account_id, cloud, options);
        } catch (error) {
          if (error instanceof CredentialOptionError) throw invalid(error.message);
          throw error;
        }
        if (!issued) throw invalid(`"cloud" must be one of: ${kernel.tenancy.clouds().join(', ')}`);
        return reply.code(201).send({ cloud, ...issued });
      },
    );
    // What the operator says of an account: its clouds refuse it (or only its creates) with their own errors.
    const standingView = (id: string, standing: AccountStanding) => ({ account_id: id, standing });
    app.get('/accounts/:account_id/standing', { config: { doc: { operationId: 'getStanding', summary: "An account's standing (active, or refused by its clouds)", tags: ['Accounts'] } }, schema: { params: AccountParams } }, async (req) => {
      const account = await kernel.tenancy.get(req.params.account_id);
      if (!account) throw notFound('account', req.params.account_id);
      return standingView(account.id, account.standing);
    });
    app.put(
      '/accounts/:account_id/standing',
      { config: { doc: { operationId: 'setStanding', summary: "Set an account's standing: its clouds refuse it (or only its creates) with their own errors", tags: ['Accounts'] } }, schema: { params: AccountParams, body: Type.Object({ standing: Type.Unsafe<AccountStanding>({ type: 'string', enum: [...ACCOUNT_STANDINGS] }) }) } },
      async (req) => {
        if (!(await kernel.tenancy.setStanding(req.params.account_id, req.body.standing))) throw notFound('account', req.params.account_id);
        return standingView(req.params.account_id, req.body.standing);
      },
    );
    app.delete(
      '/accounts/:account_id/credentials/:credential_id',
      { config: { doc: { operationId: 'revokeCredential', summary: 'Revoke a credential at once', tags: ['Accounts'], noContent: true } }, schema: { params: Type.Object({ account_id: Type.String(), credential_id: Type.String() }) } },
      async (req, reply) => {
        if (!(await kernel.tenancy.revokeCredential(req.params.account_id, req.params.credential_id))) {
          throw notFound('credential', req.params.credential_id);
        }
        return reply.code(204).send();
      },
    );
    app.get('/accounts/:account_id/quotas', { config: { doc: { operationId: 'getQuotas', summary: "An account's quotas and usage", tags: ['Quotas and stock'] } }, schema: { params: AccountParams } }, async (req) => {
      if (!(await kernel.tenancy.get(req.params.account_id))) throw notFound('account', req.params.account_id);
      return { quotas: await kernel.counters.describe(kernel.db, req.params.account_id) };
    });
    app.put(
      '/accounts/:account_id/quotas',
      { config: { doc: { operationId: 'setQuotas', summary: "Set an account's quotas (null: back to the default)", tags: ['Quotas and stock'] } }, schema: { params: AccountParams, body: Type.Record(Type.String(), Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])) } },
      async (req) => {
        if (!(await kernel.tenancy.get(req.params.account_id))) throw notFound('account', req.params.account_id);
        const known = kernel.counters.quotaKeys();
        for (const key of Object.keys(req.body)) if (!known.includes(key)) throw invalid(`unknown quota "${key}" (known: ${known.join(', ')})`);
        for (const [key, limit] of Object.entries(req.body)) await kernel.counters.setQuota(kernel.db, req.params.account_id, key, limit);
        return { quotas: await kernel.counters.describe(kernel.db, req.params.account_id) };
      },
    );

    // --- the demo account -----------------------------------------------------------------
    app.get('/demo', { config: { doc: { operationId: 'getDemo', summary: "The demo account's credentials and the URLs to use them with", tags: ['Accounts'] } } }, async (req) => {
      const { accountId, credentials } = deps.demo();
      if (accountId === null) throw notFound('account', 'demo');
      const base = `${req.protocol}://${req.host}`;
      const names = deps.clouds.map((c) => c.name);
      const clouds = Object.fromEntries(deps.clouds.map(({ name, prefix }) => [name, { ...(credentials[name] ?? {}), url: `${base}${prefix}` }]));
      return { account_id: accountId, credentials_known: names.every((c) => Object.keys(credentials[c] ?? {}).length > 0), ...clouds };
    });

    // --- public API switches --------------------------------------------------------------
    // A cloud's whole public API turned off (its clients get the cloud's "API disabled" error).
    const CloudParams = Type.Object({ cloud: Type.String() });
    const apiView = (cloud: string) => {
      const found = kernel.apiSwitches().find((s) => s.cloud === cloud);
      if (!found) throw notFound('switchable API', cloud);
      return found;
    };
    app.get('/:cloud/api', { config: { doc: { operationId: 'getApiSwitch', summary: "Whether a cloud's public API is on", tags: ['API switches'] } }, schema: { params: CloudParams } }, async (req) => apiView(req.params.cloud));
    app.put('/:cloud/api', { config: { doc: { operationId: 'setApiSwitch', summary: "Turn a cloud's public API off (its clients get the cloud's API-disabled error) or on", tags: ['API switches'] } }, schema: { params: CloudParams, body: Type.Object({ enabled: Type.Boolean() }) } }, async (req) => {
      apiView(req.params.cloud);
      await kernel.setApiEnabled(req.params.cloud, req.body.enabled);
      return apiView(req.params.cloud);
    });

    // --- reset ----------------------------------------------------------------------------
    const ResetBody = Type.Object({
      seed: Type.Optional(Type.String({ minLength: 1 })),
      /** Start the empty store with the clock frozen at this instant (any instant: nothing is stored yet). */
      frozen_at: Type.Optional(Type.String({ format: 'date-time' })),
      /** `keep` (the default): the demo account's printed credentials stay valid; `renew`: new ones. */
      demo_credentials: Type.Optional(Type.Unsafe<'keep' | 'renew'>({ type: 'string', enum: ['keep', 'renew'] })),
    });
    app.post('/reset', { config: { doc: { operationId: 'reset', summary: 'Empty the store back to the catalog and the demo account', tags: ['Reset and state'], noContent: true } }, schema: { body: Type.Optional(ResetBody) } }, async (req, reply) => {
      const at = req.body?.frozen_at === undefined ? null : Date.parse(req.body.frozen_at);
      await deps.reset(req.body?.seed ?? null, at, req.body?.demo_credentials === 'renew');
      journal.clear();
      return reply.code(204).send();
    });

    // --- clock ----------------------------------------------------------------------------
    const clockView = () => ({ now: kernel.clock.iso(), frozen: kernel.clock.frozen });
    app.get('/clock', { config: { doc: { operationId: 'getClock', summary: 'The time as Hangar sees it', tags: ['Clock'] } } }, async () => clockView());
    app.post('/clock/freeze', { config: { doc: { operationId: 'freezeClock', summary: 'Stop the clock (now, or at a later instant)', tags: ['Clock'] } }, schema: { body: Type.Optional(Type.Object({ at: Type.Optional(Type.String({ format: 'date-time' })) })) } }, async (req) => {
      const at = req.body?.at === undefined ? undefined : Date.parse(req.body.at);
      if (at !== undefined && at < kernel.clock.now()) throw invalid('"at" must not be earlier than the clock: it only moves forward');
      kernel.clock.freeze(at);
      await kernel.shareControls();
      await kernel.lifecycle.releaseDue();
      return clockView();
    });
    app.post('/clock/resume', { config: { doc: { operationId: 'resumeClock', summary: 'Let the clock run again', tags: ['Clock'] } } }, async () => {
      kernel.clock.resume();
      await kernel.shareControls();
      return clockView();
    });
    app.post('/clock/advance', { config: { doc: { operationId: 'advanceClock', summary: 'Move the clock forward; transitions that fall due are applied before the answer', tags: ['Clock'] } }, schema: { body: Type.Object({ by: Type.Union([Type.String(), Type.Integer({ minimum: 0 })]) }) } }, async (req) => {
      kernel.clock.advance(duration(req.body.by, 'by'));
      // Everything that fell due in the skipped interval is applied, in order, before answering.
      // Moving the clock has already started that run: join it now, so that the count is its
      // count even when it ends while the new clock is being shared.
      const applying = kernel.lifecycle.runDue();
      await kernel.shareControls();
      const applied = (await applying) + (await kernel.lifecycle.releaseDue());
      return { ...clockView(), applied };
    });

    // --- lifecycle progression ------------------------------------------------------------
    const kinds = () => kernel.lifecycle.describe().map((k) => k.kind);
    const transitionsOf = (kind: string) => kernel.lifecycle.describe().find((k) => k.kind === kind)?.transitions.map((t) => t.name).join(', ') ?? '';
    const unknownKind = (kind: string) => new AdminError(404, 'not_found', `lifecycle kind "${kind}" not found (kinds: ${kinds().join(', ')})`);
    app.get('/lifecycle', { config: { doc: { operationId: 'getLifecycle', summary: 'Resource kinds, their transitions, durations and progress modes', tags: ['Lifecycles'] } } }, async () => ({ profile: kernel.lifecycle.timingProfile, kinds: kernel.lifecycle.describe() }));
    app.put(
      '/lifecycle',
      { config: { doc: { operationId: 'setTimingProfile', summary: 'Choose the timing profile (instant, fast, realistic)', tags: ['Lifecycles'] } }, schema: { body: Type.Object({ profile: Type.Unsafe<TimingProfile>({ type: 'string', enum: [...timingProfiles] }) }) } },
      async (req) => {
        kernel.lifecycle.setProfile(req.body.profile);
        await kernel.shareControls();
        return { profile: kernel.lifecycle.timingProfile, kinds: kernel.lifecycle.describe() };
      },
    );
    app.put(
      '/lifecycle/:kind',
      {
        config: { doc: { operationId: 'setLifecycleMode', summary: 'Change how a kind progresses: mode (time, reads, manual) and durations', tags: ['Lifecycles'] } },
        schema: {
          params: Type.Object({ kind: Type.String() }),
          body: Type.Object({
            mode: Type.Optional(Type.Unsafe<'time' | 'reads' | 'manual'>({ type: 'string', enum: ['time', 'reads', 'manual'] })),
            reads: Type.Optional(Type.Integer({ minimum: 1 })),
            durations: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Integer({ minimum: 0 }), Type.Null()]))),
          }),
        },
      },
      async (req) => {
        const { kind } = req.params;
        if (!kernel.lifecycle.knows(kind)) throw unknownKind(kind);
        const { mode, reads, durations } = req.body;
        for (const transition of Object.keys(durations ?? {})) {
          if (!kernel.lifecycle.knows(kind, transition)) throw invalid(`kind ${kind} has no transition "${transition}" (transitions: ${transitionsOf(kind)})`);
        }
        if (mode === 'reads' && reads === undefined) throw invalid('"reads" is required with mode "reads"');
        for (const [transition, value] of Object.entries(durations ?? {})) {
          kernel.lifecycle.setOverride(kind, transition, value === null ? null : duration(value, `durations.${transition}`));
        }
        if (mode !== undefined) {
          const progress: ProgressMode = mode === 'reads' ? { mode, reads: reads! } : { mode };
          kernel.lifecycle.setMode(kind, progress);
        }
        await kernel.shareControls();
        return kernel.lifecycle.describe().find((k) => k.kind === kind);
      },
    );
    app.post(
      '/lifecycle/advance',
      { config: { doc: { operationId: 'advanceLifecycles', summary: 'Apply held transitions now', tags: ['Lifecycles'] } }, schema: { body: Type.Optional(Type.Object({ kind: Type.Optional(Type.String()), resource_id: Type.Optional(Type.String()) })) } },
      async (req) => ({ applied: await kernel.lifecycle.release({ kind: req.body?.kind, resourceId: req.body?.resource_id }) }),
    );

    // --- faults ---------------------------------------------------------------------------
    const FaultBody = Type.Object(
      {
        cloud: Type.Optional(Type.String()),
        method: Type.Optional(Type.String()),
        path: Type.Optional(Type.String()),
        account: Type.Optional(Type.String()),
        count: Type.Optional(Type.Integer({ minimum: 1 })),
        probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
        status: Type.Optional(Type.Integer({ minimum: 400, maximum: 599 })),
        code: Type.Optional(Type.String()),
        message: Type.Optional(Type.String()),
        latency_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
        kind: Type.Optional(Type.String()),
        transition: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    );
    app.get('/faults', { config: { doc: { operationId: 'listFaults', summary: 'List fault rules and how often each fired', tags: ['Faults'] } } }, async () => ({ faults: await kernel.faults.list() }));
    app.post('/faults', { config: { doc: { operationId: 'addFault', summary: 'Add a fault rule: fail or slow matching calls, or fail a lifecycle transition', tags: ['Faults'] } }, schema: { body: FaultBody } }, async (req, reply) => {
      const problem = neverFires(req.body, kernel, deps.clouds);
      if (problem !== null) throw invalid(problem);
      return reply.code(201).send(await kernel.faults.add(req.body));
    });
    app.delete('/faults', { config: { doc: { operationId: 'clearFaults', summary: 'Remove every fault rule', tags: ['Faults'], noContent: true } } }, async (_req, reply) => {
      await kernel.faults.clear();
      return reply.code(204).send();
    });
    app.delete('/faults/:fault_id', { config: { doc: { operationId: 'removeFault', summary: 'Remove one fault rule', tags: ['Faults'], noContent: true } }, schema: { params: Type.Object({ fault_id: Type.String() }) } }, async (req, reply) => {
      if (!(await kernel.faults.remove(req.params.fault_id))) throw notFound('fault', req.params.fault_id);
      return reply.code(204).send();
    });

    // --- stock ----------------------------------------------------------------------------
    app.get(
      '/capacity',
      { config: { doc: { operationId: 'listCapacity', summary: 'Stock by cloud, region and SKU', tags: ['Quotas and stock'] } }, schema: { querystring: Type.Object({ cloud: Type.Optional(Type.String()), region: Type.Optional(Type.String()) }) } },
      async (req) => {
        // every cloud served (not only those whose credentials the admin API issues)
        const clouds = req.query.cloud ? [req.query.cloud] : deps.clouds.map((c) => c.name);
        const lines = [];
        for (const cloud of clouds) for (const s of await kernel.capacity.list(kernel.db, cloud, req.query.region)) lines.push({ cloud, ...s });
        return { capacity: lines };
      },
    );
    app.put(
      '/capacity',
      { config: { doc: { operationId: 'setCapacity', summary: 'Set the stock of one SKU in one region', tags: ['Quotas and stock'] } }, schema: { body: Type.Object({ cloud: Type.String(), region: Type.String(), sku: Type.String(), total: Type.Integer({ minimum: 0 }) }) } },
      async (req) => {
        const { cloud, region, sku, total } = req.body;
        const line = (await kernel.capacity.list(kernel.db, cloud, region)).find((s) => s.sku === sku);
        if (!line) throw notFound('stock line', `${cloud}/${region}/${sku}`);
        await kernel.capacity.setTotal(kernel.db, cloud, region, sku, total);
        return { cloud, region, sku, total, used: line.used };
      },
    );

    // --- state ----------------------------------------------------------------------------
    app.get('/state', { config: { doc: { operationId: 'exportState', summary: 'Export the store (or one account) as one JSON document', tags: ['Reset and state'] } }, schema: { querystring: Type.Object({ account: Type.Optional(Type.String()) }) } }, async (req) => {
      if (req.query.account !== undefined && !(await kernel.tenancy.get(req.query.account))) throw notFound('account', req.query.account);
      return kernel.state.export(req.query.account ?? null);
    });
    app.put('/state', { config: { doc: { operationId: 'importState', summary: 'Import a document written by an export', tags: ['Reset and state'], noContent: true } }, bodyLimit: 512 * 1024 * 1024 }, async (req, reply) => {
      await kernel.importState(req.body as StateDocument);
      return reply.code(204).send();
    });

    // --- journal --------------------------------------------------------------------------
    journalRoutes(app, { journal, notFound });

    // --- the console's reads: fleet, one resource, pending transitions, events ------------
    consoleRoutes(app, { kernel, journal, clouds: deps.clouds, demo: deps.demo, fleet: deps.fleet ?? [], notFound, invalid });
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

const METHODS = new Set(['*', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const REQUEST_FIELDS = ['method', 'path', 'status', 'code', 'message', 'latency_ms'] as const;

/** Why a fault rule could never fire (or do nothing when it did), in words naming the field; null for a rule that can. */
function neverFires(rule: FaultRuleInput, kernel: Kernel, clouds: AdminDeps['clouds']): string | null {
  const names = clouds.map((c) => c.name);
  if (rule.cloud !== undefined && !names.includes(rule.cloud)) return `"cloud" must be one of: ${names.join(', ')} (got "${rule.cloud}")`;
  if (rule.kind !== undefined) return lifecycleRuleProblem(rule, kernel);
  if (rule.transition !== undefined) return '"transition" needs "kind" (the lifecycle whose transition fails)';
  if (rule.status === undefined && rule.latency_ms === undefined) {
    return 'a fault needs "status" (fail the call), "latency_ms" (slow it down), or "kind" (fail a lifecycle transition)';
  }
  if (rule.method !== undefined && !METHODS.has(rule.method.toUpperCase())) return `"method" must be an HTTP method or "*" (got "${rule.method}")`;
  if (rule.path !== undefined) {
    const watched = clouds.filter((c) => rule.cloud === undefined || c.name === rule.cloud);
    if (!watched.some((c) => patternReaches(rule.path!, c.prefix))) {
      const prefixes = watched.map((c) => `${c.prefix} (${c.name})`).join(', ');
      return `"path" must be under ${watched.length === 1 ? 'the prefix' : 'a prefix'} of the API it watches: ${prefixes} (got "${rule.path}")`;
    }
  }
  return null;
}

/** A lifecycle rule: a kind (of the rule's cloud, if named) with a transition that can fail, and nothing of a request rule. */
function lifecycleRuleProblem(rule: FaultRuleInput, kernel: Kernel): string | null {
  const kind = rule.kind!;
  const stray = REQUEST_FIELDS.filter((field) => rule[field] !== undefined);
  if (stray.length > 0) return `a lifecycle fault ("kind") fails a transition, not a call: leave out ${stray.map((f) => `"${f}"`).join(', ')}`;
  if (!kernel.lifecycle.knows(kind)) return `no lifecycle kind "${kind}" (kinds: ${kernel.lifecycle.describe().map((k) => k.kind).join(', ')})`;
  if (rule.cloud !== undefined && !kind.startsWith(`${rule.cloud}.`)) return `lifecycle kind "${kind}" is not one of cloud "${rule.cloud}"`;
  if (rule.transition !== undefined && !kernel.lifecycle.knows(kind, rule.transition)) {
    return `no lifecycle transition ${kind}.${rule.transition} (transitions: ${kernel.lifecycle.describe().find((k) => k.kind === kind)!.transitions.map((t) => t.name).join(', ')})`;
  }
  // A rule on a transition that cannot fail would never fire: say so now.
  const failable = kernel.lifecycle.failable(kind);
  if (rule.transition === undefined ? failable.length === 0 : !failable.includes(rule.transition)) {
    return `${kind}${rule.transition ? `.${rule.transition}` : ''} cannot fail (transitions that can: ${failable.join(', ') || 'none'})`;
  }
  return null;
}

async function describeAccount(kernel: Kernel, id: string, name: string, createdAt: number, standing: AccountStanding) {
  return {
    id,
    name,
    standing,
    created_at: new Date(createdAt).toISOString(),
    credentials: (await kernel.tenancy.credentials(id)).map((c) => ({
      id: c.id,
      cloud: c.cloud,
      kind: c.kind,
      label: c.label,
      created_at: new Date(c.createdAt).toISOString(),
      expires_at: c.expiresAt === null ? null : new Date(c.expiresAt).toISOString(),
    })),
  };
}
