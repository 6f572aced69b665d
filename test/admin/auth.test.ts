import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOf } from '../helpers/admin.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';

/** Who may use the admin API: the bearer of HANGAR_ADMIN_TOKEN when it is set, else loopback callers only. */
describe('admin API access with HANGAR_ADMIN_TOKEN set', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar({ env: { HANGAR_ADMIN_TOKEN: 'sekrit' } });
  });
  afterAll(() => h.close());

  it('answers 401 without the bearer token or with a wrong one, and serves the right one', async () => {
    for (const admin of [adminOf(h), adminOf(h, 'wrong'), adminOf(h, 'sekrit-but-longer'), adminOf(h, '')]) {
      for (const [method, path] of [
        ['GET', '/clock'],
        ['GET', '/accounts'],
        ['POST', '/reset'],
        ['GET', '/no-such-route'],
      ] as const) {
        const res = await admin.request(method, path);
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.body).toEqual({ code: 'unauthorized', message: expect.stringContaining('HANGAR_ADMIN_TOKEN') });
      }
    }
    // The token in another header form is not the token.
    const other = await adminOf(h).request('GET', '/clock', undefined, { headers: { authorization: 'sekrit' } });
    expect(other.status).toBe(401);
    // Nothing was reset by the refused calls: the demo account is the one the hangar started with.
    expect((await h.genesis.get('/instances')).status).toBe(200);

    const admin = adminOf(h, 'sekrit');
    expect((await admin.get('/clock')).status).toBe(200);
    expect((await admin.get('/accounts')).body.accounts.map((a: any) => a.id)).toEqual([h.demoAccountId]);
    expect((await admin.get('/no-such-route')).status).toBe(404);
  });

  it('lets a caller from another address in with the token (the token replaces the loopback rule)', async () => {
    const withToken = await h.hangar.app.inject({ method: 'GET', url: '/admin/v1/clock', remoteAddress: '203.0.113.7', headers: { authorization: 'Bearer sekrit' } });
    expect(withToken.statusCode).toBe(200);
    const without = await h.hangar.app.inject({ method: 'GET', url: '/admin/v1/clock', remoteAddress: '203.0.113.7' });
    expect(without.statusCode).toBe(401);
  });

  it('leaves the cloud APIs to their own credentials', async () => {
    expect((await h.genesis.get('/instances')).status).toBe(200);
    const adminTokenAsGenesis = await h.genesis.with({ authorization: 'Bearer sekrit' }).get('/instances');
    expect(adminTokenAsGenesis.status).toBe(401);
  });
});

describe('admin API access without HANGAR_ADMIN_TOKEN', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar();
  });
  afterAll(() => h.close());

  it('serves loopback callers without a token (these tests call over 127.0.0.1)', async () => {
    const res = await adminOf(h).get('/clock');
    expect(res.status).toBe(200);
    // A token sent anyway is simply not needed.
    expect((await adminOf(h, 'anything').get('/clock')).status).toBe(200);
    for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      const injected = await h.hangar.app.inject({ method: 'GET', url: '/admin/v1/clock', remoteAddress });
      expect(injected.statusCode, remoteAddress).toBe(200);
    }
  });

  it('refuses callers from any other address with 403, saying how to open it up', async () => {
    for (const remoteAddress of ['10.0.0.5', '192.168.1.20', '::ffff:10.0.0.5', '2001:db8::1', '127.0.0.2']) {
      for (const [method, url] of [
        ['GET', '/admin/v1/clock'],
        ['POST', '/admin/v1/reset'],
        ['GET', '/admin/v1/state'],
      ] as const) {
        const res = await h.hangar.app.inject({ method, url, remoteAddress, headers: { authorization: 'Bearer guess' } });
        expect(res.statusCode, `${remoteAddress} ${method} ${url}`).toBe(403);
        expect(res.json()).toEqual({ code: 'forbidden', message: expect.stringContaining('HANGAR_ADMIN_TOKEN') });
      }
    }
    // The refused reset did nothing.
    expect((await h.genesis.get('/instances')).status).toBe(200);
    // The cloud APIs are not limited to loopback.
    const token = String(h.hangar.demo.credentials.genesis!.token);
    const remote = await h.hangar.app.inject({ method: 'GET', url: '/compute/v1/instances', remoteAddress: '10.0.0.5', headers: { authorization: `Bearer ${token}` } });
    expect(remote.statusCode).toBe(200);
  });
});
