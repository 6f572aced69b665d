import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The Genesis Cloud Compute v1 wire format: request bodies, query strings and responses, as
 * TypeBox schemas. Fastify validates requests and serializes responses with them, and the
 * served OpenAPI document is generated from them; tests check the responses against the
 * reference specification.
 */

/** A string that may be null. One JSON-schema type list keeps the serializer on its fast path. */
const NullableString = Type.Unsafe<string | null>({ type: ['string', 'null'] });
const Timestamp = Type.String({ format: 'date-time' });
const IdName = Type.Object({ id: Type.String(), name: Type.String() });

/** A string enum as JSON Schema's `enum`, so a wrong value is reported with the allowed ones. */
export function StringEnum<const T extends readonly string[]>(values: T) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
}

export const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() });

// ---------------------------------------------------------------------------------------
// Resources

export const Instance = Type.Object({
  id: Type.String(),
  name: Type.String(),
  hostname: Type.String(),
  dns_name: Type.String(),
  reservation_id: NullableString,
  type: Type.String(),
  os_type: Type.String(),
  public_ip: NullableString,
  /** `dynamic` (given back on stop) or `static` (kept); the official spec requires it. */
  public_ip_type: Type.String(),
  private_ip: NullableString,
  status: Type.String(),
  ssh_keys: Type.Array(IdName),
  image: IdName,
  floating_ip: Type.Unsafe<{ id: string; name: string } | null>({ ...IdName, type: ['object', 'null'] }),
  security_groups: Type.Array(IdName),
  volumes: Type.Array(IdName),
  region: Type.String(),
  disk_size: Type.Integer(),
  placement_option: Type.String(),
  is_protected: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type InstanceWire = Static<typeof Instance>;

export const Snapshot = Type.Object({
  id: Type.String(),
  name: Type.String(),
  size: Type.Integer(),
  region: Type.String(),
  status: Type.String(),
  os_type: Type.String(),
  resource_id: Type.String(),
  source_instance_id: Type.Optional(Type.String()),
  source_snapshot_id: Type.Optional(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type SnapshotWire = Static<typeof Snapshot>;

export const Image = Type.Object({
  id: Type.String(),
  type: Type.String(),
  family: NullableString,
  name: Type.String(),
  os_type: Type.String(),
  slug: NullableString,
  versions: Type.Unsafe<string[] | null>({ type: ['array', 'null'], items: { type: 'string' } }),
  regions: Type.Array(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type ImageWire = Static<typeof Image>;

export const SshKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  value: Type.String(),
  fingerprint: Type.String(),
  type: Type.String(),
  size: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type SshKeyWire = Static<typeof SshKey>;

export const Availability = Type.Object({
  availability: Type.Object({
    type: Type.String(),
    region: Type.String(),
    placement: Type.String(),
    instance_types: Type.Array(Type.Object({ type: Type.String(), available: Type.Boolean(), count: Type.Integer() })),
  }),
});

export const Quota = Type.Object({
  key: Type.String(),
  capacity: Type.Integer(),
  used: Type.Integer(),
  flavors: Type.Array(
    Type.Object({ flavor_name: Type.String(), product_name: Type.String(), unit: Type.String(), used: Type.Integer() }),
  ),
});

export const Reservation = Type.Object({
  id: Type.String(),
  flavor_name: Type.String(),
  region: Type.String(),
  quota: Type.Object({ capacity: Type.Integer(), used: Type.Integer() }),
  metadata: Type.Record(Type.String(), Type.Unknown()),
});

// ---------------------------------------------------------------------------------------
// Envelopes

export function single<K extends string, T extends TSchema>(key: K, schema: T) {
  return Type.Object({ [key]: schema } as { [P in K]: T });
}

export function page<K extends string, T extends TSchema>(key: K, schema: T) {
  return Type.Object({
    [key]: Type.Array(schema),
    total_count: Type.Integer(),
    page: Type.Integer(),
    per_page: Type.Integer(),
  } as { [P in K]: ReturnType<typeof Type.Array<T>> } & {
    total_count: ReturnType<typeof Type.Integer>;
    page: ReturnType<typeof Type.Integer>;
    per_page: ReturnType<typeof Type.Integer>;
  });
}

// ---------------------------------------------------------------------------------------
// Requests

export const PageQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
});
export type PageQueryInput = Static<typeof PageQuery>;

export const ImagesQuery = Type.Object({
  ...PageQuery.properties,
  type: Type.Optional(StringEnum(['base-os', 'preconfigured', 'snapshot', 'cloud-image'])),
});

export const IdParam = <K extends string>(name: K) => Type.Object({ [name]: Type.String() } as { [P in K]: ReturnType<typeof Type.String> });

const Name = Type.String({ minLength: 1, maxLength: 255 });

export const CreateInstanceBody = Type.Object({
  name: Name,
  hostname: Type.String({ minLength: 1 }),
  type: Type.String({ minLength: 1 }),
  image: Type.String({ minLength: 1 }),
  /** Optional, as in the official spec: the catalog's default region (ARC-IS-HAF-1) otherwise. */
  region: Type.Optional(Type.String({ minLength: 1 })),
  reservation_id: Type.Optional(Type.String()),
  ssh_keys: Type.Optional(Type.Array(Type.String())),
  security_groups: Type.Optional(Type.Array(Type.String())),
  volumes: Type.Optional(Type.Array(Type.String())),
  password: Type.Optional(Type.String()),
  placement_option: Type.Optional(Type.String()),
  is_protected: Type.Optional(Type.Boolean()),
  destroy_on_shutdown: Type.Optional(Type.Boolean()),
  public_ipv6: Type.Optional(Type.Boolean()),
  public_ip_type: Type.Optional(StringEnum(['static', 'dynamic'])),
  floating_ip: Type.Optional(Type.String()),
  billing_type: Type.Optional(
    StringEnum(['on-demand', 'prepaid-monthly', 'prepaid-3-month', 'prepaid-6-month', 'prepaid-12-month', 'reserved']),
  ),
  reuse_long_term_subscription: Type.Optional(Type.String()),
  disk_size: Type.Optional(Type.Integer()),
  metadata: Type.Optional(
    Type.Object({
      startup_script: Type.Optional(Type.String()),
      user_data: Type.Optional(
        Type.Array(Type.Object({ type: Type.String(), filename: Type.Optional(Type.String()), content: Type.String() })),
      ),
    }),
  ),
});
export type CreateInstanceInput = Static<typeof CreateInstanceBody>;

/** `security_groups` / `volumes` in a PATCH: a full list, or `{attach: id}` / `{detach: id}`. Checked in code for clear messages. */
const ListChange = Type.Unsafe<string[] | { attach: string } | { detach: string }>({ type: ['array', 'object'] });

export const UpdateInstanceBody = Type.Object({
  name: Type.Optional(Name),
  is_protected: Type.Optional(Type.Boolean()),
  reservation_id: Type.Optional(NullableString),
  security_groups: Type.Optional(ListChange),
  volumes: Type.Optional(ListChange),
  disk_size: Type.Optional(Type.Integer()),
  /** Attaches a floating IP (its id) or detaches it (null). Not in the clients; Hangar's way to move one. */
  floating_ip: Type.Optional(NullableString),
});
export type UpdateInstanceInput = Static<typeof UpdateInstanceBody>;

export const InstanceActionBody = Type.Object({
  action: StringEnum(['start', 'stop', 'reset']),
});

export const Actions = Type.Object({ actions: Type.Array(Type.String()) });

export const CreateInstanceSnapshotBody = Type.Object({
  name: Name,
  replicated_region: Type.Optional(Type.String()),
});

export const CreateSnapshotBody = Type.Object({
  name: Name,
  size: Type.Integer(),
  url: Type.String({ minLength: 1 }),
  os_type: Type.Optional(StringEnum(['linux', 'windows'])),
  region: Type.String({ minLength: 1 }),
});
export type CreateSnapshotInput = Static<typeof CreateSnapshotBody>;

export const UpdateSnapshotBody = Type.Object({ name: Type.Optional(Name) });
export const CloneSnapshotBody = Type.Object({ name: Name, region: Type.String({ minLength: 1 }) });

export const CreateSshKeyBody = Type.Object({ name: Name, value: Type.String({ minLength: 1 }) });
export const UpdateSshKeyBody = Type.Object({ name: Type.Optional(Name) });
/** The official 2023 spec's PUT: the new name, required. */
export const PutSshKeyBody = Type.Object({ name: Name });

export const AvailabilityQuery = Type.Object({ placement: Type.Optional(Type.String()) });
export const RegionParam = Type.Object({ region: Type.String() });

/** The free-form metadata object an instance was created with. */
export const UserMetadata = Type.Record(Type.String(), Type.Unknown());

// ---------------------------------------------------------------------------------------
// Volumes, filesystems, security groups, floating IPs

export const Volume = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  type: Type.String(),
  size: Type.Integer(),
  region: Type.String(),
  instances: Type.Array(IdName),
  status: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type VolumeWire = Static<typeof Volume>;

export const CreateVolumeBody = Type.Object({
  name: Name,
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  type: Type.Optional(StringEnum(['ssd', 'hdd'])),
  size: Type.Integer(),
  /** Optional, as in the official spec (see CreateInstanceBody). */
  region: Type.Optional(Type.String({ minLength: 1 })),
});
export type CreateVolumeInput = Static<typeof CreateVolumeBody>;
export const UpdateVolumeBody = Type.Object({
  name: Type.Optional(Name),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  size: Type.Optional(Type.Integer()),
});
export type UpdateVolumeInput = Static<typeof UpdateVolumeBody>;
/** The official 2023 spec's PUT: name and description, both required. */
export const PutVolumeBody = Type.Object({ name: Name, description: Type.String({ maxLength: 1024 }) });
export type PutVolumeInput = Static<typeof PutVolumeBody>;

export const Filesystem = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  type: Type.String(),
  size: Type.Integer(),
  region: Type.String(),
  status: Type.String(),
  mount_endpoint_range: Type.Unsafe<string[] | null>({ type: ['array', 'null'], items: { type: 'string' } }),
  mount_base_path: NullableString,
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type FilesystemWire = Static<typeof Filesystem>;

export const CreateFilesystemBody = Type.Object({
  name: Name,
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  type: Type.Optional(StringEnum(['vast'])),
  size: Type.Integer(),
  region: Type.String({ minLength: 1 }),
});
export type CreateFilesystemInput = Static<typeof CreateFilesystemBody>;
export const UpdateFilesystemBody = UpdateVolumeBody;

/**
 * A firewall rule. `remote_ip_prefix` (the CIDR the rule applies to, default everywhere) is
 * Hangar's addition in the name OpenStack, on which Genesis is built, gives it.
 */
export const SecurityGroupRule = Type.Object({
  protocol: Type.String(),
  direction: Type.String(),
  port_range_min: Type.Unsafe<number | null>({ type: ['integer', 'null'] }),
  port_range_max: Type.Unsafe<number | null>({ type: ['integer', 'null'] }),
  remote_ip_prefix: Type.String(),
});

export const SecurityGroup = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  is_internal: Type.Boolean(),
  region: Type.String(),
  status: Type.String(),
  rules: Type.Array(SecurityGroupRule),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type SecurityGroupWire = Static<typeof SecurityGroup>;

/** Rules are checked in code, so that every problem with one is reported as 02028. */
const RulesInput = Type.Unsafe<unknown[]>({ type: 'array' });

export const CreateSecurityGroupBody = Type.Object({
  name: Name,
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  /** Optional, as in the official spec (see CreateInstanceBody). */
  region: Type.Optional(Type.String({ minLength: 1 })),
  rules: RulesInput,
});
export type CreateSecurityGroupInput = Static<typeof CreateSecurityGroupBody>;
export const UpdateSecurityGroupBody = Type.Object({
  name: Type.Optional(Name),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  rules: Type.Optional(RulesInput),
});
export type UpdateSecurityGroupInput = Static<typeof UpdateSecurityGroupBody>;
/** The official 2023 spec's PUT: name and rules required (at least one rule), description optional. */
export const PutSecurityGroupBody = Type.Object({
  name: Name,
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  rules: RulesInput,
});
export type PutSecurityGroupInput = Static<typeof PutSecurityGroupBody>;

export const FloatingIp = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  ip_address: NullableString,
  is_public: Type.Boolean(),
  version: Type.String(),
  region: Type.String(),
  status: Type.String(),
  instance: Type.Unsafe<{ id: string; name: string } | null>({ ...IdName, type: ['object', 'null'] }),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type FloatingIpWire = Static<typeof FloatingIp>;

export const CreateFloatingIpBody = Type.Object({
  name: Name,
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  region: Type.String({ minLength: 1 }),
  version: Type.Optional(StringEnum(['ipv4'])),
});
export type CreateFloatingIpInput = Static<typeof CreateFloatingIpBody>;
export const UpdateFloatingIpBody = Type.Object({
  name: Type.Optional(Name),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
});

// ---------------------------------------------------------------------------------------
// The application catalog (GET /catalog): the JS client's Catalog type

export const CatalogEntry = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  logo_url: Type.String(),
  requires_driver: Type.Boolean(),
  base_image_ids: Type.Array(Type.String()),
  images: Type.Array(IdName),
  fields: Type.Array(Type.Object({ key: Type.String(), label: Type.String(), type: Type.String(), env: Type.String() })),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type CatalogEntryWire = Static<typeof CatalogEntry>;
