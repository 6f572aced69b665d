import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Admin, adminOf, genesisFor } from '../helpers/admin.js';
import { createInstance, expectError, instanceStatus } from '../helpers/genesis.js';
import { startHangar, T0, type TestHangar } from '../helpers/hangar.js';
import { findRuntimeFile } from '../../src/cli/runtime-file.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PASSWORD = 'a-long-enough-passphrase-1';

/** The environment without anything that would point the CLI elsewhere or authenticate it. */
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['HANGAR_URL', 'HANGAR_ADMIN_TOKEN'].includes(name)));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/hangar.js <args>` as a person would run `hangar <args>`. */
function hangar(args: string[], cwd = root): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(root, 'bin/hangar.js'), ...args], { cwd, env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(new Error(`hangar ${args.join(' ')}: ${error.message}\n${stderr}`));
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** Runs the CLI against a server and expects it to succeed. */
async function ok(url: string, ...args: string[]): Promise<string> {
  const run = await hangar(['--url', url, ...args]);
  expect(run.code, `hangar ${args.join(' ')}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`).toBe(0);
  expect(run.stderr).toBe('');
  return run.stdout;
}

/** Header and rows of a table the CLI printed. */
function table(output: string): { header: string[]; rows: string[][] } {
  const [header, ...rows] = output.trimEnd().split('\n').map((line) => line.split(/\s{2,}/));
  return { header: header!, rows };
}

// (each command is a process of its own that compiles the CLI: seconds apiece on a loaded machine)
// The CLI is a client of the admin API, whose behaviour on each engine the admin tests cover: its
// own tests run once, in the SQLite pass, to keep the suite's time.
const once = process.env.HANGAR_TEST_ENGINE === 'postgres';

describe.skipIf(once)('the hangar CLI against a running server', { timeout: 120_000 }, () => {
  let h: TestHangar;
  let admin: Admin;
  let dir: string;
  beforeAll(async () => {
    h = await startHangar();
    admin = adminOf(h);
    dir = mkdtempSync(join(tmpdir(), 'hangar-cli-'));
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accounts create | list | delete: tables for people, --json for scripts', async () => {
    const [aliceJson, bobText] = await Promise.all([ok(h.url, '--json', 'accounts', 'create', 'alice'), ok(h.url, 'accounts', 'create', 'bob')]);
    const alice = JSON.parse(aliceJson);
    expect(alice).toMatchObject({ id: expect.any(String), name: 'alice', genesis: { token: expect.any(String) } });
    expect((await genesisFor(h, alice.genesis.token).get('/instances')).status).toBe(200);
    const bobId = /^account (\S+) \(bob\)$/m.exec(bobText)?.[1];
    expect(bobId, bobText).toBeDefined();
    const bobToken = /^\s+genesis\.token\s+(\S+)$/m.exec(bobText)?.[1];
    expect((await genesisFor(h, bobToken!).get('/instances')).status).toBe(200);

    const { header, rows } = table(await ok(h.url, 'accounts', 'list'));
    expect(header).toEqual(['ID', 'NAME', 'STANDING', 'CREATED_AT', 'CREDENTIALS']);
    expect(rows.map((r) => r[1]).sort()).toEqual(['alice', 'bob', 'demo']);
    expect(rows.find((r) => r[1] === 'alice')).toEqual([alice.id, 'alice', 'active', new Date(T0).toISOString(), expect.stringMatching(/^\d+$/)]);


    expect(await ok(h.url, 'accounts', 'delete', alice.id)).toBe(`deleted account ${alice.id}\n`);
    expect((await admin.get(`/accounts/${alice.id}`)).status).toBe(404);
    expectError(await genesisFor(h, alice.genesis.token).get('/instances'), 401, '01204');

    // Deleting it again fails with a message and a non-zero exit.
    const again = await hangar(['--url', h.url, 'accounts', 'delete', alice.id]);
    expect(again.code).not.toBe(0);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain('404');
    expect(again.stderr).toContain(`account "${alice.id}" not found`);
  });

  it('accounts standing <id> [standing]: sets it, shows it, refuses one that does not exist', async () => {
    const carol = await admin.createAccount('carol');
    const [set, wrong] = await Promise.all([
      ok(h.url, 'accounts', 'standing', carol.id, 'suspended'),
      hangar(['--url', h.url, 'accounts', 'standing', carol.id, 'on-holiday']),
    ]);
    expect(set).toBe(`account ${carol.id}: suspended\n`);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('"standing" must be one of: active, suspended, banned, disabled, unverified, payment_method_required');
    expect(JSON.parse(await ok(h.url, '--json', 'accounts', 'standing', carol.id))).toEqual({ account_id: carol.id, standing: 'suspended' });
    // What the Genesis API answers the account now, and once it is active again.
    expectError(await genesisFor(h, carol.genesis.token).get('/instances'), 403, '02040', 'suspended');
    expect((await admin.put(`/accounts/${carol.id}/standing`, { standing: 'active' })).status).toBe(200);
    expect((await genesisFor(h, carol.genesis.token).get('/instances')).status).toBe(200);
  });

  it('clock show | freeze | resume | advance 5m, and lifecycle show', async () => {
    const [shown, lifecycle] = await Promise.all([ok(h.url, '--json', 'clock', 'show'), ok(h.url, 'lifecycle', 'show')]);
    expect(JSON.parse(shown)).toEqual({ now: new Date(T0).toISOString(), frozen: true });
    expect(await ok(h.url, 'clock', 'resume')).not.toContain('frozen');
    expect((await admin.get('/clock')).body.frozen).toBe(false);
    expect(await ok(h.url, 'clock', 'freeze')).toMatch(/^\S+Z {2}\(frozen\)\n$/);
    const frozenAt = Date.parse((await admin.get('/clock')).body.now);

    const instance = await createInstance(h.genesis, { password: PASSWORD });
    const advanced = await ok(h.url, 'clock', 'advance', '5m');
    expect(advanced).toBe(`${new Date(frozenAt + 300_000).toISOString()}  (frozen)  1 transitions applied\n`);
    expect(await instanceStatus(h.genesis, instance.id)).toBe('active');

    const { header, rows } = table(lifecycle);
    expect(header).toEqual(['KIND', 'MODE', 'TRANSITION', 'FROM', 'TO', 'MS']);
    expect(rows).toContainEqual(['genesis.instance', 'time', 'boot', 'creating', 'active', '3000']);
    expect(rows).toContainEqual(['genesis.instance', 'time', 'destroy', 'deleting', '(gone)', '2000']);
  });

  it("clock advance 5m --account <id> moves that account's clock only; clock release <id> gives it back to the global clock", async () => {
    const worker = await admin.createAccount('cli-worker');
    const before = (await admin.get('/clock')).body.now;
    const instance = await createInstance(genesisFor(h, worker.genesis.token), { password: PASSWORD });
    const advanced = await ok(h.url, 'clock', 'advance', '5m', '--account', worker.id);
    expect(advanced).toBe(`${new Date(Date.parse(before) + 300_000).toISOString()}  (frozen)  (own clock)  1 transitions applied\n`);
    expect(await instanceStatus(genesisFor(h, worker.genesis.token), instance.id)).toBe('active');
    expect((await admin.get('/clock')).body.now).toBe(before);
    const [shown, released] = [JSON.parse(await ok(h.url, '--json', 'clock', 'show', '--account', worker.id)), JSON.parse(await ok(h.url, '--json', 'clock', 'release', worker.id))];
    expect(shown).toEqual({ now: new Date(Date.parse(before) + 300_000).toISOString(), frozen: true, follows_global: false });
    expect(released).toEqual({ now: new Date(Date.parse(before) + 300_000).toISOString(), frozen: true, follows_global: true });
  });

  it('faults add | list | clear', async () => {
    const added = JSON.parse(
      await ok(h.url, '--json', 'faults', 'add', '--cloud', 'genesis', '--method', 'POST', '--path', '/compute/v1/instances', '--count', '2', '--status', '503', '--code', '02036'),
    );
    expect(added).toEqual({ cloud: 'genesis', method: 'POST', path: '/compute/v1/instances', count: 2, status: 503, code: '02036', id: expect.any(String), fired: 0 });
    const body = { name: 'x', hostname: 'x', type: 'vcpu-2_memory-4g', region: 'NORD-NO-KRS-1', image: 'ubuntu-22.04', password: PASSWORD };
    expectError(await h.genesis.post('/instances', body), 503, '02036');
    expectError(await h.genesis.post('/instances', body), 503, '02036');
    expect((await h.genesis.post('/instances', body)).status).toBe(201);

    const { header, rows } = table(await ok(h.url, 'faults', 'list'));
    expect(header).toEqual(['ID', 'CLOUD', 'METHOD', 'PATH', 'KIND', 'TRANSITION', 'STATUS', 'CODE', 'COUNT', 'FIRED']);
    expect(rows).toEqual([[added.id, 'genesis', 'POST', '/compute/v1/instances', '-', '-', '503', '02036', '2', '2']]);

    expect(await ok(h.url, 'faults', 'clear')).toBe('faults cleared\n');
    expect((await admin.get('/faults')).body).toEqual({ faults: [] });
  });

  it('state export > file, reset, state import file, journal', async () => {
    const account = await admin.createAccount('exported');
    const client = genesisFor(h, account.genesis.token);
    const instance = await createInstance(client, { password: PASSWORD });
    await h.advance(3_000); // nothing pending: the reset below lets the clock run on from wall-clock time
    const expected = (await admin.get('/state')).text;

    const file = join(dir, 'state.json');
    writeFileSync(file, await ok(h.url, 'state', 'export')); // as `hangar state export > state.json`
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(JSON.parse(expected));

    expect(await ok(h.url, 'reset')).toBe('store reset\n');
    expect((await admin.get('/accounts')).body.accounts.map((a: any) => a.name)).toEqual(['demo']);
    expect((await client.get('/instances')).status).toBe(401);

    expect(await ok(h.url, 'state', 'import', file)).toBe(`imported ${file}\n`);
    expect((await admin.get('/state')).text).toBe(expected);
    expect((await client.get(`/instances/${instance.id}`)).body.instance.name).toBe(instance.name);

    const [journal, limitedJson, missing] = await Promise.all([
      ok(h.url, 'journal'),
      ok(h.url, '--json', 'journal', '--limit', '2'),
      hangar(['--url', h.url, 'state', 'import', join(dir, 'missing.json')]),
    ]);
    const { header, rows } = table(journal);
    expect(header).toEqual(['AT', 'CLOUD', 'METHOD', 'PATH', 'STATUS', 'LATENCY_MS', 'ACCOUNT', 'IGNORED_FIELDS']);
    expect(rows[0]!.slice(1, 5)).toEqual(['genesis', 'GET', `/compute/v1/instances/${instance.id}`, '200']);
    const limited = JSON.parse(limitedJson);
    expect(limited).toHaveLength(2);
    expect(limited[1]).toMatchObject({ method: 'GET', path: '/compute/v1/instances', status: 401, account: null });

    // A file that is not there: a message naming it, non-zero exit.
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('missing.json');
  });

  it('says what to do when the server cannot be reached', async () => {
    const run = await hangar(['--url', 'http://127.0.0.1:1', 'accounts', 'list']);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('cannot reach Hangar at http://127.0.0.1:1');
    expect(run.stderr).toContain('hangar serve');
    expect(run.stderr).toContain('--url');
  });
});

describe.skipIf(once)('the hangar CLI against a token-protected server', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar({ env: { HANGAR_ADMIN_TOKEN: 'sekrit' } });
  });
  afterAll(() => h.close());

  it('tells to pass --token on a 401, and works with it', async () => {
    const [refused, wrong, allowed] = await Promise.all([
      hangar(['--url', h.url, 'accounts', 'list']),
      hangar(['--url', h.url, '--token', 'nope', 'clock', 'show']),
      hangar(['--url', h.url, '--token', 'sekrit', '--json', 'accounts', 'list']),
    ]);
    for (const run of [refused, wrong]) {
      expect(run.code).not.toBe(0);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('--token');
      expect(run.stderr).toContain('HANGAR_ADMIN_TOKEN');
    }
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(JSON.parse(allowed.stdout).map((a: any) => a.name)).toEqual(['demo']);
  });
});

describe.skipIf(once)('the hangar CLI without --url', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hangar-here-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the server started from the same directory (or one above), which removes its runtime file on stop', async () => {
    const child = spawn(process.execPath, [join(root, 'bin/hangar.js'), 'serve'], {
      cwd: dir,
      env: { ...env, PORT: '0', HOST: '127.0.0.1', HANGAR_DATABASE_URL: 'sqlite::memory:', HANGAR_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let banner = '';
    child.stdout.on('data', (chunk: Buffer) => (banner += chunk.toString()));
    await expect.poll(() => banner, { timeout: 90_000 }).toMatch(/^\s*HANGAR_URL=\S+$/m);
    const url = /Hangar is serving on (\S+)/.exec(banner)![1]!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The banner says where the admin API and the reference are, and the line to set elsewhere.
    expect(banner).toContain(`Admin API           ${url}/admin/v1`);
    expect(banner).toContain(`API reference       ${url}/docs`);
    expect(banner).toMatch(new RegExp(`^  HANGAR_URL=${url}$`, 'm'));
    const runtime = JSON.parse(readFileSync(join(dir, '.hangar/runtime.json'), 'utf8'));
    expect(runtime).toMatchObject({ url, pid: child.pid, admin_token_required: false });

    // From that directory and from one below it, with no --url and no HANGAR_URL.
    mkdirSync(join(dir, 'scripts'), { recursive: true });
    for (const cwd of [dir, join(dir, 'scripts')]) {
      const run = await hangar(['--json', 'demo'], cwd);
      expect(run.code, run.stderr).toBe(0);
      const demo = JSON.parse(run.stdout);
      expect(demo.genesis.url).toBe(`${url}/compute/v1`);
      expect(banner).toContain(`token             ${demo.genesis.token}`);
      expect(banner).toContain(`access key        ${demo.crusoe.access_key}`);
    }
    // `hangar demo` for people, after a reset: the same token as the banner printed.
    expect((await hangar(['reset'], dir)).code).toBe(0);
    const human = await hangar(['demo'], dir);
    expect(human.stdout).toMatch(/^genesis$/m);
    expect(human.stdout).toContain(/token             (\S+)/.exec(banner)![1]!);

    // A mistyped lifecycle kind: the kinds that exist.
    const wrong = await hangar(['lifecycle', 'set', 'genesis.nope', '--mode', 'manual'], dir);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('lifecycle kind "genesis.nope" not found');
    expect(wrong.stderr).toMatch(/kinds: .*genesis\.instance.*crusoe\.operation/);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(join(dir, '.hangar/runtime.json'))).toBe(false);
  }, 120_000); // a server and eight CLI runs, each a process of its own

  it('ignores a runtime file left by a server that was killed', async () => {
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const stale = join(dir, 'stale');
    mkdirSync(join(stale, '.hangar'), { recursive: true });
    writeFileSync(join(stale, '.hangar/runtime.json'), JSON.stringify({ url: 'http://127.0.0.1:1', pid: gone.pid, started_at: '', admin_token_required: false }));
    expect(findRuntimeFile(stale)).toBeNull();
    writeFileSync(join(stale, '.hangar/runtime.json'), JSON.stringify({ url: 'http://127.0.0.1:1', pid: process.pid, started_at: '', admin_token_required: false }));
    expect(findRuntimeFile(join(stale, 'a/b'))).toMatchObject({ url: 'http://127.0.0.1:1', path: join(stale, '.hangar/runtime.json') });
    const run = await hangar(['clock', 'show'], stale);
    expect(run.stderr).toContain(`cannot reach Hangar at http://127.0.0.1:1 (found in ${join(stale, '.hangar/runtime.json')})`);
  });
});
