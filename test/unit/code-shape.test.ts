// The shape the code is held to (STYLE.md: "A function fits on a screen or two (well under 150 lines); a file holds
// one concern (well under 500)"), measured on the parsed source of the product's own folders.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAst } from 'rolldown/parseAst';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FOLDERS = ['sync-engine', 'server-endpoints', 'cli', 'electron/core', 'protocol'];
const MAX_FILE_LINES = 500;
const MAX_FUNCTION_LINES = 150;

function sourceFiles(folder: string): string[] {
  return readdirSync(join(REPO, folder), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => relative(REPO, join(d.parentPath, d.name)));
}

interface Node {
  type: string;
  start: number;
  end: number;
  [field: string]: unknown;
}

/** Every function (declarations, expressions, arrows, methods) with its name where it has one and its line count. */
function functionsOf(source: string): Array<{ name: string; lines: number }> {
  const lineAt = (offset: number): number => source.slice(0, offset).split('\n').length;
  const found: Array<{ name: string; lines: number }> = [];
  const visit = (value: unknown, name: string): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, name);
      return;
    }
    if (typeof value !== 'object' || value === null || typeof (value as Node).type !== 'string') return;
    const node = value as Node;
    let inner = name;
    const id = (node.id ?? node.key) as { name?: string } | undefined;
    if (id?.name) inner = id.name;
    if (/Function/.test(node.type) && node.body) {
      found.push({ name: inner, lines: lineAt(node.end) - lineAt(node.start) + 1 });
    }
    for (const [field, child] of Object.entries(node)) if (field !== 'type') visit(child, inner);
  };
  visit(parseAst(source, { lang: 'ts' }).body, '(anonymous)');
  return found;
}

describe('code shape', () => {
  const files = FOLDERS.flatMap(sourceFiles);

  it('measures the product folders (so a check that finds nothing is not a check that read nothing)', () => {
    expect(files.length).toBeGreaterThan(60);
    const longest = Math.max(
      ...files.flatMap((file) => functionsOf(readFileSync(join(REPO, file), 'utf8'))).map((f) => f.lines),
    );
    expect(longest).toBeGreaterThan(40);
  });

  it(`no file over ${MAX_FILE_LINES} lines`, () => {
    const long = files
      .map((file) => ({ file, lines: readFileSync(join(REPO, file), 'utf8').split('\n').length }))
      .filter((f) => f.lines > MAX_FILE_LINES);
    expect(long).toEqual([]);
  });

  it(`no function over ${MAX_FUNCTION_LINES} lines`, () => {
    const long = files.flatMap((file) =>
      functionsOf(readFileSync(join(REPO, file), 'utf8'))
        .filter((f) => f.lines > MAX_FUNCTION_LINES)
        .map((f) => `${file}: ${f.name} (${f.lines} lines)`),
    );
    expect(long).toEqual([]);
  });
});
