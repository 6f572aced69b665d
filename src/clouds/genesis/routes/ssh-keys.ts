import type { App } from '../../../http/types.js';
import type { GenesisModel } from '../model/index.js';
import { pageRequest } from '../model/pagination.js';
import { renderPage, renderSshKey } from '../render.js';
import { CreateSshKeyBody, IdParam, page, PageQuery, PutSshKeyBody, SshKey, UpdateSshKeyBody } from '../wire.js';

const tags = ['SSH Keys'];
const Params = IdParam('ssh_key_id');

/** SSH key responses are the bare key object, as both Genesis clients expect. */
export function sshKeyRoutes(app: App, m: GenesisModel): void {
  app.get(
    '/ssh-keys',
    { schema: { querystring: PageQuery, response: { 200: page('ssh_keys', SshKey) } }, config: { doc: { operationId: 'ListSSHKeysPaginated', tags } } },
    async (req) => renderPage('ssh_keys', await m.sshKeys.list(req.accountId, pageRequest(req.query)), renderSshKey),
  );

  app.post(
    '/ssh-keys',
    { schema: { body: CreateSshKeyBody, response: { 201: SshKey } }, config: { doc: { operationId: 'CreateSSHKey', tags } } },
    async (req, reply) => reply.code(201).send(renderSshKey(await m.sshKeys.create(req.accountId, req.body))),
  );

  app.get(
    '/ssh-keys/:ssh_key_id',
    { schema: { params: Params, response: { 200: SshKey } }, config: { doc: { operationId: 'GetSSHKey', tags } } },
    async (req) => renderSshKey(await m.sshKeys.get(req.accountId, req.params.ssh_key_id)),
  );

  app.patch(
    '/ssh-keys/:ssh_key_id',
    { schema: { params: Params, body: UpdateSshKeyBody, response: { 200: SshKey } }, config: { doc: { operationId: 'UpdateSSHKey', tags } } },
    async (req) => renderSshKey(await m.sshKeys.rename(req.accountId, req.params.ssh_key_id, req.body.name)),
  );

  // The official 2023 spec's rename: PUT with the name (the clients PATCH).
  app.put(
    '/ssh-keys/:ssh_key_id',
    { schema: { params: Params, body: PutSshKeyBody, response: { 200: SshKey } }, config: { doc: { operationId: 'PutSSHKey', tags } } },
    async (req) => renderSshKey(await m.sshKeys.rename(req.accountId, req.params.ssh_key_id, req.body.name)),
  );

  app.delete(
    '/ssh-keys/:ssh_key_id',
    { schema: { params: Params }, config: { doc: { noContent: true, operationId: 'DeleteSSHKey', tags } } },
    async (req, reply) => {
      await m.sshKeys.delete(req.accountId, req.params.ssh_key_id);
      return reply.code(204).send();
    },
  );
}
