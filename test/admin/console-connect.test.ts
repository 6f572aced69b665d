import { describe, expect, it } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';

/** GET /admin/v1/accounts/{id}/connect: what the console's Connect page fills its settings from. */
describe('admin API: connection settings of an account', () => {
  const { h, admin } = hangarPerSuite();

  it("gives the demo account's URLs, projects and the credentials this process printed, which work", async () => {
    const res = await admin.get(`/accounts/${h.demoAccountId}/connect`);
    expect(res.status, res.text).toBe(200);
    const demo = h.hangar.demo.credentials;
    expect(res.body).toMatchObject({ account_id: h.demoAccountId, name: 'demo', base_url: h.url });
    expect(res.body.clouds.genesis).toMatchObject({ url: `${h.url}/compute/v1`, credentials: { token: demo.genesis!.token } });
    expect(res.body.clouds.crusoe).toMatchObject({ url: `${h.url}/v1alpha5`, credentials: { access_key: demo.crusoe!.access_key, secret_key: demo.crusoe!.secret_key } });
    expect(res.body.clouds.crusoe.projects.map((p: any) => p.id)).toContain(demo.crusoe!.project_id);
    expect(res.body.clouds.crusoe.projects[0]).toMatchObject({ organization_id: demo.crusoe!.organization_id, name: expect.any(String) });
    const listed = await fetch(`${res.body.clouds.genesis.url}/instances`, { headers: { authorization: `Bearer ${res.body.clouds.genesis.credentials.token}` } });
    expect(listed.status).toBe(200);
  });

  it("gives another account's URLs and projects but no secret (shown only when issued)", async () => {
    const created = await admin.createAccount('connect-me');
    const res = await admin.get(`/accounts/${created.id}/connect`);
    expect(res.status).toBe(200);
    expect(res.body.clouds.genesis.credentials).toBeNull();
    expect(res.body.clouds.crusoe.credentials).toBeNull();
    expect(res.body.clouds.genesis.credential_ids).toHaveLength(1);
    expect(res.body.clouds.crusoe.projects.map((p: any) => p.id)).toEqual([created.crusoe!.project_id]);
    expect(JSON.stringify(res.body)).not.toContain(created.genesis.token);
    expect(JSON.stringify(res.body)).not.toContain(created.crusoe!.secret_key);
    expect((await admin.get('/accounts/nope/connect')).status).toBe(404);
  });
});
