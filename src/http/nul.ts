import type { FastifyRequest } from 'fastify';
import { RequestFailure } from './failures.js';

type Part = 'params' | 'query' | 'body';
const PART_NAMES: Record<Part, string> = { params: 'path', query: 'query', body: 'body' };

/**
 * No text the store reads or keeps may hold a NUL character: PostgreSQL refuses it (a 500 if
 * it got that far), SQLite would keep it. Every API refuses one with a 400 naming where it was,
 * in a path parameter, the query, or anywhere in the body (keys included).
 */
export function refuseNulInParts(request: FastifyRequest, parts: Part[]): void {
  for (const part of parts) {
    const where = nulAt(request[part], '');
    if (where !== null) {
      const name = PART_NAMES[part];
      throw new RequestFailure('invalid', 400, `${where === '' ? `the ${name}` : `"${where}"`} must not contain a NUL character (${name})`);
    }
  }
}

/** Where in a value (a field path, '' for the value itself) a string holds a NUL, or null. */
export function nulAt(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (value === null || typeof value !== 'object' || depth > 32) return null;
  for (const [key, item] of Object.entries(value)) {
    const child = path === '' ? key : `${path}.${key}`;
    if (key.includes('\u0000')) return child;
    const found = nulAt(item, child, depth + 1);
    if (found !== null) return found;
  }
  return null;
}
