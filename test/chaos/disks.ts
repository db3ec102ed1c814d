// Small disks that fill up: a tmpfs mounted for a folder (root only), a filler file that takes every free byte,
// and the unmount at the end (copying the contents out first when the run's folder is kept for a look).

import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const MIB = 1024 * 1024;
export const FILLER_NAME = 'chaos-filler';

/** tmpfs needs root (and a Linux `mount`). */
export function canMountTmpfs(): boolean {
  return process.platform === 'linux' && typeof process.getuid === 'function' && process.getuid() === 0;
}

export class SmallDisk {
  readonly dir: string;
  readonly mounted: boolean;
  readonly bytes: number;
  #filler: string;

  /** `dir` is created; with `mount`, a tmpfs of `bytes` is mounted on it. */
  constructor(dir: string, bytes: number, mount: boolean) {
    this.dir = dir;
    this.bytes = Math.ceil(bytes / MIB) * MIB;
    mkdirSync(dir, { recursive: true });
    if (mount) execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${this.bytes / MIB}m,mode=0755`, 'tmpfs', dir]);
    this.mounted = mount;
    this.#filler = join(dir, FILLER_NAME);
  }

  get full(): boolean {
    return existsSync(this.#filler);
  }

  /** Writes a filler file until the disk says ENOSPC. */
  fill(): void {
    if (!this.mounted) return;
    const fd = openSync(this.#filler, 'a');
    const block = Buffer.alloc(MIB, 0x5a);
    try {
      for (;;) writeSync(fd, block);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      // The last few KB of a tmpfs are given out in smaller pieces: take them too.
      const small = Buffer.alloc(4096, 0x5a);
      try {
        for (;;) writeSync(fd, small);
      } catch {}
    } finally {
      closeSync(fd);
    }
  }

  free(): void {
    rmSync(this.#filler, { force: true });
  }

  /** Unmounts (retrying while a process that just died still holds it). With `keep`, the contents stay at `dir`. */
  release(keep: boolean): void {
    this.free();
    if (!this.mounted) return;
    const saved = `${this.dir}.saved`;
    if (keep) cpSync(this.dir, saved, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    for (let attempt = 0; ; attempt++) {
      try {
        execFileSync('umount', [this.dir], { stdio: 'ignore' });
        break;
      } catch (error) {
        if (attempt >= 20) {
          execFileSync('umount', ['-l', this.dir], { stdio: 'ignore' });
          break;
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        if (attempt === 19) process.stderr.write(`chaos: ${this.dir} is busy (${String(error)}); lazy unmount\n`);
      }
    }
    if (keep) {
      rmSync(this.dir, { recursive: true, force: true });
      renameSync(saved, this.dir);
    }
  }
}
