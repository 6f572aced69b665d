import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, adminOf, genesisFor, hangarPerSuite } from '../helpers/admin.js';
import { crusoeClient, publicKey, type CrusoeClient } from '../helpers/crusoe.js';
import { createInstance, CPU_TYPE, REGION } from '../helpers/genesis.js';
import { startHangar, T0, type TestHangar } from '../helpers/hangar.js';
import { awaitOp, Families } from '../crusoe/support.js';

const LOCATION = 'us-east1-a';

/** Reads a server-sent event stream until `until` says enough (or the stream ends). */
async function readEvents(url: string, until: (events: { event: string; data: any }[]) => boolean, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const events: { event: string; data: any }[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    }
  } finally {
    controller.abort();
  }
  return { status: res.status, type: res.headers.get('content-type'), events };
}

describe('admin API: the console fleet', () => {
  let h: TestHangar;
  let admin: Admin;
  let crusoe: CrusoeClient;
  let tenant: string;
  let genesisIds: string[];
  let vmId: string;
  beforeAll(async () => {
    h = await startHangar();
    admin = adminOf(h);
    crusoe = crusoeClient(h);
    const created = await admin.createAccount('fleet-tenant');
    tenant = created.id;
    const other = genesisFor(h, created.genesis.token);
    genesisIds = [];
    for (const name of ['alpha-1', 'alpha-2', 'beta-1']) {
      genesisIds.push((await createInstance(other, { name, hostname: name, type: CPU_TYPE })).id);
      h.clock.advance(1000); // distinct creation times: the fleet's order is newest first
    }
    const op = await crusoe.post(`/projects/${crusoe.projectId}/compute/vms/instances`, { name: 'gpu-box', type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey() });
    expect(op.status, op.text).toBe(200);
    const done = await awaitOp(h, crusoe, Families.vms, op.body.operation);
    vmId = done.metadata.id ?? done.result?.id;
  });
  afterAll(() => h.close());

  it('lists both clouds in one table, newest first, with the total', async () => {
    const res = await admin.get('/fleet?limit=1000');
    expect(res.status, res.text).toBe(200);
    const kinds = new Set(res.body.resources.map((r: any) => r.kind));
    expect(kinds.has('genesis.instance')).toBe(true);
    expect(kinds.has('crusoe.vm')).toBe(true);
    expect(res.body.total).toBe(res.body.resources.length);
    const times = res.body.resources.map((r: any) => Date.parse(r.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const vm = res.body.resources.find((r: any) => r.kind === 'crusoe.vm');
    expect(vm).toMatchObject({ cloud: 'crusoe', name: 'gpu-box', status: 'STATE_RUNNING', region: LOCATION, project_id: crusoe.projectId, type: 'c1a.2x' });
  });

  it('filters by cloud, account, kind, status and region, and searches by name or id', async () => {
    const names = async (query: string) => (await admin.get(`/fleet?${query}`)).body.resources.map((r: any) => r.name).sort();
    expect(await names(`kind=genesis.instance&account=${tenant}`)).toEqual(['alpha-1', 'alpha-2', 'beta-1']);
    expect(await names(`account=${tenant}&kind=genesis.instance&q=ALPHA`)).toEqual(['alpha-1', 'alpha-2']);
    expect(await names(`q=${genesisIds[2]}`)).toEqual(['beta-1']);
    expect(await names('cloud=crusoe&kind=crusoe.vm')).toEqual(['gpu-box']);
    expect(await names(`kind=crusoe.vm&region=${LOCATION}&status=STATE_RUNNING`)).toEqual(['gpu-box']);
    expect(await names('kind=crusoe.vm&status=STATE_STOPPED')).toEqual([]);
    expect(await names(`account=${tenant}&kind=genesis.instance&region=${REGION}&status=active`)).toEqual(['alpha-1', 'alpha-2', 'beta-1']);
    // a search's wildcards are plain characters
    expect(await names(`account=${tenant}&q=alpha_`)).toEqual([]);
  });

  it('pages on the server', async () => {
    const all = (await admin.get(`/fleet?account=${tenant}&kind=genesis.instance`)).body;
    const first = (await admin.get(`/fleet?account=${tenant}&kind=genesis.instance&limit=2`)).body;
    const second = (await admin.get(`/fleet?account=${tenant}&kind=genesis.instance&limit=2&offset=2`)).body;
    expect(first.total).toBe(3);
    expect([...first.resources, ...second.resources].map((r: any) => r.id)).toEqual(all.resources.map((r: any) => r.id));
    expect(first.resources.map((r: any) => r.name)).toEqual(['beta-1', 'alpha-2']);
  });

  it('counts what the filters offer', async () => {
    const res = await admin.get('/fleet/facets');
    expect(res.status).toBe(200);
    expect(res.body.kinds['genesis.instance']).toBeGreaterThanOrEqual(3);
    expect(res.body.kinds['crusoe.vm']).toBe(1);
    expect(res.body.statuses.STATE_RUNNING).toBe(1);
    expect(res.body.accounts[tenant]).toBeGreaterThanOrEqual(3);
    expect(res.body.kinds_known).toContain('crusoe.disk');
  });

  it('refuses an unknown kind and bad paging in the admin error shape', async () => {
    const kind = await admin.get('/fleet?kind=genesis.spaceship');
    expect(kind.status).toBe(400);
    expect(kind.body.code).toBe('invalid_request');
    expect(kind.body.message).toContain('genesis.instance');
    const limit = await admin.get('/fleet?limit=0');
    expect(limit.status).toBe(400);
    expect(Object.keys(limit.body).sort()).toEqual(['code', 'message']);
  });

  it('shows one resource: its wire JSON as its cloud answers, its history on the clock, its links', async () => {
    const res = await admin.get(`/fleet/${genesisIds[0]}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.resource).toMatchObject({ id: genesisIds[0], kind: 'genesis.instance', status: 'active', account_id: tenant });
    expect(res.body.wire.path).toBe(`/compute/v1/instances/${genesisIds[0]}`);
    expect(res.body.wire.body.instance.id).toBe(genesisIds[0]);
    expect(res.body.wire.body.instance.status).toBe('active');
    expect(res.body.history.map((e: any) => [e.transition, e.from, e.to])).toEqual([['boot', 'creating', 'active']]);
    expect(Date.parse(res.body.history[0].applied_at)).toBeGreaterThanOrEqual(T0);
    expect(res.body.requests.some((r: any) => r.method === 'GET' || r.method === 'POST')).toBe(false); // created and read by other paths only
    const linkKinds = res.body.links.map((l: any) => l.kind);
    expect(linkKinds).toContain('genesis.ssh_key');
    expect(linkKinds).toContain('genesis.security_group');
  });

  it("shows a Crusoe VM's operations as its history and the requests that named it", async () => {
    await crusoe.get(`/projects/${crusoe.projectId}/compute/vms/instances/${vmId}`);
    const res = await admin.get(`/fleet/${vmId}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.wire.body).toMatchObject({ id: vmId, name: 'gpu-box', state: 'STATE_RUNNING' });
    expect(res.body.wire.path).toBe(`/v1alpha5/projects/${crusoe.projectId}/compute/vms/instances/${vmId}`);
    expect(res.body.history.length).toBeGreaterThan(0);
    expect(res.body.history[0].kind).toBe('crusoe.operation');
    expect(res.body.requests.map((r: any) => `${r.method} ${r.status}`)).toContain('GET 200');
  });

  it('answers 404 for an unknown resource', async () => {
    const res = await admin.get('/fleet/00000000-0000-4000-8000-000000000000');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
  });

  it('lists pending transitions soonest first, with the clock', async () => {
    const client = genesisFor(h, (await admin.createAccount('pending')).genesis.token);
    const created = await createInstance(client, { name: 'waiting', type: CPU_TYPE });
    const res = await admin.get('/lifecycle/pending');
    expect(res.status).toBe(200);
    expect(res.body.frozen).toBe(true);
    const mine = res.body.pending.find((p: any) => p.resource_id === created.id);
    expect(mine).toMatchObject({ kind: 'genesis.instance', transition: 'boot', held: false });
    expect(Date.parse(mine.due_at)).toBeGreaterThan(Date.parse(res.body.now));
    const dues = res.body.pending.filter((p: any) => !p.held).map((p: any) => Date.parse(p.due_at));
    expect([...dues].sort((a, b) => a - b)).toEqual(dues);
  });
});

describe('admin API: the console event stream', () => {
  const { h, admin } = hangarPerSuite();

  it('streams the requests answered, the transitions applied and the clock moved', async () => {
    const url = `${admin.baseUrl}/events`;
    let id = '';
    const reading = readEvents(url, (events) => {
      if (events.length === 1) {
        // subscribed: now act
        void (async () => {
          id = (await createInstance(h.genesis, { name: 'streamed', type: CPU_TYPE })).id;
          await admin.post('/clock/advance', { by: '10s' });
        })();
      }
      return events.some((e) => e.event === 'transitions' && e.data.items.some((t: any) => t.resource_id === id && t.to === 'active')) && events.some((e, i) => i > 0 && e.event === 'clock');
    });
    const { status, type, events } = await reading;
    expect(status).toBe(200);
    expect(type).toContain('text/event-stream');
    expect(events[0]).toMatchObject({ event: 'clock', data: { frozen: true } });
    const request = events.find((e) => e.event === 'request' && e.data.method === 'POST' && e.data.path === '/compute/v1/instances');
    expect(request?.data).toMatchObject({ cloud: 'genesis', status: 201, account: h.demoAccountId });
    const boot = events.flatMap((e) => (e.event === 'transitions' ? e.data.items : [])).find((t: any) => t.resource_id === id);
    expect(boot).toMatchObject({ kind: 'genesis.instance', transition: 'boot', from: 'creating', to: 'active' });
  });

  it('is behind the admin token like every admin route', async () => {
    const guarded = await startHangar({ env: { HANGAR_ADMIN_TOKEN: 'console-secret' } });
    try {
      const refused = await fetch(`${guarded.url}/admin/v1/events`);
      expect(refused.status).toBe(401);
      await refused.body?.cancel();
      const { status, events } = await readEvents(`${guarded.url}/admin/v1/events`, (e) => e.length > 0, { authorization: 'Bearer console-secret' });
      expect(status).toBe(200);
      expect(events[0]!.event).toBe('clock');
    } finally {
      await guarded.close();
    }
  });
});
