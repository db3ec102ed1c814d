// The embedded SyncStorage: SQLite (better-sqlite3, WAL) for entries, backups, the change feed and sessions;
// file content on disk, content-addressed by sha256 and written atomically (temp + fsync + rename).

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { checkPath, type Entry, type EntryKind } from '../../protocol/index.js';
import { decideWrite } from '../sync/decide.js';
import type { FileKey, StoredFile, SyncStorage, WriteFileRequest, WriteFileResult } from '../types.js';
import {
  ancestorsOf,
  checkRequest,
  DAY_MS,
  listingPage,
  listingStart,
  SESSION_TOUCH_MS,
  StorageError,
  type StoredEntryRow,
  sessionTouchThrottle,
  toEntry,
  toVersionInfo,
} from './common.js';

export { StorageError } from './common.js';

export interface EmbeddedStorageOptions {
  /** The data folder: `sync.sqlite` and `blobs/` live in it. Created when missing. */
  dir: string;
  /** How long tombstones stay in the feed; a cursor from before the oldest purged one is reset. Default 30 days. */
  tombstoneHorizonMs?: number;
  /** The clock, in ms; tests move it. Default Date.now. */
  now?: () => number;
  /** How often tombstones past the horizon are purged while open; 0 turns the timer off. Default 1 hour. */
  purgeEveryMs?: number;
}

export interface EmbeddedStorage extends SyncStorage {
  readonly dir: string;
  /** Drops tombstones older than the horizon now; returns how many. Runs on open and on a timer too. */
  purgeTombstones(): number;
}

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

interface EntryRow extends StoredEntryRow {
  size: number | null;
  updated_at_ms: number;
  deleted: number;
  seq: number;
}

interface AccountRow {
  account_id: string;
  seq: number;
  purged_seq: number;
  sites: number;
  storage_bytes: number;
}

interface VersionRow {
  version: number;
  size: number;
  sha256: string;
  updated_at_ms: number;
}

type Commit = WriteFileResult | { outcome: 'needs_content' };

/** Temp files left by a crash mid-write; an hour's margin spares those of a process still writing. */
function removeStaleTemps(tempDir: string, nowMs: number): void {
  for (const name of readdirSync(tempDir)) {
    const path = join(tempDir, name);
    try {
      if (statSync(path).mtimeMs < nowMs - 60 * 60 * 1000) unlinkSync(path);
    } catch {
      // Gone already, or not ours to remove: either way nothing depends on it.
    }
  }
}

export function openEmbeddedStorage(options: EmbeddedStorageOptions): EmbeddedStorage {
  const dir = options.dir;
  const now = options.now ?? Date.now;
  const horizonMs = options.tombstoneHorizonMs ?? 30 * DAY_MS;
  const blobDir = join(dir, 'blobs');
  const tempDir = join(dir, 'tmp');
  mkdirSync(blobDir, { recursive: true, mode: 0o700 });
  mkdirSync(tempDir, { recursive: true, mode: 0o700 });
  removeStaleTemps(tempDir, now());

  const db = new Database(join(dir, 'sync.sqlite'));
  db.pragma('journal_mode = WAL');
  // FULL: an acknowledged write is on disk, not only in the OS cache, before the response goes out.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);

  const q = {
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

  const listeners = new Map<string, Set<() => void>>();
  /** Whether this instance's write of a session's last-seen time is due. */
  const touchDue = sessionTouchThrottle();
  function notify(accountId: string): void {
    for (const listener of listeners.get(accountId) ?? []) listener();
  }

  /** Read-only: an account that never wrote has an empty feed. */
  function accountRow(accountId: string): AccountRow {
    return q.account.get(accountId) ?? { account_id: accountId, seq: 0, purged_seq: 0, sites: 0, storage_bytes: 0 };
  }

  /** Taken inside the write's transaction, so seq N+1 can never be seen committed before seq N. */
  function nextSeq(accountId: string): number {
    q.ensureAccount.run(accountId);
    return q.bumpSeq.get(accountId)!.seq;
  }

  const blobPath = (sha256: string): string => join(blobDir, sha256.slice(0, 2), sha256);

  /** Content is addressed by its hash, so an existing blob is already complete (it was renamed into place). */
  async function storeBlob(sha256: string, content: Buffer): Promise<void> {
    const target = blobPath(sha256);
    if (existsSync(target)) return;
    const folder = join(blobDir, sha256.slice(0, 2));
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const temp = join(tempDir, `${sha256}.${randomUUID()}`);
    try {
      const file = await open(temp, 'wx', 0o600);
      try {
        await file.writeFile(content);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    // The rename itself must survive a crash too.
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Why a file at `path` cannot be created there, if it cannot: a folder at it or below it, a file above it. */
  function filePathBlocked(accountId: string, path: string): boolean {
    if (q.liveAtPath.get(accountId, path)) return true;
    for (const ancestor of ancestorsOf(path)) {
      const row = q.liveAtPath.get(accountId, ancestor);
      if (row && row.kind !== 'folder') return true;
    }
    return q.liveBelow.get(accountId, `${path}/`, `${path}0`) !== undefined;
  }

  /** Keeps the content being replaced or removed as a backup; throws (failing the whole step) when it cannot. */
  function keepBackup(row: EntryRow): void {
    if (row.sha256 === null || row.version === null || row.size === null) {
      throw new StorageError('backup_failed', `the current version of ${row.path} has no content to keep`);
    }
    if (!existsSync(blobPath(row.sha256))) {
      throw new StorageError(
        'backup_failed',
        `the content of ${row.path} v${row.version} is missing, so it cannot be kept as a backup`,
      );
    }
    q.keepVersion.run(row.account_id, row.kind, row.key, row.version, row.size, row.sha256, row.updated_at_ms);
  }

  /**
   * The whole write decision and its effects, in one transaction. Without `contentStored` it stops short of
   * writing (so content is only put on disk for writes that will be saved).
   */
  function commitWrite(request: WriteFileRequest, contentStored: boolean): Commit {
    const { accountId, kind, key } = request;
    const account = accountRow(accountId);
    if (kind === 'site') {
      const owner = q.siteOwner.get(key);
      if (owner && owner.account_id !== accountId) return { outcome: 'name_taken' };
    }
    const row = q.entry.get(accountId, kind, key);
    const live = row && !row.deleted ? row : null;
    const current = live ? { sha256: live.sha256!, version: live.version!, updatedAtMs: live.updated_at_ms } : null;
    const decision = decideWrite(current, request, now());
    if (decision.action === 'unchanged') return { outcome: 'unchanged', entry: toEntry(live!) };
    if (decision.action === 'conflict') return { outcome: 'conflict', current: toEntry(live!) };
    const path = live ? live.path : request.path;
    if (!live && filePathBlocked(accountId, path)) return { outcome: 'path_conflict' };
    const { maxSites, maxStorageBytes } = request.limits;
    if (!live && kind === 'site' && maxSites !== null && account.sites + 1 > maxSites) {
      return { outcome: 'site_limit_reached' };
    }
    const size = request.content.length;
    const bytesAfter = account.storage_bytes - (live?.size ?? 0) + size;
    if (maxStorageBytes !== null && bytesAfter > maxStorageBytes && bytesAfter > account.storage_bytes) {
      return { outcome: 'storage_limit_reached' };
    }
    if (!contentStored) return { outcome: 'needs_content' };
    if (live) keepBackup(live);
    const lastVersion = Math.max(row?.version ?? 0, q.maxVersion.get(accountId, kind, key)?.v ?? 0);
    const seq = nextSeq(accountId);
    q.upsert.run(accountId, kind, key, path, size, request.sha256, lastVersion + 1, decision.updatedAtMs, seq);
    q.addUsage.run(!live && kind === 'site' ? 1 : 0, bytesAfter - account.storage_bytes, accountId);
    const saved = toEntry(q.entry.get(accountId, kind, key)!);
    return decision.created ? { outcome: 'created', entry: saved } : { outcome: 'saved', entry: saved };
  }

  // Write transactions start IMMEDIATE: a deferred one upgraded under another process's write would fail, not wait.
  const commitWriteTx = db.transaction(commitWrite);

  function createFolderNow(
    accountId: string,
    path: string,
  ): { outcome: 'created' | 'exists'; entry: Entry } | { outcome: 'path_conflict' } {
    const chain = [...ancestorsOf(path), path];
    const missing: string[] = [];
    for (const folder of chain) {
      const row = q.liveAtPath.get(accountId, folder);
      if (row && row.kind !== 'folder') return { outcome: 'path_conflict' };
      if (!row) missing.push(folder);
    }
    const stamp = now();
    for (const folder of missing) {
      q.upsert.run(accountId, 'folder', folder, folder, null, null, null, stamp, nextSeq(accountId));
    }
    const entry = toEntry(q.entry.get(accountId, 'folder', path)!);
    return { outcome: missing.includes(path) ? 'created' : 'exists', entry };
  }
  const createFolderTx = db.transaction(createFolderNow);

  function deleteNow(accountId: string, kind: EntryKind, key: string): Entry | null {
    const row = q.entry.get(accountId, kind, key);
    if (!row || row.deleted) return null;
    if (kind !== 'folder') keepBackup(row);
    const seq = nextSeq(accountId);
    q.markDeleted.run(now(), seq, accountId, kind, key);
    q.addUsage.run(kind === 'site' ? -1 : 0, -(row.size ?? 0), accountId);
    return toEntry(q.entry.get(accountId, kind, key)!);
  }
  const deleteTx = db.transaction(deleteNow);

  const listingTx = db.transaction((accountId: string, continuation: string | null, limit: number) => {
    const account = accountRow(accountId);
    const start = listingStart(continuation, { seq: account.seq, purgedSeq: account.purged_seq });
    if (!start) return null;
    return listingPage(q.listing.all(accountId, start.afterPath, limit + 1), limit, start.head);
  });

  /**
   * No transaction needed: the head is read first and the page stops at it, so a write committed in between
   * (by another process) is simply left for the next poll.
   */
  function changesNow(accountId: string, afterSeq: number, limit: number) {
    const account = accountRow(accountId);
    if (afterSeq < account.purged_seq || afterSeq > account.seq) return null;
    return { entries: q.changes.all(accountId, afterSeq, account.seq, limit).map(toEntry), head: account.seq };
  }

  const purgeTx = db.transaction((before: number) => {
    let purged = 0;
    for (const { account_id, top, n } of q.expiredTombstones.all(before)) {
      q.purge.run(before, account_id);
      q.setPurged.run(top, account_id);
      purged += n;
    }
    return purged;
  });

  function purgeTombstones(): number {
    return purgeTx.immediate(now() - horizonMs);
  }

  purgeTombstones();
  const purgeEveryMs = options.purgeEveryMs ?? 60 * 60 * 1000;
  const timer = purgeEveryMs > 0 ? setInterval(purgeTombstones, purgeEveryMs) : null;
  timer?.unref();

  function readBlob(sha256: string, what: string): Buffer {
    try {
      return readFileSync(blobPath(sha256));
    } catch {
      throw new StorageError('content_missing', `the stored content of ${what} is missing`);
    }
  }

  return {
    dir,
    purgeTombstones,

    async writeFile(request) {
      checkRequest(request);
      const first = commitWrite(request, false);
      if (first.outcome !== 'needs_content') return first;
      await storeBlob(request.sha256, request.content);
      const result = commitWriteTx.immediate(request, true);
      if (result.outcome === 'needs_content') throw new Error('unreachable: content was stored');
      if (result.outcome === 'created' || result.outcome === 'saved') notify(request.accountId);
      return result;
    },

    async readFile(accountId, file) {
      const row = q.entry.get(accountId, file.kind, file.key);
      if (!row || row.deleted || row.sha256 === null) return null;
      const content = await readFile(blobPath(row.sha256)).catch(() => null);
      if (content === null) throw new StorageError('content_missing', `the stored content of ${row.path} is missing`);
      const stored: StoredFile = { entry: toEntry(row), content };
      return stored;
    },

    async createFolder(accountId, path) {
      const checked = checkPath(path, 'folder');
      if (!checked.ok) throw new StorageError('bad_write', `refused a folder with a bad path: ${checked.message}`);
      const result = createFolderTx.immediate(accountId, checked.value);
      if (result.outcome === 'created') notify(accountId);
      return result;
    },

    async deleteEntry(accountId, kind, key) {
      const entry = deleteTx.immediate(accountId, kind, key);
      if (entry) notify(accountId);
      return entry;
    },

    async versions(accountId, file: FileKey) {
      const rows = q.versions.all(accountId, file.kind, file.key);
      if (rows.length === 0 && !q.entry.get(accountId, file.kind, file.key)) return null;
      return rows.map(toVersionInfo);
    },

    async readVersion(accountId, file, version) {
      const row = q.version.get(accountId, file.kind, file.key, version);
      if (row) return readBlob(row.sha256, `${file.key} v${version}`);
      const current = q.entry.get(accountId, file.kind, file.key);
      if (current && !current.deleted && current.version === version && current.sha256 !== null) {
        return readBlob(current.sha256, `${file.key} v${version}`);
      }
      return null;
    },

    async listing(accountId, continuation, limit) {
      return listingTx(accountId, continuation, limit);
    },

    async changesSince(accountId, afterSeq, limit) {
      return changesNow(accountId, afterSeq, limit);
    },

    async siteOwner(name) {
      return q.siteOwner.get(name)?.account_id ?? null;
    },

    async usage(accountId) {
      const row = q.account.get(accountId);
      return { sites: row?.sites ?? 0, storageBytes: row?.storage_bytes ?? 0 };
    },

    async createSession(accountId, deviceName, clientVersion) {
      const id = randomUUID();
      const stamp = now();
      q.createSession.run(id, accountId, deviceName, clientVersion, stamp, stamp);
      return id;
    },

    async touchSession(accountId, sessionId) {
      const stamp = now();
      if (!touchDue(accountId, sessionId, stamp)) return;
      q.touchSession.run(stamp, sessionId, accountId, stamp - SESSION_TOUCH_MS);
    },

    subscribe(accountId, listener) {
      let set = listeners.get(accountId);
      if (!set) {
        set = new Set();
        listeners.set(accountId, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(accountId);
      };
    },

    async close() {
      if (timer) clearInterval(timer);
      listeners.clear();
      if (db.open) db.close();
    },
  };
}
