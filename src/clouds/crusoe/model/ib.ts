import type { Transaction } from 'kysely';
import type { Executor } from '../../../kernel/db/store.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { IbNetwork } from '../catalog.js';
import type { IbPartitionRow, ProjectRow } from '../tables.js';
import { CLOUD, type CrusoeContext } from './context.js';

export interface IbNetworkView {
  network: IbNetwork;
  /** Free units per InfiniBand VM type in the network's location. */
  capacities: { slice_type: string; quantity: number }[];
}

/**
 * InfiniBand: the networks of the catalog (one per location that sells IB types) and the
 * project's partitions on them, which IB VMs join through their host channel adapters.
 */
export class InfiniBand {
  constructor(private readonly ctx: CrusoeContext) {}

  async networks(): Promise<IbNetworkView[]> {
    const { catalog } = this.ctx;
    const views: IbNetworkView[] = [];
    for (const network of catalog.ibNetworks.values()) views.push(await this.view(network));
    return views;
  }

  async network(id: string): Promise<IbNetworkView> {
    const network = this.ctx.catalog.ibNetworks.get(id);
    if (!network) throw notFound('IB network', id);
    return this.view(network);
  }

  async partitions(projectId: string): Promise<IbPartitionRow[]> {
    return this.ctx.db.selectFrom('crusoe_ib_partitions').selectAll().where('project_id', '=', projectId).orderBy('seq').orderBy('id').execute();
  }

  async partition(projectId: string, id: string): Promise<IbPartitionRow> {
    const row = await this.find(this.ctx.db, projectId, id);
    if (!row) throw notFound('IB partition', id);
    return row;
  }

  async find(trx: Executor, projectId: string, id: string): Promise<IbPartitionRow | undefined> {
    return (await trx.selectFrom('crusoe_ib_partitions').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()) as
      | IbPartitionRow
      | undefined;
  }

  async createPartition(accountId: string, projectId: string, input: { name: string; ib_network_id: string }): Promise<IbPartitionRow> {
    const { kernel, db, catalog } = this.ctx;
    if (!catalog.ibNetworks.has(input.ib_network_id)) throw badRequest(`"ib_network_id": IB network "${input.ib_network_id}" not found`);
    const row: IbPartitionRow = {
      id: kernel.ids.uuid(),
      account_id: accountId,
      project_id: projectId,
      name: input.name,
      ib_network_id: input.ib_network_id,
      seq: kernel.ids.ordinal(kernel.clockFor(accountId).now()),
      created_at: kernel.clockFor(accountId).now(),
    };
    await db.insertInto('crusoe_ib_partitions').values(row).execute();
    return row;
  }

  async deletePartition(projectId: string, id: string): Promise<void> {
    const { db } = this.ctx;
    await db.transaction().execute(async (trx) => {
      const row = await this.find(trx, projectId, id);
      if (!row) throw notFound('IB partition', id);
      const member = await trx.selectFrom('crusoe_vms').select('id').where('ib_partition_id', '=', id).executeTakeFirst();
      if (member) throw conflict(`IB partition "${id}" is in use by VM "${member.id}": delete or move the VM first`);
      await trx.deleteFrom('crusoe_ib_partitions').where('id', '=', id).execute();
    });
  }

  async purgeProject(trx: Transaction<any>, project: ProjectRow): Promise<void> {
    await trx.deleteFrom('crusoe_ib_partitions').where('project_id', '=', project.id).execute();
  }

  private async view(network: IbNetwork): Promise<IbNetworkView> {
    const { catalog, kernel, db } = this.ctx;
    const stock = await kernel.capacity.list(db, CLOUD, network.location);
    const capacities = stock
      .filter((s) => catalog.types.get(s.sku)?.infiniband === true)
      .map((s) => ({ slice_type: s.sku, quantity: Math.max(0, s.total - s.used) }));
    return { network, capacities };
  }
}
