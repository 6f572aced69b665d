import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { activeInstance, BOOT_MS, createInstance } from '../helpers/genesis.js';
import type { HttpClient } from '../helpers/http-client.js';
import { VersionedTexts } from '../../src/kernel/db/row-texts.js';

// On SQLite a page's instance ids (and its total) are kept between reads while no instance is
// added, removed or moved in the list and no counter changes (model/instances.ts, `list`), and
// each instance's JSON while it is unchanged (kernel/db/row-texts.ts). Whatever changes, a page
// must show the account's instances as they are now.
describe('Genesis: a page of instances kept between reads is the page as it is now', () => {
  let h: TestHangar;
  beforeAll(async () => {
    // (every answer computed: only the store's own keeping is under test)
    h = await startHangar({ env: { HANGAR_READ_CACHE: '0' } });
  });
  afterAll(() => h.close());

  async function listed(g: HttpClient, query = '') {
    const res = await g.get(`/instances${query}`);
    expect(res.status, res.text).toBe(200);
    return { ids: res.body.instances.map((i: { id: string }) => i.id), statuses: res.body.instances.map((i: { status: string }) => i.status), total: res.body.total_count };
  }

  it('shows instances created, booted, stopped and deleted through the API', async () => {
    const { genesis: g } = await h.newAccount('kept pages');
    const first = await activeInstance(h, { name: 'first' }, g);
    expect(await listed(g)).toEqual({ ids: [first.id], statuses: ['active'], total: 1 });
    expect(await listed(g, '?per_page=1&page=2')).toEqual({ ids: [], statuses: [], total: 1 });

    const second = await createInstance(g, { name: 'second' });
    expect(await listed(g)).toEqual({ ids: [first.id, second.id], statuses: ['active', 'creating'], total: 2 });
    expect(await listed(g, '?per_page=1&page=2')).toEqual({ ids: [second.id], statuses: ['creating'], total: 2 });

    // (transitions change instances, not which instances the page holds)
    await h.advance(BOOT_MS);
    expect((await g.post(`/instances/${first.id}/actions`, { action: 'stop' })).status).toBe(204);
    expect(await listed(g)).toEqual({ ids: [first.id, second.id], statuses: ['stopping', 'active'], total: 2 });

    expect((await g.delete(`/instances/${second.id}`)).status).toBe(204);
    await h.advance(60_000);
    expect(await listed(g)).toEqual({ ids: [first.id], statuses: ['stopped'], total: 1 });
    expect(await listed(g, '?per_page=1&page=2')).toEqual({ ids: [], statuses: [], total: 1 });
  });

  it('shows rows and counters changed behind the API', async () => {
    const { genesis: g, accountId } = await h.newAccount('behind the API');
    const kept = await activeInstance(h, { name: 'kept' }, g);
    const gone = await activeInstance(h, { name: 'gone' }, g);
    expect(await listed(g)).toEqual({ ids: [kept.id, gone.id], statuses: ['active', 'active'], total: 2 });

    const { db } = h.hangar.kernel;
    await db.deleteFrom('genesis_instance_links').where('instance_id', '=', gone.id).execute();
    await db.deleteFrom('genesis_instances').where('id', '=', gone.id).execute();
    expect((await listed(g)).ids).toEqual([kept.id]);

    await db.updateTable('counters').set({ value: 7 }).where('account_id', '=', accountId).where('key', '=', 'genesis.instances').execute();
    expect((await listed(g)).total).toBe(7);

    // (the list's order moved: seq is what it is ordered by)
    const later = await createInstance(g, { name: 'later' });
    expect((await listed(g)).ids).toEqual([kept.id, later.id]);
    await db.updateTable('genesis_instances').set({ seq: 0 }).where('id', '=', later.id).execute();
    expect((await listed(g)).ids).toEqual([later.id, kept.id]);
  });

  it('shows links changed behind the API (the instance row unchanged)', async () => {
    const { genesis: g } = await h.newAccount('links behind the API');
    const one = await activeInstance(h, { name: 'one' }, g);
    const groups = async () => {
      const res = await g.get('/instances');
      expect(res.status, res.text).toBe(200);
      return res.body.instances[0].security_groups.map((group: { id: string; name: string }) => group.name);
    };
    // (read twice: a text is kept from its second writing)
    const [group] = await groups();
    expect(await groups()).toEqual([group]);

    const { db } = h.hangar.kernel;
    const links = () => db.selectFrom('genesis_instance_links').where('instance_id', '=', one.id).where('kind', '=', 'security_group');
    await db.updateTable('genesis_instance_links').set({ target_name: 'renamed' }).where('instance_id', '=', one.id).where('kind', '=', 'security_group').execute();
    expect(await groups()).toEqual(['renamed']);
    expect(await groups()).toEqual(['renamed']);
    const [row] = await links().selectAll().execute();
    await db.insertInto('genesis_instance_links').values({ ...row, target_id: 'another-group', target_name: 'another', position: 1 }).execute();
    expect(await groups()).toEqual(['renamed', 'another']);
    await db.deleteFrom('genesis_instance_links').where('instance_id', '=', one.id).where('target_name', '=', 'renamed').execute();
    expect(await groups()).toEqual(['another']);
  });

  it.runIf(process.env.HANGAR_TEST_ENGINE === 'postgres')('writes an instance\'s JSON on PostgreSQL only until it is kept, and again once it changed', async () => {
    const { genesis: g } = await h.newAccount('written on PostgreSQL');
    const [one, two] = [await createInstance(g, { name: 'one' }), await createInstance(g, { name: 'two' })];
    // (the ids whose texts each page had the store write: VersionedTexts' `write`)
    const written: string[][] = [];
    const textsOf = VersionedTexts.prototype.textsOf;
    VersionedTexts.prototype.textsOf = function (this: VersionedTexts, owner: string, rows: Parameters<typeof textsOf>[1], write: Parameters<typeof textsOf>[2]) {
      return textsOf.call(this, owner, rows, (ids) => (written.push([...ids].sort()), write(ids)));
    } as typeof textsOf;
    try {
      for (let i = 0; i < 4; i++) expect((await listed(g)).ids).toEqual([one.id, two.id]);
      // (written twice: a text is kept from its second writing)
      expect(written).toEqual([[one.id, two.id].sort(), [one.id, two.id].sort()]);
      written.length = 0;
      expect((await g.patch(`/instances/${two.id}`, { name: 'renamed' })).status).toBe(200);
      const names = async () => (await g.get('/instances')).body.instances.map((i: { name: string }) => i.name);
      for (let i = 0; i < 3; i++) expect(await names()).toEqual(['one', 'renamed']);
      // (only the instance that changed, and kept again from that writing)
      expect(written).toEqual([[two.id]]);
    } finally {
      VersionedTexts.prototype.textsOf = textsOf;
    }
  });

  it('answers GET with the instance as it is now, whatever changed it and however often it was read', async () => {
    const { genesis: g } = await h.newAccount('GET behind the API');
    const other = await h.newAccount('GET of another account');
    const one = await activeInstance(h, { name: 'one' }, g);
    const got = async () => {
      const res = await g.get(`/instances/${one.id}`);
      expect(res.status, res.text).toBe(200);
      const { name, status, security_groups } = res.body.instance;
      return { name, status, groups: security_groups.map((group: { name: string }) => group.name) };
    };
    // (read three times: a text is kept from its second writing)
    const [group] = (await got()).groups;
    for (let i = 0; i < 2; i++) expect(await got()).toEqual({ name: 'one', status: 'active', groups: [group] });
    // (another account's caller does not see it, kept or not)
    expect((await other.genesis.get(`/instances/${one.id}`)).status).toBe(404);

    expect((await g.post(`/instances/${one.id}/actions`, { action: 'stop' })).status).toBe(204);
    expect((await got()).status).toBe('stopping');
    const { db } = h.hangar.kernel;
    await db.updateTable('genesis_instances').set({ name: 'renamed' }).where('id', '=', one.id).execute();
    expect((await got()).name).toBe('renamed');
    await db.updateTable('genesis_instance_links').set({ target_name: 'group renamed' }).where('instance_id', '=', one.id).where('kind', '=', 'security_group').execute();
    expect((await got()).groups).toEqual(['group renamed']);
    expect((await got()).groups).toEqual(['group renamed']);
    await db.deleteFrom('genesis_instance_links').where('instance_id', '=', one.id).execute();
    await db.deleteFrom('genesis_instances').where('id', '=', one.id).execute();
    expect((await g.get(`/instances/${one.id}`)).status).toBe(404);
  });

  it.runIf(process.env.HANGAR_TEST_ENGINE === 'postgres')("has GET write an instance's JSON on PostgreSQL only until it is kept, and again once it changed", async () => {
    const { genesis: g } = await h.newAccount('GET written on PostgreSQL');
    const one = await createInstance(g, { name: 'one' });
    // (each GET's read: whether the store wrote the JSON, VersionedTexts' `textOf`)
    const written: boolean[] = [];
    const textOf = VersionedTexts.prototype.textOf;
    VersionedTexts.prototype.textOf = function (this: VersionedTexts, ...args: Parameters<typeof textOf>) {
      written.push(args[3] !== null);
      return textOf.apply(this, args);
    };
    try {
      const name = async () => (await g.get(`/instances/${one.id}`)).body.instance.name;
      for (let i = 0; i < 4; i++) expect(await name()).toBe('one');
      // (written twice: a text is kept from its second writing)
      expect(written).toEqual([true, true, false, false]);
      written.length = 0;
      expect((await g.patch(`/instances/${one.id}`, { name: 'renamed' })).status).toBe(200);
      for (let i = 0; i < 3; i++) expect(await name()).toBe('renamed');
      expect(written).toEqual([true, false, false]);
    } finally {
      VersionedTexts.prototype.textOf = textOf;
    }
  });

  it('keeps each account to its own pages', async () => {
    const a = await h.newAccount('pages of a');
    const b = await h.newAccount('pages of b');
    const mine = await createInstance(a.genesis, { name: 'mine' });
    expect((await listed(a.genesis)).ids).toEqual([mine.id]);
    expect(await listed(b.genesis)).toEqual({ ids: [], statuses: [], total: 0 });
    const theirs = await createInstance(b.genesis, { name: 'theirs' });
    expect((await listed(b.genesis)).ids).toEqual([theirs.id]);
    expect((await listed(a.genesis)).ids).toEqual([mine.id]);
  });
});
