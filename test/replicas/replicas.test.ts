import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSchema, postgresUrl, spawnHangar, type HangarProcess } from '../helpers/process.js';

const TOKEN = 'replica-test-token-0123456789abcdef';
const TYPE = 'vcpu-4_memory-12g_nvidia-rtx-3080-1';

// Three Hangar processes on one PostgreSQL: every lifecycle transition happens exactly once,
// whichever replica's engine claims it, and none is left behind.
describe.runIf(postgresUrl && process.env.HANGAR_TEST_ENGINE !== 'sqlite')('three replicas on one PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof postgresSchema>>;
  const replicas: HangarProcess[] = [];

  beforeAll(async () => {
    db = await postgresSchema(postgresUrl!);
    const env = {
      HANGAR_DATABASE_URL: db.url,
      HANGAR_SECRET_KEY: 'replica-test-sealing-key',
      HANGAR_DEMO_GENESIS_TOKEN: TOKEN,
      HANGAR_TIMINGS: 'fast',
      HANGAR_GENESIS_QUOTAS: 'instances=2000',
    };
    // All three at once: they race to bootstrap the empty store, and exactly one may.
    replicas.push(...(await Promise.all([spawnHangar(env), spawnHangar(env), spawnHangar(env)])));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await db?.drop();
  });

  it('bootstraps the store once', async () => {
    const accounts = await db.query<{ n: number }>(`select count(*)::int as n from accounts`);
    expect(accounts[0]!.n).toBe(1);
  });

  it('creates 1,000 instances over all three and applies every boot exactly once', async () => {
    const total = 1000;
    const ids: string[] = [];
    const create = async (i: number) => {
      const replica = replicas[i % replicas.length]!;
      const res = await fetch(`${replica.url}/compute/v1/instances`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `r-${i}`, hostname: `r-${i}`, type: TYPE, region: 'NORD-NO-KRS-1', image: 'ubuntu-22.04', password: 'replicas-are-fun-16' }),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      ids.push(((await res.json()) as { instance: { id: string } }).instance.id);
    };
    for (let i = 0; i < total; i += 25) await Promise.all(Array.from({ length: Math.min(25, total - i) }, (_, k) => create(i + k)));
    expect(new Set(ids).size).toBe(total);

    // Boots take 3 s under the fast profile; wait for all, reading through any replica.
    const deadline = Date.now() + 45_000;
    for (;;) {
      const [row] = await db.query<{ active: number; pending: number }>(
        `select (select count(*)::int from genesis_instances where status = 'active') as active,
                (select count(*)::int from lifecycle_timers) as pending`,
      );
      if (row!.active === total && row!.pending === 0) break;
      if (Date.now() > deadline) throw new Error(`only ${row!.active} of ${total} active, ${row!.pending} timers pending`);
      await new Promise((r) => setTimeout(r, 250));
    }

    const audit = await db.query<{ resource_id: string; n: number }>(
      `select resource_id, count(*)::int as n from lifecycle_log where kind = 'genesis.instance' and transition = 'boot' group by resource_id`,
    );
    expect(audit).toHaveLength(total);
    expect(audit.every((a) => a.n === 1)).toBe(true);
    expect(new Set(audit.map((a) => a.resource_id))).toEqual(new Set(ids));

    // Every replica sees the same instance through the API, with its addresses, none twice.
    const seen = await Promise.all(
      replicas.map(async (r) => {
        const res = await fetch(`${r.url}/compute/v1/instances?per_page=1&page=${total}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        return ((await res.json()) as { total_count: number; instances: { status: string }[] });
      }),
    );
    for (const page of seen) expect(page).toMatchObject({ total_count: total, instances: [{ status: 'active' }] });
    const [dupes] = await db.query<{ n: number }>(
      `select count(*)::int as n from (select private_ip from genesis_instances group by private_ip having count(*) > 1) d`,
    );
    expect(dupes!.n).toBe(0);
  }, 120_000);
});
