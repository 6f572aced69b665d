#!/usr/bin/env node
// Entry point of the `hangar` command. The sources are TypeScript: a build (`npm run build`)
// bundles them into dist/hangar.mjs, which starts faster and is used while it is newer than
// every file under src/; otherwise tsx compiles them on load (and caches the result), so a
// checkout runs without a separate build step.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url);
// `npm start` in a checkout builds the web console first when it is missing or stale (a few
// seconds, once); an install without sources serves the console it was built with.
if (process.env.npm_lifecycle_event === 'start' && process.argv[2] === 'serve' && existsSync(new URL('scripts/console.mjs', root))) {
  const { ensureConsole } = await import('../scripts/console.mjs');
  await ensureConsole();
}
const { main } = fresh() ? await import(new URL('dist/hangar.mjs', root).href) : await viaTsx();
await main(process.argv);

async function viaTsx() {
  const { register } = await import('tsx/esm/api');
  register();
  return import('../src/cli/main.ts');
}

/**
 * Whether dist/ was built (without errors) after the last change under src/ and to the
 * dependencies (the bundle holds the packages' code too).
 */
function fresh() {
  if (process.env.HANGAR_NO_BUILD === '1') return false;
  // An install without sources (the container image): the build is all there is.
  if (!existsSync(new URL('src/', root))) return true;
  let builtAt;
  try {
    builtAt = Number(readFileSync(new URL('dist/.built-at', root), 'utf8'));
  } catch {
    return false;
  }
  const newer = (dir) =>
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const path = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
      return statSync(path).mtimeMs >= builtAt || (entry.isDirectory() && newer(path));
    });
  const before = (file) => statSync(new URL(file, root)).mtimeMs < builtAt;
  // (the directories too: a deleted or renamed file shows as a changed directory)
  return before('package.json') && before('package-lock.json') && before('src/') && !newer(new URL('src/', root));
}
