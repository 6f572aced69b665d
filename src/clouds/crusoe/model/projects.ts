import type { Transaction } from 'kysely';
import { KeptReads } from '../../../kernel/db/kept-reads.js';
import type { FusedRead } from '../../../kernel/tenancy/accounts.js';
import { prepared } from '../../../kernel/db/prepared.js';
import type { Executor } from '../../../kernel/db/store.js';
import { conflict, projectForbidden } from '../errors.js';
import type { ProjectRow } from '../tables.js';
import { ACCESS_KEY_KIND, CLOUD, Counter, type CrusoeContext } from './context.js';
import { resourcesOf } from '../../../kernel/resources.js';
import type { Organizations } from './organizations.js';

export interface ProjectView {
  row: ProjectRow;
  /** Resource counts (null when the client asked to skip loading them). */
  counts: { instances: number; disks: number; snapshots: number; vpc_networks: number } | null;
}

/** Removes everything a project holds; each resource family registers how. */
export type ProjectPurger = (trx: Transaction<any>, project: ProjectRow) => Promise<void>;
/** Adds what every project starts with (its default network); runs in the creating transaction. */
export type ProjectInitializer = (trx: Executor, project: ProjectRow) => Promise<void>;

/**
 * The project `projectId` (as `p`) if it is `account`'s: what every request under a project
 * checks, alone or in the statement that reads what it answers (see Tenancy.fused).
 */
export function ownedProject(db: CrusoeContext['db'], projectId: unknown, account: unknown) {
  return db.selectFrom('crusoe_projects as p').where('p.id', '=', projectId as string).where('p.account_id', '=', account as string);
}

/**
 * Projects: the scope of every compute resource. A caller sees only the projects of its own
 * account; any other project id, existing or not, is answered the same way (403).
 */
export class Projects {
  private readonly purgers: ProjectPurger[] = [];
  private readonly initializers: ProjectInitializer[] = [];

  /** Every request under /projects/{id} asks whether the caller is the project's (see KeptReads). */
  private readonly members: KeptReads<ProjectRow>;
  /**
   * The project read in the statement that finds the caller's access key, where each statement
   * is a round trip and nothing is kept (PostgreSQL, see Tenancy.fused); null on SQLite.
   */
  readonly memberWithCredential: FusedRead<ProjectRow> | null;

  constructor(
    private readonly ctx: CrusoeContext,
    private readonly organizations: Organizations,
  ) {
    // (and the tables whose deletions cascade to projects)
    this.members = new KeptReads(ctx.kernel.store, ['crusoe_projects', 'crusoe_organizations', 'accounts']);
    this.memberWithCredential =
      ctx.kernel.store.engine === 'postgres'
        ? ctx.kernel.tenancy.fused(CLOUD, [ACCESS_KEY_KIND], 'id', [], (account, projectId) => ownedProject(ctx.db, projectId, account).selectAll('p'))
        : null;
  }

  /** Resource families (VMs, templates, …) hook in what deleting a project removes. */
  onPurge(purger: ProjectPurger): void {
    this.purgers.push(purger);
  }

  /** Resource families hook in what a new project starts with. */
  onCreate(initializer: ProjectInitializer): void {
    this.initializers.push(initializer);
  }

  /** The caller's project, or 403 for anyone else's and for none at all. */
  async member(trx: Executor, accountId: string, projectId: string): Promise<ProjectRow> {
    // (outside a transaction, from what was read before while the projects are unchanged)
    const row =
      trx === this.ctx.db
        ? await this.members.get(`${projectId}\0${accountId}`, async () => (await this.memberRow(trx, projectId, accountId))[0])
        : (await this.memberRow(trx, projectId, accountId))[0];
    if (!row) throw projectForbidden(projectId);
    return row;
  }


  /** Every request under /projects/{id} runs this one: built and compiled once (see prepared.ts). */
  private readonly memberRow = prepared<ProjectRow>((projectId, accountId) => ownedProject(this.ctx.db, projectId, accountId).selectAll('p'));

  async list(accountId: string, filter: { orgId?: string; name?: string; skipResources?: boolean }): Promise<ProjectView[]> {
    let query = this.ctx.db.selectFrom('crusoe_projects').selectAll().where('account_id', '=', accountId);
    if (filter.orgId !== undefined && filter.orgId !== '') query = query.where('organization_id', '=', filter.orgId);
    if (filter.name !== undefined && filter.name !== '') query = query.where('name', '=', filter.name);
    const rows = (await query.orderBy('seq').orderBy('id').execute()) as ProjectRow[];
    return Promise.all(rows.map((row) => this.view(this.ctx.db, row, filter.skipResources === true)));
  }

  async get(accountId: string, projectId: string): Promise<ProjectView> {
    return this.view(this.ctx.db, await this.member(this.ctx.db, accountId, projectId), false);
  }

  async create(accountId: string, input: { name: string; organization_id: string }): Promise<ProjectView> {
    const { db } = this.ctx;
    return db.transaction().execute(async (trx) => {
      await this.organizations.owned(trx, accountId, input.organization_id);
      return this.view(trx, await this.insert(trx, accountId, input.organization_id, input.name), false);
    });
  }

  /** Adds a project (account creation uses this for the default one). */
  async insert(trx: Executor, accountId: string, organizationId: string, name: string, id?: string): Promise<ProjectRow> {
    const { kernel } = this.ctx;
    await this.checkNameFree(trx, organizationId, name, null);
    const now = kernel.clockFor(accountId).now();
    const row: ProjectRow = { id: id ?? kernel.ids.uuid(), account_id: accountId, organization_id: organizationId, name, seq: kernel.ids.ordinal(now), created_at: now, updated_at: now };
    await trx.insertInto('crusoe_projects').values(row).execute();
    for (const init of this.initializers) await init(trx, row);
    return row;
  }

  async rename(accountId: string, projectId: string, name: string): Promise<ProjectView> {
    const { db, kernel } = this.ctx;
    return db.transaction().execute(async (trx) => {
      const row = await this.member(trx, accountId, projectId);
      if (row.name !== name) {
        await this.checkNameFree(trx, row.organization_id, name, row.id);
        const now = kernel.clockFor(accountId).now();
        await trx.updateTable('crusoe_projects').set({ name, updated_at: now }).where('id', '=', projectId).execute();
        return this.view(trx, { ...row, name, updated_at: now }, false);
      }
      return this.view(trx, row, false);
    });
  }

  /** Deletes a project and, as the seed says, cascades to its VMs and everything else in it. */
  async delete(accountId: string, projectId: string): Promise<void> {
    const { db, kernel } = this.ctx;
    await db.transaction().execute(async (trx) => {
      const row = await this.member(trx, accountId, projectId);
      // Locked first on PostgreSQL: creates in the project share a lock on its row and take their
      // counters after their inserts; the purge below moves counters before the row goes (see
      // StateStore.lockAccounts for the deadlock that order would make).
      if (kernel.store.engine === 'postgres') await trx.selectFrom('crusoe_projects').select('id').where('id', '=', projectId).forUpdate().execute();
      for (const purge of this.purgers) await purge(trx, row);
      for (const key of resourcesOf(CLOUD).flatMap((r) => (r.projectCounter ? [r.projectCounter(projectId)] : []))) {
        const value = await kernel.counters.get(trx, accountId, key);
        if (value !== 0) await kernel.counters.add(trx, accountId, key, -value);
      }
      await trx.deleteFrom('crusoe_projects').where('id', '=', projectId).execute();
    });
  }

  /**
   * An account's deletion takes its projects as a project's deletion does, each family giving
   * back what it holds (addresses, subnet pools, stock, metering); the kernel then removes the
   * account's remaining rows.
   */
  async purgeAccount(trx: Transaction<any>, accountId: string): Promise<void> {
    const rows = (await trx.selectFrom('crusoe_projects').selectAll().where('account_id', '=', accountId).execute()) as ProjectRow[];
    for (const row of rows) for (const purge of this.purgers) await purge(trx, row);
  }

  private async checkNameFree(trx: Executor, organizationId: string, name: string, except: string | null): Promise<void> {
    let query = trx.selectFrom('crusoe_projects').select('id').where('organization_id', '=', organizationId).where('name', '=', name);
    if (except !== null) query = query.where('id', '!=', except);
    if (await query.executeTakeFirst()) throw conflict(`a project named "${name}" already exists in this organization`);
  }

  private async view(trx: Executor, row: ProjectRow, skip: boolean): Promise<ProjectView> {
    if (skip) return { row, counts: null };
    const { counters } = this.ctx.kernel;
    const [instances, disks, snapshots, networks] = await Promise.all([
      counters.get(trx, row.account_id, Counter.projectVms(row.id)),
      counters.get(trx, row.account_id, Counter.projectDisks(row.id)),
      counters.get(trx, row.account_id, Counter.projectSnapshots(row.id)),
      counters.get(trx, row.account_id, Counter.projectNetworks(row.id)),
    ]);
    return { row, counts: { instances, disks, snapshots, vpc_networks: networks } };
  }
}
