import { describe, expect, it } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';
import { newCrusoeAccount, publicKey } from '../helpers/crusoe.js';
import { Families, awaitOp, succeeds } from './support.js';

const LOCATION = 'us-east1-a';

// A finished create's operation carries the VM (or, for a bulk create, the VMs) as a GET then
// shows it: clients (the Go client's WaitForOperation, dstack) read the VM from the result.
describe('Crusoe: what a finished create reports', () => {
  const { h } = hangarPerSuite();

  it('is the VM as GET shows it, for a create and for a bulk create with template disks', async () => {
    const { client: c } = await newCrusoeAccount(h, 'results');
    const vms = `/projects/${c.projectId}/compute/vms/instances`;
    const made = await succeeds(h, c, Families.vms, c.post(vms, { name: 'single', type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey() }));
    expect(made.state).toBe('STATE_RUNNING');
    expect(made).toEqual((await c.get(`${vms}/${made.id}`)).body);

    const bulk = await succeeds(
      h,
      c,
      Families.vms,
      c.post(`/projects/${c.projectId}/compute/vms/bulk-instances`, {
        name_prefix: 'many',
        count: 2,
        instance_template: { template_name: 'with-disk', type: 'c1a.2x', ssh_public_key: publicKey(), disks: [{ type: 'persistent-ssd', size: '10GiB' }] },
        locations: [{ location: LOCATION }],
      }),
    );
    expect(bulk).toHaveLength(2);
    for (const vm of bulk) {
      expect(vm.disks).toHaveLength(2);
      expect(vm).toEqual((await c.get(`${vms}/${vm.id}`)).body);
    }
  });

  // Creates that fall due together complete in one lifecycle batch, which reads their VMs and
  // disks once for all of them: each operation must still report its own VM.
  it('is each VM as GET shows it when several creates complete together', async () => {
    const { client: c } = await newCrusoeAccount(h, 'together');
    const vms = `/projects/${c.projectId}/compute/vms/instances`;
    const names = ['first', 'second', 'third'];
    const started = await Promise.all(names.map((name) => c.post(vms, { name, type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey() })));
    for (const res of started) expect(res.status, res.text).toBe(200);
    const [first, ...others] = started.map((res) => res.body.operation as { operation_id: string });
    expect((await awaitOp(h, c, Families.vms, first!)).state).toBe('SUCCEEDED');
    const done = [await c.get(`/projects/${c.projectId}/${Families.vms}/operations/${first!.operation_id}`)];
    // (no more time passes: the others completed with the first)
    for (const op of others) done.push(await c.get(`/projects/${c.projectId}/${Families.vms}/operations/${op.operation_id}`));
    expect(done.map((res) => [res.body.state, res.body.result.name])).toEqual(names.map((name) => ['SUCCEEDED', name]));
    for (const res of done) {
      expect(res.body.result.state).toBe('STATE_RUNNING');
      expect(res.body.result.disks).toHaveLength(1);
      expect(res.body.result).toEqual((await c.get(`${vms}/${res.body.result.id}`)).body);
    }
  });
});
