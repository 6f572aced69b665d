import { readFileSync } from 'node:fs';
import type { TSchema, Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * Loads a catalog data file (regions, types, images, stock) and checks it against the shape
 * the owning cloud declares, so an operator who replaces the file hears exactly what is wrong
 * with it at start-up rather than meeting odd behaviour later.
 */
export function loadCatalogFile<S extends TSchema>(path: string | URL, schema: S): Static<S> {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`catalog ${String(path)}: ${(error as Error).message}`, { cause: error });
  }
  const first = Value.Errors(schema, data).First();
  if (first) throw new Error(`catalog ${String(path)}: ${first.path || '/'} ${first.message}`);
  return data as Static<S>;
}
