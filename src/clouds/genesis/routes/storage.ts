import type { App } from '../../../http/types.js';
import type { GenesisModel } from '../model/index.js';
import { pageRequest } from '../model/pagination.js';
import { renderFilesystem, renderPage, renderVolume } from '../render.js';
import {
  CreateFilesystemBody,
  CreateVolumeBody,
  Filesystem,
  IdParam,
  page,
  PageQuery,
  PutVolumeBody,
  single,
  UpdateFilesystemBody,
  UpdateVolumeBody,
  Volume,
} from '../wire.js';

/** Volumes and filesystems. */
export function storageRoutes(app: App, m: GenesisModel): void {
  const volumeTags = ['Volumes'];
  const VolumeParams = IdParam('volume_id');
  const OneVolume = single('volume', Volume);

  app.get(
    '/volumes',
    { schema: { querystring: PageQuery, response: { 200: page('volumes', Volume) } }, config: { doc: { operationId: 'ListVolumesPaginated', tags: volumeTags } } },
    async (req) => renderPage('volumes', await m.volumes.list(req.accountId, pageRequest(req.query)), renderVolume),
  );
  app.post(
    '/volumes',
    { schema: { body: CreateVolumeBody, response: { 201: OneVolume } }, config: { doc: { operationId: 'CreateVolume', tags: volumeTags } } },
    async (req, reply) => reply.code(201).send({ volume: renderVolume(await m.volumes.create(req.accountId, req.body)) }),
  );
  app.get(
    '/volumes/:volume_id',
    { schema: { params: VolumeParams, response: { 200: OneVolume } }, config: { doc: { operationId: 'GetVolume', tags: volumeTags } } },
    async (req) => ({ volume: renderVolume(await m.volumes.get(req.accountId, req.params.volume_id)) }),
  );
  app.patch(
    '/volumes/:volume_id',
    { schema: { params: VolumeParams, body: UpdateVolumeBody, response: { 200: OneVolume } }, config: { doc: { operationId: 'UpdateVolume', tags: volumeTags } } },
    async (req) => ({ volume: renderVolume(await m.volumes.update(req.accountId, req.params.volume_id, req.body)) }),
  );
  // The official 2023 spec's update: PUT with name and description (the clients PATCH).
  app.put(
    '/volumes/:volume_id',
    { schema: { params: VolumeParams, body: PutVolumeBody, response: { 200: OneVolume } }, config: { doc: { operationId: 'PutVolume', tags: volumeTags } } },
    async (req) => ({ volume: renderVolume(await m.volumes.update(req.accountId, req.params.volume_id, req.body)) }),
  );
  app.delete(
    '/volumes/:volume_id',
    { schema: { params: VolumeParams }, config: { doc: { operationId: 'DeleteVolume', tags: volumeTags, noContent: true } } },
    async (req, reply) => {
      await m.volumes.delete(req.accountId, req.params.volume_id);
      return reply.code(204).send();
    },
  );

  const fsTags = ['Filesystems'];
  const FsParams = IdParam('filesystem_id');
  const OneFs = single('filesystem', Filesystem);

  app.get(
    '/filesystems',
    {
      schema: { querystring: PageQuery, response: { 200: page('filesystems', Filesystem) } },
      config: { doc: { operationId: 'ListFilesystemsPaginated', tags: fsTags } },
    },
    async (req) => renderPage('filesystems', await m.filesystems.list(req.accountId, pageRequest(req.query)), renderFilesystem),
  );
  app.post(
    '/filesystems',
    { schema: { body: CreateFilesystemBody, response: { 201: OneFs } }, config: { doc: { operationId: 'CreateFilesystem', tags: fsTags } } },
    async (req, reply) => reply.code(201).send({ filesystem: renderFilesystem(await m.filesystems.create(req.accountId, req.body)) }),
  );
  app.get(
    '/filesystems/:filesystem_id',
    { schema: { params: FsParams, response: { 200: OneFs } }, config: { doc: { operationId: 'GetFilesystem', tags: fsTags } } },
    async (req) => ({ filesystem: renderFilesystem(await m.filesystems.get(req.accountId, req.params.filesystem_id)) }),
  );
  app.patch(
    '/filesystems/:filesystem_id',
    { schema: { params: FsParams, body: UpdateFilesystemBody, response: { 200: OneFs } }, config: { doc: { operationId: 'UpdateFilesystem', tags: fsTags } } },
    async (req) => ({ filesystem: renderFilesystem(await m.filesystems.update(req.accountId, req.params.filesystem_id, req.body)) }),
  );
  app.delete(
    '/filesystems/:filesystem_id',
    { schema: { params: FsParams }, config: { doc: { operationId: 'DeleteFilesystem', tags: fsTags, noContent: true } } },
    async (req, reply) => {
      await m.filesystems.delete(req.accountId, req.params.filesystem_id);
      return reply.code(204).send();
    },
  );
}
