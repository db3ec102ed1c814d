// What the sync folder holds: a full scan (hashes, sizes, mtimes, entry keys), single-file stats for watcher
// events, and whether the folder's disk folds case.

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, type Dirent, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { lstat, open, readdir, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkPath, checkSitePath, isSiteFile, type NameRule, type PathRule, RULE_TEXT } from '../protocol/index.js';
import { EngineError } from './errors.js';
import type { FolderRules } from './folder-rules.js';
import { errnoOf, NO_FOLLOW, resolveInside, TEMP_PREFIX } from './fsutil.js';
import { folderKey, type LocalItem, siteKey, uploadKey } from './model.js';

/** The sync folder itself cannot be scanned: nothing may be concluded about its files. */
export class ScanError extends EngineError {
  declare readonly code: 'folder_missing' | 'folder_unreadable';
  constructor(code: 'folder_missing' | 'folder_unreadable', message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
  }
}

/** Why a path on disk is not synced (beyond the ignore rules, which are silent). */
export type SkipRule = PathRule | NameRule | 'symlink' | 'special_file' | 'unreadable';

export interface SkippedPath {
  localPath: string;
  rule: SkipRule;
  message: string;
}

export interface ScanResult {
  items: LocalItem[];
  skipped: SkippedPath[];
  caseInsensitive: boolean;
  /** The engine's own `.hyperclay-tmp-*` files seen (left by a crash, or in use right now): see removeStaleTemps. */
  tempFiles: string[];
}

export interface ScanOptions {
  /** Files over 1 MiB hashed at once (default 4). */
  concurrency?: number;
  /** Skip the probe when the caller already knows. */
  caseInsensitive?: boolean;
  /** Called once per skipped path, e.g. to write its log line. */
  onSkip?: (skipped: SkippedPath) => void;
}

export interface FileDigest {
  sha256: string;
  size: number;
  mtimeMs: number;
}

const SKIP_TEXT: Record<'symlink' | 'special_file' | 'unreadable', string> = {
  symlink: 'it is a symlink, and sync never follows symlinks',
  special_file: 'it is not a regular file or folder (a socket, pipe or device)',
  unreadable: 'it could not be read',
};

function skip(localPath: string, rule: SkipRule, detail?: string): SkippedPath {
  const base = rule in SKIP_TEXT ? SKIP_TEXT[rule as keyof typeof SKIP_TEXT] : RULE_TEXT[rule as PathRule | NameRule];
  return { localPath, rule, message: detail ? `${base} (${detail})` : base };
}

/** Files at most this big are read and hashed synchronously: with few cores the thread pool's round trips cost
 * more than the read itself (10,000 small files: ~0.5 s this way, ~1.7 s through fs.promises). */
const SYNC_READ_LIMIT = 1024 * 1024;
const CHUNK = 1024 * 1024;
// One buffer for every synchronous read (one extra byte shows a file that grew during the read).
const shared = Buffer.allocUnsafe(SYNC_READ_LIMIT + 1);

// O_NONBLOCK: opening a FIFO must not hang the engine (it is then refused as not a regular file).
const READ_FLAGS = constants.O_RDONLY | NO_FOLLOW | (constants.O_NONBLOCK ?? 0);

const changed = (a: Stats, b: Stats): boolean => a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.ino !== b.ino;

function notAFile(absPath: string): Error {
  return Object.assign(new Error(`${absPath} is not a regular file`), { code: 'EISDIR' });
}

/**
 * Hashes a small file on this thread without following a symlink; null when it is bigger than 1 MiB (use hashFile).
 * Re-reads when the file moved under the read, like hashFile.
 */
export function hashSmallFileSync(absPath: string): FileDigest | null {
  for (let attempt = 0; ; attempt++) {
    const fd = openSync(absPath, READ_FLAGS);
    try {
      const before = fstatSync(fd);
      if (!before.isFile()) throw notAFile(absPath);
      if (before.size > SYNC_READ_LIMIT) return null;
      let total = 0;
      for (;;) {
        const read = readSync(fd, shared, total, shared.length - total, total);
        if (read === 0) break;
        total += read;
        if (total === shared.length) break;
      }
      const after = fstatSync(fd);
      if (total > SYNC_READ_LIMIT) {
        if (attempt >= 4) return null;
        continue;
      }
      if ((!changed(before, after) && total === after.size) || attempt >= 4) {
        const sha256 = createHash('sha256').update(shared.subarray(0, total)).digest('hex');
        return { sha256, size: total, mtimeMs: after.mtimeMs };
      }
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Hashes a file without following a symlink, and returns the size and mtime that belong to that content: when the
 * file moved under the read (size or mtime changed), it is read again (up to 5 times, then the last read wins).
 * `size` is always the number of bytes hashed.
 */
export async function hashFile(absPath: string): Promise<FileDigest> {
  const small = hashSmallFileSync(absPath);
  if (small) return small;
  for (let attempt = 0; ; attempt++) {
    const handle = await open(absPath, READ_FLAGS);
    try {
      const before = await handle.stat();
      if (!before.isFile()) throw notAFile(absPath);
      const hash = createHash('sha256');
      const buffer = Buffer.allocUnsafe(CHUNK);
      let total = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, CHUNK, total);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        total += bytesRead;
      }
      const after = await handle.stat();
      if ((!changed(before, after) && total === after.size) || attempt >= 4) {
        return { sha256: hash.digest('hex'), size: total, mtimeMs: after.mtimeMs };
      }
    } finally {
      await handle.close();
    }
  }
}

/** Which entry a relative path is, by the protocol's rules; a broken rule is a skip. */
function classify(localPath: string, isDir: boolean): { key: string; kind: LocalItem['kind'] } | SkippedPath {
  if (isDir) {
    const checked = checkPath(localPath, 'folder');
    if (!checked.ok) return skip(localPath, checked.rule);
    return { key: folderKey(checked.value), kind: 'folder' };
  }
  if (isSiteFile(localPath)) {
    const checked = checkSitePath(localPath);
    if (!checked.ok) return skip(localPath, checked.rule);
    return { key: siteKey(checked.value.name), kind: 'site' };
  }
  const checked = checkPath(localPath, 'file');
  if (!checked.ok) return skip(localPath, checked.rule);
  return { key: uploadKey(checked.value), kind: 'upload' };
}

const isSkip = (value: { key: string } | SkippedPath): value is SkippedPath => 'rule' in value;

/** Swaps the case of every letter: `Hyperclay` -> `hYPERCLAY`. */
const swapCase = (text: string): string =>
  text.replace(/\p{L}/gu, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));

/**
 * Finds out whether the disk under `root` folds case: writes a lowercase probe dot-file and looks for its uppercase
 * twin. A folder that cannot be written to is judged by its own name's case twin, else by the platform's default.
 */
export async function detectCaseInsensitive(root: string): Promise<boolean> {
  const suffix = randomBytes(6)
    .toString('hex')
    .replace(/[0-9]/g, (d) => 'ghijklmnop'[Number(d)]!);
  const probe = join(root, `${TEMP_PREFIX}case-${suffix}`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch {
    const twin = join(dirname(root), swapCase(basename(root)));
    if (twin !== root) {
      try {
        const [a, b] = await Promise.all([lstat(root), lstat(twin)]);
        return a.ino === b.ino && a.dev === b.dev;
      } catch {
        return false;
      }
    }
    return process.platform === 'darwin' || process.platform === 'win32';
  }
  try {
    await lstat(join(root, `${TEMP_PREFIX}CASE-${suffix.toUpperCase()}`));
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  } finally {
    await unlink(probe).catch(() => {});
  }
}

/** Runs `work` over `items` with at most `limit` at once. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  });
  await Promise.all(runners);
}

/**
 * Walks the sync folder (lstat only: symlinks are skipped, never followed), skipping ignored paths silently and
 * rule-breaking paths with a reason, and hashes every file. Items keep the local spelling in `localPath` and are
 * keyed in NFC. A file that vanishes during the scan is simply not listed.
 */
export async function scanFolder(root: string, rules: FolderRules, options: ScanOptions = {}): Promise<ScanResult> {
  const items: LocalItem[] = [];
  const skipped: SkippedPath[] = [];
  const tempFiles: string[] = [];
  const files: Array<{ localPath: string; key: string; kind: LocalItem['kind'] }> = [];
  const report = (s: SkippedPath): void => {
    skipped.push(s);
    options.onSkip?.(s);
  };

  // A missing sync folder (moved, renamed, a disk not connected) must never look like a folder whose files were
  // all deleted.
  const rootInfo = await lstat(root).catch(() => null);
  if (!rootInfo?.isDirectory()) {
    throw new ScanError(
      'folder_missing',
      `The sync folder ${root} is missing or not a folder; was it moved, renamed, or is its disk disconnected?`,
    );
  }
  const caseInsensitive = options.caseInsensitive ?? (await detectCaseInsensitive(root));

  const walk = async (relDir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(relDir === '' ? root : join(root, relDir), { withFileTypes: true });
    } catch (error) {
      if (relDir === '') {
        throw new ScanError(
          'folder_unreadable',
          `The sync folder ${root} cannot be read (${errnoOf(error) ?? String(error)}); check its permissions.`,
          error,
        );
      }
      if (errnoOf(error) === 'ENOENT') return;
      report(skip(relDir, 'unreadable', errnoOf(error)));
      return;
    }
    const subfolders: string[] = [];
    for (const entry of entries) {
      const localPath = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      const isDir = entry.isDirectory();
      if (rules.isIgnored(localPath, isDir)) {
        if (!isDir && entry.isFile() && entry.name.startsWith(TEMP_PREFIX)) tempFiles.push(localPath);
        continue;
      }
      if (entry.isSymbolicLink()) {
        report(skip(localPath, 'symlink'));
        continue;
      }
      if (!isDir && !entry.isFile()) {
        report(skip(localPath, 'special_file'));
        continue;
      }
      const which = classify(localPath, isDir);
      if (isSkip(which)) {
        // A folder breaking a rule is skipped whole: its contents would break the same rule.
        report(which);
        continue;
      }
      if (isDir) {
        items.push({ key: which.key, kind: 'folder', localPath });
        subfolders.push(localPath);
      } else {
        files.push({ localPath, key: which.key, kind: which.kind });
      }
    }
    await Promise.all(subfolders.map(walk));
  };
  await walk('');

  const failedHash = (localPath: string, error: unknown): void => {
    const code = errnoOf(error);
    if (code === 'ENOENT') return;
    if (code === 'ELOOP' || code === 'EMLINK') report(skip(localPath, 'symlink'));
    else report(skip(localPath, 'unreadable', code));
  };
  // Small files synchronously, in slices of a few ms so timers and watcher events still get their turn.
  const big: typeof files = [];
  let slice = performance.now();
  for (const file of files) {
    try {
      const digest = hashSmallFileSync(join(root, file.localPath));
      if (digest) items.push({ key: file.key, kind: file.kind, localPath: file.localPath, ...digest });
      else big.push(file);
    } catch (error) {
      failedHash(file.localPath, error);
    }
    if (performance.now() - slice > 10) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
  await pool(big, options.concurrency ?? 4, async (file) => {
    try {
      const digest = await hashFile(join(root, file.localPath));
      items.push({ key: file.key, kind: file.kind, localPath: file.localPath, ...digest });
    } catch (error) {
      failedHash(file.localPath, error);
    }
  });

  items.sort((a, b) => (a.localPath < b.localPath ? -1 : a.localPath > b.localPath ? 1 : 0));
  skipped.sort((a, b) => (a.localPath < b.localPath ? -1 : a.localPath > b.localPath ? 1 : 0));
  return { items, skipped, caseInsensitive, tempFiles: tempFiles.sort() };
}

export type StatResult =
  | { status: 'item'; item: LocalItem }
  | { status: 'missing' }
  | { status: 'ignored' }
  | { status: 'skipped'; skipped: SkippedPath };

/**
 * One path, as for a watcher event: the same rules as a scan (ignored, symlink, protocol rules), plus refusal of
 * paths that go through a symlinked folder. Files are hashed.
 */
export async function statItem(root: string, relPath: string, rules?: FolderRules): Promise<StatResult> {
  if (rules?.isIgnored(relPath, false)) return { status: 'ignored' };
  let abs: string;
  try {
    abs = await resolveInside(root, relPath);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'through_symlink') return { status: 'skipped', skipped: skip(relPath, 'symlink') };
    if (code === 'not_a_folder') return { status: 'missing' };
    return { status: 'ignored' };
  }
  let info: Stats;
  try {
    info = await lstat(abs);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') return { status: 'missing' };
    throw error;
  }
  const isDir = info.isDirectory();
  if (rules?.isIgnored(relPath, isDir)) return { status: 'ignored' };
  if (info.isSymbolicLink()) return { status: 'skipped', skipped: skip(relPath, 'symlink') };
  if (!isDir && !info.isFile()) return { status: 'skipped', skipped: skip(relPath, 'special_file') };
  const which = classify(relPath, isDir);
  if (isSkip(which)) return { status: 'skipped', skipped: which };
  if (isDir) return { status: 'item', item: { key: which.key, kind: 'folder', localPath: relPath } };
  try {
    const digest = await hashFile(abs);
    return { status: 'item', item: { key: which.key, kind: which.kind, localPath: relPath, ...digest } };
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') return { status: 'missing' };
    if (code === 'ELOOP' || code === 'EMLINK') return { status: 'skipped', skipped: skip(relPath, 'symlink') };
    return { status: 'skipped', skipped: skip(relPath, 'unreadable', code) };
  }
}
