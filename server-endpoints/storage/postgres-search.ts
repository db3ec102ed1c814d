// The PostgreSQL storage's search index: a row per searchable file (its text and a tsvector of its folded words, GIN
// indexed), written in each write's transaction and searched per account with prefix queries.

import type { SearchResult } from '../../protocol/index.js';
import { queryWords, type SearchDocument, snippetOf } from '../sync/search-text.js';
import { toEntry } from './common.js';
import type { EntryRow, Queryable } from './postgres-db.js';

// `simple`: no stemming and no stop words, as FTS5's unicode61; the words arrive folded (search-text.ts foldText),
// so both storages match the same files without the unaccent extension.
export const SEARCH_SCHEMA = `
CREATE TABLE IF NOT EXISTS sync_search (
  account_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  body TEXT NOT NULL,
  words tsvector NOT NULL,
  PRIMARY KEY (account_id, kind, key)
);
CREATE INDEX IF NOT EXISTS sync_search_words ON sync_search USING GIN (words);
`;

const SQL = {
  put: `INSERT INTO sync_search (account_id, kind, key, body, words) VALUES ($1, $2, $3, $4, to_tsvector('simple', $5))
    ON CONFLICT (account_id, kind, key) DO UPDATE SET body = EXCLUDED.body, words = EXCLUDED.words`,
  remove: 'DELETE FROM sync_search WHERE account_id = $1 AND kind = $2 AND key = $3',
  search: `SELECT e.*, s.body, ts_rank(s.words, q.query) AS score
    FROM to_tsquery('simple', $2) AS q(query)
    JOIN sync_search s ON s.words @@ q.query
    JOIN sync_entries e ON e.account_id = s.account_id AND e.kind = s.kind AND e.key = s.key
    WHERE s.account_id = $1 AND NOT e.deleted
    ORDER BY score DESC, e.path LIMIT $3`,
} as const;

const named = (name: keyof typeof SQL, values: unknown[]) => ({ name: `sync_search_${name}`, text: SQL[name], values });

/** Inside a write's transaction: the file's index row replaced by its new document (or removed: none). */
export async function putSearchDocument(
  db: Queryable,
  file: { accountId: string; kind: string; key: string },
  document: SearchDocument | null,
): Promise<void> {
  const { accountId, kind, key } = file;
  if (document) await db.query(named('put', [accountId, kind, key, document.body, document.words]));
  else await db.query(named('remove', [accountId, kind, key]));
}

/** Inside a delete's transaction: the file is no longer found. */
export async function removeSearchDocument(db: Queryable, accountId: string, kind: string, key: string): Promise<void> {
  await db.query(named('remove', [accountId, kind, key]));
}

export async function searchFiles(
  db: Queryable,
  accountId: string,
  query: string,
  limit: number,
): Promise<SearchResult[]> {
  const words = queryWords(query);
  if (words.length === 0) return [];
  // Words hold only letters and digits, so nothing in them is tsquery syntax.
  const tsquery = words.map((word) => `${word}:*`).join(' & ');
  const { rows } = await db.query<EntryRow & { body: string; score: number }>(
    named('search', [accountId, tsquery, limit]),
  );
  return rows.map((row) => ({ entry: toEntry(row), snippet: snippetOf(row.body, words), score: Number(row.score) }));
}
