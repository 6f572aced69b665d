import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Code } from '../../src/clouds/genesis/errors.js';

const root = new URL('../../', import.meta.url);
const table = readFileSync(new URL('spec/genesis-error-codes.md', root), 'utf8');

/** The codes of the seed's table (seed 000, "Error Codes"): 02001 to 02054, none skipped. */
const SEED_CODES = Array.from({ length: 54 }, (_, i) => `020${String(i + 1).padStart(2, '0')}`);

interface Row {
  code: string;
  status: number;
  file: string;
  test: string;
}

function rows(): Row[] {
  const out: Row[] = [];
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (!/^\d{5}$/.test(cells[1] ?? '')) continue;
    const ref = /`(test\/[^`]+\.test\.ts)` › `([^`]+)`/.exec(cells[5] ?? '');
    expect(ref, `row ${cells[1]} names no test`).not.toBeNull();
    out.push({ code: cells[1]!, status: Number(cells[3]), file: ref![1]!, test: ref![2]! });
  }
  return out;
}

/** spec/genesis-error-codes.md: every code of the seed's table, the request that produces it, the test that proves it. */
describe('the Genesis error code table', () => {
  it('has one row for every code of the seed\'s table', () => {
    const codes = rows().map((r) => r.code);
    for (const code of SEED_CODES) expect(codes.filter((c) => c === code), code).toHaveLength(1);
  });

  it('names, for each row, a test that exists in the file it names', () => {
    for (const row of rows()) {
      const path = new URL(row.file, root);
      expect(existsSync(path), `${row.code}: ${row.file}`).toBe(true);
      const source = readFileSync(path, 'utf8');
      expect(source.includes(`'${row.test}'`) || source.includes(`"${row.test}"`) || source.includes(`\`${row.test}\``), `${row.code}: "${row.test}" in ${row.file}`).toBe(true);
    }
  });

  it('lists only codes Hangar defines, with an HTTP status', () => {
    const defined = new Set<string>(Object.values(Code));
    for (const row of rows()) {
      expect(defined.has(row.code), row.code).toBe(true);
      expect(row.status >= 400 && row.status < 600, `${row.code}: ${row.status}`).toBe(true);
    }
    // Every code Hangar defines (but the server-side 02000) is in the table.
    const listed = new Set(rows().map((r) => r.code));
    for (const code of defined) if (code !== Code.Internal) expect(listed.has(code), code).toBe(true);
  });
});
