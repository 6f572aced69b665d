import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, adminOf } from '../helpers/admin.js';
import { createKey, GPU_TYPE, REGION } from '../helpers/genesis.js';
import { startHangar, T0, type TestHangar } from '../helpers/hangar.js';

const PASSWORD = 'a-long-enough-passphrase-1';

/** The request journal: the last N cloud API requests, and the body fields nobody read. */
describe('admin API: request journal', () => {
  let h: TestHangar;
  let admin: Admin;
  beforeAll(async () => {
    h = await startHangar();
    admin = adminOf(h);
  });
  afterAll(() => h.close());

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
      expect(Object.keys(entry).sort()).toEqual(['account', 'at', 'cloud', 'ignored_fields', 'latency_ms', 'method', 'path', 'route', 'status']);
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
