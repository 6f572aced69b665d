import type { App } from '../../../http/types.js';
import { badRequest, notFound } from '../errors.js';
import type { CrusoeModel } from '../model/index.js';
import { renderIbNetwork, renderIbPartition, renderImage, renderType } from '../render.js';
import {
  CapacitiesQuery,
  CapacityList,
  CreateIbPartitionBody,
  IbNetwork,
  IbNetworkList,
  IbPartition,
  IbPartitionList,
  IdParam,
  Image,
  ImageList,
  ImagesQuery,
  LocationList,
  ProjectIdParam,
  ProjectParam,
  VmTypeList,
} from '../wire.js';

/**
 * A list filter's values: comma-separated, repeated, or in the seed's bracketed form
 * (`product_name=[a100.1x, a100.2x]`).
 */
const split = (values: string[] | undefined) =>
  (values ?? [])
    .map((v) => v.trim().replace(/^\[(.*)\]$/s, '$1'))
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);

/** What there is to run on: locations, VM types, images, free capacity, InfiniBand. */
export function catalogRoutes(app: App, m: CrusoeModel): void {
  offerRoutes(app, m);
  partitionRoutes(app, m);
}

/** Locations, VM types, images, free capacity, InfiniBand networks. */
function offerRoutes(app: App, m: CrusoeModel): void {
  const { catalog } = m.ctx;
  const images = catalog.images.map(renderImage);
  const types = { items: [...catalog.types.values()].map(renderType) };
  const locations = { items: [...catalog.locations.keys()] };

  app.get(
    '/compute/images',
    { schema: { querystring: ImagesQuery, response: { 200: ImageList } }, config: { doc: { operationId: 'listImages', summary: 'List VM images', tags: ['Images'] } } },
    async (req) => {
      const group = req.query.product_group;
      if (group === undefined || group === '') return { items: images };
      const known = catalog.productGroups();
      if (!known.includes(group)) throw badRequest(`"product_group": "${group}" is not a product group (known: ${known.join(', ')})`);
      return { items: images.filter((_, i) => catalog.images[i]!.product_groups?.includes(group) ?? true) };
    },
  );

  app.get(
    '/compute/images/:image_id',
    { schema: { params: IdParam('image_id'), response: { 200: Image } }, config: { doc: { operationId: 'getImage', summary: 'Get a VM image', tags: ['Images'] } } },
    async (req) => {
      const image = catalog.getImage(req.params.image_id);
      if (!image) throw notFound('image', req.params.image_id);
      return renderImage(image);
    },
  );

  app.get(
    '/locations',
    { schema: { response: { 200: LocationList } }, config: { doc: { operationId: 'listLocations', summary: 'List locations', tags: ['Locations'] } } },
    async () => locations,
  );

  app.get(
    '/capacities',
    { schema: { querystring: CapacitiesQuery, response: { 200: CapacityList } }, config: { doc: { operationId: 'listSliceCapacities', summary: 'Capacity by VM type and location', tags: ['Capacities'] } } },
    async (req) => ({ items: await m.capacities({ types: split(req.query.product_name), locations: split(req.query.location) }) }),
  );

  app.get(
    '/projects/:project_id/compute/vms/types',
    { schema: { params: ProjectParam, response: { 200: VmTypeList } }, config: { doc: { operationId: 'getVMTypes', summary: 'List VM types', tags: ['VMs'] } } },
    async () => types,
  );

  app.get(
    '/projects/:project_id/networking/ib-networks',
    { schema: { params: ProjectParam, response: { 200: IbNetworkList } }, config: { doc: { operationId: 'listIBNetworks', summary: 'List InfiniBand networks', tags: ['IB Networks'] } } },
    async () => ({ items: (await m.ib.networks()).map(renderIbNetwork) }),
  );

  app.get(
    '/projects/:project_id/networking/ib-networks/:ib_network_id',
    {
      schema: { params: ProjectIdParam('ib_network_id'), response: { 200: IbNetwork } },
      config: { doc: { operationId: 'getIBNetwork', summary: 'Get an InfiniBand network', tags: ['IB Networks'] } },
    },
    async (req) => renderIbNetwork(await m.ib.network(req.params.ib_network_id)),
  );
}

/** InfiniBand partitions. */
function partitionRoutes(app: App, m: CrusoeModel): void {
  app.get(
    '/projects/:project_id/networking/ib-partitions',
    { schema: { params: ProjectParam, response: { 200: IbPartitionList } }, config: { doc: { operationId: 'listIBPartitions', summary: 'List InfiniBand partitions', tags: ['IB Partitions'] } } },
    async (req) => ({ items: (await m.ib.partitions(req.params.project_id)).map(renderIbPartition) }),
  );

  app.post(
    '/projects/:project_id/networking/ib-partitions',
    {
      schema: { params: ProjectParam, body: CreateIbPartitionBody, response: { 200: IbPartition } },
      config: { doc: { operationId: 'createIBPartition', summary: 'Create an InfiniBand partition', tags: ['IB Partitions'] } },
    },
    async (req) => renderIbPartition(await m.ib.createPartition(req.accountId, req.params.project_id, req.body)),
  );

  app.get(
    '/projects/:project_id/networking/ib-partitions/:ib_partition_id',
    {
      schema: { params: ProjectIdParam('ib_partition_id'), response: { 200: IbPartition } },
      config: { doc: { operationId: 'getIBPartition', summary: 'Get an InfiniBand partition', tags: ['IB Partitions'] } },
    },
    async (req) => renderIbPartition(await m.ib.partition(req.params.project_id, req.params.ib_partition_id)),
  );

  app.delete(
    '/projects/:project_id/networking/ib-partitions/:ib_partition_id',
    { schema: { params: ProjectIdParam('ib_partition_id') }, config: { doc: { operationId: 'deleteIBPartition', summary: 'Delete an InfiniBand partition', emptyOk: true, tags: ['IB Partitions'] } } },
    async (req, reply) => {
      await m.ib.deletePartition(req.params.project_id, req.params.ib_partition_id);
      return reply.code(200).send();
    },
  );
}
