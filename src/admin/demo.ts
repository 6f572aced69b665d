import type { App } from '../http/types.js';
import { notFound, type AdminDeps } from './common.js';

/** The demo account's credentials. */
export function demoRoutes(app: App, deps: AdminDeps): void {
  app.get('/demo', { config: { doc: { operationId: 'getDemo', summary: "The demo account's credentials and the URLs to use them with", tags: ['Accounts'] } } }, async (req) => {
    const { accountId, credentials } = deps.demo();
    if (accountId === null) throw notFound('account', 'demo');
    const base = `${req.protocol}://${req.host}`;
    const names = deps.clouds.map((c) => c.name);
    const clouds = Object.fromEntries(deps.clouds.map(({ name, prefix }) => [name, { ...(credentials[name] ?? {}), url: `${base}${prefix}` }]));
    return { account_id: accountId, credentials_known: names.every((c) => Object.keys(credentials[c] ?? {}).length > 0), ...clouds };
  });
}
