import { Type } from '@sinclair/typebox';
import type { App } from '../http/types.js';
import type { Kernel } from '../kernel/kernel.js';
import { ACCOUNT_STANDINGS, CredentialOptionError, type AccountStanding } from '../kernel/tenancy/accounts.js';
import { AccountParams, invalid, notFound, type AdminDeps } from './common.js';

/** Accounts: create, list, get and delete them, their credentials and their standing. */
export function accountRoutes(app: App, deps: AdminDeps): void {
  const { kernel } = deps;
  app.post('/accounts', { config: { doc: { operationId: 'createAccount', summary: 'Create an account (prints its credentials for every cloud)', tags: ['Accounts'] } }, schema: { body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }) } }, async (req, reply) =>
    reply.code(201).send(await deps.createAccount(req.body.name)),
  );
  app.get('/accounts', { config: { doc: { operationId: 'listAccounts', summary: 'List accounts and their credentials (ids only, never secrets)', tags: ['Accounts'] } } }, async () => ({
    accounts: await Promise.all((await kernel.tenancy.list()).map((a) => describeAccount(kernel, a.id, a.name, a.createdAt, a.standing))),
  }));
  app.get('/accounts/:account_id', { config: { doc: { operationId: 'getAccount', summary: 'Get an account', tags: ['Accounts'] } }, schema: { params: AccountParams } }, async (req) => {
    const account = await kernel.tenancy.get(req.params.account_id);
    if (!account) throw notFound('account', req.params.account_id);
    return describeAccount(kernel, account.id, account.name, account.createdAt, account.standing);
  });
  app.delete('/accounts/:account_id', { config: { doc: { operationId: 'deleteAccount', summary: 'Delete an account and everything it owns', tags: ['Accounts'], noContent: true } }, schema: { params: AccountParams } }, async (req, reply) => {
    if (!(await kernel.deleteAccount(req.params.account_id))) throw notFound('account', req.params.account_id);
    return reply.code(204).send();
  });
  app.post(
    '/accounts/:account_id/credentials',
    {
      config: { doc: { operationId: 'issueCredential', summary: "Issue one more credential of a cloud's kind to an account", tags: ['Accounts'] } },
      schema: {
        params: AccountParams,
        // read_only: a credential that may read but not change anything (where the cloud has such credentials)
        body: Type.Object({ cloud: Type.String(), read_only: Type.Optional(Type.Boolean()) }),
      },
    },
    async (req, reply) => {
      if (!(await kernel.tenancy.get(req.params.account_id))) throw notFound('account', req.params.account_id);
      const { cloud, ...options } = req.body;
      let issued: Record<string, unknown> | undefined;
      try {
        issued = await kernel.tenancy.issueCredential(req.params.account_id, cloud, options);
      } catch (error) {
        if (error instanceof CredentialOptionError) throw invalid(error.message);
        throw error;
      }
      if (!issued) throw invalid(`"cloud" must be one of: ${kernel.tenancy.clouds().join(', ')}`);
      return reply.code(201).send({ cloud, ...issued });
    },
  );
  // What the operator says of an account: its clouds refuse it (or only its creates) with their own errors.
  const standingView = (id: string, standing: AccountStanding) => ({ account_id: id, standing });
  app.get('/accounts/:account_id/standing', { config: { doc: { operationId: 'getStanding', summary: "An account's standing (active, or refused by its clouds)", tags: ['Accounts'] } }, schema: { params: AccountParams } }, async (req) => {
    const account = await kernel.tenancy.get(req.params.account_id);
    if (!account) throw notFound('account', req.params.account_id);
    return standingView(account.id, account.standing);
  });
  app.put(
    '/accounts/:account_id/standing',
    { config: { doc: { operationId: 'setStanding', summary: "Set an account's standing: its clouds refuse it (or only its creates) with their own errors", tags: ['Accounts'] } }, schema: { params: AccountParams, body: Type.Object({ standing: Type.Unsafe<AccountStanding>({ type: 'string', enum: [...ACCOUNT_STANDINGS] }) }) } },
    async (req) => {
      if (!(await kernel.tenancy.setStanding(req.params.account_id, req.body.standing))) throw notFound('account', req.params.account_id);
      return standingView(req.params.account_id, req.body.standing);
    },
  );
  app.delete(
    '/accounts/:account_id/credentials/:credential_id',
    { config: { doc: { operationId: 'revokeCredential', summary: 'Revoke a credential at once', tags: ['Accounts'], noContent: true } }, schema: { params: Type.Object({ account_id: Type.String(), credential_id: Type.String() }) } },
    async (req, reply) => {
      if (!(await kernel.tenancy.revokeCredential(req.params.account_id, req.params.credential_id))) {
        throw notFound('credential', req.params.credential_id);
      }
      return reply.code(204).send();
    },
  );
}

async function describeAccount(kernel: Kernel, id: string, name: string, createdAt: number, standing: AccountStanding) {
  return {
    id,
    name,
    standing,
    created_at: new Date(createdAt).toISOString(),
    credentials: (await kernel.tenancy.credentials(id)).map((c) => ({
      id: c.id,
      cloud: c.cloud,
      kind: c.kind,
      label: c.label,
      created_at: new Date(c.createdAt).toISOString(),
      expires_at: c.expiresAt === null ? null : new Date(c.expiresAt).toISOString(),
    })),
  };
}
