// What every SyncStorage adapter shares: its error type, row -> Entry mapping, request checks, listing pages,
// session touches and long-poll listeners.

import { createHash } from 'node:crypto';
import {
  checkPath,
  checkSiteName,
  type Entry,
  type EntryKind,
  isSha256,
  type VersionInfo,
} from '../../protocol/index.js';
import type { ListingPage, WriteFileRequest } from '../types.js';

export class StorageError extends Error {
  constructor(
    readonly code: 'backup_failed' | 'content_missing' | 'bad_write',
    message: string,
  ) {
    super(message);
  }
}

export const DAY_MS = 24 * 60 * 60 * 1000;
/** A session's last-seen time is written at most this often. */
export const SESSION_TOUCH_MS = 60 * 1000;

/**
 * An entry as a database stores it. Numbers may come back as text (PostgreSQL BIGINT) and flags as 0/1
 * (SQLite), so both are read through Number() and truthiness; every value stays below 2^53.
 */
export interface StoredEntryRow {
  account_id: string;
  kind: EntryKind;
  key: string;
  path: string;
  size: number | string | null;
  sha256: string | null;
  version: number | null;
  updated_at_ms: number | string;
  deleted: boolean | number;
  seq: number | string;
}

export interface StoredVersionRow {
  version: number;
  size: number | string;
  sha256: string;
  updated_at_ms: number | string;
}

export function toEntry(row: StoredEntryRow): Entry {
  const entry: Entry = {
    kind: row.kind,
    path: row.path,
    updatedAt: new Date(Number(row.updated_at_ms)).toISOString(),
    seq: Number(row.seq),
  };
  if (row.kind === 'site') entry.name = row.key;
  if (row.deleted) {
    entry.deleted = true;
    return entry;
  }
  if (row.kind !== 'folder') {
    entry.size = Number(row.size ?? 0);
    entry.sha256 = row.sha256 ?? '';
    entry.version = row.version ?? 0;
  }
  return entry;
}

export function toVersionInfo(row: StoredVersionRow): VersionInfo {
  return {
    version: row.version,
    size: Number(row.size),
    sha256: row.sha256,
    updatedAt: new Date(Number(row.updated_at_ms)).toISOString(),
  };
}

export function sha256Hex(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Listing continuations are opaque to callers; a storage packs the noted head and the last path. */
function encodeContinuation(head: number, afterPath: string): string {
  return Buffer.from(JSON.stringify({ h: head, p: afterPath })).toString('base64url');
}

function decodeContinuation(text: string): { head: number; afterPath: string } | null {
  try {
    const raw: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof raw !== 'object' || raw === null) return null;
    const { h, p } = raw as { h?: unknown; p?: unknown };
    if (typeof h !== 'number' || !Number.isSafeInteger(h) || h < 0 || typeof p !== 'string') return null;
    return { head: h, afterPath: p };
  } catch {
    return null;
  }
}

/**
 * Where a listing (re)starts: at the account's current head for a first page, or at the head and path a
 * continuation noted. null when the continuation is damaged or its head is not continuable any more.
 */
export function listingStart(
  continuation: string | null,
  account: { seq: number; purgedSeq: number },
): { head: number; afterPath: string } | null {
  if (continuation === null) return { head: account.seq, afterPath: '' };
  const decoded = decodeContinuation(continuation);
  // A head the feed has not reached or has purged past cannot be continued from.
  if (!decoded || decoded.head > account.seq || decoded.head < account.purgedSeq) return null;
  return decoded;
}

/** One listing page from up to `limit + 1` rows in path order (the extra row only says there is more). */
export function listingPage(rows: StoredEntryRow[], limit: number, head: number): ListingPage {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return {
    entries: page.map(toEntry),
    next: more && last ? encodeContinuation(head, last.path) : null,
    head,
  };
}

/** Refuses a write whose name, path or content hash is not what PROTOCOL.md allows. */
export function checkRequest(request: WriteFileRequest): void {
  const key = request.kind === 'site' ? checkSiteName(request.key) : checkPath(request.key, 'file');
  const path = checkPath(request.path, 'file');
  if (!key.ok || !path.ok || (request.kind === 'upload' && request.key !== request.path)) {
    throw new StorageError('bad_write', `refused a write with a bad name or path (${request.kind} ${request.key})`);
  }
  // Staged content was hashed as it was written (http.ts stageBody); content in memory is hashed here.
  const actual = Buffer.isBuffer(request.content) ? sha256Hex(request.content) : request.content.sha256;
  if (!isSha256(request.sha256) || actual !== request.sha256) {
    throw new StorageError('bad_write', 'refused a write whose content does not match its sha256');
  }
}

/**
 * Polls come every few seconds; a storage writes a session's last-seen time at most once a minute. Returns
 * whether this touch is due (and notes it); the map is bounded so a flood of sessions cannot grow it.
 */
export function sessionTouchThrottle(): (accountId: string, sessionId: string, stamp: number) => boolean {
  const touched = new Map<string, number>();
  return (accountId, sessionId, stamp) => {
    const key = `${accountId}\n${sessionId}`;
    if (stamp - (touched.get(key) ?? Number.NEGATIVE_INFINITY) < SESSION_TOUCH_MS) return false;
    if (touched.size >= 10_000) touched.clear();
    touched.set(key, stamp);
    return true;
  };
}

/** The long-polls waiting in this process, by account; a storage calls them after each committed change. */
export class ChangeListeners {
  private readonly byAccount = new Map<string, Set<() => void>>();

  /** How many accounts have someone waiting. */
  get accounts(): number {
    return this.byAccount.size;
  }

  /** Returns the unsubscribe function. */
  add(accountId: string, listener: () => void): () => void {
    let set = this.byAccount.get(accountId);
    if (!set) {
      set = new Set();
      this.byAccount.set(accountId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.byAccount.get(accountId) === set) this.byAccount.delete(accountId);
    };
  }

  notify(accountId: string): void {
    for (const listener of this.byAccount.get(accountId) ?? []) listener();
  }

  /** Every waiter looks at its feed again (when changes may have gone unannounced). */
  notifyAll(): void {
    for (const set of this.byAccount.values()) for (const listener of set) listener();
  }

  clear(): void {
    this.byAccount.clear();
  }
}
