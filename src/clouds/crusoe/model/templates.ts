import type { Transaction } from 'kysely';
import type { Executor } from '../../../kernel/db/store.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { ProjectRow, TemplateRow } from '../tables.js';
import type { CreateTemplateInput } from '../wire.js';
import { CLOUD, type CrusoeContext } from './context.js';
import { diskType, parseSize } from './disks.js';
import type { Networks } from './networks.js';
import type { Rules } from './rules.js';
import { parsePublicKey } from './ssh-keys.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { CrusoeModel } from './index.js';

/**
 * Instance templates: what bulk creation stamps out. Location-specific fields (subnet, IB
 * partition) are checked against the location when the template names one.
 */
export class Templates {
  constructor(
    private readonly ctx: CrusoeContext,
    private readonly rules: Rules,
    private readonly networks: Networks,
  ) {}

  async list(projectId: string): Promise<TemplateRow[]> {
    return this.ctx.db
      .selectFrom('crusoe_instance_templates')
      .selectAll()
      .where('project_id', '=', projectId)
      .orderBy('seq')
      .orderBy('id')
      .execute();
  }

  async get(projectId: string, id: string): Promise<TemplateRow> {
    const row = await this.find(this.ctx.db, projectId, id);
    if (!row) throw notFound('instance template', id);
    return row;
  }

  async find(trx: Executor, projectId: string, id: string): Promise<TemplateRow | undefined> {
    return (await trx.selectFrom('crusoe_instance_templates').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst()) as
      | TemplateRow
      | undefined;
  }

  async create(accountId: string, projectId: string, input: CreateTemplateInput): Promise<TemplateRow> {
    return this.ctx.db.transaction().execute((trx) => this.insert(trx, accountId, projectId, input, ''));
  }

  /** Checks and stores a template; `field` prefixes field names in errors (e.g. "instance_template."). */
  async insert(trx: Executor, accountId: string, projectId: string, input: CreateTemplateInput, field: string): Promise<TemplateRow> {
    const { rules, ctx } = this;
    const type = rules.type(input.type, `${field}type`);
    const location = input.location === undefined || input.location === '' ? '' : rules.location(type, input.location, `${field}location`);
    const imageName =
      input.image_name === undefined || input.image_name === ''
        ? ''
        : rules.image(input.image_name, location || ctx.catalog.defaultLocation(type), `${field}image_name`);
    const key = parsePublicKey(input.ssh_public_key, `${field}ssh_public_key`);
    const disks = (input.disks ?? []).map((d, i) => {
      parseSize(d.size, `${field}disks.${i}.size`);
      return { size: d.size.trim(), type: diskType(d.type) };
    });
    const reservationId = await rules.reservation(trx, accountId, { id: input.reservation_id }, type, location === '' ? null : location, `${field}reservation_id`);
    // The seed: with a location, the location-specific resources must be given too.
    if (location !== '') {
      if ((input.subnet_id ?? '') === '') throw badRequest(`"${field}subnet_id" is required when "${field}location" is given (a subnet is location-specific)`);
      if (type.infiniband && (input.ib_partition_id ?? '') === '') {
        throw badRequest(`"${field}ib_partition_id" is required when "${field}location" is given for the InfiniBand type ${type.product_name}`);
      }
    }
    // Checked as a VM's custom_image is: Hangar serves no custom images.
    if ((input.custom_image_name ?? '') !== '') throw badRequest(`"${field}custom_image_name": custom image "${input.custom_image_name}" not found`);
    const subnet =
      location === ''
        ? (input.subnet_id ?? '')
        : (await this.networks.resolveSubnet(trx, { id: projectId, account_id: accountId }, location, { subnet: input.subnet_id }, { subnet: `${field}subnet_id`, network: `${field}subnet_id` })).id;
    const partition = location === '' ? null : await rules.partition(trx, projectId, type, location, input.ib_partition_id, `${field}ib_partition_id`);
    const row: TemplateRow = {
      id: ctx.kernel.ids.uuid(),
      account_id: accountId,
      project_id: projectId,
      name: input.template_name,
      type: type.product_name,
      image_name: imageName,
      location,
      ssh_public_key: key.line,
      startup_script: rules.script(input.startup_script, `${field}startup_script`),
      shutdown_script: rules.script(input.shutdown_script, `${field}shutdown_script`),
      subnet_id: subnet,
      ib_partition_id: partition?.id ?? (location === '' ? (input.ib_partition_id ?? '') : ''),
      public_ip_address_type: rules.publicIpType(input.public_ip_address_type, `${field}public_ip_address_type`),
      reservation_id: reservationId ?? '',
      placement_policy: rules.placementPolicy(input.placement_policy),
      maintenance_policy: rules.maintenancePolicy(input.maintenance_policy, `${field}maintenance_policy`),
      nvlink_domain_id: input.nvlink_domain_id ?? '',
      transport_partition_id: input.transport_partition_id ?? '',
      custom_image_name: input.custom_image_name ?? '',
      disks: JSON.stringify(disks),
      virtualization: input.virtualization_features ? JSON.stringify(input.virtualization_features) : null,
      seq: ctx.kernel.ids.ordinal(ctx.kernel.clockFor(accountId).now()),
      created_at: ctx.kernel.clockFor(accountId).now(),
    };
    await trx.insertInto('crusoe_instance_templates').values(row).execute();
    return row;
  }

  /** A template in use by an instance group cannot go (the group would lose its recipe). */
  async delete(projectId: string, id: string): Promise<void> {
    await this.ctx.db.transaction().execute(async (trx) => {
      if (!(await this.find(trx, projectId, id))) throw notFound('instance template', id);
      const group = await trx.selectFrom('crusoe_instance_groups').select(['id', 'name']).where('template_id', '=', id).executeTakeFirst();
      if (group) throw conflict(`instance template "${id}" is used by instance group "${group.name}" (${group.id}): change or delete the group first`);
      await trx.updateTable('crusoe_vms').set({ instance_template_id: null }).where('instance_template_id', '=', id).execute();
      await trx.deleteFrom('crusoe_instance_templates').where('id', '=', id).execute();
    });
  }

  async purgeProject(trx: Transaction<any>, project: ProjectRow): Promise<void> {
    await trx.deleteFrom('crusoe_instance_templates').where('project_id', '=', project.id).execute();
  }
}

/** The instance template as a resource: its table and place in the fleet (kernel/resources.ts). */
export const instanceTemplateResource: ResourceDef<CrusoeModel> = declareResource({
  cloud: CLOUD,
  kind: 'crusoe.instance_template',
  table: 'crusoe_instance_templates',
  fleet: { collection: 'compute/instance-templates', columns: { status: null, type: 'type' }, read: async (m, p, id) => m.render.template(await m.templates.get(p, id)) },
});
