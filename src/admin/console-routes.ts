import { Type } from '@sinclair/typebox';
import type { ServerResponse } from 'node:http';
import type { App } from '../http/types.js';
import type { CloudProject, FleetSource } from '../http/cloud.js';
import type { Journal } from '../http/journal.js';
import type { Kernel } from '../kernel/kernel.js';
import { EventFeed, type FeedEvent } from './feed.js';
import { Fleet, type FleetFilter } from './fleet.js';
import { dailyUsage, type UsageSources } from './usage.js';
import { DAY_MS } from '../kernel/metering.js';

export interface ConsoleDeps {
  kernel: Kernel;
  /** The clouds served and their prefixes (where a client points). */
  clouds: readonly { name: string; prefix: string }[];
  /** The demo account and the credentials this process knows for it. */
  demo(): { accountId: string | null; credentials: Record<string, Record<string, unknown>> };
  journal: Journal;
  fleet: readonly FleetSource[];
  /** The projects of the clouds that have them (of one account, or all). */
  projects(accountId?: string): Promise<CloudProject[]>;
  usage: UsageSources;
  notFound(what: string, id: string): Error;
  invalid(message: string): Error;
}

const UUID_LIKE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How often an open event stream gets a comment line, so that proxies and idle timers keep it. */
const KEEPALIVE_MS = 15_000;

/**
 * The admin endpoints the web console reads that the rest of the admin API had no use for:
 * the fleet of every cloud in one paged table, one resource with its history, the pending
 * transitions, and a stream of server-sent events. Registered inside the admin plugin, so they
 * share its authentication, error shape and OpenAPI document.
 */
export function consoleRoutes(app: App, deps: ConsoleDeps): void {
  const feed = new EventFeed(deps.kernel, deps.journal);
  const fleet = new Fleet(deps.kernel.db, deps.fleet);
  fleetRoutes(app, deps, fleet);
  streamRoutes(app, deps, feed);
  accountViewRoutes(app, deps);
}

/** The fleet of every cloud in one paged table, and one resource with its history. */
function fleetRoutes(app: App, deps: ConsoleDeps, fleet: Fleet): void {
  const { kernel, journal } = deps;
  const FleetQuery = Type.Object({
    cloud: Type.Optional(Type.String()),
    account: Type.Optional(Type.String()),
    project: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    status: Type.Optional(Type.String()),
    region: Type.Optional(Type.String()),
    q: Type.Optional(Type.String({ maxLength: 255 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  });
  app.get(
    '/fleet',
    { config: { doc: { operationId: 'listFleet', summary: "Every resource of every cloud, newest first, filtered and paged by the server", tags: ['Console'] } }, schema: { querystring: FleetQuery } },
    async (req) => {
      const { offset = 0, limit = 100, ...rest } = req.query;
      const filter: FleetFilter = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined && v !== ''));
      if (filter.kind !== undefined && !fleet.kinds().includes(filter.kind)) throw deps.invalid(`"kind" must be one of: ${fleet.kinds().join(', ')} (got "${filter.kind}")`);
      const page = await fleet.page(filter, offset, limit);
      return { total: page.total, offset, limit, resources: page.resources };
    },
  );
  app.get('/fleet/facets', { config: { doc: { operationId: 'fleetFacets', summary: 'How many resources each cloud, kind, status, region, account and project has', tags: ['Console'] } } }, async () => ({
    kinds_known: fleet.kinds(),
    ...(await fleet.facets()),
  }));
  app.get(
    '/fleet/:resource_id',
    { config: { doc: { operationId: 'getFleetResource', summary: 'One resource: its wire JSON as its cloud answers it, its lifecycle history, the requests that touched it, what it is attached to', tags: ['Console'] } }, schema: { params: Type.Object({ resource_id: Type.String() }) } },
    async (req) => {
      const id = req.params.resource_id;
      const found = await fleet.find(id);
      if (!found) throw deps.notFound('resource', id);
      const { source, row } = found;
      // (as the cloud answers it, but not counted as the client's read: see LifecycleEngine.unobserved)
      const wire = await kernel.lifecycle.unobserved(() => source.wire(row));
      const ids = [id, ...((await source.historyIds?.(id)) ?? [])];
      const history = await kernel.db
        .selectFrom('lifecycle_log')
        .select(['kind', 'resource_id', 'transition', 'from_state', 'to_state', 'due_at', 'applied_at'])
        .where('resource_id', 'in', ids)
        .execute();
      history.sort((a, b) => Number(a.applied_at) - Number(b.applied_at) || Number(a.due_at) - Number(b.due_at));
      const pending = await kernel.db.selectFrom('lifecycle_timers').select(['kind', 'resource_id', 'transition', 'due_at', 'held']).where('resource_id', 'in', ids).orderBy('due_at').execute();
      const referenced = [...new Set(idsIn(wire?.body).filter((other) => other !== id))];
      const [line] = await fleet.lines([id]);
      return {
        resource: line,
        wire,
        history: history.map((h) => ({
          kind: h.kind,
          resource_id: h.resource_id,
          transition: h.transition,
          from: h.from_state,
          to: h.to_state,
          due_at: new Date(Number(h.due_at)).toISOString(),
          applied_at: new Date(Number(h.applied_at)).toISOString(),
        })),
        pending: pending.map((p) => ({ kind: p.kind, resource_id: p.resource_id, transition: p.transition, due_at: new Date(Number(p.due_at)).toISOString(), held: Number(p.held) === 1 })),
        requests: journal.list().filter((entry) => ids.some((i) => entry.path.includes(i))),
        links: await fleet.lines(referenced),
      };
    },
  );
}

/** The pending transitions, and the stream of server-sent events. */
function streamRoutes(app: App, deps: ConsoleDeps, feed: EventFeed): void {
  const { kernel } = deps;
  const streams = new Set<ServerResponse>();
  app.get(
    '/lifecycle/pending',
    { config: { doc: { operationId: 'listPendingTransitions', summary: 'Transitions waiting to apply, soonest first: what a clock advance would apply', tags: ['Lifecycles'] } }, schema: { querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })) }) } },
    async (req) => {
      const limit = req.query.limit ?? 200;
      const [rows, count] = await Promise.all([
        kernel.db.selectFrom('lifecycle_timers').select(['kind', 'resource_id', 'transition', 'due_at', 'held', 'reads_left']).orderBy('held').orderBy('due_at').orderBy('id').limit(limit).execute(),
        kernel.db.selectFrom('lifecycle_timers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return {
        ...feed.clock(),
        total: Number(count.n),
        pending: rows.map((r) => ({
          kind: r.kind,
          resource_id: r.resource_id,
          transition: r.transition,
          due_at: new Date(Number(r.due_at)).toISOString(),
          held: Number(r.held) === 1,
          reads_left: r.reads_left === null ? null : Number(r.reads_left),
        })),
      };
    },
  );

  app.get(
    '/events',
    {
      config: {
        doc: {
          operationId: 'streamEvents',
          summary: 'Server-sent events: transitions applied (from the audit log, every replica), requests answered (this replica), clock changes',
          tags: ['Console'],
          produces: 'text/event-stream',
        },
      },
    },
    async (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      const send = (event: FeedEvent) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
      send({ type: 'clock', data: feed.clock() });
      streams.add(res);
      const unsubscribe = await feed.subscribe(send);
      const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
      const close = () => {
        clearInterval(keepalive);
        unsubscribe();
        streams.delete(res);
      };
      req.raw.once('close', close);
      res.once('close', close);
    },
  );
  // Open streams would hold the server open: they end when it closes.
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });
}

/** Usage per day, every account's quotas, and what a client needs to reach an account. */
function accountViewRoutes(app: App, deps: ConsoleDeps): void {
  const { kernel } = deps;
  const DateParam = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'a UTC day, YYYY-MM-DD' });
  app.get(
    '/usage/daily',
    {
      config: {
        doc: {
          operationId: 'dailyUsage',
          summary: 'Usage per UTC day, every account: Crusoe gpu-hours per project (metering ledger), Genesis instance-hours per account (audit log)',
          tags: ['Console'],
        },
      },
      schema: { querystring: Type.Object({ from: Type.Optional(DateParam), to: Type.Optional(DateParam) }) },
    },
    async (req) => {
      const today = Math.floor(kernel.clock.now() / DAY_MS) * DAY_MS;
      const to = req.query.to === undefined ? today : Date.parse(`${req.query.to}T00:00:00Z`);
      const from = req.query.from === undefined ? to - 13 * DAY_MS : Date.parse(`${req.query.from}T00:00:00Z`);
      if (Number.isNaN(from) || Number.isNaN(to)) throw deps.invalid('"from" and "to" must be days such as 2026-01-05');
      if (from > to) throw deps.invalid('"from" must not be after "to"');
      if (to - from > 366 * DAY_MS) throw deps.invalid('a range covers at most 367 days');
      return dailyUsage(kernel, deps.usage, await deps.projects(), from, to);
    },
  );

  app.get('/quotas', { config: { doc: { operationId: 'listQuotas', summary: "Every account's quotas and usage (each limit, what is used, whether an operator set it)", tags: ['Quotas and stock'] } } }, async () => ({
    accounts: await Promise.all(
      (await kernel.tenancy.list()).map(async (a) => ({ account_id: a.id, name: a.name, quotas: await kernel.counters.describe(kernel.db, a.id) })),
    ),
  }));

  app.get(
    '/accounts/:account_id/connect',
    {
      config: {
        doc: {
          operationId: 'connectSettings',
          summary: "What a client needs to reach an account: each cloud's URL, the account's Crusoe projects, and the secrets this process knows (the demo account's; others' are shown only when issued)",
          tags: ['Console'],
        },
      },
      schema: { params: Type.Object({ account_id: Type.String() }) },
    },
    async (req) => {
      const account = await kernel.tenancy.get(req.params.account_id);
      if (!account) throw deps.notFound('account', req.params.account_id);
      const base = `${req.protocol}://${req.host}`;
      const demo = deps.demo();
      const known = demo.accountId === account.id ? demo.credentials : {};
      const projects = await deps.projects(account.id);
      const credentials = await kernel.tenancy.credentials(account.id);
      return {
        account_id: account.id,
        name: account.name,
        base_url: base,
        clouds: Object.fromEntries(
          deps.clouds.map(({ name, prefix }) => {
            const secrets = Object.keys(known[name] ?? {}).length > 0 ? known[name]! : null;
            const own = projects.filter((p) => p.cloud === name);
            return [
              name,
              {
                url: `${base}${prefix}`,
                credentials: secrets,
                credential_ids: credentials.filter((c) => c.cloud === name).map((c) => c.id),
                // (on a cloud with projects: the account's, where a client's settings name one)
                ...(own.length > 0 ? { projects: own.map(({ cloud: _cloud, ...p }) => p) } : {}),
              },
            ];
          }),
        ),
      };
    },
  );
}

/** Every id-looking string in a wire body (where it names what the resource is attached to). */
function idsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (UUID_LIKE.test(value)) out.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) idsIn(item, out);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) idsIn(item, out);
  }
  return out;
}
