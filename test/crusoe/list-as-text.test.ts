import fastJsonStringify from 'fast-json-stringify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Instance } from '../../src/clouds/crusoe/wire.js';
import { Admin } from '../helpers/admin.js';
import { awaitOperation, crusoeClient, newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { Families, succeeds } from './support.js';

const LOCATION = 'us-east1-a';
const instanceText = fastJsonStringify(Instance);

// The list of VMs and GET one VM are written by the database (each VM's JSON built in the
// statement, see model/vm-json.ts); renderVm writes a VM everywhere else (an operation's result,
// the console). A client comparing them, or caching one and reading another, must find the same
// bytes: the same keys in the same order, the same escapes, the same instants, the disks in the
// same order. The reference is renderVm's object (read through the console, which renders with
// it) put through the route's serialiser.
describe('Crusoe: a page of VMs and GET one VM are, byte for byte, what renderVm writes', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let admin: Admin;
  let vms: string;
  beforeAll(async () => {
    // (no read cache: rows are edited behind the API below, and each answer must be computed)
    h = await startHangar({ env: { HANGAR_READ_CACHE: '0' } });
    c = crusoeClient(h);
    admin = new Admin(h.url);
    vms = `/projects/${c.projectId}/${Families.vms}`;
  });
  afterAll(() => h.close());

  /** A VM's GET answer, checked against renderVm's. */
  async function getAsRendered(client: CrusoeClient, path: string, id: string): Promise<string> {
    const one = await client.get(`${path}/${id}`);
    expect(one.status, one.text).toBe(200);
    expect(one.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const console = await admin.get(`/fleet/${id}`);
    expect(console.status, console.text).toBe(200);
    expect(one.text).toBe(instanceText(console.body.wire.body));
    return one.text;
  }

  /** The list's text must be the GET answers of `ids`, in that order, under the page's tokens. */
  async function expectPageOfGets(query: Record<string, string>, ids: string[]) {
    const listed = await c.get(vms, { query });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const items: string[] = [];
    for (const id of ids) items.push(await getAsRendered(c, vms, id));
    const { next_page_token: next, prev_page_token: prev } = listed.body;
    expect(listed.text).toBe(`{"items":[${items.join(',')}],"next_page_token":${JSON.stringify(next)},"prev_page_token":${JSON.stringify(prev)}}`);
    return listed;
  }

  const create = (name: string, body: Record<string, unknown> = {}) =>
    succeeds(h, c, Families.vms, c.post(vms, { name, type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey(), ...body }));

  it('with awkward names, data disks, every state of addresses, and the VMs renderVm writes itself', async () => {
    // (names the API refuses, written behind it: what the store's escaping must survive)
    const awkward = 'quote " backslash \\ slash / tab \t newline \n bell \u0007 esc \u001b del \u007f é 😀 \u2028 </script>';
    const { db } = h.hangar.kernel;
    const booted = await create('awkward');
    await db.updateTable('crusoe_vms').set({ name: `vm ${awkward}` }).where('id', '=', booted.id).execute();
    // Two data disks attached in turn: the boot disk first, then by attachment.
    const P = `/projects/${c.projectId}`;
    for (const name of ['disk-b', 'disk-a']) {
      const disk = await succeeds(h, c, Families.disks, c.post(`${P}/${Families.disks}`, { name, size: '20GiB', location: LOCATION }));
      await succeeds(h, c, Families.vms, c.post(`${vms}/${booted.id}/attach-disks`, { attach_disks: [{ disk_id: disk.id, mode: 'read-only', attachment_type: 'data' }] }));
      if (name === 'disk-b') await db.updateTable('crusoe_disks').set({ name: `disk b ${awkward}` }).where('id', '=', disk.id).execute();
    }
    const stopped = await create('stopped');
    await succeeds(h, c, Families.vms, c.patch(`${vms}/${stopped.id}`, { action: 'STOP' }));
    const nested = await create('nested', { virtualization_features: { nested_virtualization: true } });
    // One still being made: no addresses yet.
    const making = await c.post(vms, { name: 'x'.repeat(63), type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey() });
    expect(making.status, making.text).toBe(200);
    const pending = (await c.get(vms)).body.items.find((v: { name: string }) => v.name === 'x'.repeat(63));

    const ids = [booted.id, stopped.id, nested.id, pending.id];
    const page = await expectPageOfGets({}, ids);
    const [first, second, third, fourth] = page.body.items;
    expect(first.name).toBe(`vm ${awkward}`);
    expect(first.disks.map((d: { name: string; attachment_type: string }) => [d.attachment_type, d.name])).toEqual([
      ['os', expect.any(String)],
      ['data', `disk b ${awkward}`],
      ['data', 'disk-a'],
    ]);
    expect(first.ssh_destination).toMatch(/^\d+\.\d+\.\d+\.\d+:\d+$/);
    expect(second).toMatchObject({ state: 'STATE_SHUTOFF', ssh_destination: '', network_interfaces: [{ external_dns_name: '', ips: [{ public_ipv4: { address: '' } }] }] });
    expect(third.virtualization_features).toEqual({ nested_virtualization: true });
    expect(fourth.network_interfaces[0].ips).toEqual([]);
    // Pages of two, both ways.
    const front = await expectPageOfGets({ limit: '2' }, ids.slice(0, 2));
    const back = await expectPageOfGets({ limit: '2', next_token: front.body.next_page_token }, ids.slice(2));
    await expectPageOfGets({ limit: '2', prev_token: back.body.prev_page_token }, ids.slice(0, 2));
    await expectPageOfGets({ names: 'stopped,nested', sort: 'name' }, [nested.id, stopped.id]);
    await expectPageOfGets({ sort: 'name', limit: '1' }, [nested.id]);
    await awaitOperation(h, c, c.projectId, making.body.operation);
  });

  // (on SQLite the page and GET serve the JSON kept since a VM last changed, see
  // kernel/db/row-texts.ts: each change below, to the VM, its attachments or its disks, must show)
  it('shows every change in the next page: the VM, its attachments, and the disks they name', async () => {
    const P = `/projects/${c.projectId}`;
    const vm = await create('changing');
    const disk = await succeeds(h, c, Families.disks, c.post(`${P}/${Families.disks}`, { name: 'data', size: '20GiB', location: LOCATION }));
    const ids = () => c.get(vms).then((res) => res.body.items.map((v: { id: string }) => v.id) as string[]);
    const changes: [string, () => Promise<unknown>][] = [
      ['attach a disk', () => succeeds(h, c, Families.vms, c.post(`${vms}/${vm.id}/attach-disks`, { attach_disks: [{ disk_id: disk.id, mode: 'read-write', attachment_type: 'data' }] }))],
      ['grow the disk', () => succeeds(h, c, Families.disks, c.patch(`${P}/${Families.disks}/${disk.id}`, { size: '40GiB' }))],
      ['rename the disk behind the API', () => h.hangar.kernel.db.updateTable('crusoe_disks').set({ name: 'data renamed' }).where('id', '=', disk.id).execute()],
      ['make the attachment read-only behind the API', () => h.hangar.kernel.db.updateTable('crusoe_disk_attachments').set({ mode: 'read-only' }).where('disk_id', '=', disk.id).execute()],
      ['stop the VM', () => succeeds(h, c, Families.vms, c.patch(`${vms}/${vm.id}`, { action: 'STOP' }))],
      ['detach the disk', () => succeeds(h, c, Families.vms, c.post(`${vms}/${vm.id}/detach-disks`, { detach_disks: [disk.id] }))],
    ];
    await expectPageOfGets({}, await ids());
    for (const [, change] of changes) {
      await change();
      await expectPageOfGets({}, await ids());
    }
    const shown = (await c.get(`${vms}/${vm.id}`)).body;
    expect(shown.state).toBe('STATE_SHUTOFF');
    expect(shown.disks.map((d: { name: string }) => d.name)).not.toContain('data renamed');
  });

  it('puts a VM in an InfiniBand partition as GET does', async () => {
    const east = ((await c.get(`/projects/${c.projectId}/networking/ib-networks`)).body.items as { id: string; location: string }[]).find((n) => n.location === LOCATION)!;
    const partition = await c.post(`/projects/${c.projectId}/networking/ib-partitions`, { name: 'fabric', ib_network_id: east.id });
    expect(partition.status, partition.text).toBe(200);
    const ib = await create('ib-node', { type: 'h100-80gb-sxm-ib.8x', host_channel_adapters: [{ ib_partition_id: partition.body.id }] });
    const listed = await expectPageOfGets({ ids: ib.id }, [ib.id]);
    expect(listed.body.items[0].host_channel_adapters).toHaveLength(1);
  });

  it("names the SSH port the fabric's public addresses answer on, as GET does", async () => {
    // (a project of its own, listed without filters: the page's prepared statement)
    const { client: own } = await newCrusoeAccount(h, 'ported');
    const path = `/projects/${own.projectId}/${Families.vms}`;
    const vm = await succeeds(h, own, Families.vms, own.post(path, { name: 'ported', type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey() }), 1_000, own.projectId);
    const sshDestination = async () => {
      const listed = await own.get(path);
      expect(listed.text).toBe(`{"items":[${await getAsRendered(own, path, vm.id)}],"next_page_token":"","prev_page_token":""}`);
      return listed.body.items[0].ssh_destination as string;
    };
    expect(await sshDestination()).toMatch(/:22$/);
    const { ipam } = h.hangar.kernel;
    const was = ipam.sshPort;
    try {
      ipam.sshPort = 2222; // (as the sandbox fabric sets it where port 22 cannot be bound)
      expect(await sshDestination()).toMatch(/^\d+\.\d+\.\d+\.\d+:2222$/);
    } finally {
      ipam.sshPort = was;
    }
  });

  it('writes every instant as GET does', async () => {
    const vm = await create('timed');
    const instants = [0, 1, 999, 1_000, 59_999, 951_782_400_000 /* 2000-02-29 */, 1_733_400_000_123, 2_147_483_647_999, 4_102_444_799_999, 253_402_300_799_999];
    for (const [i, ms] of instants.entries()) {
      const updated = instants[instants.length - 1 - i]!;
      await h.hangar.kernel.db.updateTable('crusoe_vms').set({ created_at: ms, updated_at: updated }).where('id', '=', vm.id).execute();
      await h.hangar.kernel.db.updateTable('crusoe_disks').set({ created_at: updated, updated_at: ms }).where('owner_vm_id', '=', vm.id).execute();
      const listed = await expectPageOfGets({ ids: vm.id }, [vm.id]);
      expect(listed.body.items[0].created_at).toBe(new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    }
  });
});
