import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, GPU_TYPE, REGION } from '../helpers/genesis.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';

/**
 * Creates that arrive together share one commit (kernel/db/group-commit.ts; on PostgreSQL
 * those of one account, type and region, and a group that meets a refusal runs again create by
 * create). Each must still be answered as if it ran alone: a refused one leaves nothing behind
 * (not its quota, not its stock, not a row), and the others are all stored. (Sent from the
 * process that serves them, they seldom land in one turn of the event loop;
 * test/kernel/group-commit.test.ts makes a group form.)
 */
describe('Genesis: instance creates sent together', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar();
  });
  afterAll(() => h.close());

  it('answers each on its own: an unknown key 400, over the quota 403 or out of stock 503 with nothing taken, six 201 and stored', async () => {
    const tenant = await h.newAccount('bursty');
    const { kernel } = h.hangar;
    await kernel.counters.setQuota(kernel.db, tenant.accountId, 'genesis.instances', 6);
    const key = await createKey(tenant.genesis);
    const type = 'vcpu-16_memory-96g_nvidia-rtx-3090-2';
    await kernel.capacity.setTotal(kernel.db, 'genesis', REGION, type, 2);
    const body = (i: number, extra: Record<string, unknown> = {}) => ({ name: `b${i}`, hostname: `b${i}`, type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', ssh_keys: [key.id], ...extra });
    // Sent at once, so that they are read in the same turn of the event loop.
    const bodies = [
      body(0),
      body(1, { ssh_keys: ['00000000-0000-4000-8000-000000000000'] }), // an unknown key: 400 02005, before anything was taken
      body(2, { type }),
      body(3, { type }),
      body(4, { type }), // three of a type with 2 in stock: one is refused (503 after its quota was taken, or 403)
      body(5),
      body(6),
      body(7),
      body(8), // nine that could be made, on a quota of 6
      body(9),
    ];
    const answers = await Promise.all(bodies.map(async (b) => ({ name: b.name, ...(await tenant.genesis.post('/instances', b)) })));
    // Which of them is refused depends on the order they run in (PostgreSQL runs them side by
    // side); what may not vary is how many pass and that the refused leave nothing behind.
    const byStatus = (status: number) => answers.filter((a) => a.status === status);
    expect(byStatus(400).map((a) => [a.name, a.body.code])).toEqual([['b1', '02005']]);
    expect(byStatus(201)).toHaveLength(6);
    expect(byStatus(403).length + byStatus(503).length).toBe(3);
    for (const answer of byStatus(403)) expect(answer.body.code).toBe('02010');
    for (const answer of byStatus(503)) expect([answer.name, answer.body.code]).toEqual([expect.stringMatching(/^b[234]$/), '02036']);
    const scarce = byStatus(201).filter((a) => a.body.instance.type === type).length;
    expect(scarce).toBeLessThanOrEqual(2);

    const created = answers.filter((a) => a.status === 201).map((a) => a.body.instance.id);
    expect(new Set(created).size).toBe(6);
    const listed = (await tenant.genesis.get('/instances?per_page=50')).body;
    expect(listed.total_count).toBe(6);
    expect(listed.instances.map((i: any) => i.id).sort()).toEqual([...created].sort());
    const quotas = (await tenant.genesis.get('/quotas')).body.quotas;
    expect(quotas.find((q: any) => q.key === 'instances')).toMatchObject({ capacity: 6, used: 6 });
    const availability = (await tenant.genesis.get(`/availability/${REGION}/instances`)).body.availability;
    expect(availability.instance_types.find((t: any) => t.type === type)).toMatchObject({ type, count: 2 - scarce });
  });
});
