import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { awaitOperation, crusoeClient, type CrusoeClient } from '../helpers/crusoe.js';

/** Bodies no route should accept, and none should answer with a 500. */
const NASTY: unknown[] = [
  null,
  [],
  'text',
  42,
  {},
  { name: null },
  { name: '' },
  { name: 'x'.repeat(300) },
  { action: 'START', type: ['a'] },
  { count: 1.5, name_prefix: 'p' },
  { count: 1e9, name_prefix: 'p', instance_template_id: 'x' },
  { count: -1, name_prefix: 'p' },
  { template_name: 't', type: 'c1a.2x', ssh_public_key: 'ssh-ed25519 AAAA', disks: [{ size: '0GiB', type: 'persistent-ssd' }] },
  { attach_disks: [{ disk_id: '', mode: 'read-write', attachment_type: 'data' }] },
  { detach_disks: [''] },
  { desired_count: { value: -3 } },
  { desired_count: 'many' },
  'RAW:{"__proto__": {"polluted": true}, "name": "proto", "constructor": {"prototype": {"polluted": true}}}',
  'RAW:{"name": "dup", "name": "dup2"',
  { expires_at: '9999-99-99T99:99:99Z' },
  { organization_id: '', name: 'x' },
  { name: 'vm', type: 'c1a.2x', ssh_public_key: 'x', network_interfaces: 'eth0', host_channel_adapters: [{}, {}] },
  { name: 'vm', type: 'c1a.2x', ssh_public_key: 'x', network_interfaces: [{}, {}] },
];

describe('Crusoe: bad input is answered with the Crusoe error body, never a 500', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let routes: [string, string][];
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    const P = c.projectId;
    const res = await c.post(`/projects/${P}/compute/vms/instances`, { name: 'target', type: 'c1a.2x', location: 'us-east1-a', ssh_public_key: publicKey() });
    const vm = (await awaitOperation(h, c, P, res.body.operation)).result;
    const template = await c.post(`/projects/${P}/compute/instance-templates`, { template_name: 't', type: 'c1a.2x', ssh_public_key: publicKey() });
    const group = await c.post(`/projects/${P}/compute/instance-groups`, { name: 'g', template_id: template.body.id });
    const vms = `/projects/${P}/compute/vms/instances`;
    routes = [
      ['POST', vms],
      ['PATCH', `${vms}/${vm.id}`],
      ['POST', `${vms}/${vm.id}/attach-disks`],
      ['POST', `${vms}/${vm.id}/detach-disks`],
      ['POST', `/projects/${P}/compute/vms/bulk-instances`],
      ['POST', `/projects/${P}/compute/instance-templates`],
      ['POST', `/projects/${P}/compute/instance-groups`],
      ['PATCH', `/projects/${P}/compute/instance-groups/${group.body.id}`],
      ['POST', `/projects/${P}/networking/ib-partitions`],
      ['POST', '/organizations/projects'],
      ['POST', '/users/ssh-keys'],
      ['POST', '/users/tokens'],
      ['PUT', '/users/identities'],
    ];
  });
  afterAll(() => h.close());

  it('refuses every nasty body on every writing route with a 4xx Crusoe error', async () => {
    for (const [method, path] of routes) {
      for (const body of NASTY) {
        const raw = typeof body === 'string' && body.startsWith('RAW:') ? body.slice(4) : JSON.stringify(body);
        const res = await c.request(method, path, undefined, { raw });
        const where = `${method} ${path} ${JSON.stringify(body)} → ${res.status} ${res.text}`;
        expect(res.status, where).toBeLessThan(500);
        if (res.status >= 400) {
          expect(Object.keys(res.body).sort(), where).toEqual(['code', 'error_id', 'message', 'reason']);
          expect(res.body.code, where).toBe(String(res.status));
        }
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses odd paths and queries without a 500', async () => {
    const P = c.projectId;
    for (const [path, query] of [
      [`/projects/${P}/compute/vms/instances`, 'limit=0'],
      [`/projects/${P}/compute/vms/instances`, 'limit=-5&sort=name'],
      [`/projects/${P}/compute/vms/instances`, 'prev_token=e30&sort=name'],
      [`/projects/${P}/compute/vms/instances`, `next_token=${Buffer.from('["name",1,"x"]').toString('base64url')}`],
      [`/projects/${P}/compute/vms/instances`, 'next_token=a&prev_token=b'],
      [`/projects/${P}/compute/vms/instances/%E2%9C%93`, ''],
      [`/projects/${P}/compute/vms/instances/operations/%20`, ''],
      ['/capacities', 'product_name=&location=,,,'],
      ['/compute/images/%00', ''],
    ] as const) {
      const res = await c.get(path, { rawQuery: query });
      expect(res.status, `${path}?${query} → ${res.status} ${res.text}`).toBeLessThan(500);
    }
    const notFound = await c.get('/no/such/route');
    expect(notFound.status).toBe(404);
    expect(notFound.body).toMatchObject({ code: '404', reason: 'not_found', message: 'no such route: GET /v1alpha5/no/such/route' });
  });
});
