import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import landed from '../fixtures/landed-migrations.json' with { type: 'json' };

/**
 * Migrations are append-only: a store that ran a migration never runs it again, so editing one
 * after it landed leaves every existing store without the edit (0001_kernel and 0001_genesis
 * were, and needed catch-up migrations). Each landed migration's checksum is listed in
 * test/fixtures/landed-migrations.json; this test fails when one no longer matches, or when a
 * migration is not listed yet (list it when it lands: the failure says the line to add).
 *
 * The checksum is taken over the migration's tokens (comments and layout do not count) and
 * those of the same file's top-level helpers it uses (a migration calling `accountOrdered`
 * changes when that function does).
 */
const MODULES: Record<string, { file: string; name: string }> = {
  kernel: { file: 'src/kernel/db/schema.ts', name: 'kernelMigrations' },
  genesis: { file: 'src/clouds/genesis/tables.ts', name: 'genesisMigrations' },
  crusoe: { file: 'src/clouds/crusoe/tables.ts', name: 'crusoeMigrations' },
  crusoe_quotas: { file: 'src/clouds/crusoe/model/quotas.ts', name: 'quotaMigrations' },
};

describe('landed migrations', () => {
  for (const [scope, { file, name }] of Object.entries(MODULES)) {
    it(`${scope}: every migration is listed and unchanged since it landed`, () => {
      const listed = (landed as Record<string, Record<string, string>>)[scope] ?? {};
      const found = checksums(file, name);
      const problems: string[] = [];
      for (const [migration, sum] of Object.entries(found)) {
        if (listed[migration] === undefined) {
          problems.push(`${scope}/${migration} is not listed in test/fixtures/landed-migrations.json; when it lands, add to "${scope}": "${migration}": "${sum}"`);
        } else if (listed[migration] !== sum) {
          problems.push(`${scope}/${migration} was edited after it landed: stores that ran it will never see the edit; restore it and put the change in a new migration`);
        }
      }
      for (const migration of Object.keys(listed)) {
        if (found[migration] === undefined) problems.push(`${scope}/${migration} landed and is gone: stores that ran it keep its tables; restore it`);
      }
      expect(problems).toEqual([]);
    });
  }

  it('notices an edit to a migration or to a helper it uses, and not one to a comment', () => {
    const source = `
      function helper(db) { return db.schema.createIndex('a').on('t').column('x').execute(); }
      export const someMigrations = { '0001_x': { async up(db) { await helper(db); /* why */ } } };`;
    const base = checksumsOf(source, 'someMigrations');
    expect(checksumsOf(source.replace('/* why */', '/* reworded */'), 'someMigrations')).toEqual(base);
    expect(checksumsOf(source.replace(".column('x')", ".column('y')"), 'someMigrations')).not.toEqual(base);
    expect(checksumsOf(source.replace('await helper(db);', 'await helper(db); await helper(db);'), 'someMigrations')).not.toEqual(base);
  });
});

function checksums(file: string, name: string): Record<string, string> {
  return checksumsOf(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'), name);
}

/** Each migration of the object literal `name` in `source`, by migration name, with its checksum. */
function checksumsOf(source: string, name: string): Record<string, string> {
  const file = ts.createSourceFile('migrations.ts', source, ts.ScriptTarget.Latest, true);
  const helpers = new Map<string, ts.Node>();
  let migrations: ts.ObjectLiteralExpression | undefined;
  for (const statement of file.statements) {
    if (ts.isFunctionDeclaration(statement) && statement.name) helpers.set(statement.name.text, statement);
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (!ts.isIdentifier(declaration.name)) continue;
      if (declaration.name.text === name && declaration.initializer && ts.isObjectLiteralExpression(declaration.initializer)) migrations = declaration.initializer;
      else helpers.set(declaration.name.text, declaration);
    }
  }
  if (!migrations) throw new Error(`no object literal ${name} in the source`);
  const out: Record<string, string> = {};
  for (const property of migrations.properties) {
    if (!ts.isPropertyAssignment(property) || !(ts.isStringLiteral(property.name) || ts.isIdentifier(property.name))) continue;
    const used = helpersUsed(property.initializer, helpers);
    const text = [property.initializer, ...used].map((node) => tokens(node.getText(file))).join('\n');
    out[property.name.text] = createHash('sha256').update(text).digest('hex').slice(0, 16);
  }
  return out;
}

/** The file's top-level functions and constants a node uses, and those they use, in a stable order. */
function helpersUsed(node: ts.Node, helpers: Map<string, ts.Node>): ts.Node[] {
  const seen = new Set<string>();
  const visit = (current: ts.Node): void => {
    if (ts.isIdentifier(current) && helpers.has(current.text) && !seen.has(current.text)) {
      seen.add(current.text);
      visit(helpers.get(current.text)!);
    }
    ts.forEachChild(current, visit);
  };
  visit(node);
  return [...seen].sort().map((helper) => helpers.get(helper)!);
}

/** The code's tokens, one space apart: comments and layout left out. */
function tokens(text: string): string {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const out: string[] = [];
  while (scanner.scan() !== ts.SyntaxKind.EndOfFileToken) out.push(scanner.getTokenText());
  return out.join(' ');
}
