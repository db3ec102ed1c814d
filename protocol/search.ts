// PROTOCOL.md "Search": GET /sync/search?q=TEXT&limit=N over the caller's own text files, and its answer's parser.

import { type Entry, ProtocolViolation, parseEntry } from './entries.js';

/** Results per answer: `limit` is 1-100, 20 when absent. */
export const MAX_SEARCH_LIMIT = 100;
export const DEFAULT_SEARCH_LIMIT = 20;
/** A longer query is refused (400 bad_request). */
export const MAX_SEARCH_QUERY_CHARS = 200;

/** One file that matched, best first; `snippet` is plain text around the first match, `score` higher is better. */
export interface SearchResult {
  entry: Entry;
  snippet: string;
  score: number;
}

/** Validates an answer of GET /sync/search: every entry a live file, every snippet text, every score a number. */
export function parseSearchResponse(value: unknown): SearchResult[] {
  const list = typeof value === 'object' && value !== null ? (value as { results?: unknown }).results : undefined;
  if (!Array.isArray(list)) throw new ProtocolViolation('search answer has no results');
  if (list.length > MAX_SEARCH_LIMIT) throw new ProtocolViolation('search answer has too many results');
  return list.map((item: unknown) => {
    const raw = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const entry = parseEntry(raw.entry);
    if (entry.kind === 'folder' || entry.deleted) throw new ProtocolViolation('a search result is not a live file');
    if (typeof raw.snippet !== 'string') throw new ProtocolViolation('a search result has no snippet');
    if (typeof raw.score !== 'number' || !Number.isFinite(raw.score)) {
      throw new ProtocolViolation('a search result has a bad score');
    }
    return { entry, snippet: raw.snippet, score: raw.score };
  });
}
