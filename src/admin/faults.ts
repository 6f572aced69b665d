import { Type } from '@sinclair/typebox';
import type { App } from '../http/types.js';
import type { Kernel } from '../kernel/kernel.js';
import { patternReaches, type FaultRuleInput } from '../kernel/faults.js';
import { invalid, notFound, type AdminDeps } from './common.js';

/** Fault rules: failed or slowed calls, failed lifecycle transitions. */
export function faultRoutes(app: App, deps: AdminDeps): void {
  const { kernel } = deps;
  const FaultBody = Type.Object(
    {
      cloud: Type.Optional(Type.String()),
      method: Type.Optional(Type.String()),
      path: Type.Optional(Type.String()),
      account: Type.Optional(Type.String()),
      count: Type.Optional(Type.Integer({ minimum: 1 })),
      probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
      status: Type.Optional(Type.Integer({ minimum: 400, maximum: 599 })),
      code: Type.Optional(Type.String()),
      message: Type.Optional(Type.String()),
      latency_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
      kind: Type.Optional(Type.String()),
      transition: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  );
  app.get('/faults', { config: { doc: { operationId: 'listFaults', summary: 'List fault rules and how often each fired', tags: ['Faults'] } } }, async () => ({ faults: await kernel.faults.list() }));
  app.post('/faults', { config: { doc: { operationId: 'addFault', summary: 'Add a fault rule: fail or slow matching calls, or fail a lifecycle transition', tags: ['Faults'] } }, schema: { body: FaultBody } }, async (req, reply) => {
    const problem = neverFires(req.body, kernel, deps.clouds);
    if (problem !== null) throw invalid(problem);
    return reply.code(201).send(await kernel.faults.add(req.body));
  });
  app.delete('/faults', { config: { doc: { operationId: 'clearFaults', summary: 'Remove every fault rule', tags: ['Faults'], noContent: true } } }, async (_req, reply) => {
    await kernel.faults.clear();
    return reply.code(204).send();
  });
  app.delete('/faults/:fault_id', { config: { doc: { operationId: 'removeFault', summary: 'Remove one fault rule', tags: ['Faults'], noContent: true } }, schema: { params: Type.Object({ fault_id: Type.String() }) } }, async (req, reply) => {
    if (!(await kernel.faults.remove(req.params.fault_id))) throw notFound('fault', req.params.fault_id);
    return reply.code(204).send();
  });
}

const METHODS = new Set(['*', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const REQUEST_FIELDS = ['method', 'path', 'status', 'code', 'message', 'latency_ms'] as const;

/** Why a fault rule could never fire (or do nothing when it did), in words naming the field; null for a rule that can. */
function neverFires(rule: FaultRuleInput, kernel: Kernel, clouds: AdminDeps['clouds']): string | null {
  const names = clouds.map((c) => c.name);
  if (rule.cloud !== undefined && !names.includes(rule.cloud)) return `"cloud" must be one of: ${names.join(', ')} (got "${rule.cloud}")`;
  if (rule.kind !== undefined) return lifecycleRuleProblem(rule, kernel);
  if (rule.transition !== undefined) return '"transition" needs "kind" (the lifecycle whose transition fails)';
  if (rule.status === undefined && rule.latency_ms === undefined) {
    return 'a fault needs "status" (fail the call), "latency_ms" (slow it down), or "kind" (fail a lifecycle transition)';
  }
  if (rule.method !== undefined && !METHODS.has(rule.method.toUpperCase())) return `"method" must be an HTTP method or "*" (got "${rule.method}")`;
  if (rule.path !== undefined) {
    const watched = clouds.filter((c) => rule.cloud === undefined || c.name === rule.cloud);
    if (!watched.some((c) => patternReaches(rule.path!, c.prefix))) {
      const prefixes = watched.map((c) => `${c.prefix} (${c.name})`).join(', ');
      return `"path" must be under ${watched.length === 1 ? 'the prefix' : 'a prefix'} of the API it watches: ${prefixes} (got "${rule.path}")`;
    }
  }
  return null;
}

/** A lifecycle rule: a kind (of the rule's cloud, if named) with a transition that can fail, and nothing of a request rule. */
function lifecycleRuleProblem(rule: FaultRuleInput, kernel: Kernel): string | null {
  const kind = rule.kind!;
  const stray = REQUEST_FIELDS.filter((field) => rule[field] !== undefined);
  if (stray.length > 0) return `a lifecycle fault ("kind") fails a transition, not a call: leave out ${stray.map((f) => `"${f}"`).join(', ')}`;
  if (!kernel.lifecycle.knows(kind)) return `no lifecycle kind "${kind}" (kinds: ${kernel.lifecycle.describe().map((k) => k.kind).join(', ')})`;
  if (rule.cloud !== undefined && !kind.startsWith(`${rule.cloud}.`)) return `lifecycle kind "${kind}" is not one of cloud "${rule.cloud}"`;
  if (rule.transition !== undefined && !kernel.lifecycle.knows(kind, rule.transition)) {
    return `no lifecycle transition ${kind}.${rule.transition} (transitions: ${kernel.lifecycle.describe().find((k) => k.kind === kind)!.transitions.map((t) => t.name).join(', ')})`;
  }
  // A rule on a transition that cannot fail would never fire: say so now.
  const failable = kernel.lifecycle.failable(kind);
  if (rule.transition === undefined ? failable.length === 0 : !failable.includes(rule.transition)) {
    return `${kind}${rule.transition ? `.${rule.transition}` : ''} cannot fail (transitions that can: ${failable.join(', ') || 'none'})`;
  }
  return null;
}
