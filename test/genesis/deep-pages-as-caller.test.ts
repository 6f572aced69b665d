import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countDatabaseWrites } from '../helpers/database-writes.js';
import { createInstance } from '../helpers/genesis.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { copyRows, onPostgres } from '../helpers/postgres-plans.js';

// On PostgreSQL a deep page of instances (past the first remembered position, 1,000 rows in)
// is read with the caller's credential and the list's version in one statement, once the
// positions are known. Whatever changed meanwhile, and whoever asks, each page must be the
// rows a plain OFFSET gives the caller's account.
describe.runIf(onPostgres)('Genesis on PostgreSQL: deep pages read with the credential', () => {
  let h: TestHangar;
  let account: { accountId: string; genesis: TestHangar['genesis'] };
  const PER_PAGE = 100;

  /** The ids of page `page` as OFFSET gives them. */
  const truth = async (accountId: string, page: number) =>
    (
      await h.hangar.kernel.db
        .selectFrom('genesis_instances')
        .select('id')
        .where('account_id', '=', accountId)
        .orderBy('seq')
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
        .execute()
    ).map((r) => r.id);
  const listed = async (client: TestHangar['genesis'], page: number) => {
    const res = await client.get(`/instances?per_page=${PER_PAGE}&page=${page}`);
    expect(res.status, res.text).toBe(200);
    return { ids: res.body.instances.map((i: { id: string }) => i.id) as string[], total: res.body.total_count as number };
  };

  beforeAll(async () => {
    h = await startHangar({ env: { HANGAR_READ_CACHE: '0' } });
    account = await h.newAccount('deep');
    await createInstance(account.genesis, { name: 'seed' });
    // (2,501 instances of the one account, their counter as the API would have left it)
    const { db } = h.hangar.kernel;
    await copyRows(db, 'genesis_instances', { id: `t.id || '-' || i`, name: `t.name || '-' || i`, seq: `t.seq + i` }, 2_500);
    await sql`update counters set value = (select count(*) from genesis_instances where account_id = ${account.accountId}) where account_id = ${account.accountId} and key = 'genesis.instances'`.execute(db);
  });
  afterAll(() => h?.close());

  it('serves a deep page it has the positions of in one statement, the rows OFFSET gives', async () => {
    const first = await listed(account.genesis, 20);
    expect(first).toEqual({ ids: await truth(account.accountId, 20), total: 2_501 });
    await listed(account.genesis, 20); // (the instances' texts kept)
    const writes = countDatabaseWrites();
    try {
      expect(await listed(account.genesis, 20)).toEqual(first);
      expect(writes.count).toBe(1);
    } finally {
      writes.stop();
    }
  });

  it('reads the page again where instances were added or removed since the positions were learnt', async () => {
    const before = await listed(account.genesis, 21);
    // An instance near the start goes (its counter moves with it, as a deletion's does): every deep page shifts by one.
    const { db } = h.hangar.kernel;
    await db.transaction().execute(async (trx) => {
      const [gone] = await trx.selectFrom('genesis_instances').select('id').where('account_id', '=', account.accountId).orderBy('seq').offset(5).limit(1).execute();
      await trx.deleteFrom('genesis_instances').where('id', '=', gone!.id).execute();
      await sql`update counters set value = value - 1 where account_id = ${account.accountId} and key = 'genesis.instances'`.execute(trx);
    });
    const after = await listed(account.genesis, 21);
    expect(after).toEqual({ ids: await truth(account.accountId, 21), total: 2_500 });
    expect(after.ids[0]).toBe(before.ids[1]);
    // And once more, from the positions learnt again.
    expect(await listed(account.genesis, 21)).toEqual(after);
  });

  it("gives another account's token its own deep pages, and refuses a token nobody holds", async () => {
    await listed(account.genesis, 20);
    const other = await h.newAccount('shallow');
    await createInstance(other.genesis, { name: 'only' });
    for (let i = 0; i < 2; i++) expect(await listed(other.genesis, 20)).toEqual({ ids: [], total: 1 });
    const stranger = h.genesis.with({ authorization: 'Bearer not-a-token-of-anyone-000000000000001' });
    expect((await stranger.get(`/instances?per_page=${PER_PAGE}&page=20`)).status).toBe(401);
    expect(await listed(account.genesis, 20)).toEqual({ ids: await truth(account.accountId, 20), total: 2_500 });
  });
});
