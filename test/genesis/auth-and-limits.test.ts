import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { createKey, expectError } from '../helpers/genesis.js';
import type { ApiResponse } from '../helpers/http-client.js';

describe('Genesis authentication', () => {
  let h: TestHangar;
  let token: string;

  beforeAll(async () => {
    h = await startHangar();
    token = String(h.hangar.demo.credentials.genesis!.token);
    await createKey(h.genesis, 'marker');
  });
  afterAll(() => h.close());

  const sees = async (headers: Record<string, string>) => {
    const res = await h.anonymous.get('/ssh-keys', { headers });
    expect(res.status, res.text).toBe(200);
    expect(res.body.ssh_keys.map((k: any) => k.name)).toEqual(['marker']);
  };

  it('accepts "Authorization: Bearer <token>"', async () => {
    await sees({ authorization: `Bearer ${token}` });
  });

  it('accepts the scheme in any case ("bearer")', async () => {
    await sees({ authorization: `bearer ${token}` });
    await sees({ authorization: `BEARER ${token}` });
  });

  it('accepts the deprecated X-Auth-Token header', async () => {
    await sees({ 'x-auth-token': token });
  });

  it('answers 02014 when no credentials are sent', async () => {
    const res = await h.anonymous.get('/ssh-keys');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ code: '02014', message: expect.stringContaining('auth token not provided') });
    // An Authorization header without a bearer token is no credential either.
    expectError(await h.anonymous.get('/ssh-keys', { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }), 401, '02014');
    expectError(await h.anonymous.get('/ssh-keys', { headers: { authorization: 'Bearer' } }), 401, '02014');
  });

  it('answers 01204 "permission denied" for a token it does not know', async () => {
    const res = await h.anonymous.get('/ssh-keys', { headers: { authorization: `Bearer ${token}x` } });
    expectError(res, 401, '01204', 'permission denied');
    expectError(await h.anonymous.get('/ssh-keys', { headers: { 'x-auth-token': 'nope' } }), 401, '01204', 'permission denied');
  });

  it('makes no change for a request it refuses', async () => {
    expectError(await h.anonymous.post('/ssh-keys', { name: 'intruder', value: 'x' }), 401, '02014');
    expect((await h.genesis.get('/ssh-keys')).body.total_count).toBe(1);
  });

  it("binds each token to its own account", async () => {
    const account = await h.newAccount();
    const res = await h.anonymous.get('/ssh-keys', { headers: { authorization: `Bearer ${account.token}` } });
    expect(res.body).toEqual({ ssh_keys: [], total_count: 0, page: 1, per_page: 50 });
  });
});

describe('Genesis rate limit', () => {
  // A window far longer than the test: the count cannot restart between two requests on a slow machine.
  const window = { HANGAR_RATE_LIMIT_WINDOW: '10m' };

  it('answers the request over the limit with 429, Retry-After and a Genesis error body', async () => {
    const h = await startHangar({ env: { HANGAR_RATE_LIMIT: '3', ...window } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await h.genesis.get('/instances')).status);
      expect(statuses).toEqual([200, 200, 200]);
      // The limit is per token, across routes.
      const over = await h.genesis.get('/ssh-keys');
      expectError(over, 429, '02009', 'too many requests');
      expect(over.body.message).toContain('3 per 600 s');
      const retryAfter = Number(over.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(600);

      // A second token has its own allowance.
      const other = await h.newAccount();
      expect((await other.genesis.get('/instances')).status).toBe(200);

      // The OpenAPI document and unknown routes are not counted.
      expect((await h.anonymous.get('/openapi.json')).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it("counts per second by default, as the real cloud does", async () => {
    const h = await startHangar({ env: { HANGAR_RATE_LIMIT: '3' } });
    try {
      // However slow the machine, a loop of requests soon puts four into one second.
      let over: ApiResponse | undefined;
      for (let i = 0; i < 200 && !over; i++) {
        const res = await h.genesis.get('/instances');
        if (res.status !== 200) over = res;
      }
      expectError(over!, 429, '02009', 'too many requests');
      expect(over!.body.message).toContain('3 per second');
      expect(over!.headers.get('retry-after')).toBe('1');
    } finally {
      await h.close();
    }
  });

  it('counts a refused request against nobody else', async () => {
    const h = await startHangar({ env: { HANGAR_RATE_LIMIT: '2', ...window } });
    try {
      const other = await h.newAccount();
      expect((await h.genesis.get('/instances')).status).toBe(200);
      expect((await h.genesis.get('/instances')).status).toBe(200);
      expect((await h.genesis.get('/instances')).status).toBe(429);
      expect((await other.genesis.get('/instances')).status).toBe(200);
      expect((await other.genesis.get('/instances')).status).toBe(200);
      expect((await other.genesis.get('/instances')).status).toBe(429);
    } finally {
      await h.close();
    }
  });

  it('counts one token once, however its header is spelled', async () => {
    const h = await startHangar({ env: { HANGAR_RATE_LIMIT: '3', ...window } });
    try {
      const token = String(h.hangar.demo.credentials.genesis!.token);
      const spellings: Record<string, string>[] = [{ authorization: `Bearer ${token}` }, { authorization: `bearer  ${token}` }, { 'x-auth-token': token }, { authorization: `BEARER ${token}` }];
      const statuses: number[] = [];
      for (const headers of spellings) statuses.push((await h.anonymous.get('/instances', { headers })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      await h.close();
    }
  });

  it('has no limit with HANGAR_RATE_LIMIT=0', async () => {
    const h = await startHangar({ env: { HANGAR_RATE_LIMIT: '0' } });
    try {
      const statuses = await Promise.all(Array.from({ length: 40 }, () => h.genesis.get('/instances').then((r) => r.status)));
      expect(new Set(statuses)).toEqual(new Set([200]));
    } finally {
      await h.close();
    }
  });
});
