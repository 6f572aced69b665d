import type { CloudModule } from '../../http/cloud.js';
import { randomSecret } from '../../kernel/ids.js';
import { hashToken } from '../../kernel/tenancy/accounts.js';
import { GenesisCatalog } from './catalog.js';
import { genesisPlugin, PREFIX, TOKEN_KIND } from './http.js';
import { genesisLifecycles } from './lifecycles.js';
import { privatePool, publicPool, storagePool } from './model/addresses.js';
import { CLOUD, Counter, type GenesisContext } from './model/context.js';
import { createModel } from './model/index.js';
import { genesisMigrations, type GenesisDb } from './tables.js';

/** Quotas a new account starts with: generous, so first use never trips them by accident. */
const DEFAULT_QUOTAS: Record<string, number> = {
  [Counter.instances]: 1000,
  [Counter.snapshots]: 1000,
  [Counter.volumes]: 1000,
  [Counter.floatingIps]: 1000,
};

/** The Genesis Cloud Compute API v1, under /compute/v1. */
export const genesisCloud: CloudModule = {
  name: CLOUD,
  prefix: PREFIX,
  async setup(kernel, config) {
    await kernel.migrate(CLOUD, genesisMigrations);
    const catalog = GenesisCatalog.load(config.catalogs.genesis ?? undefined);
    const ctx: GenesisContext = { kernel, db: kernel.db as GenesisDb, catalog, config };
    const model = createModel(ctx);
    for (const def of genesisLifecycles(ctx)) kernel.lifecycle.register(def);
    for (const [key, limit] of Object.entries(DEFAULT_QUOTAS)) kernel.counters.defineQuota(key, limit);
    for (const [name, limit] of Object.entries(config.genesisQuotas)) {
      const key = `genesis.${name}`;
      if (!(key in DEFAULT_QUOTAS)) {
        throw new Error(`HANGAR_GENESIS_QUOTAS: unknown quota "${name}" (known: ${Object.keys(DEFAULT_QUOTAS).map((k) => k.slice('genesis.'.length)).join(', ')})`);
      }
      kernel.counters.defineQuota(key, limit);
    }

    await kernel.db.transaction().execute(async (trx) => {
      for (const region of catalog.regions.values()) {
        await kernel.ipam.ensurePool(trx, privatePool(region.id), region.private_cidr);
        await kernel.ipam.ensurePool(trx, publicPool(region.id), region.public_cidr);
        await kernel.ipam.ensurePool(trx, storagePool(region.id), region.storage_cidr);
      }
      for (const type of catalog.types.values()) {
        for (const [region, units] of Object.entries(type.stock)) await kernel.capacity.seed(trx, CLOUD, region, type.id, units);
      }
    });

    const pinned = config.demo.genesisToken;
    kernel.tenancy.onAccountCreated(CLOUD, async ({ trx, account, demo }) => {
      const token = demo && pinned ? pinned : randomSecret(16);
      await kernel.tenancy.addCredential(trx, { accountId: account.id, cloud: CLOUD, kind: TOKEN_KIND, lookup: hashToken(token), label: 'default' });
      await model.securityGroups.createDefaults(trx, account.id);
      return { token };
    });

    return {
      plugin: genesisPlugin(model, { rateLimit: config.rateLimit }),
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
