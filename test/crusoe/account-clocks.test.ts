import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { Admin, adminOf } from '../helpers/admin.js';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { expectCrusoeError, goTimestamp, newCrusoeAccount, type CrusoeClient } from '../helpers/crusoe.js';
import { awaitOp, Families } from './support.js';

const KEY = publicKey();
const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);

/**
 * Crusoe under an account's own clock: operation times and their 24-hour expiry, token expiry
 * and usage read that account's clock, and another account (following the global clock) is
 * untouched by it. The global clock stays at its start throughout.
 */
describe('Crusoe under per-account clocks', () => {
  let h: TestHangar;
  let admin: Admin;
  let own: { accountId: string; client: CrusoeClient };
  let other: { accountId: string; client: CrusoeClient };
  const START = at('2026-01-05T10:00:00Z');
  const OWN_START = at('2026-02-01T00:00:00Z');

  beforeAll(async () => {
    h = await startHangar({ clock: new Clock({ frozenAt: START }), env: { HANGAR_TIMINGS: 'instant' } });
    admin = adminOf(h);
    own = await newCrusoeAccount(h, 'own-clock');
    other = await newCrusoeAccount(h, 'global-clock');
    const frozen = await admin.post(`/accounts/${own.accountId}/clock/freeze`, { at: new Date(OWN_START).toISOString() });
    expect(frozen.body).toEqual({ now: new Date(OWN_START).toISOString(), frozen: true, follows_global: false });
  });
  afterAll(() => h.close());

  const advanceOwn = async (ms: number) => {
    const res = await admin.post(`/accounts/${own.accountId}/clock/advance`, { by: ms });
    expect(res.status, res.text).toBe(200);
    return res.body;
  };
  const createVm = async (c: CrusoeClient, name: string) => {
    const res = await c.post(`/projects/${c.projectId}/compute/vms/instances`, { name, type: 'a100.2x', location: 'us-east1-a', ssh_public_key: KEY });
    expect(res.status, res.text).toBe(200);
    return res.body.operation;
  };
  const operation = (c: CrusoeClient, id: string) => c.get(`/projects/${c.projectId}/compute/vms/instances/operations/${id}`);

  it('stamps operations with the account\'s time and expires them a day later on its clock, not the global one', async () => {
    const mine = await createVm(own.client, 'mine');
    const theirs = await createVm(other.client, 'theirs');
    expect(Date.parse(mine.started_at)).toBe(OWN_START);
    expect(Date.parse(theirs.started_at)).toBe(START);
    const done = await awaitOp(h, own.client, Families.vms, mine, 0);
    expect(done.state).toBe('SUCCEEDED');
    expect(Date.parse(done.completed_at)).toBe(OWN_START);
    expect((await awaitOp(h, other.client, Families.vms, theirs, 0)).state).toBe('SUCCEEDED');

    await advanceOwn(23 * HOUR);
    expect((await operation(own.client, mine.operation_id)).status).toBe(200);
    await advanceOwn(2 * HOUR);
    expectCrusoeError(await operation(own.client, mine.operation_id), 403, 'unauthorized', mine.operation_id);
    // The other account's day has not passed: its operation is still there.
    expect((await operation(other.client, theirs.operation_id)).status).toBe(200);
    expect(h.clock.now()).toBe(START);
  });

  it('counts usage up to the account\'s now', async () => {
    // The VM of the first test has run 25 hours on the account's clock: 24 on its first day, 1 on the next, 2 GPUs each.
    const org = own.client.credentials.organization_id!;
    const res = await own.client.get(`/organizations/${org}/usage`, { query: { start_date: '2026-02-01', end_date: '2026-02-02' } });
    expect(res.status, res.text).toBe(200);
    expect(res.body.items.map((i: any) => [i.billable_metric, i.date, i.quantity])).toEqual([
      ['gpu-hours', '2026-02-01', 48],
      [expect.any(String), '2026-02-01', 24 * 128], // (and its 128 GiB boot disk, by the hour)
      ['gpu-hours', '2026-02-02', 2],
      [expect.any(String), '2026-02-02', 128],
    ]);
    const options = await own.client.get(`/organizations/${org}/usage/options`);
    expect(options.status, options.text).toBe(200);
    expect(options.body).toMatchObject({ start_date: '2026-02-01', end_date: '2026-02-02' });
    // The other account's VM started at the global clock's instant, which has not moved: nothing used yet.
    const theirs = await other.client.get(`/organizations/${other.client.credentials.organization_id}/usage/options`);
    expect(theirs.body).toMatchObject({ start_date: '2026-01-05', end_date: '2026-01-05' });
  });

  it('expires tokens on the account\'s clock', async () => {
    const ownNow = at('2026-02-02T01:00:00Z');
    expect((await admin.get(`/accounts/${own.accountId}/clock`)).body.now).toBe(new Date(ownNow).toISOString());
    const made = await own.client.post('/users/tokens', { alias: 'short', expires_at: goTimestamp(ownNow + HOUR) });
    expect(made.status, made.text).toBe(200);
    const short = own.client.as({ access_key: made.body.token.access_key, secret_key: made.body.token.secret_key });
    // (an expiry in the account's past is refused, though it is the global clock's future)
    expectCrusoeError(await own.client.post('/users/tokens', { expires_at: goTimestamp(ownNow - HOUR) }), 400, 'bad_request', '"expires_at" must be in the future');

    const theirs = await other.client.post('/users/tokens', { alias: 'theirs', expires_at: goTimestamp(START + HOUR) });
    const theirsClient = other.client.as({ access_key: theirs.body.token.access_key, secret_key: theirs.body.token.secret_key });
    expect((await short.get('/users/identities')).status).toBe(200);
    await advanceOwn(HOUR);
    expectCrusoeError(await short.get('/users/identities'), 401, 'bad_credential', 'unknown, deleted or expired');
    // The other account's token of the same length still works: its clock has not moved.
    expect((await theirsClient.get('/users/identities')).status).toBe(200);
  });
});
