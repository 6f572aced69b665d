import { Type } from '@sinclair/typebox';
import type { App } from '../../../http/types.js';
import type { CrusoeModel } from '../model/index.js';
import { OrgQuotaList, ProjectParam, ProjectQuotaList } from '../wire.js';

const tags = ['Quotas'];

/** Quotas of a project and of an organization: per instance family, VMs and disk storage. */
export function quotaRoutes(app: App, m: CrusoeModel): void {
  app.get(
    '/projects/:project_id/quotas',
    { schema: { params: ProjectParam, response: { 200: ProjectQuotaList } }, config: { doc: { operationId: 'listProjectQuotas', summary: 'List max and currently used project quotas', tags } } },
    async (req) => ({ quotas: await m.quotas.project(req.params.project_id) }),
  );

  app.get(
    '/organizations/:organization_id/quotas',
    {
      schema: { params: Type.Object({ organization_id: Type.String() }), response: { 200: OrgQuotaList } },
      config: { doc: { operationId: 'listOrgQuotas', summary: 'List max and currently used organization quotas', tags } },
    },
    async (req) => ({ quotas: (await m.quotas.organization(req.accountId, req.params.organization_id)).map(({ category: _category, ...quota }) => quota) }),
  );
}
