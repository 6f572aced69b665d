import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHangar, type Hangar } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Clock } from '../../src/kernel/clock.js';
import { Admin } from '../helpers/admin.js';
import { genesisSpecValidator, publicKey, T0, testStore } from '../helpers/hangar.js';
import { HttpClient } from '../helpers/http-client.js';

const iso = (ms: number) => new Date(ms).toISOString();

// Two replicas (in one process, each with its own clock, engine and caches) on one PostgreSQL:
// an account's clock set through one is what the other serves at once, and each transition
// due on it is applied once.
describe.runIf(process.env.HANGAR_TEST_ENGINE === 'postgres' && process.env.HANGAR_TEST_POSTGRES_URL)('account clocks across replicas', () => {
  const store = testStore();
  const replicas: { hangar: Hangar; url: string; admin: Admin }[] = [];

  beforeAll(async () => {
    const config = loadConfig({
      HANGAR_DATABASE_URL: store.url,
      HANGAR_SECRET_KEY: 'hangar-test-sealing-key',
      HANGAR_TIMINGS: 'fast',
      HANGAR_RATE_LIMIT: '0',
      HANGAR_LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: '0',
    });
    for (let i = 0; i < 2; i++) {
      const hangar = await createHangar(config, { clock: new Clock({ frozenAt: T0 }) });
      const url = await hangar.listen();
      replicas.push({ hangar, url, admin: new Admin(url) });
    }
  });
  afterAll(async () => {
    for (const r of replicas) await r.hangar.close();
    await store.drop();
  });

  it("serves an account's clock set through one replica from the other at once, and applies each of its transitions once", async () => {
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const account = await a.admin.createAccount('parallel-worker');
    const onB = new HttpClient(`${b.url}/compute/v1`, { authorization: `Bearer ${account.genesis.token}` }, genesisSpecValidator());
    const onA = new HttpClient(`${a.url}/compute/v1`, { authorization: `Bearer ${account.genesis.token}` }, genesisSpecValidator());
    const key = (await onB.post('/ssh-keys', { name: 'k', value: publicKey() })).body.id;

    // Set through A; B's very next request (no waiting for a notification) is on that time.
    expect((await a.admin.post(`/accounts/${account.id}/clock/advance`, { by: '1h' })).body).toMatchObject({ now: iso(T0 + 3_600_000), follows_global: false });
    expect((await b.admin.get(`/accounts/${account.id}/clock`)).body).toEqual({ now: iso(T0 + 3_600_000), frozen: true, follows_global: false });
    const create = (client: HttpClient, i: number) =>
      client.post('/instances', { name: `w-${i}`, hostname: `w-${i}`, type: 'vcpu-2_memory-4g', region: 'NORD-NO-KRS-1', image: 'ubuntu-22.04', ssh_keys: [key] });
    const first = await create(onB, 0);
    expect(first.status, first.text).toBe(201);
    expect(Date.parse(first.body.instance.created_at)).toBe(T0 + 3_600_000);

    // Twenty instances through both replicas; the account's advance through B boots all of them, each once.
    const ids = [first.body.instance.id as string];
    for (let i = 1; i < 20; i++) {
      const res = await create(i % 2 === 0 ? onA : onB, i);
      expect(res.status, res.text).toBe(201);
      expect(Date.parse(res.body.instance.created_at)).toBe(T0 + 3_600_000);
      ids.push(res.body.instance.id);
    }
    const advanced = await b.admin.post(`/accounts/${account.id}/clock/advance`, { by: '5s' });
    expect(advanced.status, advanced.text).toBe(200);
    const log = await a.hangar.kernel.db
      .selectFrom('lifecycle_log')
      .select(['resource_id', 'due_at', 'applied_at'])
      .where('transition', '=', 'boot')
      .where('resource_id', 'in', ids)
      .execute();
    expect(log.map((l) => l.resource_id).sort()).toEqual([...ids].sort());
    expect(log.every((l) => Number(l.due_at) === T0 + 3_600_000 + 3_000 && Number(l.applied_at) === T0 + 3_600_000 + 5_000)).toBe(true);
    for (const [i, id] of ids.entries()) expect((await (i % 2 === 0 ? onA : onB).get(`/instances/${id}`)).body.instance.status).toBe('active');
    // Neither replica's global clock moved.
    for (const r of replicas) expect((await r.admin.get('/clock')).body.now).toBe(iso(T0));
  });
});
