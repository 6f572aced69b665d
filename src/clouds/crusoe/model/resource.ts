import type { ActionDef, Machine } from '../../../kernel/lifecycle/machine.js';
import { badRequest, conflict } from '../errors.js';
import type { Kysely } from 'kysely';
import type { Executor } from '../../../kernel/db/store.js';
import { prepared } from '../../../kernel/db/prepared.js';
import type { Kernel } from '../../../kernel/kernel.js';
import { OPERATION_KIND } from './context.js';

/**
 * What the storage and networking resources share: one vocabulary of Hangar's own lifecycle
 * states (a VM has its own, the API's), `available` for a resource that is there and usable
 * (a firewall rule's wire shows it as `active`), one operation at a time per resource, and names.
 */
export const ResourceState = {
  Creating: 'creating',
  Available: 'available',
  Deleting: 'deleting',
} as const;

/**
 * A Crusoe resource's machine: its actions are operations (each transition, `<resource>.<action>`,
 * the operation's), timed by the operation's lifecycle; the family's handler applies them.
 */
export function operationMachine<const A extends Record<string, ActionDef<any> & { transition: string }>>(kind: string, table: string, states: readonly string[], actions: A) {
  return { kind, table, statusColumn: 'state', accountColumn: 'account_id', updatedAtColumn: 'updated_at', carrier: OPERATION_KIND, states, actions } as const satisfies Machine<any>;
}

/**
 * A client's write moved a resource of `machine`: told to the lifecycle's listeners once the
 * write's transaction (made by `kernel.lifecycle.transaction`) commits; from null: just made.
 */
export function clientMoved(kernel: Kernel, trx: Executor, machine: { kind: string }, row: { id: string; account_id: string }, from: string | null, to: string | null): void {
  kernel.lifecycle.entered(trx, { kind: machine.kind, resourceId: row.id, accountId: row.account_id, from, to, transition: null });
}

/** The words states had before there was one (see migration 0005_i20_one_vocabulary), by table. */
const FORMER_AVAILABLE = { crusoe_disk_snapshots: 'ready', crusoe_firewall_rules: 'active', crusoe_load_balancers: 'active' } as const;

/** Brings rows of a state document exported before the one vocabulary to it (run after an import). */
export async function formerStatesToAvailable(trx: Executor): Promise<void> {
  for (const [table, word] of Object.entries(FORMER_AVAILABLE)) await trx.updateTable(table).set({ state: ResourceState.Available }).where('state', '=', word).execute();
}

/** Names: a DNS label's characters (letters, digits, hyphens, underscores, dots), up to 63. */
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

export function resourceName(name: string, field = 'name'): string {
  if (!NAME.test(name)) {
    throw badRequest(`"${field}" must be 1 to 63 letters, digits, hyphens, underscores or dots, starting and ending with a letter or digit (got "${name}")`);
  }
  return name;
}

/**
 * The resource, free of any operation in progress (one at a time, as on the real cloud).
 * `states` names its machine's deleting and creating states (a VM's are its own; a VM being
 * made is busy with its create).
 */
export function assertIdle(
  row: { state: string; busy_operation_id: string | null },
  what: string,
  states: { deleting: string; creating: string | null } = { deleting: ResourceState.Deleting, creating: ResourceState.Creating },
): void {
  if (row.state === states.deleting) throw conflict(`${what} is being deleted`);
  if (row.state === states.creating) throw conflict(`${what} is still being created: wait for its operation to finish`);
  if (row.busy_operation_id !== null) throw conflict(`${what} has an operation in progress (${row.busy_operation_id}): wait for it to finish`);
}

/**
 * A resource's row in its project, read to be changed (checked idle, then given an operation):
 * on PostgreSQL locked until the transaction ends, so two changes of one resource at once take
 * turns and the second sees what the first did (busy: 409). Read unlocked, both went on: two
 * operations on one resource, or a deadlock on the rows each wrote next (a 500). SQLite runs one
 * write transaction at a time already.
 */
export function rowToChange<T>(context: () => { db: Kysely<any>; kernel: Kernel }, table: string): (trx: Executor, projectId: string, id: string) => Promise<T | undefined> {
  // (`context` is asked on first use: a family's fields are made before its constructor's)
  const read = prepared<T>((id, projectId) => {
    const ctx = context();
    const row = ctx.db.selectFrom(table).selectAll().where('id', '=', id).where('project_id', '=', projectId);
    return ctx.kernel.store.engine === 'postgres' ? row.forUpdate() : row;
  });
  return async (trx, projectId, id) => (await read(trx, id, projectId))[0];
}

/** The values of a list filter: comma-separated, repeated keys allowed, blanks dropped. */
export function csv(values: readonly string[] | string | undefined): string[] {
  if (values === undefined) return [];
  return (typeof values === 'string' ? [values] : values)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}
