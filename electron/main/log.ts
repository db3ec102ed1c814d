// The app's log file in app.getPath('logs'): one line per event, appended synchronously so no line is lost.

import { appendFileSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AppLog } from '../core/controller.js';

export const LOG_FILE_NAME = 'hyperclay-sync.log';
const MAX_BYTES = 5 * 1024 * 1024;
const KEEP = 3;

export interface FileLog {
  readonly path: string;
  log: AppLog;
}

export function createFileLog(logsDir: string): FileLog {
  mkdirSync(logsDir, { recursive: true });
  const path = join(logsDir, LOG_FILE_NAME);
  let size = fileSize(path);
  const rotate = (): void => {
    rmSync(`${path}.${KEEP}`, { force: true });
    for (let i = KEEP - 1; i >= 1; i--) renameIfExists(`${path}.${i}`, `${path}.${i + 1}`);
    renameIfExists(path, `${path}.1`);
    size = 0;
  };
  const log: AppLog = (level, message) => {
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message.replace(/[\r\n]+/g, ' ')}\n`;
    try {
      if (size + line.length > MAX_BYTES) rotate();
      appendFileSync(path, line, { mode: 0o600 });
      size += Buffer.byteLength(line);
    } catch (error) {
      // The log is the only record; if it cannot be written, stderr is the last place left.
      process.stderr.write(`log write failed (${(error as Error).message}): ${line}`);
    }
  };
  return { path, log };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch {
    // Nothing to rotate yet.
  }
}
