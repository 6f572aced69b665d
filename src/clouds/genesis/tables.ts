import { sql, type Kysely } from 'kysely';
import type { KernelTables } from '../../kernel/db/schema.js';
import type { Migrations } from '../../kernel/db/migrate.js';
import { storeShape } from '../../kernel/db/tables.js';

/**
 * Genesis Cloud's tables. Every row carries its account; every list is served by an index
 * that starts with account_id and ends with the list order (seq).
 */
export interface InstanceRow {
  id: string;
  account_id: string;
  name: string;
  hostname: string;
  type: string;
  region: string;
  placement_option: string;
  image_id: string;
  image_name: string;
  os_type: string;
  status: string;
  private_ip: string | null;
  public_ip: string | null;
  public_ip_type: string;
  dns_name: string;
  is_protected: number;
  disk_size: number;
  destroy_on_shutdown: number;
  public_ipv6: number;
  billing_type: string;
  reservation_id: string | null;
  /** The metadata object as sent at creation (JSON), served by /user-metadata. */
  metadata: string;
  /** Creation order (see IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
}

/** An instance's links to other resources, with the target's name kept for rendering. */
export interface InstanceLinkRow {
  instance_id: string;
  kind: 'ssh_key' | 'security_group' | 'volume' | 'floating_ip';
  target_id: string;
  target_name: string;
  position: number;
}

export interface SnapshotRow {
  id: string;
  account_id: string;
  name: string;
  size: number;
  region: string;
  status: string;
  os_type: string;
  /** The snapshotted resource (the seed's resource_id); '' for one imported from a URL. */
  resource_id: string;
  source_instance_id: string | null;
  source_snapshot_id: string | null;
  source_url: string | null;
  /** Creation order (see IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface SshKeyRow {
  id: string;
  account_id: string;
  name: string;
  value: string;
  fingerprint: string;
  type: string;
  size: number;
  /** Creation order (see IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface SecurityGroupRow {
  id: string;
  account_id: string;
  name: string;
  description: string;
  region: string;
  status: string;
  /** The account's default group of the region ("standard"): cannot be changed or deleted. */
  is_default: number;
  is_internal: number;
  rules: string;
  /** Creation order (see IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface VolumeRow {
  id: string;
  account_id: string;
  name: string;
  description: string;
  type: string;
  size: number;
  region: string;
  status: string;
  /** Creation order (see IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface FloatingIpRow {
  id: string;
  account_id: string;
  name: string;
  description: string;
  region: string;
  version: string;
  ip_address: string | null;
  status: string;
  /** Creation order (see IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface FilesystemRow {
  id: string;
  account_id: string;
  name: string;
  description: string;
  type: string;
  size: number;
  region: string;
  status: string;
  /** JSON array of the first and last mount endpoint address, once the filesystem exists. */
  mount_endpoint_range: string | null;
  mount_base_path: string | null;
  /** Creation order (see IdGenerator.ordinal): what lists sort by. */
  seq: number;
  created_at: number;
  updated_at: number;
}

export interface GenesisTables {
  genesis_instances: InstanceRow;
  genesis_instance_links: InstanceLinkRow;
  genesis_snapshots: SnapshotRow;
  genesis_ssh_keys: SshKeyRow;
  genesis_security_groups: SecurityGroupRow;
  genesis_volumes: VolumeRow;
  genesis_floating_ips: FloatingIpRow;
  genesis_filesystems: FilesystemRow;
}

export type GenesisDb = Kysely<KernelTables & GenesisTables>;

function accountOrdered(db: Kysely<any>, table: string) {
  return db.schema.createIndex(`${table}_account_order`).on(table).columns(['account_id', 'seq']).execute();
}

export const genesisMigrations: Migrations = {
  '0001_genesis': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('genesis_instances')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hostname', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('placement_option', 'text', (c) => c.notNull())
        .addColumn('image_id', 'text', (c) => c.notNull())
        .addColumn('image_name', 'text', (c) => c.notNull())
        .addColumn('os_type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('private_ip', 'text')
        .addColumn('public_ip', 'text')
        .addColumn('public_ip_type', 'text', (c) => c.notNull())
        .addColumn('dns_name', 'text', (c) => c.notNull())
        .addColumn('is_protected', 'integer', (c) => c.notNull())
        .addColumn('disk_size', 'integer', (c) => c.notNull())
        .addColumn('destroy_on_shutdown', 'integer', (c) => c.notNull())
        .addColumn('public_ipv6', 'integer', (c) => c.notNull())
        .addColumn('billing_type', 'text', (c) => c.notNull())
        .addColumn('reservation_id', 'text')
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await accountOrdered(db, 'genesis_instances');
      await db.schema.createIndex('genesis_instances_image').on('genesis_instances').column('image_id').execute();

      await db.schema
        .createTable('genesis_instance_links')
        .addColumn('instance_id', 'text', (c) => c.notNull().references('genesis_instances.id').onDelete('cascade'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('target_name', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('genesis_instance_links_pk', ['instance_id', 'kind', 'target_id'])
        .execute();
      await db.schema.createIndex('genesis_instance_links_target').on('genesis_instance_links').columns(['target_id', 'kind']).execute();

      await db.schema
        .createTable('genesis_snapshots')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('os_type', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('source_instance_id', 'text')
        .addColumn('source_snapshot_id', 'text')
        .addColumn('source_url', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await accountOrdered(db, 'genesis_snapshots');
      await db.schema.createIndex('genesis_snapshots_source').on('genesis_snapshots').columns(['source_instance_id', 'seq']).execute();

      await db.schema
        .createTable('genesis_ssh_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await accountOrdered(db, 'genesis_ssh_keys');

      await db.schema
        .createTable('genesis_security_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull())
        .addColumn('is_internal', 'integer', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await accountOrdered(db, 'genesis_security_groups');

      await db.schema
        .createTable('genesis_volumes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await accountOrdered(db, 'genesis_volumes');

      await db.schema
        .createTable('genesis_floating_ips')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('ip_address', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await accountOrdered(db, 'genesis_floating_ips');

      await db.schema
        .createTable('genesis_filesystems')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('mount_endpoint_range', 'text')
        .addColumn('mount_base_path', 'text')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await accountOrdered(db, 'genesis_filesystems');
    },
  },
  /**
   * 0001_genesis was edited in place twice after it first landed (filesystems arrived, and every
   * list gained its `seq` creation order), so a store created by the first Hangar never got
   * them. This adds what such a store lacks and leaves an up-to-date one alone: the
   * filesystems table, and `seq` on each table that has none, filled in the order the lists
   * had then (creation time, then id) as the ordinal would have numbered them (microseconds,
   * one apart within a millisecond), with the indexes on it. Named to run right after 0001,
   * before any later migration that may rely on what it adds.
   */
  '0001_genesis_catch_up': {
    async up(db: Kysely<any>) {
      const shape = await storeShape(db);
      for (const table of SEQ_TABLES) {
        if (!shape.hasTable(table) || shape.hasColumn(table, 'seq')) continue;
        await db.schema.alterTable(table).addColumn('seq', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
        await sql`
          update ${sql.table(table)} set seq = ranked.seq
          from (select id, created_at * 1000 + row_number() over (partition by created_at order by id) - 1 as seq from ${sql.table(table)}) as ranked
          where ${sql.table(table)}.id = ranked.id`.execute(db);
        await db.schema.dropIndex(`${table}_account_order`).ifExists().execute();
        await db.schema.createIndex(`${table}_account_order`).on(table).columns(['account_id', 'seq']).execute();
        if (table === 'genesis_snapshots') {
          await db.schema.dropIndex('genesis_snapshots_source').ifExists().execute();
          await db.schema.createIndex('genesis_snapshots_source').on('genesis_snapshots').columns(['source_instance_id', 'seq']).execute();
        }
      }
      if (!shape.hasTable('genesis_filesystems')) {
        await db.schema
          .createTable('genesis_filesystems')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('size', 'integer', (c) => c.notNull())
          .addColumn('region', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('mount_endpoint_range', 'text')
          .addColumn('mount_base_path', 'text')
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('genesis_filesystems_account_order').on('genesis_filesystems').columns(['account_id', 'seq']).execute();
      }
    },
  },
  '0004_i21_instance_password': {
    // The password an instance was created with, sealed (kernel/secrets.ts): only the sandbox
    // fabric writes it (it sets the password inside the instance); null otherwise.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('genesis_instances').addColumn('password_sealed', 'text').execute();
    },
  },
};

/** The tables whose lists are ordered by `seq` (filesystems had it from their start). */
const SEQ_TABLES = ['genesis_instances', 'genesis_snapshots', 'genesis_ssh_keys', 'genesis_security_groups', 'genesis_volumes', 'genesis_floating_ips', 'genesis_filesystems'];
