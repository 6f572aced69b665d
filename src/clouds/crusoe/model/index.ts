import type { Transaction } from 'kysely';
import type { ProjectRow } from '../tables.js';
import { Accounts } from './accounts.js';
import { CLOUD, type CrusoeContext } from './context.js';
import { Disks } from './disks.js';
import { FirewallRules } from './firewall-rules.js';
import { InstanceGroups } from './groups.js';
import { InfiniBand } from './ib.js';
import { LoadBalancers } from './load-balancers.js';
import { Networks } from './networks.js';
import { Operations, type OperationHandler } from './operations.js';
import { Organizations } from './organizations.js';
import { Projects } from './projects.js';
import { Quotas } from './quotas.js';
import { References } from './references.js';
import type { Renderers } from './renderers.js';
import { Rules } from './rules.js';
import { Snapshots } from './snapshots.js';
import { SshKeys } from './ssh-keys.js';
import { Templates } from './templates.js';
import { Tokens } from './tokens.js';
import { Usage } from './usage.js';
import { Vms } from './vms.js';

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
  snapshots: Snapshots;
  networks: Networks;
  firewallRules: FirewallRules;
  loadBalancers: LoadBalancers;
  usage: Usage;
  quotas: Quotas;
  templates: Templates;
  groups: InstanceGroups;
  ib: InfiniBand;
  /** The wire shapes of the resources (the HTTP side's renderers, see renderers.ts). */
  render: Renderers;
  /** Every family whose operations the lifecycle engine completes. */
  handlers: OperationHandler[];
  capacities(filter: { types: string[]; locations: string[] }): Promise<CapacityView[]>;
}

export function createModel(ctx: CrusoeContext, render: Renderers): CrusoeModel {
  const organizations = new Organizations(ctx);
  const projects = new Projects(ctx, organizations);
  const tokens = new Tokens(ctx, projects);
  const ib = new InfiniBand(ctx);
  const rules = new Rules(ctx, ib);
  const operations = new Operations(ctx);
  const refs = new References();
  const quotas = new Quotas(ctx, organizations);
  const disks = new Disks(ctx, { operations, render, quotas });
  const networks = new Networks(ctx, { operations, refs, render });
  const templates = new Templates(ctx, rules, networks);
  const groups = new InstanceGroups(ctx, templates);
  const vms = new Vms(ctx, { renderVm: render.vm, rules, disks, operations, templates, groups, networks, refs, quotas });
  const snapshots = new Snapshots(ctx, { operations, render });
  const firewallRules = new FirewallRules(ctx, { operations, refs, networks, render });
  const loadBalancers = new LoadBalancers(ctx, { operations, refs, networks, render });

  // Every project starts with its default VPC network and a default subnet per location.
  projects.onCreate((trx, project) => networks.ensureDefaults(trx, project));
  // Deleting a project removes everything in it: VMs first (they hold disks, stock and
  // addresses), then what names or holds other things, the networks, then the operations.
  const purgers: ((trx: Transaction<any>, project: ProjectRow) => Promise<void>)[] = [
    (trx, p) => vms.purgeProject(trx, p),
    (trx, p) => loadBalancers.purgeProject(trx, p),
    (trx, p) => firewallRules.purgeProject(trx, p),
    (trx, p) => snapshots.purgeProject(trx, p),
    (trx, p) => disks.purgeProject(trx, p),
    (trx, p) => groups.purgeProject(trx, p),
    (trx, p) => templates.purgeProject(trx, p),
    (trx, p) => ib.purgeProject(trx, p),
    (trx, p) => networks.purgeProject(trx, p),
    // Last: the purgers above read the operations in flight to give back what they hold.
    (trx, p) => operations.purgeProject(trx, p),
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
    snapshots,
    networks,
    firewallRules,
    loadBalancers,
    usage: new Usage(ctx, organizations),
    quotas,
    templates,
    groups,
    ib,
    render,
    handlers: [vms, disks, snapshots, networks, firewallRules, loadBalancers],
    async capacities(filter) {
      const stock = await ctx.kernel.capacity.list(ctx.db, CLOUD);
      return stock
        .filter((s) => ctx.catalog.types.has(s.sku) && (filter.types.length === 0 || filter.types.includes(s.sku)))
        .filter((s) => filter.locations.length === 0 || filter.locations.includes(s.region))
        .map((s) => ({ type: s.sku, location: s.region, quantity: Math.max(0, s.total - s.used) }));
    },
  };
}
