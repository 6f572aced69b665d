import type { App } from '../../../http/types.js';
import type { CrusoeModel } from '../model/index.js';
import { renderIdentity, renderIssuedKey, renderSshKey, renderToken } from '../render.js';
import {
  AccessKeyQuery,
  CreateSshKeyBody,
  CreateTokenBody,
  IdQuery,
  SshKeyEnvelope,
  SshKeyList,
  TokenEnvelope,
  TokenList,
  UpdateIdentityBody,
  UserResponse,
} from '../wire.js';

/** /users: the caller's identity, SSH keys and API tokens. */
export function userRoutes(app: App, m: CrusoeModel): void {
  app.get(
    '/users/identities',
    { schema: { response: { 200: UserResponse } }, config: { doc: { operationId: 'getUserIdentity', summary: "The caller's identity", tags: ['Users'] } } },
    async (req) => renderIdentity(await m.organizations.identity(req.accountId)),
  );

  app.put(
    '/users/identities',
    { schema: { body: UpdateIdentityBody, response: { 200: UserResponse } }, config: { doc: { operationId: 'updateUserIdentity', summary: "Update the caller's identity", tags: ['Users'] } } },
    async (req) => renderIdentity(await m.organizations.updateIdentity(req.accountId, req.body)),
  );

  app.get(
    '/users/ssh-keys',
    { schema: { response: { 200: SshKeyList } }, config: { doc: { operationId: 'getSSHKeys', summary: "List the caller's SSH keys", tags: ['SSH Keys'] } } },
    async (req) => ({ items: (await m.sshKeys.list(req.accountId)).map(renderSshKey) }),
  );

  app.post(
    '/users/ssh-keys',
    { schema: { body: CreateSshKeyBody, response: { 200: SshKeyEnvelope } }, config: { doc: { operationId: 'createSSHKey', summary: 'Add an SSH key', tags: ['SSH Keys'] } } },
    async (req) => ({ ssh_key: renderSshKey(await m.sshKeys.create(req.accountId, req.body)) }),
  );

  app.delete(
    '/users/ssh-keys',
    { schema: { querystring: IdQuery }, config: { doc: { operationId: 'deleteSSHKey', summary: 'Delete an SSH key', emptyOk: true, tags: ['SSH Keys'] } } },
    async (req, reply) => {
      await m.sshKeys.delete(req.accountId, req.query.id);
      return reply.code(200).send();
    },
  );

  app.get(
    '/users/tokens',
    { schema: { response: { 200: TokenList } }, config: { doc: { operationId: 'getTokens', summary: "List the caller's API tokens", tags: ['Tokens'] } } },
    async (req) => ({ items: (await m.tokens.list(req.accountId)).map(renderToken) }),
  );

  app.post(
    '/users/tokens',
    { schema: { body: CreateTokenBody, response: { 200: TokenEnvelope } }, config: { doc: { operationId: 'createToken', summary: 'Create an API token (its secret is shown once)', tags: ['Tokens'] } } },
    async (req) => ({ token: renderIssuedKey(await m.tokens.create(req.accountId, req.body)) }),
  );

  app.delete(
    '/users/tokens',
    { schema: { querystring: AccessKeyQuery }, config: { doc: { operationId: 'deleteToken', summary: 'Delete an API token', emptyOk: true, tags: ['Tokens'] } } },
    async (req, reply) => {
      await m.tokens.delete(req.accountId, req.query.access_key);
      return reply.code(200).send();
    },
  );
}
