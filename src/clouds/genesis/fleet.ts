import type { FleetSource } from '../../http/cloud.js';
import { GenesisError } from './errors.js';
import { PREFIX } from './http.js';
import { CLOUD } from './model/context.js';
import type { GenesisModel } from './model/index.js';
import { renderFilesystem, renderFloatingIp, renderInstance, renderSecurityGroup, renderSnapshot, renderSshKey, renderVolume } from './render.js';

/** A resource gone between the listing and the read answers null, as the cloud's 404 would. */
async function found<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof GenesisError && error.statusCode === 404) return null;
    throw error;
  }
}

/** Genesis's resources as the console's fleet lists them, each answered as GET <prefix>/<collection>/<id> answers. */
export function genesisFleet(m: GenesisModel): FleetSource[] {
  const source = (
    kind: string,
    table: string,
    collection: string,
    columns: Partial<FleetSource['columns']>,
    read: (account: string, id: string) => Promise<unknown>,
  ): FleetSource => ({
    cloud: CLOUD,
    kind: `${CLOUD}.${kind}`,
    table,
    columns: { name: 'name', status: 'status', region: 'region', project: null, type: null, ...columns },
    async wire(row) {
      const body = await found(() => read(String(row.account_id), String(row.id)));
      return body === null ? null : { path: `${PREFIX}/${collection}/${String(row.id)}`, body };
    },
  });
  return [
    source('instance', 'genesis_instances', 'instances', { type: 'type' }, async (a, id) => ({ instance: renderInstance(await m.instances.get(a, id)) })),
    source('volume', 'genesis_volumes', 'volumes', { type: 'type' }, async (a, id) => ({ volume: renderVolume(await m.volumes.get(a, id)) })),
    source('snapshot', 'genesis_snapshots', 'snapshots', {}, async (a, id) => ({ snapshot: renderSnapshot(await m.snapshots.get(a, id)) })),
    source('filesystem', 'genesis_filesystems', 'filesystems', { type: 'type' }, async (a, id) => ({ filesystem: renderFilesystem(await m.filesystems.get(a, id)) })),
    source('security_group', 'genesis_security_groups', 'security-groups', {}, async (a, id) => ({ security_group: renderSecurityGroup(await m.securityGroups.get(a, id)) })),
    source('floating_ip', 'genesis_floating_ips', 'floating-ips', {}, async (a, id) => ({ floating_ip: renderFloatingIp(await m.floatingIps.get(a, id)) })),
    source('ssh_key', 'genesis_ssh_keys', 'ssh-keys', { status: null, region: null }, async (a, id) => renderSshKey(await m.sshKeys.get(a, id))),
  ];
}
