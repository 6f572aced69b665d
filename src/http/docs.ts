import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** One API document the reference page offers. */
export interface DocumentLink {
  name: string;
  url: string;
}

/** The files of Swagger UI's standalone bundle the page loads (served from the package, never a CDN). */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/**
 * The browsable API reference at /docs: Swagger UI's standalone bundle (the swagger-ui-dist
 * package, which has no dependencies of its own), served by Hangar itself so that it works
 * offline, with a menu of the APIs' documents.
 */
export function registerDocs(app: FastifyInstance, documents: DocumentLink[]): void {
  // Read on first use, then kept: a few MB nobody needs until the page is opened.
  const files = new Map<string, Buffer>();
  const folder = () => dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  app.get('/docs', async (_request, reply) => reply.type('text/html; charset=utf-8').send(page(documents)));
  app.get('/docs/assets/:file', async (request, reply) => {
    const name = (request.params as { file: string }).file;
    const type = ASSETS[name];
    if (type === undefined) return reply.code(404).send({ error: 'not found', path: request.url });
    let body = files.get(name);
    if (body === undefined) {
      body = readFileSync(join(folder(), name));
      files.set(name, body);
    }
    return reply.type(type).header('cache-control', 'public, max-age=86400').send(body);
  });
}

function page(documents: DocumentLink[]): string {
  const urls = JSON.stringify(documents).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hangar API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<style>body{margin:0}</style></head>
<body><div id="reference"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({
  urls: ${urls},
  dom_id: '#reference',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
  validatorUrl: null
});
</script></body></html>`;
}
