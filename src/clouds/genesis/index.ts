import type { CloudModule } from '../../http/cloud.js';
import { genesisFleet } from './fleet.js';
import { closeRedis, connectRedis } from '../../http/redis.js';
import { hashToken } from '../../kernel/tenancy/accounts.js';
import { GenesisCatalog } from './catalog.js';
import { genesisFailure, genesisPlugin, PREFIX } from './http.js';
import { resourcesOf } from '../../kernel/resources.js';
import { lifecycleOf } from '../../kernel/lifecycle/machine.js';
import { privatePool, publicPool, storagePool } from './model/addresses.js';
import { CLOUD, READ_TOKEN_KIND, TOKEN_KIND, type GenesisContext } from './model/context.js';
import { createModel } from './model/index.js';
import { instanceHours } from './usage.js';
import { genesisMigrations, type GenesisDb } from './tables.js';
import type { Transaction } from 'kysely';
import type { Kernel } from '../../kernel/kernel.js';
import type { Config } from '../../config.js';

/** Stock in use and per-account counts, recomputed from the rows after a bulk change. */
async function recount(kernel: Kernel, trx: Transaction<any>): Promise<void> {
  const inUse = await trx
    .selectFrom('genesis_instances')
    .select(['region', 'type', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['region', 'type'])
    .execute();
  await kernel.capacity.recount(trx, CLOUD, inUse.map((r) => ({ region: r.region, sku: r.type, used: Number(r.n) })));
  await kernel.counters.recountResources(trx, resourcesOf(CLOUD));
  // What each reservation has in use: the instances on it.
  const onReservations = await trx
    .selectFrom('genesis_instances')
    .select(['reservation_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('reservation_id', 'is not', null)
    .groupBy('reservation_id')
    .execute();
  await kernel.reservations.setUsed(trx, CLOUD, new Map(onReservations.map((r) => [String(r.reservation_id), Number(r.n)])));
}

/**
 * An account's deletion gives back what its resources hold, as their own deletions would:
 * instances' and floating IPs' addresses, filesystems' mount endpoints. The kernel then removes
 * the account's rows, and the recount gives back its stock.
 */
async function releaseAccount(kernel: Kernel, trx: Transaction<any>, accountId: string): Promise<void> {
  const { ipam } = kernel;
  const instances = await trx.selectFrom('genesis_instances').select(['id', 'region', 'private_ip', 'public_ip']).where('account_id', '=', accountId).execute();
  for (const i of instances) {
    await ipam.release(trx, i.id, [
      [privatePool(i.region), i.private_ip],
      [publicPool(i.region), i.public_ip],
    ]);
  }
  const floating = await trx.selectFrom('genesis_floating_ips').select(['id', 'region', 'ip_address']).where('account_id', '=', accountId).execute();
  for (const f of floating) await ipam.release(trx, f.id, [[publicPool(f.region), f.ip_address]]);
  const filesystems = await trx.selectFrom('genesis_filesystems').select(['id', 'region', 'mount_endpoint_range']).where('account_id', '=', accountId).execute();
  for (const f of filesystems) {
    const range = f.mount_endpoint_range === null ? [] : (JSON.parse(f.mount_endpoint_range) as string[]);
    await ipam.release(trx, f.id, range.map((address) => [storagePool(f.region), address] as const));
  }
}

/** The quotas every account starts with, as configured (HANGAR_GENESIS_QUOTAS wins over the defaults). */
function defineQuotas(kernel: Kernel, config: Config): void {
  const defaults = kernel.counters.defineQuotas(resourcesOf(CLOUD));
  for (const [name, limit] of Object.entries(config.genesisQuotas)) {
    const key = `genesis.${name}`;
    if (!defaults.has(key)) {
      throw new Error(`HANGAR_GENESIS_QUOTAS: unknown quota "${name}" (known: ${[...defaults.keys()].map((k) => k.slice('genesis.'.length)).join(', ')})`);
    }
    kernel.counters.defineQuota(key, limit);
  }
}

export const genesisCloud: CloudModule = {
  name: CLOUD,
  title: 'Genesis Cloud Compute API v1',
  prefix: PREFIX,
  async setup(kernel, config) {
    await kernel.migrate(CLOUD, genesisMigrations);
    const catalog = GenesisCatalog.load(config.catalogs.genesis ?? undefined);
    const ctx: GenesisContext = { kernel, db: kernel.db as GenesisDb, catalog, config };
    const model = createModel(ctx);
    for (const resource of resourcesOf(CLOUD)) {
      const machine = resource.machine?.(model);
      if (machine) kernel.lifecycle.registerMachine(machine, lifecycleOf(machine));
    }
    defineQuotas(kernel, config);

    kernel.onSeed((trx) => seed(kernel, catalog, trx));
    kernel.onRecount((trx) => recount(kernel, trx));
    kernel.onAccountDeleted((trx, accountId) => releaseAccount(kernel, trx, accountId));

    const redis = config.rateLimit > 0 && config.redisUrl ? await connectRedis(config.redisUrl) : null;
    const pinned = config.demo.genesisToken;
    kernel.tenancy.onAccountCreated(CLOUD, async ({ trx, account, demo, previous }) => {
      const kept = typeof previous.token === 'string' ? previous.token : null;
      const token = demo && pinned ? pinned : (kept ?? kernel.ids.secret(16));
      await kernel.tenancy.addCredential(trx, { accountId: account.id, cloud: CLOUD, kind: TOKEN_KIND, lookup: hashToken(token), label: 'default' });
      await model.securityGroups.createDefaults(trx, account.id);
      return { token };
    });

    // A read-only token reads everything its account holds and changes nothing (02043).
    kernel.tenancy.onIssueCredential(
      CLOUD,
      async (trx, accountId, options) => {
        const token = kernel.ids.secret(16);
        const readOnly = options.read_only === true;
        const kind = readOnly ? READ_TOKEN_KIND : TOKEN_KIND;
        const id = await kernel.tenancy.addCredential(trx, { accountId, cloud: CLOUD, kind, lookup: hashToken(token), label: readOnly ? 'issued read-only' : 'issued' });
        return { credential_id: id, token, ...(readOnly ? { read_only: true } : {}) };
      },
      ['read_only'],
    );
    kernel.declareApiSwitch(CLOUD);

    return {
      fleet: genesisFleet(model, resourcesOf(CLOUD)),
      usage: instanceHours(kernel.db),
      plugin: genesisPlugin(model, { rateLimit: config.rateLimit, rateLimitWindowMs: config.rateLimitWindowMs, redis }),
      renderFailure: (failure) => {
        const error = genesisFailure(failure);
        return { status: error.statusCode, body: error.toJSON() };
      },
      close: () => closeRedis(redis),
      async pinDemoCredentials(accountId) {
        if (!pinned) return null;
        const existing = await kernel.tenancy.findCredential(CLOUD, TOKEN_KIND, hashToken(pinned));
        if (!existing) {
          await kernel.tenancy.addCredential(kernel.db, { accountId, cloud: CLOUD, kind: TOKEN_KIND, lookup: hashToken(pinned), label: 'pinned' });
        }
        return { token: pinned };
      },
      banner(demo, baseUrl) {
        const url = `${baseUrl}${PREFIX}`;
        if (typeof demo.token !== 'string') return [`Genesis Cloud API   ${url}   (demo token printed when the store was created)`];
        return [
          `Genesis Cloud API   ${url}`,
          `  token             ${demo.token}`,
          `  try               curl -H "Authorization: Bearer ${demo.token}" ${url}/instances`,
        ];
      },
    };
  },
};

/** A new store's address pools and stock, from the catalog. */
async function seed(kernel: Kernel, catalog: GenesisCatalog, trx: Transaction<any>): Promise<void> {
  await kernel.ipam.ensurePools(
    trx,
    [...catalog.regions.values()].flatMap((region) => [
      { name: privatePool(region.id), cidr: region.private_cidr },
      { name: publicPool(region.id), cidr: region.public_cidr },
      { name: storagePool(region.id), cidr: region.storage_cidr },
    ]),
  );
  await kernel.capacity.seed(
    trx,
    CLOUD,
    [...catalog.types.values()].flatMap((type) => Object.entries(type.stock).map(([region, total]) => ({ region, sku: type.id, total }))),
  );
}
