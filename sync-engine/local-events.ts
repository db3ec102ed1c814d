// Local changes: the watcher's events, each reconciled at once (no debounce), the paths that changed while a
// session ran, and the catch-up walk after the first session (which runs before the watcher starts).

import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_FOLDER_DEPTH, MAX_PATH_BYTES } from '../protocol/index.js';
import type { EngineCore } from './engine-core.js';
import type { EntryKey } from './model.js';
import type { Reconciler } from './reconciler.js';
import { statItem } from './scan.js';
import type { StatusModel } from './status.js';
import { type FolderWatcher, type WatchEvent, watchFolder } from './watcher.js';

export interface LocalEventsParts {
  reconciler: Reconciler;
  status: StatusModel;
  /** Sync runs (started and not stopped). */
  running: () => boolean;
  /** A session is running: events are kept for its end. */
  inSession: () => boolean;
}

export class LocalEvents {
  readonly #c: EngineCore;
  readonly #p: LocalEventsParts;
  #watcher: FolderWatcher | null = null;
  /** Paths that changed while a session was reconciling: handled right after it. */
  readonly #duringSession = new Set<string>();

  constructor(core: EngineCore, parts: LocalEventsParts) {
    this.#c = core;
    this.#p = parts;
  }

  /**
   * Starts the watcher; resolves true once its first crawl is done and events are live, false when that took longer
   * than `readyMs` (events still come where it got to).
   */
  async watch(readyMs: number): Promise<boolean> {
    const core = this.#c;
    const watcher = watchFolder(core.folder, {
      isIgnored: (localPath, isFolder) =>
        (core.rules.isIgnored(localPath, isFolder) && localPath !== '.syncignore') || this.#beyondLimits(localPath),
      onEvent: (event) => this.#onEvent(event),
      onError: (error) => this.#c.log('error', `watcher: ${error.message}`),
    });
    this.#watcher = watcher;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), readyMs);
      timer.unref();
    });
    try {
      return await Promise.race([watcher.ready.then(() => true as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A path deeper or longer than PROTOCOL.md allows can never sync, and below it the OS's own path limit may come:
   * it is not watched (a watch past the OS's path limit cannot even be set up). The scan names it in the log.
   */
  #beyondLimits(localPath: string): boolean {
    if (Buffer.byteLength(localPath) <= MAX_PATH_BYTES && localPath.split('/').length <= MAX_FOLDER_DEPTH + 1) {
      return false;
    }
    this.#c.memory.skipOnce(localPath, 'deeper or longer than a synced path may be; not watched');
    return true;
  }

  async close(): Promise<void> {
    await this.#watcher?.close();
    this.#watcher = null;
  }

  /** The paths that changed during a session, handled now that it is over. */
  replayMissed(): void {
    const missed = [...this.#duringSession];
    this.#duringSession.clear();
    void this.#onLocalPaths(missed);
  }

  #onEvent(event: WatchEvent): void {
    void this.onLocalPath(event.localPath);
    // A folder that went away took its files with it: the watch saw the folder only.
    if (event.type === 'folderGone') {
      const inside = `${event.localPath}/`;
      for (const localPath of [...this.#c.index.paths()]) {
        if (localPath.startsWith(inside)) void this.onLocalPath(localPath);
      }
    }
  }

  /** One path changed on disk: index it as it is now and reconcile its entry. */
  async onLocalPath(localPath: string): Promise<void> {
    const key = await this.#indexPath(localPath);
    if (key !== undefined) await this.#p.reconciler.reconcileKey(key);
  }

  /** Many paths at once (a burst seen after a session): indexed one by one, their entries reconciled together. */
  async #onLocalPaths(paths: string[]): Promise<void> {
    const keys = new Set<EntryKey>();
    for (const localPath of paths) {
      const key = await this.#indexPath(localPath);
      if (key !== undefined) keys.add(key);
    }
    await this.#p.reconciler.reconcileKeys([...keys]);
  }

  /** Indexes one path as it is on disk now; the entry to reconcile, if any (none during a session: kept for after). */
  async #indexPath(localPath: string): Promise<EntryKey | undefined> {
    if (!this.#p.running()) return undefined;
    if (this.#p.inSession()) {
      this.#duringSession.add(localPath);
      return undefined;
    }
    if (localPath === '.syncignore') {
      const problem = this.#c.rules.reload();
      if (problem) this.#c.log('warn', `.syncignore: ${problem}`);
      return undefined;
    }
    const { index } = this.#c;
    const result = await statItem(this.#c.folder, localPath, this.#c.rules).catch(() => ({
      status: 'missing' as const,
    }));
    let key: EntryKey | undefined;
    if (result.status === 'item') {
      index.add(result.item);
      key = result.item.key;
    } else {
      key = index.remove(localPath);
      if (result.status === 'skipped') this.#c.memory.skipOnce(localPath, result.skipped.message);
      else this.#p.status.fileFine(localPath);
    }
    return key;
  }

  /**
   * After a session that ran without the watcher: every path that changed on disk meanwhile (new, gone, or a
   * size or mtime other than the agreed one) is handled like a watcher event. Stat only; hashing is left to
   * the paths that moved.
   */
  async catchUp(): Promise<void> {
    const seen = new Set<string>();
    const moved: string[] = [];
    await this.#walk('', seen, moved);
    for (const rel of this.#c.index.paths()) if (!seen.has(rel)) moved.push(rel);
    if (moved.length > 0) {
      this.#c.log('info', `${moved.length} paths changed on disk during the session: reconciling them`);
    }
    await this.#onLocalPaths(moved);
  }

  async #walk(relDir: string, seen: Set<string>, moved: string[]): Promise<void> {
    const { folder, index } = this.#c;
    let entries: Dirent[];
    try {
      entries = await readdir(relDir === '' ? folder : join(folder, relDir), { withFileTypes: true });
    } catch {
      return; // gone meanwhile: its parent's listing no longer has it
    }
    for (const dirent of entries) {
      const rel = relDir === '' ? dirent.name : `${relDir}/${dirent.name}`;
      const isFolder = dirent.isDirectory();
      if (this.#c.rules.isIgnored(rel, isFolder)) continue;
      seen.add(rel);
      const key = index.keyAt(rel);
      if (isFolder) {
        if (key === undefined) moved.push(rel);
        await this.#walk(rel, seen, moved);
        continue;
      }
      const record = key === undefined ? undefined : this.#c.store?.get(key);
      if (!record || record.localPath !== rel || !dirent.isFile()) {
        moved.push(rel);
        continue;
      }
      const info = await lstat(join(folder, rel)).catch(() => null);
      if (!info || info.size !== record.size || info.mtimeMs !== record.mtimeMs) moved.push(rel);
    }
  }
}
