import { describe, expect, it } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';
import { BOOT_MS, CPU_TYPE, createKey, expectError, GPU_TYPE, REGION } from '../helpers/genesis.js';
import type { HttpClient } from '../helpers/http-client.js';

const OTHER_REGION = 'EUC-DE-MUC-1';

/**
 * Genesis instances on reservations an operator made (POST /admin/v1/reservations): placed with
 * `reservation_id` on create or PATCH, counted against the reservation in the same transaction,
 * given back on destroy.
 */
describe('Genesis: instances on reservations', () => {
  const { h, admin } = hangarPerSuite();

  async function tenant(name: string): Promise<{ g: HttpClient; accountId: string; key: string }> {
    const t = await h.newAccount(name);
    return { g: t.genesis, accountId: t.accountId, key: (await createKey(t.genesis)).id };
  }
  async function reserve(accountId: string, capacity: number, sku = GPU_TYPE, region = REGION): Promise<string> {
    const made = await admin.post('/reservations', { account_id: accountId, cloud: 'genesis', sku, region, capacity });
    expect(made.status, made.text).toBe(201);
    return made.body.id;
  }
  const body = (key: string, name: string, extra: Record<string, unknown> = {}) => ({ name, hostname: name, type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', ssh_keys: [key], ...extra });
  // (reservations made in the same frozen millisecond list in id order: compared by id)
  const listed = async (g: HttpClient) => Object.fromEntries((await g.get('/reservations')).body.reservations.map((r: any) => [r.id, r.quota.used]));

  it('places an instance on a reservation, refuses a wrong or full one leaving nothing behind, and gives the unit back on destroy', async () => {
    const { g, accountId, key } = await tenant('reserved');
    const r = await reserve(accountId, 2);
    const elsewhere = await reserve(accountId, 1, GPU_TYPE, OTHER_REGION);

    const first = await g.post('/instances', body(key, 'r1', { reservation_id: r }));
    expect(first.status, first.text).toBe(201);
    expect(first.body.instance).toMatchObject({ reservation_id: r });
    expect(await listed(g)).toEqual({ [r]: 1, [elsewhere]: 0 });

    // The reservation must be this account's, for this type and in this region.
    expectError(await g.post('/instances', body(key, 'x', { reservation_id: r, type: CPU_TYPE })), 400, '02020', `reserves ${GPU_TYPE}`);
    expectError(await g.post('/instances', body(key, 'x', { reservation_id: elsewhere })), 400, '02051', `it is in ${OTHER_REGION}, not ${REGION}`);
    expectError(await g.post('/instances', body(key, 'x', { reservation_id: '00000000-0000-4000-8000-000000000000' })), 400, '02004', 'not found');
    const other = await tenant('other');
    expectError(await other.g.post('/instances', body(other.key, 'x', { reservation_id: r })), 400, '02004', `reservation "${r}" not found`);
    // billing_type "reserved" goes with a reservation, and only it does.
    expectError(await g.post('/instances', body(key, 'x', { billing_type: 'reserved' })), 400, '02003', '"reservation_id" is required');
    expectError(await g.post('/instances', body(key, 'x', { reservation_id: r, billing_type: 'prepaid-monthly' })), 400, '02004', '"billing_type" must be "reserved"');

    const second = await g.post('/instances', body(key, 'r2', { reservation_id: r }));
    expect(second.status, second.text).toBe(201);
    // Full: the reservation's quota is reached; nothing of the refused create stays.
    const before = (await admin.get(`/accounts/${accountId}/quotas`)).body.quotas['genesis.instances'].used;
    expectError(await g.post('/instances', body(key, 'r3', { reservation_id: r })), 403, '02010', `reservation "${r}" is full (2 of 2`);
    expect((await admin.get(`/accounts/${accountId}/quotas`)).body.quotas['genesis.instances'].used).toBe(before);
    expect((await g.get('/instances')).body.total_count).toBe(2);
    expect(await listed(g)).toEqual({ [r]: 2, [elsewhere]: 0 });
    // An on-demand instance of the same type is not held back by it.
    expect((await g.post('/instances', body(key, 'plain'))).status).toBe(201);

    await h.advance(BOOT_MS);
    expect((await g.delete(`/instances/${first.body.instance.id}`)).status).toBe(204);
    await h.advance(BOOT_MS);
    expect((await g.get(`/instances/${first.body.instance.id}`)).status).toBe(404);
    expect(await listed(g)).toEqual({ [r]: 1, [elsewhere]: 0 });
    expect((await g.post('/instances', body(key, 'r4', { reservation_id: r }))).status).toBe(201);
    expect(await listed(g)).toEqual({ [r]: 2, [elsewhere]: 0 });
  });

  it('moves an instance onto and off a reservation with PATCH reservation_id', async () => {
    const { g, accountId, key } = await tenant('patching');
    const r = await reserve(accountId, 1);
    const a = (await g.post('/instances', body(key, 'a'))).body.instance;
    const b = (await g.post('/instances', body(key, 'b'))).body.instance;
    expect(a).toMatchObject({ reservation_id: null });

    const on = await g.patch(`/instances/${a.id}`, { reservation_id: r });
    expect(on.status, on.text).toBe(200);
    expect(on.body.instance).toMatchObject({ reservation_id: r });
    expect(await listed(g)).toEqual({ [r]: 1 });
    expectError(await g.patch(`/instances/${b.id}`, { reservation_id: r }), 403, '02010', 'is full');
    expect((await g.get(`/instances/${b.id}`)).body.instance.reservation_id).toBeNull();

    const off = await g.patch(`/instances/${a.id}`, { reservation_id: null });
    expect(off.status, off.text).toBe(200);
    expect(off.body.instance).toMatchObject({ reservation_id: null });
    expect(await listed(g)).toEqual({ [r]: 0 });
    expect((await g.patch(`/instances/${b.id}`, { reservation_id: r })).body.instance.reservation_id).toBe(r);
    expect(await listed(g)).toEqual({ [r]: 1 });
    // The operator cannot take away a reservation in use.
    expect((await admin.delete(`/reservations/${r}`)).status).toBe(409);
  });

  it('lets creates sent together take no more than the reservation holds', async () => {
    const { g, accountId, key } = await tenant('together');
    const r = await reserve(accountId, 3);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => g.post('/instances', body(key, `t${i}`, { reservation_id: r }))));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 201, 201, 403, 403, 403]);
    for (const refused of answers.filter((a) => a.status === 403)) expect(refused.body.code).toBe('02010');
    expect(await listed(g)).toEqual({ [r]: 3 });
    expect((await g.get('/instances')).body.total_count).toBe(3);
  });
});
