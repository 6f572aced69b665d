import { Type } from '@sinclair/typebox';
import type { App } from '../http/types.js';
import { notFound, type AdminDeps } from './common.js';

/** Each cloud's public API switch. */
export function apiSwitchRoutes(app: App, deps: AdminDeps): void {
  const { kernel } = deps;
  // A cloud's whole public API turned off (its clients get the cloud's "API disabled" error).
  const CloudParams = Type.Object({ cloud: Type.String() });
  const apiView = (cloud: string) => {
    const found = kernel.apiSwitches().find((s) => s.cloud === cloud);
    if (!found) throw notFound('switchable API', cloud);
    return found;
  };
  app.get('/:cloud/api', { config: { doc: { operationId: 'getApiSwitch', summary: "Whether a cloud's public API is on", tags: ['API switches'] } }, schema: { params: CloudParams } }, async (req) => apiView(req.params.cloud));
  app.put('/:cloud/api', { config: { doc: { operationId: 'setApiSwitch', summary: "Turn a cloud's public API off (its clients get the cloud's API-disabled error) or on", tags: ['API switches'] } }, schema: { params: CloudParams, body: Type.Object({ enabled: Type.Boolean() }) } }, async (req) => {
    apiView(req.params.cloud);
    await kernel.setApiEnabled(req.params.cloud, req.body.enabled);
    return apiView(req.params.cloud);
  });
}
