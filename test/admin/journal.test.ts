import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOf, hangarPerSuite } from '../helpers/admin.js';
import { createKey, GPU_TYPE, REGION } from '../helpers/genesis.js';
import { startHangar, T0, type TestHangar } from '../helpers/hangar.js';
import { Journal } from '../../src/http/journal.js';

const PASSWORD = 'a-long-enough-passphrase-1';

/** The request journal: the last N cloud API requests, and the body fields nobody read. */
describe('admin API: request journal', () => {
  const { h, admin } = hangarPerSuite();

  it('lists the last N requests, newest first, with cloud, method, path, account, status and latency', async () => {
    const tenant = await h.newAccount('journaled');
    expect((await h.genesis.get('/instances?per_page=5')).status).toBe(200);
    const key = await createKey(tenant.genesis, 'k');
    expect((await tenant.genesis.get(`/ssh-keys/${key.id}`)).status).toBe(200);
    expect((await h.genesis.get('/instances/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await h.anonymous.get('/instances')).status).toBe(401);
    await admin.get('/clock'); // the admin API is not journaled

    const res = await admin.get('/journal?limit=5');
    expect(res.status).toBe(200);
    const entries = res.body.requests;
    expect(entries).toHaveLength(5);
    expect(entries.map((e: any) => [e.method, e.path, e.status, e.account])).toEqual([
      ['GET', '/compute/v1/instances', 401, null],
      ['GET', '/compute/v1/instances/00000000-0000-4000-8000-000000000000', 404, h.demoAccountId],
      ['GET', `/compute/v1/ssh-keys/${key.id}`, 200, tenant.accountId],
      ['POST', '/compute/v1/ssh-keys', 201, tenant.accountId],
      ['GET', '/compute/v1/instances?per_page=5', 200, h.demoAccountId],
    ]);
    for (const entry of entries) {
      expect(Object.keys(entry).sort()).toEqual(['account', 'at', 'cloud', 'id', 'ignored_fields', 'latency_ms', 'method', 'path', 'route', 'status']);
      expect(entry.cloud).toBe('genesis');
      expect(entry.at).toBe(new Date(T0).toISOString()); // the Hangar clock, frozen here
      expect(entry.latency_ms).toEqual(expect.any(Number));
      expect(entry.latency_ms).toBeGreaterThanOrEqual(0);
      expect(entry.ignored_fields).toEqual([]);
    }
    expect(entries[2].route).toBe('/compute/v1/ssh-keys/:ssh_key_id');

    // limit picks the newest; the default is a hundred; bad limits are refused.
    expect((await admin.get('/journal?limit=1')).body.requests).toEqual([entries[0]]);
    expect((await admin.get('/journal')).body.requests.length).toBeGreaterThanOrEqual(5);
    for (const limit of ['0', '-1', 'many']) expect((await admin.get(`/journal?limit=${limit}`)).status).toBe(400);
  });

  it('names the body fields the route does not read, nested ones by their path', async () => {
    const res = await h.genesis.post('/instances', {
      name: 'painted',
      hostname: 'painted',
      type: GPU_TYPE,
      region: REGION,
      image: 'ubuntu-22.04',
      password: PASSWORD,
      colour: 'red',
      metadata: { startup_script: '#!/bin/sh\n', unknown: 1, user_data: [{ type: 'text/x-shellscript', content: 'echo', mode: '0755' }] },
    });
    expect(res.status, res.text).toBe(201); // accepted: unknown fields are ignored, as the real API does
    const [entry] = (await admin.get('/journal?limit=1')).body.requests;
    expect(entry).toMatchObject({ method: 'POST', path: '/compute/v1/instances', status: 201, account: h.demoAccountId });
    expect(entry.ignored_fields).toEqual(['colour', 'metadata.unknown', 'metadata.user_data.0.mode']);

    // A request refused for its body still shows what it sent that nobody would read.
    const refused = await h.genesis.post('/ssh-keys', { name: 'k', comment: 'extra' });
    expect(refused.status).toBe(400);
    expect((await admin.get('/journal?limit=1')).body.requests[0]).toMatchObject({ status: 400, ignored_fields: ['comment'] });
  });

  it('keeps each request and its answer, with credentials and secret fields redacted', async () => {
    const created = await h.genesis.post('/instances', { name: 'kept', hostname: 'kept', type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', password: PASSWORD });
    expect(created.status, created.text).toBe(201);
    const [entry] = (await admin.get('/journal?limit=1')).body.requests;
    const res = await admin.get(`/journal/${entry.id}`);
    expect(res.status).toBe(200);
    const detail = res.body;
    expect(detail).toMatchObject({ id: entry.id, method: 'POST', path: '/compute/v1/instances', status: 201 });
    expect(detail.request.headers.authorization).toBe('Bearer [redacted]');
    expect(detail.request.headers['content-type']).toMatch(/application\/json/);
    const sent = JSON.parse(detail.request.body.text);
    expect(sent).toMatchObject({ name: 'kept', type: GPU_TYPE, password: '[redacted]' });
    expect(detail.request.body).toMatchObject({ truncated: false, content_type: expect.stringMatching(/json/) });
    expect(JSON.parse(detail.response.body.text)).toEqual(created.body);
    // Neither the token nor the password is kept anywhere in the entry.
    const text = JSON.stringify(detail);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(String(h.hangar.demo.credentials.genesis?.token));

    // A read answered from memory (replayed) shows its answer too.
    const id = created.body.instance.id;
    const replays = async () => {
      const text = await (await fetch(`${h.url}/metrics`)).text();
      return [...text.matchAll(/^hangar_http_replayed_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const before = await replays();
    const reads = [await h.genesis.get(`/instances/${id}`), await h.genesis.get(`/instances/${id}`)];
    // (on SQLite the second is a replay; PostgreSQL computes every answer)
    if (h.hangar.kernel.store.engine === 'sqlite') expect(await replays()).toBe(before + 1);
    const [second, first] = (await admin.get('/journal?limit=2')).body.requests;
    for (const [i, e] of [first, second].entries()) {
      const detail = (await admin.get(`/journal/${e.id}`)).body;
      expect(detail.request.headers.authorization).toBe('Bearer [redacted]');
      const answer = detail.response.body;
      expect(JSON.parse(answer.text)).toEqual(reads[i]!.body);
      expect(answer.bytes).toBe(Buffer.byteLength(reads[i]!.text));
    }
  });

  it('cuts a large body at 16 KiB and says how large it was', async () => {
    const big = 'ssh-ed25519 ' + 'A'.repeat(40_000);
    expect((await h.genesis.post('/ssh-keys', { name: 'big', value: big })).status).toBe(400);
    const [entry] = (await admin.get('/journal?limit=1')).body.requests;
    const body = (await admin.get(`/journal/${entry.id}`)).body.request.body;
    expect(body.truncated).toBe(true);
    expect(body.text.length).toBe(16 * 1024);
    expect(body.bytes).toBeGreaterThan(40_000);
    // A secret cut by the limit is still redacted up to the cut.
    const secret = 'x'.repeat(40_000);
    await h.genesis.post('/ssh-keys', { name: 'k2', password: secret });
    const [last] = (await admin.get('/journal?limit=1')).body.requests;
    const kept = (await admin.get(`/journal/${last.id}`)).body.request.body;
    expect(kept.text).not.toContain('xxxx');
    expect(kept.text).toContain('"password":"[redacted]"');
  });

  it('cuts a large answer at 16 KiB, on a whole character, and says how large it was', async () => {
    const tenant = await h.newAccount('large-answers');
    // Keys named in two-byte characters: their list is some 40 KB.
    for (let i = 0; i < 50; i++) await createKey(tenant.genesis, `ключ-${i}-${'ж'.repeat(200)}`);
    const listed = await tenant.genesis.get('/ssh-keys?per_page=50');
    expect(listed.status).toBe(200);
    const [read] = (await admin.get(`/journal?account=${tenant.accountId}&limit=1`)).body.requests;
    expect(read.path).toBe('/compute/v1/ssh-keys?per_page=50');
    const answer = (await admin.get(`/journal/${read.id}`)).body.response.body;
    const bytes = Buffer.byteLength(listed.text);
    expect(bytes).toBeGreaterThan(32 * 1024);
    expect(answer).toMatchObject({ truncated: true, bytes, content_type: expect.stringMatching(/json/) });
    // (the cut falls where the next two-byte character would not fit whole: 16 KiB or one byte less)
    expect([16 * 1024 - 1, 16 * 1024]).toContain(Buffer.byteLength(answer.text));
    expect(listed.text.startsWith(answer.text)).toBe(true);
  });

  it('filters by cloud, account, method, status or status class, and path', async () => {
    const tenant = await h.newAccount('filtered');
    await tenant.genesis.get('/instances');
    await tenant.genesis.get('/instances/00000000-0000-4000-8000-000000000000');
    await h.genesis.get('/ssh-keys');
    const mine = (await admin.get(`/journal?account=${tenant.accountId}`)).body.requests;
    expect(mine.map((e: any) => e.status)).toEqual([404, 200]);
    expect((await admin.get(`/journal?account=${tenant.accountId}&status=4xx`)).body.requests).toHaveLength(1);
    expect((await admin.get(`/journal?account=${tenant.accountId}&status=200`)).body.requests).toHaveLength(1);
    expect((await admin.get('/journal?q=ssh-keys&method=get&limit=1')).body.requests[0].path).toBe('/compute/v1/ssh-keys');
    expect((await admin.get('/journal?cloud=crusoe')).body.requests).toEqual([]);
    expect((await admin.get('/journal?status=teapot')).status).toBe(400);
    expect((await admin.get('/journal/999999')).status).toBe(404);
    expect((await admin.get('/journal/abc')).status).toBe(400);
  });
});

describe('admin API: request journal size (HANGAR_JOURNAL_SIZE)', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar({ env: { HANGAR_JOURNAL_SIZE: '3' } });
  });
  afterAll(() => h.close());

  it('keeps only the last N requests', async () => {
    for (let page = 1; page <= 5; page++) expect((await h.genesis.get(`/instances?page=${page}`)).status).toBe(200);
    const entries = (await adminOf(h).get('/journal?limit=10')).body.requests;
    expect(entries.map((e: any) => e.path)).toEqual(['/compute/v1/instances?page=5', '/compute/v1/instances?page=4', '/compute/v1/instances?page=3']);
  });
});

describe('request journal ring: each entry keeps its own answer', () => {
  const record = (journal: Journal, path: string, responseBody: string | Buffer) =>
    journal.record({ at: T0, cloud: 'genesis', method: 'GET', path, route: null, account: null, status: 200, latency_ms: 1, ignored_fields: [], exchange: { responseBody, responseType: 'application/json' } });
  const answerOf = (journal: Journal, path: string) => journal.get(journal.list(10, { q: path })[0]!.id)!.response.body;

  it('as the ring wraps, an answer written where a longer one was shows only itself, and a cut one only its first 16 KiB', () => {
    const journal = new Journal(2);
    const long = `[${'"x",'.repeat(10_000)}"x"]`; // 40 KB
    const cut = { truncated: true, bytes: long.length, text: long.slice(0, 16 * 1024) };
    const replayed = Buffer.from('{"replayed":true}');
    record(journal, '/a', long);
    record(journal, '/b', '{"b":1}');
    record(journal, '/c', '{"c":2}'); // where /a was
    record(journal, '/d', replayed); // where /b was
    expect(journal.list().map((e) => e.path)).toEqual(['/d', '/c']);
    expect(answerOf(journal, '/c')).toEqual({ content_type: 'application/json', text: '{"c":2}', truncated: false, bytes: 7 });
    expect(answerOf(journal, '/d')).toMatchObject({ text: '{"replayed":true}', truncated: false });
    record(journal, '/e', long); // where /c was
    expect(answerOf(journal, '/e')).toMatchObject(cut);
    record(journal, '/f', '{"f":3}'); // where /d was: a replayed answer is never written into
    expect(replayed.toString()).toBe('{"replayed":true}');
    expect(answerOf(journal, '/f')).toMatchObject({ text: '{"f":3}', bytes: 7 });
    record(journal, '/g', Buffer.from(long)); // where /e was (a replayed answer, cut)
    expect(answerOf(journal, '/g')).toMatchObject(cut);
    record(journal, '/h', '[]'); // where /f was
    expect(answerOf(journal, '/h')).toMatchObject({ text: '[]', truncated: false, bytes: 2 });
    expect(answerOf(journal, '/g')).toMatchObject(cut);
  });
});
