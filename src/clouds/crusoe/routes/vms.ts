import type { App } from '../../../http/types.js';
import { readAsCaller } from '../caller.js';
import type { CrusoeModel } from '../model/index.js';
import { VM_FAMILY } from '../model/operations.js';
import { renderOperation, renderVmPageText, renderVmText } from '../render.js';
import {
  AsyncOperation,
  AttachDisksBody,
  BulkCreateBody,
  CreateInstanceBody,
  DetachDisksBody,
  Instance,
  InstanceList,
  ListInstancesQuery,
  ProjectIdParam,
  ProjectParam,
  UpdateInstanceBody,
} from '../wire.js';
import { operationRoutes } from './operations.js';

const tags = ['VMs'];
const VmParams = ProjectIdParam('vm_id');
const base = '/projects/:project_id/compute/vms';

/** VMs: every change answers with an operation, polled under …/instances/operations. */
export function vmRoutes(app: App, m: CrusoeModel): void {
  vmReadRoutes(app, m);
  vmChangeRoutes(app, m);
}

const operation = (row: Parameters<typeof renderOperation>[0]) => ({ operation: renderOperation(row) });

/** Creates and reads. */
function vmReadRoutes(app: App, m: CrusoeModel): void {

  app.post(
    `${base}/bulk-instances`,
    { schema: { params: ProjectParam, body: BulkCreateBody, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'bulkCreateInstance', summary: 'Create several VMs from an instance template', tags } } },
    async (req) => operation(await m.vms.bulkCreate(req.accountId, req.params.project_id, req.body)),
  );

  app.get(
    `${base}/instances`,
    {
      schema: { params: ProjectParam, querystring: ListInstancesQuery, response: { 200: InstanceList } },
      // (`fused`: read with the caller's key and project in one statement on PostgreSQL, see caller.ts)
      config: { fused: true, doc: { operationId: 'listInstances', summary: 'List VMs', tags } },
    },
    async (req, reply) => {
      const projectId = req.params.project_id;
      const page = await readAsCaller(m, req, m.vms.listAsCaller(projectId, req.query), () => m.vms.list(projectId, req.query));
      // (the page goes out as the text the store wrote, which is not serialised again)
      return reply.type('application/json; charset=utf-8').send(renderVmPageText(page) as never);
    },
  );

  app.post(
    `${base}/instances`,
    { schema: { params: ProjectParam, body: CreateInstanceBody, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'createInstance', summary: 'Create a VM', tags } } },
    async (req) => operation(await m.vms.create(req.accountId, req.params.project_id, req.body)),
  );

  operationRoutes(app, m, { base: `${base}/instances`, family: VM_FAMILY, tags, noun: 'VM', listId: 'listComputeVMsInstancesOperations', getId: 'getComputeVMsInstancesOperation' });

  app.get(
    `${base}/instances/:vm_id`,
    // (`fused`: read with the caller's key and project in one statement on PostgreSQL, see caller.ts)
    { schema: { params: VmParams, response: { 200: Instance } }, config: { fused: true, doc: { operationId: 'getInstance', summary: 'Get a VM', tags } } },
    async (req, reply) => {
      const { project_id: projectId, vm_id: id } = req.params;
      const vm = await readAsCaller(m, req, m.vms.wireAsCaller(projectId, id), () => m.vms.wire(projectId, id));
      // (the text the store wrote, as the list's items are: see Vms.wire)
      return reply.type('application/json; charset=utf-8').send(renderVmText(vm) as never);
    },
  );
}

/** Deletes and changes. */
function vmChangeRoutes(app: App, m: CrusoeModel): void {
  app.delete(
    `${base}/instances/:vm_id`,
    { schema: { params: VmParams, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'deleteInstance', summary: 'Delete a VM', tags } } },
    async (req) => operation(await m.vms.delete(req.params.project_id, req.params.vm_id)),
  );

  app.patch(
    `${base}/instances/:vm_id`,
    { schema: { params: VmParams, body: UpdateInstanceBody, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'updateInstance', summary: 'Start, stop, reset or update a VM', tags } } },
    async (req) => operation(await m.vms.update(req.accountId, req.params.project_id, req.params.vm_id, req.body)),
  );

  app.post(
    `${base}/instances/:vm_id/attach-disks`,
    {
      schema: { params: VmParams, body: AttachDisksBody, response: { 200: AsyncOperation } },
      config: { doc: { operationId: 'updateInstanceAttachDisks', summary: 'Attach disks to a VM', tags } },
    },
    async (req) => operation(await m.vms.attachDisks(req.params.project_id, req.params.vm_id, req.body.attach_disks)),
  );

  app.post(
    `${base}/instances/:vm_id/detach-disks`,
    {
      schema: { params: VmParams, body: DetachDisksBody, response: { 200: AsyncOperation } },
      config: { doc: { operationId: 'updateInstanceDetachDisks', summary: 'Detach disks from a VM', tags } },
    },
    async (req) => operation(await m.vms.detachDisks(req.params.project_id, req.params.vm_id, req.body.detach_disks)),
  );
}
