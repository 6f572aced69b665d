import { Type } from '@sinclair/typebox';
import type { App } from '../http/types.js';
import { AccountParams, invalid, notFound, type AdminDeps } from './common.js';

/** An account's quotas and usage. */
export function quotaRoutes(app: App, deps: AdminDeps): void {
  const { kernel } = deps;
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
}

/** Stock by cloud, region and SKU. */
export function capacityRoutes(app: App, deps: AdminDeps): void {
  const { kernel } = deps;
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
}
