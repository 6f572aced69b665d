import type { App } from '../../../http/types.js';
import type { GenesisModel } from '../model/index.js';
import { pageRequest } from '../model/pagination.js';
import { renderPage, renderSnapshot } from '../render.js';
import { CloneSnapshotBody, CreateSnapshotBody, IdParam, page, PageQuery, single, Snapshot, UpdateSnapshotBody } from '../wire.js';

const tags = ['Snapshots'];
const Params = IdParam('snapshot_id');
const One = single('snapshot', Snapshot);

export function snapshotRoutes(app: App, m: GenesisModel): void {
  app.get(
    '/snapshots',
    { schema: { querystring: PageQuery, response: { 200: page('snapshots', Snapshot) } }, config: { doc: { operationId: 'ListSnapshotsPaginated', summary: 'List snapshots', tags } } },
    async (req) => renderPage('snapshots', await m.snapshots.list(req.accountId, pageRequest(req.query)), renderSnapshot),
  );

  app.post(
    '/snapshots',
    { schema: { body: CreateSnapshotBody, response: { 201: One } }, config: { doc: { operationId: 'CreateSnapshot', summary: 'Create a snapshot from an image URL', errors: { 403: 'Forbidden: the account reached its snapshot quota' }, tags } } },
    async (req, reply) => reply.code(201).send({ snapshot: renderSnapshot(await m.snapshots.createFromUrl(req.accountId, req.body)) }),
  );

  app.get(
    '/snapshots/:snapshot_id',
    { schema: { params: Params, response: { 200: One } }, config: { doc: { operationId: 'GetSnapshot', summary: 'Get a snapshot', tags } } },
    async (req) => ({ snapshot: renderSnapshot(await m.snapshots.get(req.accountId, req.params.snapshot_id)) }),
  );

  app.patch(
    '/snapshots/:snapshot_id',
    { schema: { params: Params, body: UpdateSnapshotBody, response: { 200: One } }, config: { doc: { operationId: 'UpdateSnapshot', summary: 'Rename a snapshot', tags } } },
    async (req) => ({ snapshot: renderSnapshot(await m.snapshots.rename(req.accountId, req.params.snapshot_id, req.body.name)) }),
  );

  app.delete(
    '/snapshots/:snapshot_id',
    { schema: { params: Params }, config: { doc: { noContent: true, operationId: 'DeleteSnapshot', summary: 'Delete a snapshot', tags } } },
    async (req, reply) => {
      await m.snapshots.delete(req.accountId, req.params.snapshot_id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/snapshots/:snapshot_id/clone',
    { schema: { params: Params, body: CloneSnapshotBody, response: { 201: One } }, config: { doc: { operationId: 'CloneSnapshot', summary: 'Clone a snapshot into another region', errors: { 403: 'Forbidden: the account reached its snapshot quota' }, tags } } },
    async (req, reply) =>
      reply.code(201).send({ snapshot: renderSnapshot(await m.snapshots.clone(req.accountId, req.params.snapshot_id, req.body)) }),
  );
}
