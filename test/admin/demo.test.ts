import { describe, expect, it } from 'vitest';
import { genesisFor, hangarPerSuite } from '../helpers/admin.js';
import { crusoeClient } from '../helpers/crusoe.js';
import { expectError } from '../helpers/genesis.js';

/**
 * The demo account's credentials are what a newcomer copies from the banner into scripts and
 * environment files: a reset keeps them working, GET /admin/v1/demo prints them again, and
 * only a reset that asks for it (`demo_credentials: "renew"`) replaces them.
 */
describe('admin API: the demo account across resets', () => {
  const { h, admin } = hangarPerSuite();

  it('prints the demo credentials and the URLs to use them with', async () => {
    const res = await admin.get('/demo');
    expect(res.status, res.text).toBe(200);
    const { genesis, crusoe } = h.hangar.demo.credentials;
    expect(res.body).toEqual({
      account_id: h.demoAccountId,
      credentials_known: true,
      genesis: { token: genesis!.token, url: `${h.url}/compute/v1` },
      crusoe: {
        access_key: crusoe!.access_key,
        secret_key: crusoe!.secret_key,
        organization_id: crusoe!.organization_id,
        project_id: crusoe!.project_id,
        url: `${h.url}/v1alpha5`,
      },
    });
  });

  it('keeps the printed Genesis token, Crusoe key pair and project valid across a seeded reset', async () => {
    const before = (await admin.get('/demo')).body;
    const genesis = genesisFor(h, before.genesis.token);
    expect((await genesis.post('/ssh-keys', { name: 'k', value: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGalSmgoMEtwX3oxRLNYZwhG1gRXGh996hvhof0B3PHn k' })).status).toBe(201);

    const res = await admin.post('/reset', { seed: 'keep', frozen_at: '2030-01-01T00:00:00Z' });
    expect(res.status, res.text).toBe(204);

    expect((await admin.get('/demo')).body).toEqual(before);
    expect((await genesis.get('/ssh-keys')).body).toMatchObject({ ssh_keys: [], total_count: 0 });
    const crusoe = crusoeClient(h, before.crusoe);
    const project = await crusoe.get(`/organizations/projects/${before.crusoe.project_id}`);
    expect(project.status, project.text).toBe(200);
    expect(project.body.id).toBe(before.crusoe.project_id);
    const vms = await crusoe.get(`/projects/${before.crusoe.project_id}/compute/vms/instances`);
    expect(vms.status, vms.text).toBe(200);
    expect(vms.body.items).toEqual([]);
  });

  it('gives the demo account new credentials when the reset asks for them', async () => {
    const before = (await admin.get('/demo')).body;
    expect((await admin.post('/reset', { demo_credentials: 'renew' })).status).toBe(204);
    const after = (await admin.get('/demo')).body;
    expect(after.genesis.token).not.toBe(before.genesis.token);
    expect(after.crusoe.access_key).not.toBe(before.crusoe.access_key);
    expect(after.crusoe.project_id).not.toBe(before.crusoe.project_id);

    expectError(await genesisFor(h, before.genesis.token).get('/instances'), 401, '01204');
    expect((await genesisFor(h, after.genesis.token).get('/instances')).status).toBe(200);
    expect((await crusoeClient(h, before.crusoe).get('/locations')).status).toBe(401);
    expect((await crusoeClient(h, after.crusoe).get('/locations')).status).toBe(200);
    expect((await admin.post('/reset', { demo_credentials: 'forget' })).status).toBe(400);
  });
});
