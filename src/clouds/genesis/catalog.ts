import { Type, type Static } from '@sinclair/typebox';
import { loadCatalogFile } from '../../kernel/catalog.js';

const Timestamp = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' });

const CatalogSchema = Type.Object({
  format: Type.Literal(1),
  /** Where instances, volumes and security groups go when a create names no region (the official spec's default). */
  default_region: Type.Optional(Type.String({ minLength: 1 })),
  regions: Type.Array(
    Type.Object({
      id: Type.String({ minLength: 1 }),
      private_cidr: Type.String(),
      public_cidr: Type.String(),
      /** Addresses of filesystem mount endpoints. */
      storage_cidr: Type.String(),
      volume_types: Type.Array(Type.Union([Type.Literal('ssd'), Type.Literal('hdd')])),
      filesystems: Type.Boolean(),
    }),
    { minItems: 1 },
  ),
  placement_options: Type.Array(Type.String(), { minItems: 1 }),
  instance_types: Type.Array(
    Type.Object({
      id: Type.String({ minLength: 1 }),
      vcpus: Type.Integer({ minimum: 1 }),
      memory_gib: Type.Integer({ minimum: 1 }),
      gpu: Type.Union([
        Type.Object({ vendor: Type.String(), model: Type.String(), count: Type.Integer({ minimum: 1 }) }),
        Type.Null(),
      ]),
      /**
       * `legacy`: the seed era's types (`…_disk-80g_…`), still sold; `legacy-large-disk`: legacy
       * types with a larger fixed disk, which the API refuses (02017).
       */
      era: Type.Union([Type.Literal('current'), Type.Literal('legacy'), Type.Literal('legacy-large-disk')]),
      /** Sold only with long-term (prepaid) billing: on-demand is refused (02045). */
      long_term_only: Type.Optional(Type.Boolean()),
      /** Units in stock per region; a type is sold only in the regions listed. */
      stock: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
    }),
  ),
  images: Type.Array(
    Type.Object({
      id: Type.String({ minLength: 1 }),
      name: Type.String(),
      type: Type.Union([Type.Literal('base-os'), Type.Literal('preconfigured'), Type.Literal('cloud-image')]),
      family: Type.Union([Type.String(), Type.Null()]),
      slug: Type.Union([Type.String(), Type.Null()]),
      versions: Type.Union([Type.Array(Type.String()), Type.Null()]),
      os_type: Type.Union([Type.Literal('linux'), Type.Literal('windows')]),
      regions: Type.Array(Type.String()),
      /** What an instance type must have to run the image (e.g. an NVIDIA GPU for CUDA images). */
      requires: Type.Optional(Type.Object({ gpu_vendor: Type.Optional(Type.String()) })),
      created_at: Timestamp,
      updated_at: Timestamp,
    }),
  ),
  /**
   * The application catalog (GET /catalog, the JS client's listCatalog): ready-made setups,
   * each offered as preconfigured images built on base images, with the settings it asks for.
   */
  applications: Type.Optional(
    Type.Array(
      Type.Object({
        id: Type.String({ minLength: 1 }),
        name: Type.String(),
        description: Type.String(),
        logo_url: Type.String(),
        requires_driver: Type.Boolean(),
        base_image_ids: Type.Array(Type.String()),
        image_ids: Type.Array(Type.String()),
        fields: Type.Array(Type.Object({ key: Type.String(), label: Type.String(), type: Type.String(), env: Type.String() })),
        created_at: Timestamp,
        updated_at: Timestamp,
      }),
    ),
  ),
});

export type CatalogData = Static<typeof CatalogSchema>;
export type Region = CatalogData['regions'][number];
export type InstanceType = CatalogData['instance_types'][number];
export type CatalogImage = CatalogData['images'][number];
export type CatalogApplication = NonNullable<CatalogData['applications']>[number];

/** The official spec's default region for creates that name none. */
export const SPEC_DEFAULT_REGION = 'ARC-IS-HAF-1';

export const defaultCatalogPath = new URL('./data/catalog.json', import.meta.url);

/** The Genesis catalog: regions, instance types with their stock, and public images. */
export class GenesisCatalog {
  readonly regions: ReadonlyMap<string, Region>;
  readonly types: ReadonlyMap<string, InstanceType>;
  readonly images: readonly CatalogImage[];
  readonly placementOptions: readonly string[];
  /** Where a create that names no region goes. */
  readonly defaultRegion: string;
  readonly applications: readonly CatalogApplication[];
  private readonly imagesById: ReadonlyMap<string, CatalogImage>;
  private readonly imagesBySlug: ReadonlyMap<string, CatalogImage>;

  constructor(data: CatalogData) {
    this.regions = new Map(data.regions.map((r) => [r.id, r]));
    this.types = new Map(data.instance_types.map((t) => [t.id, t]));
    this.images = [...data.images].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
    this.imagesById = new Map(data.images.map((i) => [i.id, i]));
    this.imagesBySlug = new Map(data.images.filter((i) => i.slug).map((i) => [i.slug!, i]));
    this.placementOptions = data.placement_options;
    for (const type of data.instance_types) {
      for (const region of Object.keys(type.stock)) {
        if (!this.regions.has(region)) throw new Error(`catalog: type ${type.id} is stocked in unknown region ${region}`);
      }
    }
    // A replacement catalog without the spec's default region defaults to its first region.
    this.defaultRegion = data.default_region ?? (this.regions.has(SPEC_DEFAULT_REGION) ? SPEC_DEFAULT_REGION : data.regions[0]!.id);
    if (!this.regions.has(this.defaultRegion)) throw new Error(`catalog: default_region ${this.defaultRegion} is not one of its regions`);
    this.applications = data.applications ?? [];
    for (const app of this.applications) {
      const unknown = [...app.base_image_ids, ...app.image_ids].find((id) => !this.imagesById.has(id));
      if (unknown !== undefined) throw new Error(`catalog: application ${app.id} names unknown image ${unknown}`);
    }
  }

  /** An image of the catalog by id (no slugs). */
  imageById(id: string): CatalogImage | undefined {
    return this.imagesById.get(id);
  }

  static load(path: string | URL = defaultCatalogPath): GenesisCatalog {
    return new GenesisCatalog(loadCatalogFile(path, CatalogSchema));
  }

  /** An image by id, by slug (its newest version) or by `slug:version`. */
  findImage(reference: string): CatalogImage | undefined {
    const byId = this.imagesById.get(reference);
    if (byId) return byId;
    const colon = reference.lastIndexOf(':');
    if (colon < 0) return this.imagesBySlug.get(reference);
    const image = this.imagesBySlug.get(reference.slice(0, colon));
    const version = reference.slice(colon + 1);
    return image?.versions?.includes(version) ? image : undefined;
  }

  /** Why `image` cannot run on `type`, or null when it can. */
  incompatibility(image: Pick<CatalogImage, 'requires' | 'name'>, type: InstanceType): string | null {
    const vendor = image.requires?.gpu_vendor;
    if (vendor && type.gpu?.vendor !== vendor) {
      return `the image "${image.name}" needs an ${vendor.toUpperCase()} GPU, which instance type ${type.id} does not have`;
    }
    return null;
  }
}
