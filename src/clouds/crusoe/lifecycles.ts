import type { LifecycleDef, TransitionContext, TransitionDef } from '../../kernel/lifecycle/engine.js';
import { carriedDurations, type Machine } from '../../kernel/lifecycle/machine.js';
import { OPERATION_KIND, parseJson } from './model/context.js';
import type { CrusoeModel } from './model/index.js';
import { FAIL_TRANSITION, OperationState, type OperationError, type OperationHandler } from './model/operations.js';
import type { OperationRow } from './tables.js';

/** What an injected fault (admin API) makes an operation report. */
const INJECTED: OperationError = { code: 'internal_error', message: 'the operation failed: an operator injected a fault' };

/**
 * Every asynchronous operation is one state machine: IN_PROGRESS → SUCCEEDED (the change is
 * applied and the result recorded, in one transaction) or → FAILED. The transition is named
 * after the operation's action (`vm.create`, `disk.resize`, `lb.delete`, …), so each action
 * keeps its own timing per profile; the resource family that owns the action applies it.
 * `fail` ends an operation whose failure was decided when it was requested (out of stock).
 */
export function crusoeLifecycles(model: CrusoeModel): { operation: LifecycleDef; machines: Machine<any>[] } {
  const transitions: Record<string, TransitionDef<OperationRow>> = {};
  const owners = new Map<string, OperationHandler>();
  for (const handler of model.handlers) {
    for (const machine of handler.machines) {
      for (const [action, after] of Object.entries(carriedDurations(machine))) {
        if (owners.has(action)) throw new Error(`crusoe: operation action ${action} is handled twice`);
        owners.set(action, handler);
        transitions[action] = {
          from: OperationState.InProgress,
          to: OperationState.Succeeded,
          after,
          effect: (t) =>
            telling(t, machine, async (op) => {
              const result = await handler.complete(t.trx, op, t.at, t);
              return { result: JSON.stringify(result ?? {}), completed_at: t.at };
            }),
          failTo: OperationState.Failed,
          onFail: (t) =>
            telling(t, machine, async (op) => {
              await handler.rollback(t.trx, op, t.at);
              return { result: JSON.stringify(INJECTED), completed_at: t.at };
            }),
        };
      }
    }
  }
  transitions[FAIL_TRANSITION] = {
    from: OperationState.InProgress,
    to: OperationState.Failed,
    after: { fast: 1_000, realistic: 5_000 },
    effect: async (t) => {
      const op = t.row;
      await owners.get(op.action)?.failed?.(t.trx, op, t.at);
      const error = parseJson<{ error?: OperationError }>(op.params)?.error ?? INJECTED;
      return { result: JSON.stringify(error), completed_at: t.at };
    },
  };
  const operation: LifecycleDef<OperationRow> = { kind: OPERATION_KIND, table: 'crusoe_operations', statusColumn: 'state', accountColumn: 'account_id', updatedAtColumn: null, transitions };
  return { operation, machines: model.handlers.flatMap((handler) => handler.machines) };
}

/**
 * Runs an operation's completion (or rollback) and, while anyone listens, tells the states
 * its resources entered: each as it was before and after (a bulk create's VMs are its `ids`).
 */
async function telling<T>(t: TransitionContext<OperationRow>, machine: Machine<any>, run: (op: OperationRow) => Promise<T>): Promise<T> {
  const op = t.row;
  if (!t.watched) return run(op);
  const ids = op.resource_id !== '' ? [op.resource_id] : (parseJson<{ ids?: string[] }>(op.params)?.ids ?? []);
  const before = await statesOf(t, machine, ids);
  const result = await run(op);
  const after = await statesOf(t, machine, ids);
  for (const [id, was] of before) {
    const now = after.get(id) ?? null;
    if (now !== was) t.entered({ kind: machine.kind, resourceId: id, accountId: op.account_id, from: was, to: now });
  }
  return result;
}

async function statesOf(t: TransitionContext<OperationRow>, machine: Machine<any>, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await t.trx.selectFrom(machine.table).select(['id', machine.statusColumn]).where('id', 'in', ids).execute();
  return new Map(rows.map((row) => [row.id as string, row[machine.statusColumn] as string]));
}
