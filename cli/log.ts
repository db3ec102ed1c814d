// `log`: the log file's path; `log -f`: its last lines, then each new line as it is written, across rotation
// (sync.log -> sync.1.log -> …, sync-engine/log.ts), until Ctrl-C.

import { closeSync, fstatSync, openSync, readSync, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { LOG_FILES_KEPT, rotatedLogName } from '../sync-engine/log.js';
import type { CliContext } from './context.js';
import { EXIT } from './errors.js';

/** Lines shown before following, as `tail -f` does. */
const LAST_LINES = 10;
/** A check this often even when the folder watch says nothing (a watch can miss events on some file systems). */
const CHECK_EVERY_MS = 500;
const CHUNK = 64 * 1024;

export interface LogFollower {
  /** Reads what is new now (the watch and the timer call it; tests may too). */
  check(): void;
  stop(): void;
}

const inodeOf = (path: string): number | null => {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
};

/**
 * Follows `file`: hands each complete line to `onLine`, in order, none twice. When the file is rotated, the rest of
 * the old one is read first, then any file rotated after it, then the new one from its start.
 */
export function followLog(
  file: string,
  onLine: (line: string) => void,
  options: { lastLines?: number } = {},
): LogFollower {
  let fd = -1;
  let ino = -1;
  let position = 0;
  let partial = '';

  const emit = (text: string): void => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
  /** Everything from `from` to the end of `handle`; returns the new position. */
  const readFrom = (handle: number, from: number): number => {
    const buffer = Buffer.alloc(CHUNK);
    let at = from;
    for (;;) {
      const read = readSync(handle, buffer, 0, CHUNK, at);
      if (read === 0) return at;
      emit(buffer.toString('utf8', 0, read));
      at += read;
    }
  };
  const readWhole = (path: string): void => {
    let handle: number;
    try {
      handle = openSync(path, 'r');
    } catch {
      return;
    }
    try {
      readFrom(handle, 0);
    } finally {
      closeSync(handle);
    }
  };
  const open = (start: 'tail' | 'beginning'): boolean => {
    try {
      fd = openSync(file, 'r');
    } catch {
      fd = -1;
      return false;
    }
    const info = fstatSync(fd);
    ino = info.ino;
    position = start === 'tail' ? tailStart(fd, info.size, options.lastLines ?? LAST_LINES) : 0;
    return true;
  };
  /** The file was rotated away from under us: finish it, then the files rotated after it (oldest first). */
  const followRotation = (): void => {
    position = readFrom(fd, position);
    closeSync(fd);
    fd = -1;
    let ours = 0;
    for (let n = 1; n < LOG_FILES_KEPT * 4 && ours === 0; n++) if (inodeOf(rotatedLogName(file, n)) === ino) ours = n;
    for (let n = ours - 1; n >= 1; n--) readWhole(rotatedLogName(file, n));
    if (partial !== '') {
      onLine(partial);
      partial = '';
    }
  };

  open('tail');
  const check = (): void => {
    if (fd < 0) {
      if (open('beginning')) position = readFrom(fd, position);
      return;
    }
    position = readFrom(fd, position);
    const now = inodeOf(file);
    if (now === null || now === ino) {
      // Truncated in place: start over from its beginning.
      if (now !== null && statSync(file).size < position) position = 0;
      return;
    }
    followRotation();
    if (open('beginning')) position = readFrom(fd, position);
  };
  check();
  const watcher = watch(dirname(file), (_event, name) => {
    if (name === null || name.startsWith(basename(file, '.log'))) check();
  });
  watcher.on('error', () => {});
  const timer = setInterval(check, CHECK_EVERY_MS);
  return {
    check,
    stop() {
      clearInterval(timer);
      watcher.close();
      if (fd >= 0) closeSync(fd);
      fd = -1;
    },
  };
}

/** Where the last `count` lines of a file of `size` bytes start (within its last 64 KiB). */
function tailStart(fd: number, size: number, count: number): number {
  const from = Math.max(0, size - CHUNK);
  const buffer = Buffer.alloc(size - from);
  readSync(fd, buffer, 0, buffer.length, from);
  let newlines = 0;
  // The file's last byte is a line's end: count `count` more newlines before it.
  for (let i = buffer.length - 2; i >= 0; i--) {
    if (buffer[i] === 0x0a && ++newlines === count) return from + i + 1;
  }
  return from;
}

export async function log(ctx: CliContext, flags: { follow?: boolean }): Promise<number> {
  const file = ctx.config.paths.logFile;
  if (flags.follow !== true) {
    ctx.io.out(file);
    return EXIT.done;
  }
  ctx.io.err(`Following ${file} (Ctrl-C stops).`);
  const follower = followLog(file, (line) => ctx.io.out(line));
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  follower.stop();
  return EXIT.done;
}
