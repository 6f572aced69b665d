import type { App } from '../../../http/types.js';
import type { GenesisModel } from '../model/index.js';
import { pageRequest } from '../model/pagination.js';
import { renderPage } from '../render.js';
import { Image, ImagesQuery, page } from '../wire.js';

export function imageRoutes(app: App, m: GenesisModel): void {
  app.get(
    '/images',
    {
      schema: { querystring: ImagesQuery, response: { 200: page('images', Image) } },
      config: { doc: { operationId: 'ListImagesPaginated', summary: "List images (base OS, preconfigured, and the account's snapshots)", tags: ['Images'] } },
    },
    async (req) => renderPage('images', await m.images.list(req.accountId, req.query.type, pageRequest(req.query)), (i) => i),
  );
}
