// The embedded AuthStore in SQLite: sign-in codes and device sign-ins (by hash, single use), device connections.

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { AuthCodeRecord, AuthStore, DeviceConnection } from '../types.js';
import { DEVICE_CODES_SCHEMA, embeddedDeviceCodes } from './device-codes-sqlite.js';

export interface EmbeddedAuthStoreOptions {
  /** The folder that holds the store's own database file (`auth.sqlite`); created if missing. */
  dir: string;
  /** The clock, in ms (used to prune expired codes and to stamp connections); default Date.now. */
  now?: () => number;
}

interface CodeRow {
  account_id: string;
  redirect_uri: string;
  code_challenge: string;
  device_name: string;
  expires_at_ms: number;
}

interface ConnectionRow {
  account_id: string;
  revoked_at_ms: number | null;
}

interface DeviceRow {
  sid: string;
  device_name: string;
  created_at_ms: number;
  last_seen_ms: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS auth_codes (
  code_hash TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  device_name TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_codes_expiry ON auth_codes (expires_at_ms);
CREATE TABLE IF NOT EXISTS connections (
  sid TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  device_name TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER
);
CREATE INDEX IF NOT EXISTS connections_account ON connections (account_id);
`;

/** Data folders from before the device list have no last-seen column: it is added once. */
function addLastSeen(db: Database.Database): void {
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(connections)').all();
  if (!columns.some((column) => column.name === 'last_seen_ms')) {
    db.exec('ALTER TABLE connections ADD COLUMN last_seen_ms INTEGER');
  }
}

export function toDevice(row: DeviceRow): DeviceConnection {
  return {
    sid: row.sid,
    deviceName: row.device_name,
    signedInAtMs: Number(row.created_at_ms),
    lastSeenAtMs: row.last_seen_ms === null ? null : Number(row.last_seen_ms),
  };
}

export function openEmbeddedAuthStore(options: EmbeddedAuthStoreOptions): AuthStore {
  const now = options.now ?? Date.now;
  mkdirSync(options.dir, { recursive: true });
  const db = new Database(path.join(options.dir, 'auth.sqlite'));
  db.pragma('journal_mode = WAL');
  // A revocation must survive a crash the moment logout answers 204.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  db.exec(DEVICE_CODES_SCHEMA);
  addLastSeen(db);

  const insertCode = db.prepare(
    `INSERT INTO auth_codes (code_hash, account_id, redirect_uri, code_challenge, device_name, expires_at_ms)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const pruneCodes = db.prepare('DELETE FROM auth_codes WHERE expires_at_ms < ?');
  const selectCode = db.prepare<[string], CodeRow>(
    'SELECT account_id, redirect_uri, code_challenge, device_name, expires_at_ms FROM auth_codes WHERE code_hash = ?',
  );
  const deleteCode = db.prepare('DELETE FROM auth_codes WHERE code_hash = ?');
  const insertConnection = db.prepare(
    'INSERT INTO connections (sid, account_id, device_name, created_at_ms) VALUES (?, ?, ?, ?)',
  );
  const revoke = db.prepare('UPDATE connections SET revoked_at_ms = ? WHERE sid = ? AND revoked_at_ms IS NULL');
  const selectConnection = db.prepare<[string], ConnectionRow>(
    'SELECT account_id, revoked_at_ms FROM connections WHERE sid = ?',
  );
  const revokeAll = db.prepare(
    'UPDATE connections SET revoked_at_ms = ? WHERE account_id = ? AND revoked_at_ms IS NULL',
  );
  const touch = db.prepare('UPDATE connections SET last_seen_ms = ? WHERE sid = ?');
  const selectDevices = db.prepare<[string], DeviceRow>(
    `SELECT sid, device_name, created_at_ms, last_seen_ms FROM connections
     WHERE account_id = ? AND revoked_at_ms IS NULL
     ORDER BY COALESCE(last_seen_ms, created_at_ms) DESC, sid`,
  );

  const save = db.transaction((codeHash: string, record: AuthCodeRecord) => {
    // Codes that were never exchanged would otherwise pile up; they are useless once expired.
    pruneCodes.run(now());
    insertCode.run(
      codeHash,
      record.accountId,
      record.redirectUri,
      record.codeChallenge,
      record.deviceName,
      record.expiresAtMs,
    );
  });
  // Select and delete in one transaction: two concurrent exchanges of one code cannot both get the record.
  const take = db.transaction((codeHash: string): AuthCodeRecord | null => {
    const row = selectCode.get(codeHash);
    if (!row) return null;
    deleteCode.run(codeHash);
    return {
      accountId: row.account_id,
      redirectUri: row.redirect_uri,
      codeChallenge: row.code_challenge,
      deviceName: row.device_name,
      expiresAtMs: row.expires_at_ms,
    };
  });

  let closed = false;
  return {
    ...embeddedDeviceCodes(db, now),
    async saveCode(codeHash, record) {
      save(codeHash, record);
    },
    async takeCode(codeHash) {
      return take(codeHash);
    },
    async createConnection(accountId, deviceName) {
      const sid = randomBytes(18).toString('base64url');
      insertConnection.run(sid, accountId, deviceName, now());
      return sid;
    },
    async revokeConnection(sid) {
      revoke.run(now(), sid);
    },
    async revokeAccountConnections(accountId) {
      return revokeAll.run(now(), accountId).changes;
    },
    async connection(sid) {
      const row = selectConnection.get(sid);
      if (!row) return null;
      return { accountId: row.account_id, revoked: row.revoked_at_ms !== null };
    },
    async touchConnection(sid, atMs) {
      touch.run(atMs, sid);
    },
    async connections(accountId) {
      return selectDevices.all(accountId).map(toDevice);
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
