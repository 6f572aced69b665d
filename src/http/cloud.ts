import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.js';
import type { Kernel } from '../kernel/kernel.js';
import type { ResourceDef } from '../kernel/resources.js';
import type { Failure } from './failures.js';

/**
 * A cloud is a room with one door: this interface. It gets the kernel, registers its tables,
 * lifecycles and account hooks with it, and hands back the HTTP plugin mounted at its prefix.
 * Nothing else in Hangar imports from a cloud's folder.
 */
export interface CloudModule {
  readonly name: string;
  /** What the API is called in the reference page and on the landing page. */
  readonly title?: string;
  readonly prefix: string;
  setup(kernel: Kernel, config: Config): Promise<CloudRuntime>;
}

export interface CloudRuntime {
  /** Routes, auth, error rendering and rate limits of this cloud, mounted at its prefix. */
  readonly plugin: FastifyPluginAsync;
  /**
   * A failure answered outside the plugin's own handlers (a URL that does not decode, a request
   * that timed out, a path under the prefix that normalises out of it), in this cloud's error body.
   */
  renderFailure(failure: Failure): { status: number; body: unknown };
  /**
   * Makes sure credentials pinned by the environment (e.g. HANGAR_DEMO_GENESIS_TOKEN) exist on
   * the demo account of a store that already has one; returns them for the banner, or null.
   */
  pinDemoCredentials?(accountId: string): Promise<Record<string, unknown> | null>;
  /** Releases what the cloud holds open (connections), when Hangar stops. */
  close?(): Promise<void>;
  /** Lines printed at start-up telling a newcomer how to call this cloud as the demo account. */
  banner?(demo: Record<string, unknown>, baseUrl: string): string[];
  /** The kinds of resource this cloud holds, as the console's fleet lists them (src/admin/fleet.ts). */
  readonly fleet?: readonly FleetSource[];
  /** On a cloud with projects: its projects (of one account, or all), oldest first. */
  projects?(accountId?: string): Promise<CloudProject[]>;
  /** What the console's usage page charts for this cloud. */
  readonly usage?: CloudUsage;
}

/** A quantity a cloud reports usage in, and the intervals that accrue it. */
export interface CloudUsage {
  /** e.g. `gpu-hours` */
  readonly metric: string;
  /** Where the intervals come from, as the page says (e.g. `metering ledger`). */
  readonly source: string;
  /** The intervals overlapping [from, end): each accrues `rate` of the metric per hour while open. */
  intervals(from: number, end: number): Promise<UsageInterval[]>;
}

export interface UsageInterval {
  /** null: the resource is gone with its account, so no account can be named. */
  account_id: string | null;
  project_id: string | null;
  started_at: number;
  /** null: still open (counts up to the clock's now). */
  ended_at: number | null;
  rate: number;
}

/** A project of a cloud that has them (Crusoe), as the console names and links it. */
export interface CloudProject {
  /** The cloud it belongs to. */
  cloud: string;
  id: string;
  name: string;
  account_id: string;
  organization_id: string;
}

/** A read of a resource gone between a listing and the read: null, as the cloud's 404 would say. */
export async function unlessGone<T>(errorClass: new (...args: any[]) => { statusCode: number }, read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof errorClass && error.statusCode === 404) return null;
    throw error;
  }
}

/**
 * One kind of resource in the fleet: the table its rows live in, which of its columns say what
 * the fleet table shows, and how the cloud's own API answers for one of them.
 */
export interface FleetSource {
  readonly cloud: string;
  /** e.g. `genesis.instance`, as the lifecycle engine and fault rules name kinds. */
  readonly kind: string;
  readonly table: string;
  /** Column names: `region` is the region or location; `project` (Crusoe) is null where the cloud has none. */
  readonly columns: { readonly name: string; readonly status: string | null; readonly region: string | null; readonly project: string | null; readonly type: string | null };
  /** Where the wire names a stored state otherwise (the fleet shows and filters the wire's name). */
  readonly wireStatus?: { readonly map: Readonly<Record<string, string>>; readonly otherwise?: string };
  /** The resource as the cloud's GET of it answers (status 200 body), and that GET's path; null once it is gone. */
  wire(row: Record<string, unknown>): Promise<{ path: string; body: unknown } | null>;
  /** Ids whose lifecycle entries are part of this resource's history (e.g. Crusoe's operations on it). */
  historyIds?(id: string): Promise<string[]>;
}

/** How a cloud's declared resources appear in the fleet (see fleetSources). */
export interface FleetOptions<Model> {
  readonly cloud: string;
  readonly model: Model;
  /** The cloud's error class: its 404 while reading means the resource went meanwhile. */
  readonly errorClass: new (...args: any[]) => { statusCode: number };
  /** The cloud's usual columns (a resource's declaration may name others). */
  readonly columns: FleetSource['columns'];
  /** What the cloud's read of one is scoped to (the account, or the project), from its row. */
  scope(row: Record<string, unknown>): string;
  /** The path of the cloud's GET of one. */
  path(scope: string, collection: string, key: string): string;
  historyIds?(id: string): Promise<string[]>;
}

/** The fleet sources of a cloud's resources that declare a `fleet`, each read as the cloud's own GET of it answers. */
export function fleetSources<Model>(resources: readonly ResourceDef<Model>[], options: FleetOptions<Model>): FleetSource[] {
  return resources.flatMap(({ kind, table, fleet }): FleetSource[] => {
    if (fleet === undefined) return [];
    const keyOf = (row: Record<string, unknown>) => String(row[fleet.key ?? 'id']);
    return [
      {
        cloud: options.cloud,
        kind,
        table,
        columns: { ...options.columns, ...fleet.columns },
        wireStatus: fleet.wireStatus,
        async wire(row) {
          const scope = options.scope(row);
          const body = await unlessGone(options.errorClass, () => fleet.read(options.model, scope, keyOf(row)));
          return body === null ? null : { path: options.path(scope, fleet.collection, keyOf(row)), body };
        },
        ...(options.historyIds ? { historyIds: options.historyIds } : {}),
      },
    ];
  });
}
