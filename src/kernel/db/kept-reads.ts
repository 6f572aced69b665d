import type { Store } from './store.js';

/**
 * Rows read on every request from tables that rarely change (a credential, a project's
 * membership), kept in memory while those tables are unchanged. On SQLite the store tells
 * when any write may have touched a table, by this process or another (Store.tableVersion), so
 * a kept row is the row the statement would read now; elsewhere (PostgreSQL, whose replicas
 * write without telling each other) nothing is kept and every read runs its statement.
 * Only found rows are kept: keys nobody holds (unknown tokens, say) must not fill the memory.
 */
export class KeptReads<V> {
  private readonly kept = new Map<string, { version: string; value: V }>();
  private readonly version: (() => string) | null;

  constructor(
    store: Pick<Store, 'tableVersion'>,
    tables: readonly string[],
    private readonly limit = 10_000,
  ) {
    const tableVersion = store.tableVersion;
    this.version = tableVersion === undefined ? null : () => tables.map((table) => tableVersion(table)).join('|');
  }

  /** The value kept for `key` if its tables are as they were when it was read, else `read()`'s. */
  async get(key: string, read: () => Promise<V | undefined>): Promise<V | undefined> {
    if (this.version === null) return read();
    const version = this.version(); // (before the read: a write meanwhile makes the next get read again)
    const known = this.kept.get(key);
    if (known !== undefined && known.version === version) return known.value;
    const value = await read();
    if (value === undefined) this.kept.delete(key);
    else {
      if (this.kept.size >= this.limit) this.kept.clear();
      this.kept.set(key, { version, value });
    }
    return value;
  }
}
