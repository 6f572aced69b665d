import { createHash } from 'node:crypto';
import type { Config } from '../../../config.js';
import type { Kernel } from '../../../kernel/kernel.js';
import type { CrusoeCatalog } from '../catalog.js';
import type { CrusoeDb } from '../tables.js';
import { isoSeconds } from '../../../kernel/time-text.js';

/** What the Crusoe model needs: the kernel's services, its typed tables and its catalog. */
export interface CrusoeContext {
  readonly kernel: Kernel;
  readonly db: CrusoeDb;
  readonly catalog: CrusoeCatalog;
  readonly config: Config;
}

export const CLOUD = 'crusoe';
/** The kernel credential kind of an access key (its lookup is the access key id, its secret sealed). */
export const ACCESS_KEY_KIND = 'access_key';
/** The lifecycle kind of every asynchronous operation. */
export const OPERATION_KIND = 'crusoe.operation';

/** Counter keys: VMs per account (quota), and per project what Project.resources reports. */
export const Counter = {
  vms: 'crusoe.vms',
  projectVms: (projectId: string) => `crusoe.project.instances:${projectId}`,
  projectDisks: (projectId: string) => `crusoe.project.disks:${projectId}`,
  projectSnapshots: (projectId: string) => `crusoe.project.snapshots:${projectId}`,
  projectNetworks: (projectId: string) => `crusoe.project.vpc_networks:${projectId}`,
} as const;

/**
 * Address pools: a location's public addresses, and each VPC subnet's private ones (VMs and
 * load balancers draw from the subnet they sit in). `privatePool` is the per-location pool
 * VMs drew from before VPC subnets were served; only leases of old stores live there.
 */
export const privatePool = (location: string) => `crusoe:${location}:private`;
export const publicPool = (location: string) => `crusoe:${location}:public`;
export const subnetPool = (subnetId: string) => `crusoe:subnet:${subnetId}`;
// A lease's owner is the resource's id: a VM's public and private addresses are told apart by
// their pools (a dynamic public one is given back on stop by pool and address), a subnet's NAT
// gateway holds its location's public address under the subnet's id.

/** RFC 3339 in UTC with seconds, as the seed's samples show times. */
export const rfc3339 = isoSeconds;

/**
 * A stable id derived from a name: a project's default VPC network and subnets have ids
 * derived from the project (and location), so they are the same however and whenever they
 * were made (with the project, or filled in for a store made before networks were served).
 */
export function derivedId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const defaultNetworkId = (projectId: string) => derivedId('crusoe', 'vpc-network', projectId);
export const defaultSubnetId = (projectId: string, location: string) => derivedId('crusoe', 'vpc-subnet', projectId, location);
export const defaultGatewayId = (projectId: string) => derivedId('crusoe', 'vpc-gateway', projectId);

/** A location's region, as usage reports name it: `us-east1-a` is in `us-east1`. */
export const regionOf = (location: string): string => location.replace(/-[a-z]$/, '');

export const parseJson = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
