import type { Transaction } from 'kysely';
import type { ProjectRow } from '../tables.js';
import { Accounts } from './accounts.js';
import { CLOUD, type CrusoeContext } from './context.js';
import { Disks } from './disks.js';
import { InstanceGroups } from './groups.js';
import { InfiniBand } from './ib.js';
import { Operations } from './operations.js';
import { Organizations } from './organizations.js';
import { Projects } from './projects.js';
import { Rules } from './rules.js';
import { SshKeys } from './ssh-keys.js';
import { Templates } from './templates.js';
import { Tokens } from './tokens.js';
import { Vms, type RenderVm } from './vms.js';

/** Free stock of a VM type in a location. */
export interface CapacityView {
  type: string;
  location: string;
  quantity: number;
}

/** The Crusoe backend: the rules of each resource, apart from the code that speaks HTTP. */
export interface CrusoeModel {
  ctx: CrusoeContext;
  accounts: Accounts;
  organizations: Organizations;
  projects: Projects;
  sshKeys: SshKeys;
  tokens: Tokens;
  operations: Operations;
  vms: Vms;
  disks: Disks;
  templates: Templates;
  groups: InstanceGroups;
  ib: InfiniBand;
  capacities(filter: { types: string[]; locations: string[] }): Promise<CapacityView[]>;
}

export function createModel(ctx: CrusoeContext, renderVm: RenderVm): CrusoeModel {
  const organizations = new Organizations(ctx);
  const projects = new Projects(ctx, organizations);
  const tokens = new Tokens(ctx);
  const ib = new InfiniBand(ctx);
  const rules = new Rules(ctx, ib);
  const disks = new Disks(ctx);
  const operations = new Operations(ctx);
  const templates = new Templates(ctx, rules);
  const groups = new InstanceGroups(ctx, templates);
  const vms = new Vms(ctx, { renderVm, rules, disks, operations, templates, groups });

  // Deleting a project removes everything in it, VMs first (they hold disks and stock).
  const purgers: ((trx: Transaction<any>, project: ProjectRow) => Promise<void>)[] = [
    (trx, p) => vms.purgeProject(trx, p),
    (trx, p) => disks.purgeProject(trx, p),
    (trx, p) => groups.purgeProject(trx, p),
    (trx, p) => templates.purgeProject(trx, p),
    (trx, p) => ib.purgeProject(trx, p),
  ];
  for (const purge of purgers) projects.onPurge(purge);

  return {
    ctx,
    accounts: new Accounts(ctx, projects, tokens),
    organizations,
    projects,
    sshKeys: new SshKeys(ctx),
    tokens,
    operations,
    vms,
    disks,
    templates,
    groups,
    ib,
    async capacities(filter) {
      const stock = await ctx.kernel.capacity.list(ctx.db, CLOUD);
      return stock
        .filter((s) => ctx.catalog.types.has(s.sku) && (filter.types.length === 0 || filter.types.includes(s.sku)))
        .filter((s) => filter.locations.length === 0 || filter.locations.includes(s.region))
        .map((s) => ({ type: s.sku, location: s.region, quantity: Math.max(0, s.total - s.used) }));
    },
  };
}
