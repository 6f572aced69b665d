import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHangar } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Clock } from '../../src/kernel/clock.js';
import { keyFromText, resolveSealingKey, SecretBox } from '../../src/kernel/secrets.js';
import { startHangar, T0 } from '../helpers/hangar.js';
import { CrusoeClient, crusoeClient, expectCrusoeError, goTimestamp, type CrusoeCredentials } from '../helpers/crusoe.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-crusoe-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function fileConfig(dir: string, env: Record<string, string> = {}) {
  return loadConfig({ HANGAR_DATABASE_URL: `sqlite:${join(dir, 'hangar.db')}`, HANGAR_TIMINGS: 'fast', HANGAR_LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', ...env });
}

describe('sealed secrets (kernel)', () => {
  it('seals with AES-256-GCM: opens under the same key only, and detects tampering', () => {
    const box = new SecretBox(keyFromText('a'.repeat(64)));
    const sealed = box.seal('HrbZ3VTUb2YNAq53Md1EsA');
    expect(sealed).toMatch(/^v1:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('HrbZ3VTUb2YNAq53Md1EsA');
    expect(box.seal('HrbZ3VTUb2YNAq53Md1EsA')).not.toBe(sealed); // a fresh IV each time
    expect(box.open(sealed)).toBe('HrbZ3VTUb2YNAq53Md1EsA');
    expect(() => new SecretBox(keyFromText('b'.repeat(64))).open(sealed)).toThrow();
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(() => box.open(tampered)).toThrow();
    expect(keyFromText(Buffer.alloc(32, 7).toString('base64'))).toEqual(Buffer.alloc(32, 7));
    expect(keyFromText('any passphrase')).toHaveLength(32);
  });

  it('takes the key from HANGAR_SECRET_KEY, else a 0600 key file beside an SQLite file, else a per-process key', () => {
    const dir = tempDir();
    const url = `sqlite:${join(dir, 'hangar.db')}`;
    const first = resolveSealingKey({ databaseUrl: url });
    const file = join(dir, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(resolveSealingKey({ databaseUrl: url })).toEqual(first);
    expect(keyFromText(readFileSync(file, 'utf8'))).toEqual(first);
    expect(resolveSealingKey({ databaseUrl: url, secretKey: 'f'.repeat(64) })).toEqual(Buffer.from('f'.repeat(64), 'hex'));
    expect(resolveSealingKey({ databaseUrl: 'sqlite::memory:' })).not.toEqual(resolveSealingKey({ databaseUrl: 'sqlite::memory:' }));
    expect(() => resolveSealingKey({ databaseUrl: 'postgres://db/hangar' })).toThrow(/HANGAR_SECRET_KEY/);
  });
});

describe('Crusoe secret keys at rest, across restarts, and pinned for the demo', () => {
  it('never keeps a secret key in clear in the database', async () => {
    const h = await startHangar();
    try {
      const c = crusoeClient(h);
      const made = await c.post('/users/tokens', { alias: 'ci', expires_at: goTimestamp(T0 + 86_400_000) });
      const secrets = [c.credentials.secret_key, made.body.token.secret_key];
      const dump = JSON.stringify(await h.hangar.kernel.state.export());
      for (const secret of secrets) expect(dump).not.toContain(secret);
      expect(dump).toContain(made.body.token.access_key); // the public half is stored as is
    } finally {
      await h.close();
    }
  });

  it('keeps working across a restart of a file store (key file), and refuses cleanly when the key changed', async () => {
    const dir = tempDir();
    const clock = new Clock({ frozenAt: T0 });
    let hangar = await createHangar(fileConfig(dir), { clock });
    let url = await hangar.listen();
    const demo = hangar.demo.credentials.crusoe as unknown as CrusoeCredentials;
    expect(demo).toMatchObject({ access_key: expect.any(String), secret_key: expect.any(String), organization_id: expect.any(String), project_id: expect.any(String) });
    expect((await new CrusoeClient(url, demo, () => clock.now()).get('/users/identities')).status).toBe(200);
    await hangar.close();

    hangar = await createHangar(fileConfig(dir), { clock });
    url = await hangar.listen();
    expect(hangar.demo.credentials.crusoe).toMatchObject({ access_key: demo.access_key, project_id: demo.project_id });
    const again = new CrusoeClient(url, demo, () => clock.now());
    expect((await again.get(`/projects/${demo.project_id}/compute/vms/instances`)).status).toBe(200);
    await hangar.close();

    hangar = await createHangar(fileConfig(dir, { HANGAR_SECRET_KEY: 'a different key' }), { clock });
    url = await hangar.listen();
    expectCrusoeError(await new CrusoeClient(url, demo, () => clock.now()).get('/users/identities'), 401, 'bad_credential', "sealing key changed");
    await hangar.close();
  });

  it('pins the demo key pair from the environment, on a new store and on an existing one, and prints it', async () => {
    const pinned = { HANGAR_DEMO_CRUSOE_ACCESS_KEY: 'demo-access-key-0001', HANGAR_DEMO_CRUSOE_SECRET_KEY: 'HrbZ3VTUb2YNAq53Md1EsA' };
    const h = await startHangar({ env: pinned });
    try {
      expect(h.hangar.demo.credentials.crusoe).toMatchObject({ access_key: pinned.HANGAR_DEMO_CRUSOE_ACCESS_KEY, secret_key: pinned.HANGAR_DEMO_CRUSOE_SECRET_KEY });
      expect((await crusoeClient(h).get('/users/identities')).body.identity.name).toBe('demo');
      const banner = h.hangar.banner().join('\n');
      expect(banner).toContain(`${h.url}/v1alpha5`);
      expect(banner).toContain(pinned.HANGAR_DEMO_CRUSOE_ACCESS_KEY);
      expect(banner).toContain(pinned.HANGAR_DEMO_CRUSOE_SECRET_KEY);
      expect(banner).toContain(String(h.hangar.demo.credentials.crusoe!.project_id));
      expect(banner).toContain('X-Crusoe-Timestamp');
    } finally {
      await h.close();
    }

    const dir = tempDir();
    const clock = new Clock({ frozenAt: T0 });
    let hangar = await createHangar(fileConfig(dir), { clock });
    const first = hangar.demo.credentials.crusoe as unknown as CrusoeCredentials;
    await hangar.close();
    const repinned = { HANGAR_DEMO_CRUSOE_ACCESS_KEY: 'pinned-later-0001', HANGAR_DEMO_CRUSOE_SECRET_KEY: 'AAECAwQFBgcICQoLDA0ODw' };
    hangar = await createHangar(fileConfig(dir, repinned), { clock });
    const url = await hangar.listen();
    const creds = { ...first, access_key: repinned.HANGAR_DEMO_CRUSOE_ACCESS_KEY, secret_key: repinned.HANGAR_DEMO_CRUSOE_SECRET_KEY };
    expect(hangar.demo.credentials.crusoe).toMatchObject({ access_key: creds.access_key, project_id: first.project_id });
    expect((await new CrusoeClient(url, creds, () => clock.now()).get(`/projects/${first.project_id}/compute/vms/instances`)).status).toBe(200);
    // The key pair made with the store keeps working too.
    expect((await new CrusoeClient(url, first, () => clock.now()).get('/users/identities')).status).toBe(200);
    await hangar.close();
  });

  it('refuses half a pinned key pair or a secret the clients could not decode', () => {
    expect(() => loadConfig({ HANGAR_DEMO_CRUSOE_ACCESS_KEY: 'only-the-access-key' })).toThrow(/must be set together/);
    expect(() => loadConfig({ HANGAR_DEMO_CRUSOE_ACCESS_KEY: 'access-key-0001', HANGAR_DEMO_CRUSOE_SECRET_KEY: 'not base64url!' })).toThrow(/base64url/);
    expect(() => loadConfig({ HANGAR_DEMO_CRUSOE_ACCESS_KEY: 'access-key-0001', HANGAR_DEMO_CRUSOE_SECRET_KEY: 'c2hvcnQ' })).toThrow(/at least 16 bytes/);
  });
});
