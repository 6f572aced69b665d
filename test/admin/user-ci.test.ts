import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Admin, adminOf, genesisFor } from '../helpers/admin.js';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import type { HttpClient } from '../helpers/http-client.js';

/**
 * Written the way a user's CI suite would use Hangar: only HTTP, only documented endpoints.
 * Reset before each test (seeded, clock frozen), an account per test, create, move the clock,
 * assert. Running the same scenario twice gives byte-identical state exports.
 */
const SEED = 'ci-seed';
const FROZEN_AT = '2030-01-01T00:00:00Z';
const REGION = 'NORD-NO-KRS-1';
const SSH_KEY = publicKey('ed25519', 'ci@example.com'); // the CI's own key: the same in every run

/** An account of the test's own, and a Genesis client speaking for it. */
async function account(h: TestHangar, name: string): Promise<{ id: string; genesis: HttpClient }> {
  const res = await adminOf(h).post('/accounts', { name });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.id, genesis: genesisFor(h, res.body.genesis.token) };
}

/** Moves the global clock, or (as a parallel worker would) only that account's own. */
async function advance(h: TestHangar, by: string, accountId?: string): Promise<void> {
  const res = await adminOf(h).post(accountId === undefined ? '/clock/advance' : `/accounts/${accountId}/clock/advance`, { by });
  expect(res.status, res.text).toBe(200);
}

/** What the tool under test would do: a key, two instances, wait for them, a snapshot, tear one down. */
async function scenario(h: TestHangar, clock: 'global' | 'account' = 'global'): Promise<{ accountId: string; instanceIds: string[] }> {
  const { id, genesis } = await account(h, 'ci-project');
  const clockOf = clock === 'account' ? id : undefined;
  const key = await genesis.post('/ssh-keys', { name: 'ci', value: SSH_KEY });
  expect(key.status, key.text).toBe(201);
  const instanceIds: string[] = [];
  for (const [name, type] of [
    ['trainer', 'vcpu-8_memory-48g_nvidia-rtx-3090-2'],
    ['loader', 'vcpu-2_memory-4g'],
  ]) {
    const res = await genesis.post('/instances', { name, hostname: name, type, region: REGION, image: 'ubuntu-22.04', ssh_keys: [key.body.id] });
    expect(res.status, res.text).toBe(201);
    expect(res.body.instance.status).toBe('creating');
    instanceIds.push(res.body.instance.id);
  }
  await advance(h, '90s', clockOf);
  for (const instanceId of instanceIds) {
    const res = await genesis.get(`/instances/${instanceId}`);
    expect(res.body.instance.status).toBe('active');
    expect(res.body.instance.public_ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  }
  const snapshot = await genesis.post(`/instances/${instanceIds[0]}/snapshots`, { name: 'weights' });
  expect(snapshot.status, snapshot.text).toBe(201);
  expect((await genesis.delete(`/instances/${instanceIds[1]}`)).status).toBe(204);
  await advance(h, '5m', clockOf);
  expect((await genesis.get(`/snapshots/${snapshot.body.snapshot.id}`)).body.snapshot.status).toBe('created');
  expect((await genesis.get(`/instances/${instanceIds[1]}`)).status).toBe(404);
  return { accountId: id, instanceIds };
}

describe("a user's CI suite against Hangar", () => {
  let h: TestHangar;
  let admin: Admin;
  beforeAll(async () => {
    h = await startHangar();
    admin = adminOf(h);
  });
  beforeEach(async () => {
    const res = await admin.post('/reset', { seed: SEED, frozen_at: FROZEN_AT });
    expect(res.status, res.text).toBe(204);
  });
  afterAll(() => h.close());

  it('creates instances with a per-test account, advances the frozen clock, and sees them active', async () => {
    expect((await admin.get('/clock')).body).toEqual({ now: '2030-01-01T00:00:00.000Z', frozen: true });
    const { genesis } = await account(h, 'ci-boot');
    const key = await genesis.post('/ssh-keys', { name: 'ci', value: SSH_KEY });
    const created = await genesis.post('/instances', { name: 'box', hostname: 'box', type: 'vcpu-2_memory-4g', region: REGION, image: 'ubuntu-22.04', ssh_keys: [key.body.id] });
    expect(created.status).toBe(201);
    expect(created.body.instance.created_at).toBe('2030-01-01T00:00:00.000Z');

    // Frozen: nothing moves on its own.
    expect((await genesis.get(`/instances/${created.body.instance.id}`)).body.instance.status).toBe('creating');
    await advance(h, '90s');
    const active = (await genesis.get(`/instances/${created.body.instance.id}`)).body.instance;
    expect(active.status).toBe('active');
    expect(active.updated_at).toBe('2030-01-01T00:00:03.000Z');
  });

  it('starts every test from a clean store: the previous test left nothing behind', async () => {
    const accounts = (await admin.get('/accounts')).body.accounts;
    expect(accounts.map((a: any) => a.name)).toEqual(['demo']);
    const { genesis } = await account(h, 'ci-clean');
    expect((await genesis.get('/instances')).body.total_count).toBe(0);
    expect((await admin.get('/clock')).body).toEqual({ now: '2030-01-01T00:00:00.000Z', frozen: true });
  });

  it('runs the same scenario twice with the same seed and gets byte-identical exports', async () => {
    const first = await scenario(h);
    const firstExport = await admin.get('/state');
    expect(firstExport.status).toBe(200);

    expect((await admin.post('/reset', { seed: SEED, frozen_at: FROZEN_AT })).status).toBe(204);
    const second = await scenario(h);
    const secondExport = await admin.get('/state');

    expect(second).toEqual(first); // the same ids
    const a = JSON.parse(firstExport.text);
    const b = JSON.parse(secondExport.text);
    for (const table of Object.keys(a.tables)) expect(b.tables[table], table).toEqual(a.tables[table]);
    expect(secondExport.text).toBe(firstExport.text);

    // The same on the account's own clock (a parallel worker's): byte-identical too.
    expect((await admin.post('/reset', { seed: SEED, frozen_at: FROZEN_AT })).status).toBe(204);
    const own = await scenario(h, 'account');
    const ownExport = await admin.get('/state');
    expect((await admin.get(`/accounts/${own.accountId}/clock`)).body).toEqual({ now: '2030-01-01T00:06:30.000Z', frozen: true, follows_global: false });
    expect((await admin.post('/reset', { seed: SEED, frozen_at: FROZEN_AT })).status).toBe(204);
    expect(await scenario(h, 'account')).toEqual(own);
    expect((await admin.get('/state')).text).toBe(ownExport.text);

    // Another seed gives other ids.
    expect((await admin.post('/reset', { seed: 'another-seed', frozen_at: FROZEN_AT })).status).toBe(204);
    const third = await scenario(h);
    expect(third.accountId).not.toBe(first.accountId);
  });
});

describe('a CI suite against a Hangar started with HANGAR_ID_SEED', () => {
  let h: TestHangar;
  let admin: Admin;
  beforeAll(async () => {
    h = await startHangar({ env: { HANGAR_ID_SEED: 'from-the-environment' } });
    admin = adminOf(h);
  });
  afterAll(() => h.close());

  it('keeps ids reproducible across plain resets (no seed in the call)', async () => {
    const ids: string[][] = [];
    for (let run = 0; run < 2; run++) {
      expect((await admin.post('/reset', { frozen_at: FROZEN_AT })).status).toBe(204);
      const created = (await admin.post('/accounts', { name: 'ci' })).body;
      ids.push([String(h.hangar.demo.accountId), created.id, created.genesis.token]);
    }
    expect(ids[1]).toEqual(ids[0]);
  });
});

describe('the same CI scenario on two separate Hangars', () => {
  it('gives byte-identical exports when both run with the same seed, clock and HANGAR_SECRET_KEY', async () => {
    const exports: string[] = [];
    for (let run = 0; run < 2; run++) {
      // A fresh server each time, as two CI runs would have. Sealed secrets (Crusoe keys) are
      // only the same bytes under the same sealing key: an in-memory store draws a random one.
      const h = await startHangar({ env: { HANGAR_SECRET_KEY: 'ci-sealing-key' } });
      try {
        // Each server printed demo credentials of its own at start-up; the reset would keep
        // them, and the exports would differ in them: the seed draws new ones instead.
        expect((await adminOf(h).post('/reset', { seed: SEED, frozen_at: FROZEN_AT, demo_credentials: 'renew' })).status).toBe(204);
        await scenario(h);
        exports.push((await adminOf(h).get('/state')).text);
      } finally {
        await h.close();
      }
    }
    expect(exports[1]).toBe(exports[0]);
  });
});
