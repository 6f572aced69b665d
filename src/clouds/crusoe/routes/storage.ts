import type { App } from '../../../http/types.js';
import type { CrusoeModel } from '../model/index.js';
import { Family } from '../model/operations.js';
import { S3Buckets } from '../model/s3-buckets.js';
import { renderDisk, renderOperation, renderSnapshot } from '../render.js';
import {
  AsyncOperation,
  CreateDiskBody,
  CreateSnapshotBody,
  Disk,
  DiskList,
  ListDisksQuery,
  ProjectIdParam,
  ListS3BucketsQuery,
  ProjectParam,
  renderS3Bucket,
  ResizeDiskBody,
  S3Bucket,
  S3BucketList,
  S3BucketParam,
  CreateS3BucketBody,
  UpdateS3BucketTagsBody,
  Snapshot,
  SnapshotList,
} from '../wire.js';
import { operationRoutes } from './operations.js';

const disks = '/projects/:project_id/storage/disks';
const snapshots = '/projects/:project_id/storage/snapshots';
const buckets = '/projects/:project_id/storage/s3/buckets';
const operation = (row: Parameters<typeof renderOperation>[0]) => ({ operation: renderOperation(row) });

/** Disks and disk snapshots: reads answer at once, changes with an operation of their family. S3 buckets change at once. */
export function storageRoutes(app: App, m: CrusoeModel): void {
  const diskTags = ['Disks'];
  operationRoutes(app, m, { base: disks, family: Family.disks, tags: diskTags, listId: 'listStorageDisksOperations', getId: 'getStorageDisksOperation' });

  app.get(
    disks,
    { schema: { params: ProjectParam, querystring: ListDisksQuery, response: { 200: DiskList } }, config: { doc: { operationId: 'listDisks', summary: 'List disks', tags: diskTags } } },
    async (req) => ({ items: (await m.disks.list(req.params.project_id, req.query)).map(renderDisk) }),
  );

  app.post(
    disks,
    { schema: { params: ProjectParam, body: CreateDiskBody, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'createDisk', summary: 'Create a disk', tags: diskTags } } },
    async (req) => operation(await m.disks.create(req.accountId, req.params.project_id, req.body)),
  );

  app.get(
    `${disks}/:disk_id`,
    { schema: { params: ProjectIdParam('disk_id'), response: { 200: Disk } }, config: { doc: { operationId: 'getDisk', summary: 'Get a disk', tags: diskTags } } },
    async (req) => renderDisk(await m.disks.get(req.params.project_id, req.params.disk_id)),
  );

  app.delete(
    `${disks}/:disk_id`,
    { schema: { params: ProjectIdParam('disk_id'), response: { 200: AsyncOperation } }, config: { doc: { operationId: 'deleteDisk', summary: 'Delete a disk', tags: diskTags } } },
    async (req) => operation(await m.disks.delete(req.params.project_id, req.params.disk_id)),
  );

  app.patch(
    `${disks}/:disk_id`,
    {
      schema: { params: ProjectIdParam('disk_id'), body: ResizeDiskBody, response: { 200: AsyncOperation } },
      config: { doc: { operationId: 'resizeDisk', summary: 'Grow a disk', tags: diskTags } },
    },
    async (req) => operation(await m.disks.resize(req.params.project_id, req.params.disk_id, req.body.size)),
  );

  const snapshotTags = ['Snapshots'];
  operationRoutes(app, m, {
    base: snapshots,
    family: Family.snapshots,
    tags: snapshotTags,
    listId: 'listStorageSnapshotsOperations',
    getId: 'getStorageSnapshotsOperation',
  });

  app.get(
    snapshots,
    { schema: { params: ProjectParam, response: { 200: SnapshotList } }, config: { doc: { operationId: 'listDiskSnapshots', summary: 'List disk snapshots', tags: snapshotTags } } },
    async (req) => ({ items: (await m.snapshots.list(req.params.project_id)).map(renderSnapshot) }),
  );

  app.post(
    snapshots,
    {
      schema: { params: ProjectParam, body: CreateSnapshotBody, response: { 200: AsyncOperation } },
      config: { doc: { operationId: 'createDiskSnapshot', summary: 'Snapshot a disk', tags: snapshotTags } },
    },
    async (req) => operation(await m.snapshots.create(req.accountId, req.params.project_id, req.body)),
  );

  app.get(
    `${snapshots}/:snapshot_id`,
    { schema: { params: ProjectIdParam('snapshot_id'), response: { 200: Snapshot } }, config: { doc: { operationId: 'getDiskSnapshot', summary: 'Get a disk snapshot', tags: snapshotTags } } },
    async (req) => renderSnapshot(await m.snapshots.get(req.params.project_id, req.params.snapshot_id)),
  );

  app.delete(
    `${snapshots}/:snapshot_id`,
    {
      schema: { params: ProjectIdParam('snapshot_id'), response: { 200: AsyncOperation } },
      config: { doc: { operationId: 'deleteDiskSnapshot', summary: 'Delete a disk snapshot', tags: snapshotTags } },
    },
    async (req) => operation(await m.snapshots.delete(req.params.project_id, req.params.snapshot_id)),
  );

  bucketRoutes(app, new S3Buckets(m.ctx));
}

/** S3 buckets, addressed by name within their project. */
function bucketRoutes(app: App, b: S3Buckets): void {
  const tags = ['S3Buckets'];
  const doc = (operationId: string, summary: string, more: Record<string, unknown> = {}) => ({ doc: { operationId, summary, tags, ...more } });
  app.get(
    buckets,
    { schema: { params: ProjectParam, querystring: ListS3BucketsQuery, response: { 200: S3BucketList } }, config: doc('listS3Buckets', 'List S3 buckets') },
    async (req) => ({ items: (await b.list(req.params.project_id)).map(renderS3Bucket) }),
  );
  app.post(
    buckets,
    { schema: { params: ProjectParam, body: CreateS3BucketBody, response: { 200: S3Bucket } }, config: doc('createS3Bucket', 'Create an S3 bucket') },
    async (req) => renderS3Bucket(await b.create(req.accountId, req.params.project_id, req.body)),
  );
  app.get(
    `${buckets}/:bucket_name`,
    { schema: { params: S3BucketParam, response: { 200: S3Bucket } }, config: doc('getS3Bucket', 'Get an S3 bucket') },
    async (req) => renderS3Bucket(await b.get(req.params.project_id, req.params.bucket_name)),
  );
  app.patch(
    `${buckets}/:bucket_name`,
    { schema: { params: S3BucketParam, body: UpdateS3BucketTagsBody, response: { 200: S3Bucket } }, config: doc('updateS3BucketTags', "Replace an S3 bucket's tags") },
    async (req) => renderS3Bucket(await b.replaceTags(req.accountId, req.params.project_id, req.params.bucket_name, req.body.tags)),
  );
  app.delete(
    `${buckets}/:bucket_name`,
    { schema: { params: S3BucketParam }, config: doc('deleteS3Bucket', 'Delete an S3 bucket', { noContent: true }) },
    async (req, reply) => {
      await b.delete(req.params.project_id, req.params.bucket_name);
      return reply.code(204).send();
    },
  );
}
