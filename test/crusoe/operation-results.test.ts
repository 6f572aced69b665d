import { describe, expect, it } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';
import { newCrusoeAccount, publicKey } from '../helpers/crusoe.js';
import { Families, succeeds } from './support.js';

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
});
