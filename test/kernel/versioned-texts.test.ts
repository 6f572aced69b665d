import { describe, expect, it } from 'vitest';
import { VersionedTexts } from '../../src/kernel/db/row-texts.js';

/** A store of rows' texts and versions, as the statement writing the texts not kept would read them. */
function store(rows: Record<string, { owner: string; version: string; text: string | null }>) {
  const asked: string[][] = [];
  const write = (owner: string) => async (ids: string[]) => {
    asked.push(ids);
    return ids.flatMap((id) => (rows[id]?.owner === owner ? [{ id, version: rows[id]!.version, text: rows[id]!.text }] : []));
  };
  return { rows, asked, write };
}

const text = (texts: (Buffer | null)[] | null) => texts?.map((t) => t?.toString() ?? null) ?? null;

describe('VersionedTexts (PostgreSQL: texts kept under their rows versions)', () => {
  it('keeps a text from its second writing, and uses it while the version found is the same', async () => {
    const texts = new VersionedTexts();
    const s = store({ a: { owner: 'o', version: '10', text: '{"a":1}' }, b: { owner: 'o', version: '11', text: '{"b":1}' } });
    const page = [
      { id: 'a', version: '10' },
      { id: 'b', version: '11' },
    ];
    for (let i = 0; i < 4; i++) expect(text(await texts.textsOf('o', page, s.write('o')))).toEqual(['{"a":1}', '{"b":1}']);
    expect(s.asked).toEqual([['a', 'b'], ['a', 'b']]);
    expect(texts.size).toBe(2);
  });

  it('writes a text again when its version moved, and keeps the new one at once', async () => {
    const texts = new VersionedTexts();
    const s = store({ a: { owner: 'o', version: '10', text: '{"a":1}' } });
    for (let i = 0; i < 2; i++) await texts.textsOf('o', [{ id: 'a', version: '10' }], s.write('o'));
    s.rows.a = { owner: 'o', version: '12:13', text: '{"a":2}' };
    expect(text(await texts.textsOf('o', [{ id: 'a', version: '12:13' }], s.write('o')))).toEqual(['{"a":2}']);
    expect(text(await texts.textsOf('o', [{ id: 'a', version: '12:13' }], s.write('o')))).toEqual(['{"a":2}']);
    expect(s.asked).toEqual([['a'], ['a'], ['a']]);
  });

  it('sends a row as written now when it changed after its page found it, kept under the version it was written at', async () => {
    const texts = new VersionedTexts();
    const s = store({ a: { owner: 'o', version: '20', text: '{"a":"now"}' } });
    // (the page found version 19; the row moved to 20 before its text was written)
    for (let i = 0; i < 2; i++) expect(text(await texts.textsOf('o', [{ id: 'a', version: '19' }], s.write('o')))).toEqual(['{"a":"now"}']);
    expect(text(await texts.textsOf('o', [{ id: 'a', version: '20' }], s.write('o')))).toEqual(['{"a":"now"}']);
    expect(s.asked).toHaveLength(2);
  });

  it("never gives one owner's kept text to another, and is null when a row is not the owner's or went away", async () => {
    const texts = new VersionedTexts();
    const s = store({ a: { owner: 'o', version: '10', text: '{"a":1}' } });
    for (let i = 0; i < 2; i++) await texts.textsOf('o', [{ id: 'a', version: '10' }], s.write('o'));
    expect(await texts.textsOf('p', [{ id: 'a', version: '10' }], s.write('p'))).toBeNull();
    delete s.rows.a;
    expect(await texts.textsOf('o', [{ id: 'a', version: '11' }], s.write('o'))).toBeNull();
  });

  it('gives null, and keeps nothing, for a row whose text the store does not write', async () => {
    const texts = new VersionedTexts();
    const s = store({ a: { owner: 'o', version: '10', text: null }, b: { owner: 'o', version: '10', text: '{"b":1}' } });
    const page = [
      { id: 'a', version: '10' },
      { id: 'b', version: '10' },
    ];
    for (let i = 0; i < 3; i++) expect(text(await texts.textsOf('o', page, s.write('o')))).toEqual([null, '{"b":1}']);
    expect(s.asked).toEqual([['a', 'b'], ['a', 'b'], ['a']]);
    expect(texts.size).toBe(1);
  });

  it('keeps at most its limit, the oldest going first', async () => {
    const texts = new VersionedTexts(2);
    const s = store({ a: { owner: 'o', version: '1', text: 'a' }, b: { owner: 'o', version: '1', text: 'b' }, c: { owner: 'o', version: '1', text: 'c' } });
    for (const id of ['a', 'a', 'b', 'b', 'c', 'c']) await texts.textsOf('o', [{ id, version: '1' }], s.write('o'));
    expect(texts.size).toBe(2);
    s.asked.length = 0;
    await texts.textsOf('o', [{ id: 'b', version: '1' }, { id: 'c', version: '1' }], s.write('o'));
    expect(s.asked).toEqual([]);
  });

  it('gives one row read with the version kept: the JSON written, kept from its second writing, or the kept text when the statement wrote none', () => {
    const texts = new VersionedTexts();
    expect(texts.keptVersion('a')).toBe('');
    // (written twice: kept the second time)
    for (let i = 0; i < 2; i++) expect(texts.textOf('o', 'a', '10', '{"a":1}')?.toString()).toBe('{"a":1}');
    expect(texts.keptVersion('a')).toBe('10');
    // (the statement found the version kept and wrote no JSON)
    expect(texts.textOf('o', 'a', '10', null)?.toString()).toBe('{"a":1}');
    // (another owner, or a version other than the kept one: nothing to give, the caller reads again)
    expect(texts.textOf('p', 'a', '10', null)).toBeNull();
    expect(texts.textOf('o', 'a', '11', null)).toBeNull();
    // (a newer version written replaces the kept one at once)
    expect(texts.textOf('o', 'a', '12', '{"a":2}')?.toString()).toBe('{"a":2}');
    expect(texts.keptVersion('a')).toBe('12');
    expect(texts.textOf('o', 'a', '10', null)).toBeNull();
    expect(texts.textOf('o', 'a', '12', null)?.toString()).toBe('{"a":2}');
  });
});
