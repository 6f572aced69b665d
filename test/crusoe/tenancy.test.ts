import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { awaitOperation, crusoeClient, expectCrusoeError, newCrusoeAccount } from '../helpers/crusoe.js';

const LOCATION = 'us-east1-a';

describe('Crusoe accounts in the kernel: provisioning, deletion, operator faults', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar();
  });
  afterAll(() => h.close());

  it('gives a new account an organization, a default project, an identity and a key pair', async () => {
    const { accountId, client, credentials } = await newCrusoeAccount(h, 'Acme Labs');
    expect(credentials).toMatchObject({ access_key: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), secret_key: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
    const projects = (await client.get('/organizations/projects')).body.items;
    expect(projects).toEqual([expect.objectContaining({ id: credentials.project_id, name: 'default', organization_id: credentials.organization_id, relation: 'owner' })]);
    expect((await client.get('/organizations/entities')).body.items.map((e: any) => [e.id, e.name])).toEqual([[credentials.organization_id, 'Acme Labs']]);
    expect((await client.get('/users/identities')).body.identity).toMatchObject({ name: 'Acme Labs', email: 'acme-labs@hangar.test' });
    const tokens = (await client.get('/users/tokens')).body.items;
    expect(tokens).toEqual([{ access_key: credentials.access_key, alias: 'default', created_at: expect.any(String), expires_at: '', last_used: expect.any(String) }]);
    expect(accountId).not.toBe(h.demoAccountId);
  });

  it('deleting an account gives back its stock and stops its key at once', async () => {
    const { accountId, client, credentials } = await newCrusoeAccount(h, 'leaving');
    const kernel = h.hangar.kernel;
    const used = async () => (await kernel.capacity.list(kernel.db, 'crusoe', LOCATION)).find((s) => s.sku === 'a100-80gb.8x')!.used;
    const before = await used();
    const res = await client.post(`/projects/${credentials.project_id}/compute/vms/instances`, { name: 'big', type: 'a100-80gb.8x', location: LOCATION, ssh_public_key: publicKey() });
    await awaitOperation(h, client, credentials.project_id!, res.body.operation);
    expect(await used()).toBe(before + 1);
    expect(await kernel.deleteAccount(accountId)).toBe(true);
    expect(await used()).toBe(before);
    expectCrusoeError(await client.get('/users/identities'), 401, 'bad_credential', 'unknown, deleted or expired');
    expect(await kernel.db.selectFrom('crusoe_vms').select('id').where('account_id', '=', accountId).execute()).toEqual([]);
    // The demo account is untouched.
    expect((await crusoeClient(h).get('/users/identities')).status).toBe(200);
  });

  it('renders a request fault staged by an operator as a Crusoe error', async () => {
    const c = crusoeClient(h);
    const rule = await h.hangar.kernel.faults.add({ cloud: 'crusoe', method: 'GET', path: '/v1alpha5/locations', status: 503, count: 1 });
    expectCrusoeError(await c.get('/locations'), 503, 'internal_error', 'injected fault');
    expect((await c.get('/locations')).status).toBe(200);
    await h.hangar.kernel.faults.remove(rule.id);
  });
});

describe('Crusoe timing profiles', () => {
  it('completes operations without any wait under the instant profile', async () => {
    const h = await startHangar({ env: { HANGAR_TIMINGS: 'instant' } });
    try {
      const c = crusoeClient(h);
      const res = await c.post(`/projects/${c.projectId}/compute/vms/instances`, { name: 'quick', type: 'c1a.2x', ssh_public_key: publicKey() });
      expect(res.body.operation.state).toBe('IN_PROGRESS');
      await h.advance(0);
      const op = await c.get(`/projects/${c.projectId}/compute/vms/instances/operations/${res.body.operation.operation_id}`);
      expect(op.body).toMatchObject({ state: 'SUCCEEDED', result: { state: 'STATE_RUNNING' } });
      expect(op.body.completed_at).toBe(op.body.started_at);
    } finally {
      await h.close();
    }
  });

  it('takes about a minute to boot under the realistic profile', async () => {
    const h = await startHangar({ env: { HANGAR_TIMINGS: 'realistic' } });
    try {
      const c = crusoeClient(h);
      const res = await c.post(`/projects/${c.projectId}/compute/vms/instances`, { name: 'slow', type: 'c1a.2x', ssh_public_key: publicKey() });
      const path = `/projects/${c.projectId}/compute/vms/instances/operations/${res.body.operation.operation_id}`;
      await h.advance(59_000);
      expect((await c.get(path)).body.state).toBe('IN_PROGRESS');
      await h.advance(1_000);
      expect((await c.get(path)).body.state).toBe('SUCCEEDED');
    } finally {
      await h.close();
    }
  });
});
