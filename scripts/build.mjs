#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ (and copies the catalog data files), so that
// `npm start` (bin/hangar.js) runs plain JavaScript instead of compiling TypeScript on load:
// about 0.4 s less start-up (see BENCHMARKS.md). bin/hangar.js uses dist/ only while it is
// newer than every file under src/; otherwise it runs the sources through tsx, as without a
// build. A build with type errors leaves no stamp, so it is never used.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const startedAt = Date.now(); // a source saved during the build makes it stale at once
rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('build: tsc failed; dist/ is not used until a build succeeds');
  process.exit(tsc.status ?? 1);
}
// Files the code reads at run time next to its modules (catalogs).
const copy = (dir) => {
  for (const entry of readdirSync(join(root, 'src', dir), { withFileTypes: true })) {
    const rel = join(dir, entry.name);
    if (entry.isDirectory()) copy(rel);
    else if (entry.name.endsWith('.json')) {
      mkdirSync(dirname(join(dist, rel)), { recursive: true });
      cpSync(join(root, 'src', rel), join(dist, rel));
    }
  }
};
copy('.');
writeFileSync(join(dist, '.built-at'), `${startedAt}\n`);
console.log('build: dist/ is up to date');
