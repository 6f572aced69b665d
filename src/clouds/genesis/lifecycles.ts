import type { Machine, RowContext } from '../../kernel/lifecycle/machine.js';
import { byShape, paddedList } from '../../kernel/db/prepared.js';
import type { Held } from '../../kernel/ipam.js';
import type { FilesystemRow, InstanceRow } from './tables.js';
import { CLOUD, Counter, type GenesisContext } from './model/context.js';
import { privatePool, publicPool, storagePool } from './model/addresses.js';
import { INSTANCE_ACTIONS, INSTANCE_KIND, INSTANCE_STATES } from './model/instances.js';
import { FILESYSTEM_KIND } from './model/filesystems.js';


const s = 1000;
/** Instances looked up per statement when a batch asks for its floating IPs (a batch's worth). */
const FLOATING_LOOKUP = 256;

/** The columns every Genesis resource shares (what its machine names). */
const COLUMNS = { statusColumn: 'status', accountColumn: 'account_id', updatedAtColumn: 'updated_at' } as const;

/** A resource that simply comes into being, and goes: creating → created, deleting → gone. */
const simpleActions = (create: number, remove: number, createFast = 1, removeFast = 1) =>
  ({
    create: { from: [], via: 'creating', to: 'created', after: { fast: createFast * s, realistic: create * s }, failTo: 'error' },
    delete: { from: ['created', 'error'], via: 'deleting', to: null, after: { fast: removeFast * s, realistic: remove * s } },
  }) as const;
const SIMPLE_STATES = ['creating', 'created', 'deleting', 'error'] as const;

/** The instance machine: its actions as declared beside its rules, with what each does beside changing the status. */
export function instanceMachine(ctx: GenesisContext): Machine<InstanceRow> {
  const effects = instanceEffects(ctx);
  return {
    kind: INSTANCE_KIND,
    table: 'genesis_instances',
    ...COLUMNS,
    states: INSTANCE_STATES,
    actions: {
      create: { ...INSTANCE_ACTIONS.create, effect: effects.addresses },
      start: { ...INSTANCE_ACTIONS.start, effect: effects.addresses },
      stop: { ...INSTANCE_ACTIONS.stop, effect: effects.stop },
      reset: { ...INSTANCE_ACTIONS.reset, effect: effects.addresses },
      delete: { ...INSTANCE_ACTIONS.delete, effect: effects.destroy },
    },
  };
}

/**
 * A resource that simply comes into being, and goes (creating → created, deleting → gone),
 * counted against its account while it exists. `seconds` are its create and delete times
 * (realistic, then fast); `leases` are the addresses it gives back as it goes.
 */
export function simpleMachine<Row extends { id: string; account_id: string }>(
  { kernel }: GenesisContext,
  resource: { kind: string; table: string; counter?: string },
  seconds: readonly [create: number, remove: number, createFast?: number, removeFast?: number],
  leases?: (row: Row) => Held[],
): Machine<Row> {
  const actions = simpleActions(...seconds);
  return {
    kind: resource.kind,
    table: resource.table,
    ...COLUMNS,
    states: SIMPLE_STATES,
    actions: {
      create: actions.create,
      delete: {
        ...actions.delete,
        effect: async (t) => {
          if (leases) await kernel.ipam.release(t.trx, t.row.id, leases(t.row));
          if (resource.counter !== undefined) await kernel.counters.add(t.trx, t.row.account_id, resource.counter, -1);
        },
      },
    },
  };
}

/** Filesystems: mount endpoints are two addresses of the region's storage network, lowest first. */
export function filesystemMachine({ kernel }: GenesisContext): Machine<FilesystemRow> {
  const actions = simpleActions(60, 20, 3, 2);
  return {
    kind: FILESYSTEM_KIND,
    table: 'genesis_filesystems',
    ...COLUMNS,
    states: SIMPLE_STATES,
    actions: {
      create: {
        ...actions.create,
        effect: async (t) => {
          const id = t.row.id;
          const pool = storagePool(t.row.region);
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
        ...actions.delete,
        effect: async (t) => {
          const range = t.row.mount_endpoint_range === null ? [] : (JSON.parse(t.row.mount_endpoint_range) as string[]);
          const pool = storagePool(t.row.region);
          await kernel.ipam.release(t.trx, t.row.id, range.map((address) => [pool, address] as const));
          await kernel.counters.add(t.trx, t.row.account_id, Counter.filesystems, -1);
        },
      },
    },
  };
}

/** What an instance's transitions do beside changing its status. */
function instanceEffects(ctx: GenesisContext) {
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
  async function floatingAddress(t: RowContext<InstanceRow>): Promise<string | null> {
    const attached = await t.shared('floating', async () => {
      // Only instances of accounts that hold a floating IP can have one attached (most batches:
      // none, and then no lookup at all).
      const holders = new Set<string>();
      for (const account of new Set(t.batch.map((row) => row.account_id))) {
        if ((await kernel.counters.get(t.trx, account, Counter.floatingIps)) > 0) holders.add(account);
      }
      const ids = t.batch.filter((row) => holders.has(row.account_id)).map((row) => row.id);
      const found = new Map<string, string | null>();
      for (let i = 0; i < ids.length; i += FLOATING_LOOKUP) {
        const chunk = paddedList(ids.slice(i, i + FLOATING_LOOKUP));
        for (const row of await floatingOf(chunk.length)(t.trx, ...chunk)) found.set(row.instance_id, row.ip_address);
      }
      return found;
    });
    return attached.get(t.row.id) ?? null;
  }

  return {
    /** Gives the instance its addresses (keeping any it already holds) as it comes up. */
    async addresses(t: RowContext<InstanceRow>): Promise<Partial<InstanceRow>> {
      const row = t.row;
      const privateIp = row.private_ip ?? (await kernel.ipam.allocate(t.trx, privatePool(row.region), row.id));
      const publicIp = (await floatingAddress(t)) ?? row.public_ip ?? (await kernel.ipam.allocate(t.trx, publicPool(row.region), row.id));
      const dnsName = row.dns_name || `${row.hostname.split('.')[0]}-${row.id.slice(0, 8)}.${row.region.toLowerCase()}.compute.hangar.test`;
      return { private_ip: privateIp, public_ip: publicIp, dns_name: dnsName };
    },
    /** A dynamic public address is handed back on stop; a static or floating one stays. */
    async stop(t: RowContext<InstanceRow>): Promise<Partial<InstanceRow> | void> {
      const row = t.row;
      if (row.public_ip_type !== 'dynamic' || (await floatingAddress(t)) !== null) return;
      await kernel.ipam.release(t.trx, row.id, [[publicPool(row.region), row.public_ip]]);
      return { public_ip: null };
    },
    /** Volumes and the floating IP are detached (their links go with the row) and left intact. */
    async destroy(t: RowContext<InstanceRow>): Promise<void> {
      const row = t.row;
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
  };
}

function byAddress(a: string, b: string): number {
  const n = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return n(a) - n(b);
}
