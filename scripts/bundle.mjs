// Bundles Hangar's sources and the packages they import into one ES module, `<outDir>/hangar.mjs`
// (with a source map), and copies the data files the code reads next to its modules. Node
// spends most of an unbundled start resolving, reading and compiling several hundred small
// modules (Kysely, TypeBox and Fastify are each split into dozens); one file is read and
// compiled in a fraction of that time (see BENCHMARKS.md, start-up).
//
// Used by `npm run build` (scripts/build.mjs) and by the test that starts a bundle.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

/**
 * Packages left out of the bundle, loaded from node_modules at run time: the native SQLite
 * addon, and the PostgreSQL and Redis clients, which Hangar loads only when configured to use
 * them. (Packages loaded with lazy(), src/kernel/lazy.ts, are required by name when first used
 * and never bundled.)
 */
const EXTERNAL = ['better-sqlite3', 'pg', 'pg-native', 'ioredis'];

/**
 * Gives each module its own import.meta.url again. In a bundle every module would see the
 * bundle's URL; code that finds files beside itself (the catalogs' data/catalog.json) or
 * resolves packages from where it lives needs the URL its compiled file would have under
 * outDir, the same tree as src/.
 */
const ownFileUrls = {
  name: 'own-file-urls',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!args.path.startsWith(src + sep)) return undefined;
      const contents = await readFile(args.path, 'utf8');
      if (!contents.includes('import.meta.url')) return undefined; // esbuild loads it as usual
      const compiled = relative(src, args.path).replace(/\.ts$/, '.js').split(sep).join('/');
      return { contents: contents.replaceAll('import.meta.url', `new URL(${JSON.stringify('./' + compiled)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

/** Writes `<outDir>/hangar.mjs`, its map, and src/'s JSON data files under outDir. */
export async function bundle(outDir) {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(src, 'cli/main.ts')],
    outfile: join(outDir, 'hangar.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    tsconfig: join(root, 'tsconfig.json'),
    external: EXTERNAL,
    // CommonJS packages inside an ES module bundle call require() for Node's built-ins.
    banner: { js: "import { createRequire as __hangarCreateRequire } from 'node:module';\nconst require = __hangarCreateRequire(import.meta.url);" },
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
    plugins: [ownFileUrls],
  });
  copyData(src, outDir);
}

function copyData(from, to) {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) copyData(join(from, entry.name), join(to, entry.name));
    else if (entry.name.endsWith('.json')) {
      mkdirSync(to, { recursive: true });
      cpSync(join(from, entry.name), join(to, entry.name));
    }
  }
}
