#!/usr/bin/env node
// `npm run build`: type-checks src/ and bundles it into dist/hangar.mjs (scripts/bundle.mjs),
// and builds the web console (console/) into dist/console,
// so that `npm start` (bin/hangar.js) loads one file of plain JavaScript instead of compiling
// TypeScript on load and resolving hundreds of modules (see BENCHMARKS.md, start-up).
// bin/hangar.js uses dist/ only while it is newer than every file under src/; otherwise it runs
// the sources through tsx, as without a build. A build with type errors leaves no stamp, so it
// is never used.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundle, root } from './bundle.mjs';
import { buildConsole } from './console.mjs';

const dist = join(root, 'dist');
const startedAt = Date.now(); // a source saved during the build makes it stale at once
rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('build: tsc failed; dist/ is not used until a build succeeds');
  process.exit(tsc.status ?? 1);
}
await bundle(dist);
writeFileSync(join(dist, '.built-at'), `${startedAt}\n`);
// The web console, served at /console (scripts/console.mjs).
await buildConsole();
console.log('build: dist/ is up to date (server bundle and web console)');
