import { unlessGone, type FleetSource } from '../../http/cloud.js';
import { CrusoeError } from './errors.js';
import { PREFIX } from './http.js';
import { CLOUD } from './model/context.js';
import type { CrusoeModel } from './model/index.js';
import type { ResourceDef } from '../../kernel/resources.js';

/**
 * Crusoe's declared resources as the console's fleet lists them (per project), each answered as
 * the project-scoped GET of it answers. A resource's history includes the operations on it.
 */
export function crusoeFleet(m: CrusoeModel, resources: readonly ResourceDef<CrusoeModel>[]): FleetSource[] {
  const { db } = m.ctx;
  const operationsOn = async (id: string) =>
    (await db.selectFrom('crusoe_operations').select('id').where('resource_id', '=', id).execute()).map((r) => r.id as string);
  return resources.flatMap(({ kind, table, fleet }): FleetSource[] =>
    fleet === undefined
      ? []
      : [
          {
            cloud: CLOUD,
            kind,
            table,
            columns: { name: 'name', status: 'state', region: 'location', project: 'project_id', type: null, ...fleet.columns },
            wireStatus: fleet.wireStatus,
            async wire(row) {
              const project = String(row.project_id);
              const body = await unlessGone(CrusoeError, () => fleet.read(m, project, String(row[fleet.key ?? 'id'])));
              return body === null ? null : { path: `${PREFIX}/projects/${project}/${fleet.collection}/${String(row[fleet.key ?? 'id'])}`, body };
            },
            historyIds: operationsOn,
          },
        ],
  );
}
