import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { adminOf, type Admin } from '../helpers/admin.js';
import { crusoeClient, type CrusoeClient } from '../helpers/crusoe.js';
import { createInstance, CPU_TYPE } from '../helpers/genesis.js';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { awaitOp, Families } from '../crusoe/support.js';

const at = (iso: string) => Date.parse(iso);

/**
 * The console's usage chart and quota table: GET /admin/v1/usage/daily (Crusoe gpu-hours from
 * the metering ledger, Genesis instance-hours from the audit log) and GET /admin/v1/quotas.
 * Under the instant profile transitions apply at the instant they are asked for, so the
 * expected hours are exact.
 */
describe('admin API: daily usage and every account’s quotas', () => {
  let h: TestHangar;
  let admin: Admin;
  let c: CrusoeClient;
  let tenant: Awaited<ReturnType<TestHangar['newAccount']>>;
  beforeAll(async () => {
    h = await startHangar({ clock: new Clock({ frozenAt: at('2026-01-04T23:00:00Z') }), env: { HANGAR_TIMINGS: 'instant' } });
    admin = adminOf(h);
    c = crusoeClient(h);
    tenant = await h.newAccount('usage-tenant');
  });
  afterAll(() => h.close());
  const until = async (iso: string) => h.advance(at(iso) - h.clock.now());

  it('charts Crusoe gpu-hours per project and Genesis instance-hours per account, per UTC day', async () => {
    // 23:00 on the 4th: a Crusoe a100.2x (2 GPUs), a Genesis instance of the demo account and one of the tenant's.
    const op = await c.post(`/projects/${c.projectId}/compute/vms/instances`, { name: 'trainer', type: 'a100.2x', location: 'us-east1-a', ssh_public_key: publicKey() });
    expect(op.status, op.text).toBe(200);
    expect((await awaitOp(h, c, Families.vms, op.body.operation, 0)).state).toBe('SUCCEEDED');
    const mine = await createInstance(h.genesis, { name: 'mine', hostname: 'mine', type: CPU_TYPE });
    const theirs = await createInstance(tenant.genesis, { name: 'theirs', hostname: 'theirs', type: CPU_TYPE });
    await h.advance(0);
    // 03:00 the tenant's is deleted; 06:00 the demo's stopped, 12:00 started again.
    await until('2026-01-05T03:00:00Z');
    expect((await tenant.genesis.delete(`/instances/${theirs.id}`)).status).toBe(204);
    await h.advance(0);
    await until('2026-01-05T06:00:00Z');
    expect((await h.genesis.post(`/instances/${mine.id}/actions`, { action: 'stop' })).status).toBe(204);
    await h.advance(0);
    await until('2026-01-05T12:00:00Z');
    expect((await h.genesis.post(`/instances/${mine.id}/actions`, { action: 'start' })).status).toBe(204);
    await h.advance(0);
    await until('2026-01-06T02:00:00Z');

    const res = await admin.get('/usage/daily?from=2026-01-04&to=2026-01-06');
    expect(res.status, res.text).toBe(200);
    expect(res.body.days).toEqual(['2026-01-04', '2026-01-05', '2026-01-06']);
    expect(res.body.crusoe).toMatchObject({ metric: 'gpu-hours', source: 'metering ledger' });
    expect(res.body.crusoe.series).toEqual([
      { account_id: h.demoAccountId, account_name: 'demo', project_id: c.projectId, project_name: expect.any(String), values: [2, 48, 4], total: 54 },
    ]);
    // The same numbers Crusoe's own usage API reports from the same ledger.
    const org = c.credentials.organization_id!;
    const crusoeOwn = await c.get(`/organizations/${org}/usage`, { query: { start_date: '2026-01-05', end_date: '2026-01-05' } });
    expect(crusoeOwn.body.items.reduce((sum: number, row: any) => sum + (row.billable_metric === 'gpu-hours' ? row.quantity : 0), 0)).toBe(48);

    expect(res.body.genesis).toMatchObject({ metric: 'instance-hours', source: 'audit log' });
    const byAccount = Object.fromEntries(res.body.genesis.series.map((s: any) => [s.account_name, s]));
    expect(byAccount.demo).toMatchObject({ account_id: h.demoAccountId, project_id: null, values: [1, 18, 2], total: 21 });
    // The deleted instance is no longer in the store: the audit log cannot say whose it was.
    expect(byAccount['deleted instances']).toMatchObject({ account_id: null, values: [1, 3, 0], total: 4 });

    // The default range: the fortnight ending today on Hangar's clock.
    const fortnight = (await admin.get('/usage/daily')).body;
    expect(fortnight.days).toHaveLength(14);
    expect(fortnight.to).toBe('2026-01-06');
  });

  it('refuses a malformed or reversed range in its error shape', async () => {
    for (const q of ['from=yesterday', 'from=2026-01-07&to=2026-01-06', 'from=2024-01-01&to=2026-01-06']) {
      const res = await admin.get(`/usage/daily?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
  });

  it('lists every account with its quotas, usage and which an operator set', async () => {
    expect((await admin.put(`/accounts/${tenant.accountId}/quotas`, { 'genesis.instances': 3 })).status).toBe(200);
    const res = await admin.get('/quotas');
    expect(res.status).toBe(200);
    const byName = Object.fromEntries(res.body.accounts.map((a: any) => [a.name, a]));
    expect(byName['usage-tenant'].account_id).toBe(tenant.accountId);
    expect(byName['usage-tenant'].quotas['genesis.instances']).toEqual({ limit: 3, used: 0, custom: true });
    expect(byName.demo.quotas['genesis.instances']).toMatchObject({ used: 1, custom: false });
    expect(byName.demo.quotas['crusoe.vms']).toMatchObject({ used: 1 });
    // The stock the capacity page draws: every cloud's, the Crusoe VM's type taken once.
    const stock = (await admin.get('/capacity')).body.capacity;
    expect(new Set(stock.map((l: any) => l.cloud))).toEqual(new Set(['genesis', 'crusoe']));
    expect(stock.find((l: any) => l.cloud === 'crusoe' && l.region === 'us-east1-a' && l.sku === 'a100.2x')).toMatchObject({ used: 1 });
  });
});
