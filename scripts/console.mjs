// The web console (console/, React + Vite) built into dist/console, which Hangar serves at
// /console (src/http/console.ts). Used by `npm run build` (scripts/build.mjs), by `npm start`
// when the build is missing or older than console/'s files (bin/hangar.js), and by the browser
// tests. The build needs the dev dependencies (Vite, React); serving it needs nothing.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = join(root, 'console');
const out = join(root, 'dist', 'console');
const stamp = join(out, '.built-at');

/** Whether dist/console was built after the last change to console/ and to the dependencies. */
export function consoleFresh() {
  let builtAt;
  try {
    builtAt = Number(readFileSync(stamp, 'utf8'));
  } catch {
    return false;
  }
  const newer = (dir) =>
    statSync(dir).mtimeMs >= builtAt ||
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? newer(path) : statSync(path).mtimeMs >= builtAt;
    });
  return statSync(join(root, 'package-lock.json')).mtimeMs < builtAt && !newer(sources);
}

/** Whether this checkout can build the console (its sources and Vite are here). */
export function canBuildConsole() {
  return existsSync(sources) && existsSync(join(root, 'node_modules', 'vite', 'package.json'));
}

/** Builds console/ into dist/console (a failed build leaves no stamp). */
export async function buildConsole() {
  const startedAt = Date.now();
  const { build } = await import('vite');
  await build({ configFile: join(sources, 'vite.config.ts'), logLevel: 'warn' });
  writeFileSync(stamp, `${startedAt}\n`);
}

/** Builds the console unless it is up to date; true when a console is there to serve. */
export async function ensureConsole(log = (line) => console.error(line)) {
  if (consoleFresh()) return true;
  if (!canBuildConsole()) return existsSync(join(out, 'index.html'));
  log('console: building the web console (once, until console/ changes)…');
  const started = Date.now();
  try {
    await buildConsole();
    log(`console: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return true;
  } catch (error) {
    log(`console: the build failed (${error.message}); /console explains how to build it`);
    return false;
  }
}

// `node scripts/console.mjs`: build it now.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildConsole();
  console.log('build: dist/console is up to date');
}
