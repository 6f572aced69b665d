import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { BOOT_MS, createInstance, createKey, REGION } from '../helpers/genesis.js';
import type { HttpClient } from '../helpers/http-client.js';

// A page of GET /instances is written by the database (each instance's JSON built in the page's
// statement, see model/instance-json.ts; on SQLite kept between reads, and GET /instances/{id}
// sends the same kept JSON), every other answer with an instance by renderInstance and the
// route's serialiser. A client comparing them, or caching one and reading another, must find
// the same bytes: same keys in the same order, same escapes, same instants.
describe('Genesis: a page of instances is, byte for byte, the instances GET answers', () => {
  let h: TestHangar;
  beforeAll(async () => {
    // (no read cache: the rows are edited behind the API below, and each answer must be computed)
    h = await startHangar({ env: { HANGAR_READ_CACHE: '0' } });
  });
  afterAll(() => h.close());

  /** What the list must be: the GET answers' instances, in list order, under the page's fields. */
  async function expectPageOfGets(g: HttpClient, query: string, ids: string[], total: number, page: number, perPage: number) {
    const listed = await g.get(`/instances?${query}`);
    expect(listed.status, listed.text).toBe(200);
    expect(listed.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const items: string[] = [];
    for (const id of ids) {
      const one = await g.get(`/instances/${id}`);
      expect(one.status, one.text).toBe(200);
      expect(one.text.startsWith('{"instance":{')).toBe(true);
      items.push(one.text.slice('{"instance":'.length, -1));
    }
    expect(listed.text).toBe(`{"instances":[${items.join(',')}],"total_count":${total},"page":${page},"per_page":${perPage}}`);
    return listed;
  }

  /**
   * What a page holds must also be what renderInstance writes through the route's serialiser.
   * On SQLite GET sends the same kept JSON the page does (kernel/db/row-texts.ts); an update
   * that changes nothing answers with the instance rendered, so the two are compared there too.
   */
  async function expectRendered(g: HttpClient, ids: string[]) {
    for (const id of ids) {
      const rendered = await g.patch(`/instances/${id}`, {});
      expect(rendered.status, rendered.text).toBe(200);
      const item = rendered.text.slice('{"instance":'.length, -1);
      expect(item.startsWith(`{"id":"${id}",`)).toBe(true);
      expect((await g.get('/instances')).text).toContain(item);
      expect((await g.get(`/instances/${id}`)).text).toBe(rendered.text);
    }
  }

  it('with awkward names, every kind of link, every status and protection', async () => {
    const { genesis: g } = await h.newAccount('awkward');
    const awkward = 'quote " backslash \\ slash / tab \t newline \n bell \u0007 esc \u001b del \u007f é 😀 \u2028 </script>';
    const keys = [await createKey(g, `key ${awkward}`), await createKey(g, 'second key')];
    const group = await g.post('/security-groups', { name: `group ${awkward}`, region: REGION, rules: [] });
    const volume = await g.post('/volumes', { name: `volume ${awkward}`, size: 100, type: 'ssd', region: REGION });
    const floating = await g.post('/floating-ips', { name: `address ${awkward}`, region: REGION, version: 'ipv4' });
    for (const res of [group, volume, floating]) expect(res.status, res.text).toBe(201);
    await h.advance(1_000);

    const linked = await createInstance(g, {
      name: `instance ${awkward}`,
      ssh_keys: [keys[1].id, keys[0].id],
      security_groups: [group.body.security_group.id],
      volumes: [volume.body.volume.id],
      floating_ip: floating.body.floating_ip.id,
      is_protected: true,
    });
    const plain = await createInstance(g, { name: 'plain' });
    await h.advance(BOOT_MS); // (both active, with addresses and DNS names)
    const stopped = await createInstance(g, { name: 'stopped soon' });
    await h.advance(BOOT_MS);
    expect((await g.post(`/instances/${stopped.id}/actions`, { action: 'stop' })).status).toBe(204);
    const creating = await createInstance(g, { name: '' + 'x'.repeat(255) });

    const ids = [linked.id, plain.id, stopped.id, creating.id];
    const page = await expectPageOfGets(g, '', ids, 4, 1, 50);
    const statuses = page.body.instances.map((i: { status: string }) => i.status);
    expect(statuses).toEqual(['active', 'active', 'stopping', 'creating']);
    expect(page.body.instances[0]).toMatchObject({
      name: `instance ${awkward}`,
      ssh_keys: [{ id: keys[1].id, name: 'second key' }, { id: keys[0].id, name: `key ${awkward}` }],
      floating_ip: { id: floating.body.floating_ip.id, name: `address ${awkward}` },
      is_protected: true,
    });
    expect(page.body.instances[1]).toMatchObject({ floating_ip: null, volumes: [], is_protected: false });
    await expectRendered(g, ids);
    await expectPageOfGets(g, 'per_page=3&page=2', [creating.id], 4, 2, 3);
    await expectPageOfGets(g, 'per_page=2&page=3', [], 4, 3, 2);
  });

  // (on SQLite a page serves the JSON kept from the last page for the instances that did not
  // change since, see kernel/db/row-texts.ts: each change below must show in the next page)
  it('shows every change in the next page: the instance, its links, and the names it shows', async () => {
    const { genesis: g } = await h.newAccount('changes');
    const volume = await g.post('/volumes', { name: 'data', size: 100, type: 'ssd', region: REGION });
    const group = await g.post('/security-groups', { name: 'web', region: REGION, rules: [] });
    for (const res of [volume, group]) expect(res.status, res.text).toBe(201);
    const [first, second] = [await createInstance(g, { name: 'first' }), await createInstance(g, { name: 'second' })];
    await h.advance(BOOT_MS);
    const ids = [first.id, second.id];
    const volumeId = volume.body.volume.id;
    const groupId = group.body.security_group.id;
    const changes: [string, () => Promise<{ status: number; text: string }>][] = [
      ['rename', () => g.patch(`/instances/${first.id}`, { name: 'renamed' })],
      ['attach a volume', () => g.patch(`/instances/${first.id}`, { volumes: [volumeId] })],
      ['rename the volume', () => g.patch(`/volumes/${volumeId}`, { name: 'data renamed' })],
      ['add a security group', () => g.patch(`/instances/${second.id}`, { security_groups: { attach: groupId } })],
      ['rename the security group', () => g.patch(`/security-groups/${groupId}`, { name: 'web renamed' })],
      ['stop', () => g.post(`/instances/${second.id}/actions`, { action: 'stop' })],
    ];
    await expectPageOfGets(g, '', ids, 2, 1, 50);
    for (const [change, make] of changes) {
      const res = await make();
      expect(res.status, `${change}: ${res.text}`).toBeLessThan(300);
      await expectPageOfGets(g, '', ids, 2, 1, 50);
      await expectRendered(g, ids);
    }
    const page = await expectPageOfGets(g, '', ids, 2, 1, 50);
    expect(page.body.instances[0]).toMatchObject({ name: 'renamed', volumes: [{ id: volumeId, name: 'data renamed' }] });
    expect(page.body.instances[1].security_groups).toContainEqual({ id: groupId, name: 'web renamed' });
    expect(page.body.instances[1].status).toBe('stopping');
  });

  it('writes every instant as Date.toISOString does', async () => {
    const tenant = await h.newAccount('instants');
    const instance = await createInstance(tenant.genesis, { name: 'timed' });
    const instants = [0, 1, 999, 1_000, 59_999, 951_782_400_000 /* 2000-02-29 */, 1_733_400_000_123, 2_147_483_647_999, 4_102_444_799_999, 253_402_300_799_999 /* 9999-12-31T23:59:59.999Z */];
    for (const [i, ms] of instants.entries()) {
      const updated = instants[instants.length - 1 - i]!;
      await h.hangar.kernel.db.updateTable('genesis_instances').set({ created_at: ms, updated_at: updated }).where('id', '=', instance.id).execute();
      const listed = await expectPageOfGets(tenant.genesis, '', [instance.id], 1, 1, 50);
      await expectRendered(tenant.genesis, [instance.id]);
      expect(listed.body.instances[0]).toMatchObject({ created_at: new Date(ms).toISOString(), updated_at: new Date(updated).toISOString() });
    }
  });
});
