import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Admin, adminOf, availability } from '../helpers/admin.js';
import { BOOT_MS, createInstance, createKey, expectError, GPU_TYPE, instanceStatus, REGION } from '../helpers/genesis.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';

const PASSWORD = 'a-long-enough-passphrase-1';
const createBody = (name = 'faulty') => ({ name, hostname: name, type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', password: PASSWORD });

/** Faults staged through the admin API, seen by a Genesis client in Genesis's own error format. */
describe('admin API: faults', () => {
  let h: TestHangar;
  let admin: Admin;
  beforeAll(async () => {
    h = await startHangar();
    admin = adminOf(h);
  });
  afterEach(async () => {
    expect((await admin.delete('/faults')).status).toBe(204);
  });
  afterAll(() => h.close());

  const fired = async (id: string) => (await admin.get('/faults')).body.faults.find((f: any) => f.id === id)?.fired;

  it('fails the next two creates with 503 and the Genesis body carrying 02036, then lets the third through', async () => {
    const rule = { cloud: 'genesis', method: 'POST', path: '/compute/v1/instances', count: 2, status: 503, code: '02036' };
    const added = await admin.post('/faults', rule);
    expect(added.status, added.text).toBe(201);
    expect(added.body).toEqual({ ...rule, id: expect.any(String), fired: 0 });
    const stock = await availability(h.genesis, REGION);

    for (let i = 1; i <= 2; i++) {
      const res = await h.genesis.post('/instances', createBody());
      expectError(res, 503, '02036');
      expect(await fired(added.body.id)).toBe(i);
    }
    // A call the rule does not match (another method on the same path) is left alone and not counted.
    expect((await h.genesis.get('/instances')).body.total_count).toBe(0);
    expect(await fired(added.body.id)).toBe(2);
    // Nothing was created or taken by the failed calls.
    expect(await availability(h.genesis, REGION)).toEqual(stock);

    const third = await h.genesis.post('/instances', createBody());
    expect(third.status, third.text).toBe(201);

    const list = await admin.get('/faults');
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ faults: [{ ...rule, id: added.body.id, fired: 2 }] });
    // The journal saw the failures as the client did.
    const journal = (await admin.get('/journal?limit=4')).body.requests;
    expect(journal.map((r: any) => `${r.method} ${r.status}`)).toEqual(['POST 201', 'GET 200', 'GET 200', 'POST 503']);
    expect((await admin.get('/journal?limit=20')).body.requests.filter((r: any) => r.status === 503)).toHaveLength(2);
  });

  it('sends a fitting Genesis code and a message when the rule names only a status', async () => {
    const added = await admin.post('/faults', { path: '/compute/v1/ssh-keys', method: 'get', status: 500, message: 'the disks are on fire', count: 1 });
    expect(added.status).toBe(201);
    const res = await h.genesis.get('/ssh-keys');
    expectError(res, 500, '02000', 'the disks are on fire');
    expect((await h.genesis.get('/ssh-keys')).status).toBe(200);

    await admin.post('/faults', { path: '/compute/v1/ssh-keys', status: 429, count: 1 });
    expectError(await h.genesis.get('/ssh-keys'), 429, '02009', 'injected fault');
  });

  it('matches path patterns: * and {id} stand for one segment, ** for the rest', async () => {
    const key = await createKey(h.genesis);
    const instance = await createInstance(h.genesis, { ssh_keys: [key.id] });

    const one = (await admin.post('/faults', { method: 'GET', path: '/compute/v1/instances/{id}', status: 500, code: '02000' })).body;
    expectError(await h.genesis.get(`/instances/${instance.id}`), 500, '02000');
    expect((await h.genesis.get('/instances')).status).toBe(200); // no id segment
    expect((await h.genesis.get(`/instances/${instance.id}/actions`)).status).toBe(200); // one segment too many
    expect(await fired(one.id)).toBe(1);
    await admin.delete(`/faults/${one.id}`);

    const star = (await admin.post('/faults', { method: 'GET', path: '/compute/v1/*/{id}/actions', status: 403 })).body;
    expectError(await h.genesis.get(`/instances/${instance.id}/actions`), 403, '02043');
    expect((await h.genesis.get(`/instances/${instance.id}`)).status).toBe(200);
    await admin.delete(`/faults/${star.id}`);

    const rest = (await admin.post('/faults', { cloud: 'genesis', path: '/compute/v1/ssh-keys/**', status: 500 })).body;
    expectError(await h.genesis.get(`/ssh-keys/${key.id}`), 500, '02000');
    expectError(await h.genesis.get('/ssh-keys/whatever/else'), 500, '02000');
    expect((await h.genesis.get(`/instances/${instance.id}`)).status).toBe(200);
    expect(await fired(rest.id)).toBe(2);

    // A rule for another cloud on a Genesis path could never fire: it is refused.
    await admin.delete(`/faults/${rest.id}`);
    expect((await admin.post('/faults', { cloud: 'crusoe', path: '/compute/v1/ssh-keys', status: 500 })).status).toBe(400);
    expect((await h.genesis.get('/ssh-keys')).status).toBe(200);
  });

  it('scopes a rule to one account', async () => {
    const tenant = await h.newAccount('scoped');
    const rule = (await admin.post('/faults', { account: tenant.accountId, status: 503, code: '02036' })).body;
    expectError(await tenant.genesis.get('/instances'), 503, '02036');
    expectError(await tenant.genesis.get('/ssh-keys'), 503, '02036');
    expect((await h.genesis.get('/instances')).status).toBe(200);
    expect((await h.genesis.get('/ssh-keys')).status).toBe(200);
    expect(await fired(rule.id)).toBe(2);
  });

  it('never fires with probability 0, always with probability 1', async () => {
    const never = (await admin.post('/faults', { path: '/compute/v1/instances', method: 'GET', probability: 0, status: 500 })).body;
    for (let i = 0; i < 20; i++) expect((await h.genesis.get('/instances')).status).toBe(200);
    expect(await fired(never.id)).toBe(0);

    const always = (await admin.post('/faults', { path: '/compute/v1/images', probability: 1, status: 500, count: 3 })).body;
    for (let i = 0; i < 3; i++) expectError(await h.genesis.get('/images'), 500, '02000');
    expect((await h.genesis.get('/images')).status).toBe(200);
    expect(await fired(always.id)).toBe(3);
  });

  it('adds latency to a call that then succeeds', async () => {
    const slow = (await admin.post('/faults', { path: '/compute/v1/instances', method: 'GET', latency_ms: 30, count: 1 })).body;
    expect(slow).toMatchObject({ latency_ms: 30, count: 1, fired: 0 });
    const res = await h.genesis.get('/instances');
    expect(res.status).toBe(200);
    expect(await fired(slow.id)).toBe(1);
    // Latency and a failure together: slowed down, then failed.
    const both = (await admin.post('/faults', { path: '/compute/v1/instances', method: 'GET', latency_ms: 10, status: 502, count: 1 })).body;
    expectError(await h.genesis.get('/instances'), 502, '02000');
    expect(await fired(both.id)).toBe(1);
  });

  it('makes the next instance boot end in "error" and the following one active', async () => {
    await h.advance(60_000); // boots still pending from earlier tests would take the fault first
    const rule = await admin.post('/faults', { kind: 'genesis.instance', transition: 'boot', count: 1 });
    expect(rule.status, rule.text).toBe(201);
    expect(rule.body).toEqual({ kind: 'genesis.instance', transition: 'boot', count: 1, id: expect.any(String), fired: 0 });

    // The create itself succeeds: only the boot fails.
    const first = await h.genesis.post('/instances', createBody('doomed'));
    expect(first.status).toBe(201);
    await h.advance(BOOT_MS);
    const failed = (await h.genesis.get(`/instances/${first.body.instance.id}`)).body.instance;
    expect(failed.status).toBe('error');
    expect((await h.genesis.get(`/instances/${failed.id}/actions`)).body).toEqual({ actions: ['reset'] });
    expect(await fired(rule.body.id)).toBe(1);

    const second = await h.genesis.post('/instances', createBody('lucky'));
    await h.advance(BOOT_MS);
    expect(await instanceStatus(h.genesis, second.body.instance.id)).toBe('active');
    expect(await fired(rule.body.id)).toBe(1);

    // An instance in error can still be destroyed, and gives its stock back.
    expect((await h.genesis.delete(`/instances/${failed.id}`)).status).toBe(204);
    await h.advance(60_000);
    expect((await h.genesis.get(`/instances/${failed.id}`)).status).toBe(404);
  });

  it('names the boot by its machine action as well ({kind: "genesis.instance", transition: "create"})', async () => {
    await h.advance(60_000);
    const rule = await admin.post('/faults', { kind: 'genesis.instance', transition: 'create', count: 1 });
    expect(rule.status, rule.text).toBe(201);
    const first = await h.genesis.post('/instances', createBody('doomed-too'));
    expect(first.status).toBe(201);
    await h.advance(BOOT_MS);
    expect(await instanceStatus(h.genesis, first.body.instance.id)).toBe('error');
    expect(await fired(rule.body.id)).toBe(1);
    expect((await h.genesis.delete(`/instances/${first.body.instance.id}`)).status).toBe(204);
    await h.advance(60_000);
  });

  it('removes one rule, then all of them', async () => {
    const a = (await admin.post('/faults', { path: '/compute/v1/instances', method: 'GET', status: 500 })).body;
    const b = (await admin.post('/faults', { path: '/compute/v1/ssh-keys', method: 'GET', status: 500 })).body;
    expectError(await h.genesis.get('/instances'), 500, '02000');

    const removed = await admin.delete(`/faults/${a.id}`);
    expect(removed.status).toBe(204);
    expect(removed.text).toBe('');
    expect((await admin.get('/faults')).body.faults.map((f: any) => f.id)).toEqual([b.id]);
    expect((await h.genesis.get('/instances')).status).toBe(200);
    expectError(await h.genesis.get('/ssh-keys'), 500, '02000');

    const again = await admin.delete(`/faults/${a.id}`);
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ code: 'not_found', message: expect.stringContaining(a.id) });

    expect((await admin.delete('/faults')).status).toBe(204);
    expect((await admin.get('/faults')).body).toEqual({ faults: [] });
    expect((await h.genesis.get('/ssh-keys')).status).toBe(200);
  });

  it('refuses invalid rules with 400 and adds nothing', async () => {
    const invalid: unknown[] = [
      {},
      { path: '/compute/v1/instances' }, // neither status, latency nor kind
      { status: 200 },
      { status: 600 },
      { status: '503' },
      { status: 503, count: 0 },
      { status: 503, count: 1.5 },
      { status: 503, probability: 1.5 },
      { status: 503, probability: -0.1 },
      { latency_ms: -1 },
      { status: 503, colour: 'red' },
      { kind: 'genesis.spaceship' },
      { kind: 'genesis.instance', transition: 'warp' },
      { kind: 'genesis.instance', transition: 'stop' }, // a stop cannot fail: the rule would never fire
      [{ status: 503 }],
      'status=503',
    ];
    for (const body of invalid) {
      const res = await admin.post('/faults', body);
      expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(400);
      expect(res.body).toEqual({ code: 'invalid_request', message: expect.any(String) });
    }
    const malformed = await admin.request('POST', '/faults', undefined, { raw: '{"status": 503', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect((await admin.get('/faults')).body).toEqual({ faults: [] });
  });

  it('refuses rules that could never fire, naming what is wrong, and adds nothing', async () => {
    const never: [unknown, RegExp][] = [
      [{ cloud: 'nope', status: 503 }, /"cloud" must be one of: genesis, crusoe \(got "nope"\)/],
      [{ cloud: 'genesis', path: '/v1alpha5/locations', status: 503 }, /"path" must be under the prefix of the API it watches: \/compute\/v1 \(genesis\)/],
      [{ cloud: 'crusoe', path: '/compute/v1/instances', status: 503 }, /\/v1alpha5 \(crusoe\)/],
      [{ path: '/instances', status: 503 }, /"path" must be under a prefix of the API it watches: \/compute\/v1 \(genesis\), \/v1alpha5 \(crusoe\)/],
      [{ path: '/compute', status: 503 }, /"path" must be under/],
      [{ method: 'FETCH', status: 503 }, /"method" must be an HTTP method/],
      [{ transition: 'boot', status: 503 }, /"transition" needs "kind"/],
      [{ kind: 'genesis.spaceship' }, /no lifecycle kind "genesis.spaceship"/],
      [{ kind: 'genesis.instance', transition: 'warp' }, /no lifecycle transition genesis.instance.warp/],
      [{ kind: 'genesis.instance', transition: 'boot', status: 503 }, /leave out "status"/],
      [{ kind: 'genesis.instance', cloud: 'crusoe' }, /not one of cloud "crusoe"/],
    ];
    for (const [body, message] of never) {
      const res = await admin.post('/faults', body);
      expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(400);
      expect(res.body, JSON.stringify(body)).toEqual({ code: 'invalid_request', message: expect.stringMatching(message) });
    }
    expect((await admin.get('/faults')).body).toEqual({ faults: [] });
    // Wildcards may stand for the prefix: these can fire.
    for (const path of ['/**', '/*/v1/instances', '/compute/v1/**']) {
      expect((await admin.post('/faults', { cloud: 'genesis', path, latency_ms: 1 })).status, path).toBe(201);
    }
    expect((await admin.delete('/faults')).status).toBe(204);
  });
});
