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
      config: { doc: { operationId: 'GetInstancesAvailability', tags: ['Availability'] } },
    },
    async (req) => {
      const view = await m.limits.availability(req.params.region, req.query.placement);
      return { availability: { type: 'instances', region: view.region, placement: view.placement, instance_types: view.types } };
    },
  );

  app.get(
    '/quotas',
    { schema: { response: { 200: Type.Object({ quotas: Type.Array(Quota) }) } }, config: { doc: { operationId: 'GetQuotas', tags: ['Quotas'] } } },
    async (req) => ({ quotas: await m.limits.quotas(req.accountId) }),
  );

  // The application catalog, in the shape of the JS client's Catalog type (its listCatalog);
  // neither official spec defines the route. The same for every account.
  const applications = m.ctx.catalog.applications.map((app) => renderApplication(app, (id) => m.ctx.catalog.imageById(id)));
  app.get(
    '/catalog',
    { schema: { querystring: PageQuery, response: { 200: page('catalog', CatalogEntry) } }, config: { doc: { operationId: 'ListCatalog', tags: ['Catalog'] } } },
    async (req) => {
      const { page: number, perPage } = pageRequest(req.query);
      const start = (number - 1) * perPage;
      return { catalog: applications.slice(start, start + perPage), total_count: applications.length, page: number, per_page: perPage };
    },
  );

  // Hangar sells no reservations, so every account's list is empty; the route exists so that
  // clients which read it (the Go client does) get the real shape.
  app.get(
    '/reservations',
    {
      schema: { response: { 200: Type.Object({ reservations: Type.Array(Reservation) }) } },
      config: { doc: { operationId: 'GetReservations', tags: ['Reservations'] } },
    },
    async () => ({ reservations: [] }),
  );
}
