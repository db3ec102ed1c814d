// SPEC.md "Pushing": the watcher reports every save at once, never reports ignored files, never follows symlinks;
// it watches folders only (one OS watch per folder), so what a folder brings or takes with it is reported too.
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type FolderWatcher, type WatchEvent, watchFolder } from '../../sync-engine/watcher.js';

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('watchFolder', () => {
  let root = '';
  let watcher: FolderWatcher | undefined;
  afterEach(async () => {
    await watcher?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('reports adds, changes and removals of files and folders, and nothing ignored', async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'hc-watch-'));
    const outside = mkdtempSync(path.join(os.tmpdir(), 'hc-outside-'));
    mkdirSync(path.join(outside, 'secret'));
    const events: WatchEvent[] = [];
    watcher = watchFolder(root, {
      isIgnored: (rel) => rel.split('/').some((segment) => segment.startsWith('.') || segment === 'sites-versions'),
      onEvent: (event) => events.push(event),
      onError: (error) => {
        throw error;
      },
    });
    await watcher.ready;
    mkdirSync(path.join(root, 'blog'));
    writeFileSync(path.join(root, 'blog', 'hello.html'), 'one');
    writeFileSync(path.join(root, '.hidden.html'), 'no');
    mkdirSync(path.join(root, 'sites-versions'));
    writeFileSync(path.join(root, 'sites-versions', 'x.html'), 'no');
    symlinkSync(path.join(outside, 'secret'), path.join(root, 'link'));
    writeFileSync(path.join(outside, 'secret', 'inside.html'), 'never');
    await until(() => events.some((e) => e.type === 'file' && e.localPath === 'blog/hello.html'), 'the add');
    writeFileSync(path.join(root, 'blog', 'hello.html'), 'two');
    await until(() => events.filter((e) => e.localPath === 'blog/hello.html').length >= 2, 'the change');
    rmSync(path.join(root, 'blog', 'hello.html'));
    await until(() => events.some((e) => e.type === 'fileGone' && e.localPath === 'blog/hello.html'), 'the unlink');
    expect(events.some((e) => e.type === 'folder' && e.localPath === 'blog')).toBe(true);
    const paths = events.map((e) => e.localPath);
    expect(paths.filter((p) => p.includes('.hidden') || p.startsWith('sites-versions'))).toEqual([]);
    expect(paths.filter((p) => p.startsWith('link/'))).toEqual([]);
    rmSync(outside, { recursive: true, force: true });
  });

  const watchRoot = async (): Promise<WatchEvent[]> => {
    root = mkdtempSync(path.join(os.tmpdir(), 'hc-watch-'));
    const events: WatchEvent[] = [];
    watcher = watchFolder(root, {
      isIgnored: (rel) => rel.split('/').some((segment) => segment.startsWith('.')),
      onEvent: (event) => events.push(event),
      onError: (error) => {
        throw error;
      },
    });
    await watcher.ready;
    return events;
  };

  it('a folder moved in with files reports each file in it; a folder moved out reports the folder gone', async () => {
    const events = await watchRoot();
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'hc-elsewhere-'));
    mkdirSync(path.join(elsewhere, 'album', 'deep'), { recursive: true });
    writeFileSync(path.join(elsewhere, 'album', 'a.png'), 'a');
    writeFileSync(path.join(elsewhere, 'album', 'deep', 'b.png'), 'b');
    renameSync(path.join(elsewhere, 'album'), path.join(root, 'album'));
    await until(() => events.some((e) => e.type === 'file' && e.localPath === 'album/deep/b.png'), 'the deep file');
    expect(events.some((e) => e.type === 'file' && e.localPath === 'album/a.png')).toBe(true);
    expect(events.some((e) => e.type === 'folder' && e.localPath === 'album/deep')).toBe(true);
    // Files added later inside the moved-in folders are watched too.
    writeFileSync(path.join(root, 'album', 'deep', 'c.png'), 'c');
    await until(() => events.some((e) => e.localPath === 'album/deep/c.png'), 'a file in the moved-in folder');
    renameSync(path.join(root, 'album'), path.join(elsewhere, 'album'));
    await until(() => events.some((e) => e.type === 'folderGone' && e.localPath === 'album'), 'the folder gone');
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('a burst of writes to one file is reported at once and once more after it', async () => {
    const events = await watchRoot();
    const file = path.join(root, 'busy.html');
    for (let i = 0; i < 50; i++) writeFileSync(file, `save ${i}`);
    await until(() => events.filter((e) => e.localPath === 'busy.html').length >= 2, 'the last report of the burst');
    const reports = events.filter((e) => e.localPath === 'busy.html').length;
    expect(reports).toBeLessThan(50);
  });
});
