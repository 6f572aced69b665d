import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { registerConsole } from '../../src/http/console.js';
import { startHangar } from '../helpers/hangar.js';

describe('the console files at /console', () => {
  const folder = mkdtempSync(join(tmpdir(), 'hangar-console-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('serves the built page uncached and its hashed assets cached for good', async () => {
    mkdirSync(join(folder, 'assets'));
    writeFileSync(join(folder, 'index.html'), '<!doctype html><title>Hangar console</title><script src="/console/assets/index-abc.js"></script>');
    writeFileSync(join(folder, 'assets', 'index-abc.js'), 'console.log(1)');
    const app = Fastify();
    registerConsole(app, folder);
    const redirect = await app.inject('/console');
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('/console/');
    const page = await app.inject('/console/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.body).toContain('Hangar console');
    const asset = await app.inject('/console/assets/index-abc.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
    expect(asset.headers['cache-control']).toContain('immutable');
    for (const bad of ['/console/assets/missing.js', '/console/assets/..%2findex.html', '/console/assets/x.exe']) {
      const res = await app.inject(bad);
      expect(res.statusCode, bad).toBe(404);
      expect(res.json().code).toBe('not_found');
    }
    await app.close();
  });

  it('says how to build the console when there is none', async () => {
    const app = Fastify();
    registerConsole(app, join(folder, 'nothing-here'));
    const res = await app.inject('/console/');
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build');
    await app.close();
  });

  it('is linked from the landing page', async () => {
    const h = await startHangar();
    try {
      const res = await fetch(`${h.url}/`);
      expect(await res.text()).toContain('href="/console/"');
    } finally {
      await h.close();
    }
  });
});
