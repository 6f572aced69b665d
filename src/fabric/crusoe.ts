import type { Kysely } from 'kysely';
import type { CrusoeCatalog } from '../clouds/crusoe/catalog.js';
import { OPERATION_KIND } from '../clouds/crusoe/model/context.js';
import { limitsOf, mountName, type MachineSpec } from './environment.js';
import { defaultUserOf } from './genesis.js';
import { gpuMemoryMiB } from './nvidia-smi.js';
import type { MachineSource } from './sandbox.js';

/** The name nvidia-smi shows for a Crusoe GPU type (the catalog's names, and earlier catalogs' short ones). */
const GPU_NAMES: Record<string, string> = {
  'A40-PCIe-48GB': 'NVIDIA A40',
  'A100-PCIe-40GB': 'NVIDIA A100-PCIE-40GB',
  'A100-PCIe-80GB': 'NVIDIA A100 80GB PCIe',
  'A100-SXM-80GB': 'NVIDIA A100-SXM4-80GB',
  'H100-SXM-80GB': 'NVIDIA H100 80GB HBM3',
  'H200-SXM-141GB': 'NVIDIA H200',
  'B200-SXM-180GB': 'NVIDIA B200',
  'GB200-NVL-186GB': 'NVIDIA GB200',
  'L40S-48GB': 'NVIDIA L40S',
  A40: 'NVIDIA A40',
  A100: 'NVIDIA A100-SXM4-40GB',
  'A100-80GB': 'NVIDIA A100 80GB PCIe',
  L40S: 'NVIDIA L40S',
};

/** AMD's boards (MI300X, MI355X) have no NVIDIA driver: nvidia-smi finds none on them, as on the real VMs. */
const isAmd = (gpuType: string) => /^MI\d/i.test(gpuType);

/** The board nvidia-smi reports for a Crusoe GPU type, or null where it reports none. */
export function nvidiaModelOf(gpuType: string): string | null {
  if (!gpuType || isAmd(gpuType)) return null;
  return GPU_NAMES[gpuType] ?? `NVIDIA ${gpuType}`;
}

/** A VM name as a hostname: letters, digits and dashes, at most 63. */
export function hostnameOf(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'vm';
}

/**
 * Crusoe VMs as machines: running in STATE_RUNNING; their startup script runs at every boot
 * and their shutdown script on STOP; SSH takes `ssh_public_key` for root and the image's
 * default user. VMs move through operations (the lifecycle kind `crusoe.operation`): an
 * applied `vm.*` operation names the VMs it moved (`vm.bulk` several).
 */
export function crusoeSource(db: Kysely<any>, catalog: CrusoeCatalog): MachineSource {
  return {
    kind: OPERATION_KIND,
    rebootTransitions: ['vm.reset'],
    volumeKind: {
      kind: OPERATION_KIND,
      async deleted(applied) {
        if (applied.transition !== 'disk.delete' || applied.to !== 'SUCCEEDED') return [];
        const op = await db.selectFrom('crusoe_operations').select('resource_id').where('id', '=', applied.resourceId).executeTakeFirst();
        return op?.resource_id ? [String(op.resource_id)] : [];
      },
    },
    async machinesOf(applied) {
      if (!applied.transition.startsWith('vm.') && applied.transition !== 'fail') return [];
      const op = await db.selectFrom('crusoe_operations').select(['action', 'resource_id', 'params']).where('id', '=', applied.resourceId).executeTakeFirst();
      if (!op || !String(op.action).startsWith('vm.')) return [];
      if (op.action === 'vm.bulk') {
        try {
          const ids: unknown = JSON.parse(String(op.params ?? '{}')).ids;
          return Array.isArray(ids) ? ids.map(String) : [];
        } catch {
          return [];
        }
      }
      return op.resource_id ? [String(op.resource_id)] : [];
    },
    async running() {
      const rows = await db.selectFrom('crusoe_vms').select('id').where('state', '=', 'STATE_RUNNING').execute();
      return rows.map((row) => String(row.id));
    },
    async load(id) {
      const row = await db.selectFrom('crusoe_vms').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return null;
      const type = catalog.types.get(String(row.type));
      const disks = await db
        .selectFrom('crusoe_disk_attachments as a')
        .innerJoin('crusoe_disks as d', 'd.id', 'a.disk_id')
        .select(['d.id', 'd.name'])
        .where('a.vm_id', '=', id)
        .where('a.attachment_type', '!=', 'os')
        .orderBy('a.attached_at')
        .execute();
      const gpuType = type?.gpu_type ?? '';
      const model = nvidiaModelOf(gpuType);
      const spec: MachineSpec = {
        id,
        accountId: String(row.account_id),
        hostname: hostnameOf(String(row.name)),
        publicIp: (row.public_ip as string | null) ?? null,
        defaultUser: defaultUserOf(String(row.image ?? '')),
        authorizedKeys: String(row.ssh_public_key ?? '').trim() ? [String(row.ssh_public_key)] : [],
        password: null,
        scripts: {
          firstBoot: null,
          everyBoot: String(row.startup_script ?? '').trim() ? String(row.startup_script) : null,
          shutdown: String(row.shutdown_script ?? '').trim() ? String(row.shutdown_script) : null,
        },
        gpus: type && type.num_gpu > 0 && model ? { model, count: type.num_gpu, memoryMiB: gpuMemoryMiB(model) } : null,
        volumes: disks.map((d) => ({ id: String(d.id), path: `disks/${mountName(String(d.name))}` })),
        limits: type ? limitsOf(type.cpu_cores, type.memory_gb) : null,
      };
      return { running: row.state === 'STATE_RUNNING', spec };
    },
  };
}
