import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, expectCrusoeError, newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';
import { awaitOp, Families, succeeds } from './support.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();
const GIB = 1024 ** 3;

describe('Crusoe storage: disks and snapshots', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let P: string;
  let disks: string;
  let snapshots: string;
  let vms: string;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    P = c.projectId;
    disks = `/projects/${P}/storage/disks`;
    snapshots = `/projects/${P}/storage/snapshots`;
    vms = `/projects/${P}/compute/vms/instances`;
  });
  afterAll(() => h.close());

  const runningVm = (name: string, body: Record<string, unknown> = {}) =>
    succeeds(h, c, Families.vms, c.post(vms, { name, type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY, ...body }));
  const disk = (name: string, body: Record<string, unknown> = {}) => succeeds(h, c, Families.disks, c.post(disks, { name, size: '10GiB', location: LOCATION, ...body }));

  it('walks disk → attach → snapshot → disk from the snapshot → resize → detach → delete', async () => {
    // --- a disk: the operation, then the disk ---------------------------------------------
    const create = await c.post(disks, { name: 'data', size: '10GiB', location: LOCATION, type: 'persistent-ssd', block_size: 4096 });
    expect(create.status, create.text).toBe(200);
    const diskId = create.body.operation.metadata.id;
    // Another request meanwhile is told to wait.
    expectCrusoeError(await c.patch(`${disks}/${diskId}`, { size: '20GiB' }), 409, 'conflict', `disk "${diskId}" is still being created`);
    const made = (await awaitOp(h, c, Families.disks, create.body.operation)).result;
    expect(made).toMatchObject({ id: diskId, name: 'data', size: '10GiB', type: 'persistent-ssd', location: LOCATION, block_size: 4096, attached_to: [] });
    expect(made.serial_number).toMatch(/^[0-9A-F]{19}$/);
    expect((await c.get(`${disks}/${diskId}`)).body).toEqual(made);

    // --- attached read-write to a running VM: it shows the VM, and cannot be deleted ----------
    const vm = await runningVm('db-server');
    const attached = await succeeds(h, c, Families.vms, c.post(`${vms}/${vm.id}/attach-disks`, { attach_disks: [{ disk_id: diskId, mode: 'read-write', attachment_type: 'data' }] }));
    expect(attached.disks.map((d: any) => [d.id, d.attachment_type, d.mode])).toEqual([
      [vm.disks[0].id, 'os', 'read-write'],
      [diskId, 'data', 'read-write'],
    ]);
    expect((await c.get(`${disks}/${diskId}`)).body.attached_to).toEqual([{ vm_id: vm.id, attachment_type: 'data', mode: 'read-write' }]);
    expectCrusoeError(
      await c.delete(`${disks}/${diskId}`),
      409,
      'conflict',
      `disk "${diskId}" is attached read-write to VM "${vm.id}", which is STATE_RUNNING: stop the VM or detach the disk first`,
    );

    // --- a snapshot of it (the seed's body: no name); the disk is held meanwhile --------------
    const snap = await c.post(snapshots, { disk_id: diskId });
    expect(snap.status, snap.text).toBe(200);
    expectCrusoeError(await c.patch(`${disks}/${diskId}`, { size: '20GiB' }), 409, 'conflict', `has an operation in progress (${snap.body.operation.operation_id})`);
    const snapshot = (await awaitOp(h, c, Families.snapshots, snap.body.operation)).result;
    expect(snapshot).toMatchObject({ created_from: diskId, size: `${10 * GIB} bytes`, block_size: 4096, name: expect.stringMatching(/^data-snapshot-/) });
    expect((await c.get(`${snapshots}/${snapshot.id}`)).body).toEqual(snapshot);
    expect((await c.get(snapshots)).body.items).toEqual([snapshot]);

    // --- a disk from the snapshot takes its size and location ---------------------------------
    const copy = await disk('data-copy', { size: undefined, location: undefined, snapshot_id: snapshot.id });
    expect(copy).toMatchObject({ name: 'data-copy', size: '10GiB', location: LOCATION, block_size: 4096, attached_to: [] });

    // --- resize: grow only ---------------------------------------------------------------------
    expectCrusoeError(
      await c.patch(`${disks}/${copy.id}`, { size: '10GiB' }),
      400,
      'bad_request',
      `"size": disks only grow: disk "${copy.id}" is 10GiB, so the new size must be larger (got "10GiB")`,
    );
    const grown = await succeeds(h, c, Families.disks, c.patch(`${disks}/${copy.id}`, { size: '1TiB' }));
    // The seed: "Size of disks will be in gibibytes (GiB)": created or grown as 1TiB, read back as 1024GiB.
    expect(grown).toMatchObject({ id: copy.id, size: '1024GiB' });
    expect((await c.get(`${disks}/${copy.id}`)).body.size).toBe('1024GiB');

    // --- detach, then delete all of it --------------------------------------------------------
    const detached = await succeeds(h, c, Families.vms, c.post(`${vms}/${vm.id}/detach-disks`, { detach_disks: [diskId] }));
    expect(detached.disks.map((d: any) => d.id)).toEqual([vm.disks[0].id]);
    expect((await c.get(`${disks}/${diskId}`)).body.attached_to).toEqual([]);
    const del = await c.delete(`${disks}/${diskId}`);
    expect(del.status, del.text).toBe(200);
    expect((await awaitOp(h, c, Families.disks, del.body.operation)).result).toEqual({});
    expectCrusoeError(await c.get(`${disks}/${diskId}`), 404, 'not_found', `disk "${diskId}" not found`);
    await succeeds(h, c, Families.disks, c.delete(`${disks}/${copy.id}`));
    await succeeds(h, c, Families.snapshots, c.delete(`${snapshots}/${snapshot.id}`));
    expectCrusoeError(await c.get(`${snapshots}/${snapshot.id}`), 404, 'not_found', `snapshot "${snapshot.id}" not found`);
    expect((await c.get(disks, { query: { exclude_os: 'true' } })).body.items).toEqual([]);
    expect((await c.get(`/organizations/projects/${P}`)).body.resources).toMatchObject({ disks: { count: 1 }, snapshots: { count: 0 } });
    await succeeds(h, c, Families.vms, c.delete(`${vms}/${vm.id}`));
    expect((await c.get(disks)).body.items).toEqual([]);
  });

  it('parses sizes strictly and names the field at fault', async () => {
    for (const size of ['10GB', '10 GiB', '0GiB', '1.5TiB', '10gib', '2000TiB', '-1GiB', 'GiB', '']) {
      const res = await c.post(disks, { name: 'bad-size', size, location: LOCATION });
      if (size === '') expectCrusoeError(res, 400, 'bad_request', '"size" is required (e.g. "10GiB"), unless the disk is made from a "snapshot_id"');
      else expectCrusoeError(res, 400, 'bad_request', `"size" must be a size such as "10GiB" or "1TiB", at most 1000TiB (got "${size}")`);
    }
    expectCrusoeError(await c.post(disks, { name: 'x', location: LOCATION }), 400, 'bad_request', '"size" is required');
    expectCrusoeError(await c.post(disks, { name: 'x', size: '10GiB' }), 400, 'bad_request', '"location" is required, unless the disk is made from a "snapshot_id"');
    expectCrusoeError(await c.post(disks, { name: 'x', size: '10GiB', location: 'mars-1a' }), 400, 'bad_request', '"location": "mars-1a" is not a location');
    expectCrusoeError(await c.post(disks, { name: 'x', size: '10GiB', location: LOCATION, type: 'nvme' }), 400, 'bad_request', '"type" must be one of: persistent-ssd, shared-volume');
    expectCrusoeError(await c.post(disks, { name: 'x', size: '10GiB', location: LOCATION, block_size: 1024 }), 400, 'bad_request', '"block_size" must be one of: 512, 4096 (got 1024)');
    expectCrusoeError(await c.post(disks, { name: 'x', size: 10, location: LOCATION }), 400, 'bad_request', '"size" must be a string');
    expectCrusoeError(await c.post(disks, { size: '10GiB', location: LOCATION }), 400, 'bad_request', '"name" is required');
    expectCrusoeError(await c.post(disks, { name: 'bad name', size: '10GiB', location: LOCATION }), 400, 'bad_request', '"name" must be 1 to 63');
    const missing = randomUUID();
    expectCrusoeError(await c.post(disks, { name: 'x', snapshot_id: missing }), 400, 'bad_request', `"snapshot_id": snapshot "${missing}" not found in this project`);
    const small = await disk('small');
    expectCrusoeError(await c.post(disks, { name: 'small', size: '10GiB', location: LOCATION }), 409, 'conflict', 'a disk named "small" already exists in this project');
    expectCrusoeError(await c.patch(`${disks}/${small.id}`, { size: '5GiB' }), 400, 'bad_request', 'disks only grow');
    expectCrusoeError(await c.patch(`${disks}/${small.id}`, { size: 'big' }), 400, 'bad_request', '"size" must be a size such as "10GiB"');
    expectCrusoeError(await c.patch(`${disks}/${small.id}`, {}), 400, 'bad_request', '"size" is required');
    // A disk from a snapshot cannot be smaller than it, nor elsewhere.
    const snap = await succeeds(h, c, Families.snapshots, c.post(snapshots, { disk_id: small.id, name: 'small-snap' }));
    expect(snap.name).toBe('small-snap');
    expectCrusoeError(await c.post(snapshots, { disk_id: small.id, name: 'small-snap' }), 409, 'conflict', 'a snapshot named "small-snap" already exists');
    expectCrusoeError(await c.post(disks, { name: 'y', snapshot_id: snap.id, size: '5GiB' }), 400, 'bad_request', `"size": a disk made from snapshot "${snap.id}" needs at least 10GiB`);
    expectCrusoeError(
      await c.post(disks, { name: 'y', snapshot_id: snap.id, location: 'us-northcentral1-a' }),
      400,
      'bad_request',
      `"location": snapshot "${snap.id}" is in us-east1-a; a disk made from it is too`,
    );
    const bigger = await disk('from-snap-bigger', { size: '20GiB', location: undefined, snapshot_id: snap.id });
    expect(bigger.size).toBe('20GiB');
    expectCrusoeError(await c.post(snapshots, { disk_id: missing }), 400, 'bad_request', `"disk_id": disk "${missing}" not found in this project`);
    expectCrusoeError(await c.post(snapshots, { name: 'x' }), 400, 'bad_request', '"disk_id" is required');
    // Unknown ids: a 404 for the resource, a 403 for an operation (as the seed says).
    expectCrusoeError(await c.get(`${disks}/${missing}`), 404, 'not_found', `disk "${missing}" not found`);
    expectCrusoeError(await c.delete(`${disks}/${missing}`), 404, 'not_found', `disk "${missing}" not found`);
    expectCrusoeError(await c.delete(`${snapshots}/${missing}`), 404, 'not_found', `snapshot "${missing}" not found`);
    expectCrusoeError(await c.get(`${disks}/operations/${missing}`), 403, 'unauthorized', `operation "${missing}" does not exist`);
    expectCrusoeError(await c.get(`${snapshots}/operations/${missing}`), 403, 'unauthorized', `operation "${missing}" does not exist`);
    // A disk's operation is polled in its own family only.
    const resize = await c.patch(`${disks}/${small.id}`, { size: '11GiB' });
    expectCrusoeError(await c.get(`${vms}/operations/${resize.body.operation.operation_id}`), 403, 'unauthorized');
    expect((await c.get(`${disks}/operations`, { query: { resource_id: small.id, state: 'IN_PROGRESS' } })).body.items.map((o: any) => o.operation_id)).toEqual([
      resize.body.operation.operation_id,
    ]);
    await awaitOp(h, c, Families.disks, resize.body.operation);
    // A snapshot being taken holds its disk, and cannot itself be deleted yet.
    const taking = await c.post(snapshots, { disk_id: small.id, name: 'in-flight' });
    const takingId = taking.body.operation.metadata.id;
    expectCrusoeError(await c.delete(`${snapshots}/${takingId}`), 409, 'conflict', `snapshot "${takingId}" is still being created`);
    expectCrusoeError(await c.delete(`${disks}/${small.id}`), 409, 'conflict', `disk "${small.id}" has an operation in progress (${taking.body.operation.operation_id})`);
    expectCrusoeError(await c.post(snapshots, { disk_id: small.id }), 409, 'conflict', 'has an operation in progress');
    await awaitOp(h, c, Families.snapshots, taking.body.operation);
    // A snapshot a disk is being made from stays.
    const making = await c.post(disks, { name: 'making', snapshot_id: snap.id });
    expectCrusoeError(await c.delete(`${snapshots}/${snap.id}`), 409, 'conflict', `snapshot "${snap.id}" is in use: disk "${making.body.operation.metadata.id}" is being made from it`);
    await awaitOp(h, c, Families.disks, making.body.operation);
  });

  it('keeps disks with their VMs: locations, shared volumes, boot disks, read-only and stopped VMs', async () => {
    const a = await runningVm('att-a');
    const b = await runningVm('att-b');
    const far = await disk('far', { location: 'us-northcentral1-a' });
    expectCrusoeError(
      await c.post(`${vms}/${a.id}/attach-disks`, { attach_disks: [{ disk_id: far.id, mode: 'read-write', attachment_type: 'data' }] }),
      400,
      'bad_request',
      `"attach_disks.0.disk_id": disk "${far.id}" is in us-northcentral1-a, the VM in us-east1-a: a disk and its VM must share a location`,
    );
    // A shared volume attaches to many VMs; a persistent SSD to one.
    const shared = await disk('shared', { type: 'shared-volume', size: '1TiB' });
    for (const vm of [a, b]) {
      await succeeds(h, c, Families.vms, c.post(`${vms}/${vm.id}/attach-disks`, { attach_disks: [{ disk_id: shared.id, mode: 'read-write', attachment_type: 'data' }] }));
    }
    expect((await c.get(`${disks}/${shared.id}`)).body.attached_to.map((x: any) => x.vm_id).sort()).toEqual([a.id, b.id].sort());
    const ssd = await disk('ssd');
    await succeeds(h, c, Families.vms, c.post(`${vms}/${a.id}/attach-disks`, { attach_disks: [{ disk_id: ssd.id, mode: 'read-only', attachment_type: 'data' }] }));
    expectCrusoeError(
      await c.post(`${vms}/${b.id}/attach-disks`, { attach_disks: [{ disk_id: ssd.id, mode: 'read-only', attachment_type: 'data' }] }),
      409,
      'conflict',
      `disk "${ssd.id}" is attached to VM "${a.id}": detach it first (only shared volumes attach to several VMs)`,
    );
    // A boot disk goes with its VM only.
    expectCrusoeError(await c.delete(`${disks}/${a.disks[0].id}`), 409, 'conflict', `disk "${a.disks[0].id}" is the boot disk of VM "${a.id}": it is deleted with its VM`);
    // Read-only on a running VM: the disk may go (it is detached).
    await succeeds(h, c, Families.disks, c.delete(`${disks}/${ssd.id}`));
    expect((await c.get(`${vms}/${a.id}`)).body.disks.map((d: any) => d.id)).not.toContain(ssd.id);
    // Read-write on a running VM: refused; once the VMs are stopped it may go.
    expectCrusoeError(await c.delete(`${disks}/${shared.id}`), 409, 'conflict', 'is attached read-write to VM');
    for (const vm of [a, b]) await succeeds(h, c, Families.vms, c.patch(`${vms}/${vm.id}`, { action: 'STOP' }));
    await succeeds(h, c, Families.disks, c.delete(`${disks}/${shared.id}`));
    expect((await c.get(`${vms}/${b.id}`)).body.disks.map((d: any) => d.attachment_type)).toEqual(['os']);
    // Attaching a disk still being made is refused.
    const pending = await c.post(disks, { name: 'pending', size: '10GiB', location: LOCATION });
    expectCrusoeError(
      await c.post(`${vms}/${a.id}/attach-disks`, { attach_disks: [{ disk_id: pending.body.operation.metadata.id, mode: 'read-write', attachment_type: 'data' }] }),
      409,
      'conflict',
      'is still being created',
    );
    await awaitOp(h, c, Families.disks, pending.body.operation);
  });

  it('filters the disk list by ids, names, location and boot disks', async () => {
    const all = (await c.get(disks)).body.items as any[];
    const names = all.map((d) => d.name);
    expect(names).toContain('att-a-os');
    const far = all.find((d) => d.name === 'far');
    expect((await c.get(disks, { query: { location: 'us-northcentral1-a' } })).body.items.map((d: any) => d.id)).toEqual([far.id]);
    expect((await c.get(disks, { query: { disk_names: 'far,small' } })).body.items.map((d: any) => d.name)).toEqual(['small', 'far']);
    expect((await c.get(disks, { query: { disk_ids: far.id } })).body.items.map((d: any) => d.id)).toEqual([far.id]);
    const data = (await c.get(disks, { query: { exclude_os: 'true' } })).body.items.map((d: any) => d.name);
    expect(data).not.toContain('att-a-os');
    expect(data).toContain('far');
  });

  it("keeps another tenant's disks and snapshots invisible", async () => {
    const mine = await disk('private-disk');
    const snap = await succeeds(h, c, Families.snapshots, c.post(snapshots, { disk_id: mine.id, name: 'private-snap' }));
    const b = await newCrusoeAccount(h, 'storage-intruder');
    for (const [method, path, body] of [
      ['GET', disks],
      ['POST', disks, { name: 'x', size: '10GiB', location: LOCATION }],
      ['GET', `${disks}/${mine.id}`],
      ['DELETE', `${disks}/${mine.id}`],
      ['PATCH', `${disks}/${mine.id}`, { size: '20GiB' }],
      ['GET', `${disks}/operations`],
      ['GET', snapshots],
      ['POST', snapshots, { disk_id: mine.id }],
      ['GET', `${snapshots}/${snap.id}`],
      ['DELETE', `${snapshots}/${snap.id}`],
      ['GET', `${snapshots}/operations`],
    ] as const) {
      expectCrusoeError(await b.client.request(method, path, body), 403, 'unauthorized', `project "${P}" does not exist or you are not a member of it`);
    }
    const theirs = `/projects/${b.credentials.project_id}/storage`;
    expectCrusoeError(await b.client.get(`${theirs}/disks/${mine.id}`), 404, 'not_found', `disk "${mine.id}" not found`);
    expectCrusoeError(await b.client.post(`${theirs}/snapshots`, { disk_id: mine.id }), 400, 'bad_request', `disk "${mine.id}" not found in this project`);
    expectCrusoeError(await b.client.post(`${theirs}/disks`, { name: 'steal', snapshot_id: snap.id }), 400, 'bad_request', `snapshot "${snap.id}" not found in this project`);
    expect((await b.client.get(`${theirs}/disks`)).body.items).toEqual([]);
    expect((await b.client.get(`${theirs}/snapshots`)).body.items).toEqual([]);
  });
});
