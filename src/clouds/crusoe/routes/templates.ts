import type { App } from '../../../http/types.js';
import type { CrusoeModel } from '../model/index.js';
import { renderTemplate } from '../render.js';
import { CreateTemplateBody, InstanceTemplate, InstanceTemplateList, ProjectIdParam, ProjectParam } from '../wire.js';

const tags = ['Instance Templates'];
const base = '/projects/:project_id/compute/instance-templates';

export function templateRoutes(app: App, m: CrusoeModel): void {
  app.get(
    base,
    { schema: { params: ProjectParam, response: { 200: InstanceTemplateList } }, config: { doc: { operationId: 'listInstanceTemplates', summary: 'List instance templates', tags } } },
    async (req) => ({ items: (await m.templates.list(req.params.project_id)).map(renderTemplate) }),
  );

  app.post(
    base,
    {
      schema: { params: ProjectParam, body: CreateTemplateBody, response: { 200: InstanceTemplate } },
      config: { doc: { operationId: 'createInstanceTemplate', summary: 'Create an instance template', tags } },
    },
    async (req) => renderTemplate(await m.templates.create(req.accountId, req.params.project_id, req.body)),
  );

  app.get(
    `${base}/:instance_template_id`,
    {
      schema: { params: ProjectIdParam('instance_template_id'), response: { 200: InstanceTemplate } },
      config: { doc: { operationId: 'getInstanceTemplate', summary: 'Get an instance template', tags } },
    },
    async (req) => renderTemplate(await m.templates.get(req.params.project_id, req.params.instance_template_id)),
  );

  app.delete(
    `${base}/:instance_template_id`,
    { schema: { params: ProjectIdParam('instance_template_id') }, config: { doc: { operationId: 'deleteInstanceTemplate', summary: 'Delete an instance template', emptyOk: true, tags } } },
    async (req, reply) => {
      await m.templates.delete(req.params.project_id, req.params.instance_template_id);
      return reply.code(200).send();
    },
  );
}
