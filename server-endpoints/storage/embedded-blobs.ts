// The embedded storage's content files: `blobs/<sha[0..2]>/<sha256>`, immutable, written atomically
// (temp or staged request body in `tmp/` + fsync + rename + fsync of the folder).

import { randomUUID } from 'node:crypto';
import { constants, existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { StagedContent, WriteContent } from '../types.js';
import { StorageError } from './common.js';

/** Renames into a blob folder, making the folder only when it is missing (not once per write). */
async function renameInto(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(to), { recursive: true, mode: 0o700 });
    await rename(from, to);
  }
}

/** fsync of a file or a folder (a folder: so the names in it survive a crash). */
async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class BlobFiles {
  private readonly blobDir: string;
  private readonly tempDir: string;

  /** Creates the folders when missing and removes temp files a crash left behind. */
  constructor(dir: string, nowMs: number) {
    this.blobDir = join(dir, 'blobs');
    this.tempDir = join(dir, 'tmp');
    mkdirSync(this.blobDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.tempDir, { recursive: true, mode: 0o700 });
    this.removeStaleTemps(nowMs);
  }

  has(sha256: string): boolean {
    return existsSync(this.path(sha256));
  }

  /**
   * Content is addressed by its hash, so an existing blob is already complete (it was renamed into place). Staged
   * content is synced and renamed in (it must be a file of this storage's disk: `stagingDir`), content in memory is
   * written to a temp file first; either way the blob is durable, and so is its name, before this resolves.
   */
  async store(sha256: string, content: WriteContent): Promise<void> {
    const target = this.path(sha256);
    if (existsSync(target)) return;
    if (Buffer.isBuffer(content)) await this.writeInto(target, content);
    else await this.adopt(target, content);
    // The rename itself must survive a crash too.
    await syncPath(dirname(target));
  }

  /** Where request bodies are staged: beside the blobs, so storing one is a rename. */
  get stagingDir(): string {
    return this.tempDir;
  }

  /** The content of `sha256`; content_missing (naming `what`) when it is gone. */
  async read(sha256: string, what: string): Promise<Buffer> {
    const content = await readFile(this.path(sha256)).catch(() => null);
    if (content === null) throw new StorageError('content_missing', `the stored content of ${what} is missing`);
    return content;
  }

  private async writeInto(target: string, content: Buffer | string): Promise<void> {
    const temp = join(this.tempDir, `${basename(target)}.${randomUUID()}`);
    try {
      if (Buffer.isBuffer(content)) {
        const file = await open(temp, 'wx', 0o600);
        try {
          await file.writeFile(content);
        } finally {
          await file.close();
        }
      } else await copyFile(content, temp, constants.COPYFILE_EXCL);
      await syncPath(temp);
      await renameInto(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  /** A staged file renamed into place once synced (its stager may have done that); copied from another disk. */
  private async adopt(target: string, staged: StagedContent): Promise<void> {
    if (!staged.synced) await syncPath(staged.file);
    try {
      await renameInto(staged.file, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await this.writeInto(target, staged.file);
    }
  }

  private path(sha256: string): string {
    return join(this.blobDir, sha256.slice(0, 2), sha256);
  }

  /** Temp files (and staged request bodies) left by a crash mid-write; an hour's margin spares those of a process still writing. */
  private removeStaleTemps(nowMs: number): void {
    for (const name of readdirSync(this.tempDir)) {
      const path = join(this.tempDir, name);
      try {
        if (statSync(path).mtimeMs < nowMs - 60 * 60 * 1000) unlinkSync(path);
      } catch {
        // Gone already, or not ours to remove: either way nothing depends on it.
      }
    }
  }
}
