import type { Kysely } from 'kysely';
import type { GenesisCatalog } from '../clouds/genesis/catalog.js';
import { INSTANCE_KIND } from '../clouds/genesis/model/instances.js';
import { VOLUME_KIND } from '../clouds/genesis/model/volumes.js';
import { limitsOf, mountName, type MachineSpec } from './environment.js';
import { gpuMemoryMiB } from './nvidia-smi.js';
import { userData } from './scripts.js';
import type { MachineSource } from './sandbox.js';

/** The image's default user, as the clouds' images have it. */
export function defaultUserOf(imageName: string): string {
  const name = imageName.toLowerCase();
  for (const user of ['ubuntu', 'debian', 'centos', 'rocky', 'fedora']) if (name.includes(user)) return user;
  return 'ubuntu';
}

/**
 * Genesis instances as machines: running while `active` (a reset is a reboot); the startup
 * script is `metadata.startup_script`, run once after the first boot; SSH takes the instance's
 * keys for the image's default user and root.
 */
export function genesisSource(db: Kysely<any>, catalog: GenesisCatalog, unseal: (sealed: string) => string): MachineSource {
  return {
    kind: INSTANCE_KIND,
    rebootTransitions: ['reset'],
    volumeKind: { kind: VOLUME_KIND, deleted: async (applied) => (applied.to === null ? [applied.resourceId] : []) },
    async running() {
      const rows = await db.selectFrom('genesis_instances').select('id').where('status', '=', 'active').execute();
      return rows.map((row) => String(row.id));
    },
    async load(id) {
      const row = await db.selectFrom('genesis_instances').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return null;
      const keys = await db
        .selectFrom('genesis_instance_links as l')
        .innerJoin('genesis_ssh_keys as k', 'k.id', 'l.target_id')
        .select('k.value')
        .where('l.instance_id', '=', id)
        .where('l.kind', '=', 'ssh_key')
        .orderBy('l.position')
        .execute();
      const volumes = await db
        .selectFrom('genesis_instance_links')
        .select(['target_id', 'target_name'])
        .where('instance_id', '=', id)
        .where('kind', '=', 'volume')
        .orderBy('position')
        .execute();
      let metadata: Record<string, unknown> = {};
      try {
        metadata = JSON.parse(String(row.metadata ?? '{}')) ?? {};
      } catch {
        metadata = {};
      }
      const script = typeof metadata.startup_script === 'string' ? metadata.startup_script : null;
      const type = catalog.types.get(String(row.type));
      const gpu = type?.gpu ?? null;
      const spec: MachineSpec = {
        id,
        accountId: String(row.account_id),
        hostname: String(row.hostname).split('.')[0]!.slice(0, 63) || 'instance',
        publicIp: (row.public_ip as string | null) ?? null,
        defaultUser: defaultUserOf(String(row.image_name ?? '')),
        authorizedKeys: keys.map((k) => String(k.value)),
        password: typeof row.password_sealed === 'string' ? unseal(row.password_sealed) : null,
        scripts: { ...userData(script), shutdown: null },
        gpus: gpu && gpu.vendor === 'nvidia' ? { model: gpu.model, count: gpu.count, memoryMiB: gpuMemoryMiB(gpu.model) } : null,
        volumes: volumes.map((v) => ({ id: String(v.target_id), path: mountName(String(v.target_name)) })),
        limits: type ? limitsOf(type.vcpus, type.memory_gib) : null,
      };
      return { running: row.status === 'active', spec };
    },
  };
}
