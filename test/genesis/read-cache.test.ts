import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/kernel/tenancy/accounts.js';
import { adminOf, hangarPerSuite } from '../helpers/admin.js';
import { activeInstance, BOOT_MS, createInstance } from '../helpers/genesis.js';
import type { HttpClient } from '../helpers/http-client.js';
import { GENESIS, startHangar, T0, type TestHangar } from '../helpers/hangar.js';

const sqlite = process.env.HANGAR_TEST_ENGINE !== 'postgres';

/** A GET as a client's wait loop sees it: the status, the content type and the exact bytes. */
async function poll(client: HttpClient, path: string) {
  const res = await client.get(path);
  return { status: res.status, type: res.headers.get('content-type'), text: res.text, body: res.body };
}

/** The sum of a Prometheus counter's series whose labels contain `labels` (as written there). */
async function counter(h: TestHangar, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)$`, 'gm'))].filter((m) => m[1]!.includes(labels)).reduce((sum, m) => sum + Number(m[2]), 0);
}
const replayed = (h: TestHangar) => counter(h, 'hangar_http_replayed_total');

/**
 * Polled GETs (an instance, the instance list) are answered from memory while nothing in the
 * store changed (SQLite). What a client must never see: an answer older than the last change,
 * another tenant's answer, or an answer to a credential that no longer works.
 */
describe('Genesis: polled reads answered from memory', () => {
  const { h, admin } = hangarPerSuite();

  it('answers a repeated GET with the same bytes, and counts it in the metrics and the journal', async () => {
    const instance = await createInstance(h.genesis, { name: 'polled' });
    const answered = () => counter(h, 'hangar_http_requests_total', `method="GET",route="${GENESIS}/instances/:instance_id",status="200"`);
    const timed = () => counter(h, 'hangar_http_request_duration_seconds_count', `method="GET",route="${GENESIS}/instances/:instance_id"`);
    const [before, answeredBefore, timedBefore] = [await replayed(h), await answered(), await timed()];
    const first = await poll(h.genesis, `/instances/${instance.id}`);
    const second = await poll(h.genesis, `/instances/${instance.id}`);
    const third = await poll(h.genesis, `/instances/${instance.id}`);
    expect(first.status).toBe(200);
    expect(first.body.instance).toMatchObject({ id: instance.id, name: 'polled', status: 'creating' });
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    if (sqlite) expect(await replayed(h)).toBe(before + 2);
    expect(await answered()).toBe(answeredBefore + 3); // replayed or not, every answer counts
    expect(await timed()).toBe(timedBefore + 3);

    const journal = (await admin.get('/journal?limit=3')).body.requests;
    expect(journal.map((e: any) => [e.method, e.path, e.route, e.status, e.account, e.cloud])).toEqual(
      Array(3).fill(['GET', `${GENESIS}/instances/${instance.id}`, `${GENESIS}/instances/:instance_id`, 200, h.demoAccountId, 'genesis']),
    );
    for (const entry of journal) expect(new Date(entry.at).toISOString()).toBe(entry.at);
  });

  it('shows every change at once: a rename, a boot, a delete, a new instance in the list', async () => {
    const instance = await createInstance(h.genesis, { name: 'changing' });
    const get = async () => (await poll(h.genesis, `/instances/${instance.id}`)).body.instance;
    const total = async () => (await poll(h.genesis, '/instances?per_page=1')).body.total_count;
    expect((await get()).status).toBe('creating');
    expect((await get()).status).toBe('creating');
    const count = await total();
    expect(await total()).toBe(count);

    expect((await h.genesis.patch(`/instances/${instance.id}`, { name: 'renamed' })).status).toBe(200);
    expect((await get()).name).toBe('renamed');
    await h.advance(BOOT_MS);
    expect((await get()).status).toBe('active');
    await createInstance(h.genesis, { name: 'another' });
    expect(await total()).toBe(count + 1);
    expect((await h.genesis.delete(`/instances/${instance.id}`)).status).toBe(204);
    expect((await get()).status).toBe('deleting');
    await h.advance(60_000);
    expect((await poll(h.genesis, `/instances/${instance.id}`)).status).toBe(404);
  });

  it("never answers one tenant with another's answer", async () => {
    const mine = await activeInstance(h);
    expect((await poll(h.genesis, `/instances/${mine.id}`)).status).toBe(200);
    expect((await poll(h.genesis, `/instances/${mine.id}`)).status).toBe(200);
    const other = await h.newAccount('neighbour');
    expect((await poll(other.genesis, `/instances/${mine.id}`)).status).toBe(404);
    expect((await poll(other.genesis, '/instances')).body.instances).toEqual([]);
    expect((await poll(h.genesis, '/instances')).body.instances.length).toBeGreaterThan(0);
  });

  it('stops answering a token the moment it is revoked, or when it expires', async () => {
    await h.advance(60_000); // (nothing left to boot: no write may land when the clock moves)
    const tenant = await h.newAccount('short-lived');
    const expiring = 'expiring-token-0000000000000000000001';
    await h.hangar.kernel.db.transaction().execute((trx) =>
      h.hangar.kernel.tenancy.addCredential(trx, { accountId: tenant.accountId, cloud: 'genesis', kind: 'token', lookup: hashToken(expiring), expiresAt: T0 + 3_600_000 }),
    );
    const client = h.genesis.with({ authorization: `Bearer ${expiring}` });
    expect((await poll(client, '/instances')).status).toBe(200);
    expect((await poll(client, '/instances')).status).toBe(200);
    h.clock.advance(3_600_000 - (h.clock.now() - T0));
    expect((await poll(client, '/instances')).status).toBe(401);

    const instance = await createInstance(h.genesis);
    expect((await poll(h.genesis, `/instances/${instance.id}`)).status).toBe(200);
    expect((await poll(h.genesis, `/instances/${instance.id}`)).status).toBe(200);
    const credential = (await h.hangar.kernel.tenancy.credentials(h.demoAccountId)).find((c) => c.cloud === 'genesis');
    expect(await h.hangar.kernel.tenancy.revokeCredential(h.demoAccountId, credential!.id)).toBe(true);
    const res = await poll(h.genesis, `/instances/${instance.id}`);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('01204');
  });
});

// (that a rate limit still counts every GET is test/genesis/auth-and-limits.test.ts's to show:
// it polls GET /instances past the limit)
describe('Genesis: polled reads with faults, read-counting, or the cache turned off', () => {
  it('rolls the dice of a staged fault with a probability on every GET, replayable or not', async () => {
    // A fault that does not fire writes nothing, so nothing tells a kept answer it is stale:
    // while any fault is staged, every GET must reach the fault hook.
    const h = await startHangar();
    try {
      const instance = await createInstance(h.genesis);
      const fault = { cloud: 'genesis', method: 'GET', path: `${GENESIS}/instances/${instance.id}`, probability: 0.5, status: 503, code: '02036' };
      expect((await adminOf(h).post('/faults', fault)).status).toBe(201);
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await poll(h.genesis, `/instances/${instance.id}`)).status);
      expect(new Set(statuses)).toEqual(new Set([200, 503]));
      // (a 503 after a 200: the 200 was not replayed to every later request)
      expect(statuses.lastIndexOf(503)).toBeGreaterThan(statuses.indexOf(200));
    } finally {
      await h.close();
    }
  });

  it('lets a counted fault and the "reads" progression see every GET', async () => {
    const h = await startHangar();
    try {
      const admin = adminOf(h);
      const instance = await createInstance(h.genesis);
      expect((await poll(h.genesis, `/instances/${instance.id}`)).status).toBe(200);
      expect((await poll(h.genesis, `/instances/${instance.id}`)).status).toBe(200);
      const fault = { cloud: 'genesis', method: 'GET', path: `${GENESIS}/instances/${instance.id}`, count: 1, status: 503, code: '02036' };
      expect((await admin.post('/faults', fault)).status).toBe(201);
      expect((await poll(h.genesis, `/instances/${instance.id}`)).status).toBe(503);
      expect((await poll(h.genesis, `/instances/${instance.id}`)).status).toBe(200);

      expect((await admin.put('/lifecycle/genesis.instance', { mode: 'reads', reads: 3 })).status).toBe(200);
      const counted = await createInstance(h.genesis);
      const statuses: string[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await poll(h.genesis, `/instances/${counted.id}`)).body.instance.status);
      expect(statuses).toEqual(['creating', 'creating', 'active']);
    } finally {
      await h.close();
    }
  });

  it('computes every answer with HANGAR_READ_CACHE=0', async () => {
    const h = await startHangar({ env: { HANGAR_READ_CACHE: '0' } });
    try {
      const instance = await createInstance(h.genesis);
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await poll(h.genesis, `/instances/${instance.id}`));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(answers[1]).toEqual(answers[0]);
      expect(await replayed(h)).toBe(0);
    } finally {
      await h.close();
    }
  });
});

describe.runIf(sqlite)('Genesis: polled reads of a file store another process writes to', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hangar-read-cache-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows a change another process committed to the file, not the answer kept before it', async () => {
    const file = join(dir, 'hangar.db');
    const h = await startHangar({ env: { HANGAR_DATABASE_URL: `sqlite:${file}` } });
    try {
      const instance = await createInstance(h.genesis, { name: 'before' });
      const name = async () => (await poll(h.genesis, `/instances/${instance.id}`)).body.instance.name;
      expect(await name()).toBe('before');
      expect(await name()).toBe('before');
      const other = new Database(file);
      other.prepare('update genesis_instances set name = ? where id = ?').run('after', instance.id);
      other.close();
      expect(await name()).toBe('after');
    } finally {
      await h.close();
    }
  });

  it('refuses a token another process revoked, and an account another process suspended, at once', async () => {
    const file = join(dir, 'credentials.db');
    const h = await startHangar({ env: { HANGAR_DATABASE_URL: `sqlite:${file}` } });
    try {
      const token = 'second-token-00000000000000000000000001';
      await h.hangar.kernel.db.transaction().execute((trx) =>
        h.hangar.kernel.tenancy.addCredential(trx, { accountId: h.demoAccountId, cloud: 'genesis', kind: 'token', lookup: hashToken(token) }),
      );
      const other = h.genesis.with({ authorization: `Bearer ${token}` });
      expect((await poll(other, '/instances')).status).toBe(200);
      expect((await poll(h.genesis, '/instances')).status).toBe(200);

      const writer = new Database(file);
      writer.prepare('delete from credentials where lookup = ?').run(hashToken(token));
      expect((await poll(other, '/instances')).status).toBe(401);
      expect((await poll(h.genesis, '/instances')).status).toBe(200);

      writer.prepare('update accounts set standing = ? where id = ?').run('suspended', h.demoAccountId);
      writer.close();
      const refused = await poll(h.genesis, '/instances');
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('02040');
    } finally {
      await h.close();
    }
  });
});
