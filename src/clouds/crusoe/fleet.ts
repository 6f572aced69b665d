import { fleetSources, type FleetSource } from '../../http/cloud.js';
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
  return fleetSources(resources, {
    cloud: CLOUD,
    model: m,
    errorClass: CrusoeError,
    columns: { name: 'name', status: 'state', region: 'location', project: 'project_id', type: null },
    scope: (row) => String(row.project_id),
    path: (project, collection, key) => `${PREFIX}/projects/${project}/${collection}/${key}`,
    historyIds: async (id) => (await db.selectFrom('crusoe_operations').select('id').where('resource_id', '=', id).execute()).map((r) => r.id as string),
  });
}
