import { fleetSources, type FleetSource } from '../../http/cloud.js';
import { GenesisError } from './errors.js';
import { PREFIX } from './http.js';
import { CLOUD } from './model/context.js';
import type { GenesisModel } from './model/index.js';
import type { ResourceDef } from '../../kernel/resources.js';

/** Genesis's declared resources as the console's fleet lists them, each answered as GET <prefix>/<collection>/<id> answers. */
export function genesisFleet(m: GenesisModel, resources: readonly ResourceDef<GenesisModel>[]): FleetSource[] {
  return fleetSources(resources, {
    cloud: CLOUD,
    model: m,
    errorClass: GenesisError,
    columns: { name: 'name', status: 'status', region: 'region', project: null, type: null },
    scope: (row) => String(row.account_id),
    path: (_account, collection, key) => `${PREFIX}/${collection}/${key}`,
  });
}
