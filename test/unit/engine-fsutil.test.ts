// SPEC.md "Pulling": every path is resolved inside the sync folder (never through `..`, an absolute path or a
// symlink), and files are written atomically through a temp dot-file.
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderRules } from '../../sync-engine/folder-rules.js';
import {
  LocalPathError,
  removeStaleTemps,
  resolveInside,
  TEMP_PREFIX,
  tempPathFor,
  writeFileAtomic,
} from '../../sync-engine/fsutil.js';
import { scanFolder } from '../../sync-engine/scan.js';

let root: string;
let outside: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'hc-fs-'));
  outside = mkdtempSync(join(tmpdir(), 'hc-fs-outside-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('resolveInside', () => {
  it('resolves ordinary paths, existing or not', async () => {
    mkdirSync(join(root, 'blog'));
    expect(await resolveInside(root, 'blog/hello.html')).toBe(join(root, 'blog', 'hello.html'));
    expect(await resolveInside(root, 'new/deep/file.txt')).toBe(join(root, 'new', 'deep', 'file.txt'));
  });

  it.each([
    ['../escape.html', 'outside_folder'],
    ['blog/../../escape.html', 'outside_folder'],
    ['/etc/passwd', 'outside_folder'],
    ['C:/Windows/x', 'outside_folder'],
    ['\\\\server\\share', 'outside_folder'],
    ['blog\\..\\..\\x', 'bad_path'],
    ['a//b', 'bad_path'],
    ['./a', 'bad_path'],
    ['', 'bad_path'],
  ])('refuses %j (%s)', async (path, code) => {
    await expect(resolveInside(root, path)).rejects.toMatchObject({ code });
  });

  it('refuses a path through a symlinked folder, or onto a symlink, and a file used as a folder', async () => {
    symlinkSync(outside, join(root, 'linked'));
    writeFileSync(join(outside, 'target.txt'), 'x');
    symlinkSync(join(outside, 'target.txt'), join(root, 'link.txt'));
    writeFileSync(join(root, 'file'), 'x');
    const error = await resolveInside(root, 'linked/evil.html').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalPathError);
    expect(error).toMatchObject({ code: 'through_symlink' });
    expect((error as Error).message).toContain('linked');
    await expect(resolveInside(root, 'link.txt')).rejects.toMatchObject({ code: 'through_symlink' });
    await expect(resolveInside(root, 'file/inside.txt')).rejects.toMatchObject({ code: 'not_a_folder' });
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file whole, leaves no temp file, and can set the mtime', async () => {
    const target = join(root, 'hello.html');
    writeFileSync(target, 'old');
    const mtime = new Date('2026-11-25T13:24:11.123Z');
    await writeFileAtomic(target, 'new content', { mtime });
    expect(readFileSync(target, 'utf8')).toBe('new content');
    // mtimeMs is a float from nanoseconds: compare whole milliseconds.
    expect(Math.round(statSync(target).mtimeMs)).toBe(mtime.getTime());
    expect(readdirSync(root)).toEqual(['hello.html']);
  });

  it('removes its temp file and keeps the old file when the rename fails', async () => {
    mkdirSync(join(root, 'dir'));
    writeFileSync(join(root, 'dir', 'keep'), 'x');
    // Renaming a file over a non-empty folder fails.
    await expect(writeFileAtomic(join(root, 'dir'), 'data')).rejects.toThrow();
    expect(readdirSync(root)).toEqual(['dir']);
    expect(readFileSync(join(root, 'dir', 'keep'), 'utf8')).toBe('x');
  });

  it('finds temp files left by a crash in a scan and removes only the stale ones', async () => {
    mkdirSync(join(root, 'blog'));
    writeFileSync(join(root, 'blog', 'hello.html'), 'x');
    const stale = tempPathFor(join(root, 'blog', 'hello.html'));
    const fresh = tempPathFor(join(root, 'hello.html'));
    writeFileSync(stale, 'partial');
    writeFileSync(fresh, 'in flight');
    const old = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(stale, old, old);
    const { items, tempFiles } = await scanFolder(root, createFolderRules(root));
    expect(items.map((item) => item.localPath)).toEqual(['blog', 'blog/hello.html']);
    const staleRel = `blog/${basename(stale)}`;
    expect(tempFiles).toEqual([basename(fresh), staleRel].sort());
    expect(await removeStaleTemps(root, [...tempFiles, 'blog/hello.html'])).toEqual([staleRel]);
    expect(readdirSync(join(root, 'blog'))).toEqual(['hello.html']);
    expect(readdirSync(root).sort()).toEqual([basename(fresh), 'blog'].sort());
  });

  it('names temp files so the folder rules ignore them', () => {
    const temp = tempPathFor(join(root, 'blog', 'hello.html'));
    expect(temp.startsWith(join(root, 'blog', TEMP_PREFIX))).toBe(true);
    const rules = createFolderRules(root);
    expect(rules.isIgnored(`blog/${temp.slice(join(root, 'blog').length + 1)}`, false)).toBe(true);
  });
});
