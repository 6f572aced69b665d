import { unlessGone, type FleetSource } from '../../http/cloud.js';
import { GenesisError } from './errors.js';
import { PREFIX } from './http.js';
import { CLOUD } from './model/context.js';
import type { GenesisModel } from './model/index.js';
import type { ResourceDef } from '../../kernel/resources.js';

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
              const body = await unlessGone(GenesisError, () => fleet.read(m, String(row.account_id), String(row[fleet.key ?? 'id'])));
              return body === null ? null : { path: `${PREFIX}/${fleet.collection}/${String(row[fleet.key ?? 'id'])}`, body };
            },
          },
        ],
  );
}
