// Watches the sync folder with chokidar and reports every add, change and removal at once (no debounce).

import path from 'node:path';
import { type FSWatcher, watch } from 'chokidar';

export type WatchEvent =
  | { type: 'file'; localPath: string }
  | { type: 'folder'; localPath: string }
  | { type: 'fileGone'; localPath: string }
  | { type: 'folderGone'; localPath: string };

export interface FolderWatcher {
  /** Resolves once the initial crawl is done and events are live. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface WatchOptions {
  /** Relative path (with `/`) and whether it is known to be a folder; true: not watched at all. */
  isIgnored(localPath: string, isFolder: boolean | undefined): boolean;
  onEvent(event: WatchEvent): void;
  onError(error: Error): void;
}

function relative(root: string, absolute: string): string {
  return path.relative(root, absolute).split(path.sep).join('/');
}

export function watchFolder(root: string, options: WatchOptions): FolderWatcher {
  const watcher: FSWatcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    // Pushes happen on every event at once; partial writes are followed by their final content.
    awaitWriteFinish: false,
    ignored: (absolute, stats) => {
      const rel = relative(root, absolute);
      if (rel === '' || rel.startsWith('..')) return false;
      return options.isIgnored(rel, stats ? stats.isDirectory() : undefined);
    },
  });
  const emit = (type: WatchEvent['type']) => (absolute: string) => {
    const localPath = relative(root, absolute);
    if (localPath !== '') options.onEvent({ type, localPath });
  };
  watcher.on('add', emit('file'));
  watcher.on('change', emit('file'));
  watcher.on('addDir', emit('folder'));
  watcher.on('unlink', emit('fileGone'));
  watcher.on('unlinkDir', emit('folderGone'));
  watcher.on('error', (error) => options.onError(error instanceof Error ? error : new Error(String(error))));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return { ready, close: () => watcher.close() };
}
