import type { AdminClient } from './client.js';
import { CliError } from './client.js';

/** What every command group is given: the admin API of the running Hangar, and how to print an answer. */
export interface Cli {
  client(): AdminClient;
  /** JSON with --json, else the human form. */
  print(value: unknown, human: () => string): void;
}

export function toInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CliError(`expected a whole number, got "${value}"`);
  return n;
}
