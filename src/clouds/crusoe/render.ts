import { createHash } from 'node:crypto';
import fastJsonStringify from 'fast-json-stringify';
import { jsonList } from '../../http/json-text.js';
import type { CatalogImage, VmType } from './catalog.js';
import { parseJson, rfc3339 } from './model/context.js';
import { formatSize } from './model/disks.js';
import type { GroupView } from './model/groups.js';
import type { IbNetworkView } from './model/ib.js';
import type { IssuedKey, TokenView } from './model/tokens.js';
import type { ProjectView } from './model/projects.js';
import type { VmPage, VmView } from './model/vms.js';
import type { DiskView } from './model/disks.js';
import type { HealthCheck, TargetInput } from './model/load-balancers.js';
import type { NetworkView } from './model/networks.js';
import type { Renderers } from './model/renderers.js';
import type { EndpointInput } from './model/firewall-rules.js';
import { ResourceState } from './model/resource.js';
import type { UsageExportRow, UsageOptionsView, UsageRow } from './model/usage.js';
import type {
  FirewallRuleRow,
  IdentityRow,
  IbPartitionRow,
  LoadBalancerRow,
  OperationRow,
  OrganizationRow,
  SnapshotRow,
  SshKeyRow,
  SubnetRow,
  TemplateRow,
} from './tables.js';
import { Instance, type BillingAddressWire, type EntityWire, type InstanceWire, type OperationWire, type ProjectWire } from './wire.js';
import { VmState } from './model/vm-states.js';

/** Stored rows to Crusoe wire objects. */

export function renderVm({ row, disks, sshPort = 22 }: VmView): InstanceWire {
  const hasAddress = row.private_ip !== null;
  return {
    id: row.id,
    name: row.name,
    project_id: row.project_id,
    type: row.type,
    location: row.location,
    state: row.state,
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
    disks: disks.map(({ disk, attachment }) => ({
      id: disk.id,
      name: disk.name,
      type: disk.type,
      size: formatSize(Number(disk.size_gib)),
      location: disk.location,
      block_size: Number(disk.block_size),
      created_at: rfc3339(disk.created_at),
      updated_at: rfc3339(disk.updated_at),
      serial_number: disk.serial_number,
      attachment_type: attachment.attachment_type,
      mode: attachment.mode,
    })),
    network_interfaces: [
      {
        id: row.nic_id,
        name: 'nic-1',
        network: row.network_id,
        subnet: row.subnet_id,
        interface_type: 'ethernet',
        mac_address: row.mac_address,
        external_dns_name: row.public_ip === null ? '' : `${row.name}-${row.id.slice(0, 8)}.${row.location}.compute.hangar.test`,
        ips: hasAddress
          ? [
              {
                private_ipv4: { address: row.private_ip! },
                public_ipv4: { address: row.public_ip ?? '', id: row.public_ip_id ?? '', type: row.public_ip_type },
              },
            ]
          : [],
      },
    ],
    host_channel_adapters:
      row.ib_partition_id === null
        ? []
        : [
            {
              type: 'infiniband',
              guid: guid(row.id),
              ib_network_id: row.ib_network_id ?? '',
              ib_partition_id: row.ib_partition_id,
              transport_network_id: '',
              transport_partition_id: '',
            },
          ],
    maintenance_policy: row.maintenance_policy,
    instance_group_id: row.instance_group_id ?? '',
    instance_template_id: row.instance_template_id ?? '',
    reservation_id: row.reservation_id ?? '',
    commitment_period: Number(row.commitment_period),
    commitment_end: '',
    ssh_destination: row.public_ip !== null && row.state !== VmState.Deleting ? `${row.public_ip}:${sshPort}` : '',
    ...(row.virtualization ? { virtualization_features: parseJson(row.virtualization) ?? {} } : {}),
  };
}

/** One VM as the list's serialiser writes it (the same compiler, the same schema). */
const vmText = fastJsonStringify(Instance);

/**
 * A VM as the text Instance's serialiser would write: as the store wrote it (a string, or bytes
 * kept between reads, see RowTexts), or rendered and serialised here.
 */
export function renderVmText(vm: string | Buffer | VmView): string | Buffer {
  return typeof vm === 'string' || Buffer.isBuffer(vm) ? vm : vmText(renderVm(vm));
}

/**
 * A page of VMs as the text InstanceList's serialiser would write: the VMs the store wrote as
 * they are, the few it leaves to renderVm rendered and serialised here.
 */
export function renderVmPageText(page: VmPage): string | Buffer {
  return jsonList('{"items":[', page.items.map(renderVmText), `],"next_page_token":${JSON.stringify(page.next)},"prev_page_token":${JSON.stringify(page.prev)}}`);
}

/** A host channel adapter's GUID, derived from the VM (four groups of four hex digits). */
function guid(vmId: string): string {
  const hex = createHash('sha256').update(`hca:${vmId}`).digest('hex');
  return [hex.slice(0, 4), hex.slice(4, 8), hex.slice(8, 12), hex.slice(12, 16)].join(':');
}

export function renderOperation(row: OperationRow): OperationWire {
  return {
    operation_id: row.id,
    state: row.state as OperationWire['state'],
    metadata: parseJson(row.metadata) ?? {},
    result: parseJson(row.result) ?? {},
    started_at: rfc3339(row.started_at),
    // Required by the spec even while in progress: empty until the operation has finished.
    completed_at: row.completed_at === null ? '' : rfc3339(row.completed_at),
  };
}

export function renderType(type: VmType) {
  return {
    product_name: type.product_name,
    description: type.description,
    cpu_cores: type.cpu_cores,
    cpu_type: type.cpu_type,
    memory_gb: type.memory_gb,
    memory_type: type.memory_type,
    disk_gb: type.disk_gb,
    disk_type: type.disk_type,
    num_gpu: type.num_gpu,
    gpu_type: type.gpu_type,
  };
}

export function renderImage(image: CatalogImage) {
  return { id: image.id, name: image.name, description: image.description, tags: image.tags, locations: image.locations, created_at: image.created_at };
}

export function renderTemplate(row: TemplateRow) {
  return {
    id: row.id,
    name: row.name,
    project_id: row.project_id,
    type: row.type,
    image_name: row.image_name,
    location: row.location,
    ssh_public_key: row.ssh_public_key,
    startup_script: row.startup_script,
    shutdown_script: row.shutdown_script,
    subnet_id: row.subnet_id,
    ib_partition_id: row.ib_partition_id,
    transport_partition_id: row.transport_partition_id,
    public_ip_address_type: row.public_ip_address_type,
    reservation_id: row.reservation_id,
    placement_policy: row.placement_policy as 'spread' | 'unspecified',
    maintenance_policy: row.maintenance_policy as 'manual' | 'stop-vm' | 'unspecified',
    custom_image_name: row.custom_image_name,
    nvlink_domain_id: row.nvlink_domain_id,
    disks: parseJson<{ size: string; type: 'persistent-ssd' | 'shared-volume' }[]>(row.disks) ?? [],
    ...(row.virtualization ? { virtualization_features: parseJson(row.virtualization) ?? {} } : {}),
    created_at: rfc3339(row.created_at),
  };
}

export function renderGroup({ row, instances, running }: GroupView) {
  const runningSet = new Set(running);
  return {
    id: row.id,
    name: row.name,
    project_id: row.project_id,
    template_id: row.template_id,
    desired_count: Number(row.desired_count),
    running_instance_count: running.length,
    instances,
    active_instances: running,
    inactive_instances: instances.filter((id) => !runningSet.has(id)),
    state: running.length >= Number(row.desired_count) ? 'HEALTHY' : 'UNHEALTHY',
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
  };
}

export function renderProject({ row, counts }: ProjectView): ProjectWire {
  const count = (n: number) => ({ count: n });
  return {
    id: row.id,
    name: row.name,
    organization_id: row.organization_id,
    relation: 'owner',
    resources: {
      instances: count(counts?.instances ?? 0),
      disks: count(counts?.disks ?? 0),
      snapshots: count(counts?.snapshots ?? 0),
      images: count(0),
      vpc_networks: count(counts?.vpc_networks ?? 0),
    },
  };
}

export function renderEntity(row: OrganizationRow): EntityWire {
  const address = parseJson<BillingAddressWire>(row.billing_addr);
  return {
    id: row.id,
    name: row.name,
    relation: 'owner',
    billing: { balance: '$0.00', delinquent: false, has_valid_payment_method: true, billing_method: 'manual' },
    features: {},
    state: 'active',
    state_reason: '',
    organization_type: 'standard',
    ...(row.company_name !== null ? { company_name: row.company_name } : {}),
    ...(address ? { billing_addr: address } : {}),
    ...(row.tax_id !== null ? { tax_id: row.tax_id } : {}),
    ...(row.tax_id_type !== null ? { tax_id_type: row.tax_id_type } : {}),
  };
}

export function renderIdentity(row: IdentityRow) {
  return {
    identity: { id: row.id, email: row.email, name: row.name, role: row.role },
    credentials: [] as string[],
    credentials_map: {} as Record<string, { type: string; created_at: string; updated_at: string }>,
  };
}

export function renderSshKey(row: SshKeyRow) {
  return {
    id: row.id,
    name: row.name,
    public_key: row.public_key,
    fingerprints: { md5: row.md5, sha256: row.sha256 },
    created_at: rfc3339(row.created_at),
  };
}

/** A token as lists show it: never its secret; "" for a time it does not have. */
export function renderToken(view: TokenView) {
  return {
    access_key: view.access_key,
    alias: view.alias,
    created_at: rfc3339(view.created_at),
    expires_at: view.expires_at === null ? '' : rfc3339(view.expires_at),
    last_used: view.last_used_at === null ? '' : rfc3339(view.last_used_at),
  };
}

/** A new token: the only answer that carries the secret. */
export function renderIssuedKey(key: IssuedKey) {
  return {
    access_key: key.access_key,
    secret_key: key.secret_key,
    alias: key.alias,
    created_at: rfc3339(key.created_at),
    expires_at: key.expires_at === null ? '' : rfc3339(key.expires_at),
  };
}

export function renderIbNetwork(view: IbNetworkView) {
  return { id: view.network.id, name: view.network.name, location: view.network.location, capacities: view.capacities };
}

export function renderIbPartition(row: IbPartitionRow) {
  return { id: row.id, name: row.name, ib_network_id: row.ib_network_id };
}

export function renderDisk({ row, attachedTo }: DiskView) {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    size: formatSize(Number(row.size_gib)),
    location: row.location,
    block_size: Number(row.block_size),
    serial_number: row.serial_number,
    attached_to: attachedTo.map((a) => ({ vm_id: a.vm_id, attachment_type: a.attachment_type, mode: a.mode })),
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
  };
}

/** A snapshot's size is in bytes, as the seed shows it ("10457 bytes"). */
export function renderSnapshot(row: SnapshotRow) {
  return {
    id: row.id,
    name: row.name,
    created_from: row.disk_id,
    size: `${Number(row.size_bytes)} bytes`,
    block_size: Number(row.block_size),
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
  };
}

export function renderNetwork({ row, subnets }: NetworkView) {
  return { id: row.id, name: row.name, cidr: row.cidr, gateway: row.gateway, subnets };
}

export function renderSubnet(row: SubnetRow) {
  return {
    id: row.id,
    name: row.name,
    vpc_network_id: row.network_id,
    cidr: row.cidr,
    location: row.location,
    nat_gateways:
      row.nat_gateway_id === null ? [] : [{ id: row.nat_gateway_id, public_ipv4_id: row.nat_public_ip_id ?? '', public_ipv4_address: row.nat_public_ip ?? '' }],
  };
}

/** A target as stored: its CIDR, its resource, or both as they were sent (the resource governs). */
const target = (e: { cidr?: string; resource_id?: string }) =>
  e.cidr !== undefined && e.resource_id !== undefined ? { cidr: e.cidr, resource_id: e.resource_id } : e.cidr !== undefined ? { cidr: e.cidr } : { resource_id: e.resource_id ?? '' };
const endpoints = (json: string) => (parseJson<EndpointInput[]>(json) ?? []).map(target);

/** A rule is `active` once created; `inactive` while its create or delete is in progress. */
export function renderFirewallRule(row: FirewallRuleRow) {
  return {
    id: row.id,
    name: row.name,
    vpc_network_id: row.network_id,
    action: row.action as 'allow' | 'deny',
    direction: row.direction as 'ingress' | 'egress',
    protocols: parseJson<string[]>(row.protocols) ?? [],
    source_ports: parseJson<string[]>(row.source_ports) ?? [],
    destination_ports: parseJson<string[]>(row.destination_ports) ?? [],
    sources: endpoints(row.sources),
    destinations: endpoints(row.destinations),
    state: (row.state === ResourceState.Available ? 'active' : 'inactive') as 'active' | 'inactive',
  };
}

/** Health checking off shows as `{"port": "0"}`, the value that turns it off. */
export function renderLoadBalancer(row: LoadBalancerRow) {
  const health = parseJson<HealthCheck>(row.health_check);
  return {
    id: row.id,
    name: row.name,
    location: row.location,
    type: row.type,
    algorithm: row.algorithm,
    protocols: parseJson<string[]>(row.protocols) ?? [],
    destinations: (parseJson<TargetInput[]>(row.destinations) ?? []).map(target),
    network_interfaces: [{ network: row.network_id, subnet: row.subnet_id }],
    health_check: health ?? { port: '0' },
    // An internal load balancer has a private address only.
    ips: row.private_ip === null ? [] : [{ private_ipv4: { address: row.private_ip }, public_ipv4: { address: '', id: '', type: '' } }],
  };
}

export function renderUsage(row: UsageRow) {
  return {
    billable_metric: row.billable_metric,
    date: row.date,
    project_id: row.project_id,
    quantity: row.quantity,
    region: row.region,
    reservation_id: '',
    resource_type: row.resource_type,
  };
}

/** The resource-level export's columns: the fields the spec lists for it. */
export const USAGE_EXPORT_COLUMNS = ['usage_date', 'project_id', 'resource_id', 'resource_type', 'region', 'metric', 'quantity'] as const;

export function renderUsageExportRow(row: UsageExportRow) {
  return {
    usage_date: row.date,
    project_id: row.project_id,
    resource_id: row.resource_id,
    resource_type: row.resource_type,
    region: row.region,
    metric: row.billable_metric,
    quantity: row.quantity,
  };
}

/** CSV as RFC 4180 writes it: a header line, fields quoted when they need to be. */
export function usageCsv(rows: UsageExportRow[]): string {
  const quote = (v: string | number) => {
    const text = String(v);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [USAGE_EXPORT_COLUMNS.join(',')];
  for (const row of rows) {
    const r = renderUsageExportRow(row);
    lines.push(USAGE_EXPORT_COLUMNS.map((c) => quote(r[c])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function renderUsageOptions(view: UsageOptionsView) {
  return { ...view };
}

/** What the model shows as an operation's result. */
export const renderers: Renderers = {
  vm: renderVm,
  disk: renderDisk,
  snapshot: renderSnapshot,
  network: renderNetwork,
  subnet: renderSubnet,
  firewallRule: renderFirewallRule,
  loadBalancer: renderLoadBalancer,
  group: renderGroup,
  template: renderTemplate,
};
