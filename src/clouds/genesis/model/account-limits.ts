import { Code, genesisError } from '../errors.js';
import { CLOUD, Counter, type GenesisContext } from './context.js';

export interface AvailabilityView {
  region: string;
  placement: string;
  types: { type: string; available: boolean; count: number }[];
}

export interface QuotaView {
  key: string;
  capacity: number;
  used: number;
  flavors: { flavor_name: string; product_name: string; unit: string; used: number }[];
}

/** Quota keys reported by GET /quotas, with their counter and the unit they count. */
const reported: { key: string; counter: string; unit: string }[] = [
  { key: 'instances', counter: Counter.instances, unit: 'instance' },
  { key: 'snapshots', counter: Counter.snapshots, unit: 'snapshot' },
  { key: 'volumes', counter: Counter.volumes, unit: 'volume' },
  { key: 'floating_ips', counter: Counter.floatingIps, unit: 'ip' },
];

/** What an account may still create: stock per type in a region, and its quotas. */
export class AccountLimits {
  constructor(private readonly ctx: GenesisContext) {}

  async availability(region: string, placement: string | undefined): Promise<AvailabilityView> {
    const { catalog, kernel, db } = this.ctx;
    if (!catalog.regions.has(region)) {
      throw genesisError(Code.BadRequest, `"region" must be one of: ${[...catalog.regions.keys()].join(', ')}`);
    }
    if (placement !== undefined && !catalog.placementOptions.includes(placement)) {
      throw genesisError(Code.InvalidPlacementOption, `"placement" must be one of: ${catalog.placementOptions.join(', ')}`);
    }
    const stock = await kernel.capacity.list(db, CLOUD, region);
    return {
      region,
      placement: placement ?? 'AUTO',
      types: stock
        .filter((s) => catalog.types.has(s.sku))
        .map((s) => {
          const free = Math.max(0, s.total - s.used);
          return { type: s.sku, available: free > 0, count: free };
        }),
    };
  }

  async quotas(accountId: string): Promise<QuotaView[]> {
    const { kernel, db, catalog } = this.ctx;
    const perType = await db
      .selectFrom('genesis_instances')
      .select(['type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('account_id', '=', accountId)
      .groupBy('type')
      .execute();
    const views: QuotaView[] = [];
    for (const { key, counter, unit } of reported) {
      const [capacity, used] = await Promise.all([kernel.counters.limit(db, accountId, counter), kernel.counters.get(db, accountId, counter)]);
      views.push({
        key,
        capacity: Math.min(capacity, Number.MAX_SAFE_INTEGER),
        used,
        flavors:
          key === 'instances'
            ? perType.map((r) => ({
                flavor_name: r.type,
                product_name: catalog.types.get(r.type)?.gpu?.model ?? 'CPU',
                unit,
                used: Number(r.n),
              }))
            : [],
      });
    }
    return views;
  }
}
