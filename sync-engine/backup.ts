// Local backups in `sites-versions/<folder>/<name>/<stamp><ext>` (SPEC.md "Backups"): made before anything
// replaces or removes a local file's content, never partial, never overwriting an older backup.

import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, lstat, open, rename, unlink, utimes } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { baseName, folderOf } from '../protocol/index.js';
import { EngineError } from './errors.js';
import { BACKUP_FOLDER } from './folder-rules.js';
import {
  errnoOf,
  fillAndSync,
  fsyncDir,
  LocalPathError,
  makeFoldersInside,
  makeParentsInside,
  openNewFile,
  resolveInside,
  tempPathFor,
  writeFileAtomic,
} from './fsutil.js';
import { hashFile } from './scan.js';

export type BackupErrorCode = 'missing' | 'not_a_file' | 'backup_failed';

/** A backup could not be made; whoever asked for it must not overwrite or remove the file. */
export class BackupError extends EngineError {
  declare readonly code: BackupErrorCode;
  readonly relPath: string;
  constructor(code: BackupErrorCode, relPath: string, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
    this.relPath = relPath;
  }
}

export interface Backup {
  /** Relative to the sync folder, `/`-separated (for log lines). */
  path: string;
  absPath: string;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `YYYY-MM-DD-HH-MM-SS-mmm+HHMM` in local time with its UTC offset. */
export function backupStamp(now: Date): string {
  const offset = -now.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-` +
    `${pad(now.getHours())}-${pad(now.getMinutes())}-${pad(now.getSeconds())}-${pad(now.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/** The backup folder of a file, relative to the sync folder: `sites-versions/<folder>/<name>`. */
export function backupFolderFor(relPath: string): string {
  const file = baseName(relPath);
  const ext = extname(file);
  const name = ext === '' ? file : file.slice(0, -ext.length);
  const folder = folderOf(relPath);
  return folder === '' ? `${BACKUP_FOLDER}/${name}` : `${BACKUP_FOLDER}/${folder}/${name}`;
}

/** The first-choice backup path of a file at `now` (without the `-001` suffix a taken name gets). */
export function backupPathFor(relPath: string, now: Date): string {
  return `${backupFolderFor(relPath)}/${backupStamp(now)}${extname(baseName(relPath))}`;
}

// Names being claimed by backups in flight in this process, so two at the same millisecond never pick one name.
const claimed = new Set<string>();

async function claimFreeName(dirAbs: string, dirRel: string, stamp: string, ext: string): Promise<Backup> {
  for (let n = 0; n < 100_000; n++) {
    const file = n === 0 ? `${stamp}${ext}` : `${stamp}-${pad(n, 3)}${ext}`;
    const absPath = join(dirAbs, file);
    if (claimed.has(absPath)) continue;
    try {
      await lstat(absPath);
      continue;
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error;
    }
    if (claimed.has(absPath)) continue;
    claimed.add(absPath);
    return { path: `${dirRel}/${file}`, absPath };
  }
  throw new Error('no free backup name');
}

async function sourceOf(root: string, relPath: string): Promise<string> {
  let abs: string;
  try {
    abs = await resolveInside(root, relPath);
  } catch (error) {
    if (error instanceof LocalPathError) {
      throw new BackupError('backup_failed', relPath, `Could not back up ${relPath}: ${error.message}`, error);
    }
    throw error;
  }
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(abs);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR') {
      throw new BackupError('missing', relPath, `There is no file at ${relPath} to back up.`, error);
    }
    throw failed(relPath, error);
  }
  if (!info.isFile())
    throw new BackupError('not_a_file', relPath, `${relPath} is not a regular file; it was not backed up.`);
  return abs;
}

function failed(relPath: string, error: unknown): BackupError {
  if (error instanceof BackupError) return error;
  const reason = errnoOf(error) === 'ENOSPC' ? 'the disk is full' : (errnoOf(error) ?? String(error));
  return new BackupError(
    'backup_failed',
    relPath,
    `Could not back up ${relPath} into ${BACKUP_FOLDER} (${reason}); the file was left as it is. Free some space or fix the folder's permissions.`,
    error,
  );
}

async function backupTarget(root: string, relPath: string, now: Date): Promise<Backup> {
  const dirRel = backupFolderFor(relPath);
  await makeFoldersInside(root, dirRel);
  const dirAbs = await resolveInside(root, dirRel);
  return claimFreeName(dirAbs, dirRel, backupStamp(now), extname(baseName(relPath)));
}

/**
 * Moves the file into its backup folder with one rename: the move is the backup and the removal at once.
 * Returns where it went. Throws a BackupError (and leaves the file in place) when it cannot.
 */
export async function moveToBackup(root: string, relPath: string, now: Date = new Date()): Promise<Backup> {
  const source = await sourceOf(root, relPath);
  let target: Backup | undefined;
  try {
    target = await backupTarget(root, relPath, now);
    await rename(source, target.absPath);
    await fsyncDir(dirname(target.absPath));
    await fsyncDir(dirname(source));
    return target;
  } catch (error) {
    throw failed(relPath, error);
  } finally {
    if (target) claimed.delete(target.absPath);
  }
}

/**
 * Copies the file into its backup folder (temp file, fsync, rename: never a partial backup), keeping its mtime.
 * The file itself is not touched. Throws a BackupError when it cannot.
 */
export async function copyToBackup(root: string, relPath: string, now: Date = new Date()): Promise<Backup> {
  const source = await sourceOf(root, relPath);
  let target: Backup | undefined;
  let temp: string | undefined;
  try {
    target = await backupTarget(root, relPath, now);
    temp = tempPathFor(target.absPath);
    const before = await lstat(source);
    await copyFile(source, temp, constants.COPYFILE_EXCL);
    await utimes(temp, before.atime, before.mtime);
    const handle = await open(temp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target.absPath);
    temp = undefined;
    await fsyncDir(dirname(target.absPath));
    return target;
  } catch (error) {
    throw failed(relPath, error);
  } finally {
    if (temp) await unlink(temp).catch(() => {});
    if (target) claimed.delete(target.absPath);
  }
}

export interface ReplaceResult {
  /** Where the replaced content went; null when there was no file or the content was identical. */
  backup: Backup | null;
  /** False when the file already held exactly this content (not an overwrite: no backup, no write). */
  written: boolean;
}

/**
 * Replaces a local file's content with `data`, keeping the old content as a backup first. The new content is
 * written and fsynced to a temp file before the old file is moved away, so the gap is one rename. If the backup
 * fails, nothing is overwritten and the BackupError is thrown.
 */
export async function replaceFile(
  root: string,
  relPath: string,
  data: string | Uint8Array,
  options: { now?: Date; mtime?: Date } = {},
): Promise<ReplaceResult> {
  const target = await resolveInside(root, relPath);
  let existing: { sha256: string } | null = null;
  try {
    existing = await hashFile(target);
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw failed(relPath, error);
  }
  if (existing) {
    const incoming = createHash('sha256').update(data).digest('hex');
    if (incoming === existing.sha256) return { backup: null, written: false };
  }
  await makeParentsInside(root, relPath);
  if (!existing) {
    await writeFileAtomic(target, data, options.mtime ? { mtime: options.mtime } : {});
    return { backup: null, written: true };
  }
  const temp = tempPathFor(target);
  try {
    await fillAndSync(await openNewFile(temp), data, options.mtime);
    const backup = await moveToBackup(root, relPath, options.now ?? new Date());
    await rename(temp, target);
    await fsyncDir(dirname(target));
    return { backup, written: true };
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

/** What the planner compared for the local file: the install only goes ahead if the disk still says so. */
export interface ComparedLocal {
  sha256: string;
  size: number;
  mtimeMs: number;
}

export type InstallResult =
  /** The new content is in place; the old one (if any) is in `backup`. */
  | { status: 'installed'; backup: Backup | null }
  /** The local file changed (or appeared) since it was compared: nothing was overwritten, the temp file is gone. */
  | { status: 'local_changed' }
  /**
   * A save landed between the last check and the move: that content is the newest write and was put back in
   * place. The caller pushes it.
   */
  | { status: 'restored' };

const sameStat = (info: { size: number; mtimeMs: number }, compared: ComparedLocal): boolean =>
  info.size === compared.size && Math.round(info.mtimeMs) === Math.round(compared.mtimeMs);

/**
 * Installs a verified, fsynced temp file (in the target's folder) at `relPath` (SPEC.md "Pulling"): re-stats the
 * target, and if it is still what was compared, moves it into sites-versions (one rename: the move is the backup)
 * and renames the temp file into place. `compared` is null when no local file was there at compare time. If the
 * moved file's content is not what was compared, it is put back at once (status `restored`). A BackupError means
 * nothing was overwritten. The temp file never survives a call that did not install it.
 */
export async function installFile(
  root: string,
  relPath: string,
  tempAbsPath: string,
  compared: ComparedLocal | null,
  now: Date = new Date(),
): Promise<InstallResult> {
  let installed = false;
  try {
    const target = await resolveInside(root, relPath);
    let current: Awaited<ReturnType<typeof lstat>> | null = null;
    try {
      current = await lstat(target);
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error;
    }
    if (current && (!current.isFile() || compared === null || !sameStat(current, compared))) {
      return { status: 'local_changed' };
    }
    await makeParentsInside(root, relPath);
    // A file deleted since the compare is a local delete against a remote change: the remote edit comes back.
    const backup = current ? await moveToBackup(root, relPath, now) : null;
    const incoming = await lstat(tempAbsPath);
    await rename(tempAbsPath, target);
    installed = true;
    await fsyncDir(dirname(target));
    if (!backup || !compared) return { status: 'installed', backup };
    const moved = await hashFile(backup.absPath);
    if (moved.sha256 === compared.sha256) return { status: 'installed', backup };
    // The newest write went into the backup. Put it back, unless yet another save touched the target meanwhile
    // (then that one is newer still, and the moved content stays safe in sites-versions).
    const onDisk = await lstat(target).catch(() => null);
    if (onDisk && onDisk.ino === incoming.ino && onDisk.size === incoming.size && onDisk.mtimeMs === incoming.mtimeMs) {
      await rename(backup.absPath, target);
      await fsyncDir(dirname(target));
      await fsyncDir(dirname(backup.absPath));
    }
    return { status: 'restored' };
  } finally {
    if (!installed) await unlink(tempAbsPath).catch(() => {});
  }
}
