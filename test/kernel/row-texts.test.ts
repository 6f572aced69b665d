import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/kernel/db/store.js';
import { rowsById, type RowTexts } from '../../src/kernel/db/row-texts.js';

// A SQLite store keeps each row's wire text between reads and has the database write only the
// texts of rows that changed since (kernel/db/row-texts.ts). A text served must always be the
// one the statement would write now: every way a row or what it shows can change must forget
// it, this process's writes through triggers, another process's through the data version.
describe('SQLite row texts', () => {
  let dir: string;
  let store: Store;
  let texts: RowTexts;
  /** Ids whose texts the store was asked to write, read by read. */
  let written: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hangar-row-texts-'));
    store = await openStore(`sqlite:${join(dir, 'store.db')}`);
    await sql`create table things (id text primary key, name text not null)`.execute(store.db);
    await sql`create table tags (thing_id text not null references things(id) on delete cascade, tag text not null, primary key (thing_id, tag))`.execute(store.db);
    texts = store.rowTexts!('things', { things: 'id', tags: 'thing_id' });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await sql`delete from things`.execute(store.db);
    await sql`insert into things (id, name) values ('a', 'one'), ('b', 'two'), ('c', 'three')`.execute(store.db);
    await sql`insert into tags (thing_id, tag) values ('a', 'red')`.execute(store.db);
  });

  /** The texts of `ids` as the page path reads them: kept, or written by one statement. */
  async function read(ids: string[]): Promise<string[] | null> {
    written = [];
    const found = await texts.textsOf('owner', ids, async (missing) => {
      written.push(...missing);
      const { rows } = await sql<{ id: string; text: string }>`
        select id, json_object('name', name, 'tags', (select json_group_array(tag order by tag) from tags where thing_id = things.id)) as text
        from things where id in (select value from json_each(${JSON.stringify(missing)}))`.execute(store.db);
      return rows;
    });
    return found?.map((text) => text.toString('utf8')) ?? null;
  }

  /** Runs `statement` on a connection of its own, as another process would, and commits it. */
  function commitElsewhere(statement: string): void {
    const other = new Database(join(dir, 'store.db'));
    try {
      other.prepare(statement).run();
    } finally {
      other.close();
    }
  }

  /** Reads `ids` twice: their texts are then kept (a text is kept the second time it is written). */
  async function readTwice(ids: string[]): Promise<void> {
    await read(ids);
    await read(ids);
  }

  it('writes a text the first two times it is read, then serves it kept, in the order asked', async () => {
    expect(await read(['b', 'a'])).toEqual(['{"name":"two","tags":[]}', '{"name":"one","tags":["red"]}']);
    expect(written.sort()).toEqual(['a', 'b']);
    const abc = ['{"name":"one","tags":["red"]}', '{"name":"three","tags":[]}', '{"name":"two","tags":[]}'];
    expect(await read(['a', 'c', 'b'])).toEqual(abc);
    expect(written).toEqual(['a', 'c', 'b']);
    expect(texts.size).toBe(2); // (a and b: written twice; c once)
    expect(await read(['a', 'c', 'b'])).toEqual(abc);
    expect(written).toEqual(['c']);
    expect(await read(['a', 'c', 'b'])).toEqual(abc);
    expect(written).toEqual([]);
  });

  it('keeps a text again from its first writing after a change, and after another process commits', async () => {
    await readTwice(['a', 'b']);
    await sql`update things set name = 'uno' where id = 'a'`.execute(store.db);
    expect(await read(['a', 'b'])).toEqual(['{"name":"uno","tags":["red"]}', '{"name":"two","tags":[]}']);
    expect(written).toEqual(['a']);
    await read(['a', 'b']);
    expect(written).toEqual([]);
    commitElsewhere(`update things set name = 'dos' where id = 'b'`);
    expect(await read(['a', 'b'])).toEqual(['{"name":"uno","tags":["red"]}', '{"name":"dos","tags":[]}']);
    expect(written).toEqual(['a', 'b']);
    await read(['a', 'b']);
    expect(written).toEqual([]);
  });

  it("forgets a row's text on every change of it or of the rows it shows, by any statement", async () => {
    await readTwice(['a', 'b', 'c']);
    const changes: [change: string, write: () => Promise<unknown>, id: string, text: string][] = [
      ['an update of the row', () => sql`update things set name = 'uno' where id = 'a'`.execute(store.db), 'a', '{"name":"uno","tags":["red"]}'],
      ['an insert of a row it shows', () => sql`insert into tags (thing_id, tag) values ('b', 'blue')`.execute(store.db), 'b', '{"name":"two","tags":["blue"]}'],
      ['an update of a row it shows', () => sql`update tags set tag = 'green' where thing_id = 'a'`.execute(store.db), 'a', '{"name":"uno","tags":["green"]}'],
      ['a delete of a row it shows', () => sql`delete from tags where thing_id = 'b'`.execute(store.db), 'b', '{"name":"two","tags":[]}'],
      ['a row it shows moved to another row', () => sql`update tags set thing_id = 'c' where thing_id = 'a'`.execute(store.db), 'c', '{"name":"three","tags":["green"]}'],
      ['a write in a transaction', () => store.db.transaction().execute((trx) => sql`update things set name = 'tres' where id = 'c'`.execute(trx)), 'c', '{"name":"tres","tags":["green"]}'],
    ];
    for (const [change, write, id, text] of changes) {
      await write();
      expect(await read([id]), change).toEqual([text]);
      expect(written, change).toEqual([id]);
    }
    // (the moved tag left `a` too)
    expect(await read(['a'])).toEqual(['{"name":"uno","tags":[]}']);
  });

  it('writes the text again after a transaction that changed the row rolled back, and serves the committed row', async () => {
    await readTwice(['a']);
    await expect(
      store.db.transaction().execute(async (trx) => {
        await sql`update things set name = 'never' where id = 'a'`.execute(trx);
        throw new Error('undone');
      }),
    ).rejects.toThrow('undone');
    expect(await read(['a'])).toEqual(['{"name":"one","tags":["red"]}']);
    expect(written).toEqual(['a']);
  });

  it('answers null for a row deleted before its text was written', async () => {
    await readTwice(['a']);
    expect(texts.size).toBe(1);
    await sql`delete from things where id = 'a'`.execute(store.db);
    expect(await read(['a', 'b'])).toBeNull();
    expect(texts.size).toBe(0); // (a's text went with the delete; a read that answers null keeps nothing)
  });

  it("forgets every text when another process commits to the file, which this process's triggers cannot see", async () => {
    await readTwice(['a', 'b']);
    commitElsewhere(`update things set name = 'changed elsewhere' where id = 'b'`);
    expect(await read(['a', 'b'])).toEqual(['{"name":"one","tags":["red"]}', '{"name":"changed elsewhere","tags":[]}']);
    expect(written.sort()).toEqual(['a', 'b']);
  });

  it("finds the texts' rows by their key, not by their owner's index, which would read all the owner's rows", async () => {
    await sql`create table owned (id text primary key, owner text not null, seq integer not null)`.execute(store.db);
    await sql`create index owned_order on owned (owner, seq)`.execute(store.db);
    const { sql: text, parameters } = rowsById(store.db, 'owned as o', 'o.id', 'o.owner', '["a"]', 'x').select('o.id').compile();
    const plan = await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${text}`, [...parameters]));
    expect(plan.rows.map((row) => row.detail).join(' | ')).toMatch(/^SEARCH o USING INDEX sqlite_autoindex_owned_1 \(id=\?\)/);
  });

  it('keeps nothing a write may have made stale while the texts were being written', async () => {
    await readTwice(['a']);
    await sql`update things set name = 'one' where id = 'a'`.execute(store.db); // (a's text forgotten: kept again when next written, but for the change below)
    written = [];
    const found = await texts.textsOf('owner', ['a'], async (missing) => {
      const { rows } = await sql<{ id: string; text: string }>`select id, name as text from things where id in (select value from json_each(${JSON.stringify(missing)}))`.execute(store.db);
      await sql`update things set name = 'later' where id = 'a'`.execute(store.db); // (after the read, before the text is kept)
      return rows;
    });
    expect(found?.map(String)).toEqual(['one']); // (right when it was read)
    expect(await read(['a'])).toEqual(['{"name":"later","tags":["red"]}']);
    expect(written).toEqual(['a']);
  });
});
