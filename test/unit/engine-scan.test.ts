// SPEC.md "The folder": what a scan of the sync folder finds, what it skips (with the rule) and how it keys entries.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderRules } from '../../sync-engine/folder-rules.js';
import { detectCaseInsensitive, hashFile, ScanError, scanFolder, statItem } from '../../sync-engine/scan.js';

const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'hc-scan-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function put(rel: string, data: string | Buffer): void {
  const abs = join(root, rel);
  mkdirSync(join(abs, '..'), { recursive: true });
  writeFileSync(abs, data);
}

describe('scanFolder', () => {
  it('lists sites by name, uploads and folders by NFC path, with sha256, size and mtime', async () => {
    put('Hello.html', '<p>hi</p>');
    put('blog/Post.HTML', '<p>post</p>');
    put('images/logo.png', Buffer.from([1, 2, 3]));
    mkdirSync(join(root, 'empty'));
    const { items, skipped } = await scanFolder(root, createFolderRules(root));
    expect(skipped).toEqual([]);
    const byPath = new Map(items.map((item) => [item.localPath, item]));
    expect(byPath.get('Hello.html')).toMatchObject({
      key: 'site:hello',
      kind: 'site',
      sha256: sha('<p>hi</p>'),
      size: 9,
    });
    expect(byPath.get('blog/Post.HTML')).toMatchObject({ key: 'site:post', kind: 'site' });
    expect(byPath.get('images/logo.png')).toMatchObject({ key: 'upload:images/logo.png', kind: 'upload', size: 3 });
    expect(byPath.get('blog')).toEqual({ key: 'folder:blog', kind: 'folder', localPath: 'blog' });
    expect(byPath.get('empty')).toEqual({ key: 'folder:empty', kind: 'folder', localPath: 'empty' });
    expect(typeof byPath.get('Hello.html')?.mtimeMs).toBe('number');
  });

  it('keeps the local (NFD) spelling but keys the entry in NFC', async () => {
    const nfd = 'caf\u0065\u0301'; // "café" decomposed
    put(`${nfd}/menu.txt`, 'menu');
    const { items } = await scanFolder(root, createFolderRules(root));
    const file = items.find((item) => item.kind === 'upload');
    expect(file?.localPath).toBe(`${nfd}/menu.txt`);
    expect(file?.key).toBe(`upload:caf\u00e9/menu.txt`);
    expect(items.find((item) => item.kind === 'folder')?.key).toBe('folder:caf\u00e9');
  });

  it('skips ignored paths silently, and symlinks and rule-breaking names with the rule', async () => {
    put('ok.html', 'ok');
    put('sites-versions/ok/2026-01-01-00-00-00-000+0000.html', 'old');
    put('.git/HEAD', 'ref');
    put('node_modules/a.js', 'x');
    put('notes.txt~', 'x');
    put('bad:name.txt', 'x');
    put('CON.txt', 'x');
    put('bad--name.html', 'x');
    put('www.html', 'x');
    put('trailing./inside.txt', 'x');
    put('a/b/c/d/e/f/g/h/i/deep.txt', 'x');
    symlinkSync(join(root, 'ok.html'), join(root, 'link.html'));
    mkdirSync(join(root, 'real'));
    put('real/file.txt', 'x');
    symlinkSync(join(root, 'real'), join(root, 'linked-folder'));
    const seen: string[] = [];
    const { items, skipped } = await scanFolder(root, createFolderRules(root), {
      onSkip: (s) => seen.push(s.localPath),
    });
    const rules = Object.fromEntries(skipped.map((s) => [s.localPath, s.rule]));
    expect(rules).toEqual({
      'bad:name.txt': 'forbidden_character',
      'CON.txt': 'reserved_windows_name',
      'bad--name.html': 'double_hyphen',
      'www.html': 'reserved_site_name',
      'trailing.': 'trailing_dot_or_space',
      'a/b/c/d/e/f/g/h/i': 'too_deep',
      'link.html': 'symlink',
      'linked-folder': 'symlink',
    });
    expect(seen.sort()).toEqual(Object.keys(rules).sort());
    for (const s of skipped) expect(s.message.length).toBeGreaterThan(10);
    const paths = items.map((item) => item.localPath);
    expect(paths).toContain('ok.html');
    expect(paths).toContain('real/file.txt');
    expect(
      paths.some((p) => p.startsWith('sites-versions') || p.startsWith('.git') || p.includes('node_modules')),
    ).toBe(false);
    expect(paths).not.toContain('linked-folder/file.txt');
    expect(paths).not.toContain('notes.txt~');
  });

  it('refuses to scan a missing sync folder rather than report every file deleted', async () => {
    await expect(scanFolder(join(root, 'unplugged'), createFolderRules(root))).rejects.toMatchObject({
      code: 'folder_missing',
    });
    writeFileSync(join(root, 'file'), 'x');
    await expect(scanFolder(join(root, 'file'), createFolderRules(root))).rejects.toBeInstanceOf(ScanError);
  });

  it('lists both files when two local files map to one site name (the planner picks one)', async () => {
    put('hello.html', 'a');
    put('blog/Hello.html', 'b');
    const { items } = await scanFolder(root, createFolderRules(root));
    expect(items.filter((item) => item.key === 'site:hello').map((item) => item.localPath)).toEqual([
      'blog/Hello.html',
      'hello.html',
    ]);
  });

  it('finds out whether the disk folds case, and leaves no probe behind', async () => {
    const insensitive = await detectCaseInsensitive(root);
    // Linux tmpfs and ext4 are case-sensitive.
    if (process.platform === 'linux') expect(insensitive).toBe(false);
    expect(readdirSync(root)).toEqual([]);
    const result = await scanFolder(root, createFolderRules(root));
    expect(result.caseInsensitive).toBe(insensitive);
  });

  it('scans 10,000 files of 5-20 KB (figure printed)', async () => {
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(root, `d${d}`));
      for (let f = 0; f < 100; f++) {
        const size = 5 * 1024 + ((d * 100 + f) % 16) * 1024;
        const name = f % 10 === 0 ? `site-${d}-${f}.html` : `file-${f}.bin`;
        writeFileSync(join(root, `d${d}`, name), randomBytes(size));
      }
    }
    const started = performance.now();
    const { items, skipped } = await scanFolder(root, createFolderRules(root));
    const ms = performance.now() - started;
    console.log(`[figure] scanFolder: 10,000 files (~125 MB) + 100 folders in ${ms.toFixed(0)} ms`);
    expect(skipped).toEqual([]);
    expect(items.filter((item) => item.kind !== 'folder')).toHaveLength(10_000);
    expect(items.filter((item) => item.kind === 'site')).toHaveLength(1_000);
    expect(items.filter((item) => item.kind === 'folder')).toHaveLength(100);
  });
});

describe('statItem and hashFile', () => {
  it('describes one path like a scan would', async () => {
    put('blog/hello.html', 'x');
    put('blog/.hello.html.swp', 'x');
    put('bad|name.txt', 'x');
    const rules = createFolderRules(root);
    expect(await statItem(root, 'blog/hello.html', rules)).toMatchObject({
      status: 'item',
      item: { key: 'site:hello', kind: 'site', localPath: 'blog/hello.html', sha256: sha('x'), size: 1 },
    });
    expect(await statItem(root, 'blog', rules)).toEqual({
      status: 'item',
      item: { key: 'folder:blog', kind: 'folder', localPath: 'blog' },
    });
    expect(await statItem(root, 'blog/.hello.html.swp', rules)).toEqual({ status: 'ignored' });
    expect(await statItem(root, 'blog/gone.html', rules)).toEqual({ status: 'missing' });
    expect(await statItem(root, 'bad|name.txt', rules)).toMatchObject({
      status: 'skipped',
      skipped: { rule: 'forbidden_character' },
    });
  });

  it('never reads through a symlink, at the end or in a parent folder', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'hc-outside-'));
    try {
      writeFileSync(join(outside, 'secret.txt'), 'secret');
      symlinkSync(outside, join(root, 'out'));
      symlinkSync(join(outside, 'secret.txt'), join(root, 'secret.txt'));
      const rules = createFolderRules(root);
      expect(await statItem(root, 'out/secret.txt', rules)).toMatchObject({
        status: 'skipped',
        skipped: { rule: 'symlink' },
      });
      expect(await statItem(root, 'secret.txt', rules)).toMatchObject({
        status: 'skipped',
        skipped: { rule: 'symlink' },
      });
      await expect(hashFile(join(root, 'secret.txt'))).rejects.toMatchObject({ code: 'ELOOP' });
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it.skipIf(process.platform === 'win32')('refuses a FIFO without blocking on it', async () => {
    execFileSync('mkfifo', [join(root, 'pipe.txt')]);
    await expect(hashFile(join(root, 'pipe.txt'))).rejects.toMatchObject({ code: 'EISDIR' });
    expect(await statItem(root, 'pipe.txt', createFolderRules(root))).toMatchObject({
      status: 'skipped',
      skipped: { rule: 'special_file' },
    });
    const { skipped } = await scanFolder(root, createFolderRules(root));
    expect(skipped).toMatchObject([{ localPath: 'pipe.txt', rule: 'special_file' }]);
  });

  it('hashes large files by streaming, matching a one-shot hash', async () => {
    const big = randomBytes(9 * 1024 * 1024 + 17);
    put('big.bin', big);
    const digest = await hashFile(join(root, 'big.bin'));
    expect(digest).toMatchObject({ sha256: sha(big), size: big.length });
  });
});
