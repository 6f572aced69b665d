import { Type } from '@sinclair/typebox';
import type { App } from '../../../http/types.js';
import type { CrusoeModel } from '../model/index.js';
import { renderUsage, renderUsageExportRow, renderUsageOptions, usageCsv } from '../render.js';
import { UsageExportQuery, UsageOptions, UsageQuery, UsageReport } from '../wire.js';

const tags = ['Usage'];

/**
 * Organization usage, computed from the metering ledger: per project (`/usage`), per
 * resource (`/usage/export`, CSV as the spec says it produces; JSON `{"items": [...]}` for a
 * client that asks for application/json only), and the values the filters can take.
 */
export function usageRoutes(app: App, m: CrusoeModel): void {
  app.get(
    '/organizations/:org_id/usage',
    {
      schema: { params: Type.Object({ org_id: Type.String() }), querystring: UsageQuery, response: { 200: UsageReport } },
      // This one is a grpc-gateway route in the spec: its errors are rpcStatus objects.
      config: { doc: { operationId: 'getUsage', summary: "An organization's usage", tags }, grpcErrors: true },
    },
    async (req) => ({ items: (await m.usage.report(req.accountId, req.params.org_id, req.query)).map(renderUsage) }),
  );

  app.get(
    '/organizations/:org_id/usage/export',
    { schema: { params: Type.Object({ org_id: Type.String() }), querystring: UsageExportQuery }, config: { doc: { operationId: 'getUsageExport', summary: "An organization's usage as CSV", produces: 'text/csv', tags } } },
    async (req, reply) => {
      const rows = await m.usage.export(req.accountId, req.params.org_id, req.query);
      const accept = String(req.headers.accept ?? '');
      if (accept.includes('application/json') && !accept.includes('text/csv')) {
        return reply.type('application/json').send({ items: rows.map(renderUsageExportRow) });
      }
      return reply.type('text/csv; charset=utf-8').send(usageCsv(rows));
    },
  );

  app.get(
    '/organizations/:org_id/usage/options',
    { schema: { params: Type.Object({ org_id: Type.String() }), response: { 200: UsageOptions } }, config: { doc: { operationId: 'getUsageOptions', summary: 'The values usage filters take', tags } } },
    async (req) => renderUsageOptions(await m.usage.options(req.accountId, req.params.org_id)),
  );
}
