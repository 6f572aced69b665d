import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { awaitOperation, crusoeClient, expectCrusoeError, newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();

describe("Crusoe: other tenants' projects, bad bodies, conflicts and exhausted capacity", () => {
  let h: TestHangar;
  let a: CrusoeClient;
  let P: string;
  let vms: string;
  beforeAll(async () => {
    h = await startHangar();
    a = crusoeClient(h);
    P = a.projectId;
    vms = `/projects/${P}/compute/vms/instances`;
  });
  afterAll(() => h.close());

  async function runningVm(client: CrusoeClient, name: string, body: Record<string, unknown> = {}): Promise<any> {
    const projectId = client.projectId;
    const res = await client.post(`/projects/${projectId}/compute/vms/instances`, { name, type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY, ...body });
    expect(res.status, res.text).toBe(200);
    const done = await awaitOperation(h, client, projectId, res.body.operation);
    expect(done.state).toBe('SUCCEEDED');
    return done.result;
  }

  it("answers another tenant's project exactly as a project that does not exist: 403", async () => {
    const vm = await runningVm(a, 'private');
    const b = await newCrusoeAccount(h, 'intruder');
    const foreign = await b.client.get(vms);
    expectCrusoeError(foreign, 403, 'unauthorized', `project "${P}" does not exist or you are not a member of it`);
    const nowhere = randomUUID();
    const missing = await b.client.get(`/projects/${nowhere}/compute/vms/instances`);
    expectCrusoeError(missing, 403, 'unauthorized', `project "${nowhere}" does not exist or you are not a member of it`);
    expect(foreign.body.message.replace(P, 'X')).toBe(missing.body.message.replace(nowhere, 'X'));

    for (const [method, path, body] of [
      ['GET', `${vms}/${vm.id}`],
      ['DELETE', `${vms}/${vm.id}`],
      ['PATCH', `${vms}/${vm.id}`, { action: 'STOP' }],
      ['POST', vms, { name: 'x', type: 'c1a.2x', ssh_public_key: KEY }],
      ['GET', `${vms}/operations`],
      ['GET', `/projects/${P}/compute/vms/types`],
      ['GET', `/projects/${P}/compute/instance-templates`],
      ['GET', `/projects/${P}/compute/instance-groups`],
      ['GET', `/projects/${P}/networking/ib-partitions`],
      ['GET', `/organizations/projects/${P}`],
      ['DELETE', `/organizations/projects/${P}`],
    ] as const) {
      expectCrusoeError(await b.client.request(method, path, body), 403, 'unauthorized', P);
    }
    expectCrusoeError(await b.client.put('/organizations/projects', { name: 'mine now' }, { query: { project_id: P } }), 403, 'unauthorized', P);
    const orgA = a.credentials.organization_id!;
    expectCrusoeError(await b.client.post('/organizations/projects', { name: 'sneaky', organization_id: orgA }), 403, 'unauthorized', orgA);
    expectCrusoeError(await b.client.put('/organizations/entities', { organization_name: 'mine' }, { query: { org_id: orgA } }), 403, 'unauthorized', orgA);
    // Lists show only one's own.
    expect((await b.client.get('/organizations/projects')).body.items.map((p: any) => p.id)).toEqual([b.credentials.project_id]);
    expect((await b.client.get('/organizations/projects', { query: { org_id: orgA } })).body.items).toEqual([]);
    // A's VM id inside B's own project is simply not there.
    expectCrusoeError(await b.client.get(`/projects/${b.credentials.project_id}/compute/vms/instances/${vm.id}`), 404, 'not_found', `VM "${vm.id}" not found`);
    // And A still has it, untouched.
    expect((await a.get(`${vms}/${vm.id}`)).body.state).toBe('STATE_RUNNING');
  });

  it('answers an unknown, foreign or expired operation id with 403, as the seed says', async () => {
    const res = await a.post(vms, { name: 'op-owner', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY });
    const op = res.body.operation;
    const b = await newCrusoeAccount(h, 'peeker');
    const bProject = b.credentials.project_id!;
    expectCrusoeError(await b.client.get(`/projects/${bProject}/compute/vms/instances/operations/${op.operation_id}`), 403, 'unauthorized', op.operation_id);
    const unknown = randomUUID();
    expectCrusoeError(await a.get(`${vms}/operations/${unknown}`), 403, 'unauthorized', `operation "${unknown}" does not exist, is not yours, or has expired`);
    const done = await awaitOperation(h, a, P, op);
    expect(done.state).toBe('SUCCEEDED');
    // Finished operations stay readable for a day, then expire.
    await h.advance(23 * 3_600_000);
    expect((await a.get(`${vms}/operations/${op.operation_id}`)).status).toBe(200);
    await h.advance(2 * 3_600_000);
    expectCrusoeError(await a.get(`${vms}/operations/${op.operation_id}`), 403, 'unauthorized', op.operation_id);
  });

  it('rejects bad bodies and bad queries with 400 and a message naming the field', async () => {
    expectCrusoeError(await a.post(vms, { type: 'c1a.2x', ssh_public_key: KEY }), 400, 'bad_request', '"name" is required');
    expectCrusoeError(await a.post(vms, { name: 'x', type: 'c1a.2x' }), 400, 'bad_request', '"ssh_public_key" is required');
    expectCrusoeError(await a.post(vms, { name: 'x', type: 7, ssh_public_key: KEY }), 400, 'bad_request', '"type" must be a string');
    expectCrusoeError(await a.post(vms, undefined, { raw: '{"name": "x",' }), 400, 'bad_request', 'not valid JSON');
    expectCrusoeError(await a.post(vms), 400, 'bad_request', 'the request body must be a JSON object');
    expectCrusoeError(await a.post(vms, { name: 'x', type: 'b200.9x', ssh_public_key: KEY }), 400, 'bad_request', '"type": "b200.9x" is not a VM type');
    expectCrusoeError(await a.post(vms, { name: 'x', type: 'c1a.2x', location: 'mars-1a', ssh_public_key: KEY }), 400, 'bad_request', '"location": "mars-1a" is not a location');
    expectCrusoeError(await a.post(vms, { name: 'x', type: 'a40.1x', location: LOCATION, ssh_public_key: KEY }), 400, 'bad_request', 'a40.1x is not offered in us-east1-a');
    expectCrusoeError(await a.post(vms, { name: 'x', type: 'c1a.2x', image: 'windows:11', ssh_public_key: KEY }), 400, 'bad_request', '"image": "windows:11" is not an image');
    expectCrusoeError(
      await a.post(vms, { name: 'x', type: 'c1a.2x', location: 'eu-iceland1-a', image: 'ubuntu-rocm:latest', ssh_public_key: KEY }),
      400,
      'bad_request',
      'image ubuntu-rocm is not available in eu-iceland1-a',
    );
    expectCrusoeError(await a.post(vms, { name: 'x', type: 'c1a.2x', ssh_public_key: 'ssh-rsa not-a-key' }), 400, 'bad_request', '"ssh_public_key" is not an OpenSSH public key');
    expectCrusoeError(await a.post(vms, { name: 'bad name!', type: 'c1a.2x', ssh_public_key: KEY }), 400, 'bad_request', '"name" must be 1 to 63');
    expectCrusoeError(
      await a.post(vms, { name: 'x', type: 'c1a.2x', ssh_public_key: KEY, network_interfaces: [{ ips: [{ public_ipv4: { type: 'elastic' } }] }] }),
      400,
      'bad_request',
      '"network_interfaces.0.ips.0.public_ipv4.type" must be one of: dynamic, static',
    );
    expectCrusoeError(
      await a.post(vms, { name: 'x', type: 'c1a.2x', ssh_public_key: KEY, disks: [{ disk_id: 'nope', mode: 'read-write', attachment_type: 'data' }] }),
      400,
      'bad_request',
      '"disks.0.disk_id": disk "nope" not found',
    );
    expectCrusoeError(await a.post(vms, { name: 'x', type: 'c1a.2x', ssh_public_key: KEY, disks: [{ disk_id: 'd', mode: 'rw', attachment_type: 'data' }] }), 400, 'bad_request', '"disks.0.mode" must be one of: read-only, read-write');
    expectCrusoeError(await a.post(vms, { name: 'x', type: 'c1a.2x', ssh_public_key: KEY, commitment_period: 30 }), 400, 'bad_request', '"commitment_period" is no longer supported');
    expectCrusoeError(
      await a.post(vms, { name: 'x', type: 'c1a.2x', ssh_public_key: KEY, reservation_specification: { id: randomUUID() } }),
      400,
      'bad_request',
      '"reservation_specification.id": reservation',
    );

    expectCrusoeError(await a.get(vms, { query: { states: 'RUNNING,EXPLODED' } }), 400, 'bad_request', '"states": unknown VM state "EXPLODED"');
    expectCrusoeError(await a.get(vms, { query: { limit: 'ten' } }), 400, 'bad_request', '"limit" must be a positive integer');
    expectCrusoeError(await a.get(vms, { query: { sort: 'price' } }), 400, 'bad_request', '"sort" must be one of: created_at, name');
    expectCrusoeError(await a.get(vms, { query: { next_token: 'garbage' } }), 400, 'bad_request', '"next_token" is not a page token');
    expectCrusoeError(await a.get(`${vms}/operations`, { query: { state: 'DONE' } }), 400, 'bad_request', '"state" must be one of: IN_PROGRESS, SUCCEEDED, FAILED');
    expectCrusoeError(await a.get(`${vms}/operations`, { query: { lower_time_bound: 'yesterday' } }), 400, 'bad_request', '"lower_time_bound" must be an RFC 3339 time');

    const vm = await runningVm(a, 'patient');
    expectCrusoeError(await a.patch(`${vms}/${vm.id}`, { action: 'EXPLODE' }), 400, 'bad_request', '"action" must be one of: START, STOP, RESET, RESERVE, UNRESERVE, UPDATE');
    expectCrusoeError(await a.patch(`${vms}/${vm.id}`, { action: 'START' }), 400, 'bad_request', 'cannot be started while it is STATE_RUNNING');
    expectCrusoeError(await a.patch(`${vms}/${vm.id}`, { action: 'RESERVE' }), 400, 'bad_request', '"reservation_id" is required');
    expectCrusoeError(await a.patch(`${vms}/${vm.id}`, { action: 'UPDATE', type: 'c1a.4x' }), 400, 'bad_request', '"type": VM "');
    expectCrusoeError(await a.patch(`${vms}/${vm.id}`, { action: 'UPDATE' }), 400, 'bad_request', 'UPDATE changes nothing');
    expectCrusoeError(await a.post(`${vms}/${vm.id}/detach-disks`, { detach_disks: [vm.disks[0].id] }), 400, 'bad_request', "is the VM's boot disk");
    expectCrusoeError(await a.post(`${vms}/${vm.id}/attach-disks`, { attach_disks: [] }), 400, 'bad_request', '"attach_disks" must NOT have fewer than 1 items');

    // UNRESERVE completes with the request: the operation is already SUCCEEDED.
    const unreserve = await a.patch(`${vms}/${vm.id}`, { action: 'UNRESERVE' });
    expect(unreserve.body.operation).toMatchObject({ state: 'SUCCEEDED', result: { id: vm.id, reservation_id: '' } });
  });

  it('answers conflicts with 409: a name in use, an operation in progress, a disk held elsewhere', async () => {
    await runningVm(a, 'unique');
    expectCrusoeError(await a.post(vms, { name: 'unique', type: 'c1a.2x', ssh_public_key: KEY }), 409, 'conflict', 'a VM named "unique" already exists');
    const vm = await runningVm(a, 'busy');
    const stop = await a.patch(`${vms}/${vm.id}`, { action: 'STOP' });
    expect(stop.status).toBe(200);
    expectCrusoeError(await a.patch(`${vms}/${vm.id}`, { action: 'RESET' }), 409, 'conflict', `has an operation in progress (${stop.body.operation.operation_id})`);
    expectCrusoeError(await a.delete(`${vms}/${vm.id}`), 409, 'conflict', 'has an operation in progress');
    await awaitOperation(h, a, P, stop.body.operation);
    const del = await a.delete(`${vms}/${vm.id}`);
    expect(del.status).toBe(200);
    expectCrusoeError(await a.delete(`${vms}/${vm.id}`), 409, 'conflict', 'is being deleted');
    expectCrusoeError(await a.post('/organizations/projects', { name: 'default', organization_id: a.credentials.organization_id }), 409, 'conflict', 'a project named "default" already exists');
  });

  it('fails the operation, not the request, when capacity is exhausted, and gives everything back', async () => {
    const kernel = h.hangar.kernel;
    const stock = async () => (await kernel.capacity.list(kernel.db, 'crusoe', LOCATION)).find((s) => s.sku === 'h100-80gb-sxm-ib.8x')!;
    const before = await stock();
    // An operator stages scarcity: one unit left.
    await kernel.capacity.setTotal(kernel.db, 'crusoe', LOCATION, 'h100-80gb-sxm-ib.8x', before.used + 1);
    const first = await a.post(vms, { name: 'lucky', type: 'h100-80gb-sxm-ib.8x', location: LOCATION, ssh_public_key: KEY });
    expect((await awaitOperation(h, a, P, first.body.operation)).state).toBe('SUCCEEDED');
    const counted = (await a.get(`/organizations/projects/${P}`)).body.resources.instances.count;

    const second = await a.post(vms, { name: 'unlucky', type: 'h100-80gb-sxm-ib.8x', location: LOCATION, ssh_public_key: KEY });
    expect(second.status, second.text).toBe(200);
    expect(second.body.operation.state).toBe('IN_PROGRESS');
    const failed = await awaitOperation(h, a, P, second.body.operation);
    expect(failed).toMatchObject({
      state: 'FAILED',
      result: { code: 'out_of_stock', message: 'out of stock: not enough h100-80gb-sxm-ib.8x capacity in us-east1-a for 1 VM' },
    });
    expect(failed.completed_at).not.toBe('');
    expect((await a.get(vms, { query: { names: 'unlucky' } })).body.items).toEqual([]);
    expect((await a.get(`/organizations/projects/${P}`)).body.resources.instances.count).toBe(counted);
    const capacities = await a.get('/capacities', { query: { product_name: 'h100-80gb-sxm-ib.8x', location: LOCATION } });
    expect(capacities.body.items).toEqual([{ type: 'h100-80gb-sxm-ib.8x', location: LOCATION, quantity: 0 }]);

    // Bulk past capacity fails as a whole; nothing is created.
    const bulk = await a.post(`/projects/${P}/compute/vms/bulk-instances`, {
      name_prefix: 'swarm',
      count: 2,
      instance_template: { template_name: 'h100s', type: 'h100-80gb-sxm-ib.8x', ssh_public_key: KEY },
      locations: [{ location: LOCATION }],
    });
    expect(bulk.status, bulk.text).toBe(200);
    expect((await awaitOperation(h, a, P, bulk.body.operation)).result.code).toBe('out_of_stock');
    expect((await a.get(vms, { query: { names: 'swarm-1,swarm-2' } })).body.items).toEqual([]);

    // A stopped VM gives its unit back; if someone takes it meanwhile, START fails and the VM stays stopped.
    const lucky = (await a.get(vms, { query: { names: 'lucky' } })).body.items[0];
    const stop = await a.patch(`${vms}/${lucky.id}`, { action: 'STOP' });
    await awaitOperation(h, a, P, stop.body.operation);
    expect((await stock()).used).toBe(before.used);
    await kernel.capacity.setTotal(kernel.db, 'crusoe', LOCATION, 'h100-80gb-sxm-ib.8x', before.used);
    const start = await a.patch(`${vms}/${lucky.id}`, { action: 'START' });
    expect((await awaitOperation(h, a, P, start.body.operation)).result.code).toBe('out_of_stock');
    expect((await a.get(`${vms}/${lucky.id}`)).body.state).toBe('STATE_SHUTOFF');
    await kernel.capacity.setTotal(kernel.db, 'crusoe', LOCATION, 'h100-80gb-sxm-ib.8x', before.total);
    const retry = await a.patch(`${vms}/${lucky.id}`, { action: 'START' });
    expect((await awaitOperation(h, a, P, retry.body.operation)).state).toBe('SUCCEEDED');
  });
});
