import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { adminOf } from '../helpers/admin.js';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, expectCrusoeError, goTimestamp, newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';
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

  it('serves project and organization quotas in the spec’s shape: used from what is held, max from the operator', async () => {
    const { accountId, client: t } = await newCrusoeAccount(h, 'quota-holder');
    const TP = t.projectId;
    const ORG = t.credentials.organization_id!;
    const admin = adminOf(h);

    // dstack's credential check: GET /projects/{id}/quotas, signed its way, answered with {"quotas": [...]}.
    const timestamp = goTimestamp(h.clock.now()).replace('Z', '+00:00');
    const message = `/v1alpha5/projects/${TP}/quotas\n\nGET\n${timestamp}\n`;
    const signature = createHmac('sha256', Buffer.from(t.credentials.secret_key, 'base64url')).update(message).digest('base64url');
    const dstack = await t.get(`/projects/${TP}/quotas`, { timestamp, authorization: `Bearer 1.0:${t.credentials.access_key}:${signature}` });
    expect(dstack.status, dstack.text).toBe(200);
    const byName = (list: any[]) => Object.fromEntries(list.map((q) => [q.programmatic_name, q]));
    const empty = byName(dstack.body.quotas);
    expect(empty.a40).toEqual({ type: 'PROJECT_QUOTA_TYPE_MAXIMUM_VM_SLICES_A40', programmatic_name: 'a40', category: 'GPU Instance', description: 'A40-PCIe-48GB GPUs', max: 512, used: 0, available: 512 });
    expect(empty.c1a).toMatchObject({ category: 'CPU Instance', used: 0 });
    expect(empty.vms).toMatchObject({ category: 'Instance', used: 0, max: 1000 });
    expect(empty['disk-storage-gib']).toMatchObject({ category: 'Storage', used: 0 });

    // Two VMs and a disk in the project; a VM in a second project counts for the organization only.
    await succeeds(h, t, Families.vms, t.post(`/projects/${TP}/compute/vms/instances`, { name: 'g', type: 'a40.2x', location: 'us-northcentral1-a', ssh_public_key: KEY }));
    await succeeds(h, t, Families.vms, t.post(`/projects/${TP}/compute/vms/instances`, { name: 'c', type: 'c1a.4x', location: LOCATION, ssh_public_key: KEY }));
    await succeeds(h, t, Families.disks, t.post(`/projects/${TP}/storage/disks`, { name: 'data', size: '10GiB', location: LOCATION }));
    const second = (await t.post('/organizations/projects', { name: 'second', organization_id: ORG })).body.project.id;
    await succeeds(h, t, Families.vms, t.post(`/projects/${second}/compute/vms/instances`, { name: 'g2', type: 'a40.1x', location: 'us-northcentral1-a', ssh_public_key: KEY }), 1_000, second);

    const project = byName((await t.get(`/projects/${TP}/quotas`)).body.quotas);
    expect(project.a40).toMatchObject({ used: 2, available: 510 });
    expect(project.c1a).toMatchObject({ used: 4 });
    expect(project.vms).toMatchObject({ used: 2 });
    const disks = (await t.get(`/projects/${TP}/storage/disks`)).body.items as any[];
    const gib = disks.reduce((sum, d) => sum + Number(String(d.size).replace(/GiB$/, '')) * (String(d.size).endsWith('TiB') ? 1024 : 1), 0);
    expect(project['disk-storage-gib'].used).toBe(gib);
    const org = await t.get(`/organizations/${ORG}/quotas`);
    expect(org.status, org.text).toBe(200);
    const orgQuotas = byName(org.body.quotas);
    expect(orgQuotas.a40).toEqual({ type: 'ORG_QUOTA_TYPE_MAXIMUM_VM_SLICES_A40', programmatic_name: 'a40', description: 'A40-PCIe-48GB GPUs', max: 512, used: 3, available: 509 });
    expect(orgQuotas.vms.used).toBe(3);

    // The operator's quota settings are max; the admin API names the same keys and counts the same use.
    const set = await admin.put(`/accounts/${accountId}/quotas`, { 'crusoe.family.a40': 4 });
    expect(set.status, set.text).toBe(200);
    expect(set.body.quotas['crusoe.family.a40']).toEqual({ limit: 4, used: 3, custom: true });
    expect(byName((await t.get(`/projects/${TP}/quotas`)).body.quotas).a40).toMatchObject({ max: 4, used: 2, available: 2 });
    expect(byName((await t.get(`/organizations/${ORG}/quotas`)).body.quotas).a40).toMatchObject({ max: 4, used: 3, available: 1 });
    expectCrusoeError(
      await t.post(`/projects/${TP}/compute/vms/instances`, { name: 'over', type: 'a40.2x', location: 'us-northcentral1-a', ssh_public_key: KEY }),
      403,
      'quota_exceeded',
      'a40 quota',
    );
    await succeeds(h, t, Families.vms, t.post(`/projects/${TP}/compute/vms/instances`, { name: 'fits', type: 'a40.1x', location: 'us-northcentral1-a', ssh_public_key: KEY }));

    // Another tenant's organization and project are not readable.
    expectCrusoeError(await c.get(`/organizations/${ORG}/quotas`), 403, 'unauthorized', ORG);
    expectCrusoeError(await c.get(`/projects/${TP}/quotas`), 403, 'unauthorized');
  });
});
