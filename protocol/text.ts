// Names as people see them: the characters that can hide or reorder what a log line or a page shows (controls,
// line separators, bidi overrides) made visible as escapes. Both sides show file and device names through it.

/**
 * C0 controls, DEL, C1 controls, U+2028/U+2029 (line breaks to many readers), and the bidi controls: ALM U+061C,
 * LRM/RLM U+200E-U+200F, the embeddings and overrides U+202A-U+202E, the isolates U+2066-U+2069. A name holding
 * U+202E can show "photo‮gpj.exe" as "photoexe.jpg"; a newline can forge a second log line.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const ONE_INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const INVISIBLE = new RegExp(ONE_INVISIBLE.source, 'g');

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The text with every hiding or reordering character written as a visible escape (`\n`, `\u202e`). */
export function escapeInvisible(text: string): string {
  return text.replace(INVISIBLE, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Whether the text holds any character escapeInvisible would rewrite. */
export function hasInvisible(text: string): boolean {
  return ONE_INVISIBLE.test(text);
}
