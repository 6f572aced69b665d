import type { Kysely } from 'kysely';
import type { Executor } from './db/store.js';
import type { IdGenerator } from './ids.js';

/**
 * Fault injection, the way an operator stages trouble on purpose: fail the next N matching
 * API calls (or a fraction of them) with a chosen status and the cloud's own error code, add
 * latency, or make the next N lifecycle transitions of a kind fail (an instance boot ending
 * in `error`, a Crusoe operation ending FAILED). Each cloud renders a fired request fault in
 * its own error format; the kernel only decides whether a rule fires.
 */
export interface FaultRuleInput {
  /** Which API the rule watches (`genesis`, `crusoe`); absent means any. */
  cloud?: string;
  /** HTTP method, or absent / `*` for any. */
  method?: string;
  /** Request path: exact, `*` for one segment, `**` for the rest, `{name}` for one segment. */
  path?: string;
  /** Only requests of this account. */
  account?: string;
  /** How many matching events fire before the rule is spent; absent means no limit. */
  count?: number;
  /** The share of matching events that fire, 0..1 (default 1). */
  probability?: number;
  /** Fail the request with this HTTP status... */
  status?: number;
  /** ...and this cloud error code (the cloud picks a fitting one when absent)... */
  code?: string;
  /** ...and this message. */
  message?: string;
  /** Add this much latency (ms) before the request is handled (alone, or before failing it). */
  latency_ms?: number;
  /** A lifecycle fault: the kind (e.g. `genesis.instance`) whose transitions fail. */
  kind?: string;
  /** ...and the transition (e.g. `boot`); absent means any transition that can fail. */
  transition?: string;
}

export interface FaultRule extends FaultRuleInput {
  id: string;
  fired: number;
}

export interface RequestFault {
  latencyMs: number;
  failure: { status: number; code?: string; message: string } | null;
}

/**
 * The rules live in the store (`fault_rules`), so every replica applies the same ones and a
 * rule's count is spent once across all of them: firing is one conditional UPDATE. Each
 * process keeps a copy of the rules to match against, refreshed whenever they change
 * (here or, through the store's notifications, on another replica).
 */
/** A fault that fired: on a request to a cloud's API, or on one of its lifecycle transitions. */
export interface FiredFault {
  target: 'request' | 'lifecycle';
  cloud: string;
}

export class Faults {
  private rules: FaultRule[] = [];
  private readonly listeners: ((fired: FiredFault) => void)[] = [];

  constructor(
    private readonly db: Kysely<any>,
    private readonly ids: IdGenerator,
    private readonly changed: () => Promise<void> = async () => undefined,
  ) {}

  async add(input: FaultRuleInput): Promise<FaultRule> {
    const rule: FaultRule = { ...input, id: this.ids.uuid(), fired: 0 };
    const { id, fired, ...definition } = rule;
    const [last] = await this.db.selectFrom('fault_rules').select((eb) => eb.fn.max<number>('position').as('p')).execute();
    await this.db
      .insertInto('fault_rules')
      .values({ id, position: Number(last?.p ?? 0) + 1, rule: JSON.stringify(definition), max_fires: input.count ?? null, fired })
      .execute();
    await this.reload();
    await this.changed();
    return rule;
  }

  /** The rules with how often each fired, as the store has them. */
  async list(): Promise<FaultRule[]> {
    await this.reload();
    return this.rules.map((r) => ({ ...r }));
  }

  async remove(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('fault_rules').where('id', '=', id).executeTakeFirst();
    await this.reload();
    await this.changed();
    return Number(result.numDeletedRows) === 1;
  }

  async clear(): Promise<void> {
    await this.db.deleteFrom('fault_rules').execute();
    await this.reload();
    await this.changed();
  }

  /** Reads the rules again (after a change here or on another replica, a reset or an import). */
  async reload(): Promise<void> {
    const rows = await this.db.selectFrom('fault_rules').selectAll().orderBy('position').execute();
    this.rules = rows.map((r) => ({ ...(JSON.parse(r.rule as string) as FaultRuleInput), id: r.id as string, fired: Number(r.fired) }));
  }

  /** Cheap enough for every request: most of the time there are no rules at all. */
  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The fault (if any) to apply to a request; counts the firing. */
  async forRequest(request: { cloud: string; method: string; path: string; accountId: string | null }): Promise<RequestFault | null> {
    if (this.rules.length === 0) return null;
    let latencyMs = 0;
    let failure: RequestFault['failure'] = null;
    for (const rule of this.rules) {
      if (rule.kind !== undefined) continue;
      if (rule.cloud !== undefined && rule.cloud !== request.cloud) continue;
      if (rule.method !== undefined && rule.method !== '*' && rule.method.toUpperCase() !== request.method) continue;
      if (rule.account !== undefined && rule.account !== request.accountId) continue;
      if (rule.path !== undefined && !compile(rule.path).test(request.path)) continue;
      if (!(await this.fire(this.db, rule))) continue;
      this.fired({ target: 'request', cloud: request.cloud });
      latencyMs += rule.latency_ms ?? 0;
      if (rule.status !== undefined && failure === null) {
        failure = { status: rule.status, code: rule.code, message: rule.message ?? `injected fault: ${rule.status}` };
      }
    }
    return latencyMs > 0 || failure ? { latencyMs, failure } : null;
  }

  /**
   * Whether a lifecycle transition should fail instead of completing; counts the firing in the
   * transition's own transaction, so a transition rolled back does not spend the rule. A rule
   * names the transition (`genesis.instance` `boot`, `crusoe.operation` `vm.create`) or a
   * declared machine's action it finishes (`aliases`: `genesis.instance` `create`, `crusoe.vm` `create`).
   */
  async forTransition(trx: Executor, kind: string, transition: string, accountId: string | null, aliases: readonly (readonly [string, string])[] = []): Promise<boolean> {
    for (const rule of this.rules) {
      if (rule.kind === undefined) continue;
      if (!targets(rule, kind, transition) && !aliases.some(([k, t]) => targets(rule, k, t))) continue;
      if (rule.account !== undefined && rule.account !== accountId) continue;
      if (await this.fire(trx, rule)) {
        this.fired({ target: 'lifecycle', cloud: kind.split('.')[0]! });
        return true;
      }
    }
    return false;
  }

  /** Tells `listener` of each fault that fires (for the metrics). */
  onFired(listener: (fired: FiredFault) => void): void {
    this.listeners.push(listener);
  }

  private fired(fired: FiredFault): void {
    for (const listener of this.listeners) listener(fired);
  }

  private async fire(trx: Executor, rule: FaultRule): Promise<boolean> {
    if (rule.count !== undefined && rule.fired >= rule.count) return false;
    if (rule.probability !== undefined && Math.random() >= rule.probability) return false;
    const claimed = await trx
      .updateTable('fault_rules')
      .set((eb) => ({ fired: eb('fired', '+', 1) }))
      .where('id', '=', rule.id)
      .where((eb) => eb.or([eb('max_fires', 'is', null), eb('fired', '<', eb.ref('max_fires'))]))
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) {
      rule.fired = rule.count ?? rule.fired; // spent elsewhere
      return false;
    }
    rule.fired++;
    return true;
  }
}

/**
 * Whether a path pattern can match some path under `prefix` (e.g. `/compute/v1`): its literal
 * segments agree with the prefix's, a wildcard standing for any. A rule whose pattern cannot
 * would never fire.
 */
export function patternReaches(pattern: string, prefix: string): boolean {
  const segments = pattern.split('/');
  const wanted = prefix.split('/');
  for (let i = 0; i < wanted.length; i++) {
    const segment = segments[i];
    if (segment === undefined) return false;
    if (segment === '**') return true;
    if (segment === '*' || /^\{[^}]+\}$/.test(segment)) continue;
    if (segment !== wanted[i]) return false;
  }
  return true;
}

/** Whether a lifecycle rule names this kind and transition (any transition when it names none). */
function targets(rule: FaultRule, kind: string, transition: string): boolean {
  return rule.kind === kind && (rule.transition === undefined || rule.transition === transition);
}

const patterns = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  let regex = patterns.get(pattern);
  if (!regex) {
    const body = pattern
      .split('/')
      .map((segment) => {
        if (segment === '**') return '.*';
        if (segment === '*' || /^\{[^}]+\}$/.test(segment)) return '[^/]+';
        return segment.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
      })
      .join('/');
    regex = new RegExp(`^${body}/?$`);
    patterns.set(pattern, regex);
  }
  return regex;
}
