import type { FleetSource } from '../../http/cloud.js';
import { CrusoeError } from './errors.js';
import { PREFIX } from './http.js';
import { CLOUD } from './model/context.js';
import type { CrusoeModel } from './model/index.js';
import type { ResourceDef } from '../../kernel/resources.js';

/** A resource gone between the listing and the read answers null, as the cloud's 404 would. */
async function found<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof CrusoeError && error.statusCode === 404) return null;
    throw error;
  }
}

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
              const body = await found(() => fleet.read(m, project, String(row[fleet.key ?? 'id'])));
              return body === null ? null : { path: `${PREFIX}/projects/${project}/${fleet.collection}/${String(row[fleet.key ?? 'id'])}`, body };
            },
            historyIds: operationsOn,
          },
        ],
  );
}
