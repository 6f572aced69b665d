import { Type, type Static } from '@sinclair/typebox';
import { loadCatalogFile } from '../../kernel/catalog.js';

const Timestamp = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' });

const CatalogSchema = Type.Object({
  format: Type.Literal(1),
  locations: Type.Array(
    Type.Object({
      id: Type.String({ minLength: 1 }),
      /** Where the VMs' private addresses come from. */
      private_cidr: Type.String(),
      /** Where their public addresses come from. */
      public_cidr: Type.String(),
    }),
    { minItems: 1 },
  ),
  /** The image a VM boots when its create request names none (`name:tag`). */
  default_image: Type.String({ minLength: 1 }),
  /** Size of the boot disk every VM gets, in GiB. */
  os_disk_gib: Type.Integer({ minimum: 1 }),
  vm_types: Type.Array(
    Type.Object({
      product_name: Type.String({ minLength: 1 }),
      description: Type.String(),
      cpu_cores: Type.Integer({ minimum: 1 }),
      cpu_type: Type.String(),
      memory_gb: Type.Integer({ minimum: 1 }),
      memory_type: Type.String(),
      /** Ephemeral local disk, 0 when the type has none. */
      disk_gb: Type.Integer({ minimum: 0 }),
      disk_type: Type.String(),
      gpu_type: Type.String(),
      num_gpu: Type.Integer({ minimum: 0 }),
      /** Whether VMs of the type join an InfiniBand partition (host channel adapters). */
      infiniband: Type.Boolean(),
      /** Units in stock per location; a type is sold only in the locations listed. */
      stock: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
    }),
    { minItems: 1 },
  ),
  images: Type.Array(
    Type.Object({
      id: Type.String({ minLength: 1 }),
      name: Type.String({ minLength: 1 }),
      description: Type.String(),
      tags: Type.Array(Type.String(), { minItems: 1 }),
      locations: Type.Array(Type.String()),
      created_at: Timestamp,
      /** The product groups (`a100`, `h100`, `c1a`: a type's name up to its first "-" or ".") the image suits; absent: every group. */
      product_groups: Type.Optional(Type.Array(Type.String())),
    }),
  ),
  ib_networks: Type.Array(
    Type.Object({ id: Type.String({ minLength: 1 }), name: Type.String(), location: Type.String() }),
  ),
});

export type CatalogData = Static<typeof CatalogSchema>;
export type Location = CatalogData['locations'][number];
export type VmType = CatalogData['vm_types'][number];
export type CatalogImage = CatalogData['images'][number];
export type IbNetwork = CatalogData['ib_networks'][number];

/** A VM type's product group: its name up to the first "-" or "." (`a100-80gb-sxm-ib.8x` is in `a100`). */
export const productGroupOf = (productName: string): string => /^[^-.]+/.exec(productName)![0];

export const defaultCatalogPath = new URL('./data/catalog.json', import.meta.url);

/**
 * The Crusoe catalog: locations, VM types with their stock, public images and InfiniBand
 * networks. Loaded and indexed once at start-up.
 */
export class CrusoeCatalog {
  readonly locations: ReadonlyMap<string, Location>;
  readonly types: ReadonlyMap<string, VmType>;
  readonly images: readonly CatalogImage[];
  readonly ibNetworks: ReadonlyMap<string, IbNetwork>;
  readonly defaultImage: string;
  readonly osDiskGib: number;
  private readonly imagesById: ReadonlyMap<string, CatalogImage>;
  /** `name:tag` → image, for every tag of every image. */
  private readonly imagesByRef: ReadonlyMap<string, CatalogImage>;

  constructor(data: CatalogData) {
    this.locations = new Map(data.locations.map((l) => [l.id, l]));
    this.types = new Map(data.vm_types.map((t) => [t.product_name, t]));
    this.images = [...data.images].sort((a, b) => a.name.localeCompare(b.name) || a.created_at.localeCompare(b.created_at));
    this.imagesById = new Map(data.images.map((i) => [i.id, i]));
    const byRef = new Map<string, CatalogImage>();
    for (const image of data.images) for (const tag of image.tags) byRef.set(`${image.name}:${tag}`, image);
    this.imagesByRef = byRef;
    this.ibNetworks = new Map(data.ib_networks.map((n) => [n.id, n]));
    this.osDiskGib = data.os_disk_gib;
    this.defaultImage = data.default_image;
    for (const type of data.vm_types) {
      for (const location of Object.keys(type.stock)) {
        if (!this.locations.has(location)) throw new Error(`catalog: type ${type.product_name} is stocked in unknown location ${location}`);
      }
    }
    for (const image of data.images) {
      for (const location of image.locations) {
        if (!this.locations.has(location)) throw new Error(`catalog: image ${image.name} lists unknown location ${location}`);
      }
    }
    for (const network of data.ib_networks) {
      if (!this.locations.has(network.location)) throw new Error(`catalog: IB network ${network.name} is in unknown location ${network.location}`);
    }
    if (!this.findImage(this.defaultImage)) throw new Error(`catalog: default_image ${this.defaultImage} is not an image`);
  }

  static load(path: string | URL = defaultCatalogPath): CrusoeCatalog {
    return new CrusoeCatalog(loadCatalogFile(path, CatalogSchema));
  }

  /**
   * An image by id, by `name:tag`, or by bare name (its `latest` tag); also by the seed's
   * `distribution:version` spelling (`ubuntu:20.04` is `ubuntu20.04:latest`).
   */
  findImage(reference: string): CatalogImage | undefined {
    const found = this.imagesById.get(reference) ?? this.imagesByRef.get(reference.includes(':') ? reference : `${reference}:latest`);
    if (found) return found;
    const seed = /^([a-z][a-z-]*):(\d+(?:\.\d+)*)$/.exec(reference);
    return seed ? this.imagesByRef.get(`${seed[1]}${seed[2]}:latest`) : undefined;
  }

  getImage(id: string): CatalogImage | undefined {
    return this.imagesById.get(id);
  }

  /** Where a VM of this type goes when the request names no location (the seed's requests do not). */
  defaultLocation(type: VmType): string {
    for (const location of this.locations.keys()) if (type.stock[location] !== undefined) return location;
    return [...this.locations.keys()][0]!;
  }

  /** Every product group of the catalog's types, the values `?product_group=` takes. */
  productGroups(): string[] {
    return [...new Set([...this.types.keys()].map(productGroupOf))].sort();
  }

  /** The IB network of a location, if it has one. */
  ibNetworkIn(location: string): IbNetwork | undefined {
    for (const network of this.ibNetworks.values()) if (network.location === location) return network;
    return undefined;
  }
}
