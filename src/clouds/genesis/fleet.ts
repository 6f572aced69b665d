import type { FleetSource } from '../../http/cloud.js';
import { GenesisError } from './errors.js';
import { PREFIX } from './http.js';
import { CLOUD } from './model/context.js';
import type { GenesisModel } from './model/index.js';
import type { ResourceDef } from '../../kernel/resources.js';

/** A resource gone between the listing and the read answers null, as the cloud's 404 would. */
async function found<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof GenesisError && error.statusCode === 404) return null;
    throw error;
  }
}

/** Genesis's declared resources as the console's fleet lists them, each answered as GET <prefix>/<collection>/<id> answers. */
export function genesisFleet(m: GenesisModel, resources: readonly ResourceDef<GenesisModel>[]): FleetSource[] {
  return resources.flatMap(({ kind, table, fleet }): FleetSource[] =>
    fleet === undefined
      ? []
      : [
          {
            cloud: CLOUD,
            kind,
            table,
            columns: { name: 'name', status: 'status', region: 'region', project: null, type: null, ...fleet.columns },
            wireStatus: fleet.wireStatus,
            async wire(row) {
              const body = await found(() => fleet.read(m, String(row.account_id), String(row[fleet.key ?? 'id'])));
              return body === null ? null : { path: `${PREFIX}/${fleet.collection}/${String(row[fleet.key ?? 'id'])}`, body };
            },
          },
        ],
  );
}
