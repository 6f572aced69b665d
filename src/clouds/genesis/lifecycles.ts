import type { LifecycleDef, TransitionContext } from '../../kernel/lifecycle/engine.js';
import { byShape, paddedList } from '../../kernel/db/prepared.js';
import type { Held } from '../../kernel/ipam.js';
import type { InstanceRow } from './tables.js';
import { CLOUD, Counter, type GenesisContext } from './model/context.js';
import { privatePool, publicPool, storagePool } from './model/addresses.js';
import { FILESYSTEM_KIND } from './model/filesystems.js';
import { FLOATING_IP_KIND } from './model/floating-ips.js';
import { SECURITY_GROUP_KIND } from './model/security-groups.js';
import { SNAPSHOT_KIND } from './model/snapshots.js';
import { INSTANCE_KIND } from './model/instances.js';
import { VOLUME_KIND } from './model/volumes.js';


const s = 1000;
/** Instances looked up per statement when a batch asks for its floating IPs (a batch's worth). */
const FLOATING_LOOKUP = 256;


/**
 * Instance and snapshot state machines, as the seeds describe them:
 * creating → active (addresses assigned), active → stopping → stopped → starting → active,
 * active → resetting → active, and deleting → gone; snapshots creating → created, deleting → gone.
 * Durations: `fast` keeps a client's wait loop honest in seconds; `realistic` is close to the real cloud.
 */
export function genesisLifecycles(ctx: GenesisContext): LifecycleDef[] {
  const { kernel } = ctx;

  // Every boot, start and stop asks: one lookup for all the instances of a batch (see
  // TransitionContext.shared), built and compiled once per list length (see kernel/db/prepared.ts).
  const floatingOf = byShape<number, { instance_id: string; ip_address: string | null }>((n) => [
    n,
    (...ids) =>
      ctx.db
        .selectFrom('genesis_instance_links as l')
        .innerJoin('genesis_floating_ips as f', 'f.id', 'l.target_id')
        .select(['l.instance_id', 'f.ip_address'])
        .where('l.instance_id', 'in', ids)
        .where('l.kind', '=', 'floating_ip'),
  ]);

  /**
   * The address of the floating IP attached to the instance, if any. (A transition's batch
   * never changes these links: an instance that goes takes only its own with it.)
   */
  async function floatingAddress(t: TransitionContext): Promise<string | null> {
    const attached = await t.shared('floating', async () => {
      // Only instances of accounts that hold a floating IP can have one attached (most batches:
      // none, and then no lookup at all).
      const holders = new Set<string>();
      for (const account of new Set(t.batch.map((row) => row.account_id as string))) {
        if ((await kernel.counters.get(t.trx, account, Counter.floatingIps)) > 0) holders.add(account);
      }
      const ids = t.batch.filter((row) => holders.has(row.account_id as string)).map((row) => row.id as string);
      const found = new Map<string, string | null>();
      for (let i = 0; i < ids.length; i += FLOATING_LOOKUP) {
        const chunk = paddedList(ids.slice(i, i + FLOATING_LOOKUP));
        for (const row of await floatingOf(chunk.length)(t.trx, ...chunk)) found.set(row.instance_id, row.ip_address);
      }
      return found;
    });
    return attached.get(t.row.id as string) ?? null;
  }

  /** Gives the instance its addresses (keeping any it already holds) as it comes up. */
  async function addresses(t: TransitionContext): Promise<Partial<InstanceRow>> {
    const row = t.row as unknown as InstanceRow;
    const privateIp = row.private_ip ?? (await kernel.ipam.allocate(t.trx, privatePool(row.region), row.id));
    const publicIp = (await floatingAddress(t)) ?? row.public_ip ?? (await kernel.ipam.allocate(t.trx, publicPool(row.region), row.id));
    const dnsName = row.dns_name || `${row.hostname.split('.')[0]}-${row.id.slice(0, 8)}.${row.region.toLowerCase()}.compute.hangar.test`;
    return { private_ip: privateIp, public_ip: publicIp, dns_name: dnsName };
  }

  const instance: LifecycleDef = {
    kind: INSTANCE_KIND,
    table: 'genesis_instances',
    statusColumn: 'status',
    transitions: {
      boot: { from: 'creating', to: 'active', after: { fast: 3 * s, realistic: 90 * s }, effect: addresses, failTo: 'error' },
      start: { from: 'starting', to: 'active', after: { fast: 3 * s, realistic: 45 * s }, effect: addresses, failTo: 'error' },
      stop: {
        from: 'stopping',
        to: 'stopped',
        after: { fast: 2 * s, realistic: 20 * s },
        // A dynamic public address is handed back on stop; a static or floating one stays.
        effect: async (t) => {
          const row = t.row as unknown as InstanceRow;
          if (row.public_ip_type !== 'dynamic' || (await floatingAddress(t)) !== null) return;
          await kernel.ipam.release(t.trx, row.id, [[publicPool(row.region), row.public_ip]]);
          return { public_ip: null };
        },
      },
      // A reset comes up as a boot does: an instance reset out of `error` (a failed boot holds
      // no addresses) gets its addresses and DNS name; one that holds them keeps them.
      reset: { from: 'resetting', to: 'active', after: { fast: 2 * s, realistic: 30 * s }, effect: addresses },
      destroy: {
        from: 'deleting',
        to: null,
        after: { fast: 2 * s, realistic: 15 * s },
        // Volumes and the floating IP are detached (their links go with the row) and left intact.
        effect: async (t) => {
          const row = t.row as unknown as InstanceRow;
          // (a floating IP's address is the floating IP's lease, which stays)
          await kernel.ipam.release(t.trx, row.id, [
            [privatePool(row.region), row.private_ip],
            [publicPool(row.region), row.public_ip],
          ]);
          await kernel.capacity.release(t.trx, CLOUD, row.region, row.type);
          if (row.reservation_id !== null) await kernel.reservations.release(t.trx, row.reservation_id);
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
      create: { from: 'creating', to: 'created', after: { fast: 3 * s, realistic: 120 * s }, failTo: 'error' },
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

  /** A resource that simply comes into being, and goes, counted against its account. */
  const simple = (kind: string, table: string, counter: string, create: number, remove: number, leases?: (row: Record<string, unknown>) => Held[]): LifecycleDef => ({
    kind,
    table,
    statusColumn: 'status',
    transitions: {
      create: { from: 'creating', to: 'created', after: { fast: 1 * s, realistic: create * s }, failTo: 'error' },
      delete: {
        from: 'deleting',
        to: null,
        after: { fast: 1 * s, realistic: remove * s },
        effect: async (t) => {
          if (leases) await kernel.ipam.release(t.trx, t.row.id as string, leases(t.row));
          await kernel.counters.add(t.trx, t.row.account_id as string, counter, -1);
        },
      },
    },
  });

  const filesystem: LifecycleDef = {
    kind: FILESYSTEM_KIND,
    table: 'genesis_filesystems',
    statusColumn: 'status',
    transitions: {
      // Mount endpoints are two addresses of the region's storage network, lowest first.
      create: {
        from: 'creating',
        to: 'created',
        after: { fast: 3 * s, realistic: 60 * s },
        failTo: 'error',
        effect: async (t) => {
          const id = t.row.id as string;
          const pool = storagePool(t.row.region as string);
          const first = await kernel.ipam.allocate(t.trx, pool, id);
          const second = await kernel.ipam.allocate(t.trx, pool, id);
          const range = [first, second].filter((a): a is string => a !== null).sort(byAddress);
          if (range.length === 2) return { mount_endpoint_range: JSON.stringify(range), mount_base_path: `/filesystems/${id}` };
          // The pool ran dry: no endpoints, and no lease left that the row does not record.
          await kernel.ipam.release(t.trx, id, range.map((address) => [pool, address] as const));
          return { mount_endpoint_range: null, mount_base_path: `/filesystems/${id}` };
        },
      },
      delete: {
        from: 'deleting',
        to: null,
        after: { fast: 2 * s, realistic: 20 * s },
        effect: async (t) => {
          const range = t.row.mount_endpoint_range === null ? [] : (JSON.parse(t.row.mount_endpoint_range as string) as string[]);
          const pool = storagePool(t.row.region as string);
          await kernel.ipam.release(t.trx, t.row.id as string, range.map((address) => [pool, address] as const));
          await kernel.counters.add(t.trx, t.row.account_id as string, Counter.filesystems, -1);
        },
      },
    },
  };

  return [
    instance,
    snapshot,
    simple(VOLUME_KIND, 'genesis_volumes', Counter.volumes, 20, 10),
    simple(SECURITY_GROUP_KIND, 'genesis_security_groups', Counter.securityGroups, 5, 5),
    simple(FLOATING_IP_KIND, 'genesis_floating_ips', Counter.floatingIps, 5, 5, (row) => [[publicPool(row.region as string), row.ip_address as string | null]]),
    filesystem,
  ];
}

function byAddress(a: string, b: string): number {
  const n = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return n(a) - n(b);
}
