import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import type { Engine } from './store.js';

/**
 * Each row's wire text (its answer's JSON, as a statement of the store writes it), kept
 * between reads on SQLite. Writing 50 instances' JSON costs the database far more than finding
 * them (BENCHMARKS.md, issue 23, tenth round), and between two polls of a list most of its rows
 * did not change. So a page finds its rows' ids, takes the texts kept for them, and has the
 * store write only the others (`textsOf`).
 *
 * What keeps a text right is that it is forgotten the moment anything it is made from
 * changes: the store fires a trigger on every insert, update and delete of the watched tables
 * (the row's own table, and those whose rows it shows, such as its links), on this process's
 * connection, and the trigger forgets the texts of the rows touched, whatever statement
 * touched them. Other processes' commits cannot fire this process's triggers: the store's data
 * version shows them, and then every text is forgotten.
 *
 * Texts are written by reads outside transactions (the store's one connection answers those
 * only while no transaction is open), so a kept text is always of committed rows, and a
 * transaction changing a row forgets its text before it commits; one that rolls back has only
 * made some texts be written again.
 */
export class RowTexts {
  private readonly kept: KeptTexts<{ owner: string; text: Buffer }>;
  /** Moves whenever a text is forgotten: texts written by a read that began at another epoch are not kept. */
  private epoch = 0;
  /** The store's data version the texts were kept at (other processes' commits move it). */
  private seenVersion: number;

  constructor(
    /** The store's data version: moves with every commit by another connection to the file. */
    private readonly dataVersion: () => number,
    limit = KEPT_TEXTS,
  ) {
    this.kept = new KeptTexts(limit);
    this.seenVersion = dataVersion();
  }

  /** Forgets a row's text: the store's triggers call this when the row or what it shows changes. */
  forget(id: string): void {
    this.epoch++;
    this.kept.forget(id);
  }

  /** How many texts are kept now. */
  get size(): number {
    return this.kept.size;
  }

  /**
   * The texts of `owner`'s rows `ids` (UTF-8), in their order, read outside any transaction:
   * those kept, and the others from `write` (the store's statement writing those rows' JSON,
   * of `owner`'s rows only), which are then kept. A row whose text the store does not write
   * (`write` gives it null) is null: the caller renders it. Null in all when a row is not
   * `owner`'s, or went away before its text was written (a page's caller reads the page again,
   * with every text written by its statement; a GET's answers 404).
   */
  async textsOf<Text extends string | null>(owner: string, ids: readonly string[], write: (ids: string[]) => Promise<readonly { id: string; text: Text }[]>): Promise<TextOf<Text>[] | null> {
    if (this.dataVersion() !== this.seenVersion) this.clear();
    const { epoch, seenVersion } = this;
    const texts = ids.map((id) => {
      const kept = this.kept.get(id);
      return kept?.owner === owner ? kept.text : undefined;
    });
    const missing = ids.filter((_, i) => texts[i] === undefined);
    if (missing.length === 0) return texts as TextOf<Text>[];
    const found = texts as (Buffer | null | undefined)[];
    const written = new Map((await write(missing)).map((row) => [row.id, row.text]));
    // (a row changed, or another process committed, while they were written: right for this
    // answer, but perhaps no longer by the time they would be kept)
    const keep = this.epoch === epoch && this.dataVersion() === seenVersion;
    for (let i = 0; i < ids.length; i++) {
      if (found[i] !== undefined) continue;
      const text = written.get(ids[i]!);
      if (text === undefined) return null;
      found[i] = text === null ? null : Buffer.from(text);
      if (keep && found[i] !== null) this.kept.admit(ids[i]!, { owner, text: found[i]! });
    }
    return found as TextOf<Text>[];
  }

  private clear(): void {
    this.epoch++;
    this.kept.clear();
    this.seenVersion = this.dataVersion();
  }
}

/**
 * Each row's wire text kept between reads on PostgreSQL, under the row's version: replicas
 * write without telling each other, so nothing can forget a text when its row changes.
 * Instead, the statement that finds a page's rows also gives each row's version, which moves
 * with every change to the row or to what its text shows (rowVersion), and a text is used only
 * for the version it was written at. The statement writing the texts not kept gives each its
 * version too, read in the same snapshot as the text.
 */
export class VersionedTexts {
  private readonly kept: KeptTexts<{ owner: string; version: string; text: Buffer }>;

  constructor(limit = KEPT_TEXTS) {
    this.kept = new KeptTexts(limit);
  }

  /** How many texts are kept now. */
  get size(): number {
    return this.kept.size;
  }

  /**
   * The texts of `owner`'s `rows` (each found with its version), in their order: those kept
   * for that version, and the others from `write` (the store's statement writing those rows'
   * JSON with their versions, of `owner`'s rows only), which are then kept. A row whose text
   * the store does not write is null (the caller renders it). Null in all when a row is not
   * `owner`'s, or went away meanwhile (the caller reads the page again with its JSON).
   */
  async textsOf<Text extends string | null>(
    owner: string,
    rows: readonly { id: string; version: string }[],
    write: (ids: string[]) => Promise<readonly { id: string; version: string; text: Text }[]>,
  ): Promise<TextOf<Text>[] | null> {
    const texts: (Buffer | null | undefined)[] = rows.map(({ id, version }) => {
      const kept = this.kept.get(id);
      return kept?.owner === owner && kept.version === version ? kept.text : undefined;
    });
    const missing = rows.filter((_, i) => texts[i] === undefined).map((row) => row.id);
    if (missing.length === 0) return texts as TextOf<Text>[];
    const written = new Map((await write(missing)).map((row) => [row.id, row]));
    for (let i = 0; i < rows.length; i++) {
      if (texts[i] !== undefined) continue;
      const row = written.get(rows[i]!.id);
      if (row === undefined) return null;
      if (row.text === null) {
        texts[i] = null; // (the caller renders it)
        continue;
      }
      // (a row changed since its page was found is sent as it is now: as a GET made after the page's read would show it)
      const text = Buffer.from(row.text);
      texts[i] = text;
      this.kept.admit(row.id, { owner, version: row.version, text });
    }
    return texts as TextOf<Text>[];
  }

  /**
   * The version a row's text is kept for (any owner's), or '' where none is: what a read of
   * one row passes to its statement, which writes the row's JSON only for another version
   * (see `textOf`), so a row unchanged since it was kept costs one statement returning no JSON.
   */
  keptVersion(id: string): string {
    return this.kept.get(id)?.version ?? '';
  }

  /**
   * The text of `owner`'s row found at `version` by a statement given `keptVersion`: the text
   * it wrote (kept from its second writing), or the kept one where it wrote none. Null where it
   * wrote none and the kept text is no longer that version's (another read replaced it
   * meanwhile): the caller reads again.
   */
  textOf(owner: string, id: string, version: string, written: string | null): Buffer | null {
    if (written === null) {
      const kept = this.kept.get(id);
      return kept?.owner === owner && kept.version === version ? kept.text : null;
    }
    const text = Buffer.from(written);
    this.kept.admit(id, { owner, version, text });
    return text;
  }
}

/**
 * A bounded set of rows' texts, by row id: the oldest kept goes first. A text is kept the
 * second time it is written (`admit`): a row read once, such as one of a million instances
 * read at random, keeps nothing and pushes out nothing; a row polled, alone or on a page, is
 * kept from its second read on, and again from the first read after each change.
 */
class KeptTexts<Entry> {
  private readonly entries = new Map<string, Entry>();
  /** Rows whose text was written once and not kept, or kept and then forgotten (their ids only). */
  private readonly writtenBefore = new Set<string>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(id: string): Entry | undefined {
    return this.entries.get(id);
  }

  /** Keeps a text written now if its row's text was written before (or kept: a newer version's replaces it). */
  admit(id: string, entry: Entry): void {
    if (!this.entries.delete(id) && !this.writtenBefore.delete(id)) return this.noteWritten(id);
    if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, entry);
  }

  /** Forgets a row's text (kept again when next written). */
  forget(id: string): void {
    if (this.entries.delete(id)) this.noteWritten(id);
  }

  /** Forgets every text (each kept again when next written). */
  clear(): void {
    for (const id of this.entries.keys()) this.noteWritten(id);
    this.entries.clear();
  }

  /** Remembers that a row's text was written (the oldest go first, beyond the limit). */
  private noteWritten(id: string): void {
    if (this.writtenBefore.size >= this.limit) this.writtenBefore.delete(this.writtenBefore.values().next().value!);
    this.writtenBefore.add(id);
  }
}

/**
 * The rows of `from` whose `key` is in `ids` (a JSON array of ids) and whose `owner` column is
 * `ownerValue`, for the statement that writes texts not kept. Each row is found by its key:
 * without statistics SQLite would pick the owner's index (its list order) and read every row
 * the owner has (a GET of one instance read all of a million in the scale suite).
 */
export function rowsById(db: Kysely<any>, from: string, key: string, owner: string, ids: unknown, ownerValue: unknown, engine: Engine = 'sqlite'): SelectQueryBuilder<any, any, {}> {
  if (engine === 'postgres') return db.selectFrom(from).where(sql<boolean>`${sql.ref(key)} in (select json_array_elements_text(cast(${ids} as json))) and ${sql.ref(owner)} = ${ownerValue}`);
  // (`+column` keeps SQLite from using an index for that term)
  return db.selectFrom(from).where(sql<boolean>`${sql.ref(key)} in (select value from json_each(${ids})) and +${sql.ref(owner)} = ${ownerValue}`);
}

/**
 * Rows another table's row text shows (PostgreSQL, see rowVersion): read from `from` under
 * `alias`, each naming the row it belongs to in `owner` (a column, `alias.column`).
 */
export interface ShownRows {
  alias: string;
  from: RawBuilder<unknown>;
  owner: string;
}

/**
 * A row's version on PostgreSQL (see VersionedTexts): the transaction that last wrote the row
 * (its `xmin`), then those that wrote each row its text also shows (`shown`). Any change moves
 * it: a row written after the version was read carries a transaction id no row then seen
 * carried, and a row removed shortens the list. (Each list is sorted: the statements that read
 * versions find the shown rows by different plans, a bitmap scan in heap order or an index
 * scan in key order, and the same rows listed in another order would have a kept text written
 * again at every read.)
 */
export function rowVersion(row: string, shown: readonly ShownRows[]): RawBuilder<string> {
  return versionOf(
    row,
    shown.map(({ alias, from, owner }) => sql`(select string_agg(x, ',') from (select ${sql.ref(`${alias}.xmin`)}::text as x from ${from} where ${sql.ref(owner)} = ${sql.ref(`${row}.id`)} order by 1) o)`),
  );
}

/**
 * rowVersion for a set of rows (a page's), with each table they show read once for the whole
 * set, `ids` (a statement giving the rows' ids) telling which of its rows to read: `query`
 * (reading the rows as `row`) joined to what they show, and the version of each. One statement
 * per row would find its few rows with a bitmap scan of its own, as PostgreSQL plans an
 * equality on a table it has no statistics of (autovacuum off, or a young table): 50 of those
 * cost a page of versions twice what one scan for all 50 rows does (BENCHMARKS.md, issue 23,
 * sixteenth round). The versions are the same as rowVersion's.
 */
export function joinedVersions<Q extends SelectQueryBuilder<any, any, any>>(query: Q, row: string, shown: readonly ShownRows[], ids: RawBuilder<unknown>): { query: Q; version: RawBuilder<string> } {
  let joined = query as SelectQueryBuilder<any, any, any>;
  const lists = shown.map(({ alias, from, owner }, i) => {
    const name = `shown_${i}`;
    const xmins = sql`(select owner, string_agg(x, ',') as xmins from (select ${sql.ref(owner)} as owner, ${sql.ref(`${alias}.xmin`)}::text as x from ${from} where ${sql.ref(owner)} = any(array(${ids})) order by 1, 2) o group by 1)`;
    joined = joined.leftJoin(xmins.as(name), `${name}.owner`, `${row}.id`);
    return sql.ref(`${name}.xmins`);
  });
  return { query: joined as Q, version: versionOf(row, lists) };
}

/** A version from a row's `xmin` and the lists of its shown rows' (null: none). */
function versionOf(row: string, lists: readonly RawBuilder<unknown>[]): RawBuilder<string> {
  return sql<string>`concat_ws(':', ${sql.ref(`${row}.xmin`)}::text, ${sql.join(lists.map((list) => sql`coalesce(${list}, '')`))})`;
}

/** A text as `textsOf` gives it: bytes, or null where the store's statement gave null (the caller renders that row). */
type TextOf<Text extends string | null> = Text extends string ? Buffer : null;

/**
 * Texts kept per table: a bound on memory (an instance's JSON is ~700 bytes, so ~10 MB), not a
 * working set; a store of a million instances must stay within its 300 MB (BENCHMARKS.md). The
 * oldest kept goes first.
 */
const KEPT_TEXTS = 10_000;

/**
 * The tables whose rows a text shows, each with how one of its rows names the rows it belongs
 * to: a column holding their id (`'id'` for the row's own table, `'instance_id'` for its
 * links), or rows of another table that join the two (a disk belongs to the VMs whose
 * attachments name it: `{ column: 'id', via: 'crusoe_disk_attachments', on: 'disk_id', key: 'vm_id' }`).
 */
export type WatchedTables = Readonly<Record<string, string | { column: string; via: string; on: string; key: string }>>;

/** The SQL function the store's triggers call when a watched row changes: (table, id). */
export const ROW_CHANGED_FUNCTION = 'hangar_row_changed';
