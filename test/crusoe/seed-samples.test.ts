import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, expectCrusoeError, newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';
import { Families, succeeds } from './support.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();

/** The seed's own request samples, as written, through signed requests. */
describe('Crusoe: the seed’s samples as written', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let P: string;
  let subnetId: string;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    P = c.projectId;
    subnetId = (await c.get(`/projects/${P}/networking/vpc-subnets`)).body.items.find((s: any) => s.location === LOCATION).id;
  });
  afterAll(() => h.close());

  it('reports disk sizes in GiB: a disk created as 1TiB reads back 1024GiB, in the disk and in the operation', async () => {
    const disk = await succeeds(h, c, Families.disks, c.post(`/projects/${P}/storage/disks`, { name: 'big', size: '1TiB', location: LOCATION, type: 'DISK_TYPE_PERSISTENT_SSD' }));
    expect(disk).toMatchObject({ size: '1024GiB', type: 'persistent-ssd' });
    expect((await c.get(`/projects/${P}/storage/disks/${disk.id}`)).body).toMatchObject({ size: '1024GiB', type: 'persistent-ssd' });
    const grown = await succeeds(h, c, Families.disks, c.patch(`/projects/${P}/storage/disks/${disk.id}`, { size: '2TiB' }));
    expect(grown.size).toBe('2048GiB');
    expectCrusoeError(await c.post(`/projects/${P}/storage/disks`, { name: 'odd', size: '1TiB', location: LOCATION, type: 'DISK_TYPE_FLOPPY' }), 400, 'bad_request', '"type"');
  });

  it('takes the image "ubuntu:20.04" and the disk type DISK_TYPE_PERSISTENT_SSD as aliases of the catalog’s names', async () => {
    const vm = await succeeds(h, c, Families.vms, c.post(`/projects/${P}/compute/vms/instances`, { name: 'seed-vm', type: 'c1a.2x', location: LOCATION, image: 'ubuntu:20.04', ssh_public_key: KEY }));
    expect(vm.id).toBeTruthy();
    const template = await c.post(`/projects/${P}/compute/instance-templates`, {
      template_name: 'seed-template',
      type: 'c1a.2x',
      image_name: 'ubuntu:20.04',
      ssh_public_key: KEY,
      disks: [{ size: '1TiB', type: 'DISK_TYPE_PERSISTENT_SSD' }],
    });
    expect(template.status, template.text).toBe(200);
    expect(template.body).toMatchObject({ image_name: 'ubuntu20.04:latest', disks: [{ size: '1TiB', type: 'persistent-ssd' }] });
    const bulk = await succeeds(
      h,
      c,
      Families.vms,
      c.post(`/projects/${P}/compute/vms/bulk-instances`, {
        name_prefix: 'seed-bulk',
        count: 1,
        instance_template: { template_name: 'inline', type: 'c1a.2x', image_name: 'ubuntu:20.04', ssh_public_key: KEY, disks: [{ size: '10GiB', type: 'DISK_TYPE_PERSISTENT_SSD' }] },
        locations: [{ location: LOCATION }],
      }),
    );
    expect(bulk[0].disks.map((d: any) => [d.type, d.size])).toEqual([
      ['persistent-ssd', '128GiB'],
      ['persistent-ssd', '10GiB'],
    ]);
    expectCrusoeError(
      await c.post(`/projects/${P}/compute/vms/instances`, { name: 'no-such', type: 'c1a.2x', location: LOCATION, image: 'ubuntu:19.10', ssh_public_key: KEY }),
      400,
      'bad_request',
      '"ubuntu:19.10" is not an image',
    );
  });

  it('accepts firewall rule and load balancer targets with both cidr and resource_id: the resource governs', async () => {
    const vm = await succeeds(h, c, Families.vms, c.post(`/projects/${P}/compute/vms/instances`, { name: 'target', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY }));
    const net = (await c.get(`/projects/${P}/networking/vpc-networks`)).body.items[0];
    const rule = await succeeds(
      h,
      c,
      Families.firewallRules,
      c.post(`/projects/${P}/networking/vpc-firewall-rules`, {
        name: 'seed-rule',
        vpc_network_id: net.id,
        action: 'allow',
        direction: 'ingress',
        protocols: ['tcp'],
        sources: [{ cidr: '10.0.0.0/8', resource_id: subnetId }],
        destinations: [{ cidr: '10.0.0.0/8', resource_id: vm.id }],
        destination_ports: ['22'],
      }),
    );
    expect(rule.destinations).toEqual([{ cidr: '10.0.0.0/8', resource_id: vm.id }]);
    // The resource governs: the VM cannot go while the rule names it.
    expectCrusoeError(await c.delete(`/projects/${P}/compute/vms/instances/${vm.id}`), 409, 'conflict');
    const lb = await succeeds(
      h,
      c,
      Families.loadBalancers,
      c.post(`/projects/${P}/networking/internal-load-balancers`, {
        name: 'seed-lb',
        location: LOCATION,
        algorithm: 'random',
        protocols: ['tcp'],
        destinations: [{ cidr: '10.0.0.0/8', resource_id: vm.id }],
        network_interfaces: [{ subnet: subnetId }],
      }),
    );
    expect(lb.destinations).toEqual([{ cidr: '10.0.0.0/8', resource_id: vm.id }]);
    // … and it must exist: a real CIDR does not stand in for a missing resource.
    expectCrusoeError(
      await c.post(`/projects/${P}/networking/internal-load-balancers`, {
        name: 'seed-lb-2',
        location: LOCATION,
        algorithm: 'random',
        protocols: ['tcp'],
        destinations: [{ cidr: '10.0.0.0/8', resource_id: '00000000-0000-4000-8000-000000000000' }],
        network_interfaces: [{ subnet: subnetId }],
      }),
      400,
      'bad_request',
      'not found in this project',
    );
  });

  it('holds instance templates to the seed’s rules: a location needs its subnet (and partition for IB), no custom image', async () => {
    const templates = `/projects/${P}/compute/instance-templates`;
    expectCrusoeError(
      await c.post(templates, { template_name: 't1', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY }),
      400,
      'bad_request',
      '"subnet_id" is required when "location" is given',
    );
    expectCrusoeError(
      await c.post(templates, { template_name: 't2', type: 'h100-80gb-sxm-ib.8x', location: LOCATION, subnet_id: subnetId, ssh_public_key: KEY }),
      400,
      'bad_request',
      '"ib_partition_id" is required',
    );
    const snapshotLike = '11111111-2222-4333-8444-555555555555';
    expectCrusoeError(await c.post(templates, { template_name: 't3', type: 'c1a.2x', custom_image_name: snapshotLike, ssh_public_key: KEY }), 400, 'bad_request', '"custom_image_name"');
    // Another project's real snapshot id is refused as a VM's custom_image is.
    const other = await newCrusoeAccount(h, 'snapshot-owner');
    const OP = other.client.projectId;
    const theirDisk = await succeeds(h, other.client, Families.disks, other.client.post(`/projects/${OP}/storage/disks`, { name: 'd', size: '10GiB', location: LOCATION }), 1_000, OP);
    const theirSnapshot = await succeeds(h, other.client, Families.snapshots, other.client.post(`/projects/${OP}/storage/snapshots`, { disk_id: theirDisk.id, name: 's' }), 1_000, OP);
    expectCrusoeError(await c.post(templates, { template_name: 't3', type: 'c1a.2x', custom_image_name: theirSnapshot.id, ssh_public_key: KEY }), 400, 'bad_request', `custom image "${theirSnapshot.id}" not found`);
    expectCrusoeError(
      await c.post(`/projects/${P}/compute/vms/instances`, { name: 'custom', type: 'c1a.2x', location: LOCATION, custom_image: theirSnapshot.id, ssh_public_key: KEY }),
      400,
      'bad_request',
      `custom image "${theirSnapshot.id}" not found`,
    );
    const ib = (await c.get(`/projects/${P}/networking/ib-networks`)).body.items.find((n: any) => n.location === LOCATION);
    const partition = (await c.post(`/projects/${P}/networking/ib-partitions`, { name: 'p', ib_network_id: ib.id })).body;
    const ok = await c.post(templates, { template_name: 't4', type: 'h100-80gb-sxm-ib.8x', location: LOCATION, subnet_id: subnetId, ib_partition_id: partition.id, ssh_public_key: KEY });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ location: LOCATION, subnet_id: subnetId, ib_partition_id: partition.id });
    // Without a location, nothing location-specific is needed.
    expect((await c.post(templates, { template_name: 't5', type: 'c1a.2x', ssh_public_key: KEY })).status).toBe(200);
  });

  it('takes the capacity filter in the seed’s bracketed form, and filters images by product group', async () => {
    const bracketed = await c.get('/capacities', { rawQuery: 'product_name=[a100.1x, a100.2x]&location=us-northcentral1-a' });
    expect(bracketed.status, bracketed.text).toBe(200);
    expect(bracketed.body.items.map((i: any) => i.type)).toEqual(['a100.1x', 'a100.2x']);
    const encoded = await c.get('/capacities', { query: { product_name: '[a100.1x, a100.2x]', location: '[us-northcentral1-a]' } });
    expect(encoded.body.items.map((i: any) => i.type)).toEqual(['a100.1x', 'a100.2x']);

    const all = (await c.get('/compute/images')).body.items.map((i: any) => i.name);
    const amd = (await c.get('/compute/images', { query: { product_group: 'mi300x' } })).body.items.map((i: any) => i.name);
    const h100 = (await c.get('/compute/images', { query: { product_group: 'h100' } })).body.items.map((i: any) => i.name);
    expect(amd).toContain('ubuntu-rocm');
    expect(amd).not.toContain('ubuntu22.04-nvidia-sxm-docker');
    expect(h100).toContain('ubuntu22.04-nvidia-sxm-docker');
    expect(h100).not.toContain('ubuntu-rocm');
    expect(h100).toContain('ubuntu22.04');
    expect(h100.length).toBeLessThan(all.length);
    expectCrusoeError(await c.get('/compute/images', { query: { product_group: 'z80' } }), 400, 'bad_request', '"product_group": "z80" is not a product group');
  });

  it('splits the usage export of a VM that changed type into one row per type', async () => {
    const HOUR = 3_600_000;
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const started = h.clock.now();
    const vms = `/projects/${P}/compute/vms/instances`;
    const vm = await succeeds(h, c, Families.vms, c.post(vms, { name: 'shifter', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY }));
    await h.advance(HOUR);
    await succeeds(h, c, Families.vms, c.patch(`${vms}/${vm.id}`, { action: 'STOP' }));
    await succeeds(h, c, Families.vms, c.patch(`${vms}/${vm.id}`, { action: 'UPDATE', type: 'c1a.4x' }));
    await succeeds(h, c, Families.vms, c.patch(`${vms}/${vm.id}`, { action: 'START' }));
    await h.advance(HOUR);
    const res = await c.get(`/organizations/${c.credentials.organization_id}/usage/export`, {
      query: { projects: P, resources: vm.id, resource_types: '', regions: '', start_date: day(started), end_date: day(h.clock.now()) },
      skipSpec: true,
    });
    expect(res.status, res.text).toBe(200);
    const perType = new Map<string, number>();
    for (const line of res.text.trim().split('\r\n').slice(1)) {
      const [, , id, type, , metric, quantity] = line.split(',');
      expect([id, metric]).toEqual([vm.id, 'cpu-hours']);
      perType.set(type!, (perType.get(type!) ?? 0) + Number(quantity));
    }
    expect([...perType.keys()].sort()).toEqual(['c1a.2x', 'c1a.4x']);
    // About an hour at each size (the boot and the stop take their seconds too).
    expect(perType.get('c1a.2x')).toBeGreaterThanOrEqual(2);
    expect(perType.get('c1a.4x')).toBeGreaterThanOrEqual(4);
  });
});
