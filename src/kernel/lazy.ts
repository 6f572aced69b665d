import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded when first used instead of at start-up: for packages only some
 * requests need (SSH key parsing, YAML output), whose loading would otherwise add tens of
 * milliseconds to every start.
 */
export function lazy<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}
