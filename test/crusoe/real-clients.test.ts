import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, expectCrusoeError, newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';
import { Families, succeeds } from './support.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();

/** The GPU type names real Crusoe serves, which dstack's catalog (gpuhunt) keys on. */
const REAL_GPU_TYPES = [
  'A100-PCIe-40GB',
  'A100-PCIe-80GB',
  'A100-SXM-80GB',
  'A40-PCIe-48GB',
  'B200-SXM-180GB',
  'GB200-NVL-186GB',
  'H100-SXM-80GB',
  'H200-SXM-141GB',
  'L40S-48GB',
  'MI300X-192GB',
  'MI355X_288GB',
];

describe('Crusoe: what the Go client, the Terraform provider and dstack expect', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let P: string;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    P = c.projectId;
  });
  afterAll(() => h.close());

  it('serves the real GPU type names and today’s line-up, each type with stock somewhere', async () => {
    const types = (await c.get(`/projects/${P}/compute/vms/types`)).body.items as any[];
    const gpuTypes = [...new Set(types.filter((t) => t.num_gpu > 0).map((t) => t.gpu_type))].sort();
    expect(gpuTypes).toEqual(REAL_GPU_TYPES);
    expect(types.filter((t) => t.num_gpu === 0).every((t) => t.gpu_type === '')).toBe(true);
    const families = new Set(types.map((t) => t.product_name.split('.')[0]));
    for (const family of ['c1a', 's1a']) expect(families.has(family), family).toBe(true);
    expect(types.find((t) => t.gpu_type === 'GB200-NVL-186GB')).toMatchObject({ cpu_type: 'arm64', num_gpu: 4 });
    expect(types.find((t) => t.product_name.startsWith('s1a.'))?.disk_gb).toBeGreaterThan(0);

    const capacities = (await c.get('/capacities')).body.items as any[];
    for (const t of types) {
      expect(
        capacities.some((x) => x.type === t.product_name && x.quantity > 0),
        t.product_name,
      ).toBe(true);
    }

    // One of the new types can be created, and takes a unit of its stock.
    const type = types.find((t) => t.gpu_type === 'MI300X-192GB').product_name;
    const where = capacities.find((x) => x.type === type);
    const vm = await succeeds(h, c, Families.vms, c.post(`/projects/${P}/compute/vms/instances`, { name: 'amd', type, location: where.location, ssh_public_key: KEY }));
    expect(vm.type).toBe(type);
    const after = (await c.get('/capacities', { query: { product_name: type, location: where.location } })).body.items[0].quantity;
    expect(after).toBe(where.quantity - 1);
  });
});

export { expectCrusoeError, newCrusoeAccount, LOCATION };
