import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOf, type Admin } from '../helpers/admin.js';
import { crusoeClient, expectCrusoeError, newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';
import { startHangar, T0, type TestHangar } from '../helpers/hangar.js';

const LOCATION = 'us-east1-a';

describe('Crusoe S3 buckets', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let admin: Admin;
  let buckets: string;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    admin = adminOf(h);
    buckets = `/projects/${c.projectId}/storage/s3/buckets`;
  });
  afterAll(() => h.close());

  it('creates, lists, reads, retags and deletes a bucket by its name', async () => {
    const made = await c.post(buckets, { name: 'training-data', location: LOCATION, tags: { team: 'ml' } });
    expect(made.status, made.text).toBe(200);
    expect(made.body).toEqual({
      name: 'training-data',
      user_id: expect.stringMatching(/^S3U_[0-9a-f]{32}$/),
      project_id: c.projectId,
      location: LOCATION,
      versioning_state: 'disabled',
      object_lock_enabled: false,
      tags: { team: 'ml' },
      s3_url: `https://object.${LOCATION}.hangar.test/training-data`,
      bucket_size: 0,
      created_at: new Date(T0).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      updated_at: new Date(T0).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    expect((await c.get(`${buckets}/training-data`)).body).toEqual(made.body);
    expect((await c.get(buckets)).body).toEqual({ items: [made.body] });

    h.clock.advance(60_000);
    const retagged = await c.patch(`${buckets}/training-data`, { tags: { team: 'infra', tier: 'hot' } });
    expect(retagged.status, retagged.text).toBe(200);
    expect(retagged.body.tags).toEqual({ team: 'infra', tier: 'hot' });
    expect(retagged.body.updated_at).toBe(new Date(T0 + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'));

    const gone = await c.delete(`${buckets}/training-data`);
    expect(gone.status, gone.text).toBe(204);
    expectCrusoeError(await c.get(`${buckets}/training-data`), 404, 'not_found', 'bucket "training-data" not found');
    expectCrusoeError(await c.delete(`${buckets}/training-data`), 404, 'not_found', 'training-data');
    expect((await c.get(buckets)).body).toEqual({ items: [] });
  });

  it('turns versioning on for object lock, and refuses what S3 would', async () => {
    const locked = await c.post(buckets, { name: 'audit-logs', location: LOCATION, object_lock_enabled: true, retention_period: 30, retention_period_unit: 'days' });
    expect(locked.status, locked.text).toBe(200);
    expect(locked.body).toMatchObject({ versioning_state: 'enabled', object_lock_enabled: true, retention_mode: 'governance', retention_period: 30, retention_period_unit: 'days' });

    expectCrusoeError(await c.post(buckets, { name: 'audit-logs', location: LOCATION }), 409, 'conflict', 'already exists');
    expectCrusoeError(await c.post(buckets, { name: 'Bad_Name', location: LOCATION }), 400, 'bad_request', '"name"');
    expectCrusoeError(await c.post(buckets, { name: 'ab', location: LOCATION }), 400, 'bad_request', '"name"');
    expectCrusoeError(await c.post(buckets, { name: 'elsewhere', location: 'mars-1a' }), 400, 'bad_request', '"location"');
    expectCrusoeError(await c.post(buckets, { name: 'no-versions', location: LOCATION, object_lock_enabled: true, versioning_state: 'disabled' }), 400, 'bad_request', 'versioning');
    expectCrusoeError(await c.post(buckets, { name: 'no-lock', location: LOCATION, retention_period: 7 }), 400, 'bad_request', 'object_lock_enabled');
    expectCrusoeError(await c.post(buckets, { location: LOCATION }), 400, 'bad_request', 'name');
  });

  it("keeps tenants apart: a name is per project, another account's bucket is not found", async () => {
    const other = await newCrusoeAccount(h, 'bucket-neighbour');
    const theirs = `/projects/${other.client.projectId}/storage/s3/buckets`;
    const same = await other.client.post(theirs, { name: 'audit-logs', location: LOCATION });
    expect(same.status, same.text).toBe(200);
    expect(same.body.user_id).not.toBe((await c.get(`${buckets}/audit-logs`)).body.user_id);
    expect((await c.get(`${theirs}/audit-logs`)).status).toBe(403);
    expect((await c.get(buckets)).body.items.map((b: any) => b.name)).toEqual(['audit-logs']);
  });

  it('shows in the console fleet, read as its GET answers it, and goes with its project', async () => {
    const project = await c.post('/organizations/projects', { name: 'scratch-space', organization_id: c.credentials.organization_id });
    expect(project.status, project.text).toBe(200);
    const projectId = project.body.project.id;
    const made = await c.post(`/projects/${projectId}/storage/s3/buckets`, { name: 'scratch', location: LOCATION });
    expect(made.status, made.text).toBe(200);
    const listed = (await admin.get('/fleet?kind=crusoe.s3_bucket&limit=100')).body.resources;
    const line = listed.find((r: any) => r.name === 'scratch');
    expect(line).toMatchObject({ kind: 'crusoe.s3_bucket', cloud: 'crusoe', region: LOCATION, project_id: projectId });
    const detail = await admin.get(`/fleet/${line.id}`);
    expect(detail.status, detail.text).toBe(200);
    expect(detail.body.wire).toEqual({ path: `/v1alpha5/projects/${projectId}/storage/s3/buckets/scratch`, body: made.body });

    expect((await c.delete(`/organizations/projects/${projectId}`)).status).toBe(200);
    expect((await admin.get('/fleet?kind=crusoe.s3_bucket&limit=100')).body.resources.map((r: any) => r.name)).not.toContain('scratch');
  });
});
