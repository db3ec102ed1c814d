// The platform's write decisions of PROTOCOL.md "Files", pure: what a storage holds + the request -> the outcome.
// Every storage reads the snapshot inside its own transaction and applies the outcome; none decides by itself.

import type { EntryKind } from '../../protocol/index.js';
import type { WriteContent, WriteFileRequest } from '../types.js';

/** The current state of a file entry, as the decision needs it; null when there is none (or a tombstone). */
export interface CurrentFile {
  sha256: string;
  version: number;
  updatedAtMs: number;
}

export interface IncomingWrite {
  sha256: string;
  /** The version the content was edited from; 0 for a new file; null for the platform's own saves. */
  baseVersion: number | null;
  /** X-Modified-At in ms (server clock) for sync saves; null for platform saves. */
  modifiedAtMs: number | null;
}

export type WriteDecision =
  | { action: 'unchanged' }
  | { action: 'save'; created: boolean; updatedAtMs: number; why: 'new' | 'base_version' | 'later' | 'platform' }
  | { action: 'conflict' };

/**
 * Decides one write against the current file: same content, base version, last write wins. The rest of a
 * write's rules (names, paths, limits, the next version) are planWrite's, which calls this.
 */
export function decideWrite(current: CurrentFile | null, write: IncomingWrite, nowMs: number): WriteDecision {
  if (current !== null && current.sha256 === write.sha256) return { action: 'unchanged' };
  // A future stamp must not win forever: a sync save is never dated after the moment it was made.
  const stamp = write.modifiedAtMs === null ? nowMs : Math.min(write.modifiedAtMs, nowMs);
  if (current === null) return { action: 'save', created: true, updatedAtMs: stamp, why: 'new' };
  if (write.baseVersion === null) return { action: 'save', created: false, updatedAtMs: nowMs, why: 'platform' };
  if (write.baseVersion === current.version) {
    return { action: 'save', created: false, updatedAtMs: stamp, why: 'base_version' };
  }
  if (write.modifiedAtMs !== null && write.modifiedAtMs > current.updatedAtMs) {
    return { action: 'save', created: false, updatedAtMs: stamp, why: 'later' };
  }
  return { action: 'conflict' };
}

/** An account's sites and stored bytes (current content only; backups do not count), or a change to them. */
export interface Usage {
  sites: number;
  storageBytes: number;
}

/** A file entry as stored: live or a tombstone (which keeps the version it had). */
export interface StoredFileState extends CurrentFile {
  path: string;
  size: number;
  deleted: boolean;
}

/** What the storage holds for one write, read inside the write's transaction (or before it, to decide early). */
export interface WriteSnapshot {
  /** This key's entry, live or a tombstone; null when it never existed or its tombstone was purged. */
  entry: StoredFileState | null;
  /** The account holding a live site of this name, whichever it is; null for an upload or a free name. */
  siteOwner: string | null;
  /**
   * Whether a new file at the request's path collides with a live entry (anything at or below it, a file
   * above it). Only consulted when there is no live entry, so a storage may skip the read then (false).
   */
  pathBlocked: boolean;
  usage: Usage;
  /** The highest version kept as a backup of this key; 0 when none. */
  lastKeptVersion: number;
}

/** The entry fields a saved write stores. */
export interface SavedFileFields {
  path: string;
  size: number;
  sha256: string;
  version: number;
  updatedAtMs: number;
}

export type WritePlan =
  | {
      outcome: 'created' | 'saved';
      file: SavedFileFields;
      /** The replaced version must be kept as a backup first (a save over live content). */
      keepBackup: boolean;
      usageChange: Usage;
    }
  /** Answered with the current entry. */
  | { outcome: 'unchanged' | 'conflict' }
  | { outcome: 'path_conflict' | 'name_taken' | 'site_limit_reached' | 'storage_limit_reached' };

/** The whole write decision: names, same content / base version / last write wins, paths, limits, next version. */
export function planWrite(snapshot: WriteSnapshot, request: WriteFileRequest, nowMs: number): WritePlan {
  if (request.kind === 'site' && snapshot.siteOwner !== null && snapshot.siteOwner !== request.accountId) {
    return { outcome: 'name_taken' };
  }
  const live = snapshot.entry && !snapshot.entry.deleted ? snapshot.entry : null;
  const decision = decideWrite(live, request, nowMs);
  if (decision.action !== 'save') return { outcome: decision.action };
  if (!live && snapshot.pathBlocked) return { outcome: 'path_conflict' };
  const newSite = !live && request.kind === 'site';
  const { maxSites, maxStorageBytes } = request.limits;
  if (newSite && maxSites !== null && snapshot.usage.sites + 1 > maxSites) return { outcome: 'site_limit_reached' };
  const size = contentSize(request.content);
  const bytesBefore = snapshot.usage.storageBytes;
  const bytesAfter = bytesBefore - (live?.size ?? 0) + size;
  // A save that does not grow the account is allowed even over its limit (a plan may shrink below what is stored).
  if (maxStorageBytes !== null && bytesAfter > maxStorageBytes && bytesAfter > bytesBefore) {
    return { outcome: 'storage_limit_reached' };
  }
  return {
    outcome: decision.created ? 'created' : 'saved',
    file: {
      // An existing file never moves: a later save's path is ignored.
      path: live ? live.path : request.path,
      size,
      sha256: request.sha256,
      version: nextVersion(snapshot),
      updatedAtMs: decision.updatedAtMs,
    },
    keepBackup: live !== null,
    usageChange: { sites: newSite ? 1 : 0, storageBytes: bytesAfter - bytesBefore },
  };
}

/** How many bytes a write's content holds, in memory or staged on disk. */
export function contentSize(content: WriteContent): number {
  return Buffer.isBuffer(content) ? content.length : content.size;
}

/** Versions are never reused, not even after a delete: the next is above the entry's and every kept one. */
function nextVersion(snapshot: WriteSnapshot): number {
  return Math.max(snapshot.entry?.version ?? 0, snapshot.lastKeptVersion) + 1;
}

export type DeletePlan =
  | { outcome: 'absent' }
  | { outcome: 'deleted'; updatedAtMs: number; keepBackup: boolean; usageChange: Usage };

/** The platform-side delete of a live entry: a tombstone; a file's content stays as a backup. */
export function planDelete(
  kind: EntryKind,
  entry: { deleted: boolean; size: number } | null,
  nowMs: number,
): DeletePlan {
  if (!entry || entry.deleted) return { outcome: 'absent' };
  return {
    outcome: 'deleted',
    updatedAtMs: nowMs,
    keepBackup: kind !== 'folder',
    usageChange: { sites: kind === 'site' ? -1 : 0, storageBytes: -entry.size },
  };
}

export type FolderPlan =
  | { outcome: 'path_conflict' }
  | { outcome: 'created' | 'exists'; missing: string[]; updatedAtMs: number };

/**
 * Creating a folder and its parents. `live` holds the live entries at the folder's path and above it; a file
 * among them is in the way. `missing` are the folders to create, outermost first.
 */
export function planFolder(path: string, live: { path: string; kind: EntryKind }[], nowMs: number): FolderPlan {
  if (live.some((entry) => entry.kind !== 'folder')) return { outcome: 'path_conflict' };
  const present = new Set(live.map((entry) => entry.path));
  const missing = folderChain(path).filter((folder) => !present.has(folder));
  return { outcome: present.has(path) ? 'exists' : 'created', missing, updatedAtMs: nowMs };
}

/** Every folder above a path, outermost first: `a/b/c` -> `a`, `a/b`. */
export function ancestorsOf(path: string): string[] {
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) out.push(segments.slice(0, i).join('/'));
  return out;
}

/** A folder and every folder above it, outermost first: `a/b` -> `a`, `a/b`. */
export function folderChain(path: string): string[] {
  return [...ancestorsOf(path), path];
}
