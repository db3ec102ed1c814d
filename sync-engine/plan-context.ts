// The planner's shared vocabulary: how one entry's platform side looks once absence is read, the slots entries fall
// in, and what the platform holds at a path as far as a plan knows. Pure, like the planner.

import { caseFoldKey, type Entry, isSiteFile, nfc, siteNameOf } from '../protocol/index.js';
import {
  type Action,
  type EntryKey,
  folderKey,
  type LocalItem,
  type RemoteState,
  type StateRecord,
  siteKey,
  uploadKey,
} from './model.js';

/**
 * The platform's entry as last agreed, for actions that need an entry when the platform said nothing new
 * (a poll or a watcher event): the executor records from it exactly as from a fresh one.
 */
export function agreedEntry(state: StateRecord): Entry {
  const entry: Entry = { kind: state.kind, path: state.platformPath, updatedAt: state.updatedAt ?? '', seq: 0 };
  if (state.name !== undefined) entry.name = state.name;
  if (state.kind !== 'folder') {
    if (state.size !== undefined) entry.size = state.size;
    if (state.sha256 !== undefined) entry.sha256 = state.sha256;
    if (state.version !== undefined) entry.version = state.version;
  }
  return entry;
}

/** How the platform's side looks for one entry once absence has been interpreted. */
export type RemoteView =
  | { is: 'none' }
  | { is: 'entry'; entry: Entry }
  /** A poll or watcher event that did not mention an agreed entry: it is as agreed. */
  | { is: 'asAgreed' }
  | { is: 'tombstone' };

export interface Slot {
  locals: LocalItem[];
  remotes: Array<{ key: EntryKey; remote: RemoteState }>;
  states: readonly StateRecord[];
}

export interface Context {
  complete: boolean;
  allowDeletes: boolean;
  fold: (path: string) => string;
  /** Paths on disk, for the file-over-folder rule. */
  localFiles: Set<string>;
  localFolders: Set<string>;
  /** Everything the platform said, by slot (also outside the reconciled slots). */
  remoteBySlot: Map<string, Array<{ key: EntryKey; remote: RemoteState }>>;
  statesIn: (slot: string) => readonly StateRecord[];
  out: Action[];
  again: EntryKey[];
  seen: Map<EntryKey, RemoteState>;
}

/**
 * The slot an entry key falls in: one entry on this disk. Keys are compared in NFC, and case-folded when the
 * disk folds case (`upload:A.png` and `upload:a.png` are then one local file).
 */
export function slotOf(key: EntryKey, caseInsensitive: boolean): string {
  return caseInsensitive ? caseFoldKey(key) : nfc(key);
}

export const isGone = (remote: RemoteState): boolean =>
  remote !== undefined && ('tombstone' in remote || remote.entry.deleted === true);

/**
 * Whether the platform holds a file (or a folder) at `path`, as far as this plan knows: what it said now,
 * else what was agreed (unless a complete listing left it out).
 */
export function platformHas(kind: 'file' | 'folder', path: string, ctx: Context): boolean {
  const at = ctx.fold(path);
  const slots =
    kind === 'folder'
      ? [ctx.fold(folderKey(path))]
      : [ctx.fold(uploadKey(path)), ...(isSiteFile(path) ? [ctx.fold(siteKey(siteNameOf(path)))] : [])];
  for (const id of slots) {
    const said = ctx.remoteBySlot.get(id) ?? [];
    for (const { remote } of said) {
      if (remote && !isGone(remote) && ctx.fold((remote as { entry: Entry }).entry.path) === at) return true;
    }
    for (const record of ctx.statesIn(id)) {
      if (record.held || ctx.fold(record.platformPath) !== at) continue;
      const now = said.find((r) => r.key === record.key);
      // Said again now: a live entry was checked above (at its current path), a tombstone means gone.
      if (now ? now.remote !== undefined : ctx.complete) continue;
      return true;
    }
  }
  return false;
}
