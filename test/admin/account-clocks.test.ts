import { describe, expect, it } from 'vitest';
import { adminOf, genesisFor, hangarPerSuite } from '../helpers/admin.js';
import { BOOT_MS, createInstance, createKey, instanceStatus } from '../helpers/genesis.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import type { HttpClient } from '../helpers/http-client.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** The lifecycle log's entries for one resource (what the engine applied, once each). */
async function applied(h: TestHangar, resourceId: string): Promise<{ transition: string; due_at: number; applied_at: number }[]> {
  const rows = await h.hangar.kernel.db.selectFrom('lifecycle_log').select(['transition', 'due_at', 'applied_at']).where('resource_id', '=', resourceId).orderBy('id').execute();
  return rows.map((r) => ({ transition: String(r.transition), due_at: Number(r.due_at), applied_at: Number(r.applied_at) }));
}

describe('per-account clocks (admin API)', () => {
  const { h, admin } = hangarPerSuite();

  const tenant = async (name: string): Promise<{ accountId: string; genesis: HttpClient; token: string; key: string }> => {
    const account = await h.newAccount(name);
    return { ...account, key: (await createKey(account.genesis)).id };
  };

  it('shows an account following the global clock until a test takes control, and refuses bad input with the admin error shape', async () => {
    const { accountId } = await tenant('follower');
    expect((await admin.get(`/accounts/${accountId}/clock`)).body).toEqual({ now: iso(h.clock.now()), frozen: true, follows_global: true });
    // The global clock moves a follower with it.
    await admin.post('/clock/advance', { by: '1s' });
    expect((await admin.get(`/accounts/${accountId}/clock`)).body).toEqual({ now: iso(h.clock.now()), frozen: true, follows_global: true });

    for (const [path, body] of [
      ['/clock/advance', { by: 'soon' }],
      ['/clock/advance', { by: -5 }],
      ['/clock/advance', {}],
      ['/clock/freeze', { at: 'yesterday' }],
      ['/clock/freeze', { at: iso(h.clock.now() - 60_000) }],
    ] as const) {
      const res = await admin.post(`/accounts/${accountId}${path}`, body);
      expect(res.status, `${path} ${JSON.stringify(body)}: ${res.text}`).toBe(400);
      expect(res.body.code).toBe('invalid_request');
    }
    for (const path of ['/clock', '/clock/freeze', '/clock/advance', '/clock/resume', '/clock/release']) {
      const res = path === '/clock' ? await admin.get(`/accounts/nobody${path}`) : await admin.post(`/accounts/nobody${path}`, path.endsWith('advance') ? { by: '1s' } : {});
      expect(res.status, path).toBe(404);
      expect(res.body).toEqual({ code: 'not_found', message: 'account "nobody" not found' });
    }
    // Nothing of that moved the account's clock.
    expect((await admin.get(`/accounts/${accountId}/clock`)).body.follows_global).toBe(true);
  });

  it('16 accounts advanced concurrently by different amounts: each sees exactly its own transitions applied, none of the others\'', async () => {
    const start = h.clock.now();
    const tenants = await Promise.all(Array.from({ length: 16 }, (_, i) => tenant(`worker-${i}`)));
    const instances = await Promise.all(tenants.map((t, i) => createInstance(t.genesis, { name: `vm-${i}`, ssh_keys: [t.key] })));
    // Worker i moves its clock by i × 400 ms: workers 8 and up pass the boot (3 s), the rest do not.
    const by = (i: number) => i * 400;
    const answers = await Promise.all(tenants.map((t, i) => admin.post(`/accounts/${t.accountId}/clock/advance`, { by: by(i) })));
    for (const [i, res] of answers.entries()) {
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({ now: iso(start + by(i)), frozen: true, follows_global: false, applied: by(i) >= BOOT_MS ? 1 : 0 });
    }
    for (const [i, t] of tenants.entries()) {
      const booted = by(i) >= BOOT_MS;
      const res = await t.genesis.get(`/instances/${instances[i].id}`);
      expect(res.body.instance.status, `worker ${i}`).toBe(booted ? 'active' : 'creating');
      expect(Date.parse(res.body.instance.created_at)).toBe(start);
      // Applied at the instant it fell due on the account's clock, once; seen then from that clock.
      expect(await applied(h, instances[i].id), `worker ${i}`).toEqual(booted ? [{ transition: 'boot', due_at: start + BOOT_MS, applied_at: start + by(i) }] : []);
      expect((await admin.get(`/accounts/${t.accountId}/clock`)).body).toEqual({ now: iso(start + by(i)), frozen: true, follows_global: false });
    }
    // The global clock did not move.
    expect(h.clock.now()).toBe(start);
    expect((await admin.get('/clock')).body.now).toBe(iso(start));
  });

  it('keeps an account with its own clock still while the global clock moves; its own advance applies its transitions, stamped with its time', async () => {
    const own = await tenant('own');
    const follower = await tenant('follower-2');
    const start = h.clock.now();
    expect((await admin.post(`/accounts/${own.accountId}/clock/freeze`)).body).toEqual({ now: iso(start), frozen: true, follows_global: false });
    const mine = await createInstance(own.genesis, { name: 'mine', ssh_keys: [own.key] });
    const theirs = await createInstance(follower.genesis, { name: 'theirs', ssh_keys: [follower.key] });

    const global = await admin.post('/clock/advance', { by: '10s' });
    expect(global.body.applied).toBeGreaterThanOrEqual(1);
    expect(await instanceStatus(follower.genesis, theirs.id)).toBe('active');
    expect(await instanceStatus(own.genesis, mine.id)).toBe('creating');
    expect((await admin.get(`/accounts/${own.accountId}/clock`)).body.now).toBe(iso(start));

    // Its own time: 2 s, not yet; 1 s more, booted at start + 3 s (its due time on its clock).
    expect((await admin.post(`/accounts/${own.accountId}/clock/advance`, { by: '2s' })).body.applied).toBe(0);
    expect(await instanceStatus(own.genesis, mine.id)).toBe('creating');
    expect((await admin.post(`/accounts/${own.accountId}/clock/advance`, { by: 1000 })).body.applied).toBe(1);
    const booted = (await own.genesis.get(`/instances/${mine.id}`)).body.instance;
    expect(booted.status).toBe('active');
    expect(Date.parse(booted.updated_at)).toBe(start + BOOT_MS);

    // What the account writes now carries its time, not the global clock's.
    const later = (await own.genesis.patch(`/instances/${mine.id}`, { name: 'renamed' })).body.instance;
    expect(Date.parse(later.updated_at)).toBe(start + BOOT_MS);
  });

  it('resumes a frozen account clock, and releases it to the global clock without ever moving it back', async () => {
    const t = await tenant('releaser');
    const start = h.clock.now();
    await admin.post(`/accounts/${t.accountId}/clock/freeze`);
    const resumed = (await admin.post(`/accounts/${t.accountId}/clock/resume`)).body;
    expect(resumed).toMatchObject({ frozen: false, follows_global: false });
    expect(Date.parse(resumed.now)).toBeGreaterThanOrEqual(start);
    // Resuming a running clock changes nothing.
    expect((await admin.post(`/accounts/${t.accountId}/clock/resume`)).body).toMatchObject({ frozen: false, follows_global: false });

    // Frozen ahead of the global clock, then released: it keeps its lead and follows the global clock from there.
    await admin.post(`/accounts/${t.accountId}/clock/freeze`, { at: iso(start + 3_600_000) });
    expect((await admin.post(`/accounts/${t.accountId}/clock/release`)).body).toEqual({ now: iso(start + 3_600_000), frozen: true, follows_global: true });
    await admin.post('/clock/advance', { by: '1m' });
    expect((await admin.get(`/accounts/${t.accountId}/clock`)).body).toEqual({ now: iso(start + 3_660_000), frozen: true, follows_global: true });

    // Behind the global clock, then released: it catches up with the global clock (and what fell due on the way is applied).
    const behind = await tenant('behind');
    await admin.post(`/accounts/${behind.accountId}/clock/freeze`);
    const vm = await createInstance(behind.genesis, { name: 'late', ssh_keys: [behind.key] });
    await admin.post('/clock/advance', { by: '1m' });
    expect(await instanceStatus(behind.genesis, vm.id)).toBe('creating');
    const released = await admin.post(`/accounts/${behind.accountId}/clock/release`);
    expect(released.body).toMatchObject({ now: iso(h.clock.now()), frozen: true, follows_global: true });
    expect(await instanceStatus(behind.genesis, vm.id)).toBe('active');
  });

  it('carries each account\'s clock through export and import', async () => {
    const t = await tenant('exported');
    await admin.post(`/accounts/${t.accountId}/clock/freeze`, { at: iso(h.clock.now() + 86_400_000) });
    const doc = await admin.exportState();
    const row = doc.tables.accounts.find((a: any) => a.id === t.accountId);
    expect(row).toMatchObject({ clock_follows_global: 0, clock_frozen_at: h.clock.now() + 86_400_000 });

    const other = await startHangar();
    try {
      const otherAdmin = adminOf(other);
      const res = await otherAdmin.put('/state', doc);
      expect(res.status, res.text).toBe(204);
      expect(await otherAdmin.exportState()).toEqual(doc);
      expect((await otherAdmin.get(`/accounts/${t.accountId}/clock`)).body).toEqual({ now: iso(h.clock.now() + 86_400_000), frozen: true, follows_global: false });
      // The imported account's requests read its clock at once.
      const created = await createInstance(genesisFor(other, t.token), { name: 'after-import', ssh_keys: [t.key] });
      expect(Date.parse(created.created_at)).toBe(h.clock.now() + 86_400_000);
    } finally {
      await other.close();
    }
  });
});
