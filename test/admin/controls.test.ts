import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Admin, adminOf, genesisFor, hangarPerSuite } from '../helpers/admin.js';
import { createInstance, createKey, CPU_TYPE, expectError, GPU_TYPE, instanceStatus, REGION } from '../helpers/genesis.js';
import { startHangar, T0, type TestHangar } from '../helpers/hangar.js';
import type { ApiResponse, HttpClient } from '../helpers/http-client.js';

const PASSWORD = 'a-long-enough-passphrase-1';
const iso = (ms: number) => new Date(ms).toISOString();

describe('admin API: reset', () => {
  const { h, admin } = hangarPerSuite();

  it('empties a store of a few hundred resources back to the catalog and the demo account, whose printed token stays valid', async () => {
    const fullStock = (await admin.get('/capacity?cloud=genesis')).body.capacity;
    expect(fullStock.every((line: any) => line.used === 0)).toBe(true);
    const oldDemoToken = String(h.hangar.demo.credentials.genesis!.token);
    const oldDemoId = h.demoAccountId;

    // A few hundred resources over a few accounts, and every control moved from its default.
    const tokens: string[] = [oldDemoToken];
    for (let a = 0; a < 3; a++) tokens.push((await admin.createAccount(`tenant-${a}`)).genesis.token);
    for (const token of tokens) {
      const client = genesisFor(h, token);
      const key = await createKey(client);
      for (let batch = 0; batch < 2; batch++) {
        await Promise.all(Array.from({ length: 25 }, (_, i) => createInstance(client, { name: `w-${batch}-${i}`, type: CPU_TYPE, ssh_keys: [key.id] })));
      }
    }
    await h.advance(3_000);
    expect((await admin.put('/capacity', { cloud: 'genesis', region: REGION, sku: GPU_TYPE, total: 1 })).status).toBe(200);
    expect((await admin.post('/faults', { cloud: 'genesis', path: '/compute/v1/ssh-keys', status: 500 })).status).toBe(201);
    expect((await admin.put('/lifecycle/genesis.instance', { mode: 'manual', durations: { boot: '1h' } })).status).toBe(200);
    expect((await admin.put('/lifecycle', { profile: 'realistic' })).status).toBe(200);
    expect((await admin.post('/clock/advance', { by: '1h' })).status).toBe(200);
    expect((await admin.get('/journal')).body.requests.length).toBeGreaterThan(0);
    const rows = (await admin.exportState()).tables;
    expect(rows.genesis_instances.length).toBe(200);

    const res = await admin.post('/reset');
    expect(res.status, res.text).toBe(204);
    expect(res.text).toBe('');
    expect((await admin.get('/journal')).body).toEqual({ requests: [] });

    // Only the demo account, made again as it was: its id and the token the banner printed.
    const accounts = (await admin.get('/accounts')).body.accounts;
    expect(accounts.map((a: any) => a.name)).toEqual(['demo']);
    expect(accounts[0].id).toBe(oldDemoId);
    expect(h.hangar.demo.accountId).toBe(accounts[0].id);
    const state = (await admin.exportState()).tables;
    expect(state.genesis_instances).toEqual([]);
    expect(state.genesis_ssh_keys).toEqual([]);
    expect(state.lifecycle_timers).toEqual([]);
    expect(state.ip_leases).toEqual([]);

    // Stock back to full, operator-set totals included.
    expect((await admin.get('/capacity?cloud=genesis')).body.capacity).toEqual(fullStock);

    // The other accounts' tokens fail; the demo token printed at start-up works and sees an empty account.
    for (const token of tokens.slice(1)) expectError(await genesisFor(h, token).get('/instances'), 401, '01204');
    expect(String(h.hangar.demo.credentials.genesis!.token)).toBe(oldDemoToken);
    const demo = genesisFor(h, oldDemoToken);
    expect((await demo.get('/instances')).body).toEqual({ instances: [], total_count: 0, page: 1, per_page: 50 });

    // Controls are back to their defaults.
    expect((await admin.get('/faults')).body).toEqual({ faults: [] });
    const lifecycle = (await admin.get('/lifecycle')).body;
    expect(lifecycle.profile).toBe('fast');
    const instance = lifecycle.kinds.find((k: any) => k.kind === 'genesis.instance');
    expect(instance.mode).toEqual({ mode: 'time' });
    expect(instance.transitions.find((t: any) => t.name === 'boot').ms).toBe(3_000);
    const clock = (await admin.get('/clock')).body;
    expect(clock.frozen).toBe(false);
    // The journal holds what came after the reset only.
    const journal = (await admin.get('/journal')).body.requests;
    expect(journal).toHaveLength(tokens.length); // three refused, then the demo token's GET
    expect(journal[0]).toMatchObject({ path: '/compute/v1/instances', status: 200, account: accounts[0].id });

    // A fresh start works end to end: create, and it boots on the running clock's schedule.
    const fresh = genesisFor(h, String(h.hangar.demo.credentials.genesis!.token));
    await createInstance(fresh, { password: PASSWORD });
  });

  it('takes a seed: the same calls after two resets with one seed give the same ids', async () => {
    const ids: string[][] = [];
    for (let run = 0; run < 2; run++) {
      expect((await admin.post('/reset', { seed: 'same' })).status).toBe(204);
      const account = await admin.createAccount('seeded');
      const instance = await createInstance(genesisFor(h, account.genesis.token), { password: PASSWORD });
      ids.push([String(h.hangar.demo.accountId), account.id, account.genesis.token, instance.id]);
    }
    expect(ids[1]).toEqual(ids[0]);
    expect((await admin.post('/reset', { seed: 'other' })).status).toBe(204);
    expect((await admin.createAccount('seeded')).id).not.toBe(ids[0]![1]);
    expect((await admin.post('/reset', { seed: '' })).status).toBe(400);
    expect((await admin.post('/reset', { frozen_at: 'yesterday' })).status).toBe(400);
  });

  it('is safe while requests are in flight: no 500, every answer a Genesis body', async () => {
    expect((await admin.post('/reset')).status).toBe(204);
    const token = String(h.hangar.demo.credentials.genesis!.token);
    const client = genesisFor(h, token); // checks every response against the reference spec
    // 50 creates at once; the reset goes out as the first answer comes back, so it lands
    // among requests still being handled.
    let answered = 0;
    let reset: Promise<ApiResponse> | undefined;
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client
          .post('/instances', { name: `race-${i}`, hostname: `race-${i}`, type: CPU_TYPE, region: REGION, image: 'ubuntu-22.04', password: PASSWORD })
          .then((res) => {
            if (++answered === 1) reset = admin.post('/reset');
            return res;
          }),
      ),
    );
    expect((await reset!).status).toBe(204);
    const statuses = new Map<number, number>();
    for (const res of answers) {
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, res.text).not.toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      if (res.status === 201) expect(res.body.instance).toMatchObject({ status: 'creating' });
      else expect(Object.keys(res.body).sort(), res.text).toEqual(['code', 'message']);
    }
    // Created before the reset, or refused for a token (an account) the reset removed. (On
    // PostgreSQL a create caught mid-transaction may also answer 403 02010: its quota counter
    // vanished under it. A Genesis answer still, if not the most fitting one.)
    expect([...statuses.keys()].every((s) => s === 201 || s === 401 || s === 403), JSON.stringify([...statuses])).toBe(true);
    // After the dust settles the store is consistent: what is listed is what is counted and stocked.
    const fresh = genesisFor(h, String(h.hangar.demo.credentials.genesis!.token));
    const listed = (await fresh.get('/instances')).body;
    expect(listed.total_count).toBe(listed.instances.length);
    const used = (await admin.get(`/capacity?cloud=genesis&region=${REGION}`)).body.capacity.find((l: any) => l.sku === CPU_TYPE).used;
    const rows = (await admin.exportState()).tables.genesis_instances.length;
    expect(used).toBe(rows);
  });
});

describe('admin API: clock', () => {
  const { h, admin } = hangarPerSuite();

  it('reads, resumes, freezes (now or at a later instant)', async () => {
    expect((await admin.get('/clock')).body).toEqual({ now: iso(T0), frozen: true });

    const resumed = await admin.post('/clock/resume');
    expect(resumed.status).toBe(200);
    expect(resumed.body.frozen).toBe(false);
    expect(Date.parse(resumed.body.now)).toBeGreaterThanOrEqual(T0);

    const frozen = await admin.post('/clock/freeze');
    expect(frozen.status).toBe(200);
    expect(frozen.body.frozen).toBe(true);
    const at = Date.parse(frozen.body.now);
    expect(at).toBeGreaterThanOrEqual(T0);
    expect((await admin.get('/clock')).body).toEqual({ now: frozen.body.now, frozen: true });

    const later = iso(at + 3_600_000);
    expect((await admin.post('/clock/freeze', { at: later })).body).toEqual({ now: later, frozen: true });
    const back = await admin.post('/clock/freeze', { at: iso(T0) });
    expect(back.status).toBe(400);
    expect(back.body.message).toContain('forward');
    expect((await admin.post('/clock/freeze', { at: 'noon' })).status).toBe(400);
    expect((await admin.get('/clock')).body).toEqual({ now: later, frozen: true });
  });

  it('advances by "90s" and "5m": every transition due in between is applied before it returns', async () => {
    const start = (await admin.get('/clock')).body.now;
    const key = await createKey(h.genesis);
    const instances = await Promise.all([1, 2, 3].map((i) => createInstance(h.genesis, { name: `a${i}`, ssh_keys: [key.id] })));

    const res = await admin.post('/clock/advance', { by: '90s' });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ now: iso(Date.parse(start) + 90_000), frozen: true, applied: 3 });
    for (const instance of instances) expect(await instanceStatus(h.genesis, instance.id)).toBe('active');
    const active = (await h.genesis.get(`/instances/${instances[0].id}`)).body.instance;
    // The transition happened when it was due, not when the clock landed.
    expect(Date.parse(active.updated_at) - Date.parse(active.created_at)).toBe(3_000);

    // A stop (2 s), then a start (3 s) scheduled between: both land within one 5-minute jump.
    expect((await h.genesis.post(`/instances/${instances[1].id}/actions`, { action: 'stop' })).status).toBe(204);
    expect((await h.genesis.delete(`/instances/${instances[2].id}`)).status).toBe(204);
    const five = await admin.post('/clock/advance', { by: '5m' });
    expect(five.body).toMatchObject({ now: iso(Date.parse(start) + 390_000), frozen: true, applied: 2 });
    expect(await instanceStatus(h.genesis, instances[1].id)).toBe('stopped');
    expect((await h.genesis.get(`/instances/${instances[2].id}`)).status).toBe(404);

    // Milliseconds as a number, compound durations, and zero are fine.
    expect((await admin.post('/clock/advance', { by: 1500 })).body.now).toBe(iso(Date.parse(start) + 391_500));
    expect((await admin.post('/clock/advance', { by: '1m30s' })).body.now).toBe(iso(Date.parse(start) + 481_500));
    expect((await admin.post('/clock/advance', { by: 0 })).body.applied).toBe(0);
  });

  it('refuses bad durations with 400 and leaves the clock alone', async () => {
    const before = (await admin.get('/clock')).body;
    for (const by of ['5 minutes', '5x', '', '-5s', 'm5', -1, 1.5, null, {}]) {
      const res = await admin.post('/clock/advance', { by });
      expect(res.status, `${JSON.stringify(by)}: ${res.text}`).toBe(400);
      expect(res.body.code).toBe('invalid_request');
    }
    expect((await admin.post('/clock/advance', {})).status).toBe(400);
    expect((await admin.post('/clock/advance')).status).toBe(400);
    expect((await admin.get('/clock')).body).toEqual(before);
  });

  it('advances a running clock too, and applies what fell due', async () => {
    expect((await admin.post('/clock/resume')).body.frozen).toBe(false);
    const instance = await createInstance(h.genesis, { password: PASSWORD });
    const res = await admin.post('/clock/advance', { by: '10s' });
    expect(res.body.frozen).toBe(false);
    expect(await instanceStatus(h.genesis, instance.id)).toBe('active');
    expect((await admin.post('/clock/freeze')).body.frozen).toBe(true);
  });
});

describe('admin API: lifecycle progression', () => {
  let h: TestHangar;
  let admin: Admin;
  let client: HttpClient;
  beforeAll(async () => {
    h = await startHangar();
    admin = adminOf(h);
  });
  beforeEach(async () => {
    // Each test starts from a reset store with the clock frozen, and its own account.
    expect((await admin.post('/reset', { frozen_at: iso(T0) })).status).toBe(204);
    client = genesisFor(h, (await admin.createAccount('lifecycle')).genesis.token);
  });
  afterAll(() => h.close());

  const kindView = async (kind = 'genesis.instance') => (await admin.get('/lifecycle')).body.kinds.find((k: any) => k.kind === kind);

  it('shows every kind with its mode and transition durations', async () => {
    const res = await admin.get('/lifecycle');
    expect(res.status).toBe(200);
    expect(res.body.profile).toBe('fast');
    const kinds = res.body.kinds.map((k: any) => k.kind);
    expect(kinds).toEqual(expect.arrayContaining(['genesis.instance', 'genesis.snapshot', 'genesis.volume']));
    expect(await kindView()).toEqual({
      kind: 'genesis.instance',
      mode: { mode: 'time' },
      states: expect.arrayContaining(['creating', 'active', 'stopping', 'stopped', 'starting', 'resetting', 'deleting', 'error']),
      transitions: expect.arrayContaining([{ name: 'boot', from: ['creating'], to: 'active', ms: 3_000 }]),
      actions: expect.arrayContaining([{ name: 'create', from: [], via: 'creating', to: 'active', transition: 'boot', ms: 3_000 }]),
    });
  });

  it('lists every resource kind of both clouds with its states and actions, read from the declared machines', async () => {
    const kinds = (await admin.get('/lifecycle')).body.kinds.map((k: any) => k.kind);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'genesis.instance', 'genesis.snapshot', 'genesis.volume', 'genesis.security_group', 'genesis.floating_ip', 'genesis.filesystem',
        'crusoe.operation', 'crusoe.vm', 'crusoe.disk', 'crusoe.snapshot', 'crusoe.network', 'crusoe.subnet', 'crusoe.firewall_rule', 'crusoe.load_balancer',
      ]),
    );
    const vm = await kindView('crusoe.vm');
    expect(vm).toMatchObject({ kind: 'crusoe.vm', carrier: 'crusoe.operation', mode: { mode: 'time' } });
    expect(vm.states).toEqual(['STATE_DEFINING', 'STATE_RUNNING', 'STATE_SHUTDOWN', 'STATE_SHUTOFF', 'STATE_DELETING']);
    expect(vm.actions).toEqual(
      expect.arrayContaining([
        { name: 'create', from: [], via: 'STATE_DEFINING', to: 'STATE_RUNNING', transition: 'vm.create', ms: 3_000 },
        { name: 'stop', from: ['STATE_RUNNING'], via: 'STATE_SHUTDOWN', to: 'STATE_SHUTOFF', transition: 'vm.stop', ms: 2_000 },
        { name: 'delete', from: ['STATE_DEFINING', 'STATE_RUNNING', 'STATE_SHUTDOWN', 'STATE_SHUTOFF'], via: 'STATE_DELETING', to: null, transition: 'vm.delete', ms: 2_000 },
      ]),
    );
    expect(vm.transitions).toEqual(expect.arrayContaining([{ name: 'start', from: ['STATE_SHUTOFF'], to: 'STATE_RUNNING', ms: 3_000 }]));
    // A machine's action names its transition for durations too: the VM's stop is the operation's vm.stop.
    expect((await admin.put('/lifecycle/crusoe.vm', { durations: { stop: '7s' } })).status).toBe(200);
    expect((await kindView('crusoe.operation')).transitions.find((t: any) => t.name === 'vm.stop').ms).toBe(7_000);
    expect((await admin.put('/lifecycle/crusoe.vm', { durations: { stop: null } })).status).toBe(200);
    expect((await kindView('crusoe.operation')).transitions.find((t: any) => t.name === 'vm.stop').ms).toBe(2_000);
  });

  it('"reads" mode: an instance stays creating for two GETs and is active on the third', async () => {
    const set = await admin.put('/lifecycle/genesis.instance', { mode: 'reads', reads: 3 });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({ kind: 'genesis.instance', mode: { mode: 'reads', reads: 3 } });

    const instance = await createInstance(client, { password: PASSWORD });
    // Moving the clock does not count: only reads do.
    await admin.post('/clock/advance', { by: '1h' });
    // Listing does not count either, nor the console showing it.
    expect((await client.get('/instances')).body.instances[0].status).toBe('creating');
    for (let i = 0; i < 3; i++) expect((await admin.get(`/fleet/${instance.id}`)).body.wire.body.instance.status).toBe('creating');
    // Nor does another account's GET, which does not find it.
    const stranger = genesisFor(h, (await admin.createAccount('stranger')).genesis.token);
    for (let i = 0; i < 3; i++) expect((await stranger.get(`/instances/${instance.id}`)).status).toBe(404);
    expect(await instanceStatus(client, instance.id)).toBe('creating');
    expect(await instanceStatus(client, instance.id)).toBe('creating');
    expect(await instanceStatus(client, instance.id)).toBe('active');
    expect((await client.get(`/instances/${instance.id}`)).body.instance.public_ip).toMatch(/^100\./);

    // The next transition counts afresh.
    expect((await client.post(`/instances/${instance.id}/actions`, { action: 'stop' })).status).toBe(204);
    expect(await instanceStatus(client, instance.id)).toBe('stopping');
    expect(await instanceStatus(client, instance.id)).toBe('stopping');
    expect(await instanceStatus(client, instance.id)).toBe('stopped');

    expect((await admin.put('/lifecycle/genesis.instance', { mode: 'reads' })).status).toBe(400);
    expect((await admin.put('/lifecycle/genesis.instance', { mode: 'reads', reads: 0 })).status).toBe(400);
    expect((await admin.put('/lifecycle/genesis.instance', { mode: 'sometimes' })).status).toBe(400);
  });

  it('"manual" mode: stays creating while time passes, moves on an admin advance (by resource, by kind) or a clock advance', async () => {
    expect((await admin.put('/lifecycle/genesis.instance', { mode: 'manual' })).body.mode).toEqual({ mode: 'manual' });
    const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map((i) => createInstance(client, { name: `m${i}`, password: PASSWORD })));

    // Real time passing (a running clock well past the due time) and the engine running do nothing.
    h.clock.advance(60_000); // the clock moved by hand, not through the admin API
    await h.hangar.kernel.lifecycle.runDue();
    for (const i of [a, b, c, d]) expect(await instanceStatus(client, i.id)).toBe('creating');

    // One resource.
    const one = await admin.post('/lifecycle/advance', { resource_id: a.id });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ applied: 1 });
    expect(await instanceStatus(client, a.id)).toBe('active');
    expect(await instanceStatus(client, b.id)).toBe('creating');

    // Another kind's filter leaves instances alone; the instance kind's releases them all.
    expect((await admin.post('/lifecycle/advance', { kind: 'genesis.volume' })).body).toEqual({ applied: 0 });
    expect(await instanceStatus(client, b.id)).toBe('creating');
    expect((await admin.post('/lifecycle/advance', { kind: 'genesis.instance' })).body).toEqual({ applied: 3 });
    for (const i of [b, c, d]) expect(await instanceStatus(client, i.id)).toBe('active');

    // Moving the clock through the admin API past the due time releases a held transition too.
    expect((await client.post(`/instances/${a.id}/actions`, { action: 'stop' })).status).toBe(204);
    expect((await admin.post('/clock/advance', { by: '1s' })).body.applied).toBe(0);
    expect(await instanceStatus(client, a.id)).toBe('stopping');
    expect((await admin.post('/clock/advance', { by: '1s' })).body.applied).toBe(1);
    expect(await instanceStatus(client, a.id)).toBe('stopped');

    // Back to time: a new transition runs on the clock again.
    expect((await admin.put('/lifecycle/genesis.instance', { mode: 'time' })).body.mode).toEqual({ mode: 'time' });
    expect((await client.post(`/instances/${a.id}/actions`, { action: 'start' })).status).toBe(204);
    await h.advance(3_000);
    expect(await instanceStatus(client, a.id)).toBe('active');
  });

  it('"manual" mode holds a transition that is due at once, on a running clock', async () => {
    expect((await admin.post('/clock/resume')).status).toBe(200);
    expect((await admin.put('/lifecycle/genesis.instance', { mode: 'manual', durations: { boot: 0 } })).status).toBe(200);
    const instance = await createInstance(client, { password: PASSWORD });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await h.hangar.kernel.lifecycle.runDue();
    expect(await instanceStatus(client, instance.id)).toBe('creating');
    expect((await admin.post('/lifecycle/advance')).body).toEqual({ applied: 1 });
    expect(await instanceStatus(client, instance.id)).toBe('active');
  });

  it('overrides a duration at run time ({"durations": {"boot": "10s"}}) and null restores it', async () => {
    const set = await admin.put('/lifecycle/genesis.instance', { durations: { boot: '10s' } });
    expect(set.status, set.text).toBe(200);
    expect(set.body.transitions.find((t: any) => t.name === 'boot').ms).toBe(10_000);
    expect(set.body.mode).toEqual({ mode: 'time' });

    const instance = await createInstance(client, { password: PASSWORD });
    await admin.post('/clock/advance', { by: '3s' });
    expect(await instanceStatus(client, instance.id)).toBe('creating');
    await admin.post('/clock/advance', { by: '6999' });
    expect(await instanceStatus(client, instance.id)).toBe('creating');
    await admin.post('/clock/advance', { by: 1 });
    expect(await instanceStatus(client, instance.id)).toBe('active');

    const restored = await admin.put('/lifecycle/genesis.instance', { durations: { boot: null } });
    expect(restored.body.transitions.find((t: any) => t.name === 'boot').ms).toBe(3_000);

    for (const body of [{ durations: { launch: '10s' } }, { durations: { boot: 'soon' } }, { durations: { boot: -1 } }, { mode: 'time', extra: 1, durations: 5 }]) {
      const res = await admin.put('/lifecycle/genesis.instance', body);
      expect(res.status, `${JSON.stringify(body)}: ${res.text}`).toBe(400);
    }
    expect((await kindView()).transitions.find((t: any) => t.name === 'boot').ms).toBe(3_000);
  });

  it('switches the timing profile ({"profile": "instant"}): a new instance is active on the next read', async () => {
    const res = await admin.put('/lifecycle', { profile: 'instant' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.profile).toBe('instant');
    expect(res.body.kinds.every((k: any) => k.transitions.every((t: any) => t.ms === 0))).toBe(true);

    // The clock is frozen, and the boot is due at the instant it shows: it is applied without
    // the clock moving (at once on SQLite; on PostgreSQL a moment after the create commits).
    const instance = await createInstance(client, { password: PASSWORD });
    await vi.waitFor(async () => expect(await instanceStatus(client, instance.id)).toBe('active'), { timeout: 2_000, interval: 10 });
    expect((await admin.get('/clock')).body).toEqual({ now: iso(T0), frozen: true });

    expect((await admin.put('/lifecycle', { profile: 'realistic' })).body.kinds[0].transitions.find((t: any) => t.name === 'boot').ms).toBe(90_000);
    expect((await admin.put('/lifecycle', { profile: 'warp' })).status).toBe(400);
    expect((await admin.put('/lifecycle', {})).status).toBe(400);
  });

  it('answers 404 for an unknown kind', async () => {
    const res = await admin.put('/lifecycle/genesis.spaceship', { mode: 'manual' });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ code: 'not_found', message: expect.stringContaining('genesis.spaceship') });
    expect((await kindView()).mode).toEqual({ mode: 'time' });
  });
});

describe('admin API: stock', () => {
  const { h, admin } = hangarPerSuite();

  it('reads and sets stock per region and type, so "out of stock" can be staged', async () => {
    const res = await admin.get(`/capacity?cloud=genesis&region=${REGION}`);
    expect(res.status).toBe(200);
    expect(res.body.capacity.length).toBeGreaterThan(0);
    for (const line of res.body.capacity) expect(Object.keys(line).sort()).toEqual(['cloud', 'region', 'sku', 'total', 'used']);
    expect(res.body.capacity.find((l: any) => l.sku === CPU_TYPE)).toEqual({ cloud: 'genesis', region: REGION, sku: CPU_TYPE, total: 1000, used: 0 });
    const all = (await admin.get('/capacity')).body.capacity;
    expect(new Set(all.map((l: any) => l.cloud)).has('genesis')).toBe(true);

    const set = await admin.put('/capacity', { cloud: 'genesis', region: REGION, sku: CPU_TYPE, total: 1 });
    expect(set.status, set.text).toBe(200);
    expect(set.body).toEqual({ cloud: 'genesis', region: REGION, sku: CPU_TYPE, total: 1, used: 0 });
    const available = (await h.genesis.get(`/availability/${REGION}/instances`)).body.availability.instance_types.find((t: any) => t.type === CPU_TYPE);
    expect(available).toEqual({ type: CPU_TYPE, available: true, count: 1 });

    await createInstance(h.genesis, { type: CPU_TYPE, password: PASSWORD });
    const second = await h.genesis.post('/instances', { name: 'b', hostname: 'b', type: CPU_TYPE, region: REGION, image: 'ubuntu-22.04', password: PASSWORD });
    expectError(second, 503, '02036');
    expect((await admin.get(`/capacity?cloud=genesis&region=${REGION}`)).body.capacity.find((l: any) => l.sku === CPU_TYPE)).toMatchObject({ total: 1, used: 1 });

    expect((await admin.put('/capacity', { cloud: 'genesis', region: REGION, sku: CPU_TYPE, total: 2 })).body).toMatchObject({ total: 2, used: 1 });
    await createInstance(h.genesis, { type: CPU_TYPE, password: PASSWORD });

    expect((await admin.put('/capacity', { cloud: 'genesis', region: REGION, sku: 'vcpu-1_memory-1g', total: 1 })).status).toBe(404);
    expect((await admin.put('/capacity', { cloud: 'genesis', region: 'MARS-1', sku: CPU_TYPE, total: 1 })).status).toBe(404);
    for (const body of [{ cloud: 'genesis', region: REGION, sku: CPU_TYPE, total: -1 }, { cloud: 'genesis', region: REGION, sku: CPU_TYPE }, {}]) {
      expect((await admin.put('/capacity', body)).status, JSON.stringify(body)).toBe(400);
    }
  });
});
