import { Type } from '@sinclair/typebox';
import type { App } from '../../../http/types.js';
import type { GenesisModel } from '../model/index.js';
import { pageRequest } from '../model/pagination.js';
import { renderApplication } from '../render.js';
import { Availability, AvailabilityQuery, CatalogEntry, page, PageQuery, Quota, RegionParam, Reservation } from '../wire.js';

export function catalogRoutes(app: App, m: GenesisModel): void {
  app.get(
    '/availability/:region/instances',
    {
      schema: { params: RegionParam, querystring: AvailabilityQuery, response: { 200: Availability } },
      config: { doc: { operationId: 'GetInstancesAvailability', summary: 'Instance types available in a region, and how many', tags: ['Availability'] } },
    },
    async (req) => {
      const view = await m.limits.availability(req.params.region, req.query.placement);
      return { availability: { type: 'instances', region: view.region, placement: view.placement, instance_types: view.types } };
    },
  );

  app.get(
    '/quotas',
    { schema: { response: { 200: Type.Object({ quotas: Type.Array(Quota) }) } }, config: { doc: { operationId: 'GetQuotas', summary: "The account's quotas and usage", tags: ['Quotas'] } } },
    async (req) => ({ quotas: await m.limits.quotas(req.accountId) }),
  );

  // The application catalog, in the shape of the JS client's Catalog type (its listCatalog);
  // neither official spec defines the route. The same for every account.
  const applications = m.ctx.catalog.applications.map((app) => renderApplication(app, (id) => m.ctx.catalog.imageById(id)));
  app.get(
    '/catalog',
    { schema: { querystring: PageQuery, response: { 200: page('catalog', CatalogEntry) } }, config: { doc: { operationId: 'ListCatalog', summary: 'List the marketplace catalog (preconfigured applications and their images)', tags: ['Catalog'] } } },
    async (req) => {
      const { page: number, perPage } = pageRequest(req.query);
      const start = (number - 1) * perPage;
      return { catalog: applications.slice(start, start + perPage), total_count: applications.length, page: number, per_page: perPage };
    },
  );

  // The reservations an operator made for the account (POST /admin/v1/reservations).
  app.get(
    '/reservations',
    {
      schema: { response: { 200: Type.Object({ reservations: Type.Array(Reservation) }) } },
      config: { doc: { operationId: 'GetReservations', summary: "The account's reservations", tags: ['Reservations'] } },
    },
    async (req) => ({
      reservations: (await m.ctx.kernel.reservations.list(m.ctx.kernel.db, { accountId: req.accountId, cloud: 'genesis' })).map((r) => ({
        id: r.id,
        flavor_name: r.sku,
        region: r.region,
        quota: { capacity: r.capacity, used: r.used },
        metadata: {},
      })),
    }),
  );
}
