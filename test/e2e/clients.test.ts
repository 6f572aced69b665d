import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHangar, type HangarProcess } from '../helpers/process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The shell block the README marks as run here ("Point your client at Hangar"). */
function readmeBlock(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const match = /<!-- run by test\/e2e\/clients\.test\.ts -->\n```sh\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error('README.md has no block marked "run by test/e2e/clients.test.ts"');
  return match[1]!;
}

describe.skipIf(process.env.HANGAR_TEST_ENGINE === 'postgres')("the README's client commands", () => {
  let server: HangarProcess;
  beforeAll(async () => {
    server = await spawnHangar({ HANGAR_DATABASE_URL: 'sqlite::memory:' }, { timeoutMs: 90_000 });
  }, 120_000);
  afterAll(() => server.stop());

  it('run as printed: curl with the Genesis token (both headers), crusoe-curl.sh signing Crusoe requests', () => {
    const block = readmeBlock();
    expect(block).toContain('eval "$(npx hangar demo --env)"');
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CRUSOE_') && !name.startsWith('GENESISCLOUD_')));
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', block], { cwd: root, env: { ...env, HANGAR_URL: server.url }, encoding: 'utf8', timeout: 100_000 });
    expect(run.status, run.stderr).toBe(0);
    const answers = run.stdout.replace(/}\{/g, '}\n{').trim().split('\n').map((line) => JSON.parse(line));
    expect(answers).toHaveLength(4);
    expect(answers[0]).toEqual({ instances: [], total_count: 0, page: 1, per_page: 50 });
    expect(answers[1].images).toHaveLength(1);
    expect(answers[1].images[0].type).toBe('base-os');
    expect(answers[2].items).toContain('us-east1-a');
    expect(answers[3]).toMatchObject({ items: [] });
  }, 120_000); // (a CLI run and four curls: seconds each on a loaded machine)
});
