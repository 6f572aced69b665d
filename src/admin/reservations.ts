import { Type } from '@sinclair/typebox';
import type { App } from '../http/types.js';
import { AdminError, invalid, notFound, type AdminDeps } from './common.js';

/**
 * Reservations: capacity an account reserved of one SKU in one region, for either cloud. Genesis
 * lists them (GET /reservations) and its instances name them (reservation_id on create and
 * PATCH); Crusoe VMs name them (reservation_specification, RESERVE).
 */
export function reservationRoutes(app: App, deps: AdminDeps): void {
  const { kernel } = deps;
  const tags = ['Reservations'];
  app.post(
    '/reservations',
    {
      config: { doc: { operationId: 'createReservation', summary: 'Reserve capacity of one SKU in one region for an account', tags } },
      schema: {
        body: Type.Object({
          account_id: Type.String({ minLength: 1 }),
          cloud: Type.String({ minLength: 1 }),
          sku: Type.String({ minLength: 1, description: 'an instance type (Genesis) or VM type (Crusoe) with stock in the region' }),
          region: Type.String({ minLength: 1, description: 'a Genesis region or a Crusoe location' }),
          capacity: Type.Integer({ minimum: 1, maximum: 100_000 }),
        }),
      },
    },
    async (req, reply) => {
      const { account_id: accountId, cloud, sku, region, capacity } = req.body;
      if (!(await kernel.tenancy.get(accountId))) throw notFound('account', accountId);
      if (!kernel.tenancy.clouds().includes(cloud)) throw invalid(`"cloud" must be one of: ${kernel.tenancy.clouds().join(', ')}`);
      const stock = await kernel.capacity.list(kernel.db, cloud, region);
      if (!stock.some((line) => line.sku === sku)) throw invalid(`${cloud} has no "${sku}" in "${region}" (GET /admin/v1/capacity lists what it has)`);
      return reply.code(201).send(await kernel.reservations.create({ accountId, cloud, sku, region, capacity }));
    },
  );
  app.get(
    '/reservations',
    {
      config: { doc: { operationId: 'listReservations', summary: 'List reservations, with what each has in use', tags } },
      schema: { querystring: Type.Object({ account_id: Type.Optional(Type.String()), cloud: Type.Optional(Type.String()) }) },
    },
    async (req) => ({ reservations: await kernel.reservations.list(kernel.db, { accountId: req.query.account_id, cloud: req.query.cloud }) }),
  );
  app.delete(
    '/reservations/:reservation_id',
    {
      config: { doc: { operationId: 'deleteReservation', summary: 'Remove a reservation nothing counts against', tags, noContent: true } },
      schema: { params: Type.Object({ reservation_id: Type.String() }) },
    },
    async (req, reply) => {
      const outcome = await kernel.reservations.delete(req.params.reservation_id);
      if (outcome === 'not_found') throw notFound('reservation', req.params.reservation_id);
      if (outcome === 'in_use') throw new AdminError(409, 'conflict', `reservation "${req.params.reservation_id}" is in use: move its resources off it (Genesis: PATCH reservation_id null; Crusoe: UNRESERVE) or delete them first`);
      return reply.code(204).send();
    },
  );
}
