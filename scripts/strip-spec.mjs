#!/usr/bin/env node
// Copies a provider's API specification into spec/, keeping its shapes (paths, parameters,
// schemas, enums, required lists) and dropping its prose (descriptions, summaries, examples).
// Hangar's tests validate responses against these copies; nothing reads the originals at
// build, run or test time.
//
//   node scripts/strip-spec.mjs <source.json|yaml> <target.json>
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

const [source, target] = process.argv.slice(2);
if (!source || !target) {
  console.error('usage: node scripts/strip-spec.mjs <source.json|yaml> <target.json>');
  process.exit(2);
}

const PROSE = new Set(['description', 'summary', 'example', 'examples', 'x-example', 'x-notes', 'x-sources', 'externalDocs', 'x-tagGroups', 'title']);

function strip(node, parentKey) {
  if (Array.isArray(node)) return node.map((item) => strip(item, null));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    // Under "properties" (and other name maps) keys are field names, not annotations.
    const isNameMap = parentKey === 'properties' || parentKey === 'definitions' || parentKey === 'schemas' ||
      parentKey === 'responses' || parentKey === 'parameters' || parentKey === 'paths' || parentKey === 'securitySchemes';
    if (!isNameMap && PROSE.has(key) && (typeof value !== 'object' || key !== 'title' || value === null)) continue;
    if (!isNameMap && (key === 'tags') && Array.isArray(value) && parentKey === null) continue;
    out[key] = strip(value, key);
  }
  return out;
}

const text = readFileSync(source, 'utf8');
const doc = source.endsWith('.json') ? JSON.parse(text) : parse(text);
writeFileSync(target, JSON.stringify(strip(doc, null)) + '\n');
console.log(`wrote ${target}`);
