import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the build, without types
import { bundle } from '../../scripts/bundle.mjs';
import { goTimestamp, signCrusoe } from '../helpers/crusoe.js';
import { publicKey } from '../helpers/hangar.js';
import { spawnHangar, type HangarProcess } from '../helpers/process.js';

// What `npm run build` makes `npm start` run: the sources and their packages in one module.
// Each check reaches something a bundle could lose: files found beside a module (both clouds'
// catalogs), packages loaded on first use (sshpk, yaml), and the native SQLite addon left
// outside the bundle (a file store). The checkpointing worker resolves its addon the way the
// lazy packages do; its failures are silent by design, so nothing here observes it.
const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = join(root, '.hangar', `bundle-test-${process.pid}`);
const TOKEN = 'bundle-test-token-0123456789abcdef';
const ACCESS = 'bundletestkey';
const SECRET = Buffer.alloc(24, 7).toString('base64url');

describe.skipIf(process.env.HANGAR_TEST_ENGINE === 'postgres')('the bundle `npm run build` makes', () => {
  let hangar: HangarProcess;

  beforeAll(async () => {
    rmSync(outDir, { recursive: true, force: true });
    await bundle(outDir);
    writeFileSync(join(outDir, 'launch.mjs'), "import { main } from './hangar.mjs';\nawait main(process.argv);\n");
    hangar = await spawnHangar(
      {
        HANGAR_DATABASE_URL: `sqlite:${join(outDir, 'store.db')}`,
        HANGAR_DEMO_GENESIS_TOKEN: TOKEN,
        HANGAR_DEMO_CRUSOE_ACCESS_KEY: ACCESS,
        HANGAR_DEMO_CRUSOE_SECRET_KEY: SECRET,
      },
      { script: join(outDir, 'launch.mjs') },
    );
  }, 60_000);

  afterAll(async () => {
    const code = await hangar?.stop();
    rmSync(outDir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  const genesis = (path: string, init: RequestInit = {}) =>
    fetch(`${hangar.url}/compute/v1${path}`, { ...init, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', ...init.headers } });

  it('serves Genesis from its own catalog, and parses SSH keys', async () => {
    const availability = await genesis('/availability/ARC-IS-HAF-1/instances');
    expect(availability.status).toBe(200);
    expect(((await availability.json()) as any).availability.instance_types.length).toBeGreaterThan(0);

    const key = publicKey('ed25519', 'me@bundle');
    const created = await genesis('/ssh-keys', { method: 'POST', body: JSON.stringify({ name: 'bundled', value: key }) });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: 'bundled', type: 'ssh-ed25519', value: key });
    const listed = (await (await genesis('/ssh-keys')).json()) as any;
    expect(listed.ssh_keys.map((k: { name: string }) => k.name)).toEqual(['bundled']);
  });

  it('writes its OpenAPI document as YAML', async () => {
    const res = await fetch(`${hangar.url}/compute/v1/openapi.yaml`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^openapi: 3\./m);
  });

  it('serves Crusoe from its own catalog', async () => {
    const path = '/v1alpha5/locations';
    const timestamp = goTimestamp(Date.now());
    const signature = signCrusoe({ secret: SECRET, method: 'GET', path, rawQuery: '', timestamp });
    const res = await fetch(hangar.url + path, { headers: { Authorization: `Bearer 1.0:${ACCESS}:${signature}`, 'X-Crusoe-Timestamp': timestamp } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).items.length).toBeGreaterThan(0);
  });
});
