import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

/** The package's root: the nearest folder above this module with a package.json (src/ or dist/ alike). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * The web console at /console: the files `npm run build` (or `npm start`, when they are stale)
 * wrote to dist/console, served as they are (hashed assets cached for good, the page never).
 * It speaks only the admin API and the clouds' public APIs. Without a build, /console says how
 * to make one.
 */
export function registerConsole(app: FastifyInstance, folder = join(packageRoot(), 'dist', 'console')): void {
  const assets = new Map<string, Buffer>();
  const page = () => {
    try {
      return readFileSync(join(folder, 'index.html'));
    } catch {
      return null;
    }
  };
  app.get('/console', async (_request, reply) => reply.redirect('/console/'));
  app.get('/console/', async (_request, reply) => {
    const html = page();
    if (html === null) {
      return reply
        .code(503)
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hangar console</title></head><body style="font:15px system-ui;margin:2rem">' +
            '<h1>The console is not built</h1><p>Run <code>npm run build</code> (or start Hangar with <code>npm start</code>, which builds it when it is missing) and reload.</p></body></html>',
        );
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  });
  app.get('/console/assets/:file', async (request, reply) => {
    const name = (request.params as { file: string }).file;
    const type = TYPES[extname(name)];
    if (!/^[\w.-]+$/.test(name) || type === undefined) return reply.code(404).send({ code: 'not_found', message: `no console file "${name}"` });
    let body = assets.get(name);
    if (body === undefined) {
      try {
        body = readFileSync(join(folder, 'assets', name));
      } catch {
        return reply.code(404).send({ code: 'not_found', message: `no console file "${name}"` });
      }
      assets.set(name, body);
    }
    return reply.type(type).header('cache-control', 'public, max-age=31536000, immutable').send(body);
  });
}
