import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { createInstance } from '../helpers/genesis.js';
import { copyRows, keptPlan, onPostgres, perRowLines } from '../helpers/postgres-plans.js';

// Hangar's statements are planned once per connection (store.ts, plan_cache_mode), so a plan
// made while the store was small, and its statistics said so, is the plan run after a burst
// has grown it, until the tables are analysed again. A page of instances reads each one's links
// (their versions, and the JSON of those not kept): each instance's must be looked up by key,
// never by reading the whole table.
describe.runIf(onPostgres)("Genesis on PostgreSQL: a page's links are looked up, not scanned", () => {
  let h: TestHangar;
  // (one connection: the statements the page prepared are on the connection the test reads)
  beforeAll(async () => {
    h = await startHangar({ env: { HANGAR_DATABASE_POOL_SIZE: '1', HANGAR_READ_CACHE: '0' } });
  });
  afterAll(() => h?.close());

  it('keeps the lookup in plans made while the store was small and analysed, once a burst has grown it', async () => {
    const { genesis: g } = await h.newAccount('planned');
    const seed = await createInstance(g, { name: 'seed' });
    const { db } = h.hangar.kernel;
    // (statistics of a small store, as autovacuum would leave them)
    await sql`analyze genesis_instances, genesis_instance_links`.execute(db);

    // The page (each instance's version with its links) and the JSON of those not kept.
    const plans = () => Promise.all([keptPlan(db, '%"version"%"seq"%'), keptPlan(db, '%row_to_json%json_array_elements_text%')]);
    // GET one instance (its version, and its JSON where the version is not the one kept).
    const getPlan = () => keptPlan(db, '%"v"."version"%case when v.version =%');

    // (twice: the second page writes the JSON of the instance its first page wrote once, and keeps it)
    for (let i = 0; i < 2; i++) expect((await g.get('/instances')).body.instances.map((x: { id: string }) => x.id)).toEqual([seed.id]);
    expect((await g.get(`/instances/${seed.id}`)).status).toBe(200);
    await plans();
    await getPlan();
    await copyRows(db, 'genesis_instances', { id: `t.id || '-' || i`, name: `t.name || '-' || i`, seq: `t.seq + i` });
    await copyRows(db, 'genesis_instance_links', { instance_id: `t.instance_id || '-' || i` });

    const page = await g.get('/instances?per_page=50');
    expect(page.status, page.text).toBe(200);
    expect(page.body.instances).toHaveLength(50);
    for (const instance of page.body.instances) expect(instance.ssh_keys).toHaveLength(1);
    // (a generic plan costs a page as a tenth of the account's rows: compiled, a page of a
    // million-instance account took 0.5 s, and no plan may be)
    expect((await sql<{ jit: string }>`show jit`.execute(db)).rows[0]!.jit).toBe('off');
    const [pagePlan, textsPlan] = await plans();
    for (const plan of [pagePlan!, textsPlan!]) {
      expect(plan).not.toMatch(/JIT/);
      expect(plan).not.toMatch(/Seq Scan on genesis_instance_links\b/);
      expect(plan).toMatch(/Index Scan using genesis_instance_links_pk|Bitmap Index Scan on genesis_instance_links_pk/);
    }
    // GET finds its instance by its key, not among its account's instances.
    expect((await g.get(`/instances/${page.body.instances[1].id}`)).status).toBe(200);
    const get = await getPlan();
    expect(get).toMatch(/Index Scan using genesis_instances_pkey/);
    expect(get).not.toMatch(/genesis_instances_account/);
    // The page's versions read the links of its instances together, not a scan of them per
    // instance (each a bitmap of its own, where the table has no statistics).
    expect(perRowLines(pagePlan!).filter((line) => line.includes('genesis_instance_links')), pagePlan).toEqual([]);
  });
});
