import { sql, type Compilable, type Kysely, type RawBuilder } from 'kysely';
import type { Executor } from './db/store.js';
import { byShape, heldByShape, prepared, preparedWrite, runsTogether, TakeInTurn, together } from './db/prepared.js';
import type { ResourceDef } from './resources.js';

/**
 * Counters.writer as an expression, for a statement that reads it beside other rows (a page
 * checked against the list version it was found under): PostgreSQL's `xmin` of the counter, the
 * transaction that wrote its current version, or `'none'`. `account` is a value or a column.
 */
export function counterWriter(account: unknown, key: unknown): RawBuilder<string> {
  return sql<string>`coalesce((select c.xmin::text from counters c where c.account_id = ${account} and c.key = ${key}), 'none')`;
}

/**
 * Per-account resource counts and the quotas that cap them. Creating or removing a resource
 * moves its counter in the same transaction, so quota checks and list totals are one indexed
 * read instead of a COUNT over the account's rows.
 */
export class Counters {
  private readonly defaults = new Map<string, number>();
  /** Quotas whose use is counted from a cloud's rows rather than kept in a counter. */
  private readonly usage = new Map<string, (trx: Executor, accountId: string) => Promise<number>>();

  constructor(private readonly db: Kysely<any>) {}

  // Every create and every list reads these: built and compiled once (see db/prepared.ts).
  private readonly quotaOf = prepared<{ limit: number }>((accountId, key) =>
    this.db.selectFrom('quotas').select('limit').where('account_id', '=', accountId).where('key', '=', key),
  );
  private readonly valueOf = prepared<{ value: number }>((accountId, key) =>
    this.db.selectFrom('counters').select('value').where('account_id', '=', accountId).where('key', '=', key),
  );
  /**
   * Counts `n` more if the counter exists and the account's quota (its own, or `fallback`, the
   * default) has room: one conditional statement, so two concurrent creates cannot both take
   * the last unit, and the quota read in it (on PostgreSQL every statement is a round trip).
   */
  private readonly bumpWithinQuota = preparedWrite((n, accountId, key, fallback) =>
    this.db
      .updateTable('counters')
      .set((eb) => ({ value: eb('value', '+', n) }))
      .where('account_id', '=', accountId)
      .where('key', '=', key)
      .where(({ eb, fn, selectFrom }) =>
        eb(eb('value', '+', n), '<=', fn.coalesce(selectFrom('quotas as q').select('q.limit').where('q.account_id', '=', accountId).where('q.key', '=', key), eb.val(fallback))),
      ),
  );

  /**
   * bumpWithinQuota for several counters of one account at once (arguments: the account, then
   * key, n and default limit for each of `count` counters): the keys it counted.
   */
  private readonly bumpAllWithinQuota = byShape<number, { key: string }>((count) => [
    1 + count * 3,
    (accountId, ...wants) => {
      const rows = Array.from({ length: count }, (_, i) => sql`(${wants[i * 3]}, cast(${wants[i * 3 + 1]} as bigint), cast(${wants[i * 3 + 2]} as bigint))`);
      const query = sql`with v(key, n, fallback) as (values ${sql.join(rows)})
        update counters set value = counters.value + v.n from v
        where counters.account_id = ${accountId} and counters.key = v.key
          and counters.value + v.n <= coalesce((select q."limit" from quotas q where q.account_id = ${accountId} and q.key = v.key), v.fallback)
        returning counters.key`;
      return { compile: () => query.compile(this.db) } as Compilable<unknown>;
    },
  ]);

  private readonly writerOf = prepared<{ writer: string }>((accountId, key) => this.db.selectNoFrom(counterWriter(accountId, key).as('writer')));

  /**
   * PostgreSQL only: which transaction last moved the account's counter (`'none'` when it is at
   * zero). Every insert or delete of a counted row moves its counter in the same transaction, and
   * a later transaction has another id, so while the mark is the same the account's counted rows
   * are the same ones, whichever replica wrote them. Reading it takes no lock and adds no write.
   */
  async writer(trx: Executor, accountId: string, key: string): Promise<string> {
    const [row] = await this.writerOf(trx, accountId, key);
    return row!.writer;
  }

  /**
   * The limit an account has unless an operator set its own. `used` counts what the account
   * holds when the quota has no counter of its own (the cloud checks such a quota itself).
   */
  defineQuota(key: string, defaultLimit: number, used?: (trx: Executor, accountId: string) => Promise<number>): void {
    this.defaults.set(key, defaultLimit);
    if (used) this.usage.set(key, used);
  }

  /** The default quotas the resources declare; returns them (counter key: limit). */
  defineQuotas(resources: readonly ResourceDef[]): Map<string, number> {
    const quotas = new Map<string, number>();
    for (const r of resources) if (r.counter !== undefined && r.quota !== undefined) quotas.set(r.counter, r.quota);
    for (const [key, limit] of quotas) this.defineQuota(key, limit);
    return quotas;
  }

  /**
   * Recomputes the counters the resources declare from their rows (after a bulk change: an
   * import, an account deleted): each account's count of each kind, and each project's where
   * the resource has a project counter. Every counter of those keys is replaced.
   */
  async recountResources(trx: Executor, resources: readonly ResourceDef[]): Promise<void> {
    const owns: (string | { prefix: string })[] = [];
    const counts: { accountId: string; key: string; value: number }[] = [];
    for (const { table, counter, projectCounter } of resources) {
      if (counter !== undefined) {
        owns.push(counter);
        const rows = await trx.selectFrom(table).select(['account_id', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('account_id').execute();
        for (const c of rows) counts.push({ accountId: String(c.account_id), key: counter, value: Number(c.n) });
      }
      if (projectCounter !== undefined) {
        owns.push({ prefix: projectCounter('') });
        const rows = await trx.selectFrom(table).select(['account_id', 'project_id', (eb) => eb.fn.countAll<number>().as('n')]).groupBy(['account_id', 'project_id']).execute();
        for (const c of rows) counts.push({ accountId: String(c.account_id), key: projectCounter(String(c.project_id)), value: Number(c.n) });
      }
    }
    await this.replaceAll(trx, owns, counts);
  }

  setDefaultQuota(key: string, limit: number): void {
    this.defaults.set(key, limit);
  }

  quotaKeys(): string[] {
    return [...this.defaults.keys()].sort();
  }

  /** Every quota of an account: its limit (and whether an operator set it) and what is used. */
  async describe(trx: Executor, accountId: string): Promise<Record<string, { limit: number; used: number; custom: boolean }>> {
    const custom = new Map(
      (await trx.selectFrom('quotas').select(['key', 'limit']).where('account_id', '=', accountId).execute()).map((r) => [r.key as string, Number(r.limit)]),
    );
    const out: Record<string, { limit: number; used: number; custom: boolean }> = {};
    for (const key of this.quotaKeys()) {
      const used = this.usage.get(key);
      out[key] = { limit: custom.get(key) ?? this.defaults.get(key)!, used: used ? await used(trx, accountId) : await this.get(trx, accountId, key), custom: custom.has(key) };
    }
    return out;
  }

  async limit(trx: Executor, accountId: string, key: string): Promise<number> {
    const [row] = await this.quotaOf(trx, accountId, key);
    if (row) return Number(row.limit);
    return this.defaults.get(key) ?? Number.MAX_SAFE_INTEGER;
  }

  async setQuota(trx: Executor, accountId: string, key: string, limit: number | null): Promise<void> {
    if (limit === null) {
      await trx.deleteFrom('quotas').where('account_id', '=', accountId).where('key', '=', key).execute();
      return;
    }
    await trx
      .insertInto('quotas')
      .values({ account_id: accountId, key, limit })
      .onConflict((oc) => oc.columns(['account_id', 'key']).doUpdateSet({ limit }))
      .execute();
  }

  async get(trx: Executor, accountId: string, key: string): Promise<number> {
    const [row] = await this.valueOf(trx, accountId, key);
    return row ? Number(row.value) : 0;
  }

  async add(trx: Executor, accountId: string, key: string, delta: number): Promise<void> {
    await this.addRows(1)(trx, accountId, key, delta);
    // A count back at zero is no row, as for an account that never had one: the same state is
    // stored (and exported) the same way however it was reached, a recount after an import included.
    if (delta < 0) await trx.deleteFrom('counters').where('account_id', '=', accountId).where('key', '=', key).where('value', '=', 0).execute();
  }

  /** Counts moved, `n` rows of account, key and delta: a held write (a create's counts move last, with its commit). */
  private readonly addRows = heldByShape<number>((n) => [
    n * 3,
    (...values) =>
      this.db
        .insertInto('counters')
        .values(Array.from({ length: n }, (_, r) => ({ account_id: values[r * 3], key: values[r * 3 + 1], value: values[r * 3 + 2] })))
        .onConflict((oc) => oc.columns(['account_id', 'key']).doUpdateSet((eb) => ({ value: eb('counters.value', '+', eb.ref('excluded.value')) }))),
  ]);

  /** Several counts of one account moved at once: one statement for all (on PostgreSQL a round trip each otherwise). */
  async addAll(trx: Executor, accountId: string, deltas: readonly (readonly [key: string, delta: number])[]): Promise<void> {
    const moved = deltas.filter(([, delta]) => delta !== 0);
    if (moved.length === 0) return;
    await this.addRows(moved.length)(trx, ...moved.flatMap(([key, value]) => [accountId, key, value]));
    // (a count back at zero is no row: see `add`)
    const lowered = moved.filter(([, delta]) => delta < 0).map(([key]) => key);
    if (lowered.length > 0) await trx.deleteFrom('counters').where('account_id', '=', accountId).where('key', 'in', lowered).where('value', '=', 0).execute();
  }

  /**
   * Replaces every count of the keys a cloud owns (`owns`: exact keys, or prefixes: `{prefix}`,
   * or a string ending in `.`) with the counts given, as recomputed from its rows after a bulk change. A zero count is
   * no row (see `add`).
   */
  async replaceAll(trx: Executor, owns: readonly (string | { prefix: string })[], counts: readonly { accountId: string; key: string; value: number }[]): Promise<void> {
    const exact = owns.filter((key): key is string => typeof key === 'string' && !key.endsWith('.'));
    const prefixes = owns.map((key) => (typeof key === 'string' ? (key.endsWith('.') ? key : null) : key.prefix)).filter((key): key is string => key !== null);
    await trx
      .deleteFrom('counters')
      .where((eb) => eb.or([...(exact.length > 0 ? [eb('key', 'in', exact)] : []), ...prefixes.map((prefix) => eb('key', 'like', `${prefix}%`))]))
      .execute();
    const rows = counts.filter((c) => c.value !== 0).map((c) => ({ account_id: c.accountId, key: c.key, value: c.value }));
    for (let i = 0; i < rows.length; i += 200) await trx.insertInto('counters').values(rows.slice(i, i + 200)).execute();
  }

  /**
   * Counts `n` more resources against the account's quota. Returns false, changing nothing,
   * when that would go over the limit.
   */
  async acquire(trx: Executor, accountId: string, key: string, n = 1): Promise<boolean> {
    const fallback = this.defaults.get(key) ?? Number.MAX_SAFE_INTEGER;
    if ((await this.bumpWithinQuota(trx, n, accountId, key, fallback)) === 1) return true;
    // No room, or no counter yet: the account's first of its kind starts it.
    if (n > (await this.limit(trx, accountId, key))) return false;
    const inserted = await trx
      .insertInto('counters')
      .values({ account_id: accountId, key, value: n })
      .onConflict((oc) => oc.columns(['account_id', 'key']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return true;
    // The counter was there (full), or another transaction made it meanwhile: count against it.
    return (await this.bumpWithinQuota(trx, n, accountId, key, fallback)) === 1;
  }

  /**
   * `acquire` for several counters of one account, in one statement where each has a counter
   * with room (a create that counts against three quotas: on PostgreSQL, two round trips fewer).
   * Returns the first key, in the order given, whose quota has no room (null: all were counted);
   * the others may have been counted meanwhile: the caller's transaction rolls them back. Keys
   * are distinct.
   */
  async acquireAll(trx: Executor, accountId: string, wants: readonly (readonly [key: string, n: number])[]): Promise<string | null> {
    const counted = await this.countWithin(trx, accountId, wants);
    // (one not counted has no room, or no counter yet: acquire tells which)
    for (const [key, n] of wants) if (n > 0 && !counted.has(key) && !(await this.acquire(trx, accountId, key, n))) return key;
    return null;
  }

  /**
   * A create's last takes: its counts (as acquireAll), then `then` (its stock, say: a row every
   * create of the kind takes). Returns the key refused, or null and `then`'s answer. On
   * PostgreSQL both go out together, so the create holds the rows other creates wait for one
   * round trip less. A count short there (no room, or the account's first, whose counter starts
   * with an insert) is looked into again, which after `then` took its row would lock in the
   * opposite order to other creates and could deadlock: TakeInTurn, and the caller runs the
   * create again `inTurn`, the counts taken first and `then` only once all are.
   */
  async acquireAllThen<T>(
    trx: Executor,
    inTurn: boolean,
    accountId: string,
    wants: readonly (readonly [key: string, n: number])[],
    then: (executor: Executor) => Promise<T>,
  ): Promise<{ refused: string } | { refused: null; then: T }> {
    if (inTurn || !runsTogether(trx)) {
      const refused = await this.acquireAll(trx, accountId, wants);
      return refused === null ? { refused, then: await then(trx) } : { refused };
    }
    const [counted, answer] = await together<[ReadonlySet<string>, T]>(trx, (x) => this.countWithin(x, accountId, wants), then);
    if (wants.some(([key, n]) => n > 0 && !counted.has(key))) throw new TakeInTurn();
    return { refused: null, then: answer };
  }

  /** acquireAll's first step, one prepared statement: counts what the existing counters have room for and returns those keys. */
  private async countWithin(trx: Executor, accountId: string, wants: readonly (readonly [key: string, n: number])[]): Promise<ReadonlySet<string>> {
    const asked = wants.filter(([, n]) => n > 0);
    const fallback = (key: string) => this.defaults.get(key) ?? Number.MAX_SAFE_INTEGER;
    if (asked.length === 0) return new Set();
    if (asked.length === 1) {
      const [key, n] = asked[0]!;
      return new Set((await this.bumpWithinQuota(trx, n, accountId, key, fallback(key))) === 1 ? [key] : []);
    }
    const args = asked.flatMap(([key, n]) => [key, n, fallback(key)]);
    return new Set((await this.bumpAllWithinQuota(asked.length)(trx, accountId, ...args)).map((row) => row.key));
  }
}
