// The PostgreSQL AuthStore: sign-in codes (by hash, single use) and device connections, shared by every process.

import { randomBytes } from 'node:crypto';
import type { AuthCodeRecord, AuthStore } from '../types.js';
import type { Num, PostgresConnection } from './postgres-db.js';
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

/** Sign-in codes (by hash, single use) and device connections in PostgreSQL, shared by every process. */
export async function openPostgresAuthStore(options: PostgresAuthStoreOptions): Promise<AuthStore> {
  const { pool, owned } = await openMigratedPool(options, options.log ?? (() => {}));
  const now = options.now ?? Date.now;
  let closed = false;
  return {
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
