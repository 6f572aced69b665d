import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { LifecycleDef } from '../../src/kernel/lifecycle/engine.js';
import { testStore } from '../helpers/hangar.js';

const T0 = Date.parse('2026-01-05T10:00:00.000Z');
const HOUR = 3_600_000;

const widgets: LifecycleDef = {
  kind: 'test.widget',
  table: 'widgets',
  statusColumn: 'status',
  accountColumn: 'account_id',
  updatedAtColumn: 'updated_at',
  transitions: {
    build: { from: 'building', to: 'ready', after: { fast: 1_000, realistic: 1_000 } },
    first: {
      from: 'a',
      to: 'b',
      after: { fast: 1_000, realistic: 1_000 },
      effect: async (t) => {
        await t.schedule('second');
      },
    },
    second: { from: 'b', to: 'c', after: { fast: 1_000, realistic: 1_000 } },
  },
};

/** The lifecycle engine with accounts' own clocks, on the store the suite runs on. */
describe('the lifecycle engine on accounts\' own clocks', () => {
  let kernel: Kernel;
  let clock: Clock;
  let drop: () => Promise<void>;

  beforeEach(async () => {
    const store = testStore();
    drop = store.drop;
    clock = new Clock({ frozenAt: T0 });
    kernel = await Kernel.open({ databaseUrl: store.url, secretKey: 'hangar-test-sealing-key', timings: 'fast', clock, log: { info: vi.fn(), warn: vi.fn(), error: vi.fn() } });
    await kernel.db.schema
      .createTable('widgets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    kernel.lifecycle.register(widgets);
    await kernel.start();
  });
  afterEach(async () => {
    await kernel.close();
    await drop();
  });

  const account = async (name: string) => (await kernel.tenancy.create(name)).account.id;
  const widget = async (id: string, accountId: string, status: string, transition: string) => {
    await kernel.db.insertInto('widgets').values({ id, account_id: accountId, status, updated_at: kernel.clockFor(accountId).now() }).execute();
    return kernel.lifecycle.schedule(kernel.db, 'test.widget', id, transition, { account: accountId });
  };
  const status = async (id: string) => (await kernel.db.selectFrom('widgets').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
  const timers = async () =>
    (await kernel.db.selectFrom('lifecycle_timers').select(['resource_id', 'own_clock', 'due_at', 'held']).orderBy('resource_id').execute()).map((t) => ({
      resource: t.resource_id,
      own: Number(t.own_clock),
      due: Number(t.due_at),
      held: Number(t.held),
    }));
  const logOf = async (id: string) =>
    (await kernel.db.selectFrom('lifecycle_log').select(['transition', 'due_at', 'applied_at']).where('resource_id', '=', id).orderBy('id').execute()).map((l) => [
      l.transition,
      Number(l.due_at),
      Number(l.applied_at),
    ]);

  it('moves a timer to the account\'s clock when it takes control, and back when it is released', async () => {
    const a = await account('a');
    const b = await account('b');
    expect(kernel.clockFor(a)).toBe(clock); // following: the global clock itself
    await widget('wa', a, 'building', 'build');
    await widget('wb', b, 'building', 'build');
    expect(await timers()).toEqual([
      { resource: 'wa', own: 0, due: T0 + 1_000, held: 0 },
      { resource: 'wb', own: 0, due: T0 + 1_000, held: 0 },
    ]);
    expect(await kernel.commandAccountClock(a, { op: 'freeze' })).toEqual({ now: new Date(T0).toISOString(), frozen: true, follows_global: false, applied: 0 });
    expect((await timers())[0]).toEqual({ resource: 'wa', own: 1, due: T0 + 1_000, held: 0 });
    // The global clock moves b's widget only.
    clock.advance(5_000);
    await kernel.lifecycle.runDue();
    expect([await status('wa'), await status('wb')]).toEqual(['building', 'ready']);
    // Released (behind the global clock): a follows it again, and what fell due on the way is applied.
    expect(await kernel.commandAccountClock(a, { op: 'release' })).toMatchObject({ follows_global: true, applied: 1 });
    expect(kernel.clockFor(a)).toBe(clock);
    expect(await status('wa')).toBe('ready');
    expect(await logOf('wa')).toEqual([['build', T0 + 1_000, T0 + 5_000]]);
  });

  it("keeps a chain of transitions on the account's clock", async () => {
    const a = await account('a');
    await kernel.commandAccountClock(a, { op: 'freeze', at: T0 + HOUR });
    await widget('w', a, 'a', 'first');
    expect((await kernel.commandAccountClock(a, { op: 'advance', by: 1_000 }))!.applied).toBe(1);
    expect(await status('w')).toBe('b');
    // The global clock passing the follow-up's due time (on the global clock's scale) moves nothing.
    clock.advance(2 * HOUR);
    await kernel.lifecycle.runDue();
    expect(await status('w')).toBe('b');
    expect((await kernel.commandAccountClock(a, { op: 'advance', by: 1_000 }))!.applied).toBe(1);
    expect(await logOf('w')).toEqual([
      ['first', T0 + HOUR + 1_000, T0 + HOUR + 1_000],
      ['second', T0 + HOUR + 2_000, T0 + HOUR + 2_000],
    ]);
  });

  it("releases held transitions at the account's now, and an account's advance releases only its own manual-mode timers", async () => {
    kernel.lifecycle.setMode('test.widget', { mode: 'manual' });
    const a = await account('a');
    const b = await account('b');
    await kernel.commandAccountClock(a, { op: 'freeze', at: T0 + HOUR });
    await kernel.commandAccountClock(b, { op: 'freeze', at: T0 + 2 * HOUR });
    await widget('wa', a, 'building', 'build');
    await widget('wb', b, 'building', 'build');
    await widget('wa2', a, 'building', 'build');
    // An account's advance past a held timer's due time lets it go; the other account's stays held.
    expect((await kernel.commandAccountClock(a, { op: 'advance', by: 1_000 }))!.applied).toBe(2);
    expect([await status('wa'), await status('wa2'), await status('wb')]).toEqual(['ready', 'ready', 'building']);
    // Let go by an operator: due at the account's now, not the global clock's.
    expect(await kernel.lifecycle.release({ resourceId: 'wb' })).toBe(1);
    expect(await logOf('wb')).toEqual([['build', T0 + 2 * HOUR, T0 + 2 * HOUR]]);
  });

  it('applies the transitions of a running account clock as its time passes, while the global clock stands still', async () => {
    const a = await account('a');
    await kernel.commandAccountClock(a, { op: 'freeze' });
    await kernel.commandAccountClock(a, { op: 'resume' });
    expect(kernel.clockFor(a).frozen).toBe(false);
    await widget('w', a, 'building', 'build');
    // Nobody moves any clock: the engine arms for the account clock's due time on its own.
    await expect.poll(() => status('w'), { timeout: 60_000, interval: 100 }).toBe('ready');
    expect(clock.now()).toBe(T0);
  });
});
