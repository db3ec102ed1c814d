// One engine per sync folder: a lock file in the data folder, named by a hash of the folder's real path, holding
// the holder's pid and what it is; a lock whose process is gone is taken over.

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { folderId } from './config.js';
import { EngineError } from './errors.js';
import { errnoOf } from './fsutil.js';

export interface LockHolder {
  pid: number;
  /** What holds it, e.g. "hyperclay-sync start" or "Hyperclay Sync app". */
  description: string;
  folder: string;
  startedAt: string;
  host: string;
}

export class FolderLockedError extends EngineError {
  declare readonly code: 'folder_locked';
  readonly holder: LockHolder;
  constructor(folder: string, holder: LockHolder) {
    super(
      'folder_locked',
      `${folder} is already being synced by ${holder.description}${holder.pid > 0 ? ` (process ${holder.pid})` : ''}; stop it first, or sync another folder.`,
    );
    this.holder = holder;
  }
}

export interface FolderLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** Removes the lock if it is still ours. Safe to call twice. */
  release(): void;
}

/** The lock file for a folder: `<locksDir>/<hash of its real path>.lock`. */
export function lockFileFor(locksDir: string, folder: string): string {
  return join(locksDir, `${folderId(folder)}.lock`);
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === 'EPERM';
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return null;
    const r = value as Record<string, unknown>;
    if (typeof r.pid !== 'number' || !Number.isInteger(r.pid) || typeof r.description !== 'string') return null;
    return {
      pid: r.pid,
      description: r.description,
      folder: typeof r.folder === 'string' ? r.folder : '',
      startedAt: typeof r.startedAt === 'string' ? r.startedAt : '',
      host: typeof r.host === 'string' ? r.host : '',
    };
  } catch {
    return null;
  }
}

function readHolder(file: string): LockHolder | null | 'missing' {
  try {
    return parseHolder(readFileSync(file, 'utf8'));
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return 'missing';
    throw error;
  }
}

/** A lock file nobody can be using: its process is gone (on this host), or it is unreadable and not brand new. */
function isStale(file: string, holder: LockHolder | null): boolean {
  if (holder === null) {
    // Unreadable: maybe its writer is between open and write. Only old garbage is stale.
    try {
      return Date.now() - statSync(file).mtimeMs > 5_000;
    } catch {
      return true;
    }
  }
  if (holder.host !== '' && holder.host !== hostname()) return false;
  return !isProcessAlive(holder.pid);
}

/** Who holds the folder's lock right now, or null when nobody (a stale lock counts as nobody). */
export function readFolderLock(locksDir: string, folder: string): LockHolder | null {
  const file = lockFileFor(locksDir, folder);
  const holder = readHolder(file);
  if (holder === 'missing' || isStale(file, holder)) return null;
  return holder;
}

/**
 * Takes the folder's lock or throws FolderLockedError naming the process that holds it. The lock is released by
 * `release()` and, as a last resort, when this process exits.
 */
export async function acquireFolderLock(locksDir: string, folder: string, description: string): Promise<FolderLock> {
  await mkdir(locksDir, { recursive: true, mode: 0o700 });
  const file = lockFileFor(locksDir, folder);
  const holder: LockHolder = {
    pid: process.pid,
    description,
    folder,
    startedAt: new Date().toISOString(),
    host: hostname(),
  };
  const text = `${JSON.stringify({ ...holder, nonce: randomBytes(8).toString('hex') })}\n`;

  for (let attempt = 0; attempt < 10; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
      const current = readHolder(file);
      if (current === 'missing') continue;
      if (!isStale(file, current)) {
        throw new FolderLockedError(
          folder,
          current ?? { pid: 0, description: 'another Hyperclay Sync', folder, startedAt: '', host: '' },
        );
      }
      // Take the stale lock aside under a unique name, then check it really was the stale one (another process
      // may have replaced it in between); if not, put it back.
      const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
      try {
        renameSync(file, aside);
      } catch (renameError) {
        if (errnoOf(renameError) === 'ENOENT') continue;
        throw renameError;
      }
      const moved = readHolder(aside);
      if (moved !== 'missing' && !isStale(aside, moved)) {
        try {
          renameSync(aside, file);
        } catch {}
        continue;
      }
      try {
        unlinkSync(aside);
      } catch {}
      continue;
    }
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      process.removeListener('exit', release);
      try {
        if (readFileSync(file, 'utf8') === text) unlinkSync(file);
      } catch {}
    };
    process.once('exit', release);
    return { file, holder, release };
  }
  throw new FolderLockedError(
    folder,
    readFolderLock(locksDir, folder) ?? { ...holder, description: 'another Hyperclay Sync' },
  );
}
