#!/usr/bin/env node
// Summarizes a V8 CPU profile (node --cpu-prof): where the samples were spent, by function
// (self time) and by package or source folder, with the heaviest call stacks' inclusive time.
//
//   node bench/profile-summary.mjs <file.cpuprofile> [top=30] [requests]
//
// With the number of requests the profile covers, it also prints the time by stage of a
// request (auth, routing, validation, store, render, serialisation, metrics, journal,
// logging, HTTP, ...) in microseconds per request.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const [file, topArg, requestsArg] = process.argv.slice(2);
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

// Stages: each sample goes to the stage of the innermost frame on its stack that names one;
// frames that name none (natives, compiled serialisers, crypto, microtask plumbing) pass it
// to their caller.
const STAGES = [
  ['auth', (w, f) => /^src\/clouds\/[^/]+\/(http|signing)\.ts$/.test(w) && /auth|sign|credential|verify|key|token|account/i.test(f) || /^src\/clouds\/crusoe\/signing\.ts$/.test(w) || /^src\/kernel\/(tenancy|credentials)/.test(w)],
  ['rate limit', (w, f) => w === 'src/http/redis.ts' || /rate|limit/i.test(f) && /^src\/clouds\/[^/]+\/http\.ts$/.test(w)],
  ['routing', (w) => w === 'find-my-way'],
  ['serialisation', (w, f) => w === 'src/http/validation.ts' && f === 'serializeResponse'],
  ['validation', (w) => w === 'ajv' || w === 'src/http/validation.ts' || w === '@sinclair/typebox' || w === 'src/http/nul.ts'],
  ['read cache', (w) => w === 'src/http/read-cache.ts'],
  ['store (SQL, driver)', (w) => w.startsWith('src/kernel/db/') || ['kysely', 'better-sqlite3', 'pg', 'pg-protocol', 'pg-pool', 'pg-types', 'postgres-array', 'postgres-date'].includes(w)],
  ['model', (w) => /^src\/clouds\/[^/]+\/model\//.test(w) || w.startsWith('src/kernel/')],
  ['render', (w) => /^src\/clouds\/[^/]+\/(render|wire|zero-values)\.ts$/.test(w)],
  ['serialisation', (w, f) => w === 'fast-json-stringify' || (w === 'fastify' && /seriali/i.test(f))],
  ['metrics', (w) => w === 'src/http/metrics.ts' || w === 'src/http/request-metrics.ts' || w === 'prom-client'],
  ['journal', (w) => w === 'src/http/journal.ts'],
  ['logging', (w) => w === 'pino' || w === 'src/http/logging.ts' || w === 'abstract-logging' || w === 'sonic-boom'],
  ['route handlers, other Hangar code', (w) => w.startsWith('src/')],
  ['fastify (hooks, reply)', (w) => w === 'fastify' || w === 'light-my-request' || w === 'avvio'],
  ['node: HTTP parsing, socket writes', (w) => w === 'node:_http_server' || w === 'node:_http_outgoing' || w === 'node:_http_common' || w === 'node:net' || w.startsWith('node:internal/stream') || w === 'node:internal/streams'],
  ['garbage collector', (w) => w === '(garbage collector)'],
  ['(idle)', (w) => w === '(idle)'],
];
const stageOf = (leaf) => {
  for (let cur = leaf; cur !== undefined; cur = parent.get(cur)) {
    const cf = byId.get(cur).callFrame;
    const w = where(cf);
    for (const [name, test] of STAGES) if (test(w, cf.functionName || '')) return name;
  }
  return 'other (program, module loading, timers)';
};
const stages = new Map();
for (const [id, t] of self) {
  const name = stageOf(id);
  stages.set(name, (stages.get(name) ?? 0) + t);
}
const busy = total - (stages.get('(idle)') ?? 0);
const requests = Number(requestsArg ?? 0);
console.log(`\ntime by stage (share of the busy time${requests ? `; µs per request over ${requests} requests` : ''})`);
for (const [name, t] of [...stages].filter(([n]) => n !== '(idle)').sort((a, b) => b[1] - a[1])) {
  console.log(`${((100 * t) / busy).toFixed(1).padStart(5)}%${requests ? `  ${(t / requests).toFixed(1).padStart(7)} µs` : ''}  ${name}`);
}
