// Watches the sync folder and reports every add, change and removal at once (no debounce): one OS watch per folder
// (a folder's watch hears about the files in it), never one per file, so watching 10,000 files costs a hundred
// watches and a few megabytes. A burst of writes to one file is reported at its first event and once more after it
// (at most one report per file every 50 ms in between), so the last content is never missed.

import { type Dirent, type FSWatcher, type Stats, watch } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

export type WatchEvent =
  | { type: 'file'; localPath: string }
  | { type: 'folder'; localPath: string }
  | { type: 'fileGone'; localPath: string }
  | { type: 'folderGone'; localPath: string };

export interface FolderWatcher {
  /** Resolves once the first crawl is done and events are live everywhere. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface WatchOptions {
  /** Relative path (with `/`) and whether it is known to be a folder; true: not watched at all. */
  isIgnored(localPath: string, isFolder: boolean | undefined): boolean;
  onEvent(event: WatchEvent): void;
  onError(error: Error): void;
}

/** Reports of one file closer together than this are folded into one more report at the end of the window. */
const THROTTLE_MS = 50;

const join = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);

class TreeWatch {
  readonly #root: string;
  readonly #o: WatchOptions;
  /** The watched folders, by relative path ('' is the root). */
  readonly #folders = new Map<string, FSWatcher>();
  /** Per file: a report is due at the end of its throttle window. */
  readonly #windows = new Map<string, { timer: NodeJS.Timeout; again: boolean }>();
  #closed = false;

  constructor(root: string, options: WatchOptions) {
    this.#root = root;
    this.#o = options;
  }

  /** Watches `rel` and every folder below it; with `report`, reports what it finds there (a folder that appeared). */
  async crawl(rel: string, report: boolean): Promise<void> {
    if (this.#closed || this.#folders.has(rel)) return;
    this.#watchFolder(rel);
    let entries: Dirent[];
    try {
      entries = await readdir(this.#abs(rel), { withFileTypes: true });
    } catch {
      return; // gone meanwhile: its parent's watch reports that
    }
    const below: Promise<void>[] = [];
    for (const entry of entries) {
      const child = join(rel, entry.name);
      const isFolder = entry.isDirectory();
      if (this.#o.isIgnored(child, isFolder)) continue;
      if (isFolder) {
        if (report) this.#emit('folder', child);
        below.push(this.crawl(child, report));
      } else if (report) {
        this.#emit('file', child);
      }
    }
    await Promise.all(below);
  }

  #abs(rel: string): string {
    return rel === '' ? this.#root : path.join(this.#root, ...rel.split('/'));
  }

  #watchFolder(rel: string): void {
    let watcher: FSWatcher;
    try {
      watcher = watch(this.#abs(rel), { persistent: true }, (_event, name) => {
        // Without a name the OS lost track (an overflow): everything in the folder is looked at again.
        if (name === null) void this.#rescan(rel);
        else void this.#look(join(rel, name.toString().split(path.sep).join('/')));
      });
    } catch (error) {
      this.#o.onError(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    // A folder that goes away ends its watch with an error on some systems: its parent reports the removal.
    watcher.on('error', () => this.#unwatch(rel));
    this.#folders.set(rel, watcher);
  }

  #unwatch(rel: string): void {
    for (const [folder, watcher] of this.#folders) {
      if (folder === rel || (rel === '' ? true : folder.startsWith(`${rel}/`))) {
        watcher.close();
        this.#folders.delete(folder);
      }
    }
  }

  async #rescan(rel: string): Promise<void> {
    const entries = await readdir(this.#abs(rel)).catch(() => [] as string[]);
    for (const name of entries) void this.#look(join(rel, name));
  }

  /** Something happened at `rel`: what is there now decides the report. */
  async #look(rel: string): Promise<void> {
    if (this.#closed || this.#o.isIgnored(rel, undefined)) return;
    let info: Stats | null = null;
    try {
      info = await lstat(this.#abs(rel));
    } catch {
      info = null;
    }
    if (this.#closed) return;
    if (info === null) {
      if (this.#folders.has(rel)) {
        this.#unwatch(rel);
        this.#emit('folderGone', rel);
      } else {
        this.#emit('fileGone', rel);
      }
      return;
    }
    if (info.isDirectory()) {
      if (this.#o.isIgnored(rel, true) || this.#folders.has(rel)) return;
      this.#emit('folder', rel);
      await this.crawl(rel, true);
      return;
    }
    if (!this.#o.isIgnored(rel, false)) this.#throttled(rel);
  }

  /** A file's report now, unless one went out less than THROTTLE_MS ago: then once at the end of that window. */
  #throttled(rel: string): void {
    const window = this.#windows.get(rel);
    if (window) {
      window.again = true;
      return;
    }
    this.#emit('file', rel);
    const timer = setTimeout(() => {
      const ended = this.#windows.get(rel);
      this.#windows.delete(rel);
      if (ended?.again && !this.#closed) this.#emit('file', rel);
    }, THROTTLE_MS);
    timer.unref();
    this.#windows.set(rel, { timer, again: false });
  }

  #emit(type: WatchEvent['type'], localPath: string): void {
    if (!this.#closed) this.#o.onEvent({ type, localPath });
  }

  close(): void {
    this.#closed = true;
    this.#unwatch('');
    for (const { timer } of this.#windows.values()) clearTimeout(timer);
    this.#windows.clear();
  }
}

export function watchFolder(root: string, options: WatchOptions): FolderWatcher {
  const tree = new TreeWatch(root, options);
  const ready = tree.crawl('', false).catch((error: unknown) => {
    options.onError(error instanceof Error ? error : new Error(String(error)));
  });
  return {
    ready,
    close: async () => tree.close(),
  };
}
