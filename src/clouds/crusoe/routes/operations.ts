import type { App } from '../../../http/types.js';
import { readAsCaller } from '../caller.js';
import type { CrusoeModel } from '../model/index.js';
import { renderOperation } from '../render.js';
import { Operation, OperationList, OperationsQuery, ProjectIdParam, ProjectParam } from '../wire.js';

/**
 * A family's polling endpoints: `<base>/operations` lists what is in flight or finished and
 * not yet read, `<base>/operations/{operation_id}` reads one (403 when it is not there).
 */
export function operationRoutes(
  app: App,
  m: CrusoeModel,
  options: { base: string; family: string; tags: string[]; listId: string; getId: string; /** what the summaries call one (default: the first tag) */ noun?: string },
): void {
  const { base, family, tags } = options;
  const noun = options.noun ?? tags[0] ?? family;
  app.get(
    `${base}/operations`,
    {
      schema: { params: ProjectParam, querystring: OperationsQuery, response: { 200: OperationList } },
      config: { doc: { operationId: options.listId, summary: `List ${noun} operations in flight or not yet read`, tags } },
    },
    async (req) => {
      const rows = await m.operations.list(req.accountId, req.params.project_id, family, {
        resourceId: req.query.resource_id,
        states: req.query.state,
        lowerTimeBound: req.query.lower_time_bound,
      });
      return { items: rows.map(renderOperation) };
    },
  );

  app.get(
    `${base}/operations/:operation_id`,
    {
      schema: { params: ProjectIdParam('operation_id'), response: { 200: Operation } },
      // (`fused`: read with the caller's key and project in one statement on PostgreSQL, see caller.ts)
      config: { fused: true, doc: { operationId: options.getId, summary: `Get a ${noun} operation`, tags } },
    },
    async (req) => {
      const { project_id: projectId, operation_id: id } = req.params;
      return renderOperation(await readAsCaller(m, req, m.operations.getAsCaller(projectId, family, id), () => m.operations.get(req.accountId, projectId, family, id)));
    },
  );
}
