// What PROTOCOL.md "Search" finds, written once for every storage: which files are searchable, their text (the
// visible text of HTML), the folding both storages index and query with, and the plain-text snippet. No I/O.

import type { EntryKind } from '../../protocol/index.js';

/** Uploads bigger than this are not searched (PROTOCOL.md: text files up to 2 MiB); neither are sites. */
export const MAX_SEARCHED_FILE_BYTES = 2 * 1024 * 1024;
/** Words longer than this are data (hashes, base64), not words: left out of the index. */
const MAX_WORD_CHARS = 40;
/**
 * Distinct words indexed per file. Bounds a PostgreSQL tsvector (at most 1 MB) whatever the file holds; a file of
 * prose has far fewer. Both storages index the same words, so both find the same files.
 */
const MAX_DISTINCT_WORDS = 16_000;
/** Words of a query that count; the rest are ignored. */
const MAX_QUERY_WORDS = 16;

const TEXT_EXTENSIONS = new Set([
  'txt',
  'text',
  'md',
  'markdown',
  'html',
  'htm',
  'css',
  'js',
  'mjs',
  'cjs',
  'ts',
  'json',
  'csv',
  'tsv',
  'xml',
  'svg',
  'yaml',
  'yml',
  'toml',
  'ini',
  'log',
  'rss',
  'atom',
  'vtt',
  'srt',
]);
/** Markup whose tags are not text: only what is between them is indexed. */
const MARKUP_EXTENSIONS = new Set(['html', 'htm', 'xml', 'svg', 'rss', 'atom']);

const extensionOf = (path: string): string => {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
};

/** Whether a file of this kind, path and size is searched: every site, and uploads of text types, up to 2 MiB. */
export function isSearchable(kind: EntryKind, path: string, size: number): boolean {
  if (kind === 'folder' || size > MAX_SEARCHED_FILE_BYTES) return false;
  return kind === 'site' || TEXT_EXTENSIONS.has(extensionOf(path));
}

/** A file as the index holds it: its text (for snippets) and its folded words (what is matched). */
export interface SearchDocument {
  body: string;
  words: string;
}

/** The document of a searchable file's content; null when the file is not searchable. */
export function searchDocument(kind: EntryKind, path: string, content: Buffer): SearchDocument | null {
  if (!isSearchable(kind, path, content.length)) return null;
  const text = new TextDecoder('utf-8').decode(content);
  const markup = kind === 'site' || MARKUP_EXTENSIONS.has(extensionOf(path));
  const body = plainText(markup ? visibleText(text) : text);
  return { body, words: indexWords(body) };
}

/** Lower case without accents: "Über Café" -> "uber cafe". What both storages index and query. */
export function foldText(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
}

const WORD = /[\p{L}\p{N}]+/gu;

/**
 * Whether a query word matches as the start of a word (the rule) or only as a whole word: one character alone would
 * match nearly every file and cost a pass over the whole index, so "a" finds the word "a", not "apple".
 */
export const isPrefixWord = (word: string): boolean => word.length > 1;

/** The folded words of a query (prefixes to match, all of them), without repeats; [] when it has none. */
export function queryWords(query: string): string[] {
  const words = foldText(query).match(WORD) ?? [];
  return [...new Set(words.map((word) => word.slice(0, MAX_WORD_CHARS)))].slice(0, MAX_QUERY_WORDS);
}

/** The words of a text as the index holds them: folded, space-separated, bounded (see MAX_DISTINCT_WORDS). */
function indexWords(body: string): string {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const [word] of foldText(body).matchAll(WORD)) {
    if (word.length > MAX_WORD_CHARS) continue;
    if (!seen.has(word)) {
      if (seen.size >= MAX_DISTINCT_WORDS) continue;
      seen.add(word);
    }
    kept.push(word);
  }
  return kept.join(' ');
}

/** Control characters and runs of white space as one space: a snippet is one line of plain text. */
function plainText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  return text.replace(/[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
}

/** Elements whose content is never shown as text. */
const HIDDEN = new Set(['script', 'style', 'template', 'noscript']);
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * The text a browser shows for an HTML (or XML) document, simply: tags, comments and the content of script and style
 * dropped, character references decoded. One linear pass (indexOf, sticky regexes), so no input makes it slow.
 */
export function visibleText(html: string): string {
  const parts: string[] = [];
  let at = 0;
  while (at < html.length) {
    const lt = html.indexOf('<', at);
    if (lt < 0) {
      parts.push(html.slice(at));
      break;
    }
    parts.push(html.slice(at, lt), ' ');
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      at = end < 0 ? html.length : end + 3;
      continue;
    }
    const gt = html.indexOf('>', lt);
    if (gt < 0) break;
    at = gt + 1;
    const name = /^<([A-Za-z][A-Za-z0-9-]*)/.exec(html.slice(lt, lt + 32))?.[1]?.toLowerCase();
    if (name && HIDDEN.has(name)) at = endOfElement(html, name, at);
  }
  return decodeEntities(parts.join(''));
}

/** Where the closing tag of `name` (searched from `from`) ends; the end of the document when it has none. */
function endOfElement(html: string, name: string, from: number): number {
  const close = new RegExp(`</${name}\\b[^>]*>`, 'gi');
  close.lastIndex = from;
  const found = close.exec(html);
  return found ? found.index + found[0].length : html.length;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,6});/g, (whole, ref: string) => {
    if (ref[0] !== '#') return ENTITIES[ref.toLowerCase()] ?? whole;
    const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
    return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : ' ';
  });
}

const SNIPPET_BEFORE = 60;
const SNIPPET_AFTER = 140;
/** A word of the original text, with its accents (matched after folding it). */
const TEXT_WORD = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * Plain text around the first word of `body` that starts with one of `words` (folded), cut at word boundaries with
 * "…" where it was cut; the start of the text when no word matches (the file matched on words past the index bound).
 */
export function snippetOf(body: string, words: readonly string[]): string {
  let hit = 0;
  for (const match of body.matchAll(TEXT_WORD)) {
    const folded = foldText(match[0]);
    if (words.some((word) => (isPrefixWord(word) ? folded.startsWith(word) : folded === word))) {
      hit = match.index;
      break;
    }
  }
  let start = Math.max(0, hit - SNIPPET_BEFORE);
  let end = Math.min(body.length, hit + SNIPPET_AFTER);
  if (start > 0) {
    const space = body.indexOf(' ', start);
    start = space >= 0 && space < hit ? space + 1 : start;
  }
  if (end < body.length) {
    const space = body.lastIndexOf(' ', end);
    end = space > hit ? space : end;
  }
  return `${start > 0 ? '… ' : ''}${body.slice(start, end).trim()}${end < body.length ? ' …' : ''}`;
}
