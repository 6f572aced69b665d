import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCrusoeAccount, publicKey } from '../helpers/crusoe.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { copyRows, keptPlan, onPostgres, perRowLines } from '../helpers/postgres-plans.js';
import { Families, succeeds } from './support.js';

// A page of VMs reads their disks (and GET a VM its own). A named statement's generic plan is kept
// until the tables are analysed again: one made while the store was small, where hashing every
// disk is cheapest, went on hashing every disk of the store after a burst of creates had grown
// it, and a page's cost grew with the fleet. Each VM's disks must be looked up by key whatever
// the statistics say.
describe.runIf(onPostgres)("Crusoe on PostgreSQL: a page's disks are looked up, not scanned", () => {
  let h: TestHangar;
  // (one connection: the statement the page prepared is on the connection the test reads)
  beforeAll(async () => {
    h = await startHangar({ env: { HANGAR_DATABASE_POOL_SIZE: '1' } });
  });
  afterAll(() => h?.close());

  it('keeps the lookup in the generic plans made while the store was small, once a burst has grown it', async () => {
    const { client: c } = await newCrusoeAccount(h, 'planned');
    const vms = `/projects/${c.projectId}/compute/vms/instances`;
    const seed = await succeeds(h, c, Families.vms, c.post(vms, { name: 'seed', type: 'c1a.2x', location: 'us-east1-a', ssh_public_key: publicKey() }));
    const { db } = h.hangar.kernel;

    // A page (each VM's version, read with the caller's key), the JSON of the VMs it has not
    // kept and GET one VM (each with its disks, model/vm-json.ts), and the disks of the VMs
    // renderVm writes (Disks.attachedTo).
    const plans = () =>
      Promise.all([
        keptPlan(db, '%"v"."seq"%crusoe_disk_attachments%'),
        keptPlan(db, '%as "text"%json_array_elements_text%'),
        keptPlan(db, '%as "vm_id"%crusoe_disk_attachments%'),
        keptPlan(db, '%crusoe_disk_attachments%vm_id" in%'),
      ]);

    // The statements are prepared, and their generic plans made, while the store holds one VM.
    expect((await c.get(vms, { query: { limit: '50' } })).body.items).toHaveLength(1);
    expect((await c.get(`${vms}/${seed.id}`)).body.disks).toHaveLength(1);
    await plans();
    // Then, as a burst of creates leaves them: thousands of VMs with their boot disks, not analysed.
    await copyRows(db, 'crusoe_vms', { id: `t.id || '-' || i`, name: `t.name || '-' || i` });
    await copyRows(db, 'crusoe_disks', { id: `t.id || '-' || i`, name: `t.name || '-' || i`, owner_vm_id: `t.owner_vm_id || '-' || i` });
    await copyRows(db, 'crusoe_disk_attachments', { disk_id: `t.disk_id || '-' || i`, vm_id: `t.vm_id || '-' || i` });

    const page = await c.get(vms, { query: { limit: '50' } });
    expect(page.status, page.text).toBe(200);
    expect(page.body.items).toHaveLength(50);
    for (const vm of page.body.items) expect(vm.disks).toHaveLength(1);
    expect((await c.get(`${vms}/${page.body.items[1].id}`)).body.disks).toHaveLength(1);
    // The plans kept from the small store are still the ones run: each disk looked up by its key.
    const all = await plans();
    for (const plan of all) {
      expect(plan).not.toMatch(/Seq Scan on crusoe_disks\b/);
      expect(plan).toMatch(/Index Scan using crusoe_disks_pkey/);
    }
    // GET finds its VM by its key, not among its project's VMs (an index led by the project,
    // which the plan made for a small store picked: a GET then cost as much as the project held).
    expect(all[2]).toMatch(/Index Scan using crusoe_vms_pkey/);
    expect(all[2]).not.toMatch(/crusoe_vms_name|crusoe_vms_order/);
    // The page's versions read the attachments (and their disks) of its VMs together, not a
    // scan of them per VM.
    expect(perRowLines(all[0]!).filter((line) => /crusoe_disk_attachments|crusoe_disks/.test(line)), all[0]).toEqual([]);
  });
});
