// The PostgreSQL storage's connection: the pool, transactions, its rows and every statement the storage runs.

import pg from 'pg';
import type { StoredEntryRow, StoredVersionRow } from './common.js';

/** A pool given by the host (left open on close) or a connection string (the pool is ours). */
export type PostgresConnection = { pool: pg.Pool } | { connectionString: string; maxConnections?: number };

/** pg returns BIGINT as text: every numeric column is read through Number() (all stay below 2^53). */
export type Num = number | string;

export interface EntryRow extends StoredEntryRow {
  size: Num | null;
  updated_at_ms: Num;
  deleted: boolean;
  seq: Num;
}

export interface AccountRow {
  seq: Num;
  purged_seq: Num;
  sites: number;
  storage_bytes: Num;
}

export type VersionRow = StoredVersionRow;

export type Queryable = pg.Pool | pg.PoolClient;

export function openPool(
  connection: PostgresConnection,
  log: (line: string) => void,
): { pool: pg.Pool; owned: boolean } {
  if ('pool' in connection) return { pool: connection.pool, owned: false };
  const pool = new pg.Pool({ connectionString: connection.connectionString, max: connection.maxConnections ?? 10 });
  // An idle client losing its server emits here (unhandled, it would end the process); the pool drops that
  // client and the next query opens a new one.
  pool.on('error', (error) => log(`postgres: an idle connection failed: ${error.message}`));
  return { pool, owned: true };
}

export async function transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client has no pool listener: its connection failing between two statements (PostgreSQL
  // restarting while the write waits on the object store) would be an unhandled 'error' that ends the process.
  // Noted here instead; the next statement then fails, and the client is not returned to the pool.
  const lost = (error: Error): void => {
    broken = error;
  };
  client.on('error', lost);
  try {
    // Whatever the database's default: the account row lock relies on each statement seeing the latest commits.
    await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      // A client that cannot roll back is not returned to the pool.
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.off('error', lost);
    client.release(broken);
  }
}

export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === constraint;
}

const SQL = {
  account: 'SELECT seq, purged_seq, sites, storage_bytes FROM sync_accounts_feed WHERE account_id = $1',
  // Takes the account's row lock for the rest of the transaction: one writer per account at a time, so the
  // write decision reads what the previous writer committed, and seq N commits before N+1 is taken.
  lockAccount: `INSERT INTO sync_accounts_feed (account_id) VALUES ($1)
    ON CONFLICT (account_id) DO UPDATE SET account_id = EXCLUDED.account_id
    RETURNING seq, purged_seq, sites, storage_bytes`,
  bumpSeq: 'UPDATE sync_accounts_feed SET seq = seq + 1 WHERE account_id = $1 RETURNING seq',
  addUsage:
    'UPDATE sync_accounts_feed SET sites = sites + $1, storage_bytes = storage_bytes + $2 WHERE account_id = $3',
  entry: 'SELECT * FROM sync_entries WHERE account_id = $1 AND kind = $2 AND key = $3',
  siteOwner: "SELECT account_id FROM sync_entries WHERE kind = 'site' AND key = $1 AND NOT deleted",
  // A file at `path` is blocked by anything live at it, a file above it, or anything below it.
  pathBlocked: `SELECT 1 FROM sync_entries WHERE account_id = $1 AND NOT deleted AND (
      path = $2 OR (path = ANY($3::text[]) AND kind <> 'folder') OR (path > $4 AND path < $5)) LIMIT 1`,
  liveFiles: `SELECT * FROM sync_entries WHERE account_id = $1 AND NOT deleted
    AND (kind, key) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
  liveAtPaths: 'SELECT * FROM sync_entries WHERE account_id = $1 AND NOT deleted AND path = ANY($2::text[])',
  upsert: `INSERT INTO sync_entries (account_id, kind, key, path, size, sha256, version, updated_at_ms, deleted, seq)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, $9)
    ON CONFLICT (account_id, kind, key) DO UPDATE SET path = EXCLUDED.path, size = EXCLUDED.size,
      sha256 = EXCLUDED.sha256, version = EXCLUDED.version, updated_at_ms = EXCLUDED.updated_at_ms,
      deleted = false, seq = EXCLUDED.seq
    RETURNING *`,
  markDeleted: `UPDATE sync_entries SET deleted = true, updated_at_ms = $1, seq = $2
    WHERE account_id = $3 AND kind = $4 AND key = $5 RETURNING *`,
  keepVersion: `INSERT INTO sync_versions (account_id, kind, key, version, size, sha256, updated_at_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
  // The entry (all nulls when there is none) and the highest version kept of it, in one round trip.
  entryForWrite: `SELECT e.*, (SELECT MAX(version) FROM sync_versions
      WHERE account_id = $1 AND kind = $2 AND key = $3) AS last_kept_version
    FROM (SELECT 1) AS one LEFT JOIN sync_entries e ON e.account_id = $1 AND e.kind = $2 AND e.key = $3`,
  versions: `SELECT version, size, sha256, updated_at_ms FROM sync_versions
    WHERE account_id = $1 AND kind = $2 AND key = $3 ORDER BY version`,
  version: `SELECT version, size, sha256, updated_at_ms FROM sync_versions
    WHERE account_id = $1 AND kind = $2 AND key = $3 AND version = $4`,
  listing: 'SELECT * FROM sync_entries WHERE account_id = $1 AND NOT deleted AND path > $2 ORDER BY path LIMIT $3',
  deletedSites: `SELECT * FROM sync_entries WHERE account_id = $1 AND kind = 'site' AND deleted
    ORDER BY updated_at_ms DESC, key LIMIT $2`,
  // One statement, one snapshot: the head and the page agree. Idle polls read two index entries.
  changes: `SELECT a.seq AS head, a.purged_seq, e.* FROM
      (SELECT seq, purged_seq FROM sync_accounts_feed WHERE account_id = $1) a
      LEFT JOIN LATERAL (SELECT * FROM sync_entries
        WHERE account_id = $1 AND seq > $2 AND seq <= a.seq ORDER BY seq LIMIT $3) e ON true`,
  expiredAccounts: 'SELECT DISTINCT account_id FROM sync_entries WHERE deleted AND updated_at_ms < $1',
  lockAccountRow: 'SELECT 1 FROM sync_accounts_feed WHERE account_id = $1 FOR UPDATE',
  purge: 'DELETE FROM sync_entries WHERE account_id = $1 AND deleted AND updated_at_ms < $2 RETURNING seq',
  setPurged: 'UPDATE sync_accounts_feed SET purged_seq = GREATEST(purged_seq, $1) WHERE account_id = $2',
  createSession: `INSERT INTO sync_sessions (session_id, account_id, device_name, client_version, created_at_ms, last_seen_ms)
    VALUES ($1, $2, $3, $4, $5, $5)`,
  touchSession:
    'UPDATE sync_sessions SET last_seen_ms = $1 WHERE session_id = $2 AND account_id = $3 AND last_seen_ms <= $4',
  notify: 'SELECT pg_notify($1, $2)',
} as const;

/** Named statements are parsed once per connection: the hot queries skip planning after the first use. */
export function named(name: keyof typeof SQL, values: unknown[]): pg.QueryConfig {
  return { name: `sync_${name}`, text: SQL[name], values };
}
