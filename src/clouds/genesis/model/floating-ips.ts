import type { Executor } from '../../../kernel/db/store.js';
import { alreadyDeleting, badRequest, Code, genesisError } from '../errors.js';
import type { FloatingIpRow } from '../tables.js';
import type { CreateFloatingIpInput } from '../wire.js';
import { publicPool } from './addresses.js';
import { CLOUD, Counter, type GenesisContext } from './context.js';
import { getOwned, linkedInstances, renameLinks } from './owned.js';
import { fetchPage, type Page, type PageRequest } from './pagination.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { GenesisModel } from './index.js';
import { renderFloatingIp } from '../render.js';
import { simpleMachine } from '../lifecycles.js';

export const FLOATING_IP_KIND = 'genesis.floating_ip';
const NOT_FOUND = Code.FloatingIpNotFound;

export interface FloatingIpView {
  row: FloatingIpRow;
  instance: { id: string; name: string } | null;
}

/**
 * Floating IPs: a public address reserved in a region, attached to at most one instance of
 * that region (at creation or by PATCH), kept when the instance stops or goes.
 */
export class FloatingIps {
  constructor(private readonly ctx: GenesisContext) {}

  async list(accountId: string, request: PageRequest): Promise<Page<FloatingIpView>> {
    const { db, kernel } = this.ctx;
    const page = await fetchPage(
      db.selectFrom('genesis_floating_ips').selectAll().where('account_id', '=', accountId),
      request,
      kernel.counters.get(db, accountId, Counter.floatingIps),
    );
    return { ...page, items: await this.views(db, page.items as FloatingIpRow[]) };
  }

  async get(accountId: string, id: string): Promise<FloatingIpView> {
    let row = await this.find(this.ctx.db, accountId, id);
    if (await this.ctx.kernel.lifecycle.noteRead(FLOATING_IP_KIND, id)) row = await this.find(this.ctx.db, accountId, id);
    return (await this.views(this.ctx.db, [row]))[0]!;
  }

  async create(accountId: string, input: CreateFloatingIpInput): Promise<FloatingIpView> {
    const { catalog, kernel, db } = this.ctx;
    if (!catalog.regions.has(input.region)) throw badRequest(`"region" must be one of: ${[...catalog.regions.keys()].join(', ')}`);
    return this.ctx.kernel.lifecycle.groupedTransaction(async (trx) => {
      if (!(await kernel.counters.acquire(trx, accountId, Counter.floatingIps))) {
        const limit = await kernel.counters.limit(trx, accountId, Counter.floatingIps);
        throw genesisError(Code.MaxStaticIpQuotaReached, `max static public ip quota reached: this account may keep at most ${limit} floating IPs`);
      }
      const id = kernel.ids.uuid();
      const address = await kernel.ipam.allocate(trx, publicPool(input.region), id);
      if (address === null) throw genesisError(Code.OutOfStock, `no public IPv4 address is free in ${input.region}`);
      const now = kernel.clockFor(accountId).now();
      const row: FloatingIpRow = {
        id,
        account_id: accountId,
        name: input.name,
        description: input.description ?? '',
        region: input.region,
        version: input.version ?? 'ipv4',
        ip_address: address,
        status: 'creating',
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('genesis_floating_ips').values(row).execute();
      await kernel.lifecycle.begin(trx, FLOATING_IP_KIND, id, 'create', { from: null, accountId });
      return { row, instance: null };
    });
  }

  async update(accountId: string, id: string, input: { name?: string; description?: string }): Promise<FloatingIpView> {
    const { db, kernel } = this.ctx;
    return this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.find(trx, accountId, id);
      const set: Partial<FloatingIpRow> = {};
      if (input.name !== undefined && input.name !== row.name) {
        set.name = input.name;
        await renameLinks(trx, 'floating_ip', id, input.name);
      }
      if (input.description !== undefined) set.description = input.description;
      if (Object.keys(set).length > 0) {
        set.updated_at = kernel.clockFor(accountId).now();
        await trx.updateTable('genesis_floating_ips').set(set).where('id', '=', id).execute();
      }
      return (await this.views(trx, [{ ...row, ...set }]))[0]!;
    });
  }

  async delete(accountId: string, id: string): Promise<void> {
    const { db, kernel } = this.ctx;
    await this.ctx.kernel.lifecycle.transaction(async (trx) => {
      const row = await this.find(trx, accountId, id);
      if (row.status === 'deleting') throw alreadyDeleting(Code.NotAllowed, 'floating ip', id);
      const holder = (await linkedInstances(trx, 'floating_ip', [id])).get(id)?.[0];
      if (holder) {
        throw genesisError(Code.NotAllowed, `floating ip "${id}" is attached to instance "${holder.id}": detach it before deleting`);
      }
      if (row.status !== 'created' && row.status !== 'error') {
        throw genesisError(Code.NotAllowed, `floating ip "${id}" cannot be deleted while it is ${row.status}`);
      }
      await trx.updateTable('genesis_floating_ips').set({ status: 'deleting', updated_at: kernel.clockFor(accountId).now() }).where('id', '=', id).execute();
      await kernel.lifecycle.begin(trx, FLOATING_IP_KIND, id, 'delete', { from: row.status, accountId });
    });
  }

  /** The floating IP named for an instance: the account's, in the region, settled and free. */
  async resolveForAttach(trx: Executor, accountId: string, region: string, id: string, instanceId: string | null): Promise<FloatingIpRow> {
    const row = await this.find(trx, accountId, id);
    if (row.region !== region) {
      throw genesisError(Code.RegionsMismatch, `regions mismatch (check floating ip "${id}": it is in ${row.region}, the instance in ${region})`);
    }
    if (row.status !== 'created') throw genesisError(Code.NotAllowed, `floating ip "${id}" cannot be attached while it is ${row.status}`);
    const holder = (await linkedInstances(trx, 'floating_ip', [id])).get(id)?.[0];
    if (holder && holder.id !== instanceId) {
      throw genesisError(Code.NotAllowed, `floating ip "${id}" is already attached to instance "${holder.id}"`);
    }
    return row;
  }

  private find(trx: Executor, accountId: string, id: string): Promise<FloatingIpRow> {
    return getOwned(trx, 'genesis_floating_ips', accountId, id, NOT_FOUND, 'floating ip');
  }

  private async views(trx: Executor, rows: FloatingIpRow[]): Promise<FloatingIpView[]> {
    const holders = await linkedInstances(
      trx,
      'floating_ip',
      rows.map((r) => r.id),
    );
    return rows.map((row) => ({ row, instance: holders.get(row.id)?.[0] ?? null }));
  }
}

/** The floating ip as a resource: its table, counter, quota, machine and place in the fleet (kernel/resources.ts). */
export const floatingIpResource: ResourceDef<GenesisModel> = declareResource({
  cloud: CLOUD,
  kind: FLOATING_IP_KIND,
  table: 'genesis_floating_ips',
  counter: Counter.floatingIps,
  quota: 1000,
  machine: (m) => simpleMachine<FloatingIpRow>(m.ctx, floatingIpResource, [5, 5], (row) => [[publicPool(row.region), row.ip_address]]),
  fleet: { collection: 'floating-ips', read: async (m, a, id) => ({ floating_ip: renderFloatingIp(await m.floatingIps.get(a, id)) }) },
});
