// A line diff (longest common subsequence) between two texts, for comparing a version with the current content.

export type DiffLine = { op: 'same' | 'add' | 'del'; text: string };

/** Past this many cells (lines × lines) the table would not fit in memory comfortably: the diff is refused. */
export const MAX_DIFF_CELLS = 4_000_000;

/**
 * The lines of `before` and `after` in order, each kept, removed or added. The common head and tail are taken off
 * first, so an edit in a long file only costs the changed middle. null when the middle is too big to compare.
 */
export function lineDiff(before: string, after: string): DiffLine[] | null {
  const a = linesOf(before);
  const b = linesOf(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const left = a.slice(head, a.length - tail);
  const right = b.slice(head, b.length - tail);
  if ((left.length + 1) * (right.length + 1) > MAX_DIFF_CELLS) return null;
  const middle = lcsDiff(left, right);
  const same = (text: string): DiffLine => ({ op: 'same', text });
  return [...a.slice(0, head).map(same), ...middle, ...a.slice(a.length - tail).map(same)];
}

/** A text's lines; a final newline ends the last line rather than starting an empty one. */
function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function lcsDiff(a: string[], b: string[]): DiffLine[] {
  const width = b.length + 1;
  // lengths[i * width + j]: the LCS length of a[i..] and b[j..].
  const lengths = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i * width + j] =
        a[i] === b[j]
          ? (lengths[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(lengths[(i + 1) * width + j] ?? 0, lengths[i * width + j + 1] ?? 0);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ op: 'same', text: a[i] ?? '' });
      i++;
      j++;
    } else if ((lengths[(i + 1) * width + j] ?? 0) >= (lengths[i * width + j + 1] ?? 0)) {
      out.push({ op: 'del', text: a[i++] ?? '' });
    } else {
      out.push({ op: 'add', text: b[j++] ?? '' });
    }
  }
  while (i < a.length) out.push({ op: 'del', text: a[i++] ?? '' });
  while (j < b.length) out.push({ op: 'add', text: b[j++] ?? '' });
  return out;
}
