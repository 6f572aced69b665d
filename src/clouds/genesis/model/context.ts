import type { Config } from '../../../config.js';
import type { Kernel } from '../../../kernel/kernel.js';
import type { GenesisCatalog } from '../catalog.js';
import type { GenesisDb } from '../tables.js';
import { isoMillis } from '../../../kernel/time-text.js';

/** What the Genesis model needs: the kernel's services, its typed tables and its catalog. */
export interface GenesisContext {
  readonly kernel: Kernel;
  readonly db: GenesisDb;
  readonly catalog: GenesisCatalog;
  readonly config: Config;
}

export const CLOUD = 'genesis';
/** The credential kind of an API token. */
export const TOKEN_KIND = 'token';
/** A token that may read but not change anything (issued through the admin API). */
export const READ_TOKEN_KIND = 'read-token';

/** Counter keys: one per listed resource kind; quotas cap some of them. */
export const Counter = {
  instances: 'genesis.instances',
  snapshots: 'genesis.snapshots',
  sshKeys: 'genesis.ssh_keys',
  securityGroups: 'genesis.security_groups',
  volumes: 'genesis.volumes',
  floatingIps: 'genesis.floating_ips',
  filesystems: 'genesis.filesystems',
} as const;

export const toBool = (value: number | boolean): boolean => value === true || value === 1;
export const fromBool = (value: boolean | undefined): number => (value ? 1 : 0);
export const iso = isoMillis;
