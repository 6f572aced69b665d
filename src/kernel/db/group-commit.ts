import { CompiledQuery, sql, Transaction, type DatabaseConnection, type Kysely, type KyselyProps } from 'kysely';
import { isStoreUnavailable, retryingAborted, StoreBusy } from './errors.js';

interface Member {
  work: (trx: Transaction<any>) => Promise<unknown>;
  resolve: (value: any) => void;
  reject: (error: unknown) => void;
  /** When it was queued (ms, performance.now). */
  queuedAt: number;
}

/**
 * How many units may wait for their group under one key, and for how long, on PostgreSQL: the
 * bounds a request waiting for a pooled connection has (HANGAR_DATABASE_QUEUE_LIMIT and
 * _TIMEOUT). A grouped create waits for the group ahead of it instead, holding no connection.
 */
export interface GroupLimits {
  queueLimit: number;
  queueTimeoutMs: number;
}

/** The most units of work one commit carries. */
const MAX_GROUP = 64;

/**
 * How a group's units share their transaction: one after another, each in a savepoint (SQLite:
 * one connection, statements that cost microseconds), or all at once with their statements
 * pipelined (PostgreSQL: every statement a round trip), or not at all (each its own transaction).
 */
export type Grouping = 'savepoints' | 'pipelined' | 'none';

/**
 * Group commit. On a store with one connection (SQLite), units of work that arrive together
 * (the requests read in one turn of the event loop) run one after another in a single
 * transaction, each inside a savepoint of its own, and are committed once: a commit writes
 * every page its transaction changed, and concurrent creates change the same few pages (the
 * account's counters, the stock row, the right edges of the indexes), so one commit for all
 * of them writes those pages once instead of once each.
 *
 * Each unit behaves as if it ran alone: one that throws is rolled back to its savepoint and
 * rejects with its error, the others go on; none resolves before the commit that makes it
 * durable, and if that commit fails, every unit of the group rejects with its error.
 *
 * On PostgreSQL (`pipelined`) a round trip costs far more than a statement does, on both sides,
 * and a create makes several in turn. The units of a group run at once in one transaction on
 * one connection: each unit's statements still go one after another, but the units' statements
 * of one turn leave together (the client pipelines), so the group makes about as many round
 * trips as one unit, and one commit. PostgreSQL has no savepoint that concurrent units could
 * each hold, and a failed statement fails the whole transaction: so if any unit throws, or any
 * statement fails (even one a unit caught), the group is rolled back and every unit runs again,
 * alone in a transaction of its own, as without grouping. A unit's work must therefore be
 * repeatable, as any transaction that may be retried: what it keeps outside the store is hints
 * only.
 *
 * Units running at once in one transaction do not wait for each other's row locks, so only
 * units that say they may share one are grouped there: those given the same `key`, which the
 * caller makes from the rows they contend for (an account's counter, a type's stock). Such
 * units take the same rows, in the same order, as each would alone (no deadlock a single one
 * could not meet), and take them by updates that check and write in one statement. A unit whose
 * correctness rests on a row lock taken to read (a disk to attach) is given no key, and runs in
 * a transaction of its own. Groups of different keys run side by side, each on its connection.
 */
export class GroupCommit {
  /** The units waiting for their group, by key (SQLite: one queue). */
  private readonly queues = new Map<string, Member[]>();

  constructor(
    private readonly db: Kysely<any>,
    private readonly grouping: Grouping,
    private readonly limits: GroupLimits = { queueLimit: Number.POSITIVE_INFINITY, queueTimeoutMs: Number.POSITIVE_INFINITY },
  ) {}

  /**
   * Runs `work` in a transaction, shared with the units queued with it (under the same `key`
   * on PostgreSQL; without one, there, a transaction of its own).
   */
  run<T>(work: (trx: Transaction<any>) => Promise<T>, key?: string): Promise<T> {
    if (this.grouping === 'none' || (this.grouping === 'pipelined' && key === undefined)) return this.alone(work);
    const queueKey = this.grouping === 'savepoints' ? '' : key!;
    return new Promise<T>((resolve, reject) => {
      const member = { work, resolve, reject, queuedAt: performance.now() };
      const queue = this.queues.get(queueKey);
      if (queue !== undefined) {
        if (this.grouping === 'pipelined' && queue.length >= this.limits.queueLimit) {
          reject(new StoreBusy(`the store is busy: ${queue.length} like writes wait for the one before them; retry shortly`));
          return;
        }
        queue.push(member);
        return;
      }
      this.queues.set(queueKey, [member]);
      // After this turn's I/O: every request read in it has queued its unit by then.
      setImmediate(() => void this.drain(queueKey));
    });
  }

  private async drain(key: string): Promise<void> {
    const queue = this.queues.get(key)!;
    while (queue.length > 0) {
      const group = this.grouping === 'pipelined' ? this.unexpired(queue.splice(0, MAX_GROUP)) : queue.splice(0, MAX_GROUP);
      if (group.length === 0) continue;
      if (group.length === 1) {
        const [only] = group;
        await this.alone(only!.work).then(only!.resolve, only!.reject);
      } else if (this.grouping === 'pipelined') {
        await this.pipelined(group);
      } else {
        await this.savepoints(group);
      }
    }
    this.queues.delete(key);
  }

  /** The units that have not waited longer than the queue allows; the others are told the store is busy. */
  private unexpired(group: Member[]): Member[] {
    const now = performance.now();
    return group.filter((member) => {
      const waited = now - member.queuedAt;
      if (waited <= this.limits.queueTimeoutMs) return true;
      member.reject(new StoreBusy(`the store is busy: this write waited ${Math.round(waited)} ms for the one before it, more than ${this.limits.queueTimeoutMs} ms; retry shortly`));
      return false;
    });
  }

  /** A group's units one after another in one transaction, each in a savepoint (see the class). */
  private async savepoints(group: Member[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const member of group) {
          await sql`savepoint grouped`.execute(trx);
          try {
            const value = await member.work(trx);
            await sql`release grouped`.execute(trx);
            outcomes.push({ ok: true, value });
          } catch (error) {
            await sql`rollback to grouped`.execute(trx);
            await sql`release grouped`.execute(trx);
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const member of group) member.reject(error);
      return;
    }
    group.forEach((member, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) member.resolve(outcome.value);
      else member.reject(outcome.error);
    });
  }

  /** A group's units at once in one PostgreSQL transaction; if anything fails, each again alone (see the class). */
  private async pipelined(group: Member[]): Promise<void> {
    const executor = this.db.getExecutor();
    let values: unknown[] | null = null;
    try {
      values = await executor.provideConnection(async (connection) => {
        let failed = false;
        const watched: DatabaseConnection = {
          executeQuery: <R>(query: CompiledQuery) =>
            connection.executeQuery<R>(query).catch((error: unknown) => {
              failed = true;
              throw error;
            }),
          // (a stream's failure could not be seen here: no grouped write reads that way)
          streamQuery: () => {
            throw new Error('a grouped write does not stream its rows');
          },
        };
        // A transaction for each unit (the lifecycle engine keeps what a write records by its
        // transaction), all on this connection, each statement sent as soon as it is asked for:
        // Kysely's own transaction would send one only once the one before it is answered.
        const shared = executor.withConnectionProvider({ provideConnection: (consumer) => consumer(watched) });
        // (the props' dialect and driver serve introspection and connection management, which a
        // unit's transaction does not offer: its statements go through `shared` only)
        const props = { config: {}, dialect: {}, driver: {}, executor: shared } as unknown as KyselyProps;
        await connection.executeQuery(CompiledQuery.raw('begin'));
        const settled = await Promise.allSettled(group.map(async (member) => member.work(new Transaction<any>(props))));
        if (failed || settled.some((outcome) => outcome.status === 'rejected')) {
          await connection.executeQuery(CompiledQuery.raw('rollback'));
          return null;
        }
        try {
          await connection.executeQuery(CompiledQuery.raw('commit'));
        } catch (error) {
          // A statement held for the commit was refused (nothing was committed): each alone.
          // Where the connection itself failed, whether the commit was made is unknown.
          if (isStoreUnavailable(error)) throw error;
          return null;
        }
        return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value);
      });
    } catch (error) {
      for (const member of group) member.reject(error);
      return;
    }
    if (values !== null) {
      group.forEach((member, i) => member.resolve(values![i]));
      return;
    }
    // At once, as they would have run without grouping. (One after another, the last would run
    // long after the group failed: after a reset or an account's deletion that failed it, say,
    // where each alone at once meets it as a request of its own would.)
    await Promise.all(group.map((member) => this.alone(member.work).then(member.resolve, member.reject)));
  }

  /** A unit in a transaction of its own, run again if PostgreSQL aborts it (a deadlock: see retryingAborted). */
  private alone<T>(work: (trx: Transaction<any>) => Promise<T>): Promise<T> {
    return retryingAborted(() => this.db.transaction().execute(work));
  }
}
