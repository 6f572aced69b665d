import type { Executor } from '../../../kernel/db/store.js';
import { badRequest, conflict } from '../errors.js';
import type { VmType } from '../catalog.js';
import type { IbPartitionRow } from '../tables.js';
import type { NetworkInterfaceInputWire } from '../wire.js';
import { CLOUD, type CrusoeContext } from './context.js';
import type { InfiniBand } from './ib.js';
import { resourceName } from './resource.js';

export const MAINTENANCE_POLICIES = ['manual', 'stop-vm', 'unspecified'] as const;
export const PLACEMENT_POLICIES = ['spread', 'unspecified'] as const;
export const PUBLIC_IP_TYPES = ['dynamic', 'static'] as const;
const MAX_SCRIPT_BYTES = 64 * 1024;

/**
 * The checks VM creation, bulk creation and templates share: each returns the resolved value
 * or throws a 400 that names the request field.
 */
export class Rules {
  constructor(
    private readonly ctx: CrusoeContext,
    private readonly ib: InfiniBand,
  ) {}

  vmName(name: string, field = 'name'): string {
    return resourceName(name, field);
  }

  type(name: string, field = 'type'): VmType {
    const type = this.ctx.catalog.types.get(name);
    if (!type) throw badRequest(`"${field}": "${name}" is not a VM type (GET /projects/{project_id}/compute/vms/types lists them)`);
    return type;
  }

  /** The location to use: the one named (which must sell the type) or the type's default. */
  location(type: VmType, location: string | undefined, field = 'location'): string {
    const { catalog } = this.ctx;
    if (location === undefined || location === '') return catalog.defaultLocation(type);
    if (!catalog.locations.has(location)) {
      throw badRequest(`"${field}": "${location}" is not a location (known: ${[...catalog.locations.keys()].join(', ')})`);
    }
    if (type.stock[location] === undefined) {
      throw badRequest(`"${field}": VM type ${type.product_name} is not offered in ${location} (offered in: ${Object.keys(type.stock).join(', ')})`);
    }
    return location;
  }

  /** An image reference resolved to `name:tag`, available in the location. */
  image(reference: string | undefined, location: string, field = 'image'): string {
    const { catalog } = this.ctx;
    const wanted = reference === undefined || reference === '' ? catalog.defaultImage : reference;
    const image = catalog.findImage(wanted);
    if (!image) throw badRequest(`"${field}": "${wanted}" is not an image (use name:tag, e.g. ${catalog.defaultImage}; GET /compute/images lists them)`);
    if (!image.locations.includes(location)) {
      throw badRequest(`"${field}": image ${image.name} is not available in ${location} (available in: ${image.locations.join(', ')})`);
    }
    if (wanted === image.id) return `${image.name}:${image.tags[0]}`;
    const [name, tag] = wanted.split(':');
    // An alias (the seed's `ubuntu:20.04`) is stored as the image's own name.
    return name === image.name && tag !== undefined ? wanted : `${image.name}:latest`;
  }

  maintenancePolicy(value: string | undefined, field = 'maintenance_policy'): string {
    if (value === undefined || value === '') return 'unspecified';
    if (!(MAINTENANCE_POLICIES as readonly string[]).includes(value)) throw badRequest(`"${field}" must be one of: ${MAINTENANCE_POLICIES.join(', ')}`);
    return value;
  }

  placementPolicy(value: string | undefined): string {
    if (value === undefined || value === '') return 'unspecified';
    if (!(PLACEMENT_POLICIES as readonly string[]).includes(value)) throw badRequest(`"placement_policy" must be one of: ${PLACEMENT_POLICIES.join(', ')}`);
    return value;
  }

  publicIpType(value: string | undefined, field: string): string {
    if (value === undefined || value === '') return 'dynamic';
    if (!(PUBLIC_IP_TYPES as readonly string[]).includes(value)) throw badRequest(`"${field}" must be one of: ${PUBLIC_IP_TYPES.join(', ')}`);
    return value;
  }

  script(value: string | undefined, field: string): string {
    const script = value ?? '';
    if (Buffer.byteLength(script, 'utf8') > MAX_SCRIPT_BYTES) throw badRequest(`"${field}" must not exceed 64 KiB`);
    return script;
  }

  /** Reservations are not sold by Hangar: naming one is an error, as naming an unknown one is on the real cloud. */
  /**
   * The reservation a VM counts against (an operator makes them: /admin/v1/reservations): the
   * one named, which must be the account's and for this type (and location, when known); with
   * no id, `lowest_cost` takes a matching one that has room, if any, and `on_demand` (or no
   * specification) none. The caller counts the VM against it (Reservations.acquire).
   */
  async reservation(
    trx: Executor,
    accountId: string,
    spec: { id?: string; selection_strategy?: string } | undefined,
    type: VmType,
    location: string | null,
    field: string,
  ): Promise<string | null> {
    const { reservations } = this.ctx.kernel;
    const id = spec?.id ?? '';
    if (id !== '') {
      const found = await reservations.get(trx, accountId, CLOUD, id);
      if (!found) throw badRequest(`"${field}": reservation "${id}" not found`);
      if (found.sku !== type.product_name || (location !== null && found.region !== location)) {
        throw badRequest(`"${field}": reservation "${id}" is for ${found.sku} in ${found.region}, not ${type.product_name}${location === null ? '' : ` in ${location}`}`);
      }
      return id;
    }
    if (spec?.selection_strategy !== 'lowest_cost' || location === null) return null;
    const mine = await reservations.list(trx, { accountId, cloud: CLOUD });
    return mine.find((r) => r.sku === type.product_name && r.region === location && r.used < r.capacity)?.id ?? null;
  }

  /** Counts `n` VMs against a reservation, or a 409 saying it is full. */
  async holdReservation(trx: Executor, id: string, n: number, field: string): Promise<void> {
    if (await this.ctx.kernel.reservations.acquire(trx, id, n)) return;
    const [found] = (await this.ctx.kernel.reservations.list(trx, {})).filter((r) => r.id === id);
    throw conflict(`"${field}": reservation "${id}" has no room for ${n} more VM${n === 1 ? '' : 's'} (${found?.used ?? '?'} of ${found?.capacity ?? '?'} in use)`);
  }

  /**
   * The interface a create request describes: the subnet (and network) it names, if any,
   * which the VPC model resolves, and its public address type.
   */
  networkInterface(interfaces: NetworkInterfaceInputWire[] | undefined): { subnet?: string; network?: string; publicIpType: string } {
    if (interfaces !== undefined && interfaces.length > 1) throw badRequest('"network_interfaces" may hold one interface');
    const nic = interfaces?.[0];
    return {
      subnet: nic?.subnet,
      network: nic?.network,
      publicIpType: this.publicIpType(nic?.ips?.[0]?.public_ipv4?.type, 'network_interfaces.0.ips.0.public_ipv4.type'),
    };
  }

  /** The IB partition an IB VM joins (none for other types; naming one for them is an error). */
  async partition(trx: Executor, projectId: string, type: VmType, location: string, partitionId: string | undefined, field: string): Promise<IbPartitionRow | null> {
    if (partitionId === undefined || partitionId === '') return null;
    if (!type.infiniband) throw badRequest(`"${field}": VM type ${type.product_name} has no InfiniBand; IB partitions are for IB types (…-ib.…)`);
    const partition = await this.ib.find(trx, projectId, partitionId);
    if (!partition) throw badRequest(`"${field}": IB partition "${partitionId}" not found in this project`);
    const network = this.ctx.catalog.ibNetworks.get(partition.ib_network_id);
    if (network?.location !== location) {
      throw badRequest(`"${field}": IB partition "${partitionId}" is on a network in ${network?.location ?? '?'}, the VM is in ${location}`);
    }
    return partition;
  }
}
