import type { ImageWire } from '../wire.js';
import { renderCatalogImage, renderSnapshotImage } from '../render.js';
import type { GenesisContext } from './context.js';
import type { Page, PageRequest } from './pagination.js';
import type { Snapshots } from './snapshots.js';

export type ImageType = 'base-os' | 'preconfigured' | 'snapshot' | 'cloud-image';

/**
 * Images: the catalog's public ones, then the account's usable snapshots as images of type
 * `snapshot` (visible to that account only).
 */
export class Images {
  private readonly publicImages: ImageWire[];

  constructor(
    ctx: GenesisContext,
    private readonly snapshots: Snapshots,
  ) {
    this.publicImages = ctx.catalog.images.map(renderCatalogImage);
  }

  async list(accountId: string, type: ImageType | undefined, request: PageRequest): Promise<Page<ImageWire>> {
    const pub = type === undefined ? this.publicImages : this.publicImages.filter((i) => i.type === type);
    const own = type === undefined || type === 'snapshot' ? (await this.snapshots.usable(accountId)).map(renderSnapshotImage) : [];
    const all = [...pub, ...own];
    const start = (request.page - 1) * request.perPage;
    return { items: all.slice(start, start + request.perPage), total: all.length, page: request.page, perPage: request.perPage };
  }
}
