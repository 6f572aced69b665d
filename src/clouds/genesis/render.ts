import { jsonList, jsonText } from '../../http/json-text.js';
import { iso, toBool } from './model/context.js';
import type { InstanceWireView } from './model/instances.js';
import type { Page } from './model/pagination.js';
import type { FloatingIpView } from './model/floating-ips.js';
import type { VolumeView } from './model/volumes.js';
import type { FilesystemRow, SecurityGroupRow, SnapshotRow, SshKeyRow } from './tables.js';
import type { CatalogApplication, CatalogImage } from './catalog.js';
import type {
  CatalogEntryWire,
  FilesystemWire,
  FloatingIpWire,
  ImageWire,
  InstanceWire,
  SecurityGroupWire,
  SnapshotWire,
  SshKeyWire,
  VolumeWire,
} from './wire.js';

/** Stored rows to Genesis wire objects. */

export function renderInstance({ row, links }: InstanceWireView): InstanceWire {
  const of = (kind: string) => links.filter((l) => l.kind === kind).map((l) => ({ id: l.target_id, name: l.target_name }));
  return {
    id: row.id,
    name: row.name,
    hostname: row.hostname,
    dns_name: row.dns_name,
    reservation_id: row.reservation_id,
    type: row.type,
    os_type: row.os_type,
    public_ip: row.public_ip,
    public_ip_type: row.public_ip_type,
    private_ip: row.private_ip,
    status: row.status,
    ssh_keys: of('ssh_key'),
    image: { id: row.image_id, name: row.image_name },
    floating_ip: of('floating_ip')[0] ?? null,
    security_groups: of('security_group'),
    volumes: of('volume'),
    region: row.region,
    disk_size: Number(row.disk_size),
    placement_option: row.placement_option,
    is_protected: toBool(row.is_protected),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function renderSnapshot(row: SnapshotRow): SnapshotWire {
  return {
    id: row.id,
    name: row.name,
    size: Number(row.size),
    region: row.region,
    status: row.status,
    os_type: row.os_type,
    resource_id: row.resource_id,
    ...(row.source_instance_id ? { source_instance_id: row.source_instance_id } : {}),
    ...(row.source_snapshot_id ? { source_snapshot_id: row.source_snapshot_id } : {}),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function renderSshKey(row: SshKeyRow): SshKeyWire {
  return {
    id: row.id,
    name: row.name,
    value: row.value,
    fingerprint: row.fingerprint,
    type: row.type,
    size: Number(row.size),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function renderCatalogImage(image: CatalogImage): ImageWire {
  return {
    id: image.id,
    type: image.type,
    family: image.family,
    name: image.name,
    os_type: image.os_type,
    slug: image.slug,
    versions: image.versions,
    regions: image.regions,
    created_at: image.created_at,
    updated_at: image.updated_at,
  };
}

/** An account's snapshot as it appears among its images. */
export function renderSnapshotImage(row: SnapshotRow): ImageWire {
  return {
    id: row.id,
    type: 'snapshot',
    family: null,
    name: row.name,
    os_type: row.os_type,
    slug: null,
    versions: null,
    regions: [row.region],
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** A page under the resource's own key, with the pagination fields beside it. */
export function renderPage<T, W, K extends string>(key: K, page: Page<T>, render: (item: T) => W) {
  return { [key]: page.items.map(render), total_count: page.total, page: page.page, per_page: page.perPage } as {
    [P in K]: W[];
  } & { total_count: number; page: number; per_page: number };
}

/**
 * A page whose items are wire JSON already (a page of instances, see model/instance-json.ts),
 * as renderPage's text: bytes when the items are (texts kept between reads, see RowTexts).
 */
export function renderPageText(key: string, page: Page<string> | Page<Buffer>): string | Buffer {
  return jsonList(`{${JSON.stringify(key)}:[`, page.items, `],"total_count":${page.total},"page":${page.page},"per_page":${page.perPage}}`);
}

/** One resource whose wire JSON is kept as bytes (see RowTexts), under its key, as `{ [key]: render(…) }` is serialised. */
export function renderOneText(key: string, text: Buffer): string | Buffer {
  return jsonText([`{${JSON.stringify(key)}:`, text, '}']);
}

export function renderVolume({ row, instances }: VolumeView): VolumeWire {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    type: row.type,
    size: Number(row.size),
    region: row.region,
    instances,
    status: row.status,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function renderFilesystem(row: FilesystemRow): FilesystemWire {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    type: row.type,
    size: Number(row.size),
    region: row.region,
    status: row.status,
    mount_endpoint_range: row.mount_endpoint_range === null ? null : (JSON.parse(row.mount_endpoint_range) as string[]),
    mount_base_path: row.mount_base_path,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function renderSecurityGroup(row: SecurityGroupRow): SecurityGroupWire {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    is_internal: toBool(row.is_internal),
    region: row.region,
    status: row.status,
    rules: JSON.parse(row.rules) as SecurityGroupWire['rules'],
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function renderFloatingIp({ row, instance }: FloatingIpView): FloatingIpWire {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    ip_address: row.ip_address,
    is_public: true,
    version: row.version,
    region: row.region,
    status: row.status,
    instance,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** An application of the catalog, its images named (`image` finds a catalog image by id). */
export function renderApplication(app: CatalogApplication, image: (id: string) => { name: string } | undefined): CatalogEntryWire {
  return {
    id: app.id,
    name: app.name,
    description: app.description,
    logo_url: app.logo_url,
    requires_driver: app.requires_driver,
    base_image_ids: app.base_image_ids,
    images: app.image_ids.map((id) => ({ id, name: image(id)?.name ?? '' })),
    fields: app.fields,
    created_at: app.created_at,
    updated_at: app.updated_at,
  };
}
