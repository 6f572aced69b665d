import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// As a user's suite imports it: through the package's "exports".
import { connectHangar, startHangar, type RunningHangar } from 'hangar/testing';
import { connectHangar as connectFromSources, startHangar as fromSources } from '../../src/testing.js';

// The hand-written types of the export (testing.d.ts) must still describe the sources.
const sameShape: typeof startHangar = fromSources;
const sameConnect: typeof connectHangar = connectFromSources;
void sameShape;
void sameConnect;

const root = fileURLToPath(new URL('../..', import.meta.url));
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGalSmgoMEtwX3oxRLNYZwhG1gRXGh996hvhof0B3PHn ci@example.com';

/** A JSON call with the account's Genesis token. */
async function genesis(h: RunningHangar, method: string, path: string, body?: unknown, token = h.account.genesis.token) {
  const res = await fetch(`${h.urls.genesis}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

async function createInstance(h: RunningHangar, name: string, token = h.account.genesis.token) {
  const key = await genesis(h, 'POST', '/ssh-keys', { name: `key-${name}`, value: KEY }, token);
  return genesis(h, 'POST', '/instances', { name, hostname: name, type: 'vcpu-2_memory-4g', region: 'NORD-NO-KRS-1', image: 'ubuntu-22.04', ssh_keys: [key.body.id] }, token);
}

// The same on either engine pass: it runs once.
describe.skipIf(process.env.HANGAR_TEST_ENGINE === 'postgres')("import { startHangar } from 'hangar/testing'", () => {
  let h: RunningHangar;
  beforeAll(async () => {
    h = await startHangar({ frozenAt: '2030-01-01T00:00:00Z', timings: 'fast' });
  });
  afterAll(() => h.stop());

  it('starts on a free port with an account ready in both clouds', async () => {
    expect(h.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(h.urls).toEqual({ genesis: `${h.url}/compute/v1`, crusoe: `${h.url}/v1alpha5`, admin: `${h.url}/admin/v1` });
    expect(h.account.genesis.token).toMatch(/^\S{16,}$/);
    expect((await genesis(h, 'GET', '/instances')).body).toEqual({ instances: [], total_count: 0, page: 1, per_page: 50 });
    const crusoe = `${h.urls.crusoe}/projects/${h.account.crusoe.projectId}/compute/vms/instances`;
    const vms = await fetch(crusoe, { headers: h.crusoeHeaders('GET', crusoe) });
    expect(vms.status).toBe(200);
    expect(await vms.json()).toMatchObject({ items: [] });
  });

  it('moves the clock: an instance created "creating" is "active" once the clock has advanced', async () => {
    expect(await h.clock.get()).toEqual({ now: '2030-01-01T00:00:00.000Z', frozen: true });
    const created = await createInstance(h, 'clocked');
    expect(created.status).toBe(201);
    expect(created.body.instance.status).toBe('creating');
    const advanced = await h.clock.advance('5m');
    expect(advanced).toMatchObject({ now: '2030-01-01T00:05:00.000Z', frozen: true });
    expect(advanced.applied).toBeGreaterThanOrEqual(1);
    expect((await genesis(h, 'GET', `/instances/${created.body.instance.id}`)).body.instance.status).toBe('active');
  });

  it('stages faults and holds lifecycles', async () => {
    const fault = await h.faults.add({ cloud: 'genesis', method: 'POST', path: '/compute/v1/instances', count: 1, status: 503, code: '02036' });
    const failed = await createInstance(h, 'faulted');
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe('02036');
    expect(await h.faults.list()).toEqual([expect.objectContaining({ id: fault.id, fired: 1 })]);
    await h.faults.clear();
    expect(await h.faults.list()).toEqual([]);

    await h.lifecycle.set('genesis.instance', { mode: 'manual' });
    const held = await createInstance(h, 'held');
    expect((await genesis(h, 'GET', `/instances/${held.body.instance.id}`)).body.instance.status).toBe('creating');
    expect(await h.lifecycle.advance({ resourceId: held.body.instance.id })).toBe(1);
    expect((await genesis(h, 'GET', `/instances/${held.body.instance.id}`)).body.instance.status).toBe('active');
    await expect(h.lifecycle.set('genesis.nope', { mode: 'manual' })).rejects.toThrow(/kinds: .*genesis\.instance/);
  });

  it('gives parallel workers one clock each: connectHangar(url), an account per worker, its own clock moved by its own advance', async () => {
    // As four vitest workers of one suite would, each in its own file against the one Hangar.
    const worker = async (i: number) => {
      const hangar = connectHangar(h.url);
      const account = await hangar.createAccount(`worker-${i}`);
      const clock = hangar.accountClock(account);
      expect(await clock.get()).toMatchObject({ follows_global: true });
      const frozen = await clock.freeze();
      const created = await createInstance(h, `w${i}`, account.genesis.token);
      expect(created.body.instance.status).toBe('creating');
      // Workers 0 and 1 wait 1 s (the boot takes 3 s under `fast`), workers 2 and 3 five minutes.
      const advanced = await clock.advance(i < 2 ? '1s' : '5m');
      expect(advanced).toMatchObject({ follows_global: false, frozen: true, applied: i < 2 ? 0 : 1 });
      expect(Date.parse(advanced.now) - Date.parse(frozen.now)).toBe(i < 2 ? 1_000 : 300_000);
      const status = (await genesis(h, 'GET', `/instances/${created.body.instance.id}`, undefined, account.genesis.token)).body.instance.status;
      expect(await clock.release()).toMatchObject({ follows_global: true });
      return status;
    };
    const globalBefore = await h.clock.get();
    expect(await Promise.all([0, 1, 2, 3].map(worker))).toEqual(['creating', 'creating', 'active', 'active']);
    expect(await h.clock.get()).toEqual(globalBefore);
  });

  it('resets to an empty store where the account keeps its credentials; other accounts are their own', async () => {
    const other = await h.createAccount('other');
    expect(other.genesis.token).not.toBe(h.account.genesis.token);
    expect((await createInstance(h, 'before-reset')).status).toBe(201);
    await h.reset({ seed: 'ci', frozenAt: new Date('2031-01-01T00:00:00Z') });
    expect(await h.clock.get()).toEqual({ now: '2031-01-01T00:00:00.000Z', frozen: true });
    expect((await genesis(h, 'GET', '/instances')).body.total_count).toBe(0);
    expect((await genesis(h, 'GET', '/instances', undefined, other.genesis.token)).status).toBe(401);
    const again = await h.createAccount('other');
    expect((await genesis(h, 'GET', '/instances', undefined, again.genesis.token)).body.total_count).toBe(0);
  });

  it('is found by Node from a project of its own, outside this repository', () => {
    const project = mkdtempSync(join(tmpdir(), 'hangar-user-'));
    try {
      mkdirSync(join(project, 'node_modules'));
      symlinkSync(root, join(project, 'node_modules', 'hangar'), 'dir');
      writeFileSync(
        join(project, 'check.mjs'),
        [
          "import { startHangar } from 'hangar/testing';",
          "const h = await startHangar({ timings: 'instant' });",
          "const res = await fetch(`${h.urls.genesis}/instances`, { headers: { authorization: `Bearer ${h.account.genesis.token}` } });",
          'console.log(JSON.stringify({ status: res.status, body: await res.json() }));',
          'await h.stop();',
        ].join('\n'),
      );
      const run = spawnSync(process.execPath, ['check.mjs'], { cwd: project, encoding: 'utf8', timeout: 100_000 });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim())).toEqual({ status: 200, body: { instances: [], total_count: 0, page: 1, per_page: 50 } });
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 120_000);
});
