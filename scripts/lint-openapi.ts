// npm run lint:openapi [dir]: writes the three OpenAPI documents Hangar serves (Genesis,
// Crusoe, admin) to `dir` (default .hangar/openapi) and lints them with Redocly's recommended
// rules (redocly.yaml). Exits with Redocly's status.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHangar } from '../src/app.js';
import { loadConfig } from '../src/config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = resolve(process.argv[2] ?? join(root, '.hangar/openapi'));
const DOCUMENTS = { genesis: '/compute/v1/openapi.json', crusoe: '/v1alpha5/openapi.json', admin: '/admin/v1/openapi.json' };

const hangar = await createHangar(loadConfig({ HANGAR_DATABASE_URL: 'sqlite::memory:', HANGAR_LOG_LEVEL: 'silent', PORT: '0' }, false));
const files: string[] = [];
try {
  mkdirSync(dir, { recursive: true });
  for (const [name, url] of Object.entries(DOCUMENTS)) {
    const res = await hangar.app.inject({ method: 'GET', url });
    if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}`);
    const file = join(dir, `${name}.json`);
    writeFileSync(file, res.body);
    files.push(file);
  }
} finally {
  await hangar.close();
}
const lint = spawnSync(join(root, 'node_modules/.bin/redocly'), ['lint', '--config', join(root, 'redocly.yaml'), '--format', 'stylish', ...files], {
  stdio: 'inherit',
  env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
});
process.exit(lint.status ?? 1);
