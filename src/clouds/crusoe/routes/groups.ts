import type { App } from '../../../http/types.js';
import type { CrusoeModel } from '../model/index.js';
import { renderGroup } from '../render.js';
import { CreateGroupBody, InstanceGroup, InstanceGroupList, ProjectIdParam, ProjectParam, UpdateGroupBody } from '../wire.js';

const tags = ['Instance Groups'];
const base = '/projects/:project_id/compute/instance-groups';

export function groupRoutes(app: App, m: CrusoeModel): void {
  app.get(
    base,
    { schema: { params: ProjectParam, response: { 200: InstanceGroupList } }, config: { doc: { operationId: 'listInstanceGroups', summary: 'List instance groups', tags } } },
    async (req) => ({ items: (await m.groups.list(req.params.project_id)).map(renderGroup) }),
  );

  app.post(
    base,
    { schema: { params: ProjectParam, body: CreateGroupBody, response: { 200: InstanceGroup } }, config: { doc: { operationId: 'createInstanceGroup', summary: 'Create an instance group', tags } } },
    async (req) => renderGroup(await m.groups.create(req.accountId, req.params.project_id, req.body)),
  );

  app.get(
    `${base}/:instance_group_id`,
    { schema: { params: ProjectIdParam('instance_group_id'), response: { 200: InstanceGroup } }, config: { doc: { operationId: 'getInstanceGroup', summary: 'Get an instance group', tags } } },
    async (req) => renderGroup(await m.groups.get(req.params.project_id, req.params.instance_group_id)),
  );

  app.patch(
    `${base}/:instance_group_id`,
    {
      schema: { params: ProjectIdParam('instance_group_id'), body: UpdateGroupBody, response: { 200: InstanceGroup } },
      config: { doc: { operationId: 'patchInstanceGroup', summary: 'Update an instance group', tags } },
    },
    async (req) => renderGroup(await m.groups.update(req.params.project_id, req.params.instance_group_id, req.body)),
  );

  app.delete(
    `${base}/:instance_group_id`,
    { schema: { params: ProjectIdParam('instance_group_id') }, config: { doc: { operationId: 'deleteInstanceGroup', summary: 'Delete an instance group', emptyOk: true, tags } } },
    async (req, reply) => {
      await m.groups.delete(req.params.project_id, req.params.instance_group_id);
      return reply.code(200).send();
    },
  );
}
