import type { LifecycleDef, TransitionContext } from '../../kernel/lifecycle/engine.js';
import type { InstanceRow } from './tables.js';
import { CLOUD, Counter, type GenesisContext } from './model/context.js';
import { SNAPSHOT_KIND } from './model/snapshots.js';

export const INSTANCE_KIND = 'genesis.instance';

const s = 1000;

/** Address pools of a region: private addresses for every instance, public ones unless a floating IP is attached. */
export const privatePool = (region: string) => `genesis:${region}:private`;
export const publicPool = (region: string) => `genesis:${region}:public`;
/** The public address is leased separately so a dynamic one can be given back on stop. */
const publicOwner = (instanceId: string) => `${instanceId}:public`;

/**
 * Instance and snapshot state machines, as the seeds describe them:
 * creating → active (addresses assigned), active → stopping → stopped → starting → active,
 * active → resetting → active, and deleting → gone; snapshots creating → created, deleting → gone.
 * Durations: `fast` keeps a client's wait loop honest in seconds; `realistic` is close to the real cloud.
 */
export function genesisLifecycles(ctx: GenesisContext): LifecycleDef[] {
  const { kernel } = ctx;

  async function floatingAddress(t: TransitionContext): Promise<string | null> {
    const row = await t.trx
      .selectFrom('genesis_instance_links as l')
      .innerJoin('genesis_floating_ips as f', 'f.id', 'l.target_id')
      .select('f.ip_address')
      .where('l.instance_id', '=', t.row.id as string)
      .where('l.kind', '=', 'floating_ip')
      .executeTakeFirst();
    return (row?.ip_address as string | null | undefined) ?? null;
  }

  /** Gives the instance its addresses (keeping any it already holds) as it comes up. */
  async function addresses(t: TransitionContext): Promise<Partial<InstanceRow>> {
    const row = t.row as unknown as InstanceRow;
    const privateIp = row.private_ip ?? (await kernel.ipam.allocate(t.trx, privatePool(row.region), row.id));
    const publicIp = (await floatingAddress(t)) ?? row.public_ip ?? (await kernel.ipam.allocate(t.trx, publicPool(row.region), publicOwner(row.id)));
    const dnsName = row.dns_name || `${row.hostname.split('.')[0]}-${row.id.slice(0, 8)}.${row.region.toLowerCase()}.compute.hangar.test`;
    return { private_ip: privateIp, public_ip: publicIp, dns_name: dnsName };
  }

  const instance: LifecycleDef = {
    kind: INSTANCE_KIND,
    table: 'genesis_instances',
    statusColumn: 'status',
    transitions: {
      boot: { from: 'creating', to: 'active', after: { fast: 3 * s, realistic: 90 * s }, effect: addresses },
      start: { from: 'starting', to: 'active', after: { fast: 3 * s, realistic: 45 * s }, effect: addresses },
      stop: {
        from: 'stopping',
        to: 'stopped',
        after: { fast: 2 * s, realistic: 20 * s },
        // A dynamic public address is handed back on stop; a static or floating one stays.
        effect: async (t) => {
          const row = t.row as unknown as InstanceRow;
          if (row.public_ip_type !== 'dynamic' || (await floatingAddress(t)) !== null) return;
          await kernel.ipam.release(t.trx, publicOwner(row.id));
          return { public_ip: null };
        },
      },
      reset: { from: 'resetting', to: 'active', after: { fast: 2 * s, realistic: 30 * s } },
      destroy: {
        from: 'deleting',
        to: null,
        after: { fast: 2 * s, realistic: 15 * s },
        // Volumes and the floating IP are detached (their links go with the row) and left intact.
        effect: async (t) => {
          const row = t.row as unknown as InstanceRow;
          await kernel.ipam.release(t.trx, row.id);
          await kernel.ipam.release(t.trx, publicOwner(row.id));
          await kernel.capacity.release(t.trx, CLOUD, row.region, row.type);
          await kernel.counters.add(t.trx, row.account_id, Counter.instances, -1);
          await t.trx.deleteFrom('genesis_instance_links').where('instance_id', '=', row.id).execute();
        },
      },
    },
  };

  const snapshot: LifecycleDef = {
    kind: SNAPSHOT_KIND,
    table: 'genesis_snapshots',
    statusColumn: 'status',
    transitions: {
      create: { from: 'creating', to: 'created', after: { fast: 3 * s, realistic: 120 * s } },
      delete: {
        from: 'deleting',
        to: null,
        after: { fast: 1 * s, realistic: 10 * s },
        effect: async (t) => {
          await kernel.counters.add(t.trx, t.row.account_id as string, Counter.snapshots, -1);
        },
      },
    },
  };

  return [instance, snapshot];
}
