import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, T0, type TestHangar } from '../helpers/hangar.js';
import { awaitOperation, crusoeClient, goTimestamp, publicKey, type CrusoeClient } from '../helpers/crusoe.js';
import { awaitOp, Families } from './support.js';

const LOCATION = 'us-east1-a';
const TYPE = 'a100.2x';

async function freeStock(h: TestHangar, type: string, location = LOCATION): Promise<number> {
  const stock = await h.hangar.kernel.capacity.list(h.hangar.kernel.db, 'crusoe', location);
  const line = stock.find((s) => s.sku === type)!;
  return line.total - line.used;
}

describe('Crusoe walk: token, key, project, VM lifecycle, disk, bulk into a group, paging, teardown', () => {
  let h: TestHangar;
  let demo: CrusoeClient;
  beforeAll(async () => {
    h = await startHangar();
    demo = crusoeClient(h);
  });
  afterAll(() => h.close());

  it('walks the whole compute API with a signed client, clock advanced rather than slept', async () => {
    // --- a token of its own, then everything else signed with it ---------------------------
    const expires = goTimestamp(T0 + 30 * 86_400_000);
    const created = await demo.post('/users/tokens', { alias: 'walk', expires_at: expires });
    expect(created.status, created.text).toBe(200);
    const token = created.body.token;
    expect(token).toMatchObject({ alias: 'walk', expires_at: expires, created_at: goTimestamp(T0) });
    expect(token.access_key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(token.secret_key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const c = demo.as({ ...demo.credentials, access_key: token.access_key, secret_key: token.secret_key });
    const tokens = await c.get('/users/tokens');
    const listed = tokens.body.items.find((t: any) => t.access_key === token.access_key);
    expect(listed).toEqual({ access_key: token.access_key, alias: 'walk', created_at: goTimestamp(T0), expires_at: expires, last_used: goTimestamp(T0) });
    expect(JSON.stringify(tokens.body)).not.toContain(token.secret_key);

    // --- an SSH key, parsed, with both fingerprints ------------------------------------------
    const keyLine = publicKey('ed25519', 'walker@laptop');
    const key = await c.post('/users/ssh-keys', { name: 'laptop', public_key: keyLine });
    expect(key.status, key.text).toBe(200);
    expect(key.body.ssh_key).toMatchObject({ name: 'laptop', public_key: keyLine });
    expect(key.body.ssh_key.fingerprints.md5).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    expect(key.body.ssh_key.fingerprints.sha256).toMatch(/^[A-Za-z0-9+/]{43}$/);

    // --- a project in the caller's organization ----------------------------------------------
    const orgs = await c.get('/organizations/entities');
    expect(orgs.body.items).toHaveLength(1);
    const orgId = orgs.body.items[0].id;
    const project = await c.post('/organizations/projects', { name: 'walk', organization_id: orgId });
    expect(project.status, project.text).toBe(200);
    expect(project.body.project).toMatchObject({ name: 'walk', organization_id: orgId, relation: 'owner', resources: { instances: { count: 0 }, disks: { count: 0 } } });
    const P = project.body.project.id;
    const vms = `/projects/${P}/compute/vms/instances`;

    // --- a VM: the operation, polled until it succeeds ---------------------------------------
    const stockBefore = await freeStock(h, TYPE);
    const create = await c.post(vms, { name: 'trainer', type: TYPE, location: LOCATION, image: 'ubuntu22.04:latest', ssh_public_key: keyLine });
    expect(create.status, create.text).toBe(200);
    const op = create.body.operation;
    expect(op).toMatchObject({ state: 'IN_PROGRESS', started_at: goTimestamp(T0), completed_at: '', result: {} });
    const vmId = op.metadata.id;
    expect(await freeStock(h, TYPE)).toBe(stockBefore - 1);

    const defining = await c.get(`${vms}/${vmId}`);
    expect(defining.body).toMatchObject({ id: vmId, name: 'trainer', state: 'STATE_DEFINING', type: TYPE, location: LOCATION, project_id: P });
    expect(defining.body.network_interfaces[0].ips).toEqual([]);
    expect(defining.body.disks).toHaveLength(1);
    expect(defining.body.disks[0]).toMatchObject({ attachment_type: 'os', mode: 'read-write', size: '128GiB', type: 'persistent-ssd', location: LOCATION });

    const inFlight = await c.get(`${vms}/operations`, { query: { state: 'IN_PROGRESS', resource_id: vmId } });
    expect(inFlight.body.items.map((o: any) => o.operation_id)).toEqual([op.operation_id]);

    const done = await awaitOperation(h, c, P, op);
    expect(done).toMatchObject({ operation_id: op.operation_id, state: 'SUCCEEDED', completed_at: goTimestamp(T0 + 3_000), metadata: { id: vmId } });
    expect(done.result).toMatchObject({ id: vmId, state: 'STATE_RUNNING' });

    const running = (await c.get(`${vms}/${vmId}`)).body;
    expect(running.state).toBe('STATE_RUNNING');
    const ips = running.network_interfaces[0].ips[0];
    expect(ips.private_ipv4.address).toMatch(/^172\.27\.\d+\.\d+$/);
    expect(ips.public_ipv4).toMatchObject({ type: 'dynamic', address: expect.stringMatching(/^100\.120\.\d+\.\d+$/) });
    expect(ips.public_ipv4.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(running.ssh_destination).toBe(`${ips.public_ipv4.address}:22`);
    expect(running.updated_at).toBe(goTimestamp(T0 + 3_000));
    // A finished operation read by id leaves the list.
    expect((await c.get(`${vms}/operations`)).body.items).toEqual([]);

    // --- stop, then start -------------------------------------------------------------------
    const stop = await c.patch(`${vms}/${vmId}`, { action: 'STOP' });
    expect(stop.status, stop.text).toBe(200);
    expect((await c.get(`${vms}/${vmId}`)).body.state).toBe('STATE_SHUTDOWN');
    expect((await awaitOperation(h, c, P, stop.body.operation)).state).toBe('SUCCEEDED');
    const stopped = (await c.get(`${vms}/${vmId}`)).body;
    expect(stopped.state).toBe('STATE_SHUTOFF');
    expect(stopped.network_interfaces[0].ips[0].private_ipv4.address).toBe(ips.private_ipv4.address);
    expect(stopped.network_interfaces[0].ips[0].public_ipv4.address).toBe(''); // a dynamic address goes back on stop
    expect(await freeStock(h, TYPE)).toBe(stockBefore);
    expect((await c.get(vms, { query: { states: 'STOPPED' } })).body.items.map((v: any) => v.id)).toEqual([vmId]);

    const start = await c.patch(`${vms}/${vmId}`, { action: 'START' });
    expect(start.status, start.text).toBe(200);
    expect(await freeStock(h, TYPE)).toBe(stockBefore - 1);
    const started = await awaitOperation(h, c, P, start.body.operation);
    expect(started.state).toBe('SUCCEEDED');
    expect(started.result.state).toBe('STATE_RUNNING');
    expect(started.result.network_interfaces[0].ips[0].public_ipv4.address).toMatch(/^100\.120\./);

    // --- a disk from the storage API, attached -----------------------------------------------
    const diskCreate = await c.post(`/projects/${P}/storage/disks`, { name: 'scratch', size: '1TiB', location: LOCATION });
    expect(diskCreate.status, diskCreate.text).toBe(200);
    const diskId = diskCreate.body.operation.metadata.id;
    expect((await awaitOp(h, c, Families.disks, diskCreate.body.operation, 1_000, P)).state).toBe('SUCCEEDED');
    const attach = await c.post(`${vms}/${vmId}/attach-disks`, { attach_disks: [{ disk_id: diskId, mode: 'read-write', attachment_type: 'data' }] });
    expect(attach.status, attach.text).toBe(200);
    const attached = await awaitOperation(h, c, P, attach.body.operation);
    expect(attached.state).toBe('SUCCEEDED');
    expect(attached.result.disks.map((d: any) => [d.name, d.attachment_type, d.mode, d.size])).toEqual([
      ['trainer-os', 'os', 'read-write', '128GiB'],
      ['scratch', 'data', 'read-write', '1024GiB'],
    ]);

    // --- bulk-create three VMs into an instance group ----------------------------------------
    // (with a location, the seed asks for the location's subnet too)
    const subnetId = (await c.get(`/projects/${P}/networking/vpc-subnets`)).body.items.find((s: any) => s.location === LOCATION).id;
    const template = await c.post(`/projects/${P}/compute/instance-templates`, {
      template_name: 'workers',
      type: 'c1a.2x',
      location: LOCATION,
      subnet_id: subnetId,
      image_name: 'ubuntu22.04',
      ssh_public_key: keyLine,
      startup_script: '#!/bin/bash\necho hello',
      disks: [{ size: '10GiB', type: 'persistent-ssd' }],
    });
    expect(template.status, template.text).toBe(200);
    expect(template.body).toMatchObject({ name: 'workers', type: 'c1a.2x', location: LOCATION, image_name: 'ubuntu22.04:latest', project_id: P });
    const group = await c.post(`/projects/${P}/compute/instance-groups`, { name: 'pool', template_id: template.body.id });
    expect(group.status, group.text).toBe(200);
    expect(group.body).toMatchObject({ name: 'pool', desired_count: 0, running_instance_count: 0, instances: [] });
    const G = group.body.id;
    const bulk = await c.post(`/projects/${P}/compute/vms/bulk-instances`, { name_prefix: 'worker', count: 3, instance_group_id: G });
    expect(bulk.status, bulk.text).toBe(200);
    expect(bulk.body.operation.metadata.ids).toHaveLength(3);
    expect((await c.get(`/projects/${P}/compute/instance-groups/${G}`)).body).toMatchObject({ running_instance_count: 0, inactive_instances: bulk.body.operation.metadata.ids });
    const bulkDone = await awaitOperation(h, c, P, bulk.body.operation);
    expect(bulkDone.state).toBe('SUCCEEDED');
    expect(bulkDone.result.map((v: any) => [v.name, v.state, v.instance_group_id, v.instance_template_id])).toEqual([
      ['worker-1', 'STATE_RUNNING', G, template.body.id],
      ['worker-2', 'STATE_RUNNING', G, template.body.id],
      ['worker-3', 'STATE_RUNNING', G, template.body.id],
    ]);
    expect(bulkDone.result[0].disks.map((d: any) => [d.attachment_type, d.size])).toEqual([
      ['os', '128GiB'],
      ['data', '10GiB'],
    ]);
    const pool = (await c.get(`/projects/${P}/compute/instance-groups/${G}`)).body;
    expect(pool).toMatchObject({ running_instance_count: 3, state: 'HEALTHY', inactive_instances: [] });
    expect(pool.instances).toEqual(bulkDone.result.map((v: any) => v.id));

    // --- list with filters and page tokens ---------------------------------------------------
    const page1 = await c.get(vms, { query: { sort: 'name', limit: '2' } });
    expect(page1.body.items.map((v: any) => v.name)).toEqual(['trainer', 'worker-1']);
    expect(page1.body.prev_page_token).toBe('');
    expect(page1.body.next_page_token).not.toBe('');
    // A VM created between pages neither repeats nor hides the others.
    const late = await c.post(vms, { name: 'aaa-late', type: 'c1a.2x', location: LOCATION, ssh_public_key: keyLine });
    await awaitOperation(h, c, P, late.body.operation);
    const page2 = await c.get(vms, { query: { sort: 'name', limit: '2', next_token: page1.body.next_page_token } });
    expect(page2.body.items.map((v: any) => v.name)).toEqual(['worker-2', 'worker-3']);
    expect(page2.body.next_page_token).toBe('');
    const back = await c.get(vms, { query: { sort: 'name', limit: '2', prev_token: page2.body.prev_page_token } });
    expect(back.body.items.map((v: any) => v.name)).toEqual(['trainer', 'worker-1']);
    expect(back.body.prev_page_token).not.toBe(''); // aaa-late now sorts first
    // Creation order (the default), even for the bulk's three made in one instant.
    const byCreation = await c.get(vms, { query: { limit: '3' } });
    expect(byCreation.body.items.map((v: any) => v.name)).toEqual(['trainer', 'worker-1', 'worker-2']);
    const rest = await c.get(vms, { query: { limit: '3', next_token: byCreation.body.next_page_token } });
    expect(rest.body.items.map((v: any) => v.name)).toEqual(['worker-3', 'aaa-late']);
    expect(rest.body.next_page_token).toBe('');
    const first = await c.get(vms, { query: { limit: '3', prev_token: rest.body.prev_page_token } });
    expect(first.body.items.map((v: any) => v.name)).toEqual(['trainer', 'worker-1', 'worker-2']);
    expect(first.body.prev_page_token).toBe('');
    const filtered = await c.get(vms, { query: { types: 'c1a.2x', states: 'RUNNING', names: 'worker-1,worker-3,aaa-late', locations: LOCATION } });
    expect(filtered.body.items.map((v: any) => v.name).sort()).toEqual(['aaa-late', 'worker-1', 'worker-3']);
    expect((await c.get(vms, { query: { states: 'STATE_RUNNING', ids: vmId } })).body.items.map((v: any) => v.id)).toEqual([vmId]);
    expect((await c.get(vms, { query: { types: TYPE } })).body.items.map((v: any) => v.name)).toEqual(['trainer']);

    // --- delete everything -------------------------------------------------------------------
    const all = (await c.get(vms)).body.items as any[];
    expect(all).toHaveLength(5);
    const deletes = [];
    for (const vm of all) {
      const del = await c.delete(`${vms}/${vm.id}`);
      expect(del.status, del.text).toBe(200);
      deletes.push(del.body.operation);
    }
    expect((await c.get(`${vms}/${vmId}`)).body.state).toBe('STATE_DELETING');
    for (const d of deletes) expect((await awaitOperation(h, c, P, d)).state).toBe('SUCCEEDED');
    const gone = await c.get(`${vms}/${vmId}`, undefined);
    expect(gone.status).toBe(404);
    expect((await c.get(vms)).body).toEqual({ items: [], next_page_token: '', prev_page_token: '' });
    expect((await c.delete(`/projects/${P}/compute/instance-groups/${G}`)).status).toBe(200);
    expect((await c.delete(`/projects/${P}/compute/instance-templates/${template.body.id}`)).status).toBe(200);
    expect(await freeStock(h, TYPE)).toBe(stockBefore);

    const emptied = (await c.get(`/organizations/projects/${P}`)).body;
    // The data disk outlives its VM (detached); the disks made for each VM went with it.
    expect(emptied.resources).toMatchObject({ instances: { count: 0 }, disks: { count: 1 } });
    expect((await c.get(`/projects/${P}/compute/instance-groups`)).body.items).toEqual([]);
    expect((await c.get(`/projects/${P}/compute/instance-templates`)).body.items).toEqual([]);
    expect((await c.get(`${vms}/operations`)).body.items).toEqual([]);

    expect((await c.delete(`/organizations/projects/${P}`)).status).toBe(200);
    const after = await c.get(`/organizations/projects/${P}`, undefined);
    expect(after.status).toBe(403);
    const left = await h.hangar.kernel.db.selectFrom('crusoe_disks').select('id').where('project_id', '=', P).execute();
    expect(left).toEqual([]);
  });
});
