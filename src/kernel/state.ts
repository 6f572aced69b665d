import { sql, type Kysely, type Transaction } from 'kysely';
import { dataTables, type TableInfo } from './db/tables.js';
import type { Engine } from './db/store.js';
import { installationTables } from './resources.js';

/**
 * The whole store (or one account's part of it) as one JSON document, and back. Tables come
 * in dependency order, rows sorted, columns in table order, so exporting the same state twice
 * gives the same bytes, and importing an export then exporting again gives the document back.
 */
export interface StateDocument {
  format: 'hangar-state/1';
  account: string | null;
  tables: Record<string, Record<string, unknown>[]>;
}

/** The kernel's tables that describe the installation rather than any account: left out of an account's export (with the clouds' own, see ResourceDef.scope). */
const KERNEL_GLOBAL_TABLES = ['capacity', 'ip_pools', 'fault_rules', 'control_settings'];
const isGlobal = (table: string): boolean => KERNEL_GLOBAL_TABLES.includes(table) || installationTables().includes(table);

export class StateStore {
  private tables: TableInfo[] | null = null;

  constructor(
    private readonly db: Kysely<any>,
    private readonly engine: Engine,
    private readonly schema: string | null,
  ) {}

  /**
   * Reads the table list once every module has migrated. It must happen outside any
   * transaction: on SQLite a read on the store while a transaction holds it would wait forever.
   */
  async prepare(): Promise<void> {
    this.tables = await dataTables(this.db, this.engine, this.schema);
  }

  /** Every data table, parents first. */
  async list(): Promise<TableInfo[]> {
    if (!this.tables) throw new Error('StateStore.prepare() must run after migrations');
    return this.tables;
  }

  async export(accountId: string | null = null): Promise<StateDocument> {
    const tables = await this.list();
    const out: Record<string, Record<string, unknown>[]> = {};
    await this.db.transaction().execute(async (trx) => {
      const all = new Map<string, Record<string, unknown>[]>();
      for (const table of tables) all.set(table.name, (await trx.selectFrom(table.name).selectAll().execute()) as Record<string, unknown>[]);
      for (const table of tables) {
        let rows = all.get(table.name)!;
        if (accountId !== null) rows = this.scope(table, rows, accountId, all);
        if (rows === null) continue;
        out[table.name] = sortRows(rows.map((row) => ordered(row, table.columns)));
      }
    });
    return { format: 'hangar-state/1', account: accountId, tables: out };
  }

  /**
   * Rows of an account: its own (account_id), the account row itself, and rows of tables
   * without an account column that hang off those (timers, logs, leases, links), found by any
   * *_id / owner column naming one of the account's resources.
   */
  private scope(table: TableInfo, rows: Record<string, unknown>[], accountId: string, all: Map<string, Record<string, unknown>[]>) {
    if (isGlobal(table.name)) return [];
    if (table.name === 'accounts') return rows.filter((r) => r.id === accountId);
    if (table.columns.includes('account_id')) return rows.filter((r) => r.account_id === accountId);
    const owned = new Set<string>([accountId]);
    for (const [name, tableRows] of all) {
      const info = this.tables!.find((t) => t.name === name)!;
      if (!info.columns.includes('account_id')) continue;
      for (const r of tableRows) if (r.account_id === accountId && typeof r.id === 'string') owned.add(r.id);
    }
    const refs = table.columns.filter((c) => c.endsWith('_id') || c === 'owner');
    return rows.filter((r) => refs.some((c) => owned.has(String(r[c]))));
  }

  /**
   * Loads a document. A whole-store document replaces everything; an account's replaces that
   * account only. Runs in one transaction: all of it lands or none.
   */
  async import(doc: StateDocument, afterImport: (trx: Transaction<any>) => Promise<void>): Promise<void> {
    if (doc?.format !== 'hangar-state/1' || !isObject(doc.tables)) {
      throw new StateError('not a Hangar state document (expected "format": "hangar-state/1" and "tables": {...})');
    }
    if (doc.account !== null && typeof doc.account !== 'string') throw new StateError('"account" must be an account id, or null for the whole store');
    const tables = await this.list();
    const known = new Map(tables.map((t) => [t.name, t]));
    for (const [name, rows] of Object.entries(doc.tables)) {
      const table = known.get(name);
      if (!table) throw new StateError(`unknown table "${name}" in the document`);
      if (!Array.isArray(rows)) throw new StateError(`table "${name}" must be a list of rows`);
      if (!rows.every(isObject)) throw new StateError(`table "${name}" must hold rows as objects`);
      if (doc.account !== null && rows.length > 0) {
        // An account's document brings that account's rows and nothing of anyone else's.
        if (isGlobal(name)) throw new StateError(`an account document cannot carry table "${name}" (it belongs to the installation)`);
        if (table.columns.includes('account_id') && rows.some((r) => r.account_id !== doc.account)) {
          throw new StateError(`table "${name}" has rows of another account than "${doc.account}"`);
        }
      }
    }
    await this.db.transaction().execute(async (trx) => {
      await this.lockAccounts(trx, doc.account);
      if (doc.account === null) {
        await this.clear(trx);
      } else {
        const accountRows = doc.tables.accounts ?? [];
        if (accountRows.length !== 1 || accountRows[0]!.id !== doc.account) throw new StateError('an account document must hold exactly its account row');
        await this.clearAccount(trx, doc.account);
      }
      for (const table of tables) {
        const rows = doc.tables[table.name];
        if (!rows || rows.length === 0) continue;
        for (const row of rows) {
          const unknown = Object.keys(row).find((c) => !table.columns.includes(c));
          if (unknown) throw new StateError(`table "${table.name}" has no column "${unknown}"`);
        }
        for (let i = 0; i < rows.length; i += 200) {
          try {
            await trx.insertInto(table.name).values(rows.slice(i, i + 200)).execute();
          } catch (error) {
            throw refused(error, table.name, doc.account);
          }
        }
      }
      await afterImport(trx);
    });
    await this.refreshStatistics(Object.entries(doc.tables).filter(([, rows]) => rows.length > 0).map(([name]) => name));
  }

  /**
   * After a bulk load, PostgreSQL plans with the statistics it had before it until autovacuum
   * analyzes the tables (never, where it is off): an import of many rows would be read with
   * sequential scans meanwhile. Analyzing the tables written costs well under a second.
   */
  private async refreshStatistics(tables: string[]): Promise<void> {
    if (this.engine !== 'postgres') return;
    for (const table of tables) await sql`analyze ${sql.table(table)}`.execute(this.db);
  }

  /**
   * Before an account's rows (or every account's) are deleted: its row, locked on PostgreSQL.
   * Writes that refer to an account (a create's inserts) share a lock on its row until they
   * commit, and update their counters' rows after their inserts: deleting counters first and
   * the account last, a deletion could hold a counter one of them waits for while it waits for
   * that write, a deadlock. Locking the account first, the deletion waits for the writes in
   * flight, and the next ones wait for it. False when the account is not there.
   */
  async lockAccounts(trx: Transaction<any>, accountId: string | null): Promise<boolean> {
    let query = trx.selectFrom('accounts').select('id');
    if (accountId !== null) query = query.where('id', '=', accountId);
    const rows = await (this.engine === 'postgres' ? query.forUpdate() : query).execute();
    return rows.length > 0;
  }

  /** Empties every data table (children first). */
  async clear(trx: Transaction<any>): Promise<void> {
    for (const table of [...(await this.list())].reverse()) await trx.deleteFrom(table.name).execute();
  }

  /** Removes one account and everything hanging off it. */
  async clearAccount(trx: Transaction<any>, accountId: string): Promise<void> {
    const doc = await this.exportWithin(trx, accountId);
    for (const table of [...(await this.list())].reverse()) {
      const rows = doc[table.name] ?? [];
      if (rows.length === 0) continue;
      if (table.columns.includes('id')) {
        const ids = rows.map((r) => r.id as string);
        for (let i = 0; i < ids.length; i += 500) await trx.deleteFrom(table.name).where('id', 'in', ids.slice(i, i + 500)).execute();
      } else if (table.columns.includes('account_id')) {
        await trx.deleteFrom(table.name).where('account_id', '=', accountId).execute();
      } else {
        for (const row of rows) {
          let query = trx.deleteFrom(table.name);
          for (const [column, value] of Object.entries(row)) query = value === null ? query.where(column, 'is', null) : query.where(column, '=', value);
          await query.execute();
        }
      }
    }
  }

  private async exportWithin(trx: Transaction<any>, accountId: string): Promise<Record<string, Record<string, unknown>[]>> {
    const tables = await this.list();
    const all = new Map<string, Record<string, unknown>[]>();
    for (const table of tables) all.set(table.name, (await trx.selectFrom(table.name).selectAll().execute()) as Record<string, unknown>[]);
    const out: Record<string, Record<string, unknown>[]> = {};
    for (const table of tables) out[table.name] = this.scope(table, all.get(table.name)!, accountId, all);
    return out;
  }
}

export class StateError extends Error {}

/** The document is fine but clashes with what the store holds (an address or a name already taken). */
export class StateConflict extends StateError {}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A row the store will not take, said in terms of the document (SQLite and PostgreSQL constraint errors). */
function refused(error: unknown, table: string, account: string | null): unknown {
  const code = String((error as { code?: unknown }).code ?? '');
  const message = `table "${table}": ${(error as Error).message}`;
  if (account !== null && (/^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(code) || code === '23505')) {
    return new StateConflict(`${message}: a row of the document clashes with one already in this store (an address, a name or an id in use); import the account into an empty store, or delete what it clashes with first`);
  }
  if (code.startsWith('SQLITE_CONSTRAINT') || /^23\d{3}$/.test(code)) return new StateError(message);
  return error;
}

function ordered(row: Record<string, unknown>, columns: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) {
    const v = row[c];
    out[c] = typeof v === 'bigint' ? Number(v) : v ?? null;
  }
  return out;
}

function sortRows(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const keyed = rows.map((r) => ({ r, k: JSON.stringify(r) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.r);
}
