import { Type } from '@sinclair/typebox';
import type { App } from '../http/types.js';
import type { AdminDeps } from './common.js';

/** The request journal. */
export function journalRoutes(app: App, deps: AdminDeps): void {
  const { journal } = deps;
  app.get('/journal', { config: { doc: { operationId: 'listJournal', summary: 'The most recent API requests, newest first', tags: ['Journal'] } }, schema: { querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })) }) } }, async (req) => ({
    requests: journal.list(req.query.limit ?? 100),
  }));
}
