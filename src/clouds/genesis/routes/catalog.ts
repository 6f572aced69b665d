import { Type } from '@sinclair/typebox';
import type { App } from '../../../http/types.js';
import type { GenesisModel } from '../model/index.js';
import { Availability, AvailabilityQuery, Quota, RegionParam, Reservation } from '../wire.js';

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

  // Hangar sells no reservations, so every account's list is empty; the route exists so that
  // clients which read it (the Go client does) get the real shape.
  app.get(
    '/reservations',
    {
      schema: { response: { 200: Type.Object({ reservations: Type.Array(Reservation) }) } },
      config: { doc: { operationId: 'GetReservations', summary: "The account's reservations", tags: ['Reservations'] } },
    },
    async () => ({ reservations: [] }),
  );
}
