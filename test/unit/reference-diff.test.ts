// The dashboard's line diff (server-endpoints/reference/diff.ts): what a version comparison shows.

import { describe, expect, it } from 'vitest';
import { lineDiff, MAX_DIFF_CELLS } from '../../server-endpoints/reference/diff.js';

const render = (before: string, after: string) =>
  lineDiff(before, after)?.map((line) => `${{ same: ' ', add: '+', del: '-' }[line.op]}${line.text}`);

describe('lineDiff', () => {
  it('keeps equal texts as they are, a final newline ending the last line', () => {
    expect(render('a\nb\n', 'a\nb\n')).toEqual([' a', ' b']);
    expect(render('', '')).toEqual([' ']);
  });

  it('shows added, removed and changed lines in order, around the common head and tail', () => {
    expect(render('a\nb\nc\n', 'a\nx\nc\nd\n')).toEqual([' a', '-b', '+x', ' c', '+d']);
    expect(render('one\ntwo\nthree', 'zero\none\nthree')).toEqual(['+zero', ' one', '-two', ' three']);
    expect(render('a\n', '')).toEqual(['-a', '+']);
  });

  it('finds the longest common subsequence, not just the first match', () => {
    expect(render('x\na\nb\nc', 'a\nb\nc\nx')).toEqual(['-x', ' a', ' b', ' c', '+x']);
  });

  it('refuses (null) a middle too large to compare, however long the common parts', () => {
    const side = Math.ceil(Math.sqrt(MAX_DIFF_CELLS)) + 1;
    const many = (prefix: string) => Array.from({ length: side }, (_, i) => `${prefix}${i}`).join('\n');
    expect(lineDiff(many('a'), many('b'))).toBeNull();
    const long = many('same');
    expect(lineDiff(`${long}\nold`, `${long}\nnew`)?.filter((line) => line.op !== 'same')).toHaveLength(2);
  });
});
