import { alreadyDeleting, badRequest, Code, genesisError } from '../errors.js';
import type { FilesystemRow } from '../tables.js';
import type { CreateFilesystemInput, UpdateVolumeInput } from '../wire.js';
import { CLOUD, Counter, type GenesisContext } from './context.js';
import { getOwned } from './owned.js';
import { fetchPage, type Page, type PageRequest } from './pagination.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { GenesisModel } from './index.js';
import { renderFilesystem } from '../render.js';
import { filesystemMachine } from '../lifecycles.js';

export const FILESYSTEM_KIND = 'genesis.filesystem';
export const MAX_FILESYSTEM_GIB = 1_048_576;
const NOT_FOUND = Code.FilesystemNotFound;

/**
 * Shared filesystems (type vast): created in a region that offers them; once created they
 * have a mount base path and a range of mount endpoint addresses. They grow, never shrink.
 */
export class Filesystems {
  constructor(private readonly ctx: GenesisContext) {}

  async list(accountId: string, request: PageRequest): Promise<Page<FilesystemRow>> {
    const { db, kernel } = this.ctx;
    return fetchPage(
      db.selectFrom('genesis_filesystems').selectAll().where('account_id', '=', accountId),
      request,
      kernel.counters.get(db, accountId, Counter.filesystems),
    ) as Promise<Page<FilesystemRow>>;
  }

  async get(accountId: string, id: string): Promise<FilesystemRow> {
    const read = () => getOwned(this.ctx.db, 'genesis_filesystems', accountId, id, NOT_FOUND, 'filesystem');
    const row = await read();
    return (await this.ctx.kernel.lifecycle.noteRead(FILESYSTEM_KIND, id)) ? read() : row;
  }

  async create(accountId: string, input: CreateFilesystemInput): Promise<FilesystemRow> {
    const { catalog, kernel, db } = this.ctx;
    const region = catalog.regions.get(input.region);
    if (!region) throw badRequest(`"region" must be one of: ${[...catalog.regions.keys()].join(', ')}`);
    if (!region.filesystems) {
      const offering = [...catalog.regions.values()].filter((r) => r.filesystems).map((r) => r.id);
      throw badRequest(`filesystems are not available in ${input.region} (available in: ${offering.join(', ')})`);
    }
    checkSize(input.size);
    return this.ctx.kernel.lifecycle.groupedTransaction(async (trx) => {
      const now = kernel.clockFor(accountId).now();
      const row: FilesystemRow = {
        id: kernel.ids.uuid(),
        account_id: accountId,
        name: input.name,
        description: input.description ?? '',
        type: input.type ?? 'vast',
        size: input.size,
        region: input.region,
        status: 'creating',
        mount_endpoint_range: null,
        mount_base_path: null,
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('genesis_filesystems').values(row).execute();
      await kernel.counters.add(trx, accountId, Counter.filesystems, 1);
      await kernel.lifecycle.begin(trx, FILESYSTEM_KIND, row.id, 'create', { from: null, accountId });
      return row;
    });
  }

  async update(accountId: string, id: string, input: UpdateVolumeInput): Promise<FilesystemRow> {
    const { db, kernel } = this.ctx;
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await getOwned(trx, 'genesis_filesystems', accountId, id, NOT_FOUND, 'filesystem');
      if (row.status !== 'created') throw genesisError(Code.NotAllowed, `filesystem "${id}" cannot be updated while it is ${row.status}`);
      const set: Partial<FilesystemRow> = {};
      if (input.name !== undefined) set.name = input.name;
      if (input.description !== undefined) set.description = input.description;
      if (input.size !== undefined && input.size !== row.size) {
        if (input.size < row.size) throw badRequest(`"size" can only be increased (the filesystem has ${row.size} GiB)`);
        checkSize(input.size);
        set.size = input.size;
      }
      if (Object.keys(set).length > 0) {
        set.updated_at = kernel.clockFor(accountId).now();
        await trx.updateTable('genesis_filesystems').set(set).where('id', '=', id).execute();
      }
      return { ...row, ...set };
    });
  }

  async delete(accountId: string, id: string): Promise<void> {
    const { db, kernel } = this.ctx;
    await this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await getOwned(trx, 'genesis_filesystems', accountId, id, NOT_FOUND, 'filesystem');
      if (row.status === 'deleting') throw alreadyDeleting(Code.NotAllowed, 'filesystem', id);
      if (row.status !== 'created' && row.status !== 'error') {
        throw genesisError(Code.NotAllowed, `filesystem "${id}" cannot be deleted while it is ${row.status}`);
      }
      await trx.updateTable('genesis_filesystems').set({ status: 'deleting', updated_at: kernel.clockFor(accountId).now() }).where('id', '=', id).execute();
      await kernel.lifecycle.begin(trx, FILESYSTEM_KIND, id, 'delete', { from: row.status, accountId });
    });
  }
}

function checkSize(size: number): void {
  if (size < 1 || size > MAX_FILESYSTEM_GIB) throw badRequest(`"size" must be between 1 and ${MAX_FILESYSTEM_GIB} (GiB)`);
}

/** The filesystem as a resource: its table, counter, machine and place in the fleet (kernel/resources.ts). */
export const filesystemResource: ResourceDef<GenesisModel> = declareResource({
  cloud: CLOUD,
  kind: FILESYSTEM_KIND,
  table: 'genesis_filesystems',
  counter: Counter.filesystems,
  machine: (m) => filesystemMachine(m.ctx),
  fleet: { collection: 'filesystems', columns: { type: 'type' }, read: async (m, a, id) => ({ filesystem: renderFilesystem(await m.filesystems.get(a, id)) }) },
});
