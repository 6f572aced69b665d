#!/usr/bin/env node
// `npm run test:browser`: builds the web console when it is stale, then runs test/browser in a
// real Chromium (Debian's `chromium`, driven by playwright-core; never a downloaded browser).
// CHROMIUM=/path/to/chromium chooses another binary. HANGAR_SCREENSHOTS=docs writes the
// README's screenshots to docs/console/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { buildConsole, consoleFresh } from './console.mjs';

const chromium = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
if (!chromium) {
  console.error('test:browser: no Chromium found (apt-get install chromium, or set CHROMIUM=/path/to/chromium)');
  process.exit(1);
}
if (!consoleFresh()) {
  console.log('test:browser: building the console');
  await buildConsole();
}
const result = spawnSync('npx', ['vitest', 'run', '--config', 'vitest.browser.config.ts', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, CHROMIUM: chromium },
});
process.exit(result.status ?? 1);
