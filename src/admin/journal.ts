import { Type } from '@sinclair/typebox';
import type { App } from '../http/types.js';
import { notFound, type AdminDeps } from './common.js';

/**
 * The request journal under /admin/v1: the most recent cloud API requests, filtered, and one
 * request with what was sent and what came back (bodies cut at a size limit, credentials and
 * secret fields redacted before they are kept).
 */
export function journalRoutes(app: App, deps: AdminDeps): void {
  const { journal } = deps;
  const JournalQuery = Type.Object({
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    cloud: Type.Optional(Type.String()),
    account: Type.Optional(Type.String()),
    method: Type.Optional(Type.String()),
    status: Type.Optional(Type.String({ pattern: '^([1-5][0-9][0-9]|[1-5]xx)$' })),
    q: Type.Optional(Type.String({ maxLength: 255 })),
  });
  app.get(
    '/journal',
    { config: { doc: { operationId: 'listJournal', summary: 'The most recent API requests, newest first (filter by cloud, account, method, status or 4xx, path)', tags: ['Journal'] } }, schema: { querystring: JournalQuery } },
    async (req) => {
      const { limit, ...filter } = req.query;
      const given = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined && v !== ''));
      return { requests: journal.list(limit ?? 100, given) };
    },
  );
  app.get(
    '/journal/:request_id',
    {
      config: { doc: { operationId: 'getJournalRequest', summary: 'One journaled request: its headers and body, and the answer’s body (cut at 16 KiB, secrets redacted)', tags: ['Journal'] } },
      schema: { params: Type.Object({ request_id: Type.Integer({ minimum: 1 }) }) },
    },
    async (req) => {
      const found = journal.get(req.params.request_id);
      if (!found) throw notFound('journaled request', String(req.params.request_id));
      return found;
    },
  );
}
