import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, expectCrusoeError, type CrusoeClient } from '../helpers/crusoe.js';
import { createKey, expectError, REGION } from '../helpers/genesis.js';

/**
 * Every answer under a cloud's prefix is in that cloud's error body, even when no route was
 * found (a URL that does not decode, a path segment too long, a path normalised out of the
 * prefix) or the request never reached the cloud's own checks; everything else answers in
 * Hangar's own `{code, message}`.
 */
describe('error bodies by prefix', () => {
  let h: TestHangar;
  let crusoe: CrusoeClient;
  let token: string;
  beforeAll(async () => {
    h = await startHangar();
    crusoe = crusoeClient(h);
    token = String(h.hangar.demo.credentials.genesis!.token);
  });
  afterAll(() => h.close());

  /** A request sent with its path exactly as written (fetch would normalise `%2e%2e` and friends). */
  function raw(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const url = new URL(h.url);
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end();
    });
  }
  const genesisError = (body: any, code: string) => expect(body).toEqual({ code, message: expect.any(String) });
  const crusoeError = (body: any, status: number, reason: string) =>
    expect(body).toEqual({ code: String(status), reason, message: expect.any(String), error_id: expect.any(String) });

  it('answers a URL that does not decode in the body of the cloud it is under, before any auth', async () => {
    const genesis = await raw('/compute/v1/instances/%ff%fe', { authorization: `Bearer ${token}` });
    expect(genesis.status).toBe(400);
    genesisError(genesis.body, '02002');
    const anonymous = await raw('/compute/v1/instances/%ff%fe');
    expect(anonymous.status).toBe(400);
    genesisError(anonymous.body, '02002');
    const unsigned = await raw(`/v1alpha5/projects/%ff/compute/vms/instances`);
    expect(unsigned.status).toBe(400);
    crusoeError(unsigned.body, 400, 'bad_request');
    expect(await raw('/%ff')).toEqual({ status: 400, body: { code: 'malformed_request', message: expect.stringContaining('percent-encoded') } });
  });

  it('answers a path segment over 100 characters with 414 in the cloud body', async () => {
    const long = 'a'.repeat(150);
    const genesis = await raw(`/compute/v1/instances/${long}`, { authorization: `Bearer ${token}` });
    expect(genesis.status).toBe(414);
    genesisError(genesis.body, '02002');
    const unsigned = await raw(`/v1alpha5/projects/${long}/compute/vms/instances`);
    expect(unsigned.status).toBe(414);
    crusoeError(unsigned.body, 414, 'bad_request');
  });

  it('answers paths that normalise out of the prefix in the body of the cloud whose prefix they started with', async () => {
    for (const path of ['/compute/v1/%2e%2e', '/compute/v1/../admin/v1/clock', '/compute/', '/compute']) {
      const res = await raw(path, { authorization: `Bearer ${token}` });
      expect(res.status, path).toBe(404);
      genesisError(res.body, '02001');
    }
    // fetch normalises `/compute/v1/%2e%2e` to `/compute/` before sending, as most clients do
    const normalised = await fetch(`${h.url}/compute/v1/%2e%2e`);
    expect(normalised.status).toBe(404);
    genesisError(await normalised.json(), '02001');
    const crusoeAbove = await raw('/v1alpha5/%2e%2e/admin');
    expect(crusoeAbove.status).toBe(404);
    crusoeError(crusoeAbove.body, 404, 'not_found');
    expect(await raw('/nothing/here')).toEqual({ status: 404, body: { code: 'not_found', message: 'no route GET /nothing/here' } });
  });

  it('refuses NUL bytes in every Genesis path id, query and body field with 400 naming the field', async () => {
    expectError(await h.genesis.get('/instances/a%00b'), 400, '02004', '"instance_id" must not contain a NUL character (path)');
    expectError(await h.genesis.get('/images?type=%00'), 400, '02004', '"type" must not contain a NUL character (query)');
    expectError(await h.genesis.post('/ssh-keys', { name: 'a\u0000b', value: 'x' }), 400, '02004', '"name" must not contain a NUL character (body)');
    const key = await createKey(h.genesis);
    const instance = { name: 'n', hostname: 'h', type: 'vcpu-2_memory-4g', region: REGION, image: 'ubuntu-22.04', ssh_keys: [key.id] };
    expectError(await h.genesis.post('/instances', { ...instance, metadata: { startup_script: 'echo \u0000' } }), 400, '02004', '"metadata.startup_script"');
    expectError(await h.genesis.post('/instances', { ...instance, 'x\u0000': 1 }), 400, '02004', 'NUL');
    expectError(await h.genesis.patch(`/ssh-keys/${key.id}`, { name: '\u0000' }), 400, '02004', '"name"');
    expect((await h.genesis.get('/instances')).body.total_count).toBe(0);
    expect((await h.genesis.get('/ssh-keys')).body.ssh_keys.map((k: { name: string }) => k.name)).toEqual([key.name]);
    // Crusoe's refusal is the same mechanism
    expectCrusoeError(await crusoe.post('/users/ssh-keys', { name: 'k\u0000', public_key: 'x' }), 400, 'bad_request', '"name" must not contain a NUL character (body)');
  });

  it('bounds integer query parameters and body fields, answering 400 naming the field instead of a 500 or a stored 1e+308', async () => {
    expectError(await h.genesis.get('/instances?page=99999999999999999999'), 400, '02004', '"page" must be <= 2147483647 (query)');
    expectError(await h.genesis.get('/volumes?page=1e400'), 400, '02004', '"page"');
    const empty = await h.genesis.get('/instances?page=2147483647&per_page=100');
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ instances: [], page: 2147483647, per_page: 100 });
    expectError(await h.genesis.post('/snapshots', { name: 's', size: 1e308, url: 'https://example.com/disk.qcow2', region: REGION }), 400, '02004', '"size" must be <= 2147483647');
    expectError(await h.genesis.post('/volumes', { name: 'v', size: 1e308, region: REGION }), 400, '02004', '"size"');
    const key = await createKey(h.genesis, 'k2');
    const instance = { name: 'n', hostname: 'h', type: 'vcpu-2_memory-4g', region: REGION, image: 'ubuntu-22.04', ssh_keys: [key.id] };
    expectError(await h.genesis.post('/instances', { ...instance, disk_size: 1e308 }), 400, '02004', '"disk_size"');
    expectError(await h.genesis.post('/instances', { ...instance, disk_size: -1e308 }), 400, '02004', '"disk_size"');
    expect((await h.genesis.get('/snapshots')).body.total_count).toBe(0);
    expect((await h.genesis.get('/instances')).body.total_count).toBe(0);

    const P = crusoe.projectId;
    const template = await crusoe.post(`/projects/${P}/compute/instance-templates`, { template_name: 't', type: 'c1a.2x', ssh_public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBzeZ5hYVnmnvRzSfdfz5Y1pQnlwG0MLYc5eN4ZtOHyd t' });
    const group = await crusoe.post(`/projects/${P}/compute/instance-groups`, { name: 'g', template_id: template.body.id, desired_count: 1e308 });
    expectCrusoeError(group, 400, 'bad_request', '"desired_count"');
    // (Crusoe's `limit` is text: an over-large one is clamped to its largest page, as the cloud does)
    expect((await crusoe.get(`/projects/${P}/compute/vms/instances`, { rawQuery: 'limit=99999999999999999999' })).status).toBe(200);
    expectCrusoeError(await crusoe.get(`/projects/${P}/compute/vms/instances`, { rawQuery: 'limit=-1' }), 400, 'bad_request', 'limit');
  });
});
