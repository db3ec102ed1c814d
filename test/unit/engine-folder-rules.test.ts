// SPEC.md "The folder": what is never synced, which folders may be sync folders, and the account marker.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, parse } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bindFolder,
  checkSyncFolder,
  createFolderRules,
  isFolderEmpty,
  MARKER_FILE,
  readFolderAccount,
  SyncFolderError,
} from '../../sync-engine/folder-rules.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'hc-rules-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('folder rules', () => {
  it('never syncs backups, dot-files, node_modules or editor and OS temporaries', () => {
    const rules = createFolderRules(root);
    const ignoredFiles = [
      'sites-versions/hello/2026-11-25-13-24-11-123+0000.html',
      '.hyperclay-tmp-abc123',
      'blog/.hyperclay-tmp-abc123',
      '.hyperclay-sync',
      '.syncignore',
      '.git/config',
      'blog/.hidden/page.html',
      'node_modules/x/index.js',
      'a/b/node_modules/y.js',
      'hello.html~',
      '.hello.html.swp',
      'blog/.hello.html.swx',
      'hello.swp',
      '.#hello.html',
      '#hello.html#',
      'blog/#notes#',
      'draft.tmp',
      'movie.mp4.crdownload',
      'movie.mp4.part',
      '~$report.docx',
      'hello.html___jb_tmp___',
      'hello.html___jb_old___',
      '4913',
      'blog/4913',
      '.DS_Store',
      'blog/.DS_Store',
      'Thumbs.db',
      'images/thumbs.db',
      'desktop.ini',
    ];
    for (const path of ignoredFiles) expect(rules.isIgnored(path, false), path).toBe(true);
    for (const dir of ['sites-versions', '.git', 'node_modules', 'blog/node_modules', '.cache']) {
      expect(rules.isIgnored(dir, true), dir).toBe(true);
    }
    const synced = [
      'hello.html',
      'blog/hello.html',
      'images/logo.png',
      'blog/sites-versions/x.html',
      'notes.txt',
      'a/b/c/d.css',
      '49131',
      'report.docx',
      'tmp/file.txt',
    ];
    for (const path of synced) expect(rules.isIgnored(path, false), path).toBe(false);
    expect(rules.isIgnored('blog', true)).toBe(false);
  });

  it('applies .syncignore in gitignore syntax, and reload() picks up edits', () => {
    writeFileSync(join(root, '.syncignore'), '# build output\nbuild/\n*.log\n!keep.log\n/private.html\n');
    const rules = createFolderRules(root);
    expect(rules.isIgnored('build', true)).toBe(true);
    expect(rules.isIgnored('build/app.js', false)).toBe(true);
    expect(rules.isIgnored('a/build/app.js', false)).toBe(true);
    expect(rules.isIgnored('debug.log', false)).toBe(true);
    expect(rules.isIgnored('keep.log', false)).toBe(false);
    expect(rules.isIgnored('private.html', false)).toBe(true);
    expect(rules.isIgnored('blog/private.html', false)).toBe(false);
    expect(rules.isIgnored('hello.html', false)).toBe(false);

    writeFileSync(join(root, '.syncignore'), 'hello.html\n');
    expect(rules.isIgnored('hello.html', false)).toBe(false);
    expect(rules.reload()).toBeNull();
    expect(rules.isIgnored('hello.html', false)).toBe(true);
    expect(rules.isIgnored('debug.log', false)).toBe(false);
  });

  it('treats paths that are not inside the folder as ignored', () => {
    const rules = createFolderRules(root);
    expect(rules.isIgnored('../x.html', false)).toBe(true);
    expect(rules.isIgnored('/etc/passwd', false)).toBe(true);
    expect(rules.isIgnored('', true)).toBe(true);
  });
});

describe('checkSyncFolder', () => {
  it('refuses the home folder and filesystem roots with a sentence naming a better choice', () => {
    const home = join(root, 'home');
    mkdirSync(home);
    expect(() => checkSyncFolder(home, { home })).toThrow(SyncFolderError);
    try {
      checkSyncFolder(`${home}/`, { home });
    } catch (error) {
      expect((error as SyncFolderError).code).toBe('home_folder');
      expect((error as SyncFolderError).message).toContain(join(home, 'Hyperclay'));
    }
    const fsRoot = parse(root).root;
    expect(() => checkSyncFolder(fsRoot, { home })).toThrow(/root of a disk/);
    expect(checkSyncFolder(join(home, 'Hyperclay'), { home })).toBe(join(home, 'Hyperclay'));
  });

  it('refuses a folder that holds the data folder or lies inside it', () => {
    const home = join(root, 'home');
    const data = join(home, '.config', 'hyperclay-sync');
    expect(() => checkSyncFolder(join(home, '.config'), { home, dataHome: data })).toThrow(
      expect.objectContaining({ code: 'overlaps_data_folder' }),
    );
    expect(() => checkSyncFolder(join(data, 'sync'), { home, dataHome: data })).toThrow(SyncFolderError);
    expect(checkSyncFolder(join(home, 'Hyperclay'), { home, dataHome: data })).toBe(join(home, 'Hyperclay'));
  });

  it('refuses a file', () => {
    writeFileSync(join(root, 'file'), 'x');
    expect(() => checkSyncFolder(join(root, 'file'), { home: join(root, 'home') })).toThrow(/is a file/);
  });
});

describe('bindFolder', () => {
  it('writes the marker with the account id and accepts the same account again', async () => {
    const folder = join(root, 'sync');
    await bindFolder(folder, 'acct-1');
    expect(JSON.parse(readFileSync(join(folder, MARKER_FILE), 'utf8')).accountId).toBe('acct-1');
    await bindFolder(folder, 'acct-1');
    expect(await readFolderAccount(folder)).toBe('acct-1');
  });

  it('refuses another account while the folder holds synced files, and re-binds once it holds only ignored ones', async () => {
    await bindFolder(root, 'acct-1');
    writeFileSync(join(root, 'hello.html'), '<p>mine</p>');
    await expect(bindFolder(root, 'acct-2')).rejects.toMatchObject({ code: 'bound_to_other_account' });
    expect(await readFolderAccount(root)).toBe('acct-1');

    rmSync(join(root, 'hello.html'));
    mkdirSync(join(root, 'sites-versions', 'hello'), { recursive: true });
    writeFileSync(join(root, '.DS_Store'), '');
    writeFileSync(join(root, 'notes.swp'), '');
    expect(await isFolderEmpty(root)).toBe(true);
    await bindFolder(root, 'acct-2');
    expect(await readFolderAccount(root)).toBe('acct-2');
  });

  it('counts an empty sub-folder as content (folders are entries)', async () => {
    await bindFolder(root, 'acct-1');
    mkdirSync(join(root, 'blog'));
    await expect(bindFolder(root, 'acct-2')).rejects.toBeInstanceOf(SyncFolderError);
  });

  it('reads a hand-written marker holding just the id', async () => {
    writeFileSync(join(root, MARKER_FILE), 'acct-9\n');
    expect(await readFolderAccount(root)).toBe('acct-9');
  });
});
