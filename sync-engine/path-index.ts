// The local path index: which paths on disk stand for which entry (several for name or case twins), kept up to
// date by the scan, the watcher and the executor, so a reconcile finds an entry's files without walking the folder.

import { caseFoldKey } from '../protocol/index.js';
import { type EntryKey, keyKind } from './model.js';

export class LocalIndex {
  /** Local paths by folded key: every path on disk that maps to that entry. */
  readonly #paths = new Map<string, Set<string>>();
  /** The key each indexed local path maps to. */
  readonly #keyOfPath = new Map<string, EntryKey>();
  /** On a disk that folds case, keys differing only in case are one entry. */
  caseInsensitive = false;

  #fold(key: EntryKey): string {
    return this.caseInsensitive ? caseFoldKey(key) : key;
  }

  /** Notes that `localPath` is on disk as `key` (a path that mapped to another key before is moved). */
  add(item: { key: EntryKey; localPath: string }): void {
    const previous = this.#keyOfPath.get(item.localPath);
    if (previous !== undefined && previous !== item.key) this.remove(item.localPath);
    this.#keyOfPath.set(item.localPath, item.key);
    const folded = this.#fold(item.key);
    let paths = this.#paths.get(folded);
    if (!paths) {
      paths = new Set();
      this.#paths.set(folded, paths);
    }
    paths.add(item.localPath);
  }

  /** Forgets `localPath`; returns the key it stood for, if any. */
  remove(localPath: string): EntryKey | undefined {
    const key = this.#keyOfPath.get(localPath);
    if (key === undefined) return undefined;
    this.#keyOfPath.delete(localPath);
    const folded = this.#fold(key);
    const paths = this.#paths.get(folded);
    paths?.delete(localPath);
    if (paths?.size === 0) this.#paths.delete(folded);
    return key;
  }

  keyAt(localPath: string): EntryKey | undefined {
    return this.#keyOfPath.get(localPath);
  }

  /** Every indexed path of the entry `key` (and of its case twins on a case-insensitive disk). */
  pathsOf(key: EntryKey): Iterable<string> {
    return this.#paths.get(this.#fold(key)) ?? [];
  }

  /** Every indexed path. */
  paths(): Iterable<string> {
    return this.#keyOfPath.keys();
  }

  /** Files on disk (not folders): the delete brake counts against this. */
  fileCount(): number {
    let count = 0;
    for (const key of this.#keyOfPath.values()) if (keyKind(key) !== 'folder') count++;
    return count;
  }

  clear(): void {
    this.#paths.clear();
    this.#keyOfPath.clear();
  }
}
