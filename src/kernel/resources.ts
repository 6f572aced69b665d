import type { Machine } from './lifecycle/machine.js';

/**
 * A resource descriptor: what Hangar must know about one kind of resource beside its rules,
 * declared once in the resource's model file (with `declareResource`) and read by whatever
 * used to keep a list of its own: the cloud's recount (which counter counts which table), its
 * default quotas, the lifecycle engine and the admin API (its machine), the state export (its
 * scope) and the console's fleet. Adding a resource adds a descriptor; no list is edited.
 *
 * `Model` is the cloud's model (what the machine's effects and the fleet's reads are built from).
 */
export interface ResourceDef<Model = any> {
  readonly cloud: string;
  /** `<cloud>.<resource>`, as the lifecycle engine, fault rules and the fleet name it. */
  readonly kind: string;
  /** The table its rows live in (one row per resource, with `id` and `account_id`). */
  readonly table: string;
  /** The counter of the account's rows of this kind (recomputed from the table after a bulk change). */
  readonly counter?: string;
  /** The counter of a project's rows (clouds with projects), recomputed the same way. */
  readonly projectCounter?: (projectId: string) => string;
  /** The default quota: how many the counter may reach before a create is refused. */
  readonly quota?: number;
  /** Its state machine, timed by its own rows (a machine with a `carrier` is registered by its carrier's owner). */
  readonly machine?: (model: Model) => Machine<any>;
  /**
   * What an account's state export takes of the table: its rows (`account`, the default), or
   * nothing (`installation`: rows that describe the installation, not any account).
   */
  readonly scope?: 'account' | 'installation';
  /** How the console's fleet lists it, and reads one as the cloud's own GET answers. */
  readonly fleet?: FleetDef<Model>;
}

/** A stored state's name on the wire (e.g. a Crusoe firewall rule stored `available` reads `active`). */
export interface WireStatus {
  readonly map: Readonly<Record<string, string>>;
  readonly otherwise?: string;
}

export interface FleetDef<Model> {
  /** Its collection's path under the cloud's prefix (or the project, on a cloud with projects). */
  readonly collection: string;
  /** The columns the fleet table shows, where they differ from the cloud's usual ones (null: none). */
  readonly columns?: Partial<{ readonly name: string; readonly status: string | null; readonly region: string | null; readonly project: string | null; readonly type: string | null }>;
  /** The column the API addresses one by (its path's last segment), where it is not `id` (a bucket's name, say). */
  readonly key?: string;
  /** Where the wire names a stored state otherwise: stored → wire, and what every other state reads as. */
  readonly wireStatus?: WireStatus;
  /** The body of GET <collection>/<key>; `scope` is the account (or the project, on a cloud with projects). */
  read(model: Model, scope: string, key: string): Promise<unknown>;
}

const declared = new Map<string, ResourceDef>();

/** Declares a resource (once, as its model file loads); returns the descriptor. */
export function declareResource<Model>(def: ResourceDef<Model>): ResourceDef<Model> {
  if (!def.kind.startsWith(`${def.cloud}.`)) throw new Error(`resource ${def.kind}: its kind must start with "${def.cloud}."`);
  const existing = declared.get(def.kind);
  if (existing && existing !== def) throw new Error(`resource ${def.kind} is declared twice`);
  declared.set(def.kind, def as ResourceDef);
  return def;
}

/** A cloud's declared resources, in the order they were declared. */
export function resourcesOf(cloud: string): ResourceDef[] {
  return [...declared.values()].filter((r) => r.cloud === cloud);
}

/** Tables that describe the installation, of every cloud (left out of an account's export). */
export function installationTables(): string[] {
  return [...declared.values()].filter((r) => r.scope === 'installation').map((r) => r.table);
}
