// The PostgreSQL schema of the sync storage and auth store: created once per database, versioned in sync_schema.

import type pg from 'pg';
import { openPool, type PostgresConnection, transaction } from './postgres-db.js';
import { SEARCH_BUILT, SEARCH_SCHEMA } from './postgres-search.js';

/** 1: entries, versions, feed, sessions, auth. 2: the search index. */
const SCHEMA_VERSION = 2;
/** Serialises schema creation between processes starting at once (CREATE IF NOT EXISTS alone can race). */
const SCHEMA_LOCK = 0x4879_636c; // "Hycl"

// COLLATE "C": paths order and compare by bytes, like the embedded storage, whatever the database's locale.
const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS sync_accounts_feed (
  account_id TEXT PRIMARY KEY,
  seq BIGINT NOT NULL DEFAULT 0,
  purged_seq BIGINT NOT NULL DEFAULT 0,
  sites INTEGER NOT NULL DEFAULT 0,
  storage_bytes BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sync_entries (
  account_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('site', 'upload', 'folder')),
  key TEXT COLLATE "C" NOT NULL,
  path TEXT COLLATE "C" NOT NULL,
  size BIGINT,
  sha256 TEXT,
  version INTEGER,
  updated_at_ms BIGINT NOT NULL,
  deleted BOOLEAN NOT NULL DEFAULT false,
  seq BIGINT NOT NULL,
  PRIMARY KEY (account_id, kind, key)
);
CREATE UNIQUE INDEX IF NOT EXISTS sync_entries_feed ON sync_entries (account_id, seq);
CREATE UNIQUE INDEX IF NOT EXISTS sync_entries_live_path ON sync_entries (account_id, path) WHERE NOT deleted;
CREATE UNIQUE INDEX IF NOT EXISTS sync_entries_live_site ON sync_entries (key) WHERE kind = 'site' AND NOT deleted;
CREATE INDEX IF NOT EXISTS sync_entries_tombstones ON sync_entries (updated_at_ms) WHERE deleted;
CREATE TABLE IF NOT EXISTS sync_versions (
  account_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  version INTEGER NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (account_id, kind, key, version)
);
CREATE TABLE IF NOT EXISTS sync_sessions (
  session_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  client_version TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  last_seen_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sync_auth_codes (
  code_hash TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  device_name TEXT NOT NULL,
  expires_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sync_auth_codes_expiry ON sync_auth_codes (expires_at_ms);
CREATE TABLE IF NOT EXISTS sync_connections (
  sid TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  revoked_at_ms BIGINT
);
CREATE INDEX IF NOT EXISTS sync_connections_account ON sync_connections (account_id);
`;

/** Creates the tables once per database (idempotent, safe with several processes starting together). */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  await transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS sync_schema (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT MAX(version) AS version FROM sync_schema');
    const current = rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `The database's sync schema is version ${current}, newer than this server's ${SCHEMA_VERSION}: update the server.`,
      );
    }
    if (current < 1) {
      await client.query(SCHEMA_V1);
      await client.query('INSERT INTO sync_schema (version) VALUES (1)');
    }
    if (current < 2) {
      await client.query(SEARCH_SCHEMA);
      if (current < 1) await client.query(SEARCH_BUILT);
      await client.query('INSERT INTO sync_schema (version) VALUES (2)');
    }
  });
}

/** The pool of a storage or auth store, its schema in place; a pool of ours is closed again when that fails. */
export async function openMigratedPool(
  connection: PostgresConnection,
  log: (line: string) => void,
): Promise<{ pool: pg.Pool; owned: boolean }> {
  const { pool, owned } = openPool(connection, log);
  try {
    await migratePostgres(pool);
  } catch (error) {
    if (owned) await pool.end().catch(() => {});
    throw error;
  }
  return { pool, owned };
}
