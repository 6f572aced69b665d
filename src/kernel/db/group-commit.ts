import { sql, type Kysely, type Transaction } from 'kysely';

interface Member {
  work: (trx: Transaction<any>) => Promise<unknown>;
  resolve: (value: any) => void;
  reject: (error: unknown) => void;
}

/** The most units of work one commit carries. */
const MAX_GROUP = 64;

/**
 * Group commit for a store with one connection (SQLite). Units of work that arrive together
 * (the requests read in one turn of the event loop) run one after another in a single
 * transaction, each inside a savepoint of its own, and are committed once: a commit writes
 * every page its transaction changed, and concurrent creates change the same few pages (the
 * account's counters, the stock row, the right edges of the indexes), so one commit for all
 * of them writes those pages once instead of once each.
 *
 * Each unit behaves as if it ran alone: one that throws is rolled back to its savepoint and
 * rejects with its error, the others go on; none resolves before the commit that makes it
 * durable, and if that commit fails, every unit of the group rejects with its error.
 * On a pooled store (PostgreSQL) every unit is a transaction of its own.
 */
export class GroupCommit {
  private queue: Member[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Kysely<any>,
    private readonly grouping: boolean,
  ) {}

  run<T>(work: (trx: Transaction<any>) => Promise<T>): Promise<T> {
    if (!this.grouping) return this.db.transaction().execute(work);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After this turn's I/O: every request read in it has queued its unit by then.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_GROUP);
      if (group.length === 1) {
        const [only] = group;
        await this.db.transaction().execute(only!.work).then(only!.resolve, only!.reject);
        continue;
      }
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
        continue;
      }
      group.forEach((member, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) member.resolve(outcome.value);
        else member.reject(outcome.error);
      });
    }
    this.scheduled = false;
  }
}
