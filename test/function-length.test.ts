import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** Longer than this, a function is split (its parts named for what they do). */
const MAX_LINES = 80;
const SRC = join(import.meta.dirname, '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function nameOf(node: ts.SignatureDeclaration): string {
  if (node.name !== undefined) return node.name.getText();
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.name) return parent.name.getText();
  return '<anonymous>';
}

/** Every function in src/ longer than MAX_LINES, as `file:name (lines)`. */
function longFunctions(): string[] {
  const long: string[] = [];
  for (const file of files(SRC)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const lines = source.getLineAndCharacterOfPosition(node.end).line - source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        const name = nameOf(node);
        const key = `${relative(SRC, file)}:${name}`;
        // A migration's `up` is a table definition: long by nature, and append-only.
        const migration = name === 'up';
        if (lines > MAX_LINES && !migration) long.push(`${key} (${lines} lines)`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return long;
}

describe('source shape', () => {
  it(`has no function over ${MAX_LINES} lines in src/ (migrations' table definitions excepted)`, () => {
    expect(longFunctions()).toEqual([]);
  });
});
