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
      // (a failure shows the replica's own log: the cause of a 500 is only there)
      expect(res.status, `${await res.clone().text()}\n${replica.output().slice(-4000)}`).toBe(201);
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

  it("shows on one replica's pages, at once, what another changed (texts kept under versions)", async () => {
    const [a, b] = replicas as [HangarProcess, HangarProcess];
    const page = async (r: HangarProcess) => {
      const res = await fetch(`${r.url}/compute/v1/instances?per_page=5`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { instances: { id: string; name: string; security_groups: { name: string }[] }[] }).instances;
    };
    // (read twice: a text is kept from its second writing)
    const [first] = await page(a);
    expect((await page(a))[0]).toEqual(first);

    const renamed = await fetch(`${b.url}/compute/v1/instances/${first!.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'renamed-on-b' }),
    });
    expect(renamed.status).toBe(200);
    expect((await page(a))[0]!.name).toBe('renamed-on-b');
    expect((await page(a))[0]!.name).toBe('renamed-on-b');

    // Only a link changed (written by no replica): the instance's own row is as it was.
    await db.query(`update genesis_instance_links set target_name = 'group-renamed' where instance_id = $1 and kind = 'security_group'`, [first!.id]);
    expect((await page(a))[0]!.security_groups.map((g) => g.name)).toEqual(['group-renamed']);
    await db.query(`delete from genesis_instance_links where instance_id = $1 and kind = 'security_group'`, [first!.id]);
    expect((await page(a))[0]!.security_groups).toEqual([]);
  });

  it('shares the clock, fault rules and resets between replicas', async () => {
    const [a, b, c] = replicas as [HangarProcess, HangarProcess, HangarProcess];
    const admin = (r: HangarProcess, method: string, path: string, body?: unknown) =>
      fetch(`${r.url}/admin/v1${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    const eventually = async (check: () => Promise<boolean>) => {
      const deadline = Date.now() + 5000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('the other replicas did not follow');
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    // A clock frozen on one replica is frozen on all, at the same instant.
    const frozen = (await (await admin(a, 'POST', '/clock/freeze')).json()) as { now: string; frozen: boolean };
    expect(frozen.frozen).toBe(true);
    await eventually(async () => {
      const views = await Promise.all([b, c].map(async (r) => (await (await admin(r, 'GET', '/clock')).json()) as { now: string; frozen: boolean }));
      return views.every((v) => v.frozen && v.now === frozen.now);
    });
    await admin(b, 'POST', '/clock/advance', { by: '1h' });
    await eventually(async () => ((await (await admin(c, 'GET', '/clock')).json()) as { now: string }).now === new Date(Date.parse(frozen.now) + 3_600_000).toISOString());

    // A rule for the next two calls fires twice in all, whichever replica the calls reach.
    expect((await admin(c, 'POST', '/faults', { cloud: 'genesis', method: 'GET', path: '/compute/v1/ssh-keys', count: 2, status: 503, code: '02036' })).status).toBe(201);
    await eventually(async () => {
      const lists = await Promise.all([a, b].map(async (r) => ((await (await admin(r, 'GET', '/faults')).json()) as { faults: unknown[] }).faults.length));
      return lists.every((n) => n === 1);
    });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${replicas[i % 3]!.url}/compute/v1/ssh-keys`, { headers: { authorization: `Bearer ${TOKEN}` } });
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 503)).toHaveLength(2);
    const [rule] = ((await (await admin(a, 'GET', '/faults')).json()) as { faults: { fired: number }[] }).faults;
    expect(rule!.fired).toBe(2);

    // A reset on one replica: every replica serves the empty store, with no rules and wall-clock time.
    expect((await admin(b, 'POST', '/reset')).status).toBe(204);
    await eventually(async () => {
      const views = await Promise.all(replicas.map(async (r) => (await (await admin(r, 'GET', '/clock')).json()) as { frozen: boolean }));
      const rules = await Promise.all(replicas.map(async (r) => ((await (await admin(r, 'GET', '/faults')).json()) as { faults: unknown[] }).faults.length));
      return views.every((v) => !v.frozen) && rules.every((n) => n === 0);
    });
    for (const r of replicas) {
      const res = await fetch(`${r.url}/compute/v1/instances`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200); // the pinned demo token comes back with the new demo account
      expect(((await res.json()) as { total_count: number }).total_count).toBe(0);
    }
  }, 60_000);
});
