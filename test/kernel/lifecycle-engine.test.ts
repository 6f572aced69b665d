import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Clock } from '../../src/kernel/clock.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { LifecycleDef, TransitionContext } from '../../src/kernel/lifecycle/engine.js';
import { testStore } from '../helpers/hangar.js';
import { gate } from '../helpers/gate.js';

const T0 = Date.parse('2026-01-05T10:00:00.000Z');

/** A test's own resource kind on `table` (its `status` and `updated_at` columns, no account), transitions aside. */
const kindOn = (kind: string, table: string) => ({ kind, table, statusColumn: 'status', accountColumn: null, updatedAtColumn: 'updated_at' });

/** A tiny resource kind of the test's own, to drive the engine without any cloud. */
const widgets: LifecycleDef = {
  ...kindOn('test.widget', 'widgets'),
  transitions: {
    build: {
      from: 'building',
      to: 'ready',
      after: { fast: 1_000, realistic: 60_000 },
      effect: async (t) => ({ note: `built from ${String(t.row.status)}` }),
    },
    first: {
      from: 'a',
      to: 'b',
      after: { fast: 1_000, realistic: 1_000 },
      effect: async (t) => {
        await t.schedule('second');
      },
    },
    second: { from: 'b', to: 'c', after: { fast: 1_000, realistic: 1_000 } },
    fragile: {
      from: ['fragile', 'shaky'],
      to: 'ready',
      after: { fast: 500, realistic: 500 },
      effect: async (t) => {
        if (t.row.note === 'bomb') throw new Error('boom');
      },
    },
    destroy: { from: 'doomed', to: null, after: { fast: 200, realistic: 200 } },
    repaint: { from: 'ready', to: 'painted', after: { fast: 1_000, realistic: 1_000 }, effect: async (t) => ({ note: `${String(t.row.note)}, painted` }) },
  },
};

describe('the lifecycle engine', () => {
  let kernel: Kernel;
  let clock: Clock;
  const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };

  beforeEach(async () => {
    vi.clearAllMocks();
    clock = new Clock({ frozenAt: T0 });
    kernel = await Kernel.open({ databaseUrl: 'sqlite::memory:', timings: 'fast', clock, log });
    await kernel.db.schema
      .createTable('widgets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    kernel.lifecycle.register(widgets);
  });
  afterEach(async () => {
    await kernel.close();
  });

  async function widget(id: string, status: string, note = ''): Promise<void> {
    await kernel.db.insertInto('widgets').values({ id, status, note, updated_at: clock.now() }).execute();
  }
  async function row(id: string) {
    return kernel.db.selectFrom('widgets').selectAll().where('id', '=', id).executeTakeFirst();
  }
  async function logRows(id?: string) {
    let query = kernel.db.selectFrom('lifecycle_log').selectAll().orderBy('due_at');
    if (id) query = query.where('resource_id', '=', id);
    return query.execute();
  }

  it('refuses to register a kind twice or schedule an unknown transition', async () => {
    expect(() => kernel.lifecycle.register(widgets)).toThrow(/registered twice/);
    await expect(kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w', 'fly')).rejects.toThrow(/unknown lifecycle transition/);
    await expect(kernel.lifecycle.schedule(kernel.db, 'test.nothing', 'w', 'build')).rejects.toThrow(/unknown lifecycle transition/);
  });

  it('refuses an unknown transition in every timing profile and mode, queueing nothing', async () => {
    for (const profile of ['instant', 'fast', 'realistic'] as const) {
      kernel.lifecycle.setProfile(profile);
      for (const mode of [{ mode: 'time' }, { mode: 'manual' }, { mode: 'reads', reads: 2 }] as const) {
        kernel.lifecycle.setMode('test.widget', mode);
        await expect(kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w', 'biuld'), `${profile} ${mode.mode}`).rejects.toThrow(/unknown lifecycle transition test.widget.biuld/);
      }
    }
    // (an operator's duration override skips the profile's table: still checked)
    kernel.lifecycle.setMode('test.widget', { mode: 'time' });
    kernel.lifecycle.setOverride('test.widget', 'build', 0);
    await expect(kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w', 'biuld')).rejects.toThrow(/unknown lifecycle transition/);
    expect(await kernel.lifecycle.pending()).toBe(0);
  });

  it('times transitions by profile, with operator overrides winning', () => {
    expect(kernel.lifecycle.timingProfile).toBe('fast');
    expect(kernel.lifecycle.durationOf('test.widget', 'build')).toBe(1_000);
    kernel.lifecycle.setProfile('realistic');
    expect(kernel.lifecycle.durationOf('test.widget', 'build')).toBe(60_000);
    kernel.lifecycle.setProfile('instant');
    expect(kernel.lifecycle.durationOf('test.widget', 'build')).toBe(0);
    kernel.lifecycle.setOverride('test.widget', 'build', 42);
    expect(kernel.lifecycle.durationOf('test.widget', 'build')).toBe(42);
    kernel.lifecycle.setOverride('test.widget', 'build', null);
    expect(kernel.lifecycle.durationOf('test.widget', 'build')).toBe(0);
  });

  it('does nothing before the due time, then applies the transition once', async () => {
    await widget('w1', 'building');
    const due = await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w1', 'build');
    expect(due).toBe(T0 + 1_000);
    expect(await kernel.lifecycle.pending('w1')).toBe(1);

    expect(await kernel.lifecycle.runDue()).toBe(0);
    clock.advance(999);
    expect(await kernel.lifecycle.runDue()).toBe(0);
    expect((await row('w1'))!.status).toBe('building');

    clock.advance(1);
    expect(await kernel.lifecycle.runDue()).toBe(1);
    // The effect's columns are set along with the new state; the update time is the due time.
    expect(await row('w1')).toMatchObject({ status: 'ready', note: 'built from building', updated_at: T0 + 1_000 });
    expect(await kernel.lifecycle.pending('w1')).toBe(0);

    clock.advance(60_000);
    expect(await kernel.lifecycle.runDue()).toBe(0);
    const rows = await logRows('w1');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'test.widget', transition: 'build', from_state: 'building', to_state: 'ready' });
    expect(Number(rows[0]!.due_at)).toBe(T0 + 1_000);
    expect(Number(rows[0]!.applied_at)).toBe(T0 + 1_000);
  });

  it('applies a timer once even when runs overlap', async () => {
    await widget('w1', 'building');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w1', 'build');
    clock.advance(1_000);
    const [a, b] = await Promise.all([kernel.lifecycle.runDue(), kernel.lifecycle.runDue()]);
    expect(a).toBe(1);
    expect(b).toBe(1); // the same run, reported to both callers
    expect(await logRows('w1')).toHaveLength(1);
  });

  it('drops a stale timer when the row has left the from-state', async () => {
    await widget('w1', 'building');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w1', 'build');
    await kernel.db.updateTable('widgets').set({ status: 'cancelled' }).where('id', '=', 'w1').execute();
    clock.advance(5_000);
    expect(await kernel.lifecycle.runDue()).toBe(0);
    expect(await row('w1')).toMatchObject({ status: 'cancelled', note: '' });
    expect(await kernel.lifecycle.pending()).toBe(0);
    expect(await logRows()).toHaveLength(0);
  });

  it('drops the timer of a row that no longer exists', async () => {
    await widget('w1', 'building');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w1', 'build');
    await kernel.db.deleteFrom('widgets').where('id', '=', 'w1').execute();
    clock.advance(5_000);
    expect(await kernel.lifecycle.runDue()).toBe(0);
    expect(await kernel.lifecycle.pending()).toBe(0);
  });

  it('cancels every pending timer of a resource', async () => {
    await widget('w1', 'building');
    await widget('w2', 'building');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w1', 'build');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w2', 'build');
    await kernel.lifecycle.cancel(kernel.db, 'w1');
    clock.advance(1_000);
    expect(await kernel.lifecycle.runDue()).toBe(1);
    expect((await row('w1'))!.status).toBe('building');
    expect((await row('w2'))!.status).toBe('ready');
  });

  it('sets a throwing transition aside without holding back the others', async () => {
    await widget('bad', 'fragile', 'bomb');
    await widget('good1', 'fragile');
    await widget('good2', 'shaky');
    for (const id of ['bad', 'good1', 'good2']) await kernel.lifecycle.schedule(kernel.db, 'test.widget', id, 'fragile');
    clock.advance(500);
    expect(await kernel.lifecycle.runDue()).toBe(2);
    expect((await row('good1'))!.status).toBe('ready');
    expect((await row('good2'))!.status).toBe('ready');
    // The failing one is left as it was, its timer dropped and the failure logged once.
    expect((await row('bad'))!.status).toBe('fragile');
    expect(await kernel.lifecycle.pending()).toBe(0);
    expect(log.error).toHaveBeenCalledTimes(1);
    const [context] = log.error.mock.calls[0]!;
    expect((context as any).err.message).toBe('boom');
    expect((context as any).timer.resource_id).toBe('bad');
    expect((await logRows()).map((r) => r.resource_id).sort()).toEqual(['good1', 'good2']);
  });

  it('keeps the pace of a chain scheduled from an effect when the clock jumps', async () => {
    await widget('w1', 'a');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w1', 'first');
    clock.advance(1_500);
    expect(await kernel.lifecycle.runDue()).toBe(1);
    expect((await row('w1'))!.status).toBe('b');
    // The follow-up is due 1 s after the first was due (T0+2000), not 1 s after it ran.
    clock.advance(499);
    expect(await kernel.lifecycle.runDue()).toBe(0);
    clock.advance(1);
    expect(await kernel.lifecycle.runDue()).toBe(1);
    expect(await row('w1')).toMatchObject({ status: 'c', updated_at: T0 + 2_000 });

    // One big jump runs the whole chain in one go, each step stamped with its own due time.
    await widget('w2', 'a');
    const start = clock.now();
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w2', 'first');
    clock.advance(60_000);
    expect(await kernel.lifecycle.runDue()).toBe(2);
    expect(await row('w2')).toMatchObject({ status: 'c', updated_at: start + 2_000 });
    expect((await logRows('w2')).map((r) => [r.transition, Number(r.due_at)])).toEqual([
      ['first', start + 1_000],
      ['second', start + 2_000],
    ]);
  });

  it("applies a resource's timers that fall due together in order, each seeing what the one before did", async () => {
    // Both land in one batch: the second must find the row as the first left it (ready, with
    // its note), not as the batch read it (building), or it is dropped as stale.
    await widget('w1', 'building');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w1', 'build'); // due T0+1000
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w1', 'repaint', T0 + 500); // due T0+1500
    await widget('w2', 'building');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w2', 'build');
    clock.advance(2_000);
    expect(await kernel.lifecycle.runDue()).toBe(3);
    expect(await row('w1')).toMatchObject({ status: 'painted', note: 'built from building, painted', updated_at: T0 + 1_500 });
    expect(await row('w2')).toMatchObject({ status: 'ready', note: 'built from building' });
    expect((await logRows('w1')).map((r) => [r.transition, r.from_state, r.to_state])).toEqual([
      ['build', 'building', 'ready'],
      ['repaint', 'ready', 'painted'],
    ]);
  });

  /**
   * Gadgets g1, g2 and g3 whose `wire` transition leases the next address of 10.9.0.0/24 as its
   * note, all due at once (one batch); `before` runs first in each effect.
   */
  async function wireThreeGadgets(before?: (t: TransitionContext) => Promise<void>): Promise<void> {
    await kernel.db.transaction().execute((trx) => kernel.ipam.ensurePool(trx, 'test-pool', '10.9.0.0/24'));
    kernel.lifecycle.register({
      ...kindOn('test.gadget', 'widgets'),
      transitions: {
        wire: {
          from: 'unwired',
          to: 'wired',
          after: { fast: 100, realistic: 100 },
          effect: async (t) => {
            await before?.(t);
            return { note: (await kernel.ipam.allocate(t.trx, 'test-pool', t.row.id as string)) ?? 'none' };
          },
        },
      },
    });
    for (const id of ['g1', 'g2', 'g3']) {
      await widget(id, 'unwired');
      await kernel.lifecycle.schedule(kernel.db, 'test.gadget', id, 'wire');
    }
    clock.advance(100);
    expect(await kernel.lifecycle.runDue()).toBe(3);
  }

  /** Each gadget got the next address in order, and holds its lease. */
  async function expectWiredInOrder(): Promise<void> {
    const notes = await kernel.db.selectFrom('widgets').select(['id', 'note']).where('status', '=', 'wired').orderBy('id').execute();
    expect(notes).toEqual([
      { id: 'g1', note: '10.9.0.2' },
      { id: 'g2', note: '10.9.0.3' },
      { id: 'g3', note: '10.9.0.4' },
    ]);
    const leases = await kernel.db.selectFrom('ip_leases').select(['owner']).where('pool', '=', 'test-pool').orderBy('address').execute();
    expect(leases.map((l) => l.owner)).toEqual(['g1', 'g2', 'g3']);
  }

  it('leases addresses for a batch of transitions in pool order and keeps the pool cursor after the last', async () => {
    await wireThreeGadgets();
    await expectWiredInOrder();
    // The cursor was written back: the next address handed out follows the batch's last, even
    // with the first one given back (a released address waits for the pool to wrap).
    await kernel.db.transaction().execute((trx) => kernel.ipam.release(trx, 'g1', [['test-pool', '10.9.0.2']]));
    const next = await kernel.db.transaction().execute((trx) => kernel.ipam.allocate(trx, 'test-pool', 'after'));
    expect(next).toBe('10.9.0.5');
  });

  it('applies a batch again one by one when an address it leased in memory was taken meanwhile', async () => {
    let intrude = true;
    await wireThreeGadgets(async (t) => {
      if (t.row.id !== 'g2' || !intrude) return;
      intrude = false;
      // Another writer leases the address the batch is about to hand g3.
      await t.trx.insertInto('ip_leases').values({ pool: 'test-pool', address: 10 * 2 ** 24 + 9 * 2 ** 16 + 4, owner: 'intruder' }).execute();
    });
    expect(intrude).toBe(false);
    expect(log.error).not.toHaveBeenCalled();
    await expectWiredInOrder();
  });

  it('writes each row of a mixed batch its own new state', async () => {
    await widget('b1', 'building');
    await widget('b2', 'building');
    await widget('p1', 'ready', 'blue');
    await widget('d1', 'doomed');
    await widget('s1', 'a');
    await widget('keep', 'building'); // no timer: must stay as it is
    for (const [id, transition] of [['b1', 'build'], ['p1', 'repaint'], ['d1', 'destroy'], ['b2', 'build'], ['s1', 'first']] as const) {
      await kernel.lifecycle.schedule(kernel.db, 'test.widget', id, transition);
    }
    clock.advance(1_000);
    expect(await kernel.lifecycle.runDue()).toBe(5); // (s1's chained `second` is due a second later)
    const rows = await kernel.db.selectFrom('widgets').select(['id', 'status', 'note', 'updated_at']).orderBy('id').execute();
    expect(rows.map((r) => ({ ...r, updated_at: Number(r.updated_at) }))).toEqual([
      { id: 'b1', status: 'ready', note: 'built from building', updated_at: T0 + 1_000 },
      { id: 'b2', status: 'ready', note: 'built from building', updated_at: T0 + 1_000 },
      { id: 'keep', status: 'building', note: '', updated_at: T0 },
      { id: 'p1', status: 'painted', note: 'blue, painted', updated_at: T0 + 1_000 },
      { id: 's1', status: 'b', note: '', updated_at: T0 + 1_000 },
    ]);
    const log = await kernel.db.selectFrom('lifecycle_log').select(['resource_id', 'from_state', 'to_state']).orderBy('resource_id').execute();
    expect(log).toEqual([
      { resource_id: 'b1', from_state: 'building', to_state: 'ready' },
      { resource_id: 'b2', from_state: 'building', to_state: 'ready' },
      { resource_id: 'd1', from_state: 'doomed', to_state: null },
      { resource_id: 'p1', from_state: 'ready', to_state: 'painted' },
      { resource_id: 's1', from_state: 'a', to_state: 'b' },
    ]);
  });

  it("shows an effect its batch's rows and computes what they share once", async () => {
    const seen: string[][] = [];
    let computed = 0;
    kernel.lifecycle.register({
      ...kindOn('test.gauge', 'widgets'),
      transitions: {
        read: {
          from: 'unread',
          to: 'read',
          after: { fast: 100, realistic: 100 },
          effect: async (t) => {
            const all = await t.shared('ids', async () => {
              computed++;
              return t.batch.map((row) => row.id as string).sort();
            });
            seen.push(all);
            return { note: `${all.length} in batch` };
          },
        },
      },
    });
    for (const id of ['r1', 'r2', 'r3']) {
      await widget(id, 'unread');
      await kernel.lifecycle.schedule(kernel.db, 'test.gauge', id, 'read');
    }
    // Another kind's transition in the same batch is not among the peers.
    await widget('w9', 'building');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w9', 'build');
    clock.advance(1_000);
    expect(await kernel.lifecycle.runDue()).toBe(4);
    expect(computed).toBe(1);
    expect(seen).toEqual([['r1', 'r2', 'r3'], ['r1', 'r2', 'r3'], ['r1', 'r2', 'r3']]);
    const notes = await kernel.db.selectFrom('widgets').select('note').where('status', '=', 'read').execute();
    expect(notes).toEqual([{ note: '3 in batch' }, { note: '3 in batch' }, { note: '3 in batch' }]);
  });

  it('deletes the row for a transition to null', async () => {
    await widget('w1', 'doomed');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w1', 'destroy');
    clock.advance(200);
    expect(await kernel.lifecycle.runDue()).toBe(1);
    expect(await row('w1')).toBeUndefined();
    expect(await logRows('w1')).toMatchObject([{ transition: 'destroy', from_state: 'doomed', to_state: null }]);
  });

  it('applies overdue transitions when it starts', async () => {
    await widget('w1', 'building');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w1', 'build');
    clock.advance(10_000);
    await kernel.start();
    expect((await row('w1'))!.status).toBe('ready');
  });

  it('runs due transitions on its own once started and the clock moves', async () => {
    await kernel.start();
    await widget('w1', 'building');
    await kernel.lifecycle.schedule(kernel.db, 'test.widget', 'w1', 'build');
    clock.advance(1_000); // the engine listens to the clock
    await vi.waitFor(async () => expect((await row('w1'))!.status).toBe('ready'));
  });
});

/**
 * Replicas on PostgreSQL claim batches side by side (`FOR UPDATE SKIP LOCKED`). While one holds
 * a resource's earlier timer in its uncommitted batch, another must not take that resource's
 * later timer: it would find the resource not yet moved and drop the timer as stale, or apply
 * the two out of order.
 */
describe.runIf(process.env.HANGAR_TEST_ENGINE === 'postgres' && process.env.HANGAR_TEST_POSTGRES_URL)('the lifecycle engine beside another replica', () => {
  const gadgets: LifecycleDef = {
    ...kindOn('test.gadget', 'gadgets'),
    transitions: {
      up: { from: 'a', to: 'b', after: { fast: 1_000, realistic: 1_000 } },
      on: { from: 'b', to: 'c', after: { fast: 2_000, realistic: 2_000 } },
    },
  };
  let kernel: Kernel;
  let drop: () => Promise<void>;

  beforeEach(async () => {
    const store = testStore();
    drop = store.drop;
    kernel = await Kernel.open({ databaseUrl: store.url, secretKey: 'hangar-test-sealing-key', timings: 'fast', clock: new Clock({ frozenAt: T0 }), log: { info: vi.fn(), warn: vi.fn(), error: vi.fn() } });
    await kernel.db.schema
      .createTable('gadgets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    kernel.lifecycle.register(gadgets);
  });
  afterEach(async () => {
    await kernel.close();
    await drop();
  });

  it("leaves a resource's later timer alone while another replica holds its earlier one", async () => {
    await kernel.db.insertInto('gadgets').values({ id: 'g', status: 'a', updated_at: T0 }).execute();
    await kernel.lifecycle.schedule(kernel.db, 'test.gadget', 'g', 'up'); // due T0 + 1 s
    await kernel.lifecycle.schedule(kernel.db, 'test.gadget', 'g', 'on'); // due T0 + 2 s
    kernel.clock.advance(5_000);

    // "Another replica": a transaction that has claimed `up` and not committed yet.
    const [held, release] = gate();
    const [claiming, claimed] = gate();
    const other = kernel.db
      .transaction()
      .execute(async (trx) => {
        await trx.selectFrom('lifecycle_timers').select('id').where('transition', '=', 'up').forUpdate().execute();
        await trx.deleteFrom('lifecycle_timers').where('transition', '=', 'up').execute();
        claimed();
        await held;
        throw new Error('the other replica rolls back');
      })
      .catch(() => undefined);
    await claiming;

    try {
      expect(await kernel.lifecycle.runDue()).toBe(0);
      const pending = await kernel.db.selectFrom('lifecycle_timers').select('transition').execute();
      expect(pending.map((t) => t.transition).sort()).toEqual(['on', 'up']);
      expect((await kernel.db.selectFrom('gadgets').select('status').executeTakeFirstOrThrow()).status).toBe('a');
    } finally {
      // Once the other replica lets go (here, by rolling back), both apply, in order.
      release();
      await other;
    }
    expect(await kernel.lifecycle.runDue()).toBe(2);
    expect((await kernel.db.selectFrom('gadgets').select('status').executeTakeFirstOrThrow()).status).toBe('c');
    const log = await kernel.db.selectFrom('lifecycle_log').select(['transition', 'from_state', 'to_state']).orderBy('due_at').execute();
    expect(log).toEqual([
      { transition: 'up', from_state: 'a', to_state: 'b' },
      { transition: 'on', from_state: 'b', to_state: 'c' },
    ]);
  });

  it('drains a burst larger than a batch with two batches at once, each applied once', async () => {
    const count = 800; // more than one PostgreSQL batch (768)
    const [bothOpen, met] = gate();
    const batches = new Set<unknown>();
    kernel.lifecycle.register({
      ...kindOn('test.burst', 'gadgets'),
      transitions: {
        // Each batch's first transition waits until another batch is applying: with one batch
        // at a time, the drain never ends.
        go: {
          from: 'a',
          to: 'b',
          after: { fast: 1_000, realistic: 1_000 },
          effect: async (t) => {
            if (batches.has(t.trx)) return;
            batches.add(t.trx);
            if (batches.size === 2) met();
            await bothOpen;
          },
        },
      },
    });
    const ids = Array.from({ length: count }, (_, i) => `burst-${String(i).padStart(4, '0')}`);
    await kernel.db.insertInto('gadgets').values(ids.map((id) => ({ id, status: 'a', updated_at: T0 }))).execute();
    await kernel.db.transaction().execute(async (trx) => {
      for (const id of ids) await kernel.lifecycle.schedule(trx, 'test.burst', id, 'go');
    });
    kernel.clock.advance(1_000);
    expect(await kernel.lifecycle.runDue()).toBe(count);
    expect(batches.size).toBe(2);
    const moved = await kernel.db.selectFrom('gadgets').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'b').executeTakeFirstOrThrow();
    expect(Number(moved.n)).toBe(count);
    const logged = await kernel.db.selectFrom('lifecycle_log').select((eb) => eb.fn.countAll<number>().as('n')).where('transition', '=', 'go').executeTakeFirstOrThrow();
    expect(Number(logged.n)).toBe(count);
  });
});
