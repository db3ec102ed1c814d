// The embedded storage's content files: `blobs/<sha[0..2]>/<sha256>`, immutable, written atomically
// (temp in `tmp/` + fsync + rename + fsync of the folder).

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from './common.js';

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

  /** Content is addressed by its hash, so an existing blob is already complete (it was renamed into place). */
  async store(sha256: string, content: Buffer): Promise<void> {
    const target = this.path(sha256);
    if (existsSync(target)) return;
    const folder = join(this.blobDir, sha256.slice(0, 2));
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const temp = join(this.tempDir, `${sha256}.${randomUUID()}`);
    try {
      const file = await open(temp, 'wx', 0o600);
      try {
        await file.writeFile(content);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    // The rename itself must survive a crash too.
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** The content of `sha256`; content_missing (naming `what`) when it is gone. */
  async read(sha256: string, what: string): Promise<Buffer> {
    const content = await readFile(this.path(sha256)).catch(() => null);
    if (content === null) throw new StorageError('content_missing', `the stored content of ${what} is missing`);
    return content;
  }

  private path(sha256: string): string {
    return join(this.blobDir, sha256.slice(0, 2), sha256);
  }

  /** Temp files left by a crash mid-write; an hour's margin spares those of a process still writing. */
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
