import type { Executor } from '../../../kernel/db/store.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { S3BucketRow } from '../tables.js';
import { renderS3Bucket, type CreateS3BucketInput } from '../wire.js';
import { CLOUD, type CrusoeContext } from './context.js';
import type { CrusoeModel } from './index.js';

/** A bucket's name, as S3 wants it (DNS-compliant): 3 to 63 lowercase letters, digits and hyphens. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/**
 * S3 buckets (object storage): made at once in a location of the project, named uniquely
 * within it. Object lock needs versioning (a bucket asked for one without the other gets
 * versioning turned on), and a retention period needs object lock. Only the tags change later.
 */
export class S3Buckets {
  constructor(private readonly ctx: CrusoeContext) {}

  async list(projectId: string): Promise<S3BucketRow[]> {
    return this.ctx.db.selectFrom('crusoe_s3_buckets').selectAll().where('project_id', '=', projectId).orderBy('seq').orderBy('id').execute();
  }

  async get(projectId: string, name: string, trx: Executor = this.ctx.db): Promise<S3BucketRow> {
    const row = await trx.selectFrom('crusoe_s3_buckets').selectAll().where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
    if (!row) throw notFound('bucket', name);
    return row as S3BucketRow;
  }

  async create(accountId: string, projectId: string, input: CreateS3BucketInput): Promise<S3BucketRow> {
    const { kernel, catalog, db } = this.ctx;
    if (!BUCKET_NAME.test(input.name)) throw badRequest(`"name" must be 3 to 63 lowercase letters, digits or hyphens, starting and ending with a letter or digit (got "${input.name}")`);
    if (!catalog.locations.has(input.location)) throw badRequest(`"location" must be one of: ${[...catalog.locations.keys()].join(', ')}`);
    const locked = input.object_lock_enabled === true;
    if (locked && input.versioning_state !== undefined && input.versioning_state !== 'enabled') {
      throw badRequest(`"object_lock_enabled" needs versioning: "versioning_state" must be "enabled" (got "${input.versioning_state}")`);
    }
    if (!locked && (input.retention_period !== undefined || input.retention_period_unit !== undefined)) {
      throw badRequest('"retention_period" and "retention_period_unit" apply only with "object_lock_enabled": true');
    }
    return db.transaction().execute(async (trx) => {
      const taken = await trx.selectFrom('crusoe_s3_buckets').select('id').where('project_id', '=', projectId).where('name', '=', input.name).executeTakeFirst();
      if (taken) throw conflict(`a bucket named "${input.name}" already exists in this project`);
      const now = kernel.clockFor(accountId).now();
      const row: S3BucketRow = {
        id: kernel.ids.uuid(),
        account_id: accountId,
        project_id: projectId,
        name: input.name,
        location: input.location,
        versioning_state: locked ? 'enabled' : (input.versioning_state ?? 'disabled'),
        object_lock_enabled: locked ? 1 : 0,
        retention_period: locked ? (input.retention_period ?? null) : null,
        retention_period_unit: locked && input.retention_period !== undefined ? (input.retention_period_unit ?? 'days') : null,
        tags: JSON.stringify(input.tags ?? {}),
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('crusoe_s3_buckets').values(row).execute();
      return row;
    });
  }

  /** Replaces the bucket's tags with the ones given. */
  async replaceTags(accountId: string, projectId: string, name: string, tags: Record<string, string>): Promise<S3BucketRow> {
    return this.ctx.db.transaction().execute(async (trx) => {
      const row = await this.get(projectId, name, trx);
      const set = { tags: JSON.stringify(tags), updated_at: this.ctx.kernel.clockFor(accountId).now() };
      await trx.updateTable('crusoe_s3_buckets').set(set).where('id', '=', row.id).execute();
      return { ...row, ...set };
    });
  }

  async delete(projectId: string, name: string): Promise<void> {
    await this.ctx.db.transaction().execute(async (trx) => {
      const row = await this.get(projectId, name, trx);
      await trx.deleteFrom('crusoe_s3_buckets').where('id', '=', row.id).execute();
    });
  }
}

/** The S3 bucket as a resource: its table and place in the fleet, by name (kernel/resources.ts). */
export const s3BucketResource: ResourceDef<CrusoeModel> = declareResource({
  cloud: CLOUD,
  kind: 'crusoe.s3_bucket',
  table: 'crusoe_s3_buckets',
  fleet: { collection: 'storage/s3/buckets', key: 'name', columns: { status: null }, read: async (m, p, name) => renderS3Bucket(await new S3Buckets(m.ctx).get(p, name)) },
});
