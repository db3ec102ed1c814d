// The embedded storage's search index: an FTS5 table whose rowid is the entry's rowid, written inside each write's
// transaction, searched per account, and built in the background on open for files stored before it existed.

import type Database from 'better-sqlite3';
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
import type { EntryRow } from './embedded-schema.js';

// The words are folded in JS (search-text.ts), as PostgreSQL indexes them; the tokenizer folds again, harmlessly.
// Every query word is a prefix: the prefix indexes keep a short one ("ca") from expanding into thousands of terms.
const SCHEMA = `
CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(
  words, body UNINDEXED, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4'
);
`;
/** PRAGMA user_version once every file stored before the index existed has been indexed. */
const INDEX_BUILT = 1;
/**
 * Matches ranked at most (the newest): ranking costs a pass over every match, so a word found in most of 10,000
 * files would cost tens of ms; its best 20 of its newest 1,000 files are as useful. Fewer matches are all ranked.
 */
const RANKED_CANDIDATES = 1000;
/** Files read and indexed per step of the build on open (a transaction each; writes go on in between). */
const BUILD_STEP = 200;

type HitRow = EntryRow & { body: string; rank: number };
type Candidate = EntryRow & { row_id: number };

export class SearchIndex {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    this.q = {
      rowid: db.prepare<[string, string, string], { row_id: number }>(
        'SELECT rowid AS row_id FROM entries WHERE account_id = ? AND kind = ? AND key = ?',
      ),
      remove: db.prepare<[number]>('DELETE FROM search_index WHERE rowid = ?'),
      insert: db.prepare<[number, string, string]>('INSERT INTO search_index (rowid, words, body) VALUES (?, ?, ?)'),
      has: db.prepare<[number], { one: number }>('SELECT 1 AS one FROM search_index WHERE rowid = ?'),
      // The newest RANKED_CANDIDATES matches end at this rowid (none: fewer match): only they are ranked.
      candidates: db.prepare<[string, string, number], { rid: number }>(
        `SELECT s.rowid AS rid FROM search_index s JOIN entries e ON e.rowid = s.rowid
         WHERE search_index MATCH ? AND e.account_id = ? AND e.deleted = 0 ORDER BY s.rowid DESC LIMIT 1 OFFSET ?`,
      ),
      // The best rowids first, then their entries and texts: only `limit` bodies are read, however many match.
      search: db.prepare<[string, number, string, number], HitRow>(
        `WITH hits AS (
           SELECT s.rowid AS rid, bm25(search_index) AS rank FROM search_index s JOIN entries e ON e.rowid = s.rowid
           WHERE search_index MATCH ? AND s.rowid >= ? AND e.account_id = ? AND e.deleted = 0
           ORDER BY rank, e.path LIMIT ?)
         SELECT e.*, h.rank AS rank, (SELECT body FROM search_index WHERE rowid = h.rid) AS body
         FROM hits h JOIN entries e ON e.rowid = h.rid ORDER BY h.rank, e.path`,
      ),
      unindexed: db.prepare<[number, number], Candidate>(
        `SELECT rowid AS row_id, * FROM entries e WHERE rowid > ? AND deleted = 0 AND kind != 'folder'
           AND sha256 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM search_index s WHERE s.rowid = e.rowid)
         ORDER BY rowid LIMIT ?`,
      ),
      current: db.prepare<[number], { sha256: string | null; deleted: number }>(
        'SELECT sha256, deleted FROM entries WHERE rowid = ?',
      ),
    };
  }

  /** Inside a write's transaction: the file's index row replaced by its new document (or removed: none). */
  put(accountId: string, kind: string, key: string, document: SearchDocument | null): void {
    const rowid = this.q.rowid.get(accountId, kind, key)!.row_id;
    this.q.remove.run(rowid);
    if (document) this.q.insert.run(rowid, document.words, document.body);
  }

  /** Inside a delete's transaction: the file is no longer found. */
  remove(accountId: string, kind: string, key: string): void {
    const row = this.q.rowid.get(accountId, kind, key);
    if (row) this.q.remove.run(row.row_id);
  }

  search(accountId: string, query: string, limit: number): SearchResult[] {
    const words = queryWords(query);
    if (words.length === 0) return [];
    // Each word quoted (it holds only letters and digits) as a prefix; FTS5 joins them with AND.
    const match = words.map((word) => (isPrefixWord(word) ? `"${word}"*` : `"${word}"`)).join(' ');
    const from = this.q.candidates.get(match, accountId, RANKED_CANDIDATES - 1)?.rid ?? 0;
    return this.q.search.all(match, from, accountId, limit).map((row) => ({
      entry: toEntry(row),
      snippet: snippetOf(row.body, words),
      score: -row.rank,
    }));
  }

  /**
   * Indexes the files stored before the index existed, BUILD_STEP at a time, each step in its own IMMEDIATE
   * transaction that skips a file changed meanwhile (its write indexed it). Stops when the database closes. Resolves
   * to how many files it indexed; once done, later opens skip it.
   */
  async build(readContent: (row: EntryRow) => Promise<Buffer>, log: (line: string) => void): Promise<number> {
    if (Number(this.db.pragma('user_version', { simple: true })) >= INDEX_BUILT) return 0;
    const started = Date.now();
    let indexed = 0;
    let after = 0;
    for (;;) {
      if (!this.db.open) return indexed;
      const rows = this.q.unindexed.all(after, BUILD_STEP);
      if (rows.length === 0) break;
      after = rows.at(-1)!.row_id;
      const documents: Array<[Candidate, SearchDocument]> = [];
      for (const row of rows) {
        if (!isSearchable(row.kind, row.path, Number(row.size ?? 0))) continue;
        const content = await readContent(row).catch((error: Error) => {
          log(`search index: ${row.path} of account ${row.account_id} left out: ${error.message}`);
          return null;
        });
        const document = content && searchDocument(row.kind, row.path, content);
        if (document) documents.push([row, document]);
      }
      if (!this.db.open) return indexed;
      indexed += this.db.transaction(() => this.indexUnchanged(documents)).immediate();
    }
    this.db.pragma(`user_version = ${INDEX_BUILT}`);
    if (indexed > 0) log(`search index: built for ${indexed} files stored before it, in ${Date.now() - started} ms`);
    return indexed;
  }

  private indexUnchanged(documents: Array<[Candidate, SearchDocument]>): number {
    let indexed = 0;
    for (const [row, document] of documents) {
      const now = this.q.current.get(row.row_id);
      if (!now || now.deleted || now.sha256 !== row.sha256 || this.q.has.get(row.row_id)) continue;
      this.q.insert.run(row.row_id, document.words, document.body);
      indexed++;
    }
    return indexed;
  }
}
