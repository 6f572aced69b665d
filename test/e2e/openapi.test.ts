import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startHangar, type TestHangar } from '../helpers/hangar.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const APIS = [
  { name: 'Genesis', prefix: '/compute/v1' },
  { name: 'Crusoe', prefix: '/v1alpha5' },
  { name: 'admin', prefix: '/admin/v1' },
];
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Every operation of a document, as [method, path, operation]. */
function operations(doc: any): [string, string, any][] {
  return Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => [method, path, op] as [string, string, any]),
  );
}

describe('the OpenAPI documents and the reference page', () => {
  let h: TestHangar;
  const docs: Record<string, any> = {};
  beforeAll(async () => {
    // Documents are public even where the admin API wants a token.
    h = await startHangar({ env: { HANGAR_ADMIN_TOKEN: 'sekrit' } });
    for (const { prefix } of APIS) docs[prefix] = await (await fetch(`${h.url}${prefix}/openapi.json`)).json();
  });
  afterAll(() => h.close());

  it.each(APIS)('$name: the same document in JSON and YAML, without credentials', async ({ prefix }) => {
    const json = await fetch(`${h.url}${prefix}/openapi.json`);
    const yaml = await fetch(`${h.url}${prefix}/openapi.yaml`);
    expect(json.status).toBe(200);
    expect(yaml.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(parseYaml(await yaml.text())).toEqual(await json.json());
    expect(docs[prefix].openapi).toBe('3.1.0');
  });

  it.each(APIS)('$name: every operation has a summary, a success response, and its errors by status', ({ prefix }) => {
    const ops = operations(docs[prefix]);
    expect(ops.length).toBeGreaterThan(prefix === '/admin/v1' ? 20 : 40);
    for (const [method, path, op] of ops) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(typeof op.summary === 'string' && op.summary.length > 3, `${where}: summary`).toBe(true);
      const statuses = Object.keys(op.responses);
      expect(statuses.some((s) => /^2\d\d$/.test(s)), `${where}: success`).toBe(true);
      expect(statuses, `${where}: errors by status`).not.toContain('default');
      const errors = statuses.filter((s) => /^[45]\d\d$/.test(s));
      expect(errors.some((s) => s.startsWith('4')), `${where}: a 4xx`).toBe(true);
      for (const status of errors) {
        expect(op.responses[status].description.length, `${where} ${status}`).toBeGreaterThan(5);
        expect(op.responses[status].content['application/json'].schema.$ref, `${where} ${status}`).toMatch(/^#\/components\/schemas\//);
      }
    }
  });

  it('documents what each API answers: path errors, input errors, quotas, conflicts, empty and CSV answers', () => {
    const genesis = docs['/compute/v1'].paths;
    expect(Object.keys(genesis['/instances/{instance_id}'].get.responses)).toEqual(['200', '401', '404', '429', '500', '503']);
    expect(Object.keys(genesis['/instances'].post.responses)).toEqual(['201', '400', '401', '403', '429', '500', '503']);
    expect(genesis['/instances'].post.responses['403'].description).toMatch(/quota/);
    const crusoe = docs['/v1alpha5'].paths;
    // The operations that answer without a JSON body document their success too.
    for (const [path, method] of [
      ['/users/ssh-keys', 'delete'],
      ['/users/tokens', 'delete'],
      ['/organizations/projects/{project_id}', 'delete'],
      ['/projects/{project_id}/networking/ib-partitions/{ib_partition_id}', 'delete'],
      ['/projects/{project_id}/compute/instance-templates/{instance_template_id}', 'delete'],
      ['/projects/{project_id}/compute/instance-groups/{instance_group_id}', 'delete'],
    ] as const) {
      expect(crusoe[path][method].responses['200'], `${method} ${path}`).toEqual({ description: expect.any(String) });
    }
    expect(crusoe['/organizations/{org_id}/usage/export'].get.responses['200'].content).toEqual({ 'text/csv': { schema: { type: 'string' } } });
    expect(Object.keys(crusoe['/projects/{project_id}/storage/disks/{disk_id}'].delete.responses)).toEqual(['200', '401', '403', '404', '409', '500', '503']);
    // The usage route answers grpc-gateway's error body, as the spec says of it.
    expect(crusoe['/organizations/{org_id}/usage'].get.responses['400'].content['application/json'].schema.$ref).toBe('#/components/schemas/RpcStatus');
    const admin = docs['/admin/v1'].paths;
    expect(admin['/reset'].post.responses['204']).toBeDefined();
    expect(Object.keys(admin['/demo'].get.responses)).toEqual(['200', '401', '403', '404']);
  });

  // Redocly's recommended rules (redocly.yaml), through the same script as `npm run lint:openapi`.
  it.skipIf(process.env.HANGAR_TEST_ENGINE === 'postgres')('all three pass Redocly lint with no error and no warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-openapi-'));
    try {
      const lint = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/lint-openapi.ts', dir], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      const output = `${lint.stdout}\n${lint.stderr}`;
      expect(lint.status, output).toBe(0);
      for (const name of ['genesis', 'crusoe', 'admin']) expect(output).toContain(`${name}.json: validated`);
      expect(output).toContain('Your API descriptions are valid');
      // (Redocly's boxed notice that Node 20 support ends in later releases aside: 2.77.0 is pinned)
      const findings = output.split('\n').filter((line) => !line.includes('║'));
      expect(findings.filter((line) => /\b(warning|error)\b/i.test(line))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('serves a browsable reference at /docs from its own files, nothing from another host', async () => {
    const res = await fetch(`${h.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    for (const { prefix } of APIS) expect(html).toContain(`"url":"${prefix}/openapi.json"`);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      const file = await fetch(`${h.url}${asset}`);
      expect(file.status, asset).toBe(200);
      expect((await file.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
    }
    expect((await fetch(`${h.url}/docs/assets/package.json`)).status).toBe(404);
    expect((await fetch(`${h.url}/docs/assets/..%2Fpackage.json`)).status).toBe(404);
    // The landing page links the reference and every document.
    const landing = await (await fetch(`${h.url}/`)).text();
    expect(landing).toContain('href="/docs"');
    for (const { prefix } of APIS) expect(landing).toContain(`href="${prefix}/openapi.yaml"`);
  });
});
