import type { LifecycleDef, TransitionDef } from '../../kernel/lifecycle/engine.js';
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
export function crusoeLifecycles(model: CrusoeModel): LifecycleDef[] {
  const transitions: Record<string, TransitionDef> = {};
  const owners = new Map<string, OperationHandler>();
  for (const handler of model.handlers) {
    for (const [action, after] of Object.entries(handler.actions)) {
      if (owners.has(action)) throw new Error(`crusoe: operation action ${action} is handled twice`);
      owners.set(action, handler);
      transitions[action] = {
        from: OperationState.InProgress,
        to: OperationState.Succeeded,
        after,
        effect: async (t) => {
          const result = await handler.complete(t.trx, t.row as unknown as OperationRow, t.at);
          return { result: JSON.stringify(result ?? {}), completed_at: t.at };
        },
        failTo: OperationState.Failed,
        onFail: async (t) => {
          await handler.rollback(t.trx, t.row as unknown as OperationRow, t.at);
          return { result: JSON.stringify(INJECTED), completed_at: t.at };
        },
      };
    }
  }
  transitions[FAIL_TRANSITION] = {
    from: OperationState.InProgress,
    to: OperationState.Failed,
    after: { fast: 1_000, realistic: 5_000 },
    effect: async (t) => {
      const op = t.row as unknown as OperationRow;
      await owners.get(op.action)?.failed?.(t.trx, op, t.at);
      const error = parseJson<{ error?: OperationError }>(op.params)?.error ?? INJECTED;
      return { result: JSON.stringify(error), completed_at: t.at };
    },
  };
  return [{ kind: OPERATION_KIND, table: 'crusoe_operations', statusColumn: 'state', updatedAtColumn: null, transitions }];
}
