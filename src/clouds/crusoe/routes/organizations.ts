import type { App } from '../../../http/types.js';
import type { CrusoeModel } from '../model/index.js';
import { renderEntity, renderProject } from '../render.js';
import {
  CreateProjectBody,
  EntityEnvelope,
  EntityList,
  IdParam,
  OrgIdQuery,
  Project,
  ProjectEnvelope,
  ProjectIdQuery,
  ProjectList,
  ProjectsQuery,
  UpdateEntityBody,
  UpdateProjectBody,
} from '../wire.js';

const tags = ['Projects'];

/** /organizations: the caller's organization ("entity") and its projects. */
export function organizationRoutes(app: App, m: CrusoeModel): void {
  app.get(
    '/organizations/entities',
    { schema: { response: { 200: EntityList } }, config: { doc: { operationId: 'getOrganizations', summary: "The caller's organizations", tags: ['Organizations'] } } },
    async (req) => ({ items: (await m.organizations.list(req.accountId)).map(renderEntity) }),
  );

  app.put(
    '/organizations/entities',
    {
      schema: { querystring: OrgIdQuery, body: UpdateEntityBody, response: { 200: EntityEnvelope } },
      config: { doc: { operationId: 'updateOrganization', summary: 'Update an organization', tags: ['Organizations'] } },
    },
    async (req) => ({ entity: renderEntity(await m.organizations.update(req.accountId, req.query.org_id, req.body ?? {})) }),
  );

  app.get(
    '/organizations/projects',
    { schema: { querystring: ProjectsQuery, response: { 200: ProjectList } }, config: { doc: { operationId: 'listProjects', summary: 'List projects', tags } } },
    async (req) => {
      const views = await m.projects.list(req.accountId, {
        orgId: req.query.org_id,
        name: req.query.project_name,
        skipResources: req.query.skip_loading_project_resources,
      });
      return { items: views.map(renderProject) };
    },
  );

  app.post(
    '/organizations/projects',
    { schema: { body: CreateProjectBody, response: { 200: ProjectEnvelope } }, config: { doc: { operationId: 'createProject', summary: 'Create a project', tags } } },
    async (req) => ({ project: renderProject(await m.projects.create(req.accountId, req.body)) }),
  );

  app.put(
    '/organizations/projects',
    {
      schema: { querystring: ProjectIdQuery, body: UpdateProjectBody, response: { 200: ProjectEnvelope } },
      config: { doc: { operationId: 'updateProject', summary: 'Rename a project', tags } },
    },
    async (req) => ({ project: renderProject(await m.projects.rename(req.accountId, req.query.project_id, req.body.name)) }),
  );

  app.get(
    '/organizations/projects/:project_id',
    { schema: { params: IdParam('project_id'), response: { 200: Project } }, config: { doc: { operationId: 'getProject', summary: 'Get a project', tags } } },
    async (req) => renderProject(await m.projects.get(req.accountId, req.params.project_id)),
  );

  app.delete(
    '/organizations/projects/:project_id',
    { schema: { params: IdParam('project_id') }, config: { doc: { operationId: 'deleteProject', summary: 'Delete a project and everything in it', emptyOk: true, tags } } },
    async (req, reply) => {
      await m.projects.delete(req.accountId, req.params.project_id);
      return reply.code(200).send();
    },
  );
}
