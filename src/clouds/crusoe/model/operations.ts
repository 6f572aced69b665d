import type { Transaction } from 'kysely';
import { heldInsert } from '../../../kernel/db/prepared.js';
import type { Executor } from '../../../kernel/db/store.js';
import type { TransitionContext } from '../../../kernel/lifecycle/engine.js';
import type { Machine } from '../../../kernel/lifecycle/machine.js';
import { badRequest, operationForbidden } from '../errors.js';
import type { OperationRow, ProjectRow } from '../tables.js';
import { ACCESS_KEY_KIND, CLOUD, OPERATION_KIND, type CrusoeContext } from './context.js';
import type { FusedRead } from '../../../kernel/tenancy/accounts.js';
import type { ReadWithKey } from '../caller.js';
import { ownedProject } from './projects.js';
import { parseTime } from './tokens.js';

/** The polling family of VM operations (the path segment their operations live under). */
export const VM_FAMILY = 'compute/vms/instances';
/** The polling families of the other resources: each polls its own operations. */
export const Family = {
  vms: VM_FAMILY,
  disks: 'storage/disks',
  snapshots: 'storage/snapshots',
  networks: 'networking/vpc-networks',
  subnets: 'networking/vpc-subnets',
  firewallRules: 'networking/vpc-firewall-rules',
  loadBalancers: 'networking/internal-load-balancers',
} as const;

/**
 * What a resource family does when its operations end, in the lifecycle transition's
 * transaction: `complete` applies the change and returns the operation's result (the
 * resource as it now is), `rollback` undoes what the request began when an injected fault
 * fails the operation, `failed` ends one whose failure was decided at request time.
 */
export interface OperationHandler {
  /** The machines whose actions it completes (each action an operation's lifecycle transition, with its durations). */
  readonly machines: readonly Machine<any>[];
  /** `batch`: the operations completing through the same action in the lifecycle batch, and what they compute once for all. */
  complete(trx: Transaction<any>, op: OperationRow, at: number, batch?: OperationBatch): Promise<unknown>;
  rollback(trx: Transaction<any>, op: OperationRow, at: number): Promise<void>;
  failed?(trx: Transaction<any>, op: OperationRow, at: number): Promise<void>;
}

/** Operations completing together through one action (see TransitionContext: `batch`, `shared`). */
export type OperationBatch = Pick<TransitionContext<OperationRow>, 'batch' | 'shared'>;

/** How long a finished operation can still be read; after that it has expired (403). */
export const OPERATION_TTL_MS = 24 * 60 * 60_000;

/** An operation as GET reads it with the caller's key: every column null where there is none. */
type Found = { [K in keyof OperationRow]: OperationRow[K] | null };
/** How often (on the account's clock) starting an operation also deletes the account's expired ones. */
const PURGE_EVERY_MS = 60_000;

export const OperationState = { InProgress: 'IN_PROGRESS', Succeeded: 'SUCCEEDED', Failed: 'FAILED' } as const;
const STATES: readonly string[] = Object.values(OperationState);

/** The transition that ends an operation in FAILED with the error recorded at request time. */
export const FAIL_TRANSITION = 'fail';

export interface OperationStart {
  /** The operation's id when the caller needs it before the row exists (to mark its VMs busy). */
  id?: string;
  accountId: string;
  projectId: string;
  family: string;
  /** Also the lifecycle transition that completes it. */
  action: string;
  resourceId: string;
  params?: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export interface OperationError {
  code: string;
  message: string;
}

/**
 * Asynchronous operations. Every mutating VM call answers with one, IN_PROGRESS; the
 * lifecycle engine's durable timer completes it (SUCCEEDED with its result, or FAILED with
 * `{code, message}`). A finished operation stays readable by id for a day; the list shows
 * the ones in flight and the finished ones nobody has read by id yet, as the seed says.
 */
export class Operations {
  /** When each account's expired operations were last deleted, on its clock (see insert). */
  private readonly purgedAt = new Map<string, number>();
  private readonly insertRow = heldInsert<OperationRow>('crusoe_operations');

  constructor(private readonly ctx: CrusoeContext) {}

  /** Records an operation and schedules what completes it, in the caller's transaction. */
  async start(trx: Executor, input: OperationStart): Promise<OperationRow> {
    return this.insert(trx, input, input.action);
  }

  /** An operation that will end FAILED with `error` (decided now, reported on the operation's timer). */
  async startFailing(trx: Executor, input: OperationStart, error: OperationError): Promise<OperationRow> {
    return this.insert(trx, { ...input, params: { ...input.params, error } }, FAIL_TRANSITION);
  }

  /**
   * Starts an operation on a resource and marks the resource busy with it (`busy_operation_id`
   * in `table`): one operation at a time per resource, as on the real cloud.
   */
  async startOn(
    trx: Executor,
    table: string,
    family: string,
    row: { id: string; account_id: string; project_id: string },
    action: string,
    params: Record<string, unknown>,
  ): Promise<OperationRow> {
    const op = await this.start(trx, { accountId: row.account_id, projectId: row.project_id, family, action, resourceId: row.id, metadata: { id: row.id }, params });
    await trx.updateTable(table).set({ busy_operation_id: op.id }).where('id', '=', row.id).execute();
    return op;
  }

  /** The operation's resource in `table` if it is still the one the operation holds. */
  async heldBy<T extends { busy_operation_id: string | null }>(trx: Executor, table: string, op: OperationRow): Promise<T | undefined> {
    const row = (await trx.selectFrom(table).selectAll().where('id', '=', op.resource_id).executeTakeFirst()) as T | undefined;
    return row && row.busy_operation_id === op.id ? row : undefined;
  }

  /** An operation that completed with the request (RESERVE / UNRESERVE). */
  async succeeded(trx: Executor, input: OperationStart, result: unknown): Promise<OperationRow> {
    const { kernel } = this.ctx;
    const now = kernel.clockFor(input.accountId).now();
    const row = this.row(input, now);
    row.state = OperationState.Succeeded;
    row.completed_at = now;
    row.result = JSON.stringify(result);
    await this.insertRow(trx, row);
    return row;
  }

  async get(accountId: string, projectId: string, family: string, id: string): Promise<OperationRow> {
    return this.answer(await this.find(this.ctx.db, accountId, projectId, family, id), accountId, projectId, family);
  }

  /**
   * GET's read made with the caller's access key (PostgreSQL, see Tenancy.fused; null on
   * SQLite): a row while the project is the key's account's, whose `id` is null where the
   * project has no such operation of the family.
   */
  getAsCaller(projectId: string, family: string, id: string): ReadWithKey<Found, OperationRow> | null {
    const read = this.withKey();
    return read && {
      read,
      args: [projectId, family, id],
      use: ([row], accountId) => {
        const found = row === undefined || row.id === null ? undefined : (row as OperationRow);
        return this.answer(this.live(found, accountId, id), accountId, projectId, family);
      },
    };
  }

  private withKey(): FusedRead<Found> | null {
    if (this.ctx.kernel.store.engine !== 'postgres') return null;
    this.readWithKey ??= this.ctx.kernel.tenancy.fused(CLOUD, [ACCESS_KEY_KIND], 'member_project', [], (account, projectId, family, id) =>
      ownedProject(this.ctx.db, projectId, account)
        .leftJoin('crusoe_operations as o', (join) => join.onRef('o.project_id', '=', 'p.id').on('o.id', '=', id).on('o.family', '=', family).on('o.account_id', '=', account))
        .selectAll('o')
        .select('p.id as member_project'),
    );
    return this.readWithKey;
  }
  private readWithKey: FusedRead<Found> | null = null;

  /** What GET answers of an operation found: read once more if reading it moved it on, and marked read once finished. */
  private async answer(found: OperationRow, accountId: string, projectId: string, family: string): Promise<OperationRow> {
    const { db, kernel } = this.ctx;
    const id = found.id;
    let row = found;
    if (row.state === OperationState.InProgress && (await kernel.lifecycle.noteRead(OPERATION_KIND, id))) {
      row = await this.find(db, accountId, projectId, family, id);
    }
    if (row.state !== OperationState.InProgress && !row.fetched) {
      await db.updateTable('crusoe_operations').set({ fetched: 1 }).where('id', '=', id).execute();
    }
    return row;
  }

  async list(
    accountId: string,
    projectId: string,
    family: string,
    filter: { resourceId?: string; states?: string[]; lowerTimeBound?: string },
  ): Promise<OperationRow[]> {
    const { db, kernel } = this.ctx;
    const states = (filter.states ?? []).flatMap((s) => s.split(',')).map((s) => s.trim().toUpperCase()).filter(Boolean);
    const bad = states.find((s) => !STATES.includes(s));
    if (bad !== undefined) throw badRequest(`"state" must be one of: ${STATES.join(', ')} (got "${bad}")`);
    let query = db
      .selectFrom('crusoe_operations')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('family', '=', family)
      .where('account_id', '=', accountId)
      .where((eb) => eb.or([eb('state', '=', OperationState.InProgress), eb('fetched', '=', 0)]))
      .where((eb) => eb.or([eb('completed_at', 'is', null), eb('completed_at', '>=', kernel.clockFor(accountId).now() - OPERATION_TTL_MS)]));
    if (filter.resourceId !== undefined && filter.resourceId !== '') query = query.where('resource_id', '=', filter.resourceId);
    if (states.length > 0) query = query.where('state', 'in', states);
    if (filter.lowerTimeBound !== undefined && filter.lowerTimeBound !== '') {
      query = query.where('started_at', '>=', parseTime(filter.lowerTimeBound.replace(/^"|"$/g, ''), 'lower_time_bound'));
    }
    return (await query.orderBy('seq').orderBy('id').execute()) as OperationRow[];
  }

  /** A project goes: its operations in flight stop where they are (each family gave back what they held) and all are forgotten. */
  async purgeProject(trx: Transaction<any>, project: ProjectRow): Promise<void> {
    const running = await trx.selectFrom('crusoe_operations').select('id').where('project_id', '=', project.id).where('state', '=', OperationState.InProgress).execute();
    for (const op of running) await this.ctx.kernel.lifecycle.cancel(trx, op.id as string);
    await trx.deleteFrom('crusoe_operations').where('project_id', '=', project.id).execute();
  }

  /** Forgets an account's operations that finished more than a day ago on its clock (called as new ones start). */
  async purgeExpired(trx: Executor, accountId: string): Promise<void> {
    await trx
      .deleteFrom('crusoe_operations')
      .where('account_id', '=', accountId)
      .where('completed_at', '<', this.ctx.kernel.clockFor(accountId).now() - OPERATION_TTL_MS)
      .execute();
  }

  private async find(trx: Executor, accountId: string, projectId: string, family: string, id: string): Promise<OperationRow> {
    const row = (await trx
      .selectFrom('crusoe_operations')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', accountId)
      .where('project_id', '=', projectId)
      .where('family', '=', family)
      .executeTakeFirst()) as OperationRow | undefined;
    return this.live(row, accountId, id);
  }

  /** The operation found, unless there is none or it has expired (403 both: see operationForbidden). */
  private live(row: OperationRow | undefined, accountId: string, id: string): OperationRow {
    if (!row) throw operationForbidden(id);
    if (row.completed_at !== null && Number(row.completed_at) < this.ctx.kernel.clockFor(accountId).now() - OPERATION_TTL_MS) throw operationForbidden(id);
    return row;
  }

  private async insert(trx: Executor, input: OperationStart, transition: string): Promise<OperationRow> {
    const { kernel } = this.ctx;
    const now = kernel.clockFor(input.accountId).now();
    // Expired operations are hidden as they expire (find, list); their rows go now and then,
    // not on every start (a delete per create was a tenth of a create's statements).
    const purged = this.purgedAt.get(input.accountId);
    if (purged === undefined || now - purged >= PURGE_EVERY_MS || now < purged) {
      if (this.purgedAt.size >= 10_000) this.purgedAt.clear();
      this.purgedAt.set(input.accountId, now);
      await this.purgeExpired(trx, input.accountId);
    }
    const row = this.row(input, now);
    await this.insertRow(trx, row);
    await kernel.lifecycle.schedule(trx, OPERATION_KIND, row.id, transition, { account: input.accountId });
    return row;
  }

  private row(input: OperationStart, now: number): OperationRow {
    return {
      id: input.id ?? this.ctx.kernel.ids.uuid(),
      account_id: input.accountId,
      project_id: input.projectId,
      family: input.family,
      action: input.action,
      resource_id: input.resourceId,
      state: OperationState.InProgress,
      params: JSON.stringify(input.params ?? {}),
      metadata: JSON.stringify(input.metadata),
      result: null,
      seq: this.ctx.kernel.ids.ordinal(now),
      started_at: now,
      completed_at: null,
      fetched: 0,
    };
  }
}
