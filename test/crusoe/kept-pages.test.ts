import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { Families, succeeds } from './support.js';

// On SQLite an unfiltered page's VMs are kept between reads while no VM is added, removed,
// renamed or moved to another project (model/vms.ts, `list`), and each VM's JSON while it is
// unchanged (kernel/db/row-texts.ts). Whatever changes, a page must show the project's VMs as
// they are now, its tokens included.
describe('Crusoe: a page of VMs kept between reads is the page as it is now', () => {
  let h: TestHangar;
  beforeAll(async () => {
    // (every answer computed: only the store's own keeping is under test)
    h = await startHangar({ env: { HANGAR_READ_CACHE: '0' } });
  });
  afterAll(() => h.close());

  const vmsOf = (c: CrusoeClient) => `/projects/${c.projectId}/${Families.vms}`;
  const create = (c: CrusoeClient, name: string) =>
    succeeds(h, c, Families.vms, c.post(vmsOf(c), { name, type: 'c1a.2x', location: 'us-east1-a', ssh_public_key: publicKey() }), 1_000);

  async function listed(c: CrusoeClient, query: Record<string, string> = {}) {
    const res = await c.get(vmsOf(c), { query });
    expect(res.status, res.text).toBe(200);
    return {
      names: res.body.items.map((vm: { name: string }) => vm.name),
      states: res.body.items.map((vm: { state: string }) => vm.state),
      next: res.body.next_page_token as string,
      prev: res.body.prev_page_token as string,
    };
  }

  it('shows VMs created, stopped, renamed and deleted', async () => {
    const { client: c } = await newCrusoeAccount(h, 'kept vm pages');
    const b = await create(c, 'b');
    expect(await listed(c)).toMatchObject({ names: ['b'], states: ['STATE_RUNNING'], next: '', prev: '' });
    const firstOfOne = await listed(c, { limit: '1' });
    expect(firstOfOne).toMatchObject({ names: ['b'], next: '' });

    const a = await create(c, 'a');
    expect(await listed(c)).toMatchObject({ names: ['b', 'a'], states: ['STATE_RUNNING', 'STATE_RUNNING'] });
    expect(await listed(c, { sort: 'name' })).toMatchObject({ names: ['a', 'b'] });
    const one = await listed(c, { limit: '1' });
    expect(one.names).toEqual(['b']);
    expect(one.next).not.toBe('');
    expect(await listed(c, { limit: '1', next_token: one.next })).toMatchObject({ names: ['a'], next: '' });

    // (a state change moves no VM in the list; the page shows the new state)
    await succeeds(h, c, Families.vms, c.patch(`${vmsOf(c)}/${b.id}`, { action: 'STOP' }));
    expect(await listed(c)).toMatchObject({ names: ['b', 'a'], states: ['STATE_SHUTOFF', 'STATE_RUNNING'] });

    // (behind the API: a rename moves the VM in the list by name, and nothing else changes)
    expect(await listed(c, { sort: 'name' })).toMatchObject({ names: ['a', 'b'] });
    const { db } = h.hangar.kernel;
    await db.updateTable('crusoe_vms').set({ name: 'c' }).where('id', '=', a.id).execute();
    expect(await listed(c, { sort: 'name' })).toMatchObject({ names: ['b', 'c'] });
    const gone = await create(c, 'gone');
    expect((await listed(c)).names).toEqual(['b', 'c', 'gone']);
    // (each cursor its own page: walked twice, the second time from what was kept)
    for (let walk = 0; walk < 2; walk++) {
      const names: string[] = [];
      let next: string | undefined;
      do {
        const page = await listed(c, { limit: '1', ...(next ? { next_token: next } : {}) });
        names.push(...page.names);
        next = page.next;
      } while (next !== '' && names.length < 10);
      expect(names).toEqual(['b', 'c', 'gone']);
    }
    // (and back from the last page by prev_token, twice: a page before a cursor is read in
    // reverse and kept as read)
    const last = await listed(c, { limit: '1', next_token: (await listed(c, { limit: '2' })).next });
    expect(last.names).toEqual(['gone']);
    for (let walk = 0; walk < 2; walk++) expect(await listed(c, { limit: '2', prev_token: last.prev })).toMatchObject({ names: ['b', 'c'], prev: '' });
    await db.deleteFrom('crusoe_disk_attachments').where('vm_id', '=', gone.id).execute();
    await db.deleteFrom('crusoe_vms').where('id', '=', gone.id).execute();
    expect((await listed(c)).names).toEqual(['b', 'c']);

    await succeeds(h, c, Families.vms, c.delete(`${vmsOf(c)}/${a.id}`));
    expect(await listed(c)).toMatchObject({ names: ['b'], next: '', prev: '' });
    expect(await listed(c, { limit: '1' })).toMatchObject({ names: ['b'], next: '' });
  });

  it('answers GET with the VM as it is now, whatever changed it and however often it was read', async () => {
    const { client: c } = await newCrusoeAccount(h, 'kept vm GET');
    const { client: other } = await newCrusoeAccount(h, 'another vm GET');
    const vm = await create(c, 'one');
    const got = async () => {
      const res = await c.get(`${vmsOf(c)}/${vm.id}`);
      expect(res.status, res.text).toBe(200);
      const { name, state, disks } = res.body;
      return { name, state, disks: disks.map((disk: { name: string; size: string }) => `${disk.name} ${disk.size}`) };
    };
    // (read three times: a text is kept from its second writing)
    const first = await got();
    expect(first).toMatchObject({ name: 'one', state: 'STATE_RUNNING' });
    for (let i = 0; i < 2; i++) expect(await got()).toEqual(first);
    // (another account's key, asking in its own project, does not find it)
    expect((await other.get(`${vmsOf(other)}/${vm.id}`)).status).toBe(404);

    await succeeds(h, c, Families.vms, c.patch(`${vmsOf(c)}/${vm.id}`, { action: 'STOP' }));
    expect((await got()).state).toBe('STATE_SHUTOFF');
    const { db } = h.hangar.kernel;
    await db.updateTable('crusoe_vms').set({ name: 'renamed' }).where('id', '=', vm.id).execute();
    expect((await got()).name).toBe('renamed');
    // (behind the API, a disk the VM's JSON shows: the VM's own row unchanged)
    const [attachment] = await db.selectFrom('crusoe_disk_attachments').select('disk_id').where('vm_id', '=', vm.id).execute();
    await db.updateTable('crusoe_disks').set({ name: 'disk renamed', size_gib: 512 }).where('id', '=', attachment!.disk_id).execute();
    expect((await got()).disks).toEqual(['disk renamed 512GiB']);
    expect((await got()).disks).toEqual(['disk renamed 512GiB']);
    await db.deleteFrom('crusoe_disk_attachments').where('vm_id', '=', vm.id).execute();
    expect((await got()).disks).toEqual([]);
    await db.deleteFrom('crusoe_vms').where('id', '=', vm.id).execute();
    expect((await c.get(`${vmsOf(c)}/${vm.id}`)).status).toBe(404);
  });

  it('keeps each project to its own pages', async () => {
    const { client: mine } = await newCrusoeAccount(h, 'vm pages of one');
    const { client: theirs } = await newCrusoeAccount(h, 'vm pages of another');
    await create(mine, 'mine');
    expect((await listed(mine)).names).toEqual(['mine']);
    expect((await listed(theirs)).names).toEqual([]);
    await create(theirs, 'theirs');
    expect((await listed(theirs)).names).toEqual(['theirs']);
    expect((await listed(mine)).names).toEqual(['mine']);
  });
});
