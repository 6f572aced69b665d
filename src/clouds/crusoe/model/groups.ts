import type { Transaction } from 'kysely';
import type { Executor } from '../../../kernel/db/store.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { InstanceGroupRow, ProjectRow } from '../tables.js';
import { CLOUD, type CrusoeContext } from './context.js';
import type { Templates } from './templates.js';
import { VmState } from './vm-states.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { CrusoeModel } from './index.js';

export interface GroupView {
  row: InstanceGroupRow;
  /** Member VM ids in creation order, and which of them are running right now. */
  instances: string[];
  running: string[];
}

/**
 * Instance groups: a name, a template and a desired count, with the VMs bulk-created into
 * them. Membership and running counts are read from the VMs themselves, so they are always
 * true. Hangar does not add or remove VMs to reach the desired count: a group below it
 * reports state UNHEALTHY.
 */
export class InstanceGroups {
  constructor(
    private readonly ctx: CrusoeContext,
    private readonly templates: Templates,
  ) {}

  async list(projectId: string): Promise<GroupView[]> {
    const rows = (await this.ctx.db
      .selectFrom('crusoe_instance_groups')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('seq')
      .orderBy('id')
      .execute()) as InstanceGroupRow[];
    return this.views(this.ctx.db, rows);
  }

  async get(projectId: string, id: string): Promise<GroupView> {
    const row = await this.find(this.ctx.db, projectId, id);
    if (!row) throw notFound('instance group', id);
    return (await this.views(this.ctx.db, [row]))[0]!;
  }

  async find(trx: Executor, projectId: string, id: string): Promise<InstanceGroupRow | undefined> {
    return (await trx.selectFrom('crusoe_instance_groups').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()) as
      | InstanceGroupRow
      | undefined;
  }

  async create(accountId: string, projectId: string, input: { name: string; template_id: string; desired_count?: number }): Promise<GroupView> {
    const { db, kernel } = this.ctx;
    return db.transaction().execute(async (trx) => {
      await this.checkTemplate(trx, projectId, input.template_id);
      const now = kernel.clockFor(accountId).now();
      const row: InstanceGroupRow = {
        id: kernel.ids.uuid(),
        account_id: accountId,
        project_id: projectId,
        name: input.name,
        template_id: input.template_id,
        desired_count: input.desired_count ?? 0,
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      };
      await trx.insertInto('crusoe_instance_groups').values(row).execute();
      return { row, instances: [], running: [] };
    });
  }

  async update(
    projectId: string,
    id: string,
    input: { name?: string; template_id?: string; desired_count?: number | { value?: number } },
  ): Promise<GroupView> {
    const { db, kernel } = this.ctx;
    return db.transaction().execute(async (trx) => {
      const row = await this.find(trx, projectId, id);
      if (!row) throw notFound('instance group', id);
      const set: Partial<InstanceGroupRow> = { updated_at: kernel.clockFor(row.account_id).now() };
      if (input.name !== undefined) set.name = input.name;
      if (input.template_id !== undefined) {
        await this.checkTemplate(trx, projectId, input.template_id);
        set.template_id = input.template_id;
      }
      const desired = typeof input.desired_count === 'number' ? input.desired_count : input.desired_count?.value;
      if (desired !== undefined) set.desired_count = desired;
      await trx.updateTable('crusoe_instance_groups').set(set).where('id', '=', id).execute();
      return (await this.views(trx, [{ ...row, ...set }]))[0]!;
    });
  }

  /** A group with VMs in it cannot go: delete the VMs first. */
  async delete(projectId: string, id: string): Promise<void> {
    await this.ctx.db.transaction().execute(async (trx) => {
      if (!(await this.find(trx, projectId, id))) throw notFound('instance group', id);
      const member = await trx.selectFrom('crusoe_vms').select('id').where('instance_group_id', '=', id).executeTakeFirst();
      if (member) throw conflict(`instance group "${id}" still has VMs (e.g. "${member.id}"): delete them first`);
      await trx.deleteFrom('crusoe_instance_groups').where('id', '=', id).execute();
    });
  }

  async purgeProject(trx: Transaction<any>, project: ProjectRow): Promise<void> {
    await trx.deleteFrom('crusoe_instance_groups').where('project_id', '=', project.id).execute();
  }

  private async checkTemplate(trx: Executor, projectId: string, templateId: string): Promise<void> {
    if (!(await this.templates.find(trx, projectId, templateId))) {
      throw badRequest(`"template_id": instance template "${templateId}" not found in this project`);
    }
  }

  private async views(trx: Executor, rows: InstanceGroupRow[]): Promise<GroupView[]> {
    if (rows.length === 0) return [];
    const members = await trx
      .selectFrom('crusoe_vms')
      .select(['id', 'instance_group_id', 'state'])
      .where(
        'instance_group_id',
        'in',
        rows.map((r) => r.id),
      )
      .orderBy('seq')
      .orderBy('id')
      .execute();
    return rows.map((row) => {
      const mine = members.filter((m) => m.instance_group_id === row.id);
      return { row, instances: mine.map((m) => m.id), running: mine.filter((m) => m.state === VmState.Running).map((m) => m.id) };
    });
  }
}

/** The instance group as a resource: its table and place in the fleet (kernel/resources.ts). */
export const instanceGroupResource: ResourceDef<CrusoeModel> = declareResource({
  cloud: CLOUD,
  kind: 'crusoe.instance_group',
  table: 'crusoe_instance_groups',
  fleet: { collection: 'compute/instance-groups', columns: { status: null, region: null }, read: async (m, p, id) => m.render.group(await m.groups.get(p, id)) },
});
