import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/kernel/tenancy/accounts.js';
import { Admin, adminOf } from '../helpers/admin.js';
import { activeInstance, BOOT_MS, createInstance } from '../helpers/genesis.js';
import { GENESIS, startHangar, T0, type TestHangar } from '../helpers/hangar.js';

const sqlite = process.env.HANGAR_TEST_ENGINE !== 'postgres';

/** A GET as a client's wait loop sends it: the status, the exact bytes and the content type. */
async function poll(h: TestHangar, path: string, token: string) {
  const res = await fetch(`${h.url}${GENESIS}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

async function replayed(h: TestHangar): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  return [...text.matchAll(/^hangar_http_replayed_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/**
 * Polled GETs (an instance, the instance list) are answered from memory while nothing in the
 * store changed (SQLite). What a client must never see: an answer older than the last change,
 * another tenant's answer, or an answer to a credential that no longer works.
 */
describe('Genesis: polled reads answered from memory', () => {
  let h: TestHangar;
  let admin: Admin;
  let token: string;
  beforeAll(async () => {
    h = await startHangar();
    admin = adminOf(h);
    token = String(h.hangar.demo.credentials.genesis!.token);
  });
  afterAll(() => h.close());

  it('answers a repeated GET with the same bytes, and counts it in the metrics and the journal', async () => {
    const instance = await createInstance(h.genesis, { name: 'polled' });
    const before = await replayed(h);
    const first = await poll(h, `/instances/${instance.id}`, token);
    const second = await poll(h, `/instances/${instance.id}`, token);
    const third = await poll(h, `/instances/${instance.id}`, token);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.text).instance).toMatchObject({ id: instance.id, name: 'polled', status: 'creating' });
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    if (sqlite) expect(await replayed(h)).toBe(before + 2);

    const journal = (await admin.get('/journal?limit=3')).body.requests;
    expect(journal.map((e: any) => [e.method, e.path, e.route, e.status, e.account, e.cloud])).toEqual(
      Array(3).fill(['GET', `${GENESIS}/instances/${instance.id}`, `${GENESIS}/instances/:instance_id`, 200, h.demoAccountId, 'genesis']),
    );
  });

  it('shows every change at once: a rename, a boot, a delete, a new instance in the list', async () => {
    const instance = await createInstance(h.genesis, { name: 'changing' });
    const get = async () => JSON.parse((await poll(h, `/instances/${instance.id}`, token)).text).instance;
    const total = async () => JSON.parse((await poll(h, '/instances?per_page=1', token)).text).total_count;
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
    expect((await poll(h, `/instances/${instance.id}`, token)).status).toBe(404);
  });

  it("never answers one tenant with another's answer", async () => {
    const mine = await activeInstance(h);
    expect((await poll(h, `/instances/${mine.id}`, token)).status).toBe(200);
    expect((await poll(h, `/instances/${mine.id}`, token)).status).toBe(200);
    const other = await h.newAccount('neighbour');
    expect((await poll(h, `/instances/${mine.id}`, other.token)).status).toBe(404);
    const theirs = JSON.parse((await poll(h, '/instances', other.token)).text);
    expect(theirs.instances).toEqual([]);
    expect(JSON.parse((await poll(h, '/instances', token)).text).instances.length).toBeGreaterThan(0);
  });

  it('stops answering a token the moment it is revoked, or when it expires', async () => {
    await h.advance(60_000); // (nothing left to boot: no write may land when the clock moves)
    const tenant = await h.newAccount('short-lived');
    const expiring = 'expiring-token-0000000000000000000001';
    await h.hangar.kernel.db.transaction().execute((trx) =>
      h.hangar.kernel.tenancy.addCredential(trx, { accountId: tenant.accountId, cloud: 'genesis', kind: 'token', lookup: hashToken(expiring), expiresAt: T0 + 3_600_000 }),
    );
    expect((await poll(h, '/instances', expiring)).status).toBe(200);
    expect((await poll(h, '/instances', expiring)).status).toBe(200);
    h.clock.advance(3_600_000 - (h.clock.now() - T0));
    expect((await poll(h, '/instances', expiring)).status).toBe(401);

    const instance = await createInstance(h.genesis);

    expect((await poll(h, `/instances/${instance.id}`, token)).status).toBe(200);
    expect((await poll(h, `/instances/${instance.id}`, token)).status).toBe(200);
    const credential = (await h.hangar.kernel.tenancy.credentials(h.demoAccountId)).find((c) => c.cloud === 'genesis');
    expect(await h.hangar.kernel.tenancy.revokeCredential(h.demoAccountId, credential!.id)).toBe(true);
    const res = await poll(h, `/instances/${instance.id}`, token);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text).code).toBe('01204');
  });
});

describe('Genesis: polled reads with faults, read-counting and a rate limit', () => {
  it('lets a staged fault and the "reads" progression see every GET', async () => {
    const h = await startHangar();
    try {
      const admin = adminOf(h);
      const token = String(h.hangar.demo.credentials.genesis!.token);
      const instance = await createInstance(h.genesis);
      expect((await poll(h, `/instances/${instance.id}`, token)).status).toBe(200);
      expect((await poll(h, `/instances/${instance.id}`, token)).status).toBe(200);
      const fault = { cloud: 'genesis', method: 'GET', path: `${GENESIS}/instances/${instance.id}`, count: 1, status: 503, code: '02036' };
      expect((await admin.post('/faults', fault)).status).toBe(201);
      expect((await poll(h, `/instances/${instance.id}`, token)).status).toBe(503);
      expect((await poll(h, `/instances/${instance.id}`, token)).status).toBe(200);

      const other = await createInstance(h.genesis);
      expect((await admin.put('/lifecycle/genesis.instance', { mode: 'reads', reads: 3 })).status).toBe(200);
      const third = await createInstance(h.genesis);
      const statuses: string[] = [];
      for (let i = 0; i < 3; i++) statuses.push(JSON.parse((await poll(h, `/instances/${third.id}`, token)).text).instance.status);
      expect(statuses).toEqual(['creating', 'creating', 'active']);
      expect(other.id).not.toBe(third.id);
    } finally {
      await h.close();
    }
  });

  it('computes every answer with HANGAR_READ_CACHE=0', async () => {
    const h = await startHangar({ env: { HANGAR_READ_CACHE: '0' } });
    try {
      const token = String(h.hangar.demo.credentials.genesis!.token);
      const instance = await createInstance(h.genesis);
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await poll(h, `/instances/${instance.id}`, token));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(answers[1]).toEqual(answers[0]);
      expect(await replayed(h)).toBe(0);
    } finally {
      await h.close();
    }
  });

  it('counts every GET against the rate limit', async () => {
    const h = await startHangar({ env: { HANGAR_RATE_LIMIT: '3' } });
    try {
      const token = String(h.hangar.demo.credentials.genesis!.token);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await poll(h, '/instances', token)).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
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

  it("shows a change another process committed to the file, not the answer kept before it", async () => {
    const file = join(dir, 'hangar.db');
    const h = await startHangar({ env: { HANGAR_DATABASE_URL: `sqlite:${file}` } });
    try {
      const token = String(h.hangar.demo.credentials.genesis!.token);
      const instance = await createInstance(h.genesis, { name: 'before' });
      expect(JSON.parse((await poll(h, `/instances/${instance.id}`, token)).text).instance.name).toBe('before');
      expect(JSON.parse((await poll(h, `/instances/${instance.id}`, token)).text).instance.name).toBe('before');
      const other = new Database(file);
      other.prepare('update genesis_instances set name = ? where id = ?').run('after', instance.id);
      other.close();
      expect(JSON.parse((await poll(h, `/instances/${instance.id}`, token)).text).instance.name).toBe('after');
    } finally {
      await h.close();
    }
  });
});
