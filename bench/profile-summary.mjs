#!/usr/bin/env node
// Summarizes a V8 CPU profile (node --cpu-prof): where the samples were spent, by function
// (self time) and by package or source folder, with the heaviest call stacks' inclusive time.
//
//   node bench/profile-summary.mjs <file.cpuprofile> [top=30]
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Time per sample: the deltas (microseconds).
const self = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(id, (self.get(id) ?? 0) + dt);
  total += dt;
});

// Frames in a bundle (dist/hangar.mjs) are named by where their code came from, through the
// bundle's source map: a package or a source file.
const maps = new Map();
const sourceMapOf = (url) => {
  if (!maps.has(url)) {
    const path = url.startsWith('file://') ? fileURLToPath(url) + '.map' : null;
    maps.set(url, path && existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, 'utf8'))) : null);
  }
  return maps.get(url);
};
for (const node of profile.nodes) {
  const cf = node.callFrame;
  const map = cf.url && sourceMapOf(cf.url);
  const entry = map ? map.findEntry(cf.lineNumber, cf.columnNumber) : null;
  if (entry?.originalSource) Object.assign(cf, { url: new URL(entry.originalSource, cf.url).href, lineNumber: entry.originalLine });
}

const where = (cf) => {
  const url = cf.url || '';
  if (!url) return cf.functionName.startsWith('(') ? cf.functionName : '(native)';
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  // Hangar's own code: named by source path.
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
};
const label = (cf) => `${cf.functionName || '(anonymous)'} ${where(cf)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;

const fnSelf = new Map();
const pkgSelf = new Map();
const inclusive = new Map();
for (const [id, t] of self) {
  const n = byId.get(id);
  const key = label(n.callFrame);
  fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
  const pkg = where(n.callFrame);
  pkgSelf.set(pkg, (pkgSelf.get(pkg) ?? 0) + t);
  // Inclusive: every distinct function on the stack gets the sample once.
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur).callFrame);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + t);
  }
}

const pct = (t) => ((100 * t) / total).toFixed(1).padStart(5) + '%';
const print = (title, map, n) => {
  console.log(`\n${title}`);
  for (const [k, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(t)}  ${k}`);
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
print('self time by package / source folder', pkgSelf, 20);
print('self time by function', fnSelf, top);
print('inclusive time by function', inclusive, top);
