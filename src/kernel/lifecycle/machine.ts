import type { Durations, LifecycleDef, TransitionContext, TransitionDef } from './engine.js';

/**
 * A resource's state machine as data, declared once per resource and read by the model (which
 * state allows which action, what the resource shows meanwhile, where it ends), the lifecycle
 * engine (the timed transitions), the admin API (`GET /admin/v1/lifecycle`) and fault
 * targeting (`{kind, transition}` names a machine's action or its timed transition).
 *
 * An action is what a client asks for (create, stop, delete, ...): allowed `from` some states,
 * the resource shows `via` while it runs, and a timed transition (`transition`, also the
 * duration key) takes it `to` its target. Most machines are timed by their own rows
 * (Genesis); a machine with a `carrier` is timed by another kind's rows (a Crusoe resource's
 * actions complete as its operations do: the transition is the operation's).
 */
export interface ActionDef<Row = Record<string, unknown>> {
  /** The states a client may ask for the action in; empty: the action makes the resource. */
  readonly from: readonly string[];
  /** The state the resource shows while the action runs; absent: it keeps the state it was in. */
  readonly via?: string;
  /** The state the action ends in; null: the resource goes; absent: the state it was in. */
  readonly to?: string | null;
  /** The timed transition that finishes the action (and its duration key); the action's name when absent. */
  readonly transition?: string;
  readonly after: Durations;
  /** Where an injected fault sends the resource instead; without it (and without a carrier's failure) the action cannot fail. */
  readonly failTo?: string;
  /** Runs in the transition's transaction (see TransitionDef.effect); may return more columns to set. */
  readonly effect?: (t: RowContext<Row>) => Promise<Partial<Row> | void>;
  /** Runs when an injected fault fails the transition (the rollback); may return more columns to set. */
  readonly onFail?: (t: RowContext<Row>) => Promise<Partial<Row> | void>;
}

/** A transition's context with the machine's own row type. */
export type RowContext<Row> = TransitionContext<Row>;

export interface Machine<Row = Record<string, unknown>> {
  /** `<cloud>.<resource>`, e.g. `genesis.instance`, `crusoe.vm`. */
  readonly kind: string;
  readonly table: string;
  readonly statusColumn: string;
  /** The column naming the resource's account (fault rules for one account, events); null: none. */
  readonly accountColumn: string | null;
  /** The column a transition stamps with its time; null: none. */
  readonly updatedAtColumn: string | null;
  readonly states: readonly string[];
  readonly actions: Readonly<Record<string, ActionDef<Row>>>;
  /** The kind whose timers finish the actions (their transitions are the carrier's); absent: the machine's own. */
  readonly carrier?: string;
}

/** The name of the timed transition that finishes an action. */
export const transitionOf = (name: string, action: ActionDef<any>): string => action.transition ?? name;

/** A machine as the engine times it: one transition per action, from the state the action shows meanwhile. */
export function lifecycleOf<Row>(machine: Machine<Row>): LifecycleDef<Row> {
  if (machine.carrier !== undefined) throw new Error(`${machine.kind} is timed by ${machine.carrier}, not by a lifecycle of its own`);
  const transitions: Record<string, TransitionDef<Row>> = {};
  for (const [name, action] of Object.entries(machine.actions)) {
    if (action.via === undefined || action.to === undefined) throw new Error(`${machine.kind}.${name}: a timed action needs "via" and "to"`);
    transitions[transitionOf(name, action)] = {
      from: action.via,
      to: action.to,
      after: action.after,
      failTo: action.failTo,
      effect: action.effect,
      onFail: action.onFail,
    };
  }
  const { kind, table, statusColumn, accountColumn, updatedAtColumn } = machine;
  return { kind, table, statusColumn, accountColumn, updatedAtColumn, transitions };
}

/** `transition: duration` for each action of a carried machine (what its carrier's lifecycle times). */
export function carriedDurations(machine: Machine<any>): Record<string, Durations> {
  return Object.fromEntries(Object.entries(machine.actions).map(([name, action]) => [transitionOf(name, action), action.after]));
}

/** Whether a client may ask for `action` while the resource is in `state`. */
export function allows(machine: { readonly actions: Readonly<Record<string, { readonly from: readonly string[] }>> }, action: string, state: string): boolean {
  return machine.actions[action]!.from.includes(state);
}

/** The states but `except`: what "any state but ..." says in a declaration. */
export const statesBut = (states: readonly string[], ...except: string[]): string[] => states.filter((s) => !except.includes(s));
