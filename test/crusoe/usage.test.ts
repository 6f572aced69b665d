import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, crusoeSpecValidator, expectCrusoeError, goTimestamp, newCrusoeAccount, signCrusoe, type CrusoeClient } from '../helpers/crusoe.js';
import { awaitOp, Families } from './support.js';

const KEY = publicKey();
const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);

/**
 * Usage from the metering ledger, with the clock moved rather than slept. Under the instant
 * profile an operation completes at the instant it was asked for, so running intervals begin
 * and end on the hour and the expected quantities are exact.
 */
/** An export query with every filter the seed marks required: the ones not given, empty ("all"). */
function everyFilter(given: Record<string, string | string[]>): Record<string, string | string[]> {
  return { projects: '', resources: '', resource_types: '', regions: '', start_date: '', end_date: '', ...given };
}

describe('Crusoe usage from the metering ledger', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let P: string;
  let org: string;
  const ops: Record<string, any> = {};
  let vmA: string;
  let vmB: string;

  beforeAll(async () => {
    h = await startHangar({ clock: new Clock({ frozenAt: at('2026-01-04T23:00:00Z') }), env: { HANGAR_TIMINGS: 'instant' } });
    c = crusoeClient(h);
    P = c.projectId;
    org = c.credentials.organization_id!;
  });
  afterAll(() => h.close());

  /** Moves the clock to an instant (forward only) and lets what fell due happen. */
  const until = async (iso: string) => h.advance(at(iso) - h.clock.now());
  const run = async (family: string, request: Promise<any>, name: string) => {
    const res = await request;
    expect(res.status, res.text).toBe(200);
    ops[name] = await awaitOp(h, c, family, res.body.operation, 0);
    expect(ops[name].state, JSON.stringify(ops[name])).toBe('SUCCEEDED');
    return ops[name];
  };
  const vms = () => `/projects/${P}/compute/vms/instances`;
  const usage = (query: Record<string, string | string[]>) => c.get(`/organizations/${org}/usage`, { query });

  it('counts gpu-hours per day, per type and per resource, matching the running intervals (a stop/start in the middle)', async () => {
    // 23:00 on the 4th: an a100.2x (2 GPUs) in us-east1-a starts running.
    vmA = (await run(Families.vms, c.post(vms(), { name: 'trainer', type: 'a100.2x', location: 'us-east1-a', ssh_public_key: KEY }), 'createA')).result.id;
    // 06:00 on the 5th it is stopped, 12:00 started again.
    await until('2026-01-05T06:00:00Z');
    await run(Families.vms, c.patch(`${vms()}/${vmA}`, { action: 'STOP' }), 'stopA');
    await until('2026-01-05T12:00:00Z');
    await run(Families.vms, c.patch(`${vms()}/${vmA}`, { action: 'START' }), 'startA');
    // 18:00: an a40.4x (4 GPUs) in us-northcentral1-a joins.
    await until('2026-01-05T18:00:00Z');
    vmB = (await run(Families.vms, c.post(vms(), { name: 'painter', type: 'a40.4x', location: 'us-northcentral1-a', ssh_public_key: KEY }), 'createB')).result.id;
    await until('2026-01-06T00:00:00Z');

    // The running intervals, as the operations recorded them.
    const t = (name: string) => Date.parse(ops[name].completed_at);
    const aRuns = [
      [t('createA'), t('stopA')],
      [t('startA'), at('2026-01-06T00:00:00Z')],
    ];
    const hoursOn = (runs: number[][], from: string, to: string) =>
      runs.reduce((sum, [s, e]) => sum + Math.max(0, Math.min(e!, at(to)) - Math.max(s!, at(from))), 0) / HOUR;
    expect(hoursOn(aRuns, '2026-01-04T00:00:00Z', '2026-01-05T00:00:00Z')).toBe(1);
    expect(hoursOn(aRuns, '2026-01-05T00:00:00Z', '2026-01-06T00:00:00Z')).toBe(18);

    const res = await usage({
      projects: P,
      resource_types: ['a100.2x', 'a40.4x'],
      regions: ['us-east1', 'us-northcentral1'],
      start_date: '2026-01-04',
      end_date: '2026-01-05',
    });
    expect(res.status, res.text).toBe(200);
    const row = (date: string, region: string, type: string, quantity: number) => ({
      billable_metric: 'gpu-hours',
      date,
      project_id: P,
      quantity,
      region,
      reservation_id: '',
      resource_type: type,
    });
    expect(res.body.items).toEqual([
      row('2026-01-04', 'us-east1', 'a100.2x', 2 * hoursOn(aRuns, '2026-01-04T00:00:00Z', '2026-01-05T00:00:00Z')),
      row('2026-01-05', 'us-east1', 'a100.2x', 2 * hoursOn(aRuns, '2026-01-05T00:00:00Z', '2026-01-06T00:00:00Z')),
      row('2026-01-05', 'us-northcentral1', 'a40.4x', 4 * 6),
    ]);
    expect(res.body.items.map((i: any) => i.quantity)).toEqual([2, 36, 24]);

    // The seed's quoted dates and today's repeated keys give the same; filters narrow it.
    const quoted = await usage({ projects: P, resource_types: 'a100.2x,a40.4x', regions: 'us-east1,us-northcentral1', start_date: '"2026-01-04"', end_date: '"2026-01-05"' });
    expect(quoted.body.items).toEqual(res.body.items);
    expect((await usage({ resource_types: 'a40.4x', start_date: '2026-01-01', end_date: '2026-01-31' })).body.items).toEqual([row('2026-01-05', 'us-northcentral1', 'a40.4x', 24)]);
    expect((await usage({ regions: 'us-east1-a', resource_types: 'a100.2x', start_date: '2026-01-05', end_date: '2026-01-05' })).body.items).toEqual([row('2026-01-05', 'us-east1', 'a100.2x', 36)]);
    const monthly = await usage({ resource_types: 'a100.2x', start_date: '2026-01-01', end_date: '2026-01-31', interval: 'monthly' });
    expect(monthly.body.items).toEqual([row('2026-01-01', 'us-east1', 'a100.2x', 38)]);

    // Per resource: the export, one line per resource and day.
    const exported = await c.get(`/organizations/${org}/usage/export`, {
      query: { projects: P, resources: [vmA, vmB], resource_types: ['a100.2x', 'a40.4x'], regions: ['us-east1', 'us-northcentral1'], start_date: '2026-01-04', end_date: '2026-01-05' },
    });
    expect(exported.status, exported.text).toBe(200);
    expect(exported.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = exported.text.trim().split('\r\n');
    // The columns are the fields the spec lists for the export.
    const specColumns = Object.keys((crusoeSpecValidator() as any).doc.responses.usageExportGetResponse.headers).sort();
    expect(lines[0]!.split(',').sort()).toEqual(specColumns);
    expect(lines.slice(1)).toEqual([
      `2026-01-04,${P},${vmA},a100.2x,us-east1,gpu-hours,2`,
      `2026-01-05,${P},${vmA},a100.2x,us-east1,gpu-hours,36`,
      `2026-01-05,${P},${vmB},a40.4x,us-northcentral1,gpu-hours,24`,
    ]);
    // A client that asks for JSON only gets the same rows as {"items": [...]}.
    const query = `end_date=2026-01-05&projects=&regions=&resource_types=&resources=${vmB}&start_date=2026-01-05`;
    const path = `/v1alpha5/organizations/${org}/usage/export`;
    const timestamp = goTimestamp(h.clock.now());
    const signature = signCrusoe({ secret: c.credentials.secret_key, method: 'GET', path, rawQuery: query, timestamp });
    const asJson = await fetch(`${h.url}${path}?${query}`, {
      headers: { accept: 'application/json', authorization: `Bearer 1.0:${c.credentials.access_key}:${signature}`, 'x-crusoe-timestamp': timestamp },
    });
    expect(asJson.status).toBe(200);
    expect(await asJson.json()).toEqual({
      items: [{ usage_date: '2026-01-05', project_id: P, resource_id: vmB, resource_type: 'a40.4x', region: 'us-northcentral1', metric: 'gpu-hours', quantity: 24 }],
    });
  });

  it('shows 48 gpu-hours for a day an a100.2x ran from start to end', async () => {
    const v = (await run(Families.vms, c.post(vms(), { name: 'all-day', type: 'a100.2x', location: 'us-east1-a', ssh_public_key: KEY }), 'allDay')).result.id;
    await h.advance(24 * HOUR);
    const res = await c.get(`/organizations/${org}/usage/export`, {
      query: everyFilter({ resources: v, start_date: '2026-01-06', end_date: '2026-01-06' }),
    });
    expect(res.text.trim().split('\r\n').slice(1)).toEqual([`2026-01-06,${P},${v},a100.2x,us-east1,gpu-hours,48`]);
    // And the running day so far counts up to now.
    await h.advance(6 * HOUR);
    const today = await usage({ resource_types: 'a100.2x', start_date: '2026-01-07', end_date: '2026-01-07' });
    expect(today.body.items).toEqual([expect.objectContaining({ date: '2026-01-07', quantity: 2 * 6 + 2 * 6 })]);
  });

  it('bills disks by size over time and load balancers for their life', async () => {
    await until('2026-01-08T00:00:00Z');
    const disks = `/projects/${P}/storage/disks`;
    const diskOp = await run(Families.disks, c.post(disks, { name: 'ledger', size: '100GiB', location: 'us-east1-a' }), 'disk');
    await until('2026-01-08T06:00:00Z');
    const snapOp = await run(Families.snapshots, c.post(`/projects/${P}/storage/snapshots`, { disk_id: diskOp.result.id, name: 'ledger-snap' }), 'snap');
    await until('2026-01-08T12:00:00Z');
    await run(Families.disks, c.patch(`${disks}/${diskOp.result.id}`, { size: '200GiB' }), 'grow');
    await until('2026-01-08T18:00:00Z');
    await run(Families.disks, c.delete(`${disks}/${diskOp.result.id}`), 'drop');
    const lbOp = await run(
      Families.loadBalancers,
      c.post(`/projects/${P}/networking/load-balancers`, {
        name: 'front',
        location: 'us-east1-a',
        algorithm: 'random',
        protocols: '[tcp]',
        destinations: [{ resource_id: vmA }],
        network_interfaces: [{}],
        health_check: { port: 0 },
        type: 'internal_ipv4,',
      }),
      'lb',
    );
    expect(lbOp.result.health_check).toEqual({ port: '0' });
    await until('2026-01-09T00:00:00Z');
    const res = await c.get(`/organizations/${org}/usage/export`, {
      query: everyFilter({ resources: [diskOp.result.id, lbOp.result.id, snapOp.result.id], start_date: '2026-01-08', end_date: '2026-01-08' }),
    });
    expect(res.text.trim().split('\r\n').slice(1)).toEqual([
      `2026-01-08,${P},${snapOp.result.id},disk-snapshot,us-east1,gib-hours,${100 * 18}`,
      `2026-01-08,${P},${lbOp.result.id},load-balancer,us-east1,lb-hours,6`,
      `2026-01-08,${P},${diskOp.result.id},persistent-ssd,us-east1,gib-hours,${100 * 12 + 200 * 6}`,
    ]);
  });

  it('offers the filters its usage has seen', async () => {
    const res = await c.get(`/organizations/${org}/usage/options`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      projects: [P],
      resource_types: ['a100.2x', 'a40.4x', 'disk-snapshot', 'load-balancer', 'persistent-ssd'],
      product_lines: ['compute', 'networking', 'storage'],
      regions: ['us-east1', 'us-northcentral1'],
      start_date: '2026-01-04',
      end_date: '2026-01-09',
    });
  });

  it('refuses bad filters and other organizations, in the rpcStatus shape the spec gives this route', async () => {
    const bad = await usage({ start_date: '2026-02-30' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 3, message: '"start_date" must be a date such as "2024-07-01" (got "2026-02-30")', details: [], reason: 'bad_request' });
    expect((await usage({ start_date: '2026-01-05', end_date: '2026-01-04' })).body.message).toBe('"end_date" (2026-01-04) must not be before "start_date" (2026-01-05)');
    expect((await usage({ interval: 'hourly' })).body.message).toBe('"interval" must be one of: daily, monthly (got "hourly")');
    const other = await newCrusoeAccount(h, 'usage-peeker');
    const foreign = await other.client.get(`/organizations/${org}/usage`);
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatchObject({ code: 7, message: `unauthorized: organization "${org}" does not exist or you are not its owner`, details: [] });
    expectCrusoeError(await other.client.get(`/organizations/${org}/usage/options`), 403, 'unauthorized', org);
    expectCrusoeError(await other.client.get(`/organizations/${org}/usage/export`, { query: everyFilter({}) }), 403, 'unauthorized', org);
    expectCrusoeError(await c.get(`/organizations/${org}/usage/export`, { query: everyFilter({ start_date: 'yesterday' }) }), 400, 'bad_request', '"start_date" must be a date');
    // The seed marks every export filter required (an empty one means "all").
    for (const left of ['projects', 'resources', 'resource_types', 'regions', 'start_date', 'end_date']) {
      const query: Record<string, string | string[]> = everyFilter({ start_date: '2026-01-05', end_date: '2026-01-05' });
      delete query[left];
      expectCrusoeError(await c.get(`/organizations/${org}/usage/export`, { query }), 400, 'bad_request', `"${left}"`);
    }
    // Its own organization shows nothing of the other's usage.
    const theirs = await other.client.get(`/organizations/${other.credentials.organization_id}/usage`, { query: { start_date: '2026-01-01', end_date: '2026-01-31' } });
    expect(theirs.body.items).toEqual([]);
  });
});
