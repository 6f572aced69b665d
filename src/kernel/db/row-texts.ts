import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';

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
  /**
   * Each text with the owner of its row (the account or project whose reads may be given it),
   * kept as the bytes it is sent as: an answer made of texts copies them, not encoding again.
   */
  private readonly texts = new Map<string, { owner: string; text: Buffer }>();
  /**
   * Rows whose text was written once and not kept, or kept and then forgotten (their ids only):
   * a text is kept the second time it is written. A row read once, such as one of a million
   * instances read at random, keeps nothing and pushes out nothing; a row polled, alone or on a
   * page, is kept from its second read on, and again from the first read after each change.
   */
  private readonly writtenBefore = new Set<string>();
  /** Moves whenever a text is forgotten: texts written by a read that began at another epoch are not kept. */
  private epoch = 0;
  /** The store's data version the texts were kept at (other processes' commits move it). */
  private seenVersion: number;

  constructor(
    /** The store's data version: moves with every commit by another connection to the file. */
    private readonly dataVersion: () => number,
    private readonly limit = KEPT_TEXTS,
  ) {
    this.seenVersion = dataVersion();
  }

  /** Forgets a row's text: the store's triggers call this when the row or what it shows changes. */
  forget(id: string): void {
    this.epoch++;
    if (this.texts.delete(id)) this.noteWritten(id); // (read before: kept again when next written)
  }

  /** How many texts are kept now. */
  get size(): number {
    return this.texts.size;
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
      const kept = this.texts.get(id);
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
      if (keep && found[i] !== null) this.admit(ids[i]!, owner, found[i]!);
    }
    return found as TextOf<Text>[];
  }

  /** Keeps a text written now if its row's text was written before (see writtenBefore). */
  private admit(id: string, owner: string, text: Buffer): void {
    if (this.writtenBefore.delete(id)) this.keep(id, owner, text);
    else this.noteWritten(id);
  }

  /** Remembers that a row's text was written (the oldest go first, beyond the limit). */
  private noteWritten(id: string): void {
    if (this.writtenBefore.size >= this.limit) this.writtenBefore.delete(this.writtenBefore.values().next().value!);
    this.writtenBefore.add(id);
  }

  private keep(id: string, owner: string, text: Buffer): void {
    if (this.texts.size >= this.limit) this.texts.delete(this.texts.keys().next().value!);
    this.texts.set(id, { owner, text });
  }

  private clear(): void {
    this.epoch++;
    for (const id of this.texts.keys()) this.noteWritten(id);
    this.texts.clear();
    this.seenVersion = this.dataVersion();
  }
}

/**
 * The rows of `from` whose `key` is in `ids` (a JSON array of ids) and whose `owner` column is
 * `ownerValue`, for the statement that writes texts not kept. Each row is found by its key:
 * without statistics SQLite would pick the owner's index (its list order) and read every row
 * the owner has (a GET of one instance read all of a million in the scale suite).
 */
export function rowsById(db: Kysely<any>, from: string, key: string, owner: string, ids: unknown, ownerValue: unknown): SelectQueryBuilder<any, any, {}> {
  // (`+column` keeps SQLite from using an index for that term)
  return db.selectFrom(from).where(sql<boolean>`${sql.ref(key)} in (select value from json_each(${ids})) and +${sql.ref(owner)} = ${ownerValue}`);
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
