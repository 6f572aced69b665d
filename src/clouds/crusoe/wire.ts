import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { rfc3339 } from './model/context.js';
import type { S3BucketRow } from './tables.js';

/**
 * The Crusoe Cloud API v1alpha5 wire format: request bodies, query strings and responses as
 * TypeBox schemas, shaped after the definitions of the spec (seed scope). Fastify validates
 * requests and serializes responses with them and the served OpenAPI document is generated
 * from them; the tests check responses against the spec itself.
 *
 * Requests accept either era's shape: fields the current spec made required after the seed
 * (VM `location`, instance group `desired_count`) are optional here.
 */

/** A string enum as JSON Schema's `enum`, so a wrong value is reported with the allowed ones. */
export function StringEnum<const T extends readonly string[]>(values: T) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
}

/** Free-form JSON (operation metadata and results). */
const Anything = Type.Unsafe<unknown>({});

export const ErrorBody = Type.Object({
  code: Type.String(),
  message: Type.String(),
  reason: Type.Optional(Type.String()),
  error_id: Type.Optional(Type.String()),
});

export const MaintenancePolicy = StringEnum(['manual', 'stop-vm', 'unspecified'] as const);

// ---------------------------------------------------------------------------------------
// Shared pieces

export const Operation = Type.Object({
  operation_id: Type.String(),
  state: StringEnum(['IN_PROGRESS', 'SUCCEEDED', 'FAILED'] as const),
  metadata: Anything,
  result: Type.Optional(Anything),
  started_at: Type.String(),
  completed_at: Type.String(),
});
export type OperationWire = Static<typeof Operation>;
export const AsyncOperation = Type.Object({ operation: Operation });
export const OperationList = Type.Object({ items: Type.Array(Operation) });

export const VirtualizationFeatures = Type.Object({ nested_virtualization: Type.Optional(Type.Boolean()) });

const PrivateIpv4 = Type.Object({ address: Type.String() });
const PublicIpv4 = Type.Object({ address: Type.String(), id: Type.String(), type: Type.String() });

export const NetworkInterface = Type.Object({
  id: Type.String(),
  name: Type.String(),
  network: Type.String(),
  subnet: Type.String(),
  interface_type: Type.String(),
  mac_address: Type.String(),
  external_dns_name: Type.String(),
  ips: Type.Array(Type.Object({ private_ipv4: PrivateIpv4, public_ipv4: PublicIpv4 })),
});

export const HostChannelAdapter = Type.Object({
  type: Type.String(),
  guid: Type.String(),
  ib_network_id: Type.String(),
  ib_partition_id: Type.String(),
  transport_network_id: Type.String(),
  transport_partition_id: Type.String(),
});

export const AttachedDisk = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  size: Type.String(),
  location: Type.String(),
  block_size: Type.Integer(),
  created_at: Type.String(),
  updated_at: Type.String(),
  serial_number: Type.String(),
  attachment_type: Type.String(),
  mode: Type.String(),
});

// ---------------------------------------------------------------------------------------
// VMs

export const Instance = Type.Object({
  id: Type.String(),
  name: Type.String(),
  project_id: Type.String(),
  type: Type.String(),
  location: Type.String(),
  state: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
  disks: Type.Array(AttachedDisk),
  network_interfaces: Type.Array(NetworkInterface),
  host_channel_adapters: Type.Array(HostChannelAdapter),
  maintenance_policy: Type.String(),
  instance_group_id: Type.String(),
  instance_template_id: Type.String(),
  reservation_id: Type.String(),
  commitment_period: Type.Integer(),
  commitment_end: Type.String(),
  /** Seed era: "<public address>:22", "" until the VM has one. */
  ssh_destination: Type.String(),
  virtualization_features: Type.Optional(VirtualizationFeatures),
});
export type InstanceWire = Static<typeof Instance>;

export const InstanceList = Type.Object({
  items: Type.Array(Instance),
  next_page_token: Type.String(),
  prev_page_token: Type.String(),
});

const Name = Type.String({ minLength: 1, maxLength: 255 });
const Id = Type.String({ minLength: 1, maxLength: 255 });

export const DiskAttachment = Type.Object({
  disk_id: Id,
  mode: StringEnum(['read-only', 'read-write'] as const),
  attachment_type: StringEnum(['os', 'data'] as const),
});
export type DiskAttachmentInput = Static<typeof DiskAttachment>;

const PartialHostChannelAdapter = Type.Object({
  ib_partition_id: Type.Optional(Type.String()),
  transport_partition_id: Type.Optional(Type.String()),
});

/** A network interface in a request: every key optional (clients send only what they set). */
const NetworkInterfaceInput = Type.Object({
  id: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  network: Type.Optional(Type.String()),
  subnet: Type.Optional(Type.String()),
  interface_type: Type.Optional(Type.String()),
  mac_address: Type.Optional(Type.String()),
  external_dns_name: Type.Optional(Type.String()),
  ips: Type.Optional(
    Type.Array(
      Type.Object({
        private_ipv4: Type.Optional(Type.Object({ address: Type.Optional(Type.String()) })),
        public_ipv4: Type.Optional(
          Type.Object({ address: Type.Optional(Type.String()), id: Type.Optional(Type.String()), type: Type.Optional(Type.String()) }),
        ),
      }),
    ),
  ),
});
export type NetworkInterfaceInputWire = Static<typeof NetworkInterfaceInput>;

const ReservationSpecification = Type.Object({
  id: Type.Optional(Type.String()),
  selection_strategy: Type.Optional(StringEnum(['lowest_cost', 'on_demand'] as const)),
});

export const CreateInstanceBody = Type.Object({
  name: Name,
  type: Id,
  ssh_public_key: Type.String({ minLength: 1 }),
  location: Type.Optional(Type.String()),
  image: Type.Optional(Type.String()),
  custom_image: Type.Optional(Type.String()),
  disks: Type.Optional(Type.Array(DiskAttachment)),
  host_channel_adapters: Type.Optional(Type.Array(PartialHostChannelAdapter)),
  network_interfaces: Type.Optional(Type.Array(NetworkInterfaceInput)),
  reservation_specification: Type.Optional(ReservationSpecification),
  startup_script: Type.Optional(Type.String()),
  shutdown_script: Type.Optional(Type.String()),
  virtualization_features: Type.Optional(VirtualizationFeatures),
  commitment_period: Type.Optional(Type.Integer()),
  maintenance_policy: Type.Optional(Type.String()),
  nvlink_domain_id: Type.Optional(Type.String()),
  install_crusoe_watch_agent: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  crusoe_watch_agent_install_mode: Type.Optional(StringEnum(['docker', 'native'] as const)),
});
export type CreateInstanceInput = Static<typeof CreateInstanceBody>;

export const UpdateInstanceBody = Type.Object({
  action: StringEnum(['START', 'STOP', 'RESET', 'RESERVE', 'UNRESERVE', 'UPDATE'] as const),
  commitment_period: Type.Optional(Type.Integer()),
  host_channel_adapters: Type.Optional(Type.Array(PartialHostChannelAdapter)),
  maintenance_policy: Type.Optional(Type.String()),
  network_interfaces: Type.Optional(Type.Array(NetworkInterfaceInput)),
  reservation_id: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
});
export type UpdateInstanceInput = Static<typeof UpdateInstanceBody>;

export const AttachDisksBody = Type.Object({ attach_disks: Type.Array(DiskAttachment, { minItems: 1 }) });
export const DetachDisksBody = Type.Object({ detach_disks: Type.Array(Id, { minItems: 1 }) });

/** List filters: each a comma-separated string (the Go client's form); repeated keys work too. */
const Csv = Type.Array(Type.String());
export const ListInstancesQuery = Type.Object({
  ids: Type.Optional(Csv),
  names: Type.Optional(Csv),
  types: Type.Optional(Csv),
  locations: Type.Optional(Csv),
  states: Type.Optional(Csv),
  nvlink_domain_ids: Type.Optional(Csv),
  limit: Type.Optional(Type.String()),
  sort: Type.Optional(Type.String()),
  next_token: Type.Optional(Type.String()),
  prev_token: Type.Optional(Type.String()),
});
export type ListInstancesQueryInput = Static<typeof ListInstancesQuery>;

export const OperationsQuery = Type.Object({
  resource_id: Type.Optional(Type.String()),
  state: Type.Optional(Csv),
  lower_time_bound: Type.Optional(Type.String()),
});

export const VmType = Type.Object({
  product_name: Type.String(),
  description: Type.String(),
  cpu_cores: Type.Integer(),
  cpu_type: Type.String(),
  memory_gb: Type.Integer(),
  memory_type: Type.String(),
  disk_gb: Type.Integer(),
  disk_type: Type.String(),
  num_gpu: Type.Integer(),
  gpu_type: Type.String(),
});
export const VmTypeList = Type.Object({ items: Type.Array(VmType) });

// ---------------------------------------------------------------------------------------
// Bulk create, templates, groups

const DiskTemplate = Type.Object({
  size: Type.String({ minLength: 1 }),
  type: StringEnum(['persistent-ssd', 'shared-volume', 'DISK_TYPE_PERSISTENT_SSD', 'DISK_TYPE_SHARED_VOLUME'] as const),
});
export type DiskTemplateInput = Static<typeof DiskTemplate>;

export const CreateTemplateBody = Type.Object({
  template_name: Name,
  type: Id,
  ssh_public_key: Type.String({ minLength: 1 }),
  image_name: Type.Optional(Type.String()),
  custom_image_name: Type.Optional(Type.String()),
  location: Type.Optional(Type.String()),
  subnet_id: Type.Optional(Type.String()),
  ib_partition_id: Type.Optional(Type.String()),
  transport_partition_id: Type.Optional(Type.String()),
  public_ip_address_type: Type.Optional(Type.String()),
  reservation_id: Type.Optional(Type.String()),
  startup_script: Type.Optional(Type.String()),
  shutdown_script: Type.Optional(Type.String()),
  disks: Type.Optional(Type.Array(DiskTemplate)),
  virtualization_features: Type.Optional(VirtualizationFeatures),
  maintenance_policy: Type.Optional(Type.String()),
  placement_policy: Type.Optional(Type.String()),
  nvlink_domain_id: Type.Optional(Type.String()),
});
export type CreateTemplateInput = Static<typeof CreateTemplateBody>;

export const InstanceTemplate = Type.Object({
  id: Type.String(),
  name: Type.String(),
  project_id: Type.String(),
  type: Type.String(),
  image_name: Type.String(),
  location: Type.String(),
  ssh_public_key: Type.String(),
  startup_script: Type.String(),
  shutdown_script: Type.String(),
  subnet_id: Type.String(),
  ib_partition_id: Type.String(),
  transport_partition_id: Type.String(),
  public_ip_address_type: Type.String(),
  reservation_id: Type.String(),
  placement_policy: StringEnum(['spread', 'unspecified'] as const),
  maintenance_policy: MaintenancePolicy,
  custom_image_name: Type.Optional(Type.String()),
  nvlink_domain_id: Type.Optional(Type.String()),
  disks: Type.Array(DiskTemplate),
  virtualization_features: Type.Optional(VirtualizationFeatures),
  created_at: Type.String(),
});
export const InstanceTemplateList = Type.Object({ items: Type.Array(InstanceTemplate) });

export const BulkCreateBody = Type.Object({
  name_prefix: Type.String({ minLength: 1, maxLength: 200 }),
  count: Type.Integer(),
  instance_group_id: Type.Optional(Type.String()),
  instance_template_id: Type.Optional(Type.String()),
  instance_template: Type.Optional(CreateTemplateBody),
  locations: Type.Optional(
    Type.Array(
      Type.Object({
        location: Type.String({ minLength: 1 }),
        subnet_id: Type.Optional(Type.String()),
        ib_partition_id: Type.Optional(Type.String()),
        transport_partition_id: Type.Optional(Type.String()),
      }),
    ),
  ),
  reservation_specification: Type.Optional(ReservationSpecification),
  nvlink_domain_id: Type.Optional(Type.String()),
  install_crusoe_watch_agent: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  crusoe_watch_agent_install_mode: Type.Optional(StringEnum(['docker', 'native'] as const)),
});
export type BulkCreateInput = Static<typeof BulkCreateBody>;

export const InstanceGroup = Type.Object({
  id: Type.String(),
  name: Type.String(),
  project_id: Type.String(),
  template_id: Type.String(),
  desired_count: Type.Integer(),
  running_instance_count: Type.Integer(),
  instances: Type.Array(Type.String()),
  active_instances: Type.Array(Type.String()),
  inactive_instances: Type.Array(Type.String()),
  state: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export const InstanceGroupList = Type.Object({ items: Type.Array(InstanceGroup) });

export const CreateGroupBody = Type.Object({
  name: Name,
  template_id: Id,
  desired_count: Type.Optional(Type.Integer({ minimum: 0 })),
});

/** `desired_count` is `{"value": n}` in today's PATCH; the bare integer of the POST works too. */
export const UpdateGroupBody = Type.Object({
  name: Type.Optional(Name),
  template_id: Type.Optional(Id),
  desired_count: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Object({ value: Type.Optional(Type.Integer({ minimum: 0 })) })])),
});

// ---------------------------------------------------------------------------------------
// Catalog: images, locations, capacities, IB

export const Image = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  tags: Type.Array(Type.String()),
  locations: Type.Array(Type.String()),
  created_at: Type.String(),
});
export const ImageList = Type.Object({ items: Type.Array(Image) });
export const ImagesQuery = Type.Object({ product_group: Type.Optional(Type.String()) });

export const LocationList = Type.Object({ items: Type.Array(Type.String()) });

export const Capacity = Type.Object({
  type: Type.String(),
  location: Type.String(),
  quantity: Type.Integer(),
  quota_type: Type.Optional(Type.String()),
});
export const CapacityList = Type.Object({ items: Type.Array(Capacity) });
export const CapacitiesQuery = Type.Object({ product_name: Type.Optional(Csv), location: Type.Optional(Csv) });

export const IbNetwork = Type.Object({
  id: Type.String(),
  name: Type.String(),
  location: Type.String(),
  capacities: Type.Array(Type.Object({ quantity: Type.Integer(), slice_type: Type.String() })),
});
export const IbNetworkList = Type.Object({ items: Type.Array(IbNetwork) });
export const IbPartition = Type.Object({ id: Type.String(), name: Type.String(), ib_network_id: Type.String() });
export const IbPartitionList = Type.Object({ items: Type.Array(IbPartition) });
export const CreateIbPartitionBody = Type.Object({ name: Name, ib_network_id: Id });

// ---------------------------------------------------------------------------------------
// Organizations, projects

const ProjectResourceCount = Type.Object({ count: Type.Integer() });
export const Project = Type.Object({
  id: Type.String(),
  name: Type.String(),
  organization_id: Type.String(),
  relation: Type.String(),
  resources: Type.Object({
    instances: ProjectResourceCount,
    disks: ProjectResourceCount,
    snapshots: ProjectResourceCount,
    images: ProjectResourceCount,
    vpc_networks: ProjectResourceCount,
  }),
});
export type ProjectWire = Static<typeof Project>;
export const ProjectList = Type.Object({ items: Type.Array(Project) });
export const ProjectEnvelope = Type.Object({ project: Project });
export const ProjectsQuery = Type.Object({
  org_id: Type.Optional(Type.String()),
  project_name: Type.Optional(Type.String()),
  skip_loading_project_resources: Type.Optional(Type.Boolean()),
});
export const CreateProjectBody = Type.Object({ name: Name, organization_id: Id });
export const UpdateProjectBody = Type.Object({ name: Name });
export const ProjectIdQuery = Type.Object({ project_id: Type.String({ minLength: 1 }) });

export const BillingAddress = Type.Object({
  address_line1: Type.String(),
  address_line2: Type.Optional(Type.String()),
  city: Type.String(),
  state_or_region: Type.String(),
  postal_code: Type.String(),
  country: Type.String(),
});
export type BillingAddressWire = Static<typeof BillingAddress>;

export const Entity = Type.Object({
  id: Type.String(),
  name: Type.String(),
  relation: Type.String(),
  billing: Type.Object({
    balance: Type.String(),
    delinquent: Type.Boolean(),
    has_valid_payment_method: Type.Boolean(),
    billing_method: Type.Optional(Type.String()),
  }),
  features: Type.Record(Type.String(), Anything),
  state: Type.String(),
  state_reason: Type.String(),
  company_name: Type.Optional(Type.String()),
  billing_addr: Type.Optional(BillingAddress),
  tax_id: Type.Optional(Type.String()),
  tax_id_type: Type.Optional(Type.String()),
  organization_type: Type.Optional(Type.String()),
});
export type EntityWire = Static<typeof Entity>;
export const EntityList = Type.Object({ items: Type.Array(Entity) });
export const EntityEnvelope = Type.Object({ entity: Entity });
export const OrgIdQuery = Type.Object({ org_id: Type.String({ minLength: 1 }) });
export const UpdateEntityBody = Type.Object({
  organization_name: Type.Optional(Name),
  company_name: Type.Optional(Type.String({ maxLength: 255 })),
  billing_addr: Type.Optional(BillingAddress),
  tax_id: Type.Optional(Type.String({ maxLength: 64 })),
  tax_id_type: Type.Optional(StringEnum(['EIN', 'VAT'] as const)),
});
export type UpdateEntityInput = Static<typeof UpdateEntityBody>;

// ---------------------------------------------------------------------------------------
// Users: identity, SSH keys, tokens

export const UserResponse = Type.Object({
  identity: Type.Object({ id: Type.String(), email: Type.String(), name: Type.String(), role: Type.String() }),
  credentials: Type.Array(Type.String()),
  credentials_map: Type.Record(Type.String(), Type.Object({ type: Type.String(), created_at: Type.String(), updated_at: Type.String() })),
});
export const UpdateIdentityBody = Type.Object({ name: Name, role: Type.Optional(Type.String({ maxLength: 64 })) });

export const SshKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  public_key: Type.String(),
  fingerprints: Type.Object({ md5: Type.String(), sha256: Type.String() }),
  created_at: Type.String(),
});
export const SshKeyList = Type.Object({ items: Type.Array(SshKey) });
export const SshKeyEnvelope = Type.Object({ ssh_key: SshKey });
export const CreateSshKeyBody = Type.Object({ name: Name, public_key: Type.String({ minLength: 1 }) });
export const IdQuery = Type.Object({ id: Type.String({ minLength: 1 }) });

export const TokenInfo = Type.Object({
  access_key: Type.String(),
  alias: Type.String(),
  created_at: Type.String(),
  expires_at: Type.String(),
  last_used: Type.String(),
});
export const TokenList = Type.Object({ items: Type.Array(TokenInfo) });
export const GeneratedToken = Type.Object({
  access_key: Type.String(),
  secret_key: Type.String(),
  alias: Type.String(),
  created_at: Type.String(),
  expires_at: Type.String(),
});
export const TokenEnvelope = Type.Object({ token: GeneratedToken });
export const CreateTokenBody = Type.Object({ alias: Type.Optional(Type.String({ maxLength: 255 })), expires_at: Type.String({ minLength: 1 }) });
export const AccessKeyQuery = Type.Object({ access_key: Type.String({ minLength: 1 }) });

// ---------------------------------------------------------------------------------------
// Storage: disks and snapshots

const VmAttachment = Type.Object({ vm_id: Type.String(), attachment_type: Type.String(), mode: Type.String() });

export const Disk = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.String(),
  size: Type.String(),
  location: Type.String(),
  block_size: Type.Integer(),
  serial_number: Type.String(),
  attached_to: Type.Array(VmAttachment),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export const DiskList = Type.Object({ items: Type.Array(Disk) });
export const ListDisksQuery = Type.Object({
  disk_ids: Type.Optional(Csv),
  disk_names: Type.Optional(Csv),
  location: Type.Optional(Type.String()),
  exclude_os: Type.Optional(Type.Boolean()),
});
export const CreateDiskBody = Type.Object({
  name: Name,
  size: Type.Optional(Type.String()),
  location: Type.Optional(Type.String()),
  snapshot_id: Type.Optional(Type.String()),
  type: Type.Optional(StringEnum(['persistent-ssd', 'shared-volume', 'DISK_TYPE_PERSISTENT_SSD', 'DISK_TYPE_SHARED_VOLUME'] as const)),
  block_size: Type.Optional(Type.Integer({ minimum: 1, description: "512 or 4096; 0 (a Go client's zero value) means the default" })),
});
export const ResizeDiskBody = Type.Object({ size: Type.String({ minLength: 1, maxLength: 64 }) });

export const Snapshot = Type.Object({
  id: Type.String(),
  name: Type.String(),
  created_from: Type.String(),
  size: Type.String(),
  block_size: Type.Integer(),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export const SnapshotList = Type.Object({ items: Type.Array(Snapshot) });
/** `name` became required after the seed, whose request carries only `disk_id`: optional here. */
export const CreateSnapshotBody = Type.Object({ disk_id: Id, name: Type.Optional(Type.String({ maxLength: 255 })) });

// ---------------------------------------------------------------------------------------
// Networking: VPC networks, subnets, firewall rules, load balancers

export const VpcNetwork = Type.Object({
  id: Type.String(),
  name: Type.String(),
  cidr: Type.String(),
  gateway: Type.String(),
  subnets: Type.Array(Type.String()),
});
export const VpcNetworkList = Type.Object({ items: Type.Array(VpcNetwork) });
export const VpcNetworkEnvelope = Type.Object({ network: VpcNetwork });
export const CreateNetworkBody = Type.Object({ name: Name, cidr: Type.String({ minLength: 1, maxLength: 64 }) });
export const PatchNetworkBody = Type.Object({ name: Name });

const NatGateway = Type.Object({ id: Type.String(), public_ipv4_id: Type.String(), public_ipv4_address: Type.String() });
export const VpcSubnet = Type.Object({
  id: Type.String(),
  name: Type.String(),
  vpc_network_id: Type.String(),
  cidr: Type.String(),
  location: Type.String(),
  nat_gateways: Type.Array(NatGateway),
});
export const VpcSubnetList = Type.Object({ items: Type.Array(VpcSubnet) });
export const VpcSubnetEnvelope = Type.Object({ subnet: VpcSubnet });
/** `nat_gateway_enabled` became required after the seed: optional here (off by default). */
export const CreateSubnetBody = Type.Object({
  name: Name,
  cidr: Type.String({ minLength: 1, maxLength: 64 }),
  location: Type.String({ minLength: 1 }),
  vpc_network_id: Id,
  nat_gateway_enabled: Type.Optional(Type.Boolean()),
});
export const PatchSubnetBody = Type.Object({ name: Name, nat_gateway_action: Type.Optional(StringEnum(['enable', 'disable'] as const)) });

/**
 * Lists the seed's samples write as bracketed strings ("[tcp, udp]", "[80, 443, 3000-8080]"):
 * an array of strings as the spec says, the seed's string form, and numbers in the array.
 */
const StringList = Type.Union([Type.Array(Type.Union([Type.String({ maxLength: 64 }), Type.Integer()]), { maxItems: 256 }), Type.String({ maxLength: 4096 })]);
const Endpoint = Type.Object({ cidr: Type.Optional(Type.String({ maxLength: 64 })), resource_id: Type.Optional(Type.String({ maxLength: 255 })) });
const EndpointOut = Type.Object({ cidr: Type.Optional(Type.String()), resource_id: Type.Optional(Type.String()) });

export const FirewallRule = Type.Object({
  id: Type.String(),
  name: Type.String(),
  vpc_network_id: Type.String(),
  action: StringEnum(['allow', 'deny'] as const),
  direction: StringEnum(['ingress', 'egress'] as const),
  protocols: Type.Array(Type.String()),
  source_ports: Type.Array(Type.String()),
  destination_ports: Type.Array(Type.String()),
  sources: Type.Array(EndpointOut),
  destinations: Type.Array(EndpointOut),
  state: StringEnum(['active', 'inactive'] as const),
});
export const FirewallRuleList = Type.Object({ items: Type.Array(FirewallRule) });
export const CreateFirewallRuleBody = Type.Object({
  name: Name,
  vpc_network_id: Id,
  action: StringEnum(['allow', 'deny'] as const),
  direction: StringEnum(['ingress', 'egress'] as const),
  protocols: StringList,
  sources: Type.Array(Endpoint, { maxItems: 256 }),
  destinations: Type.Array(Endpoint, { maxItems: 256 }),
  source_ports: Type.Optional(StringList),
  destination_ports: Type.Optional(StringList),
});
export const PatchFirewallRuleBody = Type.Object({
  name: Type.Optional(Name),
  protocols: Type.Optional(StringList),
  sources: Type.Optional(Type.Array(Endpoint, { maxItems: 256 })),
  destinations: Type.Optional(Type.Array(Endpoint, { maxItems: 256 })),
  source_ports: Type.Optional(StringList),
  destination_ports: Type.Optional(StringList),
});

const Count = Type.Union([Type.String({ maxLength: 16 }), Type.Integer()]);
/** The spec's strings, or numbers: `{"port": 0}` (a number, as the seed writes it) turns health checking off. */
const HealthCheckInput = Type.Object({
  port: Count,
  interval: Type.Optional(Count),
  timeout: Type.Optional(Count),
  success_count: Type.Optional(Count),
  failure_count: Type.Optional(Count),
});
const HealthCheckOut = Type.Object({
  port: Type.String(),
  interval: Type.Optional(Type.String()),
  timeout: Type.Optional(Type.String()),
  success_count: Type.Optional(Type.String()),
  failure_count: Type.Optional(Type.String()),
});
const LbNetworkInterface = Type.Object({ network: Type.Optional(Type.String({ maxLength: 255 })), subnet: Type.Optional(Type.String({ maxLength: 255 })) });

export const LoadBalancer = Type.Object({
  id: Type.String(),
  name: Type.String(),
  location: Type.String(),
  type: Type.String(),
  algorithm: Type.String(),
  protocols: Type.Array(Type.String()),
  destinations: Type.Array(EndpointOut),
  network_interfaces: Type.Array(Type.Object({ network: Type.String(), subnet: Type.String() })),
  health_check: HealthCheckOut,
  ips: Type.Array(Type.Object({ private_ipv4: PrivateIpv4, public_ipv4: PublicIpv4 })),
});
export const LoadBalancerList = Type.Object({ items: Type.Array(LoadBalancer) });
export const CreateLoadBalancerBody = Type.Object({
  name: Name,
  location: Type.String({ minLength: 1 }),
  algorithm: Type.String({ minLength: 1, maxLength: 64 }),
  protocols: StringList,
  destinations: Type.Array(Endpoint, { maxItems: 256 }),
  network_interfaces: Type.Array(LbNetworkInterface, { maxItems: 16 }),
  health_check: Type.Optional(HealthCheckInput),
  type: Type.Optional(Type.String({ maxLength: 64 })),
});
export const PatchLoadBalancerBody = Type.Object({
  name: Type.Optional(Name),
  destinations: Type.Optional(Type.Array(Endpoint, { maxItems: 256 })),
  health_check: Type.Optional(HealthCheckInput),
});

// ---------------------------------------------------------------------------------------
// Usage

/** The seed requires every filter; today's spec makes them optional (repeated keys): both work. */
export const UsageQuery = Type.Object({
  projects: Type.Optional(Csv),
  resource_types: Type.Optional(Csv),
  regions: Type.Optional(Csv),
  start_date: Type.Optional(Type.String()),
  end_date: Type.Optional(Type.String()),
  interval: Type.Optional(Type.String()),
});
/**
 * The export's filters, every one required as the seed marks them (an empty value, e.g.
 * `projects=`, means "all").
 */
export const UsageExportQuery = Type.Object({
  projects: Csv,
  resources: Csv,
  resource_types: Csv,
  regions: Csv,
  start_date: Type.String(),
  end_date: Type.String(),
});
export const UsageItem = Type.Object({
  billable_metric: Type.String(),
  date: Type.String(),
  project_id: Type.String(),
  quantity: Type.Number(),
  region: Type.String(),
  reservation_id: Type.String(),
  resource_type: Type.String(),
});
export const UsageReport = Type.Object({ items: Type.Array(UsageItem) });
export const UsageOptions = Type.Object({
  projects: Type.Array(Type.String()),
  resource_types: Type.Array(Type.String()),
  product_lines: Type.Array(Type.String()),
  regions: Type.Array(Type.String()),
  start_date: Type.String(),
  end_date: Type.String(),
});

// ---------------------------------------------------------------------------------------
// Params

export const ProjectParam = Type.Object({ project_id: Type.String() });
export const ProjectIdParam = <K extends string>(name: K) =>
  Type.Object({ project_id: Type.String(), [name]: Type.String() } as { project_id: ReturnType<typeof Type.String> } & {
    [P in K]: ReturnType<typeof Type.String>;
  });
export const IdParam = <K extends string>(name: K) => Type.Object({ [name]: Type.String() } as { [P in K]: ReturnType<typeof Type.String> });

export type { TSchema };

// ---------------------------------------------------------------------------------------
// Quotas

const QuotaFields = {
  type: Type.String({ description: 'the quota enum, PROJECT_QUOTA_TYPE_… or ORG_QUOTA_TYPE_…' }),
  programmatic_name: Type.String({ description: 'the instance family (product name before the dot), or the resource' }),
  description: Type.String(),
  max: Type.Integer({ description: "the account's quota, as an operator set it (/admin/v1/accounts/{id}/quotas) or the default" }),
  used: Type.Integer({ description: 'what the project (organization) holds now: GPUs of a GPU family, vCPUs of a CPU family, VMs, GiB of disks' }),
  available: Type.Integer(),
};
export const ProjectQuotaList = Type.Object({ quotas: Type.Array(Type.Object({ ...QuotaFields, category: Type.String() })) });
export const OrgQuotaList = Type.Object({ quotas: Type.Array(Type.Object(QuotaFields)) });

// ---------------------------------------------------------------------------------------
// S3 buckets (object storage): named within their project, addressed by name

export const S3VersioningState = StringEnum(['disabled', 'enabled', 'suspended'] as const);
export const S3RetentionPeriodUnit = StringEnum(['days', 'years'] as const);
const S3Tags = Type.Record(Type.String(), Type.String());

export const S3Bucket = Type.Object({
  name: Type.String(),
  user_id: Type.String(),
  project_id: Type.String(),
  location: Type.String(),
  versioning_state: S3VersioningState,
  object_lock_enabled: Type.Boolean(),
  retention_mode: Type.Optional(StringEnum(['governance', 'compliance'] as const)),
  retention_period: Type.Optional(Type.Integer()),
  retention_period_unit: Type.Optional(S3RetentionPeriodUnit),
  tags: S3Tags,
  s3_url: Type.String(),
  bucket_size: Type.Number(),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type S3BucketWire = Static<typeof S3Bucket>;
export const S3BucketList = Type.Object({ items: Type.Array(S3Bucket), next_page_token: Type.Optional(Type.String()), prev_page_token: Type.Optional(Type.String()) });
export const ListS3BucketsQuery = Type.Object({
  page_size: Type.Optional(Type.Integer({ minimum: 1 })),
  next_page_token: Type.Optional(Type.String()),
  prev_page_token: Type.Optional(Type.String()),
});
export const CreateS3BucketBody = Type.Object({
  name: Type.String(),
  location: Type.String(),
  versioning_state: Type.Optional(S3VersioningState),
  object_lock_enabled: Type.Optional(Type.Boolean()),
  retention_period: Type.Optional(Type.Integer({ minimum: 1 })),
  retention_period_unit: Type.Optional(S3RetentionPeriodUnit),
  tags: Type.Optional(S3Tags),
});
export type CreateS3BucketInput = Static<typeof CreateS3BucketBody>;
export const UpdateS3BucketTagsBody = Type.Object({ tags: S3Tags });
export const S3BucketParam = Type.Object({ project_id: Type.String(), bucket_name: Type.String() });

/** A bucket as the API shows it: its S3 user is its account's, its URL the location's endpoint. */
export function renderS3Bucket(row: S3BucketRow): S3BucketWire {
  return {
    name: row.name,
    user_id: `S3U_${row.account_id.replace(/-/g, '')}`,
    project_id: row.project_id,
    location: row.location,
    versioning_state: row.versioning_state as S3BucketWire['versioning_state'],
    object_lock_enabled: row.object_lock_enabled === 1,
    ...(row.object_lock_enabled === 1 ? { retention_mode: 'governance' as const } : {}),
    ...(row.retention_period !== null ? { retention_period: Number(row.retention_period), retention_period_unit: (row.retention_period_unit ?? 'days') as 'days' | 'years' } : {}),
    tags: JSON.parse(row.tags) as Record<string, string>,
    s3_url: `https://object.${row.location}.hangar.test/${row.name}`,
    bucket_size: 0,
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
  };
}
