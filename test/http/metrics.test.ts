import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SERIES_LIMIT } from '../../src/http/metrics.js';
import { adminOf } from '../helpers/admin.js';
import { BOOT_MS, createInstance } from '../helpers/genesis.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';

/** The samples of one metric in Prometheus text, as {labels: value}. */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match && match[1] === name) found.set(match[2] ?? '', Number(match[3]));
  }
  return found;
}

describe('/metrics: what a dashboard is made of', () => {
  let h: TestHangar;
  beforeAll(async () => {
    h = await startHangar();
  });
  afterAll(() => h.close());

  it('resources by kind and status, transitions and their lag, faults fired, requests per account', async () => {
    const admin = adminOf(h);
    const booted = await createInstance(h.genesis, { name: 'booted' });
    await h.advance(BOOT_MS + 2_000); // two seconds late, on Hangar's clock
    expect((await admin.post('/faults', { kind: 'genesis.instance', transition: 'boot', count: 1 })).status).toBe(201);
    const failed = await createInstance(h.genesis, { name: 'failed' });
    await h.advance(BOOT_MS);
    expect((await h.genesis.get(`/instances/${failed.id}`)).body.instance.status).toBe('error');
    expect((await admin.post('/faults', { cloud: 'genesis', path: '/compute/v1/volumes', count: 1, status: 503 })).status).toBe(201);
    expect((await h.genesis.get('/volumes')).status).toBe(503);
    await createInstance(h.genesis, { name: 'creating' });
    const other = await h.newAccount('other');
    for (let i = 0; i < 3; i++) expect((await other.genesis.get('/instances')).status).toBe(200);

    const res = await fetch(`${h.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();

    const resources = samples(text, 'hangar_resources');
    expect(resources.get('{kind="genesis.instance",status="active"}')).toBe(1);
    expect(resources.get('{kind="genesis.instance",status="error"}')).toBe(1);
    expect(resources.get('{kind="genesis.instance",status="creating"}')).toBe(1);
    expect(resources.get('{kind="genesis.security_group",status="created"}')).toBeGreaterThan(0);

    const transitions = samples(text, 'hangar_lifecycle_transitions_total');
    expect(transitions.get('{kind="genesis.instance",transition="boot",outcome="applied"}')).toBe(1);
    expect(transitions.get('{kind="genesis.instance",transition="boot",outcome="failed"}')).toBe(1);
    const lagCount = samples(text, 'hangar_lifecycle_transition_lag_seconds_count').get('{kind="genesis.instance"}');
    expect(lagCount).toBe(2);
    // The boot due at BOOT_MS was applied when the clock reached BOOT_MS + 2 s.
    const lagBuckets = samples(text, 'hangar_lifecycle_transition_lag_seconds_bucket');
    expect(lagBuckets.get('{le="1",kind="genesis.instance"}')).toBe(1);
    expect(lagBuckets.get('{le="2.5",kind="genesis.instance"}')).toBe(2);

    const faults = samples(text, 'hangar_faults_fired_total');
    expect(faults.get('{cloud="genesis",target="lifecycle"}')).toBe(1);
    expect(faults.get('{cloud="genesis",target="request"}')).toBe(1);

    const perAccount = samples(text, 'hangar_account_requests_total');
    expect(perAccount.get(`{account="${other.accountId}",cloud="genesis"}`)).toBe(3);
    expect(perAccount.get(`{account="${h.demoAccountId}",cloud="genesis"}`)).toBeGreaterThanOrEqual(8);
    void booted;
  });

  it("has every metric deploy/grafana-dashboard.json's panels query", async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana-dashboard.json', import.meta.url), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((panel: any) => panel.targets.map((t: any) => t.expr));
    const names = new Set(exprs.flatMap((expr) => [...expr.matchAll(/\bhangar_\w+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''))));
    expect(names.size).toBeGreaterThanOrEqual(10);
    const text = await (await fetch(`${h.url}/metrics`)).text();
    for (const name of names) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
  });

  it(`keeps per-account series to ${ACCOUNT_SERIES_LIMIT}; later accounts count together as "other"`, async () => {
    for (let i = 0; i < ACCOUNT_SERIES_LIMIT + 5; i++) {
      const account = await h.newAccount(`many-${i}`);
      expect((await account.genesis.get('/ssh-keys')).status).toBe(200);
    }
    const perAccount = samples(await (await fetch(`${h.url}/metrics`)).text(), 'hangar_account_requests_total');
    expect(perAccount.size).toBe(ACCOUNT_SERIES_LIMIT + 1);
    expect(perAccount.get('{account="other",cloud="genesis"}')).toBeGreaterThanOrEqual(5);
  });

  it.runIf(process.env.HANGAR_TEST_ENGINE === 'postgres')('counts PostgreSQL connections by state, the ones reads share among them', async () => {
    // (a read made outside a transaction goes on a shared connection: see shared-reads.ts)
    expect((await h.genesis.get('/instances')).status).toBe(200);
    const connections = samples(await (await fetch(`${h.url}/metrics`)).text(), 'hangar_database_connections');
    expect([...connections.keys()].sort()).toEqual(['{state="idle"}', '{state="open"}', '{state="shared"}', '{state="waiting"}']);
    expect(connections.get('{state="shared"}')).toBeGreaterThanOrEqual(1);
    expect(connections.get('{state="shared"}')).toBeLessThanOrEqual(2);
    expect(connections.get('{state="open"}')).toBeLessThanOrEqual(8);
  });
});
