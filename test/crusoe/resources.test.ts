import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { awaitOperation, crusoeClient, expectCrusoeError, goTimestamp, type CrusoeClient } from '../helpers/crusoe.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();

describe('Crusoe catalog, organizations, projects, keys, templates, groups and operations', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let P: string;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    P = c.projectId;
  });
  afterAll(() => h.close());

  /** The public address leases a VM holds (in its location's public pool, owned by its id). */
  const publicLeases = (vmId: string) => h.hangar.kernel.db.selectFrom('ip_leases').select('address').where('owner', '=', vmId).where('pool', 'like', 'crusoe:%:public').execute();

  async function vm(name: string, body: Record<string, unknown> = {}, projectId = P): Promise<any> {
    const res = await c.post(`/projects/${projectId}/compute/vms/instances`, { name, type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY, ...body });
    expect(res.status, res.text).toBe(200);
    const done = await awaitOperation(h, c, projectId, res.body.operation);
    expect(done.state, JSON.stringify(done)).toBe('SUCCEEDED');
    return done.result;
  }

  it('serves locations, VM types, images and free capacity from the catalog', async () => {
    expect((await c.get('/locations')).body.items).toEqual(['us-east1-a', 'us-northcentral1-a', 'us-southcentral1-a', 'eu-iceland1-a']);
    const types = (await c.get(`/projects/${P}/compute/vms/types`)).body.items as any[];
    expect(types.map((t) => t.product_name)).toEqual(expect.arrayContaining(['a100.1x', 'a100.8x', 'a100-80gb-sxm-ib.8x', 'h100-80gb-sxm-ib.8x', 'c1a.2x']));
    expect(types.find((t) => t.product_name === 'h100-80gb-sxm-ib.8x')).toMatchObject({ num_gpu: 8, gpu_type: 'H100-SXM-80GB', cpu_cores: 176, memory_gb: 1920 });
    expect(types.find((t) => t.product_name === 'c1a.2x')).toMatchObject({ num_gpu: 0, gpu_type: '', cpu_cores: 2 });

    const images = (await c.get('/compute/images')).body.items as any[];
    const ubuntu = images.find((i) => i.name === 'ubuntu22.04');
    expect(ubuntu).toMatchObject({ tags: expect.arrayContaining(['latest']), locations: expect.arrayContaining([LOCATION]) });
    expect((await c.get(`/compute/images/${ubuntu.id}`)).body).toEqual(ubuntu);
    expectCrusoeError(await c.get('/compute/images/not-an-image'), 404, 'not_found', 'image "not-an-image" not found');

    const all = (await c.get('/capacities')).body.items as any[];
    expect(all.length).toBeGreaterThan(50);
    expect(all.every((i) => i.quantity >= 100)).toBe(true);
    const two = await c.get('/capacities', { query: { product_name: 'a100.1x,a100.2x', location: 'us-northcentral1-a' } });
    expect(two.body.items).toEqual([
      { type: 'a100.1x', location: 'us-northcentral1-a', quantity: 1000 },
      { type: 'a100.2x', location: 'us-northcentral1-a', quantity: 1000 },
    ]);
    const before = (await c.get('/capacities', { query: { product_name: 'l40s-48gb.1x', location: LOCATION } })).body.items[0].quantity;
    const v = await vm('stock-taker', { type: 'l40s-48gb.1x' });
    expect((await c.get('/capacities', { query: { product_name: 'l40s-48gb.1x', location: LOCATION } })).body.items[0].quantity).toBe(before - 1);
    const del = await c.delete(`/projects/${P}/compute/vms/instances/${v.id}`);
    await awaitOperation(h, c, P, del.body.operation);
    expect((await c.get('/capacities', { query: { product_name: 'l40s-48gb.1x', location: LOCATION } })).body.items[0].quantity).toBe(before);
  });

  it('puts IB VMs on a partition of the location’s IB network', async () => {
    const networks = (await c.get(`/projects/${P}/networking/ib-networks`)).body.items as any[];
    const east = networks.find((n) => n.location === LOCATION);
    expect(east.capacities.map((x: any) => x.slice_type).sort()).toEqual(['a100-80gb-sxm-ib.8x', 'h100-80gb-sxm-ib.8x', 'h200-141gb-sxm-ib.8x']);
    expect((await c.get(`/projects/${P}/networking/ib-networks/${east.id}`)).body.id).toBe(east.id);
    const partition = await c.post(`/projects/${P}/networking/ib-partitions`, { name: 'fabric', ib_network_id: east.id });
    expect(partition.status, partition.text).toBe(200);
    expect(partition.body).toMatchObject({ name: 'fabric', ib_network_id: east.id });
    const ibVm = await vm('ib-node', { type: 'h100-80gb-sxm-ib.8x', host_channel_adapters: [{ ib_partition_id: partition.body.id }] });
    expect(ibVm.host_channel_adapters).toEqual([
      expect.objectContaining({ type: 'infiniband', ib_network_id: east.id, ib_partition_id: partition.body.id, guid: expect.stringMatching(/^([0-9a-f]{4}:){3}[0-9a-f]{4}$/) }),
    ]);
    expectCrusoeError(
      await c.post(`/projects/${P}/compute/vms/instances`, { name: 'no-ib', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY, host_channel_adapters: [{ ib_partition_id: partition.body.id }] }),
      400,
      'bad_request',
      'has no InfiniBand',
    );
    expectCrusoeError(await c.delete(`/projects/${P}/networking/ib-partitions/${partition.body.id}`), 409, 'conflict', 'in use by VM');
    const del = await c.delete(`/projects/${P}/compute/vms/instances/${ibVm.id}`);
    await awaitOperation(h, c, P, del.body.operation);
    expect((await c.delete(`/projects/${P}/networking/ib-partitions/${partition.body.id}`)).status).toBe(200);
    expect((await c.get(`/projects/${P}/networking/ib-partitions`)).body.items).toEqual([]);
  });

  it('shows and updates the identity and the organization (billing block included)', async () => {
    const me = await c.get('/users/identities');
    expect(me.body.identity).toMatchObject({ name: 'demo', email: 'demo@hangar.test', role: 'admin' });
    const renamed = await c.put('/users/identities', { name: 'Ada Lovelace', role: 'Admin' });
    expect(renamed.body.identity).toMatchObject({ name: 'Ada Lovelace', role: 'Admin', id: me.body.identity.id });
    expectCrusoeError(await c.put('/users/identities', { role: 'x' }), 400, 'bad_request', '"name" is required');

    const entity = (await c.get('/organizations/entities')).body.items[0];
    expect(entity).toMatchObject({ relation: 'owner', billing: { delinquent: false, has_valid_payment_method: true }, features: {}, state_reason: '' });
    const updated = await c.put(
      '/organizations/entities',
      { organization_name: 'Crusoe Energy', company_name: 'Hangar Labs', tax_id_type: 'VAT', tax_id: 'NL123', billing_addr: { address_line1: '1 Main St', city: 'Denver', state_or_region: 'CO', postal_code: '80202', country: 'US' } },
      { query: { org_id: entity.id } },
    );
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body.entity).toMatchObject({ id: entity.id, name: 'Crusoe Energy', company_name: 'Hangar Labs', tax_id_type: 'VAT', billing_addr: { city: 'Denver' } });
    expectCrusoeError(await c.put('/organizations/entities', { tax_id_type: 'SSN' }, { query: { org_id: entity.id } }), 400, 'bad_request', '"tax_id_type" must be one of: EIN, VAT');
    expectCrusoeError(await c.put('/organizations/entities', {}), 400, 'bad_request', '"org_id" is required');
  });

  it('registers, lists and deletes SSH keys with md5 and sha256 fingerprints', async () => {
    // The seed's sample key; fingerprints as OpenSSH prints them (ssh-keygen -l -E md5 / sha256).
    const line = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICpuH/fqCFLbAConChyVH6rZzSaxlnHSwQk6qvtPsf5E';
    const made = await c.post('/users/ssh-keys', { name: 'public key 1', public_key: line });
    expect(made.body.ssh_key).toMatchObject({
      name: 'public key 1',
      public_key: line,
      fingerprints: { md5: 'dd:80:bb:32:80:4e:07:c6:66:56:51:04:3d:29:d0:9d', sha256: 'STVkGcsXZ0lW8cr70LuEL2UaafjS2z9pX8HQWrsPb94' },
      created_at: goTimestamp(h.clock.now()),
    });
    const rsa = await c.post('/users/ssh-keys', { name: 'rsa', public_key: publicKey('rsa') });
    expect(rsa.status).toBe(200);
    expect((await c.get('/users/ssh-keys')).body.items.map((k: any) => k.name)).toEqual(['public key 1', 'rsa']);
    expectCrusoeError(await c.post('/users/ssh-keys', { name: 'rsa', public_key: publicKey() }), 409, 'conflict', 'an SSH key named "rsa" already exists');
    expectCrusoeError(await c.post('/users/ssh-keys', { name: 'bad', public_key: 'hello world' }), 400, 'bad_request', '"public_key" is not an OpenSSH public key');
    expectCrusoeError(await c.post('/users/ssh-keys', { name: 'priv', public_key: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----' }), 400, 'bad_request', '"public_key" is a private key');
    expect((await c.delete('/users/ssh-keys', { query: { id: rsa.body.ssh_key.id } })).status).toBe(200);
    expectCrusoeError(await c.delete('/users/ssh-keys', { query: { id: rsa.body.ssh_key.id } }), 404, 'not_found', 'ssh key');
    expectCrusoeError(await c.delete('/users/ssh-keys'), 400, 'bad_request', '"id" is required');
  });

  it('lists, creates, renames and cascades the deletion of projects', async () => {
    const org = c.credentials.organization_id!;
    const made = await c.post('/organizations/projects', { name: 'scratch', organization_id: org });
    const S = made.body.project.id;
    expect((await c.get('/organizations/projects', { query: { project_name: 'scratch' } })).body.items.map((p: any) => p.id)).toEqual([S]);
    expect((await c.get('/organizations/projects', { query: { org_id: org, skip_loading_project_resources: 'true' } })).body.items.length).toBeGreaterThanOrEqual(2);
    const renamed = await c.put('/organizations/projects', { name: 'scratchpad' }, { query: { project_id: S } });
    expect(renamed.body.project).toMatchObject({ id: S, name: 'scratchpad' });
    expectCrusoeError(await c.put('/organizations/projects', { name: 'default' }, { query: { project_id: S } }), 409, 'conflict', 'already exists');

    // A project with a running VM, one still being created, a template and a group: all go with it.
    const kernel = h.hangar.kernel;
    const used = async () => (await kernel.capacity.list(kernel.db, 'crusoe', LOCATION)).find((s) => s.sku === 'a100-80gb.1x')!.used;
    const usedBefore = await used();
    await vm('doomed', { type: 'a100-80gb.1x' }, S);
    const pending = await c.post(`/projects/${S}/compute/vms/instances`, { name: 'half-born', type: 'a100-80gb.1x', location: LOCATION, ssh_public_key: KEY });
    expect(pending.status).toBe(200);
    const template = await c.post(`/projects/${S}/compute/instance-templates`, { template_name: 't', type: 'c1a.2x', ssh_public_key: KEY });
    await c.post(`/projects/${S}/compute/instance-groups`, { name: 'g', template_id: template.body.id });
    expect((await c.get(`/organizations/projects/${S}`)).body.resources).toMatchObject({ instances: { count: 2 }, disks: { count: 2 } });
    expect(await used()).toBe(usedBefore + 2);
    const timersBefore = await kernel.lifecycle.pending();

    expect((await c.delete(`/organizations/projects/${S}`)).status).toBe(200);
    expect(await used()).toBe(usedBefore);
    expect(await kernel.lifecycle.pending()).toBe(timersBefore - 1);
    for (const table of ['crusoe_vms', 'crusoe_disks', 'crusoe_instance_templates', 'crusoe_instance_groups', 'crusoe_operations'] as const) {
      expect(await kernel.db.selectFrom(table).select('project_id').where('project_id', '=', S).execute()).toEqual([]);
    }
    expectCrusoeError(await c.get(`/organizations/projects/${S}`), 403, 'unauthorized', S);
    expectCrusoeError(await c.get(`/projects/${S}/compute/vms/instances`), 403, 'unauthorized', S);
    await h.advance(5_000); // the cancelled create never lands anywhere
    expect(await kernel.db.selectFrom('crusoe_vms').select('id').where('name', '=', 'half-born').execute()).toEqual([]);
  });

  it('keeps templates and groups consistent: defaults for either era, conflicts on delete', async () => {
    const template = await c.post(`/projects/${P}/compute/instance-templates`, {
      template_name: 'gpu-box',
      type: 'a100-80gb.1x',
      ssh_public_key: KEY,
      disks: [{ size: '1TiB', type: 'shared-volume' }],
      virtualization_features: { nested_virtualization: true },
    });
    expect(template.status, template.text).toBe(200);
    expect(template.body).toMatchObject({
      location: '',
      image_name: '',
      public_ip_address_type: 'dynamic',
      placement_policy: 'unspecified',
      maintenance_policy: 'unspecified',
      disks: [{ size: '1TiB', type: 'shared-volume' }],
      virtualization_features: { nested_virtualization: true },
    });
    expect((await c.get(`/projects/${P}/compute/instance-templates/${template.body.id}`)).body.id).toBe(template.body.id);
    expectCrusoeError(await c.get(`/projects/${P}/compute/instance-templates/nope`), 404, 'not_found', 'instance template "nope" not found');
    expectCrusoeError(
      await c.post(`/projects/${P}/compute/instance-templates`, { template_name: 'x', type: 'c1a.2x', ssh_public_key: KEY, disks: [{ size: '10GB', type: 'persistent-ssd' }] }),
      400,
      'bad_request',
      '"disks.0.size" must be a size such as "10GiB" or "1TiB"',
    );
    expectCrusoeError(await c.post(`/projects/${P}/compute/instance-templates`, { template_name: 'x', ssh_public_key: KEY }), 400, 'bad_request', '"type" is required');

    // The seed's group create has no desired_count: it defaults to 0; today's does.
    const seedEra = await c.post(`/projects/${P}/compute/instance-groups`, { name: 'seed-era', template_id: template.body.id });
    expect(seedEra.body).toMatchObject({ desired_count: 0, state: 'HEALTHY', running_instance_count: 0 });
    const today = await c.post(`/projects/${P}/compute/instance-groups`, { name: 'today', template_id: template.body.id, desired_count: 2 });
    expect(today.body).toMatchObject({ desired_count: 2, state: 'UNHEALTHY' });
    const G = today.body.id;
    expect((await c.patch(`/projects/${P}/compute/instance-groups/${G}`, { desired_count: { value: 1 } })).body.desired_count).toBe(1);
    expect((await c.patch(`/projects/${P}/compute/instance-groups/${G}`, { desired_count: 3, name: 'renamed' })).body).toMatchObject({ desired_count: 3, name: 'renamed' });
    expectCrusoeError(await c.post(`/projects/${P}/compute/instance-groups`, { name: 'x', template_id: 'missing' }), 400, 'bad_request', '"template_id": instance template "missing" not found');
    expectCrusoeError(await c.get(`/projects/${P}/compute/instance-groups/missing`), 404, 'not_found', 'instance group "missing" not found');

    // Bulk into the group from its own template, in a location of the caller's choosing.
    const bulk = await c.post(`/projects/${P}/compute/vms/bulk-instances`, { name_prefix: 'g', count: 1, instance_group_id: G, locations: [{ location: 'us-northcentral1-a' }] });
    expect(bulk.status, bulk.text).toBe(200);
    const done = await awaitOperation(h, c, P, bulk.body.operation);
    expect(done.result.map((v: any) => [v.name, v.location, v.virtualization_features])).toEqual([['g-1', 'us-northcentral1-a', { nested_virtualization: true }]]);
    expect(done.result[0].disks.map((d: any) => [d.type, d.size])).toEqual([
      ['persistent-ssd', '128GiB'],
      ['shared-volume', '1024GiB'],
    ]);
    expectCrusoeError(await c.delete(`/projects/${P}/compute/instance-templates/${template.body.id}`), 409, 'conflict', 'is used by instance group');
    expectCrusoeError(await c.delete(`/projects/${P}/compute/instance-groups/${G}`), 409, 'conflict', 'still has VMs');

    // Stopping a member keeps running_instance_count true; its dynamic public address goes back.
    const member = done.result[0];
    expect(await publicLeases(member.id)).toHaveLength(1);
    const stop = await c.patch(`/projects/${P}/compute/vms/instances/${member.id}`, { action: 'STOP' });
    await awaitOperation(h, c, P, stop.body.operation);
    expect(await publicLeases(member.id)).toEqual([]);
    expect((await c.get(`/projects/${P}/compute/instance-groups/${G}`)).body).toMatchObject({ running_instance_count: 0, active_instances: [], inactive_instances: [member.id] });
    const del = await c.delete(`/projects/${P}/compute/vms/instances/${member.id}`);
    await awaitOperation(h, c, P, del.body.operation);
    expect((await c.delete(`/projects/${P}/compute/instance-groups/${G}`)).status).toBe(200);
    expect((await c.delete(`/projects/${P}/compute/instance-groups/${seedEra.body.id}`)).status).toBe(200);
    expect((await c.delete(`/projects/${P}/compute/instance-templates/${template.body.id}`)).status).toBe(200);
  });

  it('creates a VM from a seed-era request (no location), keeps a static address across a stop, and changes type while stopped', async () => {
    const res = await c.post(`/projects/${P}/compute/vms/instances`, {
      name: 'seed-era',
      type: 'a100.2x',
      ssh_public_key: KEY,
      image: 'ubuntu20.04:latest',
      network_interfaces: [{ ips: [{ public_ipv4: { type: 'static' } }] }],
      startup_script: "#!/bin/bash\\necho'hello'",
    });
    expect(res.status, res.text).toBe(200);
    const v = (await awaitOperation(h, c, P, res.body.operation)).result;
    expect(v.location).toBe('us-east1-a'); // the first location that sells the type
    const address = v.network_interfaces[0].ips[0].public_ipv4;
    expect(address.type).toBe('static');
    const vm = `/projects/${P}/compute/vms/instances/${v.id}`;
    await awaitOperation(h, c, P, (await c.patch(vm, { action: 'STOP' })).body.operation);
    expect((await c.get(vm)).body.network_interfaces[0].ips[0].public_ipv4).toEqual(address);
    expect(await publicLeases(v.id)).toHaveLength(1); // a static address stays leased while stopped

    const resize = await c.patch(vm, { action: 'UPDATE', type: 'a100.4x', maintenance_policy: 'stop-vm' });
    expect(resize.status, resize.text).toBe(200);
    const resized = await awaitOperation(h, c, P, resize.body.operation);
    expect(resized.result).toMatchObject({ type: 'a100.4x', maintenance_policy: 'stop-vm', state: 'STATE_SHUTOFF' });
    await awaitOperation(h, c, P, (await c.patch(vm, { action: 'START' })).body.operation);
    expect((await c.get(vm)).body).toMatchObject({ state: 'STATE_RUNNING', type: 'a100.4x' });

    const reset = await c.patch(vm, { action: 'RESET' });
    expect((await awaitOperation(h, c, P, reset.body.operation)).result.state).toBe('STATE_RUNNING');
    const del = await c.delete(vm);
    await awaitOperation(h, c, P, del.body.operation);
  });

  it('lists operations by state, resource and time, and fails one an operator sabotaged', async () => {
    const vms = `/projects/${P}/compute/vms/instances`;
    const since = goTimestamp(h.clock.now());
    const one = await c.post(vms, { name: 'op-a', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY });
    const two = await c.post(vms, { name: 'op-b', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY });
    // Both start at the same (frozen) instant and still list in the order they were made.
    const ids = [one.body.operation.operation_id, two.body.operation.operation_id];
    const listIds = async (query: Record<string, string>) => (await c.get(`${vms}/operations`, { query })).body.items.map((o: any) => o.operation_id);
    expect(await listIds({ lower_time_bound: since })).toEqual(ids);
    expect(await listIds({ resource_id: two.body.operation.metadata.id })).toEqual([two.body.operation.operation_id]);
    await h.advance(3_000);
    // Finished, not yet read: still listed, now SUCCEEDED.
    expect(await listIds({ state: 'SUCCEEDED', lower_time_bound: since })).toEqual(ids);
    expect(await listIds({ state: 'IN_PROGRESS' })).toEqual([]);
    expect(await listIds({ state: 'FAILED,IN_PROGRESS' })).toEqual([]);
    await c.get(`${vms}/operations/${one.body.operation.operation_id}`);
    expect(await listIds({ lower_time_bound: since })).toEqual([two.body.operation.operation_id]);

    // An operator makes the next VM creation fail: the operation ends FAILED and nothing is left behind.
    const fault = await h.hangar.kernel.faults.add({ kind: 'crusoe.operation', transition: 'vm.create', count: 1 });
    const doomed = await c.post(vms, { name: 'sabotaged', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY });
    const failed = await awaitOperation(h, c, P, doomed.body.operation);
    expect(failed).toMatchObject({ state: 'FAILED', result: { code: 'internal_error' } });
    expect((await c.get(vms, { query: { names: 'sabotaged' } })).body.items).toEqual([]);
    await h.hangar.kernel.faults.remove(fault.id);
    for (const id of [one.body.operation.metadata.id, two.body.operation.metadata.id]) {
      await awaitOperation(h, c, P, (await c.delete(`${vms}/${id}`)).body.operation);
    }
  });
});
