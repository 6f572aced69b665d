import { Type } from '@sinclair/typebox';
import type { App } from '../http/types.js';
import type { StateDocument } from '../kernel/state.js';
import { notFound, type AdminDeps } from './common.js';

/** Reset: the store emptied back to the catalog and the demo account. */
export function resetRoutes(app: App, deps: AdminDeps): void {
  const { journal } = deps;
  const ResetBody = Type.Object({
    seed: Type.Optional(Type.String({ minLength: 1 })),
    /** Start the empty store with the clock frozen at this instant (any instant: nothing is stored yet). */
    frozen_at: Type.Optional(Type.String({ format: 'date-time' })),
    /** `keep` (the default): the demo account's printed credentials stay valid; `renew`: new ones. */
    demo_credentials: Type.Optional(Type.Unsafe<'keep' | 'renew'>({ type: 'string', enum: ['keep', 'renew'] })),
  });
  app.post('/reset', { config: { doc: { operationId: 'reset', summary: 'Empty the store back to the catalog and the demo account', tags: ['Reset and state'], noContent: true } }, schema: { body: Type.Optional(ResetBody) } }, async (req, reply) => {
    const at = req.body?.frozen_at === undefined ? null : Date.parse(req.body.frozen_at);
    await deps.reset(req.body?.seed ?? null, at, req.body?.demo_credentials === 'renew');
    journal.clear();
    return reply.code(204).send();
  });
}

/** The store (or one account) exported and imported as one JSON document. */
export function stateRoutes(app: App, deps: AdminDeps): void {
  const { kernel } = deps;
  app.get('/state', { config: { doc: { operationId: 'exportState', summary: 'Export the store (or one account) as one JSON document', tags: ['Reset and state'] } }, schema: { querystring: Type.Object({ account: Type.Optional(Type.String()) }) } }, async (req) => {
    if (req.query.account !== undefined && !(await kernel.tenancy.get(req.query.account))) throw notFound('account', req.query.account);
    return kernel.state.export(req.query.account ?? null);
  });
  app.put('/state', { config: { doc: { operationId: 'importState', summary: 'Import a document written by an export', tags: ['Reset and state'], noContent: true } }, bodyLimit: 512 * 1024 * 1024 }, async (req, reply) => {
    await kernel.importState(req.body as StateDocument);
    return reply.code(204).send();
  });
}
