// The engine's shared vocabulary: entry keys, what the disk holds, and what was last agreed with the platform.

import { type Entry, type EntryKind, nfc, siteNameOf } from '../protocol/index.js';

/**
 * An entry's identity in the engine: `site:<name>`, `upload:<path>` or `folder:<path>` (paths in NFC, as
 * the platform spells them; sites by name wherever they live).
 */
export type EntryKey = string;

export function siteKey(name: string): EntryKey {
  return `site:${name}`;
}
export function uploadKey(path: string): EntryKey {
  return `upload:${path}`;
}
export function folderKey(path: string): EntryKey {
  return `folder:${path}`;
}

/** The kind part of a key. */
export function keyKind(key: EntryKey): EntryKind {
  return key.slice(0, key.indexOf(':')) as EntryKind;
}

/** What follows the kind: a site's name, an upload's or folder's path. */
export function keyName(key: EntryKey): string {
  return key.slice(key.indexOf(':') + 1);
}

/** The key of a platform entry: sites by name, uploads and folders by path. */
export function entryKeyOf(entry: Pick<Entry, 'kind' | 'name' | 'path'>): EntryKey {
  if (entry.kind === 'site') return siteKey(entry.name ?? siteNameOf(entry.path));
  return entry.kind === 'folder' ? folderKey(nfc(entry.path)) : uploadKey(nfc(entry.path));
}

/** The key of something found on disk (the scanner classifies `*.html` as sites, folders as folders). */
export function localKeyOf(kind: EntryKind, localPath: string): EntryKey {
  if (kind === 'site') return siteKey(siteNameOf(localPath));
  return kind === 'folder' ? folderKey(nfc(localPath)) : uploadKey(nfc(localPath));
}

/** One file or folder found on disk by a scan or a watcher event. */
export interface LocalItem {
  key: EntryKey;
  kind: EntryKind;
  /** Relative to the sync folder, with `/`, as spelled on disk (may be NFD). */
  localPath: string;
  /** Files only. */
  sha256?: string;
  size?: number;
  mtimeMs?: number;
}

/** What the client last agreed with the platform for one entry (SPEC.md "Sync state"). */
export interface StateRecord {
  key: EntryKey;
  kind: EntryKind;
  /** The site's name (sites only). */
  name?: string;
  /** Where it lives locally, as spelled on disk. */
  localPath: string;
  /** Where it lives on the platform. */
  platformPath: string;
  /** Files only: the agreed content and the local mtime / remote version at that moment. */
  sha256?: string;
  size?: number;
  mtimeMs?: number;
  version?: number;
  /** The remote `updatedAt` that was agreed. */
  updatedAt?: string;
  /** The local file was deleted and the remote has not changed since: do not download it again. */
  localDeleted?: boolean;
  /** Held by the delete brake: not pushed, not removed, until either side changes or deletes are allowed. */
  held?: boolean;
}

/** A remote side as the planner sees it: the current entry, a tombstone, or nothing said (unknown). */
export type RemoteState = { entry: Entry } | { tombstone: true } | undefined;

/**
 * What the planner decides for one entry; the executor carries it out. `why` is for the log line.
 * The planner never does I/O: pushes re-hash at the moment they read, pulls re-stat before they install.
 */
export type Action =
  /** Send the local file (new, or changed since S). `baseVersion` 0 for a new entry. */
  | { type: 'push'; key: EntryKey; kind: 'site' | 'upload'; localPath: string; baseVersion: number; why: string }
  /** Create the folder on the platform (empty local folders too). */
  | { type: 'createFolder'; key: EntryKey; localPath: string; why: string }
  /**
   * Back up the local file if there is one (and it differs), then install R. `local` is what the planner
   * compared (absent: no file was there); if the disk no longer matches it, it is a local change: do not overwrite.
   */
  | { type: 'pull'; key: EntryKey; entry: Entry; localPath: string; local?: LocalItem; why: string }
  /** Create the local folder for a remote folder entry. */
  | { type: 'makeLocalFolder'; key: EntryKey; entry: Entry; localPath: string; why: string }
  /** Both sides hold the same content: record the agreement, transfer nothing. */
  | { type: 'record'; key: EntryKey; entry: Entry; local: LocalItem; why: string }
  /** The local file was deleted: remember it (nothing happens on the platform); clears `held`. */
  | { type: 'rememberDelete'; key: EntryKey; why: string }
  /** A remote tombstone for an unchanged local file: move it into sites-versions. */
  | { type: 'removeLocal'; key: EntryKey; localPath: string; local?: LocalItem; why: string }
  /** A remote folder tombstone: remove the local folder only if it is empty. */
  | { type: 'removeLocalFolder'; key: EntryKey; localPath: string; why: string }
  /** Drop the entry from the state (deleted on both sides). */
  | { type: 'forget'; key: EntryKey; why: string }
  /** The delete brake held this removal: keep the file, mark it held (at `localPath`: a held file may move). */
  | { type: 'hold'; key: EntryKey; localPath: string; why: string }
  /**
   * Not synced: a broken rule, a name twin, a case twin, a path conflict. Logged once with the rule.
   * `entry`: a platform case twin; pass it again with the next plans (its key in `failedKeys`, like a failed
   * pull) so that it takes over when the synced spelling goes away.
   */
  | { type: 'skip'; key: EntryKey; localPath: string; entry?: Entry; why: string };

/**
 * The record of an agreement with the platform's `entry`, for the file or folder at `local.localPath` (its mtime as
 * it is on disk now, so the next comparison sees it as unchanged).
 */
export function recordOf(key: EntryKey, entry: Entry, local: { localPath: string; mtimeMs?: number }): StateRecord {
  const record: StateRecord = {
    key,
    kind: entry.kind,
    localPath: local.localPath,
    platformPath: entry.path,
    updatedAt: entry.updatedAt,
  };
  if (entry.name !== undefined) record.name = entry.name;
  if (entry.kind !== 'folder') {
    if (entry.sha256 !== undefined) record.sha256 = entry.sha256;
    if (entry.size !== undefined) record.size = entry.size;
    if (entry.version !== undefined) record.version = entry.version;
    if (local.mtimeMs !== undefined) record.mtimeMs = local.mtimeMs;
  }
  return record;
}
