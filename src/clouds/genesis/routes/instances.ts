import type { App } from '../../../http/types.js';
import type { GenesisModel } from '../model/index.js';
import { readAsCaller } from '../auth.js';
import { pageRequest } from '../model/pagination.js';
import { renderInstance, renderOneText, renderPage, renderPageText, renderSnapshot } from '../render.js';
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
  instanceResourceRoutes(app, m);
  instanceActionRoutes(app, m);
}

/** Create, read, update and delete. */
function instanceResourceRoutes(app: App, m: GenesisModel): void {
  const { kernel } = m.ctx;
  // (`cache` on the two routes a client polls while it waits on an instance: see http/read-cache.ts;
  // `fused`: read with the caller's credential in one statement on PostgreSQL, see auth.ts)
  app.get(
    '/instances',
    {
      schema: { querystring: PageQuery, response: { 200: page('instances', Instance) } },
      config: { doc: { operationId: 'ListInstancesPaginated', summary: 'List instances', tags }, cache: true, fused: true },
    },
    async (req, reply) => {
      const request = pageRequest(req.query);
      const found = await readAsCaller(kernel, req, (lookup) => m.instances.listAsCaller(lookup, request), (accountId) => m.instances.list(accountId, request));
      // (the instances come as the store wrote their JSON: the page goes out as that text, which
      // the type provider cannot see is the schema's shape, and is not serialised again)
      return reply.type('application/json; charset=utf-8').send(renderPageText('instances', found) as never);
    },
  );

  app.post(
    '/instances',
    { schema: { body: CreateInstanceBody, response: { 201: single('instance', Instance) } }, config: { doc: { operationId: 'CreateInstance', summary: 'Create an instance', errors: { 403: 'Forbidden: the account reached its instance quota' }, tags } } },
    async (req, reply) => reply.code(201).send({ instance: renderInstance(await m.instances.create(req.accountId, req.body)) }),
  );

  app.get(
    '/instances/:instance_id',
    { schema: { params: Params, response: { 200: single('instance', Instance) } }, config: { doc: { operationId: 'GetInstance', summary: 'Get an instance', tags }, cache: true, fused: true } },
    async (req, reply) => {
      const id = req.params.instance_id;
      // (the instance's JSON as kept since it last changed, or for its version, sent as it is, like a page's items)
      const text = await readAsCaller(kernel, req, (lookup) => m.instances.textAsCaller(lookup, id), (accountId) => m.instances.text(accountId, id));
      return reply.type('application/json; charset=utf-8').send(renderOneText('instance', await m.instances.seenText(req.accountId, id, text)) as never);
    },
  );

  app.patch(
    '/instances/:instance_id',
    {
      schema: { params: Params, body: UpdateInstanceBody, response: { 200: single('instance', Instance) } },
      config: { doc: { operationId: 'UpdateInstance', summary: 'Update an instance (name, protection, disk size, security groups, volumes, floating IP)', tags } },
    },
    async (req) => ({ instance: renderInstance(await m.instances.update(req.accountId, req.params.instance_id, req.body)) }),
  );

  app.delete(
    '/instances/:instance_id',
    { schema: { params: Params }, config: { doc: { noContent: true, operationId: 'DeleteInstance', summary: 'Destroy an instance', tags } } },
    async (req, reply) => {
      await m.instances.destroy(req.accountId, req.params.instance_id);
      return reply.code(204).send();
    },
  );
}

/** Actions and what hangs off an instance. */
function instanceActionRoutes(app: App, m: GenesisModel): void {
  app.get(
    '/instances/:instance_id/actions',
    { schema: { params: Params, response: { 200: Actions } }, config: { doc: { operationId: 'GetInstanceActions', summary: 'List the actions an instance allows now', tags } } },
    async (req) => ({ actions: await m.instances.actions(req.accountId, req.params.instance_id) }),
  );

  app.post(
    '/instances/:instance_id/actions',
    {
      schema: { params: Params, body: InstanceActionBody },
      config: { doc: { noContent: true, operationId: 'PerformInstanceAction', summary: 'Start, stop or reset an instance', tags } },
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
      config: { doc: { operationId: 'ListInstanceSnapshotsPaginated', summary: "List an instance's snapshots", tags } },
    },
    async (req) =>
      renderPage('snapshots', await m.instances.snapshots(req.accountId, req.params.instance_id, pageRequest(req.query)), renderSnapshot),
  );

  app.post(
    '/instances/:instance_id/snapshots',
    {
      schema: { params: Params, body: CreateInstanceSnapshotBody, response: { 201: single('snapshot', Snapshot) } },
      config: { doc: { operationId: 'CreateInstanceSnapshot', summary: 'Snapshot an instance', errors: { 403: 'Forbidden: the account reached its snapshot quota' }, tags } },
    },
    async (req, reply) =>
      reply.code(201).send({ snapshot: renderSnapshot(await m.instances.snapshot(req.accountId, req.params.instance_id, req.body)) }),
  );

  app.get(
    '/instances/:instance_id/user-metadata',
    { schema: { params: Params, response: { 200: UserMetadata } }, config: { doc: { operationId: 'GetInstanceUserMetadata', summary: "Get an instance's user metadata", tags } } },
    async (req) => m.instances.userMetadata(req.accountId, req.params.instance_id),
  );
}
