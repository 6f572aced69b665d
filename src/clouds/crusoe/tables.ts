import { sql, type Kysely } from 'kysely';
import type { KernelTables } from '../../kernel/db/schema.js';
import type { Migrations } from '../../kernel/db/migrate.js';

/**
 * Crusoe Cloud's tables. Every row carries its account; project-scoped rows carry their
 * project too, and every list is served by an index that starts with the scope and ends with
 * the list order (`seq`, the creation ordinal, then id). Times are epoch milliseconds, flags
 * 0/1, structured values JSON text.
 */

/** The account's user, as /users/identities shows it. */
export interface IdentityRow {
  account_id: string;
  id: string;
  email: string;
  name: string;
  role: string;
  created_at: number;
  updated_at: number;
}

export interface OrganizationRow {
  id: string;
  account_id: string;
  name: string;
  company_name: string | null;
  tax_id: string | null;
  tax_id_type: string | null;
  /** BillingAddress as JSON, or null. */
  billing_addr: string | null;
  /** Creation order (IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface ProjectRow {
  id: string;
  account_id: string;
  organization_id: string;
  name: string;
  /** Creation order (IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface SshKeyRow {
  id: string;
  account_id: string;
  name: string;
  public_key: string;
  md5: string;
  sha256: string;
  /** Creation order (IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
}

/** Bookkeeping beside a token's credential (the credential itself lives in the kernel). */
export interface TokenRow {
  access_key: string;
  account_id: string;
  last_used_at: number | null;
}

export interface VmRow {
  id: string;
  account_id: string;
  project_id: string;
  name: string;
  type: string;
  location: string;
  /** The image as the client named it, resolved to `name:tag`. */
  image: string;
  /** STATE_DEFINING, STATE_RUNNING, STATE_SHUTDOWN, STATE_SHUTOFF, STATE_DELETING. */
  state: string;
  ssh_public_key: string;
  startup_script: string;
  shutdown_script: string;
  reservation_id: string | null;
  commitment_period: number;
  maintenance_policy: string;
  /** VirtualizationFeatures as JSON, or null when the request had none. */
  virtualization: string | null;
  instance_group_id: string | null;
  instance_template_id: string | null;
  nic_id: string;
  mac_address: string;
  network_id: string;
  subnet_id: string;
  private_ip: string | null;
  public_ip: string | null;
  public_ip_id: string | null;
  public_ip_type: string;
  /** IB partition the VM's host channel adapter joins, or null. */
  ib_partition_id: string | null;
  ib_network_id: string | null;
  /** 1 while the VM holds a unit of stock (from boot until it is stopped or deleted). */
  holds_capacity: number;
  /** The operation in progress on the VM, if any: one at a time. */
  busy_operation_id: string | null;
  /** Creation order (IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
}

/**
 * Disks: VMs' boot disks, disks made for VMs from a template, and disks of the storage API.
 * `state` is Hangar's own (the wire shows none): creating → available → deleting.
 */
export interface DiskRow {
  id: string;
  account_id: string;
  project_id: string;
  name: string;
  type: string;
  size_gib: number;
  block_size: number;
  location: string;
  serial_number: string;
  /** 1 for a VM's boot disk. */
  is_os: number;
  /** The VM the disk was made for (its boot disk, a template's disks): it goes with that VM. */
  owner_vm_id: string | null;
  /** Creation order (IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
  /** creating, available, deleting. */
  state: string;
  /** The snapshot the disk was made from, if any. */
  snapshot_id: string | null;
  /** The operation in progress on the disk (its own, or a snapshot of it being taken). */
  busy_operation_id: string | null;
}

export interface SnapshotRow {
  id: string;
  account_id: string;
  project_id: string;
  name: string;
  /** The disk it was taken from (which may be gone since). */
  disk_id: string;
  size_bytes: number;
  block_size: number;
  location: string;
  /** creating, ready, deleting. */
  state: string;
  busy_operation_id: string | null;
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface NetworkRow {
  id: string;
  account_id: string;
  project_id: string;
  name: string;
  cidr: string;
  gateway: string;
  /** 1 for the project's default network (its id derived from the project). */
  is_default: number;
  /** available, deleting. */
  state: string;
  busy_operation_id: string | null;
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface SubnetRow {
  id: string;
  account_id: string;
  project_id: string;
  network_id: string;
  name: string;
  cidr: string;
  /** First and last address of the CIDR as numbers: overlap checks are one indexed range query. */
  range_start: number;
  range_end: number;
  location: string;
  is_default: number;
  nat_gateway_id: string | null;
  nat_public_ip: string | null;
  nat_public_ip_id: string | null;
  /** available, deleting. */
  state: string;
  busy_operation_id: string | null;
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface FirewallRuleRow {
  id: string;
  account_id: string;
  project_id: string;
  network_id: string;
  name: string;
  action: string;
  direction: string;
  /** string[] as JSON. */
  protocols: string;
  source_ports: string;
  destination_ports: string;
  /** FirewallRuleObject[] as JSON. */
  sources: string;
  destinations: string;
  /** creating, active, deleting (the wire shows active or inactive). */
  state: string;
  busy_operation_id: string | null;
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface LoadBalancerRow {
  id: string;
  account_id: string;
  project_id: string;
  name: string;
  location: string;
  type: string;
  algorithm: string;
  /** string[] as JSON. */
  protocols: string;
  /** NetworkTarget[] as JSON. */
  destinations: string;
  /** HealthCheckOptions as JSON; null when health checking is off. */
  health_check: string | null;
  network_id: string;
  subnet_id: string;
  private_ip: string | null;
  /** creating, active, deleting. */
  state: string;
  busy_operation_id: string | null;
  seq: number;
  created_at: number;
  updated_at: number;
}

/**
 * Who names whom by id: a firewall rule's sources and destinations, a load balancer's
 * targets. A resource named here cannot be deleted while the reference stands.
 */
export interface ReferenceRow {
  referrer_id: string;
  target_id: string;
  account_id: string;
  /** firewall_rule, load_balancer. */
  referrer_kind: string;
}

export interface DiskAttachmentRow {
  disk_id: string;
  vm_id: string;
  account_id: string;
  attachment_type: string;
  mode: string;
  attached_at: number;
}

export interface TemplateRow {
  id: string;
  account_id: string;
  project_id: string;
  name: string;
  type: string;
  image_name: string;
  location: string;
  ssh_public_key: string;
  startup_script: string;
  shutdown_script: string;
  subnet_id: string;
  ib_partition_id: string;
  public_ip_address_type: string;
  reservation_id: string;
  placement_policy: string;
  maintenance_policy: string;
  nvlink_domain_id: string;
  transport_partition_id: string;
  custom_image_name: string;
  /** DiskTemplate[] as JSON. */
  disks: string;
  virtualization: string | null;
  /** Creation order (IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
}

export interface InstanceGroupRow {
  id: string;
  account_id: string;
  project_id: string;
  name: string;
  template_id: string;
  desired_count: number;
  /** Creation order (IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface IbPartitionRow {
  id: string;
  account_id: string;
  project_id: string;
  name: string;
  ib_network_id: string;
  /** Creation order (IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
}

/**
 * Asynchronous operations. The row is the state machine the lifecycle engine drives
 * (IN_PROGRESS → SUCCEEDED | FAILED); completing it applies the change to the resources.
 */
export interface OperationRow {
  id: string;
  account_id: string;
  project_id: string;
  /** The polling family: `compute/vms/instances`, later `storage/disks`, … */
  family: string;
  /** What completing it does, e.g. `vm.create`; also the lifecycle transition's name. */
  action: string;
  /** The resource the operation is about ('' for a bulk create). */
  resource_id: string;
  state: string;
  /** What the completion needs beyond the rows (JSON). */
  params: string;
  metadata: string;
  /** The operation's result once it has one (JSON). */
  result: string | null;
  /** Creation order (IdGenerator.ordinal): what lists sort by. */
  seq: number;
  started_at: number;
  completed_at: number | null;
  /** 1 once a client has read the finished operation by id: it then leaves the list. */
  fetched: number;
}

export interface CrusoeTables {
  crusoe_identities: IdentityRow;
  crusoe_organizations: OrganizationRow;
  crusoe_projects: ProjectRow;
  crusoe_ssh_keys: SshKeyRow;
  crusoe_tokens: TokenRow;
  crusoe_vms: VmRow;
  crusoe_disks: DiskRow;
  crusoe_disk_attachments: DiskAttachmentRow;
  crusoe_instance_templates: TemplateRow;
  crusoe_instance_groups: InstanceGroupRow;
  crusoe_ib_partitions: IbPartitionRow;
  crusoe_operations: OperationRow;
  crusoe_disk_snapshots: SnapshotRow;
  crusoe_vpc_networks: NetworkRow;
  crusoe_vpc_subnets: SubnetRow;
  crusoe_firewall_rules: FirewallRuleRow;
  crusoe_load_balancers: LoadBalancerRow;
  crusoe_references: ReferenceRow;
  crusoe_s3_buckets: S3BucketRow;
}

/** An S3 bucket: named within its project (its API addresses it by name). */
export interface S3BucketRow {
  id: string;
  account_id: string;
  project_id: string;
  name: string;
  location: string;
  versioning_state: string;
  object_lock_enabled: number;
  retention_period: number | null;
  retention_period_unit: string | null;
  /** The tags object (JSON). */
  tags: string;
  seq: number;
  created_at: number;
  updated_at: number;
}

export type CrusoeDb = Kysely<KernelTables & CrusoeTables>;

const account = (c: any) => c.notNull().references('accounts.id').onDelete('cascade');

export const crusoeMigrations: Migrations = {
  '0001_crusoe': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('crusoe_identities')
        .addColumn('account_id', 'text', (c) => account(c).primaryKey())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('crusoe_organizations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('company_name', 'text')
        .addColumn('tax_id', 'text')
        .addColumn('tax_id_type', 'text')
        .addColumn('billing_addr', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_organizations_account').on('crusoe_organizations').columns(['account_id', 'seq', 'id']).execute();

      await db.schema
        .createTable('crusoe_projects')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('organization_id', 'text', (c) => c.notNull().references('crusoe_organizations.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_projects_account').on('crusoe_projects').columns(['account_id', 'seq', 'id']).execute();
      await db.schema.createIndex('crusoe_projects_name').on('crusoe_projects').columns(['organization_id', 'name']).unique().execute();

      await db.schema
        .createTable('crusoe_ssh_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('md5', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_ssh_keys_account').on('crusoe_ssh_keys').columns(['account_id', 'seq', 'id']).execute();
      await db.schema.createIndex('crusoe_ssh_keys_name').on('crusoe_ssh_keys').columns(['account_id', 'name']).unique().execute();

      await db.schema
        .createTable('crusoe_tokens')
        .addColumn('access_key', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema.createIndex('crusoe_tokens_account').on('crusoe_tokens').column('account_id').execute();

      await db.schema
        .createTable('crusoe_vms')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('image', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('ssh_public_key', 'text', (c) => c.notNull())
        .addColumn('startup_script', 'text', (c) => c.notNull())
        .addColumn('shutdown_script', 'text', (c) => c.notNull())
        .addColumn('reservation_id', 'text')
        .addColumn('commitment_period', 'integer', (c) => c.notNull())
        .addColumn('maintenance_policy', 'text', (c) => c.notNull())
        .addColumn('virtualization', 'text')
        .addColumn('instance_group_id', 'text')
        .addColumn('instance_template_id', 'text')
        .addColumn('nic_id', 'text', (c) => c.notNull())
        .addColumn('mac_address', 'text', (c) => c.notNull())
        .addColumn('network_id', 'text', (c) => c.notNull())
        .addColumn('subnet_id', 'text', (c) => c.notNull())
        .addColumn('private_ip', 'text')
        .addColumn('public_ip', 'text')
        .addColumn('public_ip_id', 'text')
        .addColumn('public_ip_type', 'text', (c) => c.notNull())
        .addColumn('ib_partition_id', 'text')
        .addColumn('ib_network_id', 'text')
        .addColumn('holds_capacity', 'integer', (c) => c.notNull())
        .addColumn('busy_operation_id', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // The list's two orders (keyset pages), names unique within a project, group membership.
      await db.schema.createIndex('crusoe_vms_order').on('crusoe_vms').columns(['project_id', 'seq', 'id']).execute();
      await db.schema.createIndex('crusoe_vms_name').on('crusoe_vms').columns(['project_id', 'name']).unique().execute();
      await db.schema.createIndex('crusoe_vms_group').on('crusoe_vms').columns(['instance_group_id', 'state']).execute();
      await db.schema.createIndex('crusoe_vms_template').on('crusoe_vms').column('instance_template_id').execute();
      await db.schema.createIndex('crusoe_vms_partition').on('crusoe_vms').column('ib_partition_id').execute();

      await db.schema
        .createTable('crusoe_disks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('size_gib', 'integer', (c) => c.notNull())
        .addColumn('block_size', 'integer', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('serial_number', 'text', (c) => c.notNull())
        .addColumn('is_os', 'integer', (c) => c.notNull())
        .addColumn('owner_vm_id', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_disks_owner').on('crusoe_disks').column('owner_vm_id').execute();
      await db.schema.createIndex('crusoe_disks_project').on('crusoe_disks').columns(['project_id', 'seq', 'id']).execute();

      await db.schema
        .createTable('crusoe_disk_attachments')
        .addColumn('disk_id', 'text', (c) => c.notNull().references('crusoe_disks.id').onDelete('cascade'))
        .addColumn('vm_id', 'text', (c) => c.notNull().references('crusoe_vms.id').onDelete('cascade'))
        .addColumn('account_id', 'text', account)
        .addColumn('attachment_type', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('attached_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('crusoe_disk_attachments_pk', ['disk_id', 'vm_id'])
        .execute();
      await db.schema.createIndex('crusoe_disk_attachments_vm').on('crusoe_disk_attachments').columns(['vm_id', 'attached_at']).execute();

      await db.schema
        .createTable('crusoe_instance_templates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('image_name', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('ssh_public_key', 'text', (c) => c.notNull())
        .addColumn('startup_script', 'text', (c) => c.notNull())
        .addColumn('shutdown_script', 'text', (c) => c.notNull())
        .addColumn('subnet_id', 'text', (c) => c.notNull())
        .addColumn('ib_partition_id', 'text', (c) => c.notNull())
        .addColumn('public_ip_address_type', 'text', (c) => c.notNull())
        .addColumn('reservation_id', 'text', (c) => c.notNull())
        .addColumn('placement_policy', 'text', (c) => c.notNull())
        .addColumn('maintenance_policy', 'text', (c) => c.notNull())
        .addColumn('nvlink_domain_id', 'text', (c) => c.notNull())
        .addColumn('transport_partition_id', 'text', (c) => c.notNull())
        .addColumn('custom_image_name', 'text', (c) => c.notNull())
        .addColumn('disks', 'text', (c) => c.notNull())
        .addColumn('virtualization', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_templates_project').on('crusoe_instance_templates').columns(['project_id', 'seq', 'id']).execute();

      await db.schema
        .createTable('crusoe_instance_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('template_id', 'text', (c) => c.notNull())
        .addColumn('desired_count', 'integer', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_groups_project').on('crusoe_instance_groups').columns(['project_id', 'seq', 'id']).execute();
      await db.schema.createIndex('crusoe_groups_template').on('crusoe_instance_groups').column('template_id').execute();

      await db.schema
        .createTable('crusoe_ib_partitions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('ib_network_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_ib_partitions_project').on('crusoe_ib_partitions').columns(['project_id', 'seq', 'id']).execute();

      await db.schema
        .createTable('crusoe_operations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('family', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('completed_at', 'bigint')
        .addColumn('fetched', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_operations_family').on('crusoe_operations').columns(['project_id', 'family', 'seq', 'id']).execute();
      await db.schema.createIndex('crusoe_operations_resource').on('crusoe_operations').columns(['resource_id', 'started_at']).execute();
      await db.schema.createIndex('crusoe_operations_completed').on('crusoe_operations').column('completed_at').execute();
    },
  },
  /**
   * Storage and networking: disks grow an API of their own (state, snapshot origin, one
   * operation at a time), and snapshots, VPC networks, subnets, firewall rules and load
   * balancers arrive. Stores made before keep their disk rows (available, as they were).
   */
  '0002_crusoe_storage_networking': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('crusoe_disks').addColumn('state', 'text', (c) => c.notNull().defaultTo('available')).execute();
      await db.schema.alterTable('crusoe_disks').addColumn('snapshot_id', 'text').execute();
      await db.schema.alterTable('crusoe_disks').addColumn('busy_operation_id', 'text').execute();
      // The list's filters (names, location) and "a disk is being made from this snapshot".
      await db.schema.createIndex('crusoe_disks_name').on('crusoe_disks').columns(['project_id', 'name']).execute();
      await db.schema.createIndex('crusoe_disks_location').on('crusoe_disks').columns(['project_id', 'location', 'seq']).execute();
      await db.schema.createIndex('crusoe_disks_snapshot').on('crusoe_disks').column('snapshot_id').execute();
      await db.schema.createIndex('crusoe_disk_attachments_disk').on('crusoe_disk_attachments').column('disk_id').execute();

      await db.schema
        .createTable('crusoe_disk_snapshots')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('disk_id', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('block_size', 'integer', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('busy_operation_id', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_snapshots_project').on('crusoe_disk_snapshots').columns(['project_id', 'seq', 'id']).execute();
      await db.schema.createIndex('crusoe_snapshots_name').on('crusoe_disk_snapshots').columns(['project_id', 'name']).execute();
      await db.schema.createIndex('crusoe_snapshots_disk').on('crusoe_disk_snapshots').column('disk_id').execute();

      await db.schema
        .createTable('crusoe_vpc_networks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('cidr', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('busy_operation_id', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_networks_project').on('crusoe_vpc_networks').columns(['project_id', 'seq', 'id']).execute();
      await db.schema.createIndex('crusoe_networks_name').on('crusoe_vpc_networks').columns(['project_id', 'name']).execute();

      await db.schema
        .createTable('crusoe_vpc_subnets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('network_id', 'text', (c) => c.notNull().references('crusoe_vpc_networks.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('cidr', 'text', (c) => c.notNull())
        .addColumn('range_start', 'bigint', (c) => c.notNull())
        .addColumn('range_end', 'bigint', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull())
        .addColumn('nat_gateway_id', 'text')
        .addColumn('nat_public_ip', 'text')
        .addColumn('nat_public_ip_id', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('busy_operation_id', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_subnets_project').on('crusoe_vpc_subnets').columns(['project_id', 'seq', 'id']).execute();
      await db.schema.createIndex('crusoe_subnets_range').on('crusoe_vpc_subnets').columns(['network_id', 'range_start']).execute();
      await db.schema.createIndex('crusoe_subnets_location').on('crusoe_vpc_subnets').columns(['project_id', 'location', 'is_default']).execute();
      await db.schema.createIndex('crusoe_subnets_name').on('crusoe_vpc_subnets').columns(['network_id', 'name']).execute();
      // A VM's interface and a load balancer sit in a subnet: deleting it asks who is there.
      await db.schema.createIndex('crusoe_vms_subnet').on('crusoe_vms').column('subnet_id').execute();
      await db.schema.createIndex('crusoe_templates_subnet').on('crusoe_instance_templates').column('subnet_id').execute();

      await db.schema
        .createTable('crusoe_firewall_rules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('network_id', 'text', (c) => c.notNull().references('crusoe_vpc_networks.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('direction', 'text', (c) => c.notNull())
        .addColumn('protocols', 'text', (c) => c.notNull())
        .addColumn('source_ports', 'text', (c) => c.notNull())
        .addColumn('destination_ports', 'text', (c) => c.notNull())
        .addColumn('sources', 'text', (c) => c.notNull())
        .addColumn('destinations', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('busy_operation_id', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_firewall_rules_project').on('crusoe_firewall_rules').columns(['project_id', 'seq', 'id']).execute();
      await db.schema.createIndex('crusoe_firewall_rules_network').on('crusoe_firewall_rules').columns(['network_id', 'name']).execute();

      await db.schema
        .createTable('crusoe_load_balancers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('protocols', 'text', (c) => c.notNull())
        .addColumn('destinations', 'text', (c) => c.notNull())
        .addColumn('health_check', 'text')
        .addColumn('network_id', 'text', (c) => c.notNull())
        .addColumn('subnet_id', 'text', (c) => c.notNull().references('crusoe_vpc_subnets.id').onDelete('cascade'))
        .addColumn('private_ip', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('busy_operation_id', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_load_balancers_project').on('crusoe_load_balancers').columns(['project_id', 'seq', 'id']).execute();
      await db.schema.createIndex('crusoe_load_balancers_name').on('crusoe_load_balancers').columns(['project_id', 'name']).execute();
      await db.schema.createIndex('crusoe_load_balancers_subnet').on('crusoe_load_balancers').column('subnet_id').execute();

      await db.schema
        .createTable('crusoe_references')
        .addColumn('referrer_id', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', account)
        .addColumn('referrer_kind', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('crusoe_references_pk', ['referrer_id', 'target_id'])
        .execute();
      await db.schema.createIndex('crusoe_references_target').on('crusoe_references').column('target_id').execute();
    },
  },
  /**
   * Lease owners are plain resource ids: a VM's public address was leased to `<vm id>:public`
   * and a NAT gateway's to `<subnet id>:nat`, which nothing keyed by the resource's id (an
   * account's deletion, an export of its rows) recognised as the resource's. Leases of VMs
   * and subnets that no longer exist (left by account deletions that missed them) are
   * given back.
   */
  '0003_crusoe_plain_lease_owners': {
    async up(db: Kysely<any>) {
      for (const suffix of [':public', ':nat']) {
        await sql`
          update ip_leases set owner = substr(owner, 1, length(owner) - ${suffix.length})
          where pool like 'crusoe:%' and owner like ${`%${suffix}`}`.execute(db);
      }
      await sql`
        delete from ip_leases
        where pool like 'crusoe:%:public'
          and owner not in (select id from crusoe_vms)
          and owner not in (select id from crusoe_vpc_subnets)`.execute(db);
    },
  },
  '0004_i20_s3_buckets': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('crusoe_s3_buckets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', account)
        .addColumn('project_id', 'text', (c) => c.notNull().references('crusoe_projects.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('location', 'text', (c) => c.notNull())
        .addColumn('versioning_state', 'text', (c) => c.notNull())
        .addColumn('object_lock_enabled', 'integer', (c) => c.notNull())
        .addColumn('retention_period', 'integer')
        .addColumn('retention_period_unit', 'text')
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('crusoe_s3_buckets_name').on('crusoe_s3_buckets').columns(['project_id', 'name']).unique().execute();
      await db.schema.createIndex('crusoe_s3_buckets_order').on('crusoe_s3_buckets').columns(['project_id', 'seq', 'id']).execute();
    },
  },
  /**
   * One word for a resource that is there and usable: snapshots were `ready`, firewall rules and
   * load balancers `active`, disks, networks and subnets `available`; all are `available` now.
   * (Internal: the wire never showed these, but exports and the console's fleet did.)
   */
  '0005_i20_one_vocabulary': {
    async up(db: Kysely<any>) {
      for (const [table, word] of [
        ['crusoe_disk_snapshots', 'ready'],
        ['crusoe_firewall_rules', 'active'],
        ['crusoe_load_balancers', 'active'],
      ] as const) {
        await db.updateTable(table).set({ state: 'available' }).where('state', '=', word).execute();
      }
    },
  },
};
