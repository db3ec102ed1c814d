// SPEC.md "The folder": only one engine (app or CLI) syncs a folder at a time; a second one learns which process
// holds it; a lock left by a dead process is taken over.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireFolderLock,
  FolderLockedError,
  isProcessAlive,
  lockFileFor,
  readFolderLock,
} from '../../sync-engine/folder-lock.js';

let dir: string;
let locks: string;
let folder: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hc-lock-'));
  locks = join(dir, 'data', 'locks');
  folder = join(dir, 'Hyperclay');
  mkdirSync(folder);
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('folder lock', () => {
  it('lets one holder in and names it to the next', async () => {
    const lock = await acquireFolderLock(locks, folder, 'hyperclay-sync start');
    expect(existsSync(lock.file)).toBe(true);
    expect(lock.file).toBe(lockFileFor(locks, folder));
    const error = await acquireFolderLock(locks, folder, 'Hyperclay Sync app').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FolderLockedError);
    expect((error as FolderLockedError).code).toBe('folder_locked');
    expect((error as FolderLockedError).holder).toMatchObject({
      pid: process.pid,
      description: 'hyperclay-sync start',
    });
    expect((error as Error).message).toContain(`process ${process.pid}`);
    expect(readFolderLock(locks, folder)?.pid).toBe(process.pid);

    lock.release();
    lock.release();
    expect(readdirSync(locks)).toEqual([]);
    expect(readFolderLock(locks, folder)).toBeNull();
    (await acquireFolderLock(locks, folder, 'again')).release();
  });

  it('is per folder, and a symlink to the folder is the same folder', async () => {
    const other = join(dir, 'Other');
    mkdirSync(other);
    symlinkSync(folder, join(dir, 'alias'));
    const a = await acquireFolderLock(locks, folder, 'a');
    const b = await acquireFolderLock(locks, other, 'b');
    await expect(acquireFolderLock(locks, join(dir, 'alias'), 'c')).rejects.toBeInstanceOf(FolderLockedError);
    a.release();
    b.release();
  });

  it('holds against another process, and is taken over once that process is gone', async () => {
    const script = join(dir, 'holder.mts');
    const moduleUrl = pathToFileURL(join(import.meta.dirname, '..', '..', 'sync-engine', 'folder-lock.ts')).href;
    writeFileSync(
      script,
      `import { acquireFolderLock } from ${JSON.stringify(moduleUrl)};\n` +
        `await acquireFolderLock(${JSON.stringify(locks)}, ${JSON.stringify(folder)}, 'hyperclay-sync start --detach');\n` +
        `process.stdout.write('locked\\n');\nsetInterval(() => {}, 1000);\n`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    await waitFor(() => out.includes('locked') || child.exitCode !== null, 'the child to take the lock');
    expect(out).toContain('locked');

    const error = await acquireFolderLock(locks, folder, 'second').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FolderLockedError);
    expect((error as FolderLockedError).holder).toMatchObject({
      pid: child.pid,
      description: 'hyperclay-sync start --detach',
    });

    // Killed hard: no exit handler runs, the lock file stays behind with a dead pid.
    child.kill('SIGKILL');
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, 'the child to die');
    expect(existsSync(lockFileFor(locks, folder))).toBe(true);
    expect(readFolderLock(locks, folder)).toBeNull();
    const lock = await acquireFolderLock(locks, folder, 'takeover');
    expect(lock.holder.pid).toBe(process.pid);
    expect(readFolderLock(locks, folder)?.description).toBe('takeover');
    lock.release();
  });

  it('takes over a stale lock left by a dead pid, and an old unreadable lock file', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    expect(isProcessAlive(dead)).toBe(false);
    mkdirSync(locks, { recursive: true });
    writeFileSync(lockFileFor(locks, folder), JSON.stringify({ pid: dead, description: 'old', host: '' }));
    const lock = await acquireFolderLock(locks, folder, 'new');
    expect(readFolderLock(locks, folder)?.description).toBe('new');
    lock.release();
    expect(readdirSync(locks)).toEqual([]);

    // Unreadable: fresh means a writer may be mid-write (locked); old means garbage (taken over).
    writeFileSync(lockFileFor(locks, folder), '{"pid": 12');
    await expect(acquireFolderLock(locks, folder, 'too soon')).rejects.toBeInstanceOf(FolderLockedError);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockFileFor(locks, folder), old, old);
    const taken = await acquireFolderLock(locks, folder, 'after garbage');
    expect(readFolderLock(locks, folder)?.description).toBe('after garbage');
    taken.release();
  });
});
