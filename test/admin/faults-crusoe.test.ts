import { describe, expect, it } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';
import { awaitOperation, crusoeClient, expectCrusoeError, publicKey } from '../helpers/crusoe.js';
import { awaitOp, Families } from '../crusoe/support.js';

// The fault test for the second cloud: staged through the admin API, seen by a signed
// Crusoe client in Crusoe's own error format, with the rule's fire count matching.
describe('admin faults on the Crusoe API', () => {
  const { h, admin } = hangarPerSuite();

  it('fails the next two matching calls with the Crusoe error body, then lets calls through', async () => {
    const c = crusoeClient(h);
    const added = await admin.post('/faults', { cloud: 'crusoe', method: 'GET', path: '/v1alpha5/projects/*/compute/vms/instances', count: 2, status: 500 });
    expect(added.status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const res = await c.get(`/projects/${c.projectId}/compute/vms/instances`);
      expectCrusoeError(res, 500, 'internal_error', 'injected fault');
      expect(res.body).toMatchObject({ code: '500' });
      expect(typeof res.body.error_id).toBe('string');
    }
    expect((await c.get(`/projects/${c.projectId}/compute/vms/instances`)).status).toBe(200);
    const listed = await admin.get('/faults');
    expect(listed.body.faults).toEqual([expect.objectContaining({ id: added.body.id, fired: 2, count: 2 })]);
    // Other routes and the Genesis API were never touched by the rule.
    expect((await c.get('/locations')).status).toBe(200);
    expect((await h.genesis.get('/instances')).status).toBe(200);
    expect((await admin.delete('/faults')).status).toBe(204);
  });

  it('makes the next VM create operation end FAILED, and the one after succeed', async () => {
    const c = crusoeClient(h);
    const rule = await admin.post('/faults', { kind: 'crusoe.operation', count: 1 });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const create = (name: string) => c.post(`/projects/${c.projectId}/compute/vms/instances`, { name, type: 'c1a.2x', location: 'us-northcentral1-a', ssh_public_key: publicKey() });
    const first = await awaitOperation(h, c, c.projectId, (await create('doomed')).body.operation);
    expect(first.state).toBe('FAILED');
    const second = await awaitOperation(h, c, c.projectId, (await create('lucky')).body.operation);
    expect(second.state).toBe('SUCCEEDED');
    expect((await admin.get('/faults')).body.faults[0]).toMatchObject({ fired: 1 });
    expect((await admin.delete('/faults')).status).toBe(204);
  });

  it('targets a declared machine action with the same rule form as Genesis ({kind: "crusoe.vm", transition: "create"})', async () => {
    const c = crusoeClient(h);
    const rule = await admin.post('/faults', { kind: 'crusoe.vm', transition: 'create', count: 1 });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    // A disk's create is another machine's action: the rule leaves it alone.
    const disk = await c.post(`/projects/${c.projectId}/storage/disks`, { name: 'spared', size: '10GiB', location: 'us-northcentral1-a' });
    expect(disk.status, JSON.stringify(disk.body)).toBe(200);
    expect((await awaitOp(h, c, Families.disks, disk.body.operation)).state).toBe('SUCCEEDED');
    const create = (name: string) => c.post(`/projects/${c.projectId}/compute/vms/instances`, { name, type: 'c1a.2x', location: 'us-northcentral1-a', ssh_public_key: publicKey() });
    const first = await awaitOperation(h, c, c.projectId, (await create('doomed-vm')).body.operation);
    expect(first.state).toBe('FAILED');
    expect((await c.get(`/projects/${c.projectId}/compute/vms/instances/${first.metadata.id}`)).status).toBe(404);
    const second = await awaitOperation(h, c, c.projectId, (await create('lucky-vm')).body.operation);
    expect(second.state).toBe('SUCCEEDED');
    expect((await admin.get('/faults')).body.faults[0]).toMatchObject({ kind: 'crusoe.vm', transition: 'create', fired: 1 });
    // An action that names no transition of the machine is refused, naming the ones it has.
    const wrong = await admin.post('/faults', { kind: 'crusoe.vm', transition: 'explode' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.message).toMatch(/transitions: .*create.*stop/);
    expect((await admin.delete('/faults')).status).toBe(204);
  });
});
