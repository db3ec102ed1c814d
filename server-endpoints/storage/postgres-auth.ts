// The PostgreSQL AuthStore: sign-in codes (by hash, single use) and device connections, shared by every process.

import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { AuthCodeRecord, AuthStore, DeviceConnection } from '../types.js';
import { type Num, type PostgresConnection, transaction } from './postgres-db.js';
import { POSTGRES_DEVICE_CODES_SCHEMA, postgresDeviceCodes } from './postgres-device-codes.js';
import { openMigratedPool } from './postgres-schema.js';

export type PostgresAuthStoreOptions = PostgresConnection & {
  /** The clock, in ms (prunes expired codes, stamps connections); default Date.now. */
  now?: () => number;
  /** One line per event (no secrets); default nothing. */
  log?: (line: string) => void;
};

interface CodeRow {
  account_id: string;
  redirect_uri: string;
  code_challenge: string;
  device_name: string;
  expires_at_ms: Num;
}

interface DeviceRow {
  sid: string;
  device_name: string;
  created_at_ms: Num;
  last_seen_ms: Num | null;
}

function toDevice(row: DeviceRow): DeviceConnection {
  return {
    sid: row.sid,
    deviceName: row.device_name,
    signedInAtMs: Number(row.created_at_ms),
    lastSeenAtMs: row.last_seen_ms === null ? null : Number(row.last_seen_ms),
  };
}

/** Arbitrary, fixed: serialises the one column this store adds, when several processes start together. */
const LAST_SEEN_LOCK = 0x6863_6c73;

/**
 * The device list's last-seen column, added to databases made before it, and the device sign-ins' table (the schema
 * of postgres-schema.ts is the storage's; this store owns only these). Under an advisory lock, so concurrent starts do not race the DDL.
 */
async function addLastSeen(pool: pg.Pool): Promise<void> {
  await transaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LAST_SEEN_LOCK]);
    await client.query('ALTER TABLE sync_connections ADD COLUMN IF NOT EXISTS last_seen_ms BIGINT');
    await client.query(POSTGRES_DEVICE_CODES_SCHEMA);
  });
}

/** Sign-in codes (by hash, single use) and device connections in PostgreSQL, shared by every process. */
export async function openPostgresAuthStore(options: PostgresAuthStoreOptions): Promise<AuthStore> {
  const { pool, owned } = await openMigratedPool(options, options.log ?? (() => {}));
  try {
    await addLastSeen(pool);
  } catch (error) {
    if (owned) await pool.end().catch(() => {});
    throw error;
  }
  const now = options.now ?? Date.now;
  let closed = false;
  return {
    ...postgresDeviceCodes(pool, now),
    async saveCode(codeHash, record: AuthCodeRecord) {
      // Codes never exchanged would pile up; they are useless once expired.
      await pool.query('DELETE FROM sync_auth_codes WHERE expires_at_ms < $1', [now()]);
      await pool.query(
        `INSERT INTO sync_auth_codes (code_hash, account_id, redirect_uri, code_challenge, device_name, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [codeHash, record.accountId, record.redirectUri, record.codeChallenge, record.deviceName, record.expiresAtMs],
      );
    },
    async takeCode(codeHash) {
      // DELETE ... RETURNING is the single use: of two concurrent exchanges, only one gets the row.
      const { rows } = await pool.query<CodeRow>('DELETE FROM sync_auth_codes WHERE code_hash = $1 RETURNING *', [
        codeHash,
      ]);
      const row = rows[0];
      if (!row) return null;
      return {
        accountId: row.account_id,
        redirectUri: row.redirect_uri,
        codeChallenge: row.code_challenge,
        deviceName: row.device_name,
        expiresAtMs: Number(row.expires_at_ms),
      };
    },
    async createConnection(accountId, deviceName) {
      const sid = randomBytes(18).toString('base64url');
      await pool.query(
        'INSERT INTO sync_connections (sid, account_id, device_name, created_at_ms) VALUES ($1, $2, $3, $4)',
        [sid, accountId, deviceName, now()],
      );
      return sid;
    },
    async revokeConnection(sid) {
      await pool.query('UPDATE sync_connections SET revoked_at_ms = $1 WHERE sid = $2 AND revoked_at_ms IS NULL', [
        now(),
        sid,
      ]);
    },
    async revokeAccountConnections(accountId) {
      const { rowCount } = await pool.query(
        'UPDATE sync_connections SET revoked_at_ms = $1 WHERE account_id = $2 AND revoked_at_ms IS NULL',
        [now(), accountId],
      );
      return rowCount ?? 0;
    },
    async touchConnection(sid, atMs) {
      await pool.query('UPDATE sync_connections SET last_seen_ms = $1 WHERE sid = $2', [atMs, sid]);
    },
    async connections(accountId) {
      const { rows } = await pool.query<DeviceRow>(
        `SELECT sid, device_name, created_at_ms, last_seen_ms FROM sync_connections
         WHERE account_id = $1 AND revoked_at_ms IS NULL
         ORDER BY COALESCE(last_seen_ms, created_at_ms) DESC, sid`,
        [accountId],
      );
      return rows.map(toDevice);
    },
    async connection(sid) {
      const { rows } = await pool.query<{ account_id: string; revoked_at_ms: Num | null }>(
        'SELECT account_id, revoked_at_ms FROM sync_connections WHERE sid = $1',
        [sid],
      );
      const row = rows[0];
      if (!row) return null;
      return { accountId: row.account_id, revoked: row.revoked_at_ms !== null };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await pool.end();
    },
  };
}
