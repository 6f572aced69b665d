import { createHash } from 'node:crypto';
import type { Config } from '../../../config.js';
import type { Kernel } from '../../../kernel/kernel.js';
import type { CrusoeCatalog } from '../catalog.js';
import type { CrusoeDb } from '../tables.js';

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
} as const;

/** Address pools of a location. */
export const privatePool = (location: string) => `crusoe:${location}:private`;
export const publicPool = (location: string) => `crusoe:${location}:public`;
/** A VM's public address is leased apart so a dynamic one can be given back on stop. */
export const publicOwner = (vmId: string) => `${vmId}:public`;

/** RFC 3339 in UTC with seconds, as the seed's samples show times. */
export const rfc3339 = (ms: number | string): string => new Date(Number(ms)).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * A stable id derived from a name, for things Hangar does not store as rows yet (a project's
 * default VPC network and subnets): the same project always shows the same ids.
 */
export function derivedId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export const defaultNetworkId = (projectId: string) => derivedId('crusoe', 'vpc-network', projectId);
export const defaultSubnetId = (projectId: string, location: string) => derivedId('crusoe', 'vpc-subnet', projectId, location);

export const parseJson = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
