import type { Kernel } from '../../kernel/kernel.js';
import type { Transaction } from 'kysely';
import type { CloudModule } from '../../http/cloud.js';
import { crusoeFleet } from './fleet.js';
import { gpuHours, projectsOf } from './console.js';
import { resourcesOf } from '../../kernel/resources.js';
import { CrusoeCatalog } from './catalog.js';
import { crusoePlugin, crusoeFailure, PREFIX } from './http.js';
import { crusoeLifecycles } from './lifecycles.js';
import { ACCESS_KEY_KIND, CLOUD, publicPool, type CrusoeContext } from './model/context.js';
import { createModel, type CrusoeModel } from './model/index.js';
import type { Provisioned } from './model/accounts.js';
import { renderers } from './render.js';
import { formerStatesToAvailable } from './model/resource.js';
import { crusoeMigrations, type CrusoeDb } from './tables.js';
import { Quotas, quotaMigrations, withCatalog } from './model/quotas.js';

/**
 * Stock in use and per-account and per-project counts, recomputed from the rows after a bulk
 * change (an import, an account deleted); rows of a document from before the one state
 * vocabulary get its words; projects that came without their default network
 * (a document from before networks were served) get it first, and the address pools of
 * subnets that went with a deleted account are dropped.
 */
async function recount(kernel: Kernel, trx: Transaction<any>, model: CrusoeModel): Promise<void> {
  await formerStatesToAvailable(trx);
  await model.networks.backfill(trx);
  await model.networks.dropOrphanPools(trx);
  const inUse = await trx
    .selectFrom('crusoe_vms')
    .select(['location', 'type', (eb) => eb.fn.countAll<number>().as('n')])
    .where('holds_capacity', '=', 1)
    .groupBy(['location', 'type'])
    .execute();
  await kernel.capacity.recount(trx, CLOUD, inUse.map((r) => ({ region: r.location, sku: r.type, used: Number(r.n) })));
  await kernel.counters.recountResources(trx, resourcesOf(CLOUD));
  await Quotas.recount(trx, model.ctx.catalog, kernel.counters);
  // What each reservation has in use: the VMs on it.
  const onReservations = await trx
    .selectFrom('crusoe_vms')
    .select(['reservation_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('reservation_id', 'is not', null)
    .groupBy('reservation_id')
    .execute();
  await model.ctx.kernel.reservations.setUsed(trx, CLOUD, new Map(onReservations.map((r) => [String(r.reservation_id), Number(r.n)])));
}

/**
 * What a store starts with: the locations' public address pools (VMs' and load balancers'
 * private addresses come from their subnets' pools; a location's public pool is shared by its
 * VMs and NAT gateways), every project's default network (a store from before VPC networks were
 * served), and the catalog's stock.
 */
async function seed(kernel: Kernel, trx: Transaction<any>, catalog: CrusoeCatalog, model: CrusoeModel): Promise<void> {
  await kernel.ipam.ensurePools(
    trx,
    [...catalog.locations.values()].map((location) => ({ name: publicPool(location.id), cidr: location.public_cidr })),
  );
  await model.networks.backfill(trx);
  await kernel.capacity.seed(
    trx,
    CLOUD,
    [...catalog.types.values()].flatMap((type) => Object.entries(type.stock).map(([region, total]) => ({ region, sku: type.product_name, total }))),
  );
}

/** The Crusoe Cloud API v1alpha5, under /v1alpha5. */
export const crusoeCloud: CloudModule = {
  name: CLOUD,
  title: 'Crusoe Cloud API v1alpha5',
  prefix: PREFIX,
  async setup(kernel, config) {
    const catalog = CrusoeCatalog.load(config.catalogs.crusoe ?? undefined);
    await kernel.migrate(CLOUD, crusoeMigrations);
    await kernel.migrate(`${CLOUD}_quotas`, withCatalog(quotaMigrations, catalog));
    const ctx: CrusoeContext = { kernel, db: kernel.db as CrusoeDb, catalog, config };
    const model = createModel(ctx, renderers);
    const lifecycles = crusoeLifecycles(model);
    kernel.lifecycle.register(lifecycles.operation);
    for (const machine of lifecycles.machines) kernel.lifecycle.registerMachine(machine);
    kernel.counters.defineQuotas(resourcesOf(CLOUD));
    model.quotas.register();

    kernel.onSeed((trx) => seed(kernel, trx, catalog, model));
    kernel.onRecount((trx) => recount(kernel, trx, model));
    kernel.onAccountDeleted((trx, accountId) => model.projects.purgeAccount(trx, accountId));

    const { crusoeAccessKey: pinnedAccess, crusoeSecretKey: pinnedSecret } = config.demo;
    const pinned = pinnedAccess && pinnedSecret ? { accessKey: pinnedAccess, secretKey: pinnedSecret } : undefined;

    kernel.tenancy.onAccountCreated(CLOUD, async ({ trx, account, demo, previous }) => {
      const { organizationId, projectId } = await model.accounts.provision(trx, account, keptIds(previous));
      const key = await model.accounts.issueKey(trx, account.id, (demo ? pinned : undefined) ?? keptKey(previous));
      return { access_key: key.access_key, secret_key: key.secret_key, organization_id: organizationId, project_id: projectId };
    });

    // POST /admin/v1/accounts/{id}/credentials {"cloud":"crusoe"}: one more key pair that does not
    // expire, with the organization and project a client needs beside it.
    kernel.tenancy.onIssueCredential(CLOUD, async (trx, accountId) => {
      // (read in the transaction: under SQLite it holds the one connection)
      const account = await trx.selectFrom('accounts').select(['id', 'name']).where('id', '=', accountId).executeTakeFirstOrThrow();
      const { organizationId, projectId } = await model.accounts.provision(trx, account);
      const key = await model.tokens.issue(trx, accountId, { alias: 'issued', expiresAt: null });
      return { credential_id: key.credential_id, access_key: key.access_key, secret_key: key.secret_key, organization_id: organizationId, project_id: projectId };
    });

    return {
      fleet: crusoeFleet(model, resourcesOf(CLOUD)),
      usage: gpuHours(kernel.db),
      projects: (accountId) => projectsOf(kernel.db, accountId),
      plugin: crusoePlugin(model),
      renderFailure: (failure) => {
        const error = crusoeFailure(failure);
        return { status: error.statusCode, body: error.toJSON() };
      },
      /**
       * Makes sure the pinned key pair works for the demo account of an existing store (and that
       * the account has its Crusoe organization and project, for a store made before Crusoe
       * was served). Without pinned keys, an account that has no key at all gets one.
       */
      async pinDemoCredentials(accountId) {
        const account = await kernel.tenancy.get(accountId);
        if (!account) return null;
        // Read before the transaction: SQLite has one connection, which the transaction holds.
        const found = pinned ? await kernel.tenancy.findCredential(CLOUD, ACCESS_KEY_KIND, pinned.accessKey) : undefined;
        return kernel.db.transaction().execute(async (trx) => {
          const { organizationId, projectId } = await model.accounts.provision(trx, account);
          const ids = { organization_id: organizationId, project_id: projectId };
          if (pinned) {
            const current = found?.secretSealed ? safeOpen(kernel.secrets, found.secretSealed) : null;
            if (found && (found.accountId !== accountId || current !== pinned.secretKey)) {
              await kernel.tenancy.removeCredential(trx, found.accountId, CLOUD, ACCESS_KEY_KIND, pinned.accessKey);
            }
            if (!found || found.accountId !== accountId || current !== pinned.secretKey) await model.accounts.issueKey(trx, accountId, pinned);
            return { access_key: pinned.accessKey, secret_key: pinned.secretKey, ...ids };
          }
          const keys = await kernel.tenancy.listCredentials(trx, accountId, CLOUD, ACCESS_KEY_KIND);
          if (keys.length > 0) return null;
          const key = await model.accounts.issueKey(trx, accountId);
          return { access_key: key.access_key, secret_key: key.secret_key, ...ids };
        });
      },
      banner: crusoeBanner,
    };
  },
};

/** The banner's lines for the Crusoe API: where it is, the demo key pair, and how to sign. */
function crusoeBanner(demo: Record<string, unknown>, baseUrl: string): string[] {
  const url = `${baseUrl}${PREFIX}`;
  if (typeof demo.access_key !== 'string' || typeof demo.secret_key !== 'string') {
    return [`Crusoe Cloud API    ${url}   (demo key pair printed when the store was created)`];
  }
  return [
    `Crusoe Cloud API    ${url}`,
    `  access key        ${demo.access_key}`,
    `  secret key        ${demo.secret_key}`,
    `  project id        ${String(demo.project_id ?? '')}`,
    `  sign              Authorization: Bearer 1.0:<access key>:<signature>, X-Crusoe-Timestamp: <RFC 3339 now>;`,
    `                    signature = base64url(HMAC-SHA256(base64url-decoded secret, "<path>\\n<sorted query>\\n<METHOD>\\n<timestamp>\\n"))`,
    `  clients           CRUSOE_API_ENDPOINT=${url} CRUSOE_ACCESS_KEY_ID=${demo.access_key} CRUSOE_SECRET_KEY=${demo.secret_key} CRUSOE_DEFAULT_PROJECT=${String(demo.project_id ?? '')}`,
  ];
}

/** The organization and project an account had before a reset (see AccountCreation.previous). */
function keptIds(previous: Record<string, unknown>): Provisioned | undefined {
  const { organization_id: organizationId, project_id: projectId } = previous;
  return typeof organizationId === 'string' && typeof projectId === 'string' ? { organizationId, projectId } : undefined;
}

function keptKey(previous: Record<string, unknown>): { accessKey: string; secretKey: string } | undefined {
  const { access_key: accessKey, secret_key: secretKey } = previous;
  return typeof accessKey === 'string' && typeof secretKey === 'string' ? { accessKey, secretKey } : undefined;
}

function safeOpen(box: { open(sealed: string): string }, sealed: string): string | null {
  try {
    return box.open(sealed);
  } catch {
    return null;
  }
}
