import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The README's parallel-workers example: its `ts` blocks, by the file name each starts with. */
function readmeFiles(): Record<string, string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('#### Parallel test workers'));
  const files: Record<string, string> = {};
  for (const match of section.matchAll(/```ts\n\/\/ ([\w.-]+)[^\n]*\n([\s\S]*?)```/g)) {
    if (Object.keys(files).length === 3) break;
    files[match[1]!] = match[2]!;
  }
  return files;
}

// The same on either engine pass: it runs once.
describe.skipIf(process.env.HANGAR_TEST_ENGINE === 'postgres')("the README's parallel vitest example", () => {
  it('runs as printed: four test files in parallel workers against one Hangar, each moving its own account clock', () => {
    const files = readmeFiles();
    expect(Object.keys(files)).toEqual(['vitest.config.ts', 'hangar-setup.ts', 'boot.test.ts']);
    const project = mkdtempSync(join(tmpdir(), 'hangar-parallel-'));
    try {
      mkdirSync(join(project, 'node_modules'));
      symlinkSync(root, join(project, 'node_modules', 'hangar'), 'dir');
      symlinkSync(join(root, 'node_modules', 'vitest'), join(project, 'node_modules', 'vitest'), 'dir');
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-suite', type: 'module', private: true }));
      writeFileSync(join(project, 'vitest.config.ts'), files['vitest.config.ts']!);
      writeFileSync(join(project, 'hangar-setup.ts'), files['hangar-setup.ts']!);
      for (let i = 1; i <= 4; i++) writeFileSync(join(project, `boot-${i}.test.ts`), files['boot.test.ts']!);
      const run = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=verbose'], {
        cwd: project,
        encoding: 'utf8',
        timeout: 200_000,
        env: { ...process.env, HANGAR_TEST_ENGINE: '', VITEST: '', VITEST_WORKER_ID: '', VITEST_POOL_ID: '', NODE_ENV: '' },
      });
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+4 passed \(4\)/);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 240_000); // (a vitest run of its own, whose workers each load Hangar: seconds each on a loaded machine)
});
