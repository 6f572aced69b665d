import { describe, expect, it } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';
import { crusoeClient, expectCrusoeError, type CrusoeCredentials } from '../helpers/crusoe.js';

/** The operator's controls over the Crusoe cloud: stock of both clouds, key pairs on demand, quotas. */
describe('admin API: Crusoe controls', () => {
  const { h, admin } = hangarPerSuite();

  it('lists the stock of both clouds by default, and one when asked', async () => {
    const all = await admin.get('/capacity');
    expect(all.status, all.text).toBe(200);
    const clouds = new Set(all.body.capacity.map((l: any) => l.cloud));
    expect([...clouds].sort()).toEqual(['crusoe', 'genesis']);
    expect(all.body.capacity).toContainEqual(expect.objectContaining({ cloud: 'crusoe', region: 'us-east1-a', sku: 'h200-141gb-sxm-ib.8x', total: 500 }));
    const crusoe = (await admin.get('/capacity?cloud=crusoe')).body.capacity;
    expect(crusoe.length).toBeGreaterThan(0);
    expect(crusoe.every((l: any) => l.cloud === 'crusoe')).toBe(true);
  });

  it('issues a Crusoe key pair to an account; it signs requests at once and stops when revoked', async () => {
    const account = await admin.createAccount('keyed');
    const issued = await admin.post(`/accounts/${account.id}/credentials`, { cloud: 'crusoe' });
    expect(issued.status, issued.text).toBe(201);
    expect(Object.keys(issued.body).sort()).toEqual(['access_key', 'cloud', 'credential_id', 'organization_id', 'project_id', 'secret_key']);
    expect(issued.body).toMatchObject({ cloud: 'crusoe', organization_id: account.crusoe!.organization_id, project_id: account.crusoe!.project_id });
    expect(issued.body.access_key).not.toBe(account.crusoe!.access_key);
    const c = crusoeClient(h, issued.body as CrusoeCredentials);
    expect((await c.get(`/projects/${c.projectId}/compute/vms/instances`)).status).toBe(200);
    expect((await admin.delete(`/accounts/${account.id}/credentials/${issued.body.credential_id}`)).status).toBe(204);
    expectCrusoeError(await c.get('/users/identities'), 401, 'bad_credential', 'unknown, deleted or expired');
    expect((await admin.post(`/accounts/${account.id}/credentials`, { cloud: 'crusoe', read_only: true })).status).toBe(400);
  });

  it('names the Crusoe quotas beside the others, each with what the account holds', async () => {
    const account = await admin.createAccount('quoted');
    const quotas = (await admin.get(`/accounts/${account.id}/quotas`)).body.quotas;
    expect(quotas['crusoe.family.h100-80gb-sxm-ib']).toEqual({ limit: 512, used: 0, custom: false });
    expect(quotas['crusoe.family.c1a']).toEqual({ limit: 16_384, used: 0, custom: false });
    expect(quotas['crusoe.storage_gib']).toMatchObject({ used: 0 });
    expect(quotas['crusoe.vms']).toMatchObject({ limit: 1000 });
    expect((await admin.put(`/accounts/${account.id}/quotas`, { 'crusoe.family.nope': 1 })).status).toBe(400);
  });
});
