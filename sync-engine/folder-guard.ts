// The sync folder itself (SPEC.md "When the folder itself goes away"): whether it is still at its path and still
// the folder that was synced (its marker names the account), and a watch for its return while it is gone.

import { lstat } from 'node:fs/promises';
import { readFolderAccount } from './folder-rules.js';

/** present: as synced; missing: not a folder at its path; replaced: a folder there, but not the one synced. */
export type FolderPresence = 'present' | 'missing' | 'replaced';

export async function folderPresence(folder: string, accountId: string): Promise<FolderPresence> {
  const info = await lstat(folder).catch(() => null);
  if (!info?.isDirectory()) return 'missing';
  const marker = await readFolderAccount(folder).catch(() => null);
  return marker === accountId ? 'present' : 'replaced';
}

/** Checks every `intervalMs` until the folder is at its path again, then calls `back` once. */
export class FolderReturnWatch {
  #timer: NodeJS.Timeout | null = null;
  #checking = false;

  constructor(
    readonly folder: string,
    readonly intervalMs: number,
    readonly back: () => void,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#check(), this.intervalMs);
    // The watch alone must not keep a process alive (the CLI's `start` keeps itself alive).
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const info = await lstat(this.folder).catch(() => null);
      if (info?.isDirectory() && this.#timer) {
        this.stop();
        this.back();
      }
    } finally {
      this.#checking = false;
    }
  }
}
