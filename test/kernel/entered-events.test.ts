import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnteredState } from '../../src/kernel/lifecycle/engine.js';
import { BOOT_MS, createInstance, REGION } from '../helpers/genesis.js';
import { awaitOperation, crusoeClient, publicKey } from '../helpers/crusoe.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';

const PASSWORD = 'a-long-enough-passphrase-1';

/**
 * "Entered state" events for every kind (what the sandbox fabric and the console follow):
 * told once the change commits, whether a timed transition or a client's write made it, with
 * the same fields for both clouds.
 */
describe('lifecycle events: states entered', () => {
  let h: TestHangar;
  const seen: EnteredState[] = [];
  beforeAll(async () => {
    h = await startHangar();
    h.hangar.kernel.lifecycle.onEntered((event) => seen.push(event));
  });
  afterAll(() => h.close());

  const of = (id: string) => seen.filter((e) => e.resourceId === id).map((e) => [e.from, e.to, e.transition]);

  it('follows a Genesis instance from its create to its deletion, and leaves out a write that was refused', async () => {
    const instance = await createInstance(h.genesis, { password: PASSWORD });
    await h.advance(BOOT_MS);
    expect((await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'stop' })).status).toBe(204);
    await h.advance(60_000);
    expect((await h.genesis.post(`/instances/${instance.id}/actions`, { action: 'stop' })).status).toBe(400);
    expect((await h.genesis.delete(`/instances/${instance.id}`)).status).toBe(204);
    await h.advance(60_000);
    expect(of(instance.id)).toEqual([
      [null, 'creating', null],
      ['creating', 'active', 'boot'],
      ['active', 'stopping', null],
      ['stopping', 'stopped', 'stop'],
      ['stopped', 'deleting', null],
      ['deleting', null, 'destroy'],
    ]);
    expect(seen.find((e) => e.resourceId === instance.id)).toMatchObject({ kind: 'genesis.instance', accountId: h.demoAccountId, at: expect.any(Number) });
  });

  it('follows a Genesis volume (every kind has its events)', async () => {
    const res = await h.genesis.post('/volumes', { name: 'evented', size: 10, region: REGION });
    expect(res.status, res.text).toBe(201);
    await h.advance(60_000);
    expect(of(res.body.volume.id)).toEqual([
      [null, 'creating', null],
      ['creating', 'created', 'create'],
    ]);
  });

  it('follows a Crusoe VM as its operations complete', async () => {
    const c = crusoeClient(h);
    const created = await c.post(`/projects/${c.projectId}/compute/vms/instances`, { name: 'evented', type: 'c1a.2x', location: 'us-northcentral1-a', ssh_public_key: publicKey() });
    const op = await awaitOperation(h, c, c.projectId, created.body.operation);
    const id = op.metadata.id as string;
    const stop = await c.patch(`/projects/${c.projectId}/compute/vms/instances/${id}`, { action: 'STOP' });
    await awaitOperation(h, c, c.projectId, stop.body.operation);
    const gone = await c.delete(`/projects/${c.projectId}/compute/vms/instances/${id}`);
    await awaitOperation(h, c, c.projectId, gone.body.operation);
    expect(of(id)).toEqual([
      [null, 'STATE_DEFINING', null],
      ['STATE_DEFINING', 'STATE_RUNNING', 'vm.create'],
      ['STATE_RUNNING', 'STATE_SHUTDOWN', null],
      ['STATE_SHUTDOWN', 'STATE_SHUTOFF', 'vm.stop'],
      ['STATE_SHUTOFF', 'STATE_DELETING', null],
      ['STATE_DELETING', null, 'vm.delete'],
    ]);
    expect(seen.filter((e) => e.resourceId === id).every((e) => e.kind === 'crusoe.vm')).toBe(true);
  });
});
