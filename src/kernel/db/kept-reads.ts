import type { Store } from './store.js';

/**
 * What a kept read depends on: a table (any insert, update or delete in it makes the read
 * stale; Store.tableVersion), or only which rows a table holds and their order in its declared
 * lists (`{ rowsOf }`; Store.writeVersion): a page of ids stays right while rows are updated.
 */
export type ReadDependency = string | { rowsOf: string };

/**
 * Rows read on every request from tables that rarely change (a credential, a project's
 * membership, the ids on a page of a list), kept in memory while what they were read from is
 * unchanged. On SQLite the store tells when any write may have touched a table, by this process
 * or another (Store.tableVersion, Store.writeVersion), so a kept row is the row the statement
 * would read now; elsewhere (PostgreSQL, whose replicas write without telling each other)
 * nothing is kept and every read runs its statement.
 * Only found rows are kept: keys nobody holds (unknown tokens, say) must not fill the memory.
 */
export class KeptReads<V> {
  private readonly kept = new Map<string, { version: string; value: V }>();
  private readonly version: (() => string) | null;

  constructor(
    store: Pick<Store, 'tableVersion' | 'writeVersion'>,
    dependencies: readonly ReadDependency[],
    private readonly limit = 10_000,
  ) {
    const { tableVersion, writeVersion } = store;
    if (tableVersion === undefined || writeVersion === undefined) {
      this.version = null;
      return;
    }
    const parts = dependencies.map((on) => (typeof on === 'string' ? () => tableVersion(on) : () => writeVersion(on.rowsOf)));
    this.version = parts.length === 1 ? parts[0]! : () => parts.map((part) => part()).join('|');
  }

  /** The value kept for `key` if what it was read from is as it was then, else `read()`'s. */
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
