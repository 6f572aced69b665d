import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { DAY_MS, quantity, split } from '../../src/kernel/metering.js';

const log = { info() {}, warn() {}, error() {} };
const H = 3_600_000;
const D0 = Date.parse('2026-03-01T00:00:00Z');

describe('metering: splitting intervals into periods', () => {
  it('cuts an interval at day boundaries and stops open ones at now', () => {
    expect(split({ started_at: D0 - 2 * H, ended_at: D0 + 3 * H }, D0 - DAY_MS, D0 + DAY_MS, D0 + 10 * H)).toEqual([
      [D0 - DAY_MS, 2 * H],
      [D0, 3 * H],
    ]);
    expect(split({ started_at: D0 + H, ended_at: null }, D0, D0 + 2 * DAY_MS, D0 + DAY_MS + 6 * H)).toEqual([
      [D0, 23 * H],
      [D0 + DAY_MS, 6 * H],
    ]);
    // Outside the range, or empty: nothing.
    expect(split({ started_at: D0 - 5 * H, ended_at: D0 - H }, D0, D0 + DAY_MS, D0 + DAY_MS)).toEqual([]);
    expect(split({ started_at: D0 + H, ended_at: D0 + H }, D0, D0 + DAY_MS, D0 + DAY_MS)).toEqual([]);
    expect(quantity(2, DAY_MS)).toBe(48);
  });
});

describe('metering: the ledger', () => {
  let kernel: Kernel;
  let clock: Clock;
  let account: string;
  beforeEach(async () => {
    clock = new Clock({ frozenAt: D0 });
    kernel = await Kernel.open({ databaseUrl: 'sqlite::memory:', timings: 'fast', clock, log });
    account = (await kernel.tenancy.create('metered')).account.id;
  });
  afterEach(() => kernel.close());

  const base = { cloud: 'test', scope: 'p1', region: 'r1', resourceType: 'gpu.2x', metric: 'gpu-hours', rate: 2 };

  it('opens and closes intervals on the clock, never two open for one resource and metric', async () => {
    const { metering, db } = kernel;
    await metering.open(db, { ...base, accountId: account, resourceId: 'vm-1' });
    clock.advance(5 * H);
    // Opening again (a resize, say) closes the open one at the same instant.
    await metering.open(db, { ...base, accountId: account, resourceId: 'vm-1', rate: 4 });
    clock.advance(H);
    await metering.close(db, 'vm-1');
    const rows = await metering.intervals(db, { accountId: account, cloud: 'test', from: D0, to: D0 + DAY_MS });
    expect(rows.map((r) => [r.rate, r.started_at - D0, r.ended_at! - D0])).toEqual([
      [2, 0, 5 * H],
      [4, 5 * H, 6 * H],
    ]);
    // An interval closed where it began bills nothing and is not kept.
    await metering.open(db, { ...base, accountId: account, resourceId: 'vm-2' });
    await metering.close(db, 'vm-2');
    expect(await metering.intervals(db, { accountId: account, cloud: 'test', from: D0, to: D0 + DAY_MS, resourceIds: ['vm-2'] })).toEqual([]);
    // Closing what is not open changes nothing.
    await metering.close(db, 'nothing-here');
  });

  it('queries by time range and filters, per account', async () => {
    const { metering, db } = kernel;
    const other = (await kernel.tenancy.create('other')).account.id;
    await metering.open(db, { ...base, accountId: account, resourceId: 'a', at: D0 - DAY_MS });
    await metering.close(db, 'a', D0 - H);
    await metering.open(db, { ...base, accountId: account, resourceId: 'b', region: 'r2', at: D0 });
    await metering.open(db, { ...base, accountId: other, resourceId: 'c', at: D0 });
    const day = (from: number) => metering.intervals(db, { accountId: account, cloud: 'test', from, to: from + DAY_MS });
    expect((await day(D0 - DAY_MS)).map((r) => r.resource_id)).toEqual(['a']);
    expect((await day(D0)).map((r) => r.resource_id)).toEqual(['b']);
    expect((await metering.intervals(db, { accountId: account, cloud: 'test', from: D0 - DAY_MS, to: D0 + DAY_MS, regions: ['r1'] })).map((r) => r.resource_id)).toEqual(['a']);
    expect(await metering.distinct(db, account, 'test', 'region')).toEqual(['r1', 'r2']);
    expect(await metering.firstUsage(db, account, 'test')).toBe(D0 - DAY_MS);
    expect(await metering.firstUsage(db, account, 'elsewhere')).toBeNull();
    // Deleting the account takes its ledger with it.
    await kernel.state.prepare();
    await kernel.deleteAccount(account);
    expect(await metering.intervals(db, { accountId: account, cloud: 'test', from: 0, to: D0 + DAY_MS })).toEqual([]);
    expect((await metering.intervals(db, { accountId: other, cloud: 'test', from: 0, to: D0 + DAY_MS })).map((r) => r.resource_id)).toEqual(['c']);
  });
});
