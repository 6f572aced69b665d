import { sql, type RawBuilder } from 'kysely';
import type { Engine } from '../../../kernel/db/store.js';
import { VmState } from './vm-states.js';

/**
 * A VM's wire JSON built by the database, for a page of the list: a page of 50 VMs reaches the
 * server as 50 strings instead of some 2,800 values (the VMs' columns and their disks') to make
 * into objects, render and serialise again. It must be, byte for byte, what GET one VM sends
 * (renderVm through the route's serialiser), which test/crusoe/list-as-text.test.ts holds it to.
 *
 * The keys are written in the order of the wire schema (Instance in wire.ts), as its serialiser
 * writes them; the test fails on any key out of place. A VM in an InfiniBand partition (its
 * adapter's GUID is a hash) or with virtualization features (an optional key, parsed from its
 * column) gets null: renderVm writes those few.
 */

/** Whether renderVm writes the row instead (see above). */
const RENDERED_BY_PROCESS = sql`v.ib_partition_id is not null or (v.virtualization is not null and v.virtualization <> '')`;

/**
 * The wire JSON of each row of `crusoe_vms as v`, as text (null for the rows renderVm writes).
 * `sshPort` is where public addresses answer SSH (written into the statement: it changes only
 * when the fabric does, and each port gets its own prepared form).
 */
export function vmJson(engine: Engine, sshPort: number): RawBuilder<string | null> {
  const parts: VmParts = {
    dnsName: sql`v.name || '-' || substr(v.id, 1, 8) || '.' || v.location || '.compute.hangar.test'`,
    sshDestination: sql`case when v.public_ip is not null and v.state <> ${sql.lit(VmState.Deleting)} then v.public_ip || ':' || ${sql.lit(String(sshPort))} else '' end`,
    // A VM's disks in the order GET shows them (attachedTo's): the boot disk first, then by attachment.
    diskOrder: sql`d.is_os desc, a.attached_at, d.seq`,
    // (on PostgreSQL each disk by its key whatever the statistics say: see Disks.withAttachedDisk)
    disks:
      engine === 'postgres'
        ? sql`from crusoe_disk_attachments a join lateral (select * from crusoe_disks x where x.id = a.disk_id offset 0) d on true where a.vm_id = v.id`
        : sql`from crusoe_disk_attachments a join crusoe_disks d on d.id = a.disk_id where a.vm_id = v.id`,
  };
  return engine === 'sqlite' ? sqliteVmJson(parts) : postgresVmJson(parts);
}

/** What both engines' statements share: the DNS name, the SSH destination, and the VM's disks (`a`, `d`) in order. */
interface VmParts {
  dnsName: RawBuilder<unknown>;
  sshDestination: RawBuilder<unknown>;
  diskOrder: RawBuilder<unknown>;
  disks: RawBuilder<unknown>;
}

function sqliteVmJson({ dnsName, sshDestination, diskOrder, disks }: VmParts): RawBuilder<string | null> {
  const time = (column: string) => sql`strftime('%Y-%m-%dT%H:%M:%SZ', ${sql.ref(column)} / 1000, 'unixepoch')`;
  const disk = sql`json_object('id', d.id, 'name', d.name, 'type', d.type, 'size', d.size_gib || 'GiB', 'location', d.location, 'block_size', d.block_size,
    'created_at', ${time('d.created_at')}, 'updated_at', ${time('d.updated_at')}, 'serial_number', d.serial_number, 'attachment_type', a.attachment_type, 'mode', a.mode)`;
  const ips = sql`json_object('private_ipv4', json_object('address', v.private_ip), 'public_ipv4', json_object('address', coalesce(v.public_ip, ''), 'id', coalesce(v.public_ip_id, ''), 'type', v.public_ip_type))`;
  const nic = sql`json_object('id', v.nic_id, 'name', 'nic-1', 'network', v.network_id, 'subnet', v.subnet_id, 'interface_type', 'ethernet', 'mac_address', v.mac_address,
    'external_dns_name', case when v.public_ip is null then '' else ${dnsName} end,
    'ips', json(case when v.private_ip is null then '[]' else json_array(${ips}) end))`;
  // (json(): a value through a subquery loses its JSON subtype)
  return sql<string | null>`case when ${RENDERED_BY_PROCESS} then null else json_object(
    'id', v.id, 'name', v.name, 'project_id', v.project_id, 'type', v.type, 'location', v.location, 'state', v.state,
    'created_at', ${time('v.created_at')}, 'updated_at', ${time('v.updated_at')},
    'disks', json((select json_group_array(${disk} order by ${diskOrder}) ${disks})),
    'network_interfaces', json_array(${nic}),
    'host_channel_adapters', json_array(),
    'maintenance_policy', v.maintenance_policy,
    'instance_group_id', coalesce(v.instance_group_id, ''),
    'instance_template_id', coalesce(v.instance_template_id, ''),
    'reservation_id', coalesce(v.reservation_id, ''),
    'commitment_period', v.commitment_period,
    'commitment_end', '',
    'ssh_destination', ${sshDestination}) end`;
}

function postgresVmJson({ dnsName, sshDestination, diskOrder, disks }: VmParts): RawBuilder<string | null> {
  // The text put together from each value's JSON (to_json of a string writes it quoted and
  // escaped as JSON.stringify does), with one aggregate per VM for its disks: row_to_json over
  // nested subqueries, tried first, cost the database about half as much again.
  const str = (value: RawBuilder<unknown>) => sql`to_json(${value})::text`;
  // (concat writes its arguments into one text at once, where a chain of || copies the text
  // made so far at every step; the values that may be null are coalesced first)
  const object = (pairs: [string, RawBuilder<unknown>][]) =>
    sql`concat('{', ${sql.join(pairs.map(([key, value], i) => sql`${sql.lit(`${i === 0 ? '' : ','}${JSON.stringify(key)}:`)}, ${value}`))}, '}')`;
  const ref = (column: string) => str(sql.ref(column));
  const time = (column: string) => sql`concat('"', to_char(timestamp 'epoch' + ${sql.ref(column)} * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '"')`;
  const disk = object([
    ['id', ref('d.id')],
    ['name', ref('d.name')],
    ['type', ref('d.type')],
    ['size', sql`concat('"', d.size_gib, 'GiB"')`],
    ['location', ref('d.location')],
    ['block_size', sql`d.block_size::text`],
    ['created_at', time('d.created_at')],
    ['updated_at', time('d.updated_at')],
    ['serial_number', ref('d.serial_number')],
    ['attachment_type', ref('a.attachment_type')],
    ['mode', ref('a.mode')],
  ]);
  const ips = object([
    ['private_ipv4', object([['address', ref('v.private_ip')]])],
    ['public_ipv4', object([['address', str(sql`coalesce(v.public_ip, '')`)], ['id', str(sql`coalesce(v.public_ip_id, '')`)], ['type', ref('v.public_ip_type')]])],
  ]);
  const nic = object([
    ['id', ref('v.nic_id')],
    ['name', sql`'"nic-1"'`],
    ['network', ref('v.network_id')],
    ['subnet', ref('v.subnet_id')],
    ['interface_type', sql`'"ethernet"'`],
    ['mac_address', ref('v.mac_address')],
    ['external_dns_name', str(sql`case when v.public_ip is null then '' else ${dnsName} end`)],
    ['ips', sql`case when v.private_ip is null then '[]' else concat('[', ${ips}, ']') end`],
  ]);
  const vm = object([
    ['id', ref('v.id')],
    ['name', ref('v.name')],
    ['project_id', ref('v.project_id')],
    ['type', ref('v.type')],
    ['location', ref('v.location')],
    ['state', ref('v.state')],
    ['created_at', time('v.created_at')],
    ['updated_at', time('v.updated_at')],
    ['disks', sql`concat('[', (select string_agg(${disk}, ',' order by ${diskOrder}) ${disks}), ']')`],
    ['network_interfaces', sql`concat('[', ${nic}, ']')`],
    ['host_channel_adapters', sql`'[]'`],
    ['maintenance_policy', ref('v.maintenance_policy')],
    ['instance_group_id', str(sql`coalesce(v.instance_group_id, '')`)],
    ['instance_template_id', str(sql`coalesce(v.instance_template_id, '')`)],
    ['reservation_id', str(sql`coalesce(v.reservation_id, '')`)],
    ['commitment_period', sql`v.commitment_period::text`],
    ['commitment_end', sql`'""'`],
    ['ssh_destination', str(sshDestination)],
  ]);
  return sql<string | null>`case when ${RENDERED_BY_PROCESS} then null else ${vm} end`;
}
