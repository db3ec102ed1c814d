// The PostgreSQL AuthStore's device sign-ins (PROTOCOL.md "Device sign-in"): its table, codes by hash, decided once,
// taken once, shared by every process.

import type pg from 'pg';
import { answerPoll, EXPIRED_DEVICE_CODE_KEPT_MS } from '../auth/device-grant.js';
import type { AuthStore } from '../types.js';
import { type Num, transaction } from './postgres-db.js';

export const POSTGRES_DEVICE_CODES_SCHEMA = `
CREATE TABLE IF NOT EXISTS sync_device_codes (
  device_code_hash TEXT PRIMARY KEY,
  user_code_hash TEXT NOT NULL UNIQUE,
  device_name TEXT NOT NULL,
  expires_at_ms BIGINT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  account_id TEXT,
  last_poll_ms BIGINT
);
CREATE INDEX IF NOT EXISTS sync_device_codes_expiry ON sync_device_codes (expires_at_ms);
`;

interface PollRow {
  device_name: string;
  expires_at_ms: Num;
  state: string;
  account_id: string | null;
  last_poll_ms: Num | null;
}

type DeviceCodeMethods = Pick<
  AuthStore,
  'saveDeviceCode' | 'pendingDeviceCode' | 'decideDeviceCode' | 'pollDeviceCode'
>;

export function postgresDeviceCodes(pool: pg.Pool, now: () => number): DeviceCodeMethods {
  return {
    async saveDeviceCode(record) {
      await pool.query('DELETE FROM sync_device_codes WHERE expires_at_ms < $1', [now() - EXPIRED_DEVICE_CODE_KEPT_MS]);
      await pool.query('DELETE FROM sync_device_codes WHERE user_code_hash = $1 AND expires_at_ms <= $2', [
        record.userCodeHash,
        now(),
      ]);
      const { rowCount } = await pool.query(
        `INSERT INTO sync_device_codes (device_code_hash, user_code_hash, device_name, expires_at_ms)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [record.deviceCodeHash, record.userCodeHash, record.deviceName, record.expiresAtMs],
      );
      return rowCount === 1;
    },
    async pendingDeviceCode(userCodeHash, nowMs) {
      const { rows } = await pool.query<{ device_name: string }>(
        `SELECT device_name FROM sync_device_codes
         WHERE user_code_hash = $1 AND state = 'pending' AND expires_at_ms > $2`,
        [userCodeHash, nowMs],
      );
      return rows[0] ? { deviceName: rows[0].device_name } : null;
    },
    async decideDeviceCode(userCodeHash, nowMs, accountId) {
      const { rowCount } = await pool.query(
        `UPDATE sync_device_codes SET state = $1, account_id = $2
         WHERE user_code_hash = $3 AND state = 'pending' AND expires_at_ms > $4`,
        [accountId === null ? 'denied' : 'allowed', accountId, userCodeHash, nowMs],
      );
      return rowCount === 1;
    },
    async pollDeviceCode(deviceCodeHash, nowMs, minGapMs) {
      // FOR UPDATE: of two concurrent polls of one allowed code, only one finds the row before it is deleted.
      return transaction(pool, async (client) => {
        const { rows } = await client.query<PollRow>(
          `SELECT device_name, expires_at_ms, state, account_id, last_poll_ms FROM sync_device_codes
           WHERE device_code_hash = $1 FOR UPDATE`,
          [deviceCodeHash],
        );
        const row = rows[0];
        if (!row) return { state: 'unknown' as const };
        let write: Promise<unknown> = Promise.resolve();
        const poll = answerPoll(row, nowMs, minGapMs, {
          remove: () => {
            write = client.query('DELETE FROM sync_device_codes WHERE device_code_hash = $1', [deviceCodeHash]);
          },
          note: () => {
            write = client.query('UPDATE sync_device_codes SET last_poll_ms = $1 WHERE device_code_hash = $2', [
              nowMs,
              deviceCodeHash,
            ]);
          },
        });
        await write;
        return poll;
      });
    },
  };
}
