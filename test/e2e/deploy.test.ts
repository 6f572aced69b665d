import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { spawnHangar } from '../helpers/process.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/**
 * What can be checked of the container image and the compose file without a Docker daemon
 * (none runs here): the final stage's shape, its health check run against a real server, and
 * the compose file's settings as Hangar reads them.
 */
describe.skipIf(process.env.HANGAR_TEST_ENGINE === 'postgres')('Dockerfile and deploy/docker-compose.yml', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const final = stages[stages.length - 1]!;

  it('builds in two stages; the final one has no compilers, runs as a user, keeps the store in a volume', () => {
    expect(stages).toHaveLength(2);
    expect(stages[0]).toMatch(/apt-get install [^\n]*g\+\+/);
    expect(final).not.toMatch(/apt-get|g\+\+|\bmake\b|python3|npm (ci|install)/);
    expect(final).toMatch(/^USER node$/m);
    expect(final).toMatch(/^VOLUME \["\/data"\]$/m);
    expect(final).toMatch(/HANGAR_DATABASE_URL=sqlite:\/data\/hangar\.db/);
    expect(final).toMatch(/HOST=0\.0\.0\.0/);
    expect(final).toMatch(/^HEALTHCHECK /m);
    expect(final).toMatch(/^CMD \["node", "bin\/hangar\.js", "serve"\]$/m);
  });

  it("the image's health check passes against a ready server and fails where none answers", async () => {
    const command = JSON.parse(/HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])$/m.exec(final)![1]!) as string[];
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    const server = await spawnHangar({ HANGAR_DATABASE_URL: 'sqlite::memory:' }, { timeoutMs: 90_000 });
    try {
      const port = new URL(server.url).port;
      const ok = spawnSync(process.execPath, command.slice(1), { env: { ...process.env, PORT: port }, timeout: 60_000 });
      expect(ok.status).toBe(0);
    } finally {
      await server.stop();
    }
    const refused = spawnSync(process.execPath, command.slice(1), { env: { ...process.env, PORT: '1' }, timeout: 60_000 });
    expect(refused.status).toBe(1);
  }, 120_000);

  it('the compose file pins the demo Genesis token and Crusoe key pair it says it pins, in a form Hangar takes', () => {
    const compose = parseYaml(read('deploy/docker-compose.yml'));
    const env = compose['x-hangar'].environment as Record<string, string>;
    const config = loadConfig(env, false);
    expect(config.demo.genesisToken).toBe('demo-genesis-token-change-me');
    expect(config.demo.crusoeAccessKey).toBe('demo-crusoe-access-key');
    expect(Buffer.from(config.demo.crusoeSecretKey!, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(config.adminToken).not.toBeNull(); // the admin API is reached through the proxy
    for (const replica of ['hangar-1', 'hangar-2', 'hangar-3']) expect(compose.services[replica].environment).toEqual(env);
  });
});
