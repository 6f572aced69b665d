import type { App } from '../../../http/types.js';
import type { GenesisModel } from '../model/index.js';
import { pageRequest } from '../model/pagination.js';
import { renderFloatingIp, renderPage, renderSecurityGroup } from '../render.js';
import {
  CreateFloatingIpBody,
  CreateSecurityGroupBody,
  FloatingIp,
  IdParam,
  page,
  PageQuery,
  PutSecurityGroupBody,
  SecurityGroup,
  single,
  UpdateFloatingIpBody,
  UpdateSecurityGroupBody,
} from '../wire.js';

/** Security groups and floating IPs. */
export function networkingRoutes(app: App, m: GenesisModel): void {
  securityGroupRoutes(app, m);
  floatingIpRoutes(app, m);
}

function securityGroupRoutes(app: App, m: GenesisModel): void {
  const sgTags = ['Security Groups'];
  const SgParams = IdParam('security_group_id');
  const OneSg = single('security_group', SecurityGroup);

  app.get(
    '/security-groups',
    {
      schema: { querystring: PageQuery, response: { 200: page('security_groups', SecurityGroup) } },
      config: { doc: { operationId: 'ListSecurityGroupsPaginated', summary: 'List security groups', tags: sgTags } },
    },
    async (req) => renderPage('security_groups', await m.securityGroups.list(req.accountId, pageRequest(req.query)), renderSecurityGroup),
  );
  app.post(
    '/security-groups',
    { schema: { body: CreateSecurityGroupBody, response: { 201: OneSg } }, config: { doc: { operationId: 'CreateSecurityGroup', summary: 'Create a security group', tags: sgTags } } },
    async (req, reply) => reply.code(201).send({ security_group: renderSecurityGroup(await m.securityGroups.create(req.accountId, req.body)) }),
  );
  app.get(
    '/security-groups/:security_group_id',
    { schema: { params: SgParams, response: { 200: OneSg } }, config: { doc: { operationId: 'GetSecurityGroup', summary: 'Get a security group', tags: sgTags } } },
    async (req) => ({ security_group: renderSecurityGroup(await m.securityGroups.get(req.accountId, req.params.security_group_id)) }),
  );
  app.patch(
    '/security-groups/:security_group_id',
    {
      schema: { params: SgParams, body: UpdateSecurityGroupBody, response: { 200: OneSg } },
      config: { doc: { operationId: 'UpdateSecurityGroup', summary: "Update a security group's name, description or rules", tags: sgTags } },
    },
    async (req) => ({
      security_group: renderSecurityGroup(await m.securityGroups.update(req.accountId, req.params.security_group_id, req.body)),
    }),
  );
  // The official 2023 spec's update: PUT with name and rules (the clients PATCH).
  app.put(
    '/security-groups/:security_group_id',
    {
      schema: { params: SgParams, body: PutSecurityGroupBody, response: { 200: OneSg } },
      config: { doc: { operationId: 'PutSecurityGroup', summary: "Replace a security group's name, description and rules", tags: sgTags } },
    },
    async (req) => ({
      security_group: renderSecurityGroup(await m.securityGroups.put(req.accountId, req.params.security_group_id, req.body)),
    }),
  );
  app.delete(
    '/security-groups/:security_group_id',
    { schema: { params: SgParams }, config: { doc: { operationId: 'DeleteSecurityGroup', summary: 'Delete a security group', tags: sgTags, noContent: true } } },
    async (req, reply) => {
      await m.securityGroups.delete(req.accountId, req.params.security_group_id);
      return reply.code(204).send();
    },
  );
}

function floatingIpRoutes(app: App, m: GenesisModel): void {
  const fipTags = ['Floating IPs'];
  const FipParams = IdParam('floating_ip_id');
  const OneFip = single('floating_ip', FloatingIp);

  app.get(
    '/floating-ips',
    {
      schema: { querystring: PageQuery, response: { 200: page('floating_ips', FloatingIp) } },
      config: { doc: { operationId: 'ListFloatingIPsPaginated', summary: 'List floating IPs', tags: fipTags } },
    },
    async (req) => renderPage('floating_ips', await m.floatingIps.list(req.accountId, pageRequest(req.query)), renderFloatingIp),
  );
  app.post(
    '/floating-ips',
    { schema: { body: CreateFloatingIpBody, response: { 201: OneFip } }, config: { doc: { operationId: 'CreateFloatingIP', summary: 'Reserve a floating IP', errors: { 403: 'Forbidden: the account reached its floating IP quota' }, tags: fipTags } } },
    async (req, reply) => reply.code(201).send({ floating_ip: renderFloatingIp(await m.floatingIps.create(req.accountId, req.body)) }),
  );
  app.get(
    '/floating-ips/:floating_ip_id',
    { schema: { params: FipParams, response: { 200: OneFip } }, config: { doc: { operationId: 'GetFloatingIP', summary: 'Get a floating IP', tags: fipTags } } },
    async (req) => ({ floating_ip: renderFloatingIp(await m.floatingIps.get(req.accountId, req.params.floating_ip_id)) }),
  );
  app.patch(
    '/floating-ips/:floating_ip_id',
    { schema: { params: FipParams, body: UpdateFloatingIpBody, response: { 200: OneFip } }, config: { doc: { operationId: 'UpdateFloatingIP', summary: 'Rename a floating IP', tags: fipTags } } },
    async (req) => ({ floating_ip: renderFloatingIp(await m.floatingIps.update(req.accountId, req.params.floating_ip_id, req.body)) }),
  );
  app.delete(
    '/floating-ips/:floating_ip_id',
    { schema: { params: FipParams }, config: { doc: { operationId: 'DeleteFloatingIP', summary: 'Release a floating IP', tags: fipTags, noContent: true } } },
    async (req, reply) => {
      await m.floatingIps.delete(req.accountId, req.params.floating_ip_id);
      return reply.code(204).send();
    },
  );
}
