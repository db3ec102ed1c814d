// SPEC.md "Backups" and promise 1 ("Nothing is ever lost"): the sites-versions layout, never a partial or
// overwritten backup, and no overwrite when the backup cannot be written.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
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
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BackupError,
  backupPathFor,
  backupStamp,
  type ComparedLocal,
  copyToBackup,
  installFile,
  moveToBackup,
  replaceFile,
} from '../../sync-engine/backup.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'hc-backup-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Every file under a folder, relative, sorted. */
function tree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...tree(join(dir, entry.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

const AT = new Date('2026-11-25T13:24:11.123Z');

describe('backup names', () => {
  const savedTz = process.env.TZ;
  afterAll(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  it('stamps local time with its UTC offset: YYYY-MM-DD-HH-MM-SS-mmm+HHMM', () => {
    process.env.TZ = 'Asia/Kolkata';
    expect(backupStamp(AT)).toBe('2026-11-25-18-54-11-123+0530');
    process.env.TZ = 'America/New_York';
    expect(backupStamp(AT)).toBe('2026-11-25-08-24-11-123-0500');
    process.env.TZ = 'UTC';
    expect(backupStamp(AT)).toBe('2026-11-25-13-24-11-123+0000');
  });

  it('lays backups out as sites-versions/<folder>/<name>/<stamp><ext>', () => {
    process.env.TZ = 'UTC';
    expect(backupPathFor('hello.html', AT)).toBe('sites-versions/hello/2026-11-25-13-24-11-123+0000.html');
    expect(backupPathFor('blog/2026/hello.html', AT)).toBe(
      'sites-versions/blog/2026/hello/2026-11-25-13-24-11-123+0000.html',
    );
    expect(backupPathFor('images/logo.png', AT)).toBe('sites-versions/images/logo/2026-11-25-13-24-11-123+0000.png');
    expect(backupPathFor('README', AT)).toBe('sites-versions/README/2026-11-25-13-24-11-123+0000');
  });
});

describe('moveToBackup', () => {
  it('moves the file into its backup folder in one rename and returns where it went', async () => {
    mkdirSync(join(root, 'blog'));
    writeFileSync(join(root, 'blog', 'hello.html'), 'v1');
    const backup = await moveToBackup(root, 'blog/hello.html', AT);
    expect(backup.path).toMatch(/^sites-versions\/blog\/hello\/2026-11-25-\d\d-\d\d-11-123[+-]\d{4}\.html$/);
    expect(backup.absPath).toBe(join(root, ...backup.path.split('/')));
    expect(readFileSync(backup.absPath, 'utf8')).toBe('v1');
    expect(readdirSync(join(root, 'blog'))).toEqual([]);
  });

  it('never overwrites an existing backup: -001, -002, …', async () => {
    const paths: string[] = [];
    for (const content of ['a', 'b', 'c']) {
      writeFileSync(join(root, 'hello.html'), content);
      paths.push((await moveToBackup(root, 'hello.html', AT)).path);
    }
    expect(paths[1]).toBe(paths[0]!.replace(/\.html$/, '-001.html'));
    expect(paths[2]).toBe(paths[0]!.replace(/\.html$/, '-002.html'));
    expect(paths.map((p) => readFileSync(join(root, p), 'utf8'))).toEqual(['a', 'b', 'c']);
  });

  it('gives parallel backups of one file at one instant distinct names', async () => {
    writeFileSync(join(root, 'same.txt'), 'same');
    const copies = await Promise.all([1, 2, 3, 4].map(() => copyToBackup(root, 'same.txt', AT)));
    expect(new Set(copies.map((c) => c.path)).size).toBe(4);
    for (const c of copies) expect(readFileSync(c.absPath, 'utf8')).toBe('same');
  });

  it('refuses a missing file, a symlink, and a backup folder that is a symlink (nothing written outside)', async () => {
    await expect(moveToBackup(root, 'none.html', AT)).rejects.toMatchObject({ code: 'missing' });
    const outside = mkdtempSync(join(tmpdir(), 'hc-backup-outside-'));
    try {
      writeFileSync(join(outside, 'target.html'), 'x');
      symlinkSync(join(outside, 'target.html'), join(root, 'link.html'));
      await expect(moveToBackup(root, 'link.html', AT)).rejects.toBeInstanceOf(BackupError);
      symlinkSync(outside, join(root, 'sites-versions'));
      writeFileSync(join(root, 'hello.html'), 'keep me');
      await expect(moveToBackup(root, 'hello.html', AT)).rejects.toMatchObject({ code: 'backup_failed' });
      expect(readFileSync(join(root, 'hello.html'), 'utf8')).toBe('keep me');
      expect(readdirSync(outside)).toEqual(['target.html']);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('copyToBackup', () => {
  it('copies the whole file (keeping its mtime), leaves the original and no temp file', async () => {
    const data = randomBytes(300_000);
    writeFileSync(join(root, 'photo.jpg'), data);
    utimesSync(join(root, 'photo.jpg'), AT, AT);
    const backup = await copyToBackup(root, 'photo.jpg', AT);
    expect(readFileSync(backup.absPath).equals(data)).toBe(true);
    expect(Math.round(statSync(backup.absPath).mtimeMs)).toBe(AT.getTime());
    expect(readFileSync(join(root, 'photo.jpg')).equals(data)).toBe(true);
    expect(tree(root)).toEqual(['photo.jpg', backup.path]);
  });
});

describe('a failed backup stops the overwrite', () => {
  it('when sites-versions cannot be created (a file stands where the folder should be)', async () => {
    writeFileSync(join(root, 'sites-versions'), 'not a folder');
    writeFileSync(join(root, 'hello.html'), 'the only copy');
    const error = await replaceFile(root, 'hello.html', 'new content', { now: AT }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupError);
    expect((error as BackupError).message).toContain('hello.html');
    expect(readFileSync(join(root, 'hello.html'), 'utf8')).toBe('the only copy');
    expect(tree(root)).toEqual(['hello.html', 'sites-versions']);
    await expect(copyToBackup(root, 'hello.html', AT)).rejects.toBeInstanceOf(BackupError);
    await expect(moveToBackup(root, 'hello.html', AT)).rejects.toBeInstanceOf(BackupError);
    expect(readFileSync(join(root, 'hello.html'), 'utf8')).toBe('the only copy');
  });

  it('replaces with a backup when it can, and identical content is not an overwrite', async () => {
    writeFileSync(join(root, 'hello.html'), 'v1');
    const first = await replaceFile(root, 'hello.html', 'v2', { now: AT });
    expect(first.written).toBe(true);
    expect(readFileSync(first.backup!.absPath, 'utf8')).toBe('v1');
    expect(readFileSync(join(root, 'hello.html'), 'utf8')).toBe('v2');
    const again = await replaceFile(root, 'hello.html', 'v2', { now: AT });
    expect(again).toEqual({ backup: null, written: false });
    const fresh = await replaceFile(root, 'new/page.html', 'p1', { now: AT });
    expect(fresh).toEqual({ backup: null, written: true });
    expect(tree(root)).toEqual(['hello.html', 'new/page.html', first.backup!.path]);
  });
});

describe('installFile (pull: re-stat, back up by moving, rename into place)', () => {
  async function compare(rel: string): Promise<ComparedLocal> {
    const info = statSync(join(root, rel));
    return {
      sha256: createHash('sha256')
        .update(readFileSync(join(root, rel)))
        .digest('hex'),
      size: info.size,
      mtimeMs: info.mtimeMs,
    };
  }
  function temp(content: string): string {
    const path = join(root, `.hyperclay-tmp-${randomBytes(4).toString('hex')}`);
    writeFileSync(path, content);
    return path;
  }

  it('moves the compared file into sites-versions and puts the new content in place', async () => {
    writeFileSync(join(root, 'hello.html'), 'local v1');
    const compared = await compare('hello.html');
    const result = await installFile(root, 'hello.html', temp('remote v2'), compared, AT);
    expect(result.status).toBe('installed');
    const backup = (result as { backup: { absPath: string; path: string } }).backup;
    expect(readFileSync(backup.absPath, 'utf8')).toBe('local v1');
    expect(readFileSync(join(root, 'hello.html'), 'utf8')).toBe('remote v2');
    expect(tree(root)).toEqual(['hello.html', backup.path]);
  });

  it('writes a new file with no backup, and brings back a file deleted since the compare', async () => {
    expect(await installFile(root, 'blog/new.html', temp('new'), null, AT)).toEqual({
      status: 'installed',
      backup: null,
    });
    writeFileSync(join(root, 'gone.html'), 'was here');
    const compared = await compare('gone.html');
    rmSync(join(root, 'gone.html'));
    expect(await installFile(root, 'gone.html', temp('remote'), compared, AT)).toEqual({
      status: 'installed',
      backup: null,
    });
    expect(readFileSync(join(root, 'gone.html'), 'utf8')).toBe('remote');
    expect(tree(root)).toEqual(['blog/new.html', 'gone.html']);
  });

  it('does not overwrite a file that changed (or appeared) since it was compared', async () => {
    writeFileSync(join(root, 'hello.html'), 'local v1');
    const compared = await compare('hello.html');
    writeFileSync(join(root, 'hello.html'), 'local v1 plus an edit');
    expect(await installFile(root, 'hello.html', temp('remote'), compared, AT)).toEqual({ status: 'local_changed' });
    writeFileSync(join(root, 'appeared.html'), 'mine');
    expect(await installFile(root, 'appeared.html', temp('remote'), null, AT)).toEqual({ status: 'local_changed' });
    expect(readFileSync(join(root, 'hello.html'), 'utf8')).toBe('local v1 plus an edit');
    expect(readFileSync(join(root, 'appeared.html'), 'utf8')).toBe('mine');
    expect(tree(root)).toEqual(['appeared.html', 'hello.html']);
  });

  it('puts back a save that landed between the check and the move (same size and mtime, other content)', async () => {
    writeFileSync(join(root, 'hello.html'), 'local AAAA');
    const compared = await compare('hello.html');
    writeFileSync(join(root, 'hello.html'), 'local BBBB');
    utimesSync(join(root, 'hello.html'), compared.mtimeMs / 1000, compared.mtimeMs / 1000);
    expect(await installFile(root, 'hello.html', temp('remote'), compared, AT)).toEqual({ status: 'restored' });
    expect(readFileSync(join(root, 'hello.html'), 'utf8')).toBe('local BBBB');
    expect(tree(root)).toEqual(['hello.html']);
  });

  it('stops when the backup fails: the file stays, the temp file goes', async () => {
    writeFileSync(join(root, 'sites-versions'), 'not a folder');
    writeFileSync(join(root, 'hello.html'), 'the only copy');
    const compared = await compare('hello.html');
    await expect(installFile(root, 'hello.html', temp('remote'), compared, AT)).rejects.toBeInstanceOf(BackupError);
    expect(readFileSync(join(root, 'hello.html'), 'utf8')).toBe('the only copy');
    expect(tree(root)).toEqual(['hello.html', 'sites-versions']);
  });
});

// A real full disk: a 256 KB tmpfs, where this machine lets the test mount one (root with mount rights).
const tiny = join(tmpdir(), `hc-tiny-${process.pid}`);
let mounted = false;
if (process.platform === 'linux' && process.getuid?.() === 0) {
  try {
    mkdirSync(tiny, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', tiny], { stdio: 'ignore' });
    mounted = true;
  } catch {
    rmSync(tiny, { recursive: true, force: true });
  }
}

describe.skipIf(!mounted)('on a full disk (real ENOSPC, tmpfs)', () => {
  beforeAll(() => {
    mkdirSync(join(tiny, 'sync'));
  });
  afterAll(() => {
    execFileSync('umount', [tiny]);
    rmSync(tiny, { recursive: true, force: true });
  });

  it('a copy backup that does not fit fails cleanly and the file is not overwritten', async () => {
    const folder = join(tiny, 'sync');
    const original = randomBytes(160 * 1024);
    writeFileSync(join(folder, 'big.bin'), original);
    const error = await copyToBackup(folder, 'big.bin', AT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupError);
    expect((error as BackupError).message).toContain('the disk is full');
    expect(readFileSync(join(folder, 'big.bin')).equals(original)).toBe(true);
    // No partial backup and no temp file left behind.
    expect(tree(folder).filter((p) => p !== 'big.bin')).toEqual([]);
    const replaced = await replaceFile(folder, 'big.bin', randomBytes(160 * 1024), { now: AT }).catch(
      (e: unknown) => e,
    );
    expect((replaced as { code?: string }).code).toBe('ENOSPC');
    expect(readFileSync(join(folder, 'big.bin')).equals(original)).toBe(true);
    expect(tree(folder).filter((p) => p !== 'big.bin')).toEqual([]);
  });
});
