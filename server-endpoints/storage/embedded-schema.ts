// The embedded storage's SQLite database: its schema, its rows and every statement the storage runs on it.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { StoredEntryRow } from './common.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  account_id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL DEFAULT 0,
  purged_seq INTEGER NOT NULL DEFAULT 0,
  sites INTEGER NOT NULL DEFAULT 0,
  storage_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS entries (
  account_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('site', 'upload', 'folder')),
  key TEXT NOT NULL,
  path TEXT NOT NULL,
  size INTEGER,
  sha256 TEXT,
  version INTEGER,
  updated_at_ms INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  seq INTEGER NOT NULL,
  PRIMARY KEY (account_id, kind, key)
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_feed ON entries (account_id, seq);
CREATE UNIQUE INDEX IF NOT EXISTS entries_live_path ON entries (account_id, path) WHERE deleted = 0;
CREATE UNIQUE INDEX IF NOT EXISTS entries_live_site ON entries (key) WHERE kind = 'site' AND deleted = 0;
CREATE INDEX IF NOT EXISTS entries_tombstones ON entries (updated_at_ms) WHERE deleted = 1;
CREATE TABLE IF NOT EXISTS versions (
  account_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, kind, key, version)
);
CREATE TABLE IF NOT EXISTS sessions (
  session_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  client_version TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL
);
`;

export interface EntryRow extends StoredEntryRow {
  size: number | null;
  updated_at_ms: number;
  deleted: number;
  seq: number;
}

export interface AccountRow {
  account_id: string;
  seq: number;
  purged_seq: number;
  sites: number;
  storage_bytes: number;
}

export interface VersionRow {
  version: number;
  size: number;
  sha256: string;
  updated_at_ms: number;
}

/** Opens (creating when missing) `sync.sqlite` in `dir`. */
export function openDatabase(dir: string): Database.Database {
  const db = new Database(join(dir, 'sync.sqlite'));
  db.pragma('journal_mode = WAL');
  // FULL: an acknowledged write is on disk, not only in the OS cache, before the response goes out.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  return db;
}

export type Statements = ReturnType<typeof prepareStatements>;

export function prepareStatements(db: Database.Database) {
  return {
    account: db.prepare<[string], AccountRow>('SELECT * FROM accounts WHERE account_id = ?'),
    ensureAccount: db.prepare<[string]>('INSERT OR IGNORE INTO accounts (account_id) VALUES (?)'),
    bumpSeq: db.prepare<[string], { seq: number }>(
      'UPDATE accounts SET seq = seq + 1 WHERE account_id = ? RETURNING seq',
    ),
    addUsage: db.prepare<[number, number, string]>(
      'UPDATE accounts SET sites = sites + ?, storage_bytes = storage_bytes + ? WHERE account_id = ?',
    ),
    entry: db.prepare<[string, string, string], EntryRow>(
      'SELECT * FROM entries WHERE account_id = ? AND kind = ? AND key = ?',
    ),
    liveAtPath: db.prepare<[string, string], EntryRow>(
      'SELECT * FROM entries WHERE account_id = ? AND path = ? AND deleted = 0',
    ),
    liveBelow: db.prepare<[string, string, string], { one: number }>(
      'SELECT 1 AS one FROM entries WHERE account_id = ? AND deleted = 0 AND path > ? AND path < ? LIMIT 1',
    ),
    siteOwner: db.prepare<[string], { account_id: string }>(
      "SELECT account_id FROM entries WHERE kind = 'site' AND key = ? AND deleted = 0",
    ),
    upsert: db.prepare<[string, string, string, string, number | null, string | null, number | null, number, number]>(
      `INSERT INTO entries (account_id, kind, key, path, size, sha256, version, updated_at_ms, deleted, seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
       ON CONFLICT (account_id, kind, key) DO UPDATE SET path = excluded.path, size = excluded.size,
         sha256 = excluded.sha256, version = excluded.version, updated_at_ms = excluded.updated_at_ms,
         deleted = 0, seq = excluded.seq`,
    ),
    markDeleted: db.prepare<[number, number, string, string, string]>(
      'UPDATE entries SET deleted = 1, updated_at_ms = ?, seq = ? WHERE account_id = ? AND kind = ? AND key = ?',
    ),
    keepVersion: db.prepare<[string, string, string, number, number, string, number]>(
      `INSERT INTO versions (account_id, kind, key, version, size, sha256, updated_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    maxVersion: db.prepare<[string, string, string], { v: number | null }>(
      'SELECT MAX(version) AS v FROM versions WHERE account_id = ? AND kind = ? AND key = ?',
    ),
    versions: db.prepare<[string, string, string], VersionRow>(
      `SELECT version, size, sha256, updated_at_ms FROM versions
       WHERE account_id = ? AND kind = ? AND key = ? ORDER BY version`,
    ),
    version: db.prepare<[string, string, string, number], VersionRow>(
      `SELECT version, size, sha256, updated_at_ms FROM versions
       WHERE account_id = ? AND kind = ? AND key = ? AND version = ?`,
    ),
    deletedSites: db.prepare<[string, number], EntryRow>(
      `SELECT * FROM entries WHERE account_id = ? AND kind = 'site' AND deleted = 1
       ORDER BY updated_at_ms DESC, key LIMIT ?`,
    ),
    listing: db.prepare<[string, string, number], EntryRow>(
      'SELECT * FROM entries WHERE account_id = ? AND deleted = 0 AND path > ? ORDER BY path LIMIT ?',
    ),
    changes: db.prepare<[string, number, number, number], EntryRow>(
      'SELECT * FROM entries WHERE account_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
    ),
    expiredTombstones: db.prepare<[number], { account_id: string; top: number; n: number }>(
      `SELECT account_id, MAX(seq) AS top, COUNT(*) AS n FROM entries
       WHERE deleted = 1 AND updated_at_ms < ? GROUP BY account_id`,
    ),
    purge: db.prepare<[number, string]>(
      'DELETE FROM entries WHERE deleted = 1 AND updated_at_ms < ? AND account_id = ?',
    ),
    setPurged: db.prepare<[number, string]>('UPDATE accounts SET purged_seq = MAX(purged_seq, ?) WHERE account_id = ?'),
    createSession: db.prepare<[string, string, string, string, number, number]>(
      `INSERT INTO sessions (session_id, account_id, device_name, client_version, created_at_ms, last_seen_ms)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    touchSession: db.prepare<[number, string, string, number]>(
      'UPDATE sessions SET last_seen_ms = ? WHERE session_id = ? AND account_id = ? AND last_seen_ms <= ?',
    ),
  };
}
