import type { App } from '../../../http/types.js';
import type { GenesisModel } from '../model/index.js';
import { pageRequest } from '../model/pagination.js';
import { renderInstance, renderPage, renderSnapshot } from '../render.js';
import {
  Actions,
  CreateInstanceBody,
  CreateInstanceSnapshotBody,
  IdParam,
  Instance,
  InstanceActionBody,
  page,
  PageQuery,
  single,
  Snapshot,
  UpdateInstanceBody,
  UserMetadata,
} from '../wire.js';

const tags = ['Instances'];
const Params = IdParam('instance_id');

export function instanceRoutes(app: App, m: GenesisModel): void {
  // (`cache` on the two routes a client polls while it waits on an instance: see http/read-cache.ts)
  app.get(
    '/instances',
    { schema: { querystring: PageQuery, response: { 200: page('instances', Instance) } }, config: { doc: { operationId: 'ListInstancesPaginated', tags }, cache: true } },
    async (req) => renderPage('instances', await m.instances.list(req.accountId, pageRequest(req.query)), renderInstance),
  );

  app.post(
    '/instances',
    { schema: { body: CreateInstanceBody, response: { 201: single('instance', Instance) } }, config: { doc: { operationId: 'CreateInstance', tags } } },
    async (req, reply) => reply.code(201).send({ instance: renderInstance(await m.instances.create(req.accountId, req.body)) }),
  );

  app.get(
    '/instances/:instance_id',
    { schema: { params: Params, response: { 200: single('instance', Instance) } }, config: { doc: { operationId: 'GetInstance', tags }, cache: true } },
    async (req) => ({ instance: renderInstance(await m.instances.get(req.accountId, req.params.instance_id)) }),
  );

  app.patch(
    '/instances/:instance_id',
    {
      schema: { params: Params, body: UpdateInstanceBody, response: { 200: single('instance', Instance) } },
      config: { doc: { operationId: 'UpdateInstance', tags } },
    },
    async (req) => ({ instance: renderInstance(await m.instances.update(req.accountId, req.params.instance_id, req.body)) }),
  );

  app.delete(
    '/instances/:instance_id',
    { schema: { params: Params }, config: { doc: { noContent: true, operationId: 'DeleteInstance', tags } } },
    async (req, reply) => {
      await m.instances.destroy(req.accountId, req.params.instance_id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/instances/:instance_id/actions',
    { schema: { params: Params, response: { 200: Actions } }, config: { doc: { operationId: 'GetInstanceActions', tags } } },
    async (req) => ({ actions: await m.instances.actions(req.accountId, req.params.instance_id) }),
  );

  app.post(
    '/instances/:instance_id/actions',
    {
      schema: { params: Params, body: InstanceActionBody },
      config: { doc: { noContent: true, operationId: 'PerformInstanceAction', tags } },
    },
    async (req, reply) => {
      await m.instances.perform(req.accountId, req.params.instance_id, req.body.action);
      return reply.code(204).send();
    },
  );

  app.get(
    '/instances/:instance_id/snapshots',
    {
      schema: { params: Params, querystring: PageQuery, response: { 200: page('snapshots', Snapshot) } },
      config: { doc: { operationId: 'ListInstanceSnapshotsPaginated', tags } },
    },
    async (req) =>
      renderPage('snapshots', await m.instances.snapshots(req.accountId, req.params.instance_id, pageRequest(req.query)), renderSnapshot),
  );

  app.post(
    '/instances/:instance_id/snapshots',
    {
      schema: { params: Params, body: CreateInstanceSnapshotBody, response: { 201: single('snapshot', Snapshot) } },
      config: { doc: { operationId: 'CreateInstanceSnapshot', tags } },
    },
    async (req, reply) =>
      reply.code(201).send({ snapshot: renderSnapshot(await m.instances.snapshot(req.accountId, req.params.instance_id, req.body)) }),
  );

  app.get(
    '/instances/:instance_id/user-metadata',
    { schema: { params: Params, response: { 200: UserMetadata } }, config: { doc: { operationId: 'GetInstanceUserMetadata', tags } } },
    async (req) => m.instances.userMetadata(req.accountId, req.params.instance_id),
  );
}
