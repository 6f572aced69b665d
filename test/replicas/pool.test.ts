import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { createKey, expectError, REGION } from '../helpers/genesis.js';
import { postgresUrl } from '../helpers/process.js';

/**
 * PostgreSQL's connection pool under a burst: requests that find every connection in use wait
 * for one (bounded by HANGAR_DATABASE_QUEUE_TIMEOUT and HANGAR_DATABASE_QUEUE_LIMIT) instead of
 * failing after the connect timeout, which bounds only the opening of a connection.
 */
describe.runIf(postgresUrl && process.env.HANGAR_TEST_ENGINE === 'postgres')('PostgreSQL pool', () => {
  let h: TestHangar | undefined;
  let locker: pg.Client | undefined;
  afterEach(async () => {
    await locker?.end().catch(() => undefined);
    await h?.close();
    locker = undefined;
    h = undefined;
  });

  const body = (keyId: string, i: number) => ({ name: `burst-${i}`, hostname: `burst-${i}`, type: 'vcpu-2_memory-4g', region: REGION, image: 'ubuntu-22.04', ssh_keys: [keyId] });

  /**
   * Holds a lock every instance create needs (the account's counters), so the creates that get
   * a connection keep it, waiting, for as long as the test says.
   */
  async function holdCounters(hangar: TestHangar): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: postgresUrl! });
    await client.connect();
    await client.query(`set search_path to "${hangar.hangar.kernel.store.schema}"`);
    await client.query('begin');
    await client.query('lock table counters in exclusive mode');
    return client;
  }

  /** Opens both of the pool's connections now: the burst is about waiting for one, not opening one. */
  async function openBoth(hangar: TestHangar): Promise<void> {
    const { db } = hangar.hangar.kernel;
    await Promise.all([0, 1].map(() => db.connection().execute((connection) => sql`select pg_sleep(0.05)`.execute(connection))));
    expect(hangar.hangar.kernel.store.poolStats!().total).toBe(2);
  }

  async function waitForWaiters(hangar: TestHangar, count: number): Promise<void> {
    while (hangar.hangar.kernel.store.poolStats!().waiting < count) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  it('queues a burst longer than the connect timeout on a pool of 2, and every request succeeds', async () => {
    // (each create in a transaction of its own, holding a connection: grouped, creates that
    // arrive together would share one)
    h = await startHangar({ env: { HANGAR_DATABASE_POOL_SIZE: '2', HANGAR_DATABASE_CONNECT_TIMEOUT: '1s', HANGAR_DATABASE_GROUP_COMMIT: '0' } });
    const key = await createKey(h.genesis);
    await openBoth(h);
    locker = await holdCounters(h);
    const burst = Array.from({ length: 10 }, (_, i) => h!.genesis.post('/instances', body(key.id, i)));
    // Two creates hold both connections (waiting on the lock), the others wait for one...
    while ((await activeLocks(locker)) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    await waitForWaiters(h, 6);
    // ...for longer than the connect timeout (which used to bound this wait too).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(h.hangar.kernel.store.poolStats!()).toMatchObject({ size: 2, total: 2 });
    await locker.query('commit');
    const answers = await Promise.all(burst);
    expect(answers.map((r) => r.status), answers.map((r) => r.text).join("\n")).toEqual(Array(10).fill(201));
    const listed = await h.genesis.get('/instances?per_page=100');
    expect(listed.body.total_count).toBe(10);
  });

  it('answers 503 "busy" in the cloud body beyond the queue limit, and serves again once the burst is over', async () => {
    h = await startHangar({ env: { HANGAR_DATABASE_POOL_SIZE: '2', HANGAR_DATABASE_QUEUE_LIMIT: '3', HANGAR_DATABASE_GROUP_COMMIT: '0' } });
    const key = await createKey(h.genesis);
    locker = await holdCounters(h);
    const first = [0, 1].map((i) => h!.genesis.post('/instances', body(key.id, i)));
    while (h.hangar.kernel.store.poolStats!().idle > 0 || (await activeLocks(locker)) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    const queued = [2, 3, 4].map((i) => h!.genesis.post('/instances', body(key.id, i)));
    await waitForWaiters(h, 3);
    const refused = await h.genesis.get('/instances');
    expectError(refused, 503, '02000', /busy: all 2 connections are in use and 3 requests wait for one/);
    await locker.query('commit');
    expect((await Promise.all([...first, ...queued])).map((r) => r.status)).toEqual(Array(5).fill(201));
    expect((await h.genesis.get('/instances')).status).toBe(200);
  });

  it('works with a pool of one connection: starts, bootstraps, creates concurrently, resets', async () => {
    h = await startHangar({ env: { HANGAR_DATABASE_POOL_SIZE: '1' } });
    const key = await createKey(h.genesis);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => h!.genesis.post('/instances', body(key.id, i))));
    expect(answers.map((r) => r.status)).toEqual(Array(6).fill(201));
    await h.advance(60_000);
    const listed = await h.genesis.get('/instances');
    expect(listed.body.instances.map((i: { status: string }) => i.status)).toEqual(Array(6).fill('active'));
    await h.hangar.reset(); // the bootstrap lock again, with the pool's only connection free for the work
    expect(h.hangar.demo.accountId).not.toBeNull();
  });
});

/** Requests waiting for the counters lock (each holding a pooled connection meanwhile). */
async function activeLocks(client: pg.Client): Promise<number> {
  const { rows } = await client.query(`select count(*)::int as n from pg_locks where relation = 'counters'::regclass and not granted`);
  return rows[0].n;
}
