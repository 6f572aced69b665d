import { Type } from '@sinclair/typebox';
import type { CloudProject, FleetSource } from '../http/cloud.js';
import type { UsageSources } from './usage.js';
import type { Journal } from '../http/journal.js';
import { parseDuration } from '../kernel/clock.js';
import type { Kernel } from '../kernel/kernel.js';

/** What the admin API drives beyond the kernel: account creation and reset include the demo account. */
export interface AdminDeps {
  kernel: Kernel;
  journal: Journal;
  adminToken: string | null;
  /** The clouds served and their prefixes: what a fault rule's `cloud` and `path` may name. */
  clouds: readonly { name: string; prefix: string }[];
  createAccount(name: string): Promise<Record<string, unknown>>;
  reset(seed: string | null, freezeAt: number | null, renewDemo: boolean): Promise<void>;
  /** The demo account and the credentials this process knows for it. */
  demo(): { accountId: string | null; credentials: Record<string, Record<string, unknown>> };
  /** The clouds' kinds of resource, as the console's fleet lists them. */
  fleet?: readonly FleetSource[];
  /** The projects of the clouds that have them (of one account, or all). */
  projects?(accountId?: string): Promise<CloudProject[]>;
  /** The clouds' usage sources, for the console's usage page. */
  usage?: UsageSources;
}

export class AdminError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) => new AdminError(404, 'not_found', `${what} "${id}" not found`);
export const invalid = (message: string) => new AdminError(400, 'invalid_request', message);

/** A duration field's value in milliseconds, or the admin API's 400 naming the field. */
export function duration(value: string | number, field: string): number {
  try {
    return parseDuration(value);
  } catch {
    throw invalid(`"${field}" must be a duration such as "90s", "5m" or a number of milliseconds (got ${JSON.stringify(value)})`);
  }
}

export const AccountParams = Type.Object({ account_id: Type.String() });
