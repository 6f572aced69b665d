import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminOf, type Admin } from '../helpers/admin.js';
import { GPU_TYPE, REGION } from '../helpers/genesis.js';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, expectCrusoeError, newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';
import { Families, succeeds } from './support.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();
const TYPE = 'c1a.2x';

/** Reservations: an operator control for either cloud; Crusoe VMs created or RESERVEd on one count against it. */
describe('Crusoe: reservations made by the operator', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let admin: Admin;
  let P: string;
  const vms = () => `/projects/${P}/compute/vms/instances`;
  const used = async (id: string) => (await admin.get(`/reservations?account_id=${h.demoAccountId}`)).body.reservations.find((r: any) => r.id === id).used;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    admin = adminOf(h);
    P = c.projectId;
  });
  afterAll(() => h.close());

  it('are made, listed and checked by the admin API', async () => {
    const bad = [
      [{ account_id: h.demoAccountId, cloud: 'crusoe', sku: 'z80.1x', region: LOCATION, capacity: 1 }, 400, 'has no "z80.1x"'],
      [{ account_id: h.demoAccountId, cloud: 'crusoe', sku: TYPE, region: 'mars-1a', capacity: 1 }, 400, 'in "mars-1a"'],
      [{ account_id: h.demoAccountId, cloud: 'aws', sku: TYPE, region: LOCATION, capacity: 1 }, 400, '"cloud" must be one of'],
      [{ account_id: h.demoAccountId, cloud: 'crusoe', sku: TYPE, region: LOCATION, capacity: 0 }, 400, 'capacity'],
      [{ account_id: '00000000-0000-4000-8000-000000000000', cloud: 'crusoe', sku: TYPE, region: LOCATION, capacity: 1 }, 404, 'account'],
    ] as const;
    for (const [body, status, message] of bad) {
      const res = await admin.post('/reservations', body);
      expect(res.status, res.text).toBe(status);
      expect(res.body.message).toContain(message);
    }
    const made = await admin.post('/reservations', { account_id: h.demoAccountId, cloud: 'crusoe', sku: TYPE, region: LOCATION, capacity: 2 });
    expect(made.status, made.text).toBe(201);
    expect(made.body).toMatchObject({ account_id: h.demoAccountId, cloud: 'crusoe', sku: TYPE, region: LOCATION, capacity: 2, used: 0 });
    expect((await admin.get(`/reservations?account_id=${h.demoAccountId}&cloud=crusoe`)).body.reservations).toEqual([made.body]);
    expect((await admin.delete(`/reservations/${made.body.id}`)).status).toBe(204);
    expect((await admin.delete(`/reservations/${made.body.id}`)).status).toBe(404);
  });

  it('count VMs created on them, RESERVEd onto them and bulk-created on them, and give the units back', async () => {
    const r = (await admin.post('/reservations', { account_id: h.demoAccountId, cloud: 'crusoe', sku: TYPE, region: LOCATION, capacity: 3 })).body;

    const onIt = await succeeds(h, c, Families.vms, c.post(vms(), { name: 'reserved', type: TYPE, location: LOCATION, ssh_public_key: KEY, reservation_specification: { id: r.id } }));
    expect(onIt.reservation_id).toBe(r.id);
    expect(await used(r.id)).toBe(1);

    // The reservation's type and location must match; another tenant's is not found.
    expectCrusoeError(
      await c.post(vms(), { name: 'wrong-type', type: 'c1a.4x', location: LOCATION, ssh_public_key: KEY, reservation_specification: { id: r.id } }),
      400,
      'bad_request',
      `reservation "${r.id}" is for ${TYPE} in ${LOCATION}`,
    );
    const other = await newCrusoeAccount(h, 'no-reservations');
    expectCrusoeError(
      await other.client.post(`/projects/${other.client.projectId}/compute/vms/instances`, { name: 'x', type: TYPE, location: LOCATION, ssh_public_key: KEY, reservation_specification: { id: r.id } }),
      400,
      'bad_request',
      `reservation "${r.id}" not found`,
    );

    // RESERVE moves an on-demand VM onto it (done with the request); UNRESERVE takes it off.
    const plain = await succeeds(h, c, Families.vms, c.post(vms(), { name: 'plain', type: TYPE, location: LOCATION, ssh_public_key: KEY }));
    expect(plain.reservation_id).toBe('');
    const reserve = await c.patch(`${vms()}/${plain.id}`, { action: 'RESERVE', reservation_id: r.id });
    expect(reserve.status, reserve.text).toBe(200);
    expect(reserve.body.operation).toMatchObject({ state: 'SUCCEEDED', result: expect.objectContaining({ reservation_id: r.id }) });
    expect(await used(r.id)).toBe(2);
    expectCrusoeError(await c.patch(`${vms()}/${plain.id}`, { action: 'RESERVE', reservation_id: r.id }), 400, 'bad_request', 'already');

    // lowest_cost takes the matching reservation that has room; it is full after that.
    const cheap = await succeeds(h, c, Families.vms, c.post(vms(), { name: 'cheap', type: TYPE, location: LOCATION, ssh_public_key: KEY, reservation_specification: { selection_strategy: 'lowest_cost' } }));
    expect(cheap.reservation_id).toBe(r.id);
    expect(await used(r.id)).toBe(3);
    const spill = await succeeds(h, c, Families.vms, c.post(vms(), { name: 'spill', type: TYPE, location: LOCATION, ssh_public_key: KEY, reservation_specification: { selection_strategy: 'lowest_cost' } }));
    expect(spill.reservation_id).toBe('');
    expectCrusoeError(await c.patch(`${vms()}/${spill.id}`, { action: 'RESERVE', reservation_id: r.id }), 409, 'conflict', 'has no room for 1 more VM (3 of 3 in use)');
    expectCrusoeError(
      await c.post(vms(), { name: 'full', type: TYPE, location: LOCATION, ssh_public_key: KEY, reservation_specification: { id: r.id } }),
      409,
      'conflict',
      'has no room',
    );
    // The operator cannot take away a reservation in use.
    expect((await admin.delete(`/reservations/${r.id}`)).status).toBe(409);

    const unreserve = await c.patch(`${vms()}/${plain.id}`, { action: 'UNRESERVE' });
    expect(unreserve.body.operation.result.reservation_id).toBe('');
    expect(await used(r.id)).toBe(2);
    await succeeds(h, c, Families.vms, c.delete(`${vms()}/${onIt.id}`));
    await succeeds(h, c, Families.vms, c.delete(`${vms()}/${cheap.id}`));
    expect(await used(r.id)).toBe(0);

    // Bulk creation counts each VM; a template may name the reservation too.
    const bulk = await succeeds(
      h,
      c,
      Families.vms,
      c.post(`/projects/${P}/compute/vms/bulk-instances`, {
        name_prefix: 'on-res',
        count: 2,
        instance_template: { template_name: 'res-t', type: TYPE, ssh_public_key: KEY, reservation_id: r.id },
        locations: [{ location: LOCATION }],
      }),
    );
    expect(bulk.map((v: any) => v.reservation_id)).toEqual([r.id, r.id]);
    expect(await used(r.id)).toBe(2);
    expectCrusoeError(
      await c.post(`/projects/${P}/compute/vms/bulk-instances`, { name_prefix: 'too-many', count: 2, instance_template: { template_name: 'res-t2', type: TYPE, ssh_public_key: KEY }, locations: [{ location: LOCATION }], reservation_specification: { id: r.id } }),
      409,
      'conflict',
      'has no room for 2 more VMs',
    );
    // Deleting the project gives its units back.
    const second = (await c.post('/organizations/projects', { name: 'res-project', organization_id: c.credentials.organization_id })).body.project.id;
    await succeeds(h, c, Families.vms, c.post(`/projects/${second}/compute/vms/instances`, { name: 'r', type: TYPE, location: LOCATION, ssh_public_key: KEY, reservation_specification: { id: r.id } }), 1_000, second);
    expect(await used(r.id)).toBe(3);
    expect((await c.delete(`/organizations/projects/${second}`)).status).toBe(200);
    expect(await used(r.id)).toBe(2);
  });

  it('are what the Genesis reservations list shows', async () => {
    const made = await admin.post('/reservations', { account_id: h.demoAccountId, cloud: 'genesis', sku: GPU_TYPE, region: REGION, capacity: 4 });
    expect(made.status, made.text).toBe(201);
    const listed = await h.genesis.get('/reservations');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.reservations).toEqual([{ id: made.body.id, flavor_name: GPU_TYPE, region: REGION, quota: { capacity: 4, used: 0 }, metadata: {} }]);
  });
});
