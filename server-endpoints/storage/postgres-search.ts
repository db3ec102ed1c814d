// The PostgreSQL storage's search index: a row per searchable file (its text and a tsvector of its folded words, GIN
// indexed), written in each write's transaction and searched per account with prefix queries.

import type { SearchResult } from '../../protocol/index.js';
import {
  isPrefixWord,
  isSearchable,
  queryWords,
  type SearchDocument,
  searchDocument,
  snippetOf,
} from '../sync/search-text.js';
import { toEntry } from './common.js';
import type { EntryRow, Queryable } from './postgres-db.js';

/** Files read and indexed per step of the build on open. */
const BUILD_STEP = 200;

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
CREATE TABLE IF NOT EXISTS sync_search_built (done BOOLEAN PRIMARY KEY);
`;
/** A new database has nothing stored before its index: nothing to build. */
export const SEARCH_BUILT = 'INSERT INTO sync_search_built (done) VALUES (true) ON CONFLICT DO NOTHING';

const SQL = {
  put: `INSERT INTO sync_search (account_id, kind, key, body, words) VALUES ($1, $2, $3, $4, to_tsvector('simple', $5))
    ON CONFLICT (account_id, kind, key) DO UPDATE SET body = EXCLUDED.body, words = EXCLUDED.words`,
  remove: 'DELETE FROM sync_search WHERE account_id = $1 AND kind = $2 AND key = $3',
  // As the embedded storage: only the newest 1,000 matches are ranked (ranking is a pass over each match).
  search: `WITH q AS (SELECT to_tsquery('simple', $2) AS query),
    candidates AS (SELECT e.*, s.words FROM q JOIN sync_search s ON s.words @@ q.query
      JOIN sync_entries e ON e.account_id = s.account_id AND e.kind = s.kind AND e.key = s.key
      WHERE s.account_id = $1 AND NOT e.deleted ORDER BY e.seq DESC LIMIT 1000)
    SELECT c.*, s.body, ts_rank(c.words, q.query) AS score FROM candidates c CROSS JOIN q
      JOIN sync_search s ON s.account_id = c.account_id AND s.kind = c.kind AND s.key = c.key
    ORDER BY score DESC, c.path LIMIT $3`,
  built: 'SELECT done FROM sync_search_built',
  unindexed: `SELECT * FROM sync_entries e WHERE NOT deleted AND kind <> 'folder' AND sha256 IS NOT NULL
      AND (account_id, kind, key) > ($1, $2, $3) AND NOT EXISTS (SELECT 1 FROM sync_search s
        WHERE s.account_id = e.account_id AND s.kind = e.kind AND s.key = e.key)
    ORDER BY account_id, kind, key LIMIT $4`,
  // Only while the file still holds the content read; a write meanwhile indexed it itself (and wins a race here).
  putUnchanged: `INSERT INTO sync_search (account_id, kind, key, body, words)
    SELECT $1, $2, $3, $4, to_tsvector('simple', $5) WHERE EXISTS (SELECT 1 FROM sync_entries
      WHERE account_id = $1 AND kind = $2 AND key = $3 AND sha256 = $6 AND NOT deleted)
    ON CONFLICT DO NOTHING`,
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
  const tsquery = words.map((word) => (isPrefixWord(word) ? `${word}:*` : word)).join(' & ');
  const { rows } = await db.query<EntryRow & { body: string; score: number }>(
    named('search', [accountId, tsquery, limit]),
  );
  return rows.map((row) => ({ entry: toEntry(row), snippet: snippetOf(row.body, words), score: Number(row.score) }));
}

/**
 * Indexes the files stored before the index existed (a database from schema 1), BUILD_STEP at a time, skipping a file
 * changed meanwhile; marks the build done. Resolves to how many files it indexed (0 when it was done before).
 */
export async function buildSearchIndex(
  db: Queryable,
  readContent: (row: EntryRow) => Promise<Buffer>,
  log: (line: string) => void,
  closed: () => boolean,
): Promise<number> {
  if ((await db.query(named('built', []))).rows.length > 0) return 0;
  const started = Date.now();
  let indexed = 0;
  let after = ['', '', ''];
  for (;;) {
    // Closing the storage ends the build; the next open goes on with what is left.
    if (closed()) return indexed;
    const { rows } = await db.query<EntryRow>(named('unindexed', [...after, BUILD_STEP]));
    if (rows.length === 0) break;
    const last = rows.at(-1)!;
    after = [last.account_id, last.kind, last.key];
    for (const row of rows) {
      if (!isSearchable(row.kind, row.path, Number(row.size ?? 0))) continue;
      const content = await readContent(row).catch((error: Error) => {
        log(`search index: ${row.path} of account ${row.account_id} left out: ${error.message}`);
        return null;
      });
      const document = content && searchDocument(row.kind, row.path, content);
      if (!document || closed()) continue;
      const values = [row.account_id, row.kind, row.key, document.body, document.words, row.sha256];
      indexed += (await db.query(named('putUnchanged', values))).rowCount ?? 0;
    }
  }
  await db.query(SEARCH_BUILT);
  if (indexed > 0) log(`search index: built for ${indexed} files stored before it, in ${Date.now() - started} ms`);
  return indexed;
}
