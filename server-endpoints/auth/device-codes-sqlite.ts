// The embedded AuthStore's device sign-ins (PROTOCOL.md "Device sign-in"): codes by hash, decided once, taken once.

import type Database from 'better-sqlite3';
import type { AuthStore, DeviceCodeRecord, DevicePoll } from '../types.js';
import { answerPoll, EXPIRED_DEVICE_CODE_KEPT_MS } from './device-grant.js';

export const DEVICE_CODES_SCHEMA = `
CREATE TABLE IF NOT EXISTS device_codes (
  device_code_hash TEXT PRIMARY KEY,
  user_code_hash TEXT NOT NULL UNIQUE,
  device_name TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  account_id TEXT,
  last_poll_ms INTEGER
);
CREATE INDEX IF NOT EXISTS device_codes_expiry ON device_codes (expires_at_ms);
`;

interface PollRow {
  device_name: string;
  expires_at_ms: number;
  state: string;
  account_id: string | null;
  last_poll_ms: number | null;
}

type DeviceCodeMethods = Pick<
  AuthStore,
  'saveDeviceCode' | 'pendingDeviceCode' | 'decideDeviceCode' | 'pollDeviceCode'
>;

/** The four device-code methods of the embedded AuthStore over its database (schema above, applied by the caller). */
export function embeddedDeviceCodes(db: Database.Database, now: () => number): DeviceCodeMethods {
  const prune = db.prepare('DELETE FROM device_codes WHERE expires_at_ms < ?');
  const freeUserCode = db.prepare('DELETE FROM device_codes WHERE user_code_hash = ? AND expires_at_ms <= ?');
  const insert = db.prepare(
    `INSERT OR IGNORE INTO device_codes (device_code_hash, user_code_hash, device_name, expires_at_ms)
     VALUES (?, ?, ?, ?)`,
  );
  const pending = db.prepare<[string, number], { device_name: string }>(
    "SELECT device_name FROM device_codes WHERE user_code_hash = ? AND state = 'pending' AND expires_at_ms > ?",
  );
  const decide = db.prepare(
    `UPDATE device_codes SET state = ?, account_id = ?
     WHERE user_code_hash = ? AND state = 'pending' AND expires_at_ms > ?`,
  );
  const select = db.prepare<[string], PollRow>(
    'SELECT device_name, expires_at_ms, state, account_id, last_poll_ms FROM device_codes WHERE device_code_hash = ?',
  );
  const remove = db.prepare('DELETE FROM device_codes WHERE device_code_hash = ?');
  const noted = db.prepare('UPDATE device_codes SET last_poll_ms = ? WHERE device_code_hash = ?');

  const save = db.transaction((record: DeviceCodeRecord): boolean => {
    prune.run(now() - EXPIRED_DEVICE_CODE_KEPT_MS);
    freeUserCode.run(record.userCodeHash, now());
    const result = insert.run(record.deviceCodeHash, record.userCodeHash, record.deviceName, record.expiresAtMs);
    return result.changes === 1;
  });
  // Read, decide and delete or note in one transaction: two polls of one allowed code cannot both get it.
  const poll = db.transaction((hash: string, nowMs: number, minGapMs: number): DevicePoll => {
    const row = select.get(hash);
    if (!row) return { state: 'unknown' };
    return answerPoll(row, nowMs, minGapMs, {
      remove: () => remove.run(hash),
      note: () => noted.run(nowMs, hash),
    });
  });

  return {
    async saveDeviceCode(record) {
      return save(record);
    },
    async pendingDeviceCode(userCodeHash, nowMs) {
      const row = pending.get(userCodeHash, nowMs);
      return row ? { deviceName: row.device_name } : null;
    },
    async decideDeviceCode(userCodeHash, nowMs, accountId) {
      const state = accountId === null ? 'denied' : 'allowed';
      return decide.run(state, accountId, userCodeHash, nowMs).changes === 1;
    },
    async pollDeviceCode(deviceCodeHash, nowMs, minGapMs) {
      return poll(deviceCodeHash, nowMs, minGapMs);
    },
  };
}
