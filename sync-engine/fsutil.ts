// Disk primitives every writer in the engine shares: atomic writes, temp names, and confinement to the sync folder.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { EngineError } from './errors.js';

/** Every temp file the engine writes starts with this: a dot-file, so the folder rules and the watcher ignore it. */
export const TEMP_PREFIX = '.hyperclay-tmp-';

/** `O_NOFOLLOW` where the platform has it (not on Windows, where symlinks are rare and need privileges). */
export const NO_FOLLOW: number = constants.O_NOFOLLOW ?? 0;

export type LocalPathCode = 'outside_folder' | 'through_symlink' | 'not_a_folder' | 'bad_path';

/** A path that would land outside the sync folder, or go through a symlink or a file. */
export class LocalPathError extends EngineError {
  declare readonly code: LocalPathCode;
  readonly relPath: string;
  constructor(code: LocalPathCode, relPath: string, message: string) {
    super(code, message);
    this.relPath = relPath;
  }
}

/**
 * The sync folder itself is gone (moved, renamed, deleted or unmounted while sync runs): nothing may be written
 * for it, and it is never created again by a write inside it.
 */
export class FolderMissingError extends EngineError {
  constructor(root: string) {
    super(
      'folder_missing',
      `The sync folder ${root} is missing (moved, renamed, deleted or unmounted); sync resumes once it is back.`,
    );
  }
}

/** Throws FolderMissingError unless `root` is a folder now. */
export async function checkRootPresent(root: string): Promise<void> {
  const info = await lstat(root).catch(() => null);
  if (!info?.isDirectory()) throw new FolderMissingError(root);
}

/**
 * Creates `relDir` and its missing parents inside `root`, one level at a time, so that the sync folder itself is
 * never created by it: when the root has gone, the first level fails and FolderMissingError says so.
 */
export async function makeFoldersInside(root: string, relDir: string): Promise<void> {
  await resolveInside(root, relDir);
  let current = resolve(root);
  for (const segment of segmentsOf(relDir)) {
    current = join(current, segment);
    try {
      await mkdir(current);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'EEXIST') continue;
      if (code === 'ENOENT') throw new FolderMissingError(root);
      throw error;
    }
  }
}

/** Creates the folders a file at `relPath` goes into (see makeFoldersInside); nothing for a file at the root. */
export async function makeParentsInside(root: string, relPath: string): Promise<void> {
  const slash = relPath.lastIndexOf('/');
  if (slash > 0) await makeFoldersInside(root, relPath.slice(0, slash));
}

/** A `.hyperclay-tmp-<random>` dot-file in the same folder as `target` (same disk, so a rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
}

export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** Flushes a folder's entry list, so a rename into it survives a power cut. Not possible on Windows: skipped. */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface AtomicWriteOptions {
  /** Sets the file's mtime (and atime) before it is renamed into place. */
  mtime?: Date;
  mode?: number;
}

/** Creates `path`, failing if anything is there already (a temp name is never shared). Mode 0o666 as Node's default. */
export function openNewFile(path: string, mode = 0o666): Promise<FileHandle> {
  return open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
}

/** Writes all of `data` into a new file, sets its mtime if asked, syncs it to disk and closes it. */
export async function fillAndSync(handle: FileHandle, data: string | Uint8Array, mtime?: Date): Promise<void> {
  try {
    await handle.writeFile(data);
    if (mtime) await handle.utimes(mtime, mtime);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `path` so that a reader (or a crash) sees either the old file or the whole new one:
 * a temp dot-file next to it, fsync, rename over the target, fsync the folder. The temp file is removed on failure.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const temp = tempPathFor(path);
  const handle = await openNewFile(temp, options.mode ?? 0o644);
  try {
    await fillAndSync(handle, data, options.mtime);
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  await fsyncDir(dirname(path));
}

/** Splits a relative sync path into its segments, refusing anything that could climb out or mean another place. */
function segmentsOf(relPath: string): string[] {
  if (typeof relPath !== 'string' || relPath.length === 0) {
    throw new LocalPathError('bad_path', String(relPath), 'The path is empty.');
  }
  if (isAbsolute(relPath) || relPath.startsWith('/') || relPath.startsWith('\\') || /^[a-zA-Z]:/.test(relPath)) {
    throw new LocalPathError(
      'outside_folder',
      relPath,
      `The path "${relPath}" is absolute; only paths inside the sync folder are allowed.`,
    );
  }
  if (relPath.includes('\\') || relPath.includes('\0')) {
    throw new LocalPathError(
      'bad_path',
      relPath,
      `The path "${relPath}" holds a backslash or NUL, which is not allowed.`,
    );
  }
  const segments = relPath.split('/');
  for (const segment of segments) {
    if (segment === '..') {
      throw new LocalPathError(
        'outside_folder',
        relPath,
        `The path "${relPath}" climbs out of the sync folder with "..".`,
      );
    }
    if (segment === '' || segment === '.') {
      throw new LocalPathError('bad_path', relPath, `The path "${relPath}" has an empty or "." segment.`);
    }
  }
  return segments;
}

/**
 * Resolves a `/`-separated path inside `root`, refusing `..`, absolute paths, and any existing part of the way
 * (parents and the target itself) that is a symlink, or a parent that is a file. Missing parts are fine: they
 * are what a write will create. Returns the absolute path.
 */
export async function resolveInside(root: string, relPath: string): Promise<string> {
  const segments = segmentsOf(relPath);
  const base = resolve(root);
  await checkRootPresent(base);
  const target = resolve(base, ...segments);
  const back = relative(base, target);
  if (back === '' || back.startsWith(`..${sep}`) || back === '..' || isAbsolute(back)) {
    throw new LocalPathError('outside_folder', relPath, `The path "${relPath}" would land outside the sync folder.`);
  }
  let current = base;
  for (let i = 0; i < segments.length; i++) {
    current = join(current, segments[i]!);
    let info: Awaited<ReturnType<typeof lstat>>;
    try {
      info = await lstat(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') break;
      throw error;
    }
    const shown = segments.slice(0, i + 1).join('/');
    if (info.isSymbolicLink()) {
      throw new LocalPathError(
        'through_symlink',
        relPath,
        `The path "${relPath}" goes through the symlink "${shown}"; sync never follows symlinks.`,
      );
    }
    if (i < segments.length - 1 && !info.isDirectory()) {
      throw new LocalPathError(
        'not_a_folder',
        relPath,
        `The path "${relPath}" needs "${shown}" to be a folder, but it is a file.`,
      );
    }
  }
  return target;
}

/**
 * Removes the engine's temp files (relative paths, e.g. ScanResult.tempFiles) older than `olderThanMs`: leftovers of
 * a crash. Younger ones may belong to a transfer in flight and are kept. Returns the paths removed.
 */
export async function removeStaleTemps(
  root: string,
  tempFiles: readonly string[],
  olderThanMs = 3_600_000,
): Promise<string[]> {
  const removed: string[] = [];
  const cutoff = Date.now() - olderThanMs;
  for (const relPath of tempFiles) {
    const name = relPath.slice(relPath.lastIndexOf('/') + 1);
    if (!isTempName(name)) continue;
    try {
      const abs = await resolveInside(root, relPath);
      const info = await lstat(abs);
      if (!info.isFile() || info.mtimeMs > cutoff) continue;
      await unlink(abs);
      removed.push(relPath);
    } catch {
      // Gone already, or no longer ours to judge: leave it.
    }
  }
  return removed;
}

/** The errno code of an error from node:fs, or undefined. */
export function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
}

/**
 * Reads a file whole, again if it moved under the read (size or mtime changed); null when it is not a file (any
 * more). A file over `maxBytes` is not read: its content comes back empty, with its size.
 */
export async function readStable(
  abs: string,
  maxBytes: number,
): Promise<{ content: Buffer; size: number; mtimeMs: number } | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await lstat(abs).catch(() => null);
    if (!before?.isFile()) return null;
    if (before.size > maxBytes) return { content: Buffer.alloc(0), size: before.size, mtimeMs: before.mtimeMs };
    const content = await readFile(abs);
    const after = await lstat(abs).catch(() => null);
    if (after && after.size === before.size && after.mtimeMs === before.mtimeMs && content.length === after.size) {
      return { content, size: after.size, mtimeMs: after.mtimeMs };
    }
  }
  throw new Error('the file kept changing while it was read');
}
