import { AccountLimits } from './account-limits.js';
import type { GenesisContext } from './context.js';
import { Filesystems } from './filesystems.js';
import { FloatingIps } from './floating-ips.js';
import { Images } from './images.js';
import { Instances } from './instances.js';
import { SecurityGroups } from './security-groups.js';
import { Snapshots } from './snapshots.js';
import { SshKeys } from './ssh-keys.js';
import { Volumes } from './volumes.js';

/** The Genesis backend: the rules of each resource, apart from the code that speaks HTTP. */
export interface GenesisModel {
  ctx: GenesisContext;
  instances: Instances;
  snapshots: Snapshots;
  images: Images;
  sshKeys: SshKeys;
  securityGroups: SecurityGroups;
  volumes: Volumes;
  floatingIps: FloatingIps;
  filesystems: Filesystems;
  limits: AccountLimits;
}

export function createModel(ctx: GenesisContext): GenesisModel {
  const sshKeys = new SshKeys(ctx);
  const snapshots = new Snapshots(ctx);
  const securityGroups = new SecurityGroups(ctx);
  const volumes = new Volumes(ctx);
  const floatingIps = new FloatingIps(ctx);
  const instances = new Instances(ctx, { sshKeys, securityGroups, volumes, floatingIps, snapshots });
  const images = new Images(ctx, snapshots);
  return { ctx, instances, snapshots, images, sshKeys, securityGroups, volumes, floatingIps, filesystems: new Filesystems(ctx), limits: new AccountLimits(ctx) };
}
